"""Importers for users' own files: observations (CSV/Excel) and areas (GeoPackage/GeoJSON/GeoParquet).

Each reader validates everything before anything is written and raises
:class:`~handslag.errors.ValidationFailed` listing every problem by file, row, column and reason.
Row numbers are spreadsheet rows: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from handslag.areas.codes import DIVISIONS, PATTERNS, code_level, normalise_code
from handslag.areas.geometry import check_geometries, to_storage
from handslag.errors import Problem, ValidationFailed
from handslag.indicators.catalogue import catalogue

OBS_REQUIRED = ["area_code", "indicator", "year", "value"]
OBS_OPTIONAL = ["division", "numerator", "denominator", "unit", "source"]
MISSING_MARKERS = {"..", ".", "-", "–"}


def file_hash(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(path: str | Path) -> pd.DataFrame:
    """Read CSV (comma or semicolon, UTF-8 with or without BOM) or Excel as strings."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise ValidationFailed([Problem(name, None, None, "file not found")], what=name)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            frame = pd.read_excel(path, dtype=str)
        else:
            with open(path, encoding="utf-8-sig") as fh:
                head = fh.readline()
            sep = ";" if head.count(";") > head.count(",") else ","
            frame = pd.read_csv(path, dtype=str, sep=sep, encoding="utf-8-sig", keep_default_na=False,
                                skipinitialspace=True)
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise ValidationFailed([Problem(name, None, None, f"cannot read the file: {exc}")], what=name) from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame


