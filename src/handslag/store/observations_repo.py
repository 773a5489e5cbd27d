"""Observations (tidy statistics): writes and queries."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ._upsert import upsert
from .models import Area, Observation

OBS_COLUMNS = ["area_code", "division", "indicator", "year", "value", "numerator", "denominator", "unit",
               "source", "suppressed", "provisional", "estimated"]
KEY = ["area_code", "division", "indicator", "year", "source"]


def upsert_observations(session: Session, frame: pd.DataFrame, import_id: int | None = None) -> int:
    frame = frame.copy()
    for flag in ("suppressed", "provisional", "estimated"):
        frame[flag] = frame[flag].fillna(False).astype(bool) if flag in frame.columns else False
    for col in ("numerator", "denominator", "unit"):
        if col not in frame.columns:
            frame[col] = None
    frame["year"] = frame["year"].astype(int)
    frame["import_id"] = import_id
    sub = frame[[*OBS_COLUMNS, "import_id"]].astype(object)
    sub = sub.where(pd.notna(sub), None)
    return upsert(session, Observation.__table__, sub.to_dict("records"), KEY)


def observations_frame(session: Session, *, area_codes: list[str] | None = None, kommun: str | None = None,
                       division: str | None = None, level: str | None = None,
                       indicators: list[str] | None = None, years: list[int] | None = None,
                       source: str | None = None) -> pd.DataFrame:
    """Observations joined with their area's level, kommun and name."""
    stmt = select(Observation.area_code, Observation.division, Observation.indicator, Observation.year,
                  Observation.value, Observation.numerator, Observation.denominator, Observation.unit,
                  Observation.source, Observation.suppressed, Observation.estimated, Observation.import_id,
                  Area.level, Area.kommun_code, Area.name, Area.parent_code).join(
        Area, and_(Area.code == Observation.area_code, Area.division == Observation.division))
    if area_codes is not None:
        stmt = stmt.where(Observation.area_code.in_(area_codes))
    if kommun:
        stmt = stmt.where(Area.kommun_code == kommun)
    if division:
        stmt = stmt.where(Observation.division == division)
    if level:
        stmt = stmt.where(Area.level == level)
    if indicators:
        stmt = stmt.where(Observation.indicator.in_(indicators))
    if years:
        stmt = stmt.where(Observation.year.in_(years))
    if source:
        stmt = stmt.where(Observation.source == source)
    rows = session.execute(stmt).all()
    return pd.DataFrame(rows, columns=["area_code", "division", "indicator", "year", "value", "numerator",
                                       "denominator", "unit", "source", "suppressed", "estimated", "import_id",
                                       "level", "kommun_code", "name", "parent_code"])


def observations_for_area(session: Session, code: str, division: str, *, indicator: str | None = None,
                          year: int | None = None) -> list[Observation]:
    stmt = select(Observation).where(Observation.area_code == code, Observation.division == division)
    if indicator:
        stmt = stmt.where(Observation.indicator == indicator)
    if year:
        stmt = stmt.where(Observation.year == year)
    return list(session.scalars(stmt.order_by(Observation.indicator, Observation.year, Observation.source)))


def counts_by_source(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Observation.source, Observation.division, func.count())
                           .group_by(Observation.source, Observation.division)
                           .order_by(Observation.source, Observation.division)).all()
    return pd.DataFrame(rows, columns=["source", "division", "observations"])
