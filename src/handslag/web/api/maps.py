"""Map data for a municipality as GeoJSON (WGS84): areas with type/indicator values, Police-list outlines.

Geometries are simplified in SWEREF 99 TM (metres) with a tolerance from the zoom level and then
transformed to WGS84. Answers are cached in memory per app (the key includes the newest import id, so a
new import invalidates them) and carry an ETag; a matching ``If-None-Match`` gets 304.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import shapely
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pyproj import Transformer
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from handslag.cache import named_cache
from handslag.classify import TYPE_LABELS
from handslag.errors import NotFound
from handslag.indicators.catalogue import catalogue
from handslag.indicators.suppression import should_suppress
from handslag.sources.police import LEVEL_LABELS_SV
from handslag.store import areas_repo, police_repo
from handslag.store.imports_repo import import_stamp
from handslag.store.models import Area, AreaLink, Observation, PoliceArea, PoliceAreaOverlap
from handslag.web.deps import get_session

router = APIRouter(tags=["maps"])

DEFAULT_DIVISION = {"deso": "DeSO2025", "regso": "RegSO2025"}
DEFAULT_ZOOM = {"deso": 12, "regso": 11}
TYPE_DIVISION = "RegSO2020"  # SCB publishes the official area type for RegSO2020
CACHE_SIZE = 64
_TO_WGS84 = Transformer.from_crs("EPSG:3006", "EPSG:4326", always_xy=True)


def tolerance_m(zoom: int, level: str) -> float:
    """Half a screen pixel at ``zoom`` at Swedish latitudes (~58°N), in metres; RegSO a little coarser."""
    metres_per_pixel = 156_543.03 * math.cos(math.radians(58)) / 2**zoom
    return max(1.0, metres_per_pixel * (0.5 if level == "deso" else 0.75))


def _to_wgs84(geom: shapely.Geometry) -> shapely.Geometry:
    def transform(coords: np.ndarray) -> np.ndarray:
        x, y = _TO_WGS84.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([np.round(x, 6), np.round(y, 6)])

    return shapely.transform(geom, transform)


def _cached_response(request: Request, key: tuple, build) -> Response:
    def encode() -> tuple[bytes, str]:
        body = json.dumps(build(), ensure_ascii=False, separators=(",", ":")).encode()
        return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'

    body, etag = named_cache(request.app.state, "maps", CACHE_SIZE).get(key, encode)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    inm = request.headers.get("if-none-match")
    if inm and etag in [t.strip().removeprefix("W/") for t in inm.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/geo+json", headers=headers)


def _kommun(session: Session, code: str) -> Area:
    kommun = session.scalar(select(Area).where(Area.code == code, Area.level == "kommun"))
    if kommun is None:
        raise NotFound(f"ingen kommun med kod {code}")
    return kommun


def available_indicators(session: Session, kommun: str, division: str) -> list[dict]:
    """Indicators with values for ``division`` in ``kommun``: id, Swedish name, unit and years."""
    rows = session.execute(select(Observation.indicator, Observation.year).join(
        Area, and_(Area.code == Observation.area_code, Area.division == Observation.division)).where(
        Area.kommun_code == kommun, Observation.division == division).distinct()).all()
    years: dict[str, set[int]] = {}
    for ind, year in rows:
        years.setdefault(ind, set()).add(int(year))
    cat = catalogue()
    return [{"id": ind, "name": cat.at[ind, "name_sv"] if ind in cat.index else ind,
             "unit": cat.at[ind, "unit"] if ind in cat.index else None, "years": sorted(ys)}
            for ind, ys in sorted(years.items(), key=lambda kv: kv[0])]


def map_divisions(session: Session, kommun: str) -> list[dict]:
    """DeSO/RegSO divisions with polygons in ``kommun`` (what the map can draw)."""
    rows = session.execute(select(Area.level, Area.division, func.count()).where(
        Area.kommun_code == kommun, Area.level.in_(["deso", "regso"]), Area.geometry_sweref.is_not(None))
        .group_by(Area.level, Area.division).order_by(Area.level, Area.division)).all()
    return [{"level": lvl, "division": div, "areas": int(n)} for lvl, div, n in rows]


def _latest_police_levels(session: Session, kommun: str, division: str) -> tuple[int | None, dict[str, dict]]:
    eds = police_repo.editions(session)
    if not eds:
        return None, {}
    edition = eds[-1]
    rows = session.execute(select(PoliceAreaOverlap.area_code, PoliceArea.level, PoliceArea.name,
                                  PoliceAreaOverlap.share_of_area).join(
        PoliceArea, PoliceArea.id == PoliceAreaOverlap.police_area_id).where(
        PoliceArea.edition == edition, PoliceArea.kommun_code == kommun,
        PoliceAreaOverlap.division == division)).all()
    out: dict[str, dict] = {}
    for code, level, name, share in rows:
        best = out.get(code)
        if best is None or police_repo.LEVEL_ORDER[level] > police_repo.LEVEL_ORDER[best["level"]]:
            out[code] = {"level": level, "name": name, "share": round(float(share), 3)}
    return edition, out


def build_area_map(session: Session, kommun: str, level: str, division: str, indicator: str | None,
                   year: int | None, zoom: int, min_count: int) -> dict:
    frame = areas_repo.area_geometries(session, kommun=kommun, level=level, division=division)
    tol = tolerance_m(zoom, level)
    regso_of = {row.code: (row.code if level == "regso" else row.parent_code) for row in frame.itertuples()}
    # Official area type (RegSO2020) by RegSO code: the RegSO2025 area with the same code, or the parent RegSO.
    type_rows = session.execute(select(Observation.area_code, Observation.year, Observation.value).where(
        Observation.indicator == "area_type", Observation.division == TYPE_DIVISION,
        Observation.area_code.like(f"{kommun}R%"))).all()
    type_years = {int(r[1]) for r in type_rows}
    # the requested year when it has official types (the map's year slider), else the newest
    type_year = year if year in type_years and (not indicator or indicator == "area_type") else max(type_years,
                                                                                                      default=None)
    official = {r[0]: int(r[2]) for r in type_rows if int(r[1]) == type_year and r[2] is not None}
    # Types are published on RegSO2020; other RegSO vintages get them only through a stored crosswalk link
    # (never by code alone). Each feature says which link it used (type_via).
    regso_division = division if level == "regso" else ("RegSO2020" if division == "DeSO2018"
                                                       else division.replace("DeSO", "RegSO"))
    if regso_division == TYPE_DIVISION:
        linked = {code: (code, "samma indelning") for code in official}
    else:
        linked = {to: (frm, method) for to, frm, method in session.execute(
            select(AreaLink.to_code, AreaLink.from_code, AreaLink.method).where(
                AreaLink.from_division == TYPE_DIVISION, AreaLink.to_division == regso_division,
                AreaLink.relation == "same")).all()}
    types = {new: official[old] for new, (old, _method) in linked.items() if old in official}
    values: dict[str, float | None] = {}
    value_year = None
    source = None
    unit = None
    if indicator and indicator != "area_type":
        years = session.scalars(select(Observation.year).where(
            Observation.indicator == indicator, Observation.division == division).distinct()).all()
        if not years:
            raise NotFound(f"indikatorn {indicator!r} saknar värden för {division}")
        value_year = year if year in years else max(years)
        obs = session.execute(select(Observation).join(
            Area, and_(Area.code == Observation.area_code, Area.division == Observation.division)).where(
            Area.kommun_code == kommun, Observation.division == division, Observation.indicator == indicator,
            Observation.year == value_year)).scalars().all()
        for o in obs:
            hidden = o.suppressed or should_suppress(unit=o.unit, value=o.value, numerator=o.numerator,
                                                     denominator=o.denominator, min_count=min_count)
            values[o.area_code] = None if hidden else o.value
            source, unit = o.source, o.unit
    edition, police = _latest_police_levels(session, kommun, division)
    features = []
    bounds = [math.inf, math.inf, -math.inf, -math.inf]
    geoms = shapely.simplify(np.asarray(frame.geometry.values, dtype=object), tol, preserve_topology=True) \
        if len(frame) else []
    for row, geom in zip(frame.itertuples(), geoms, strict=True):
        wgs = _to_wgs84(geom)
        b = wgs.bounds
        bounds = [min(bounds[0], b[0]), min(bounds[1], b[1]), max(bounds[2], b[2]), max(bounds[3], b[3])]
        regso = regso_of.get(row.code)
        area_type = types.get(regso) if regso else None
        props = {"code": row.code, "name": row.name, "level": row.level, "division": row.division,
                 "parent": row.parent_code, "type": area_type,
                 "type_label": TYPE_LABELS.get(area_type) if area_type else None,
                 "type_via": f"{TYPE_DIVISION} {linked[regso][0]} ({linked[regso][1]})" if area_type else None}
        if values:
            props["value"] = values.get(row.code)
        pol = police.get(row.code)
        props["police_level"] = pol["level"] if pol else None
        props["police_label"] = LEVEL_LABELS_SV.get(pol["level"]) if pol else None
        props["police_name"] = pol["name"] if pol else None
        features.append({"type": "Feature", "id": len(features),
                         "geometry": json.loads(shapely.to_geojson(wgs)), "properties": props})
    vals = [v for v in values.values() if v is not None]
    is_type = not indicator or indicator == "area_type"
    return {"type": "FeatureCollection", "features": features,
            "bbox": [round(x, 6) for x in bounds] if features else None,
            "meta": {"kommun": kommun, "level": level, "division": division,
                     "indicator": "area_type" if is_type else indicator,
                     "year": type_year if is_type else value_year, "unit": "type" if is_type else unit,
                     "source": "SCB IntGr5Socio (official)" if is_type else source,
                     "type_division": TYPE_DIVISION, "type_year": type_year, "police_edition": edition,
                     "min": min(vals) if vals else None, "max": max(vals) if vals else None,
                     "tolerance_m": round(tol, 2), "features": len(features)}}


def build_police_map(session: Session, kommun: str, edition: int, zoom: int) -> dict:
    tol = tolerance_m(zoom, "deso")
    features = []
    for p in police_repo.police_list(session, edition, kommun):
        if p.geometry_sweref is None:
            continue
        geom = _to_wgs84(shapely.simplify(shapely.from_wkb(p.geometry_sweref), tol, preserve_topology=True))
        features.append({"type": "Feature", "id": len(features), "geometry": json.loads(shapely.to_geojson(geom)),
                         "properties": {"name": p.name, "level": p.level,
                                        "level_label": LEVEL_LABELS_SV.get(p.level), "edition": p.edition,
                                        "municipality": p.municipality}})
    return {"type": "FeatureCollection", "features": features,
            "meta": {"kommun": kommun, "edition": edition, "features": len(features), "source": "Polisen"}}


@router.get("/kommuner/{code}/map", summary="Areas of a municipality as GeoJSON with type/indicator values")
def kommun_map(request: Request, code: str = Path(..., pattern=r"^\d{4}$", description="Kommunkod, t.ex. 1480"),
               level: str = Query("deso", pattern=r"^(deso|regso)$"),
               division: str | None = Query(None, pattern=r"^(DeSO|RegSO)20\d\d$"),
               indicator: str | None = Query(None, max_length=64, pattern=r"^[a-z0-9_]+$",
                                             description="Indikator-id; utan: officiell områdestyp"),
               year: int | None = Query(None, ge=1900, le=2100),
               zoom: int | None = Query(None, ge=4, le=18, description="Styr förenklingen av geometrierna"),
               session: Session = Depends(get_session)) -> Response:
    _kommun(session, code)
    division = division or DEFAULT_DIVISION[level]
    if not division.lower().startswith(level):
        raise ValueError(f"indelningen {division} passar inte nivån {level}")
    zoom = zoom if zoom is not None else DEFAULT_ZOOM[level]
    min_count = request.app.state.settings.suppress_below
    key = ("areas", import_stamp(session), code, level, division, indicator, year, zoom, min_count)
    return _cached_response(request, key, lambda: build_area_map(session, code, level, division, indicator,
                                                                 year, zoom, min_count))


@router.get("/kommuner/{code}/police-map", summary="The Police-list areas of a municipality as GeoJSON outlines")
def kommun_police_map(request: Request, code: str = Path(..., pattern=r"^\d{4}$"),
                      edition: int | None = Query(None, ge=2015, le=2100),
                      zoom: int | None = Query(None, ge=4, le=18),
                      session: Session = Depends(get_session)) -> Response:
    _kommun(session, code)
    eds = police_repo.editions(session)
    if edition is None:
        edition = eds[-1] if eds else 0
    elif edition not in eds:
        raise NotFound(f"ingen utgåva {edition} av Polisens lista")
    zoom = zoom if zoom is not None else 12
    key = ("police", import_stamp(session), code, edition, zoom)
    return _cached_response(request, key, lambda: build_police_map(session, code, edition, zoom))
