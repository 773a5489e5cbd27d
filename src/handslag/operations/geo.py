"""Coordinates (SWEREF 99 TM or WGS84) and point-in-polygon assignment of points to DeSO/RegSO.

- :func:`parse_coordinates` reads ``x``/``y`` (or ``e``/``n``, ``easting``/``northing``) in SWEREF 99 TM
  (EPSG:3006) or ``lon``/``lat`` in WGS84 (EPSG:4326), converts to both, and reports coordinates that are
  not numbers or lie outside Sweden (the EPSG:3006 area of use: 10.03–24.17 °E, 54.96–69.07 °N).
  Plain ``x``/``y`` columns whose values all look like degrees are taken as WGS84 unless ``crs`` says otherwise.
- :func:`assign_points_to_areas` places points in areas with a spatial join (``intersects``, so a point
  on a shared boundary is placed — in the area with the smallest code, deterministically).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from handslag.surveys.tables import pick_column

SWEDEN_BOUNDS_WGS84 = (10.03, 54.96, 24.17, 69.07)
SWEREF = "EPSG:3006"
WGS84 = "EPSG:4326"
X_ALIASES = ("x", "e", "easting", "x_sweref", "sweref_x", "sweref_e", "e_sweref", "ostlig", "östlig", "x_koordinat")
Y_ALIASES = ("y", "n", "northing", "y_sweref", "sweref_y", "sweref_n", "n_sweref", "nordlig", "y_koordinat")
LON_ALIASES = ("lon", "long", "lng", "longitude", "longitud")
LAT_ALIASES = ("lat", "latitude", "latitud")
CRS_NAMES = {"sweref99tm": SWEREF, "sweref": SWEREF, "epsg:3006": SWEREF, "3006": SWEREF,
             "wgs84": WGS84, "epsg:4326": WGS84, "4326": WGS84}

_TO_WGS = Transformer.from_crs(SWEREF, WGS84, always_xy=True)
_TO_SWEREF = Transformer.from_crs(WGS84, SWEREF, always_xy=True)


def normalise_crs(crs: str | None) -> str | None:
    if crs is None or str(crs).strip().lower() in ("", "auto"):
        return None
    key = str(crs).strip().lower().replace(" ", "").replace("_", "")
    if key not in CRS_NAMES:
        raise ValueError(f"unknown coordinate system {crs!r}; use sweref99tm (EPSG:3006) or wgs84 (EPSG:4326)")
    return CRS_NAMES[key]


def inside_sweden(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = SWEDEN_BOUNDS_WGS84
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def _numbers(series: pd.Series | None, n: int) -> np.ndarray:
    if series is None:
        return np.full(n, np.nan)
    text = series.astype("string").str.strip().str.replace(",", ".", regex=False).str.replace(" ", "", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)


def coordinate_columns(frame: pd.DataFrame) -> tuple[str | None, str | None, str]:
    """(x column, y column, kind) where kind is ``sweref``, ``wgs84``, ``xy`` (either) or ``none``."""
    lon, lat = pick_column(frame, LON_ALIASES), pick_column(frame, LAT_ALIASES)
    if lon or lat:
        return lon, lat, "wgs84"
    x, y = pick_column(frame, X_ALIASES), pick_column(frame, Y_ALIASES)
    if x or y:
        plain = {str(x).lower(), str(y).lower()} <= {"x", "y"}
        return x, y, "xy" if plain else "sweref"
    return None, None, "none"


def parse_coordinates(frame: pd.DataFrame, *, crs: str | None = None, rows: np.ndarray | None = None,
                      problems: list[tuple[int, str, str]] | None = None) -> pd.DataFrame:
    """Coordinates of every row in both systems; ``has`` tells which rows gave (valid) coordinates.

    Problems are appended to ``problems`` as ``(row, column, reason)``.
    """
    n = len(frame)
    rows = np.arange(2, n + 2) if rows is None else rows
    problems = problems if problems is not None else []
    out = pd.DataFrame({"x_sweref": np.nan, "y_sweref": np.nan, "lon": np.nan, "lat": np.nan, "has": False},
                       index=range(n))
    xcol, ycol, kind = coordinate_columns(frame)
    if kind == "none":
        return out
    crs = normalise_crs(crs)
    raw_x = frame[xcol] if xcol else None
    raw_y = frame[ycol] if ycol else None
    x, y = _numbers(raw_x, n), _numbers(raw_y, n)
    given_x = raw_x.notna().to_numpy() if raw_x is not None else np.zeros(n, bool)
    given_y = raw_y.notna().to_numpy() if raw_y is not None else np.zeros(n, bool)
    for name, given, values in ((xcol or "x", given_x, x), (ycol or "y", given_y, y)):
        for i in np.flatnonzero(given & np.isnan(values)):
            problems.append((int(rows[i]), name, "coordinate is not a number"))
    half = given_x ^ given_y
    for i in np.flatnonzero(half):
        problems.append((int(rows[i]), xcol if not given_x[i] else ycol, "only one of the two coordinates is given"))
    ok = ~np.isnan(x) & ~np.isnan(y)
    if kind == "wgs84":
        crs = crs or WGS84
    elif kind == "xy" and crs is None:
        degrees = ok.any() and bool(np.all((np.abs(x[ok]) <= 180) & (np.abs(y[ok]) <= 90)))
        crs = WGS84 if degrees else SWEREF
    crs = crs or SWEREF
    if crs == WGS84:
        lon, lat = x, y
        ex, ny = _TO_SWEREF.transform(np.where(ok, lon, 0), np.where(ok, lat, 0))
    else:
        ex, ny = x, y
        lon, lat = _TO_WGS.transform(np.where(ok, ex, 500000), np.where(ok, ny, 6500000))
    lon, lat = np.where(ok, lon, np.nan), np.where(ok, lat, np.nan)
    inside = ok & inside_sweden(lon, lat)
    for i in np.flatnonzero(ok & ~inside):
        hint = ""
        if crs == WGS84 and inside_sweden(np.array([y[i]]), np.array([x[i]]))[0]:
            hint = "; latitude and longitude look swapped"
        elif crs == SWEREF and abs(x[i]) <= 180 and abs(y[i]) <= 90:
            hint = "; these look like degrees: give lon/lat columns or the wgs84 coordinate system"
        where = f"({lon[i]:.4f} °E, {lat[i]:.4f} °N)" if np.isfinite(lon[i]) and np.isfinite(lat[i]) else ""
        problems.append((int(rows[i]), xcol or "x", f"coordinates outside Sweden {where}{hint}".replace("  ", " ")))
    out["x_sweref"] = np.where(inside, ex, np.nan)
    out["y_sweref"] = np.where(inside, ny, np.nan)
    out["lon"] = np.where(inside, lon, np.nan)
    out["lat"] = np.where(inside, lat, np.nan)
    out["has"] = inside
    return out


def assign_points_to_areas(x_sweref: Sequence[float] | np.ndarray, y_sweref: Sequence[float] | np.ndarray,
                           areas: gpd.GeoDataFrame, *, levels: Sequence[str] | None = None) -> pd.DataFrame:
    """Place points (SWEREF 99 TM) in areas by point-in-polygon.

    ``areas``: a GeoDataFrame with ``code``, ``division``, ``level`` and polygon geometry (any CRS; it is
    transformed to EPSG:3006). Returns one row per point with ``{level}_code`` and ``{level}_division`` for
    each level (e.g. ``deso_code``, ``regso_code``); NaN/None where the point is in no area of that level
    (or has no coordinates).
    """
    x = np.asarray(x_sweref, dtype=float)
    y = np.asarray(y_sweref, dtype=float)
    n = len(x)
    if areas.crs is not None and areas.crs.to_epsg() != 3006:
        areas = areas.to_crs(SWEREF)
    levels = list(levels) if levels is not None else sorted(areas["level"].dropna().unique().tolist())
    result = pd.DataFrame(index=range(n))
    have = np.isfinite(x) & np.isfinite(y)
    points = gpd.GeoDataFrame({"_i": np.flatnonzero(have)},
                              geometry=gpd.points_from_xy(x[have], y[have]), crs=SWEREF)
    for level in levels:
        layer = areas.loc[areas["level"] == level, ["code", "division", "geometry"]]
        codes = np.full(n, None, dtype=object)
        divisions = np.full(n, None, dtype=object)
        if len(layer) and len(points):
            joined = gpd.sjoin(points, layer, how="inner", predicate="intersects")
            joined = joined.sort_values(["_i", "code"]).drop_duplicates("_i")
            idx = joined["_i"].to_numpy()
            codes[idx] = joined["code"].astype(str).to_numpy()
            divisions[idx] = joined["division"].astype(str).to_numpy()
        result[f"{level}_code"] = codes
        result[f"{level}_division"] = divisions
    return result
