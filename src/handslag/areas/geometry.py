"""Geometry preparation: validate, reproject to WGS84 (served) and SWEREF 99 TM (areas, overlays)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from handslag.errors import Problem

WGS84 = "EPSG:4326"
SWEREF99TM = "EPSG:3006"

# Sweden with a margin, in WGS84 lon/lat and in SWEREF 99 TM metres.
SWEDEN_LONLAT = (10.0, 55.0, 24.5, 69.5)
SWEDEN_SWEREF = (180_000.0, 6_100_000.0, 1_000_000.0, 7_700_000.0)


def check_geometries(gdf: gpd.GeoDataFrame, file: str, code_column: str = "code",
                     row_offset: int = 2) -> list[Problem]:
    """Problems: unknown CRS, empty/missing, invalid geometries, coordinates outside Sweden."""
    problems: list[Problem] = []
    if gdf.crs is None:
        problems.append(Problem(file, None, "geometry", "the file has no coordinate reference system (CRS)"))
        return problems
    geoms = gdf.geometry.values
    missing = np.asarray(gdf.geometry.isna() | gdf.geometry.is_empty)
    valid = np.asarray(shapely.is_valid(geoms))
    for i in np.flatnonzero(missing):
        problems.append(Problem(file, int(i) + row_offset, "geometry", "empty or missing geometry"))
    for i in np.flatnonzero(~valid & ~missing):
        reason = shapely.is_valid_reason(geoms[i])
        problems.append(Problem(file, int(i) + row_offset, "geometry", f"invalid geometry: {reason}"))
    ok = ~missing
    if ok.any():
        try:
            bounds = gdf[ok].to_crs(WGS84).total_bounds
        except Exception as exc:  # pragma: no cover - pyproj error text varies
            problems.append(Problem(file, None, "geometry", f"cannot transform from {gdf.crs}: {exc}"))
            return problems
        x0, y0, x1, y1 = SWEDEN_LONLAT
        if bounds[0] < x0 or bounds[1] < y0 or bounds[2] > x1 or bounds[3] > y1:
            problems.append(Problem(file, None, "geometry",
                                    f"coordinates fall outside Sweden in CRS {gdf.crs.to_string()} "
                                    f"(bounds {np.round(bounds, 3).tolist()}); is the CRS right?"))
    return problems


def to_storage(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """WKB in WGS84 and SWEREF 99 TM plus the area in km² (from SWEREF 99 TM)."""
    sweref = gdf.geometry.to_crs(SWEREF99TM)
    wgs = gdf.geometry.to_crs(WGS84)
    return pd.DataFrame({
        "geometry_wgs84": shapely.to_wkb(wgs.values, output_dimension=2),
        "geometry_sweref": shapely.to_wkb(sweref.values, output_dimension=2),
        "area_km2": sweref.area.values / 1e6,
    }, index=gdf.index)


def from_wkb(values, crs: str) -> gpd.GeoSeries:
    return gpd.GeoSeries(shapely.from_wkb(np.asarray(values, dtype=object)), crs=crs)