def _to_number(series: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse numbers (decimal comma allowed). Returns (values, is_blank_or_missing_marker, is_bad)."""
    text = series.fillna("").astype(str).str.strip()
    marker = text.isin(MISSING_MARKERS)
    blank = text.eq("") | marker
    cleaned = text.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    cleaned = cleaned.where(~cleaned.str.contains(",") | cleaned.str.contains(r"\."),
                            cleaned.str.replace(",", ".", regex=False))
    values = pd.to_numeric(cleaned.where(~blank, None), errors="coerce")
    bad = values.isna() & ~blank
    return values.astype(float), marker, bad


def validate_observations(frame: pd.DataFrame, file: str, known_areas: pd.DataFrame, *,
                          default_source: str | None = None,
                          allow_new_indicators: bool = False) -> pd.DataFrame:
    """Validate a tidy observations table against the area registry; return rows ready to store.

    ``known_areas`` has columns ``code, division``. The division is inferred when the code exists in
    exactly one division and is required otherwise.
    """
    problems: list[Problem] = []
    missing = [c for c in OBS_REQUIRED if c not in frame.columns]
    if missing:
        raise ValidationFailed([Problem(file, 1, c, "required column is missing") for c in missing], what=file)
    rows = pd.Series(np.arange(len(frame)) + 2, index=frame.index)
    out = pd.DataFrame(index=frame.index)
    out["area_code"] = frame["area_code"].fillna("").map(normalise_code)

    # area codes: shape, existence, division
    shape_ok = out["area_code"].map(lambda c: code_level(c) is not None)
    for i in frame.index[~shape_ok]:
        problems.append(Problem(file, int(rows[i]), "area_code",
                                f"{frame.at[i, 'area_code']!r} is not a DeSO, RegSO, kommun or län code"))
    divisions_by_code = known_areas.groupby("code")["division"].agg(list).to_dict()
    given = frame["division"].fillna("").astype(str).str.strip() if "division" in frame.columns else None
    division = []
    for i in frame.index:
        code = out.at[i, "area_code"]
        if not shape_ok[i]:
            division.append(None)
            continue
        options = divisions_by_code.get(code, [])
        want = given[i] if given is not None and given[i] else None
        if want is not None:
            if want not in DIVISIONS and want not in set(known_areas["division"]):
                problems.append(Problem(file, int(rows[i]), "division", f"unknown division {want!r}"))
            elif DIVISIONS.get(want) and not PATTERNS.get(DIVISIONS[want], PATTERNS["deso"]).match(code) \
                    and DIVISIONS[want] in PATTERNS:
                problems.append(Problem(file, int(rows[i]), "division",
                                        f"code {code} is not a {DIVISIONS[want]} code, so it cannot be in {want}"))
            elif want not in options:
                problems.append(Problem(file, int(rows[i]), "area_code", f"unknown area {code} in division {want}"))
            division.append(want)
        elif len(options) == 1:
            division.append(options[0])
        elif not options:
            problems.append(Problem(file, int(rows[i]), "area_code", f"unknown area code {code}"))
            division.append(None)
        else:
            problems.append(Problem(file, int(rows[i]), "division",
                                    f"code {code} exists in several divisions ({', '.join(sorted(options))}); "
                                    "give the division column"))
            division.append(None)
    out["division"] = division

    # indicators
    out["indicator"] = frame["indicator"].fillna("").astype(str).str.strip()
    cat = catalogue()
    for i in frame.index[out["indicator"].eq("")]:
        problems.append(Problem(file, int(rows[i]), "indicator", "indicator is empty"))
    if not allow_new_indicators:
        unknown = ~out["indicator"].isin(cat.index) & out["indicator"].ne("")
        for i in frame.index[unknown]:
            problems.append(Problem(file, int(rows[i]), "indicator",
                                    f"unknown indicator {out.at[i, 'indicator']!r} (not in the catalogue)"))

    # year
    years, _, bad_year = _to_number(frame["year"])
    bad_year = bad_year | years.isna() | (years % 1 != 0) | (years < 1900) | (years > 2100)
    for i in frame.index[bad_year]:
        problems.append(Problem(file, int(rows[i]), "year", f"{frame.at[i, 'year']!r} is not a year"))
    out["year"] = years.fillna(0).astype(int)

    # numbers
    value, value_marker, bad_value = _to_number(frame["value"])
    for i in frame.index[bad_value]:
        problems.append(Problem(file, int(rows[i]), "value", f"{frame.at[i, 'value']!r} is not a number"))
    num = den = None
    if "numerator" in frame.columns:
        num, _, bad = _to_number(frame["numerator"])
        for i in frame.index[bad]:
            problems.append(Problem(file, int(rows[i]), "numerator", f"{frame.at[i, 'numerator']!r} is not a number"))
    if "denominator" in frame.columns:
        den, _, bad = _to_number(frame["denominator"])
        for i in frame.index[bad]:
            problems.append(Problem(file, int(rows[i]), "denominator",
                                    f"{frame.at[i, 'denominator']!r} is not a number"))
    out["numerator"] = num if num is not None else np.nan
    out["denominator"] = den if den is not None else np.nan
    both = out["numerator"].notna() & out["denominator"].notna()
    for i in frame.index[both & (out["denominator"] <= 0)]:
        problems.append(Problem(file, int(rows[i]), "denominator", "denominator must be positive"))
    for i in frame.index[both & (out["numerator"] < 0)]:
        problems.append(Problem(file, int(rows[i]), "numerator", "numerator must not be negative"))
    kinds = out["indicator"].map(cat["kind"]).fillna("")
    over = both & (out["numerator"] > out["denominator"]) & kinds.eq("rate")
    for i in frame.index[over]:
        problems.append(Problem(file, int(rows[i]), "numerator", "numerator is larger than the denominator"))
    derived = 100.0 * out["numerator"] / out["denominator"].where(out["denominator"] > 0)
    mismatch = both & value.notna() & kinds.eq("rate") & ((value - derived).abs() > 0.005 * derived.abs() + 0.05)
    for i in frame.index[mismatch]:
        problems.append(Problem(file, int(rows[i]), "value",
                                f"value {value[i]:g} does not match 100 × numerator / denominator = {derived[i]:.4g}"))
    empty_value = value.isna() & ~value_marker & ~(both & kinds.eq("rate"))
    for i in frame.index[empty_value & ~bad_value]:
        problems.append(Problem(file, int(rows[i]), "value", "value is empty (write .. for a suppressed value)"))
    out["value"] = np.where(both & kinds.eq("rate"), derived, value)
    out["suppressed"] = value_marker & ~both
    out["unit"] = frame["unit"].replace("", None) if "unit" in frame.columns else out["indicator"].map(cat["unit"])
    if "source" in frame.columns:
        out["source"] = frame["source"].replace("", None).fillna(default_source or file)
    else:
        out["source"] = default_source or file

    # duplicates
    key = ["area_code", "division", "indicator", "year", "source"]
    dup = out.duplicated(subset=key, keep=False) & out["division"].notna()
    if dup.any():
        first_row = out[dup].groupby(key, dropna=False).ngroup()
        firsts: dict[int, int] = {}
        for i in frame.index[dup]:
            g = int(first_row[i])
            if g in firsts:
                problems.append(Problem(file, int(rows[i]), "area_code",
                                        f"duplicate of row {firsts[g]} (same area, division, indicator, year, source)"))
            else:
                firsts[g] = int(rows[i])
    if problems:
        problems.sort(key=lambda p: (p.row or 0))
        raise ValidationFailed(problems, what=file)
    return out.reset_index(drop=True)


def read_observations(path: str | Path, known_areas: pd.DataFrame, **kwargs) -> pd.DataFrame:
    path = Path(path)
    return validate_observations(read_table(path), path.name, known_areas, **kwargs)


def read_area_file(path: str | Path, *, code_column: str = "code", name_column: str | None = None,
                   division: str = "Custom", level: str | None = None, layer: str | None = None,
                   parent_column: str | None = None) -> pd.DataFrame:
    """Read areas from GeoPackage/GeoJSON/GeoParquet (any CRS) into storage rows, validating first."""
    path = Path(path)
    file = path.name
    if not path.exists():
        raise ValidationFailed([Problem(file, None, None, "file not found")], what=file)
    try:
        gdf = gpd.read_parquet(path) if path.suffix.lower() == ".parquet" else gpd.read_file(path, layer=layer)
    except Exception as exc:
        raise ValidationFailed([Problem(file, None, None, f"cannot read the file: {exc}")], what=file) from exc
    problems: list[Problem] = []
    if code_column not in gdf.columns:
        problems.append(Problem(file, 1, code_column, f"code column {code_column!r} not found "
                                f"(columns: {', '.join(map(str, gdf.columns))})"))
        raise ValidationFailed(problems, what=file)
    codes = gdf[code_column].map(lambda c: normalise_code(c) if pd.notna(c) else "")
    expected = level or DIVISIONS.get(division)
    for i, code in enumerate(codes):
        if not code:
            problems.append(Problem(file, i + 2, code_column, "empty code"))
        elif expected in PATTERNS and not PATTERNS[expected].match(code):
            problems.append(Problem(file, i + 2, code_column, f"{code!r} is not a valid {expected} code for {division}"))
    dup = codes.duplicated(keep="first") & codes.ne("")
    for i in np.flatnonzero(dup.to_numpy()):
        problems.append(Problem(file, int(i) + 2, code_column, f"duplicate code {codes.iloc[i]}"))
    problems += check_geometries(gdf, file)
    if problems:
        raise ValidationFailed(problems, what=file)
    stored = to_storage(gdf)
    lvl = expected or "custom"
    out = pd.DataFrame({
        "code": codes.to_numpy(), "division": division, "level": lvl,
        "name": gdf[name_column].astype(str).to_numpy() if name_column and name_column in gdf else None,
        "parent_code": gdf[parent_column].astype(str).to_numpy() if parent_column and parent_column in gdf else None,
        "kommun_code": [c[:4] if lvl in ("deso", "regso", "kommun") else None for c in codes],
        "lan_code": [c[:2] if lvl in ("deso", "regso", "kommun", "lan") else None for c in codes],
        "geometry_source": file, "geometry_simplified": False,
    })
    return pd.concat([out, stored.reset_index(drop=True)], axis=1)
