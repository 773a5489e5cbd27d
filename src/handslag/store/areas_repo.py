"""Areas and crosswalk links: writes and queries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, defer

from handslag.errors import NotFound

from ._upsert import upsert
from .models import Area, AreaLink

AREA_COLUMNS = ["code", "division", "level", "name", "parent_code", "parent_division", "kommun_code",
                "lan_code", "geometry_wgs84", "geometry_sweref", "geometry_source", "geometry_simplified",
                "area_km2"]


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    sub = frame[[c for c in columns if c in frame.columns]]
    sub = sub.astype(object).where(pd.notna(sub), None)
    return sub.to_dict("records")


def upsert_areas(session: Session, frame: pd.DataFrame, import_id: int | None = None) -> int:
    """Insert or update areas keyed by (code, division). Columns not in ``frame`` are left alone."""
    frame = frame.copy()
    if "geometry_simplified" in frame.columns:
        frame["geometry_simplified"] = frame["geometry_simplified"].fillna(False).astype(bool)
    frame["import_id"] = import_id
    return upsert(session, Area.__table__, _records(frame, [*AREA_COLUMNS, "import_id"]), ["code", "division"])


def area_keys(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Area.code, Area.division, Area.level, Area.kommun_code)).all()
    return pd.DataFrame(rows, columns=["code", "division", "level", "kommun_code"])


def list_areas(session: Session, *, kommun: str | None = None, level: str | None = None,
               division: str | None = None, q: str | None = None, limit: int = 100,
               offset: int = 0) -> tuple[int, list[Area]]:
    stmt = select(Area)
    if kommun:
        stmt = stmt.where(or_(Area.kommun_code == kommun, Area.code == kommun))
    if level:
        stmt = stmt.where(Area.level == level)
    if division:
        stmt = stmt.where(Area.division == division)
    if q:
        q = "".join(ch for ch in q if ch.isprintable())  # PostgreSQL refuses NUL in text
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Area.name).like(like), Area.code.like(f"{q}%")))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    items = session.scalars(stmt.order_by(Area.level, Area.code, Area.division).limit(limit).offset(offset))
    return int(total or 0), list(items)


DIVISION_PREFERENCE = ["DeSO2025", "RegSO2025", "DeSO2018", "RegSO2020", "kommun", "lan", "riket"]


_NO_GEOMETRY = (defer(Area.geometry_wgs84, raiseload=True), defer(Area.geometry_sweref, raiseload=True))


def get_area(session: Session, code: str, division: str | None = None, *, with_geometry: bool = True) -> Area:
    """The area with ``code`` (in ``division`` if given; else the newest division that has it).

    ``with_geometry=False`` leaves the two WKB columns unloaded (most pages never draw them)."""
    stmt = select(Area).where(Area.code == code)
    if not with_geometry:
        stmt = stmt.options(*_NO_GEOMETRY)
    if division:
        stmt = stmt.where(Area.division == division)
    found = list(session.scalars(stmt))
    if not found:
        raise NotFound(f"no area with code {code!r}" + (f" in division {division}" if division else ""))
    found.sort(key=lambda a: DIVISION_PREFERENCE.index(a.division) if a.division in DIVISION_PREFERENCE else 99)
    return found[0]


def children(session: Session, code: str, division: str) -> list[Area]:
    """Areas whose parent is (code, division), without their geometries."""
    return list(session.scalars(select(Area).options(*_NO_GEOMETRY).where(
        Area.parent_code == code, Area.parent_division == division).order_by(Area.code)))


def area_geometries(session: Session, *, kommun: str | None = None, level: str | None = None,
                    division: str | None = None, codes: list[str] | None = None,
                    crs: str = "EPSG:3006") -> gpd.GeoDataFrame:
    """Areas with geometry as a GeoDataFrame (``code, division, level, name, kommun_code, geometry``)."""
    column = Area.geometry_sweref if crs == "EPSG:3006" else Area.geometry_wgs84
    stmt = select(Area.code, Area.division, Area.level, Area.name, Area.kommun_code, Area.parent_code,
                  column).where(column.is_not(None))
    if kommun:
        stmt = stmt.where(Area.kommun_code == kommun)
    if level:
        stmt = stmt.where(Area.level == level)
    if division:
        stmt = stmt.where(Area.division == division)
    if codes:
        stmt = stmt.where(Area.code.in_(codes))
    rows = session.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["code", "division", "level", "name", "kommun_code", "parent_code", "wkb"])
    geoms = shapely.from_wkb(np.asarray(frame["wkb"], dtype=object)) if len(frame) else []
    return gpd.GeoDataFrame(frame.drop(columns="wkb"), geometry=gpd.GeoSeries(geoms, crs=crs),
                            crs="EPSG:3006" if crs == "EPSG:3006" else "EPSG:4326")


def upsert_links(session: Session, links: pd.DataFrame) -> int:
    cols = ["from_code", "from_division", "to_code", "to_division", "share_of_from", "share_of_to", "relation",
            "method"]
    return upsert(session, AreaLink.__table__, _records(links, cols),
                  ["from_code", "from_division", "to_code", "to_division"])


def links_for(session: Session, code: str, division: str) -> list[AreaLink]:
    return list(session.scalars(select(AreaLink).where(
        or_((AreaLink.from_code == code) & (AreaLink.from_division == division),
            (AreaLink.to_code == code) & (AreaLink.to_division == division)))))


def counts_by_level(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Area.level, Area.division, func.count(), func.count(Area.geometry_sweref))
                           .group_by(Area.level, Area.division).order_by(Area.level, Area.division)).all()
    return pd.DataFrame(rows, columns=["level", "division", "areas", "with_geometry"])


def ensure_regions(session: Session) -> int:
    """Insert Sweden, the 21 counties and the 290 municipalities (shipped with the package) if missing."""
    from handslag.areas.regions import registry_rows

    have = session.scalar(select(func.count()).select_from(Area).where(Area.level == "kommun"))
    if have:
        return 0
    frame = registry_rows()
    return upsert_areas(session, frame)
