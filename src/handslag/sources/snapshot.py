"""Import a snapshot folder laid out like ``shared/data`` (see its ``SOURCES.md``).

The folder's files are read by the loaders below, validated, and written in one transaction:
boundaries (DeSO/RegSO 2018/2020/2025), the DeSO → RegSO link, official area types per RegSO, RegSO and
DeSO statistics, and the Police's list (editions 2015–2025 with levels and polygons) with its overlay
on DeSO/RegSO. Files that are absent are skipped and reported; a file that is present but broken
rejects the whole import (nothing written).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from handslag.areas.codes import PATTERNS
from handslag.areas.crosswalk import overlay_crosswalk
from handslag.areas.geometry import SWEREF99TM, check_geometries, to_storage
from handslag.areas.regions import registry_rows
from handslag.errors import Problem, ValidationFailed

from .police import read_police_list

Progress = Callable[[int, int, str], None]

AGE_BANDS = ["0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54",
             "55-59", "60-64", "65-69", "70-74", "75-79", "80-"]
WORKING_AGE = AGE_BANDS[4:13]  # 20–64

# am-dashboard DeSO 2025 indicator names → catalogue ids (definitions in shared/data/SOURCES.md)
DESO2025_INDICATORS: dict[str, tuple[str, str, str]] = {
    "growth": ("population_growth", "percent", "SCB TAB6574"),
    "young": ("share_20_34", "percent", "SCB TAB6574"),
    "single": ("single_households", "percent", "SCB TAB6568"),
    "foreign": ("foreign_background", "percent", "SCB TAB6571"),
    "income": ("mean_net_income", "SEK thousands", "SCB TAB6683"),
    "income_med": ("median_income", "SEK thousands", "SCB TAB6684"),
    "capital_inc": ("capital_income_share", "percent", "SCB TAB6683"),
    "low_econ": ("low_economic_standard", "percent", "SCB TAB6685"),
    "unemp": ("unemployment_20_64", "percent", "SCB TAB6680"),
    "employment": ("employment_20_64", "percent", "SCB TAB6680"),
    "higher_ed": ("post_secondary_education", "percent", "SCB TAB6534"),
    "renters": ("rental_share", "percent", "SCB TAB6638"),
    "flats": ("multi_dwelling_persons_share", "percent", "SCB TAB6065"),
    "pop": ("population", "persons", "SCB TAB6574"),
}

TIDY_REGSO_COUNTS = {
    "folkmangd_totalt": ("population", "persons", "SCB FolkmDesoLandKon"),
    "fodda_i_sverige": ("born_in_sweden", "persons", "SCB FolkmDesoLandKon"),
    "utrikes_fodda": ("foreign_born", "persons", "SCB FolkmDesoLandKon"),
    "lgh_hyresratt": ("dwellings_rental", "dwellings", "SCB BO0104T10N"),
    "lgh_bostadsratt": ("dwellings_condominium", "dwellings", "SCB BO0104T10N"),
    "lgh_aganderatt": ("dwellings_owner", "dwellings", "SCB BO0104T10N"),
    "lgh_uppgift_saknas": ("dwellings_unknown_tenure", "dwellings", "SCB BO0104T10N"),
    "medel_loneinkomst_tkr": ("mean_wage_income", "SEK thousands", "SCB Tab2InkDesoRegso"),
}


@dataclass
class Snapshot:
    areas: pd.DataFrame
    observations: pd.DataFrame
    police: pd.DataFrame
    links: pd.DataFrame
    overlaps: pd.DataFrame
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fingerprint: str = ""


class _Reader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.files: list[str] = []
        self.notes: list[str] = []

    def path(self, rel: str) -> Path | None:
        p = self.root / rel
        if p.exists():
            self.files.append(rel)
            return p
        self.notes.append(f"{rel}: not in the snapshot, skipped")
        return None

    def csv(self, rel: str, required: list[str]) -> pd.DataFrame | None:
        p = self.path(rel)
        if p is None:
            return None
        frame = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        missing = [c for c in required if c not in frame.columns]
        for c in missing:
            self.problems.append(Problem(rel, 1, c, "required column is missing"))
        return None if missing else frame

    def codes(self, rel: str, frame: pd.DataFrame, column: str, level: str) -> None:
        bad = ~frame[column].str.match(PATTERNS[level].pattern)
        for i in np.flatnonzero(bad.to_numpy())[:200]:
            self.problems.append(Problem(rel, int(i) + 2, column, f"{frame[column].iloc[i]!r} is not a {level} code"))

    def numbers(self, rel: str, frame: pd.DataFrame, column: str) -> pd.Series:
        values = pd.to_numeric(frame[column].str.replace(",", ".", regex=False), errors="coerce")
        bad = values.isna() & ~frame[column].isin(["", ".."])
        for i in np.flatnonzero(bad.to_numpy())[:200]:
            self.problems.append(Problem(rel, int(i) + 2, column, f"{frame[column].iloc[i]!r} is not a number"))
        return values

    def geo(self, rel: str, **kwargs) -> gpd.GeoDataFrame | None:
        p = self.path(rel)
        if p is None:
            return None
        gdf = gpd.read_file(p, **kwargs)
        self.problems += check_geometries(gdf, rel)
        return gdf


def _obs(codes, division, indicator, year, value, unit, source, **extra) -> pd.DataFrame:
    frame = pd.DataFrame({"area_code": np.asarray(codes), "division": division, "indicator": indicator,
                          "year": np.asarray(year).astype(int) if np.ndim(year) else int(year),
                          "value": np.asarray(value, dtype=float), "unit": unit, "source": source})
    for key, val in extra.items():
        frame[key] = val
    return frame


def read_snapshot(root: str | Path, progress: Progress | None = None) -> Snapshot:
    """Read and validate a snapshot folder. Raises ValidationFailed listing every problem."""
    root = Path(root)
    if not root.is_dir():
        raise ValidationFailed([Problem(str(root), None, None, "not a folder")], what=str(root))
    r = _Reader(root)
    steps = 9
    tick = progress or (lambda done, total, label: None)
    areas: list[pd.DataFrame] = []
    obs: list[pd.DataFrame] = []

    # 1. Sweden, the counties and the municipalities ship with the package and are in every database
    #    (areas_repo.ensure_regions); their rows here only let the checks below see them.
    tick(0, steps, "kommuner och län")
    areas.append(registry_rows())

    # 2. DeSO 2018 → RegSO 2020 link
    tick(1, steps, "DeSO 2018 → RegSO 2020")
    rel = "classification/koppling_deso2018_regso2020.csv"
    link = r.csv(rel, ["Kommun", "DeSO_2018", "RegSO_2020", "RegSOkod_2020"])
    if link is not None:
        r.codes(rel, link, "DeSO_2018", "deso")
        r.codes(rel, link, "RegSOkod_2020", "regso")
        areas.append(pd.DataFrame({"code": link["DeSO_2018"], "division": "DeSO2018", "level": "deso",
                                   "name": None, "parent_code": link["RegSOkod_2020"],
                                   "parent_division": "RegSO2020", "kommun_code": link["Kommun"],
                                   "lan_code": link["Kommun"].str[:2]}))
        regso = link.drop_duplicates("RegSOkod_2020")
        areas.append(pd.DataFrame({"code": regso["RegSOkod_2020"], "division": "RegSO2020", "level": "regso",
                                   "name": regso["RegSO_2020"].str.strip(), "parent_code": regso["Kommun"],
                                   "parent_division": "kommun", "kommun_code": regso["Kommun"],
                                   "lan_code": regso["Kommun"].str[:2]}))

    # 3. official area types per RegSO 2020
    tick(2, steps, "områdestyper")
    for year in (2022, 2023):
        rel = f"classification/regso2020_omradestyp_{year}.csv"
        types = r.csv(rel, ["regsokod_2020", "regso_namn", "kommunkod", f"omradestyp_{year}"])
        if types is None:
            continue
        r.codes(rel, types, "regsokod_2020", "regso")
        values = r.numbers(rel, types, f"omradestyp_{year}")
        bad = ~values.isin([1, 2, 3, 4, 5])
        for i in np.flatnonzero(bad.to_numpy())[:50]:
            r.problems.append(Problem(rel, int(i) + 2, f"omradestyp_{year}", "area type must be 1–5"))
        obs.append(_obs(types["regsokod_2020"], "RegSO2020", "area_type", year, values, "type",
                        "SCB IntGr5Socio (official)"))
        areas.append(pd.DataFrame({"code": types["regsokod_2020"], "division": "RegSO2020", "level": "regso",
                                   "name": types["regso_namn"].str.strip(), "parent_code": types["kommunkod"],
                                   "parent_division": "kommun", "kommun_code": types["kommunkod"],
                                   "lan_code": types["kommunkod"].str[:2]}))

    # 4. boundaries
    tick(3, steps, "gränser")
    rel = "geometry/regso2025_goteborgsregionen_sweref99tm.gpkg"
    gdf = r.geo(rel)
    if gdf is not None:
        stored = to_storage(gdf)
        areas.append(pd.concat([pd.DataFrame({
            "code": gdf["regsokod"], "division": "RegSO2025", "level": "regso", "name": gdf["regsonamn"],
            "parent_code": gdf["kommunkod"], "parent_division": "kommun", "kommun_code": gdf["kommunkod"],
            "lan_code": gdf["lanskod"], "geometry_source": f"{rel} (SCB {gdf['version'].iloc[0]})",
            "geometry_simplified": False}), stored], axis=1))
    rel = "geometry/deso2025_goteborgsregionen_sweref99tm.gpkg"
    gdf = r.geo(rel)
    deso2025_geoms = []
    if gdf is not None:
        r.codes(rel, gdf, "desokod", "deso")
        stored = to_storage(gdf)
        areas.append(pd.concat([pd.DataFrame({
            "code": gdf["desokod"], "division": "DeSO2025", "level": "deso", "name": None,
            "parent_code": gdf["regsokod"], "parent_division": "RegSO2025", "kommun_code": gdf["kommunkod"],
            "lan_code": gdf["lanskod"], "geometry_source": f"{rel} (SCB {gdf['version'].iloc[0]})",
            "geometry_simplified": False}), stored], axis=1))
        deso2025_geoms.append(gdf[["desokod", "geometry"]].rename(columns={"desokod": "code"}).to_crs(SWEREF99TM))
        regso_names = gdf.drop_duplicates("regsokod")
        areas.append(pd.DataFrame({"code": regso_names["regsokod"], "division": "RegSO2025", "level": "regso",
                                   "name": regso_names["RegSO_2025"], "parent_code": regso_names["kommunkod"],
                                   "parent_division": "kommun", "kommun_code": regso_names["kommunkod"],
                                   "lan_code": regso_names["lanskod"]}))
    rel = "geometry/deso2025_norrkoping_wgs84.geojson"
    gdf = r.geo(rel)
    if gdf is not None:
        r.codes(rel, gdf, "desokod", "deso")
        stored = to_storage(gdf)
        areas.append(pd.concat([pd.DataFrame({
            "code": gdf["desokod"], "division": "DeSO2025", "level": "deso", "name": None,
            "parent_code": gdf["regsokod"], "parent_division": "RegSO2025", "kommun_code": gdf["kommunkod"],
            "lan_code": gdf["kommunkod"].str[:2], "geometry_source": f"{rel} (SCB, simplified, clipped to land)",
            "geometry_simplified": True}), stored], axis=1))
        regso = gdf.drop_duplicates("regsokod")
        areas.append(pd.DataFrame({"code": regso["regsokod"], "division": "RegSO2025", "level": "regso",
                                   "name": None, "parent_code": regso["kommunkod"], "parent_division": "kommun",
                                   "kommun_code": regso["kommunkod"], "lan_code": regso["kommunkod"].str[:2]}))
    rel = "geometry/deso2018_stockholms_lan_simplified_wgs84.geojson"
    gdf = r.geo(rel)
    deso2018_geoms = None
    if gdf is not None:
        r.codes(rel, gdf, "id", "deso")
        stored = to_storage(gdf)
        areas.append(pd.concat([pd.DataFrame({
            "code": gdf["id"], "division": "DeSO2018", "level": "deso", "kommun_code": gdf["kommun"],
            "lan_code": gdf["kommun"].str[:2], "geometry_source": f"{rel} (SCB DeSO_2018, simplified)",
            "geometry_simplified": True}), stored], axis=1))
        deso2018_geoms = gdf[["id", "geometry"]].rename(columns={"id": "code"}).to_crs(SWEREF99TM)

    # 5. RegSO 2020 statistics 2020–2023
    tick(4, steps, "RegSO-statistik")
    rel = "stats/regso2020_befolkning_upplatelseform_loneinkomst_2020_2023_tidy.csv"
    tidy = r.csv(rel, ["regsokod_2020", "ar", *TIDY_REGSO_COUNTS])
    if tidy is not None:
        r.codes(rel, tidy, "regsokod_2020", "regso")
        years = r.numbers(rel, tidy, "ar")
        nums = {col: r.numbers(rel, tidy, col) for col in TIDY_REGSO_COUNTS}
        for col, (ind, unit, source) in TIDY_REGSO_COUNTS.items():
            obs.append(_obs(tidy["regsokod_2020"], "RegSO2020", ind, years.fillna(0), nums[col], unit, source))
        dwell = sum(nums[c] for c in ("lgh_hyresratt", "lgh_bostadsratt", "lgh_aganderatt", "lgh_uppgift_saknas"))
        obs.append(_obs(tidy["regsokod_2020"], "RegSO2020", "dwellings_total", years.fillna(0), dwell, "dwellings",
                        "SCB BO0104T10N"))
        pop = nums["folkmangd_totalt"]
        share = 100 * nums["utrikes_fodda"] / pop.where(pop > 0)
        obs.append(_obs(tidy["regsokod_2020"], "RegSO2020", "foreign_born_share", years.fillna(0), share, "percent",
                        "SCB FolkmDesoLandKon", numerator=nums["utrikes_fodda"], denominator=pop))
        rent = 100 * nums["lgh_hyresratt"] / dwell.where(dwell > 0)
        obs.append(_obs(tidy["regsokod_2020"], "RegSO2020", "rental_share", years.fillna(0), rent, "percent",
                        "SCB BO0104T10N", numerator=nums["lgh_hyresratt"], denominator=dwell))

    # 6. RegSO 2025 population by age 2024 (six municipalities)
    tick(5, steps, "RegSO 2025 befolkning")
    rel = "stats/regso2025_folkmangd_alder_kon_2024_sex_kommuner.csv"
    age = r.csv(rel, ["regsokod_2025", "kommunkod", "ar", "alder", "kon", "folkmangd"])
    if age is not None:
        r.codes(rel, age, "regsokod_2025", "regso")
        age["n"] = r.numbers(rel, age, "folkmangd")
        both = age[age["kon"] == "totalt"]
        total = both[both["alder"] == "totalt"]
        obs.append(_obs(total["regsokod_2025"], "RegSO2025", "population", total["ar"], total["n"], "persons",
                        "SCB TAB6574"))
        work = both[both["alder"].isin(WORKING_AGE)].groupby(["regsokod_2025", "ar"], as_index=False)["n"].sum()
        obs.append(_obs(work["regsokod_2025"], "RegSO2025", "population_20_64", work["ar"], work["n"], "persons",
                        "SCB TAB6574"))
        regso = age.drop_duplicates("regsokod_2025")
        areas.append(pd.DataFrame({"code": regso["regsokod_2025"], "division": "RegSO2025", "level": "regso",
                                   "parent_code": regso["kommunkod"], "parent_division": "kommun",
                                   "kommun_code": regso["kommunkod"], "lan_code": regso["kommunkod"].str[:2]}))

    # 7. DeSO 2025 indicators 2024–2025 (Norrköping, Göteborg) and their distributions
    tick(6, steps, "DeSO 2025 indikatorer")
    for kommun in ("0581", "1480"):
        rel = f"stats/deso2025_{kommun}_indikatorer_2024_2025.csv"
        ind = r.csv(rel, ["desokod", "regsokod", "kommunkod", "indicator", "year", "value"])
        if ind is not None:
            r.codes(rel, ind, "desokod", "deso")
            unknown = ~ind["indicator"].isin(DESO2025_INDICATORS)
            for i in np.flatnonzero(unknown.to_numpy())[:50]:
                r.problems.append(Problem(rel, int(i) + 2, "indicator", f"unknown indicator {ind['indicator'].iloc[i]!r}"))
            ind = ind[~unknown]
            values = r.numbers(rel, ind, "value")
            mapped = ind["indicator"].map(DESO2025_INDICATORS)
            obs.append(pd.DataFrame({"area_code": ind["desokod"].to_numpy(), "division": "DeSO2025",
                                     "indicator": mapped.str[0].to_numpy(),
                                     "year": r.numbers(rel, ind, "year").fillna(0).astype(int).to_numpy(),
                                     "value": values.to_numpy(), "unit": mapped.str[1].to_numpy(),
                                     "source": mapped.str[2].to_numpy()}))
            desos = ind.drop_duplicates("desokod")
            areas.append(pd.DataFrame({"code": desos["desokod"], "division": "DeSO2025", "level": "deso",
                                       "parent_code": desos["regsokod"], "parent_division": "RegSO2025",
                                       "kommun_code": desos["kommunkod"], "lan_code": desos["kommunkod"].str[:2]}))
        rel = f"stats/deso2025_{kommun}_fordelningar.json"
        p = r.path(rel)
        if p is not None:
            dist = json.loads(p.read_text(encoding="utf-8"))["deso"]
            codes = list(dist)
            ages = np.array([np.add(d["age"]["m"], d["age"]["f"]) for d in dist.values()], dtype=float)
            tenure = np.array([d["tenure"] for d in dist.values()], dtype=float)
            if ages.shape[1] != len(AGE_BANDS) or tenure.shape[1] != 4:
                r.problems.append(Problem(rel, None, "deso", "unexpected length of the age or tenure arrays"))
            else:
                # flagged as estimated: the band sums differ from SCB's totals by up to ±25 persons per DeSO
                obs.append(_obs(codes, "DeSO2025", "population_20_64", 2025, ages[:, 4:13].sum(axis=1), "persons",
                                "SCB TAB6574 (sum of age bands)", estimated=True))
                for j, ind_id in enumerate(["dwellings_rental", "dwellings_condominium", "dwellings_owner",
                                            "dwellings_unknown_tenure"]):
                    obs.append(_obs(codes, "DeSO2025", ind_id, 2025, tenure[:, j], "dwellings", "SCB TAB6638"))
                obs.append(_obs(codes, "DeSO2025", "dwellings_total", 2025, tenure.sum(axis=1), "dwellings",
                                "SCB TAB6638"))

    # 8. Stockholms län extras
    rel = "stats/deso2018_stockholms_lan_folkmangd_2023.csv"
    pop18 = r.csv(rel, ["desokod_2018", "folkmangd_2023", "kommunkod"])
    if pop18 is not None:
        r.codes(rel, pop18, "desokod_2018", "deso")
        obs.append(_obs(pop18["desokod_2018"], "DeSO2018", "population", 2023, r.numbers(rel, pop18, "folkmangd_2023"),
                        "persons", "SCB FolkmDesoAldKon"))
    rel = "stats/deso2025_stockholms_lan_indikatorer_2024.csv"
    sthlm = r.csv(rel, ["desokod", "municipality_code", "median_income_sek_proxy", "unemployment_rate_pct"])
    if sthlm is not None:
        r.codes(rel, sthlm, "desokod", "deso")
        areas.append(pd.DataFrame({"code": sthlm["desokod"], "division": "DeSO2025", "level": "deso",
                                   "kommun_code": sthlm["municipality_code"],
                                   "lan_code": sthlm["municipality_code"].str[:2]}))
        obs.append(_obs(sthlm["desokod"], "DeSO2025", "mean_net_income_sek", 2024,
                        r.numbers(rel, sthlm, "median_income_sek_proxy"), "SEK", "SCB Tab2InkDesoRegso"))
        obs.append(_obs(sthlm["desokod"], "DeSO2025", "unemployment_16_64", 2024,
                        r.numbers(rel, sthlm, "unemployment_rate_pct"), "percent", "SCB ArRegDesoStatusN"))

    # 9. Police list
    tick(7, steps, "polisens lista")
    police = pd.DataFrame()
    if (root / "police_utsatta_omraden").is_dir():
        try:
            police = read_police_list(root / "police_utsatta_omraden")
            r.files.append("police_utsatta_omraden/")
        except ValidationFailed as exc:
            r.problems += exc.problems
    else:
        r.notes.append("police_utsatta_omraden/: not in the snapshot, skipped")

    if r.problems:
        raise ValidationFailed(r.problems, what=f"snapshot {root}")

    tick(8, steps, "sammanställer")
    area_frame = _merge_areas(areas)
    obs_frame = pd.concat(obs, ignore_index=True)
    obs_frame = obs_frame[obs_frame["value"].notna() | obs_frame.get("numerator", pd.Series(dtype=float)).notna()]
    known = set(zip(area_frame["code"], area_frame["division"], strict=True))
    orphan = [k not in known for k in zip(obs_frame["area_code"], obs_frame["division"], strict=True)]
    if any(orphan):
        sample = obs_frame[orphan].head(5)
        raise ValidationFailed([Problem(str(s), None, "area_code", f"observation for unknown area {c} ({d})")
                                for c, d, s in zip(sample["area_code"], sample["division"], sample["source"],
                                                   strict=True)], what=f"snapshot {root}")

    # crosswalks and overlays where both geometries exist
    links = []
    if deso2018_geoms is not None and deso2025_geoms:
        cw = overlay_crosswalk(deso2018_geoms, pd.concat(deso2025_geoms, ignore_index=True).pipe(gpd.GeoDataFrame))
        if cw.empty:
            r.notes.append("crosswalk DeSO2018 ↔ DeSO2025: no overlapping geometries in the snapshot (2018 polygons "
                           "cover Stockholms län only, 2025 polygons Göteborgsregionen and Norrköping)")
        else:
            links.append(cw.assign(from_division="DeSO2018", to_division="DeSO2025", method="overlay"))
    named = same_code_and_name_links(area_frame, "RegSO2020", "RegSO2025")
    if len(named):
        links.append(named)
    r.notes.append(f"crosswalk RegSO2020 → RegSO2025: no RegSO 2020 polygons in the snapshot; {len(named)} links "
                   "where code and name are identical (method 'code+name', not verified by overlay)")
    link_frame = pd.concat(links, ignore_index=True) if links else pd.DataFrame(
        columns=["from_code", "from_division", "to_code", "to_division", "share_of_from", "share_of_to", "relation",
                 "method"])
    overlaps = police_overlaps(police, area_frame)

    digest = hashlib.sha256()
    for rel in sorted(r.files):
        p = root / rel
        for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
            if f.is_file():
                digest.update(rel.encode())
                digest.update(str(f.stat().st_size).encode())
                digest.update(hashlib.sha256(f.read_bytes()).digest())
    tick(steps, steps, "klart")
    return Snapshot(area_frame, obs_frame.reset_index(drop=True), police, link_frame, overlaps, r.files, r.notes,
                    digest.hexdigest())


def same_code_and_name_links(areas: pd.DataFrame, old: str, new: str) -> pd.DataFrame:
    """Links between two vintages for areas whose code *and* name are identical (after folding case and
    blanks). Used only where no polygons exist for the old vintage; flagged by ``method='code+name'``."""
    def fold(names: pd.Series) -> pd.Series:
        return names.fillna("").str.replace("\u2013", "-").str.replace(r"\s+", " ", regex=True).str.strip().str.lower()

    a = areas[areas["division"] == old][["code", "name"]]
    b = areas[areas["division"] == new][["code", "name"]]
    both = a.assign(key=fold(a["name"])).merge(b.assign(key=fold(b["name"])), on=["code", "key"])
    both = both[both["key"] != ""]
    return pd.DataFrame({"from_code": both["code"], "from_division": old, "to_code": both["code"],
                         "to_division": new, "share_of_from": 1.0, "share_of_to": 1.0, "relation": "same",
                         "method": "code+name"})


def _merge_areas(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per (code, division): the first non-null value of each column across sources."""
    cols = ["code", "division", "level", "name", "parent_code", "parent_division", "kommun_code", "lan_code",
            "geometry_wgs84", "geometry_sweref", "geometry_source", "geometry_simplified", "area_km2"]
    allrows = pd.concat([f.reindex(columns=cols) for f in frames], ignore_index=True)
    allrows = allrows.astype(object).where(allrows.notna(), None)
    merged = allrows.groupby(["code", "division"], sort=True, as_index=False).first()
    merged["geometry_simplified"] = merged["geometry_simplified"].fillna(False).astype(bool)
    return merged[cols]


