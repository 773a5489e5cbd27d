"""The Police's list of vulnerable areas (utsatta områden), editions 2015–2025.

Reads the files of a snapshot's ``police_utsatta_omraden/`` folder:

- ``utsatta_omraden_panel_2015_2023_long.csv``: harmonised panel (ID, names, edition, level code U/R/S);
- ``UO_panel.gpkg``: one polygon per panel area and edition (EPSG:3006);
- ``UO_key.xlsx`` sheet ``reference``: municipality (Kommun) per area name;
- ``polisen_utsatta_omraden_original_shapes.gpkg``: Polisen's own 2021/2023 layers (names, ``ORT``,
  ``SPECIALOMR``) and the areas removed before 2021;
- ``utsatta_omraden_2025_polisen_attribut.csv``: the December 2025 list (attributes only). Its polygons
  are not in the snapshot, so a 2025 area gets the 2023 polygon with the same ``specialomrades_id``
  (``geometry_source`` says so); areas new in 2025 have no polygon.

Levels are spelled ``utsatt``, ``risk`` and ``sarskilt_utsatt``.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from handslag.areas.geometry import check_geometries, to_storage
from handslag.areas.regions import kommun_code_by_name, kommun_name
from handslag.errors import Problem, ValidationFailed

LEVEL_BY_CODE = {"U": "utsatt", "R": "risk", "S": "sarskilt_utsatt"}
LEVEL_LABELS_SV = {"utsatt": "Utsatt område", "risk": "Riskområde", "sarskilt_utsatt": "Särskilt utsatt område"}


def level_from_text(text: str) -> str | None:
    t = str(text).strip().lower()
    if t in ("u", "utsatt område", "utsattomr", "utsatt"):
        return "utsatt"
    if t in ("r", "riskområde", "risk"):
        return "risk"
    if t in ("s",) or t.startswith("särskil") or t.startswith("sarskil"):
        return "sarskilt_utsatt"
    return None


def _norm_name(name: object) -> str:
    text = str(name).replace("\u00a0", " ").lower()
    text = re.sub(r"\(.*?\)", "", text)
    text = re.sub(r"\s*/\s*", "/", text)
    return re.sub(r"\s+", " ", text).strip()


def _match_name(name: str, candidates: dict[str, str]) -> str | None:
    """Look up ``name`` among normalised candidate names (exact, first part, or close spelling)."""
    key = _norm_name(name)
    if key in candidates:
        return candidates[key]
    first = key.split("/")[0]
    for cand, value in candidates.items():
        if cand.split("/")[0] == first:
            return value
    close = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.85)
    return candidates[close[0]] if close else None


def read_police_list(folder: str | Path) -> pd.DataFrame:
    """All editions as one frame: edition, panel_id, special_id, name, panel_name, level, municipality,
    kommun_code, geometry_wgs84, geometry_sweref, geometry_source, source."""
    folder = Path(folder)
    panel_csv = folder / "utsatta_omraden_panel_2015_2023_long.csv"
    problems: list[Problem] = []
    panel = pd.read_csv(panel_csv, dtype=str, keep_default_na=False)
    for col in ("ID", "area_panel", "year", "type_code"):
        if col not in panel.columns:
            problems.append(Problem(panel_csv.name, 1, col, "required column is missing"))
    if problems:
        raise ValidationFailed(problems, what=panel_csv.name)
    panel["level"] = panel["type_code"].str.strip().map(LEVEL_BY_CODE)
    for i in np.flatnonzero(panel["level"].isna().to_numpy()):
        problems.append(Problem(panel_csv.name, int(i) + 2, "type_code", f"unknown level {panel['type_code'].iloc[i]!r}"))
    panel["edition"] = pd.to_numeric(panel["year"], errors="coerce")
    for i in np.flatnonzero(panel["edition"].isna().to_numpy()):
        problems.append(Problem(panel_csv.name, int(i) + 2, "year", "not a year"))
    if problems:
        raise ValidationFailed(problems, what=panel_csv.name)
    panel["panel_id"] = panel["ID"].astype(int)
    panel["edition"] = panel["edition"].astype(int)

    # municipality per panel area from the key's reference sheet
    kommun_by_name: dict[str, str] = {}
    key_file = folder / "UO_key.xlsx"
    if key_file.exists():
        ref = pd.read_excel(key_file, sheet_name="reference").dropna(subset=["Kommun", "Område"])
        kommun_by_name = {_norm_name(o): str(k) for k, o in zip(ref["Kommun"], ref["Område"], strict=True)}

    shapes_file = folder / "polisen_utsatta_omraden_original_shapes.gpkg"
    ort_by_name: dict[str, str] = {}
    layer_2023 = None
    if shapes_file.exists():
        layer_2023 = gpd.read_file(shapes_file, layer="uso_2023_polisen")
        layer_2021 = gpd.read_file(shapes_file, layer="uo_2021_polisen")
        ort_by_name.update({_norm_name(n): o for n, o in zip(layer_2021["namn"], layer_2021["ort"], strict=True)})
        ort_by_name.update({_norm_name(n): o for n, o in zip(layer_2023["NAMN"], layer_2023["ORT"], strict=True)})

    def municipality(*names: str) -> str | None:
        for name in names:
            if not name:
                continue
            found = _match_name(name, kommun_by_name) or _match_name(name, ort_by_name)
            if found and kommun_code_by_name(found):
                return kommun_name(kommun_code_by_name(found))
        return None

    def edition_name(row: pd.Series) -> str:
        if row["edition"] >= 2023 and row.get("area2023"):
            return row["area2023"]
        if row["edition"] >= 2021 and row.get("area2021"):
            return row["area2021"]
        return row.get("areahist") or row["area_panel"]

    panel["name"] = panel.apply(edition_name, axis=1)
    panel["municipality"] = [municipality(a, b, c, d) for a, b, c, d in
                             zip(panel["area_panel"], panel["area2023"], panel["area2021"], panel["areahist"],
                                 strict=True)]

    # polygons per (panel id, edition)
    gpkg = folder / "UO_panel.gpkg"
    shapes = gpd.read_file(gpkg)
    problems += check_geometries(shapes, gpkg.name)
    if problems:
        raise ValidationFailed(problems, what=gpkg.name)
    shapes = shapes.dropna(subset=["ID"])
    shapes["panel_id"] = shapes["ID"].astype(int)
    shapes["edition"] = shapes["year"].astype(int)
    shapes = shapes.drop_duplicates(["panel_id", "edition"])
    stored = pd.concat([shapes[["panel_id", "edition"]].reset_index(drop=True),
                        to_storage(shapes).reset_index(drop=True)], axis=1)
    out = panel.merge(stored, on=["panel_id", "edition"], how="left")
    out["geometry_source"] = np.where(out["geometry_sweref"].notna(), f"{gpkg.name} (harmonised panel)", None)
    out["panel_name"] = out["area_panel"]
    out["special_id"] = None
    out["source"] = f"{panel_csv.name} (UO-Project panel)"
    frames = [out]

    # the December 2025 list (attributes only)
    attr_file = folder / "utsatta_omraden_2025_polisen_attribut.csv"
    if attr_file.exists():
        attr = pd.read_csv(attr_file, dtype=str, keep_default_na=False)
        attr["level"] = attr["kategori"].map(level_from_text)
        for i in np.flatnonzero(attr["level"].isna().to_numpy()):
            problems.append(Problem(attr_file.name, int(i) + 2, "kategori", f"unknown level {attr['kategori'].iloc[i]!r}"))
        if problems:
            raise ValidationFailed(problems, what=attr_file.name)
        attr["special_id"] = attr["specialomrades_id"].astype(int)
        rows = pd.DataFrame({"edition": 2025, "special_id": attr["special_id"], "name": attr["namn"],
                             "level": attr["level"], "source": f"{attr_file.name} (Polisen, December 2025)"})
        panel_2023 = panel[panel["edition"] == 2023]
        id_by_2023_name = {_norm_name(n): i for n, i in zip(panel_2023["name"], panel_2023["panel_id"], strict=True)}
        rows["panel_id"] = None
        rows["panel_name"] = None
        rows["municipality"] = [
            municipality(n) or (kommun_name(kommun_code_by_name(o)) if kommun_code_by_name(o) else None)
            for n, o in zip(attr["namn"], attr["ort"], strict=True)]
        if layer_2023 is not None:
            by_special = layer_2023.drop_duplicates("SPECIALOMR").set_index("SPECIALOMR")
            name_2023 = rows["special_id"].map(by_special["NAMN"])
            rows["panel_id"] = name_2023.map(lambda n: id_by_2023_name.get(_norm_name(n)) if isinstance(n, str) else None)
            # areas with a new id in 2025: the same name (Hisings Backa), or one part of a 2023 area that was
            # split ("Rinkeby / Tensta" → Rinkeby, Hjulsta) continue that area's line in the panel
            parts = {part: i for n, i in id_by_2023_name.items() for part in n.split("/")}
            lineage = rows["name"].map(lambda n: id_by_2023_name.get(_norm_name(n), parts.get(_norm_name(n))))
            rows["panel_id"] = rows["panel_id"].where(rows["panel_id"].notna(), lineage)
            rows["panel_name"] = rows["panel_id"].map(dict(zip(panel["panel_id"], panel["area_panel"], strict=False)))
            matched = rows["special_id"].isin(by_special.index)
            geoms = gpd.GeoDataFrame(geometry=by_special.geometry.reindex(rows.loc[matched, "special_id"]).values,
                                     crs=layer_2023.crs)
            stored = to_storage(geoms)
            for col in ("geometry_wgs84", "geometry_sweref", "area_km2"):
                rows[col] = None
                rows.loc[matched, col] = stored[col].to_numpy()
            rows["geometry_source"] = np.where(
                matched, "2023 polygon with the same specialområdes-id (2025 polygons not in snapshot; "
                "36 of 57 changed shape)", None)
        frames.append(rows)

    result = pd.concat(frames, ignore_index=True)
    result["kommun_code"] = result["municipality"].map(lambda m: kommun_code_by_name(m) if isinstance(m, str) else None)
    result["panel_id"] = result["panel_id"].astype("Int64")
    result["special_id"] = result["special_id"].astype("Int64")
    cols = ["edition", "panel_id", "special_id", "name", "panel_name", "level", "municipality", "kommun_code",
            "geometry_wgs84", "geometry_sweref", "geometry_source", "source"]
    return result[cols].sort_values(["edition", "name"]).reset_index(drop=True)
