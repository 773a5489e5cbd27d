"""Areas, observations, the indicator catalogue, the Police list and the import log."""

from __future__ import annotations

import json

import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from handslag.areas.codes import DIVISIONS
from handslag.indicators.catalogue import catalogue
from handslag.indicators.suppression import should_suppress
from handslag.reports.export import frame_to_bytes
from handslag.sources.police import LEVEL_LABELS_SV
from handslag.store import areas_repo, observations_repo, police_repo
from handslag.store.imports_repo import recent_imports
from handslag.web.deps import get_session

router = APIRouter(tags=["areas"])


def _area_item(area) -> dict:
    return {"code": area.code, "name": area.name, "level": area.level, "division": area.division,
            "parent": area.parent_code, "parent_division": area.parent_division, "kommun": area.kommun_code}


@router.get("/areas", summary="List areas")
def list_areas(kommun: str | None = Query(None, pattern=r"^\d{4}$", description="Kommunkod, t.ex. 1480"),
               level: str | None = Query(None, pattern=r"^(deso|regso|kommun|lan|riket|custom)$"),
               division: str | None = Query(None, max_length=16),
               q: str | None = Query(None, max_length=100, description="Sök på namn eller kod"),
               limit: int = Query(100, ge=1, le=5000), offset: int = Query(0, ge=0),
               session: Session = Depends(get_session)) -> dict:
    total, items = areas_repo.list_areas(session, kommun=kommun, level=level, division=division, q=q,
                                         limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "items": [_area_item(a) for a in items]}


@router.get("/areas/{code}", summary="One area with its geometry (GeoJSON, WGS84)")
def get_area(code: str, division: str | None = Query(None, max_length=16),
             session: Session = Depends(get_session)) -> dict:
    area = areas_repo.get_area(session, code, division)
    item = _area_item(area)
    item.update({"lan": area.lan_code, "area_km2": area.area_km2, "geometry_source": area.geometry_source,
                 "geometry_simplified": area.geometry_simplified,
                 "geometry": json.loads(shapely.to_geojson(shapely.from_wkb(area.geometry_wgs84)))
                 if area.geometry_wgs84 else None,
                 "children": [_area_item(c) for c in areas_repo.children(session, area.code, area.division)],
                 "links": [{"from_code": link.from_code, "from_division": link.from_division,
                            "to_code": link.to_code, "to_division": link.to_division,
                            "share_of_from": link.share_of_from, "share_of_to": link.share_of_to,
                            "relation": link.relation} for link in areas_repo.links_for(session, area.code,
                                                                                      area.division)]})
    return item


@router.get("/areas/{code}/observations", summary="Stored values for an area, with provenance")
def area_observations(request: Request, code: str, indicator: str | None = Query(None, max_length=64),
                      year: int | None = Query(None, ge=1900, le=2100), division: str | None = Query(None),
                      session: Session = Depends(get_session)) -> dict:
    area = areas_repo.get_area(session, code, division)
    min_count = request.app.state.settings.suppress_below
    cat = catalogue()
    items = []
    for o in observations_repo.observations_for_area(session, area.code, area.division, indicator=indicator,
                                                     year=year):
        hidden = o.suppressed or should_suppress(unit=o.unit, value=o.value, numerator=o.numerator,
                                                 denominator=o.denominator, min_count=min_count)
        items.append({
            "indicator": o.indicator,
            "name": cat.at[o.indicator, "name_sv"] if o.indicator in cat.index else o.indicator,
            "year": o.year, "value": None if hidden else o.value,
            "numerator": None if hidden else o.numerator, "denominator": None if hidden else o.denominator,
            "unit": o.unit, "suppressed": hidden, "estimated": o.estimated, "provisional": o.provisional,
            "provenance": {"source": o.source, "division": o.division, "year": o.year, "import_id": o.import_id},
        })
    return {"area": _area_item(area), "total": len(items), "items": items}


@router.get("/indicators", summary="The indicator catalogue")
def indicators() -> dict:
    cat = catalogue()
    return {"total": len(cat), "items": json.loads(cat.to_json(orient="records", force_ascii=False))}


@router.get("/divisions", summary="Known area divisions")
def divisions() -> dict:
    return {"items": [{"division": d, "level": lvl} for d, lvl in DIVISIONS.items()]}


def _police_item(p) -> dict:
    return {"name": p.name, "level": p.level, "level_label": LEVEL_LABELS_SV.get(p.level),
            "municipality": p.municipality, "kommun": p.kommun_code, "edition": p.edition,
            "panel_id": p.panel_id, "has_polygon": p.geometry_wgs84 is not None,
            "geometry_source": p.geometry_source, "source": p.source}