def police_overlaps(police: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Share of each DeSO/RegSO (with exact polygons) inside each Police-list polygon, per edition."""
    cols = ["edition", "name", "area_code", "division", "share_of_area", "share_of_police_area"]
    if police.empty:
        return pd.DataFrame(columns=cols)
    have = areas[areas["geometry_sweref"].notna() & ~areas["geometry_simplified"].astype(bool)
                 & areas["level"].isin(["deso", "regso"])]
    pol = police[police["geometry_sweref"].notna()]
    if have.empty or pol.empty:
        return pd.DataFrame(columns=cols)
    area_gdf = gpd.GeoDataFrame(have[["code", "division"]].reset_index(drop=True),
                                geometry=shapely.from_wkb(np.asarray(have["geometry_sweref"], dtype=object)),
                                crs=SWEREF99TM)
    pol_gdf = gpd.GeoDataFrame({"code": (pol["edition"].astype(str) + "|" + pol["name"]).to_numpy()},
                               geometry=shapely.from_wkb(np.asarray(pol["geometry_sweref"], dtype=object)),
                               crs=SWEREF99TM)
    out = []
    for division, part in area_gdf.groupby("division"):
        cw = overlay_crosswalk(part, pol_gdf, min_share=0.001)
        if cw.empty:
            continue
        key = cw["to_code"].str.split("|", n=1, expand=True)
        out.append(pd.DataFrame({"edition": key[0].astype(int), "name": key[1], "area_code": cw["from_code"],
                                 "division": division, "share_of_area": cw["share_of_from"],
                                 "share_of_police_area": cw["share_of_to"]}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)
