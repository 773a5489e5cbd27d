"""The Police's list of vulnerable areas: writes and queries."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .models import PoliceArea, PoliceAreaOverlap

LEVEL_ORDER = {"utsatt": 1, "risk": 2, "sarskilt_utsatt": 3}


def replace_editions(session: Session, police: pd.DataFrame, overlaps: pd.DataFrame,
                     import_id: int | None) -> dict[str, int]:
    """Replace the editions present in ``police`` (and their overlays) with these rows."""
    editions = sorted({int(e) for e in police["edition"]})
    if not editions:
        return {"police_areas": 0, "police_overlaps": 0}
    old_ids = select(PoliceArea.id).where(PoliceArea.edition.in_(editions))
    session.execute(delete(PoliceAreaOverlap).where(PoliceAreaOverlap.police_area_id.in_(old_ids)))
    session.execute(delete(PoliceArea).where(PoliceArea.edition.in_(editions)))
    rows = police.astype(object).where(police.notna(), None).to_dict("records")
    objs = []
    for row in rows:
        objs.append(PoliceArea(
            edition=int(row["edition"]), panel_id=row["panel_id"], special_id=row["special_id"],
            name=row["name"], panel_name=row["panel_name"], level=row["level"],
            municipality=row["municipality"], kommun_code=row["kommun_code"],
            geometry_wgs84=row["geometry_wgs84"], geometry_sweref=row["geometry_sweref"],
            geometry_source=row["geometry_source"], source=row["source"], import_id=import_id))
    session.add_all(objs)
    session.flush()
    by_key = {(o.edition, o.name): o.id for o in objs}
    n_overlaps = 0
    if len(overlaps):
        records = [{"police_area_id": by_key[(int(e), n)], "area_code": c, "division": d,
                    "share_of_area": float(a), "share_of_police_area": float(p)}
                   for e, n, c, d, a, p in overlaps[["edition", "name", "area_code", "division", "share_of_area",
                                                     "share_of_police_area"]].itertuples(index=False)
                   if (int(e), n) in by_key]
        session.execute(PoliceAreaOverlap.__table__.insert(), records)
        n_overlaps = len(records)
    return {"police_areas": len(objs), "police_overlaps": n_overlaps}


def editions(session: Session) -> list[int]:
    return list(session.scalars(select(PoliceArea.edition).distinct().order_by(PoliceArea.edition)))


def police_list(session: Session, edition: int, kommun: str | None = None) -> list[PoliceArea]:
    stmt = select(PoliceArea).where(PoliceArea.edition == edition)
    if kommun:
        stmt = stmt.where(PoliceArea.kommun_code == kommun)
    return list(session.scalars(stmt.order_by(PoliceArea.municipality, PoliceArea.name)))


def _fold(text: str) -> str:
    return " ".join(text.lower().replace("/", " / ").split())


def timeline(session: Session, name: str) -> list[PoliceArea]:
    """Every edition's row for the area called ``name`` (matching edition names and the panel name)."""
    like = f"%{name.lower()}%"
    hits = list(session.scalars(select(PoliceArea).where(
        (func.lower(PoliceArea.name).like(like)) | (func.lower(PoliceArea.panel_name).like(like)))))
    panel_ids = {h.panel_id for h in hits if h.panel_id is not None}
    if panel_ids:
        hits += list(session.scalars(select(PoliceArea).where(PoliceArea.panel_id.in_(panel_ids))))
    unique = {h.id: h for h in hits}
    return sorted(unique.values(), key=lambda a: (a.panel_id or 0, a.edition))


def counts(session: Session) -> pd.DataFrame:
    rows = session.execute(select(PoliceArea.edition, PoliceArea.level, func.count())
                           .group_by(PoliceArea.edition, PoliceArea.level)).all()
    frame = pd.DataFrame(rows, columns=["edition", "level", "n"])
    if frame.empty:
        return frame
    return frame.pivot(index="edition", columns="level", values="n").fillna(0).astype(int).reset_index()


def areas_overlapping(session: Session, code: str, division: str) -> list[tuple[PoliceArea, float]]:
    rows = session.execute(select(PoliceArea, PoliceAreaOverlap.share_of_area).join(
        PoliceAreaOverlap, PoliceAreaOverlap.police_area_id == PoliceArea.id).where(
        PoliceAreaOverlap.area_code == code, PoliceAreaOverlap.division == division)
        .order_by(PoliceArea.edition)).all()
    return [(r[0], float(r[1])) for r in rows]