@router.get("/police-list", summary="The Police's list of vulnerable areas, one edition")
def police_list(edition: int | None = Query(None, ge=2015, le=2100), kommun: str | None = Query(None),
                geometry: bool = Query(False, description="Include polygons (GeoJSON, WGS84)"),
                format: str = Query("json", pattern="^(json|csv|xlsx)$", description="json, csv or xlsx"),
                session: Session = Depends(get_session)):
    eds = police_repo.editions(session)
    if edition is None:
        if not eds:
            return {"edition": None, "editions": [], "areas": []}
        edition = eds[-1]
    if edition not in eds:
        from handslag.errors import NotFound

        raise NotFound(f"no edition {edition} of the Police list (known: {', '.join(map(str, eds))})")
    areas = []
    for p in police_repo.police_list(session, edition, kommun):
        item = _police_item(p)
        if geometry and p.geometry_wgs84:
            item["geometry"] = json.loads(shapely.to_geojson(shapely.from_wkb(p.geometry_wgs84)))
        areas.append(item)
    counts = {lvl: sum(1 for a in areas if a["level"] == lvl) for lvl in ("utsatt", "risk", "sarskilt_utsatt")}
    if format != "json":
        frame = pd.DataFrame([{k: a[k] for k in ("edition", "name", "level", "level_label", "municipality", "kommun",
                                                 "has_polygon", "geometry_source", "source")} for a in areas])
        return _file(frame, format, f"polisens-lista-{edition}")
    return {"edition": edition, "editions": eds, "counts": counts, "areas": areas}


def _file(frame: pd.DataFrame, fmt: str, stem: str) -> Response:
    content, media = frame_to_bytes(frame, fmt)
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


@router.get("/police-list/timeline", summary="An area's level in every edition, with events")
def police_timeline(name: str = Query(..., min_length=2, max_length=100),
                    format: str = Query("json", pattern="^(json|csv|xlsx)$"),
                    session: Session = Depends(get_session)):
    rows = police_repo.timeline(session, name)
    eds = police_repo.editions(session)
    groups: dict = {}
    for r in rows:
        groups.setdefault(r.panel_id or f"{r.name}", []).append(r)
    areas = []
    for items in groups.values():
        by_edition: dict[int, list] = {}
        for r in items:
            by_edition.setdefault(r.edition, []).append(r)
        editions_out = []
        for e in eds:
            parts = by_edition.get(e, [])
            worst = max(parts, key=lambda r: police_repo.LEVEL_ORDER[r.level]) if parts else None
            entry = {"edition": e, "level": worst.level if worst else None,
                     "name": " / ".join(r.name for r in parts) if parts else None}
            if len(parts) > 1:  # the area was split in this edition
                entry["parts"] = [{"name": r.name, "level": r.level} for r in parts]
            editions_out.append(entry)
        events = police_events(editions_out)
        latest = items[-1]
        areas.append({"panel_id": latest.panel_id, "name": latest.panel_name or latest.name,
                      "municipality": latest.municipality, "editions": editions_out, "events": events})
    if format != "json":
        frame = pd.DataFrame([{"name": a["name"], "municipality": a["municipality"],
                               **{str(e["edition"]): e["level"] for e in a["editions"]}} for a in areas])
        return _file(frame, format, "polisens-lista-tidslinje")
    return {"query": name, "areas": areas}


@router.get("/imports", summary="The import log (newest first)")
def imports(limit: int = Query(50, ge=1, le=500), session: Session = Depends(get_session)) -> dict:
    return {"items": [{"id": i.id, "kind": i.kind, "source": i.source, "status": i.status,
                       "started_at": i.started_at.isoformat(), "finished_at": i.finished_at.isoformat()
                       if i.finished_at else None, "counts": {k: v for k, v in (i.counts or {}).items()
                                                              if k not in ("files",)},
                       "message": i.message} for i in recent_imports(session, limit)]}


def police_events(editions: list[dict]) -> list[dict]:
    """Events between consecutive editions: joined, left_list, moved_down, moved_up."""
    order = police_repo.LEVEL_ORDER
    events = []
    for before, after in zip(editions, editions[1:], strict=False):
        a, b = before["level"], after["level"]
        if a is None and b is not None:
            events.append({"edition": after["edition"], "event": "joined", "to": b})
        elif a is not None and b is None:
            events.append({"edition": after["edition"], "event": "left_list", "from": a})
        elif a is not None and b is not None and a != b:
            kind = "moved_down" if order[b] < order[a] else "moved_up"
            events.append({"edition": after["edition"], "event": kind, "from": a, "to": b})
    return events
