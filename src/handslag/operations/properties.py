"""Property register: id, address, coordinates, number of flats, owner → DeSO/RegSO by point-in-polygon.

Columns (case-insensitive; Swedish aliases accepted): ``property_id`` (``fastighet``, ``objekt_id``…),
``address`` (``adress``), coordinates (``x``/``y`` or ``e``/``n`` in SWEREF 99 TM, or ``lon``/``lat`` in
WGS84), ``flats`` (``lagenheter``, ``antal_lgh``), ``owner`` (``agare``, ``fastighetsagare``).

A property that lies in no area of the loaded polygons is a problem (nothing is imported) unless
``allow_unassigned`` is set; then it is imported without area and listed in ``unassigned``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from handslag.surveys.readers import ProblemCollector
from handslag.surveys.tables import Table, pick_column, read_table

from .geo import assign_points_to_areas, coordinate_columns, parse_coordinates

PROPERTY_ALIASES = ("property_id", "property", "property_ref", "fastighet", "fastighet_id", "fastighetsid",
                    "objekt_id", "objektid", "objekt", "byggnad_id", "id")
ADDRESS_ALIASES = ("address", "adress", "gatuadress")
FLATS_ALIASES = ("flats", "lagenheter", "lägenheter", "antal_lgh", "antal_lagenheter", "antal_lägenheter",
                 "apartments", "lgh")
OWNER_ALIASES = ("owner", "agare", "ägare", "fastighetsagare", "fastighetsägare", "bolag", "company")


@dataclass
class ParsedProperties:
    frame: pd.DataFrame
    file: str
    unassigned: pd.DataFrame = field(default_factory=pd.DataFrame)
    counts: dict[str, int] = field(default_factory=dict)


def _text(frame: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series([None] * len(frame), dtype="object")
    s = frame[column].astype("string").str.strip()
    return s.astype(object).where(s.notna() & (s != ""), None).reset_index(drop=True)


def read_properties(path: str | Path | None = None, *, areas: gpd.GeoDataFrame | None = None,
                    crs: str | None = None, allow_unassigned: bool = False, display_name: str | None = None,
                    sheet: str | int | None = None, table: Table | None = None) -> ParsedProperties:
    """Read, check and place a property register in areas (``areas``: see :func:`assign_points_to_areas`)."""
    if table is None:
        if path is None:
            raise ValueError("give a path or a table")
        table = read_table(path, sheet=sheet, display_name=display_name)
    frame = table.frame
    problems = ProblemCollector(table.file, table.sheet)
    pcol = pick_column(frame, PROPERTY_ALIASES)
    if pcol is None:
        problems.add(1, "property_id", "required column is missing")
    xcol, ycol, kind = coordinate_columns(frame)
    if kind == "none":
        problems.add(1, "x, y", "coordinates are missing (x/y in SWEREF 99 TM or lon/lat in WGS84)")
    problems.raise_if_any("property register")
    n = len(frame)
    rows = np.arange(2, n + 2, dtype=np.int64)
    ids = _text(frame, pcol)
    blank = ids.isna().to_numpy()
    problems.rows(rows[blank], pcol, "property id is blank")
    dup = ids.duplicated(keep="first").to_numpy() & ~blank
    if dup.any():
        first = pd.Series(rows, index=ids).groupby(level=0).first()
        hit = np.flatnonzero(dup)
        problems.rows(rows[hit], pcol, lambda i: f"duplicate property id (first in row {int(first[ids.iloc[hit[i]]])})",
                      summary="duplicate property ids")
    coord_problems: list[tuple[int, str, str]] = []
    coords = parse_coordinates(frame, crs=crs, rows=rows, problems=coord_problems)
    for row, column, reason in coord_problems[: problems.cap]:
        problems.add(row, column, reason)
    missing = np.flatnonzero(~coords["has"].to_numpy() & ~np.isin(rows, [p[0] for p in coord_problems]))
    problems.rows(rows[missing], xcol, "coordinates are missing")
    fcol = pick_column(frame, FLATS_ALIASES)
    flats = np.full(n, np.nan)
    if fcol is not None:
        text = frame[fcol].astype("string").str.strip().str.replace(" ", "", regex=False)
        flats = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(frame[fcol].notna().to_numpy() & ~((flats >= 0) & (flats == np.floor(flats))))
        problems.rows(rows[bad], fcol, "number of flats must be a whole number ≥ 0")
    problems.raise_if_any("property register")

    out = pd.DataFrame({
        "property_ref": ids.astype("string"),
        "address": _text(frame, pick_column(frame, ADDRESS_ALIASES)),
        "owner": _text(frame, pick_column(frame, OWNER_ALIASES)),
        "flats": pd.array(np.where(np.isnan(flats), np.nan, flats), dtype="Float64").astype("Int64"),
        "x_sweref": coords["x_sweref"].to_numpy(), "y_sweref": coords["y_sweref"].to_numpy(),
        "lon": coords["lon"].to_numpy(), "lat": coords["lat"].to_numpy(), "row": rows,
    })
    for level in ("deso", "regso"):
        out[f"{level}_code"] = None
        out[f"{level}_division"] = None
    unassigned = out.iloc[0:0]
    if areas is not None:
        placed = assign_points_to_areas(out["x_sweref"], out["y_sweref"], areas)
        for col in placed.columns:
            out[col] = placed[col].to_numpy()
        finest = "deso_code" if "deso_code" in placed.columns else (placed.columns[0] if len(placed.columns)
                                                                   else None)
        if finest is not None:
            lost = out[finest].isna().to_numpy()
            unassigned = out[lost]
            if lost.any() and not allow_unassigned:
                level = finest.removesuffix("_code")
                hit = np.flatnonzero(lost)
                problems.rows(rows[hit], xcol, lambda i: f"not inside any {level} of the loaded areas "
                              f"({out['lon'].iloc[hit[i]]:.5f} °E, {out['lat'].iloc[hit[i]]:.5f} °N)",
                              summary=f"properties outside every {level}")
                problems.raise_if_any("property register")
    counts = {"rows": n, "properties": len(out), "unassigned": len(unassigned),
              "assigned": len(out) - len(unassigned) if areas is not None else 0}
    return ParsedProperties(out, table.file, unassigned, counts)
