"""Operations in the store: property register, work orders, duty rosters, SLA per category, KPI definitions,
KPI values, links to partnership goals, and the per-area operations view.

Each import is one transaction and one ``imports`` row (kinds ``properties``, ``work_orders``, ``rosters``,
``kpi_values``); files are checked completely by :mod:`handslag.operations` first. Rows are upserted on their
natural key (property id; source + work order id; area + day + role; KPI + area + period), so importing a
newer export of the same system updates, and importing the same file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from handslag.errors import NotFound, Problem, ValidationFailed
from handslag.operations import (
    DEFAULT_KPIS,
    DEFAULT_SLA_HOURS,
    KpiDefinition,
    compute_kpis,
    read_kpi_values,
    read_properties,
    read_rosters,
    read_work_orders,
    roster_coverage,
    work_order_kpis,
)
from handslag.operations.work_orders import normalise_category
from handslag.surveys.tables import read_table

from .audit import record as audit_record
from .db import Database
from .models import Area, ImportLog
from .models.operations import (
    DutyShift,
    KpiGoalLink,
    KpiValue,
    OperationalKpi,
    Property,
    WorkOrder,
    WorkOrderCategory,
)
from .surveys_repo import AreaInfo, ImportReport, child_areas, file_digest, get_area, records, resolve_areas, run_import

# --- areas as polygons ------------------------------------------------------------------------------------


def areas_geodataframe(session: Session, *, levels: Sequence[str] = ("deso", "regso"),
                       divisions: Mapping[str, str] | None = None) -> gpd.GeoDataFrame:
    """Polygons of the ``areas`` table (EPSG:3006) with ``code``, ``division``, ``level``.

    Per level, the given division or else the newest division that has geometries.
    """
    divisions = dict(divisions or {})
    rows = session.execute(select(Area.code, Area.division, Area.level, Area.geometry_sweref, Area.geometry_wgs84)
                           .where(Area.level.in_(list(levels)),
                                  or_(Area.geometry_sweref.is_not(None), Area.geometry_wgs84.is_not(None)))).all()
    frame = pd.DataFrame(rows, columns=["code", "division", "level", "sweref", "wgs84"])
    if not len(frame):
        return gpd.GeoDataFrame({"code": [], "division": [], "level": []}, geometry=[], crs="EPSG:3006")
    keep = []
    for level, sub in frame.groupby("level"):
        wanted = divisions.get(level)
        if wanted is None:
            years = sub["division"].str.extract(r"(\d{4})")[0].astype(float).fillna(0)
            wanted = sub["division"].iloc[int(np.argmax(years.to_numpy()))]
        keep.append(sub[sub["division"] == wanted])
    frame = pd.concat(keep, ignore_index=True)
    geoms = []
    for sweref, wgs in zip(frame["sweref"], frame["wgs84"], strict=True):
        if sweref is not None:
            geoms.append(shapely.from_wkb(sweref))
        else:
            geoms.append(gpd.GeoSeries([shapely.from_wkb(wgs)], crs="EPSG:4326").to_crs("EPSG:3006").iloc[0])
    return gpd.GeoDataFrame(frame[["code", "division", "level"]], geometry=geoms, crs="EPSG:3006")


def _area_checker(session: Session, division: str | None, found: dict[str, AreaInfo]):
    def check(codes: list[str]) -> dict[str, str]:
        ok, bad = resolve_areas(session, codes, division=division)
        found.update(ok)
        return bad
    return check


def _levels_for(info: AreaInfo) -> dict[str, str | None]:
    out: dict[str, str | None] = {"deso_code": None, "deso_division": None, "regso_code": None,
                                  "regso_division": None}
    if info.level == "deso":
        out.update(deso_code=info.code, deso_division=info.division)
        if info.parent_code:
            out.update(regso_code=info.parent_code, regso_division=info.parent_division)
    elif info.level == "regso":
        out.update(regso_code=info.code, regso_division=info.division)
    return out


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


# --- properties -------------------------------------------------------------------------------------------


def import_properties(db: Database, path: str | Path, *, crs: str | None = None, allow_unassigned: bool = False,
                      user: str | None = None, display_name: str | None = None, sheet: str | int | None = None,
                      divisions: Mapping[str, str] | None = None) -> ImportReport:
    """Import a property register; every property is placed in DeSO and RegSO by point-in-polygon."""
    path = Path(path)
    name = display_name or path.name
    digest = file_digest(path, "properties", crs, allow_unassigned, sheet, sorted((divisions or {}).items()))

    def work(session: Session, log: ImportLog) -> dict[str, Any]:
        areas = areas_geodataframe(session, divisions=divisions)
        if not len(areas):
            raise ValidationFailed([Problem(name, None, None, "no area polygons are loaded; import the area "
                                            "geometries (data import-snapshot) first")], what="property register")
        parsed = read_properties(path, areas=areas, crs=crs, allow_unassigned=allow_unassigned, display_name=name,
                                 sheet=sheet)
        frame = parsed.frame
        existing = dict(session.execute(select(Property.property_ref, Property.id).where(
            Property.property_ref.in_(frame["property_ref"].tolist()))).all())
        cols = ["property_ref", "address", "owner", "flats", "x_sweref", "y_sweref", "lon", "lat", "deso_code",
                "deso_division", "regso_code", "regso_division"]
        new, changed = [], []
        for rec in frame[cols].astype(object).to_dict("records"):
            rec = {k: _clean(v) for k, v in rec.items()}
            rec["import_id"] = log.id
            if rec["property_ref"] in existing:
                changed.append({"id": existing[rec["property_ref"]], **rec})
            else:
                new.append(rec)
        if new:
            session.execute(insert(Property), new)
        if changed:
            session.execute(update(Property), changed)
        counts = {**parsed.counts, "inserted": len(new), "updated": len(changed)}
        if len(parsed.unassigned):
            counts["_notes"] = [f"{len(parsed.unassigned)} properties lie outside every loaded area and were "
                                "imported without area (rows " + ", ".join(str(r) for r in
                                                                            parsed.unassigned["row"][:20]) + ")"]
        return counts

    return run_import(db, kind="properties", source=name, digest=digest, user=user, work=work)


def list_properties(session: Session, *, area_code: str | None = None, division: str | None = None) -> pd.DataFrame:
    stmt = select(Property.property_ref, Property.address, Property.owner, Property.flats, Property.lon, Property.lat,
                  Property.deso_code, Property.regso_code, Property.deso_division, Property.regso_division)
    if area_code:
        stmt = stmt.where(_property_area_clause(get_area(session, area_code, division)))
    rows = session.execute(stmt.order_by(Property.property_ref)).all()
    return pd.DataFrame(rows, columns=["property_id", "address", "owner", "flats", "lon", "lat", "deso_code",
                                       "regso_code", "deso_division", "regso_division"])


def _property_area_clause(area: AreaInfo):
    return or_(and_(Property.deso_code == area.code, Property.deso_division == area.division),
               and_(Property.regso_code == area.code, Property.regso_division == area.division))


def flats_in_area(session: Session, area: AreaInfo) -> int | None:
    values = session.scalars(select(Property.flats).where(_property_area_clause(area))).all()
    known = [v for v in values if v is not None]
    return int(sum(known)) if known else None


# --- SLA per category -------------------------------------------------------------------------------------


def sla_hours(session: Session) -> dict[str, float]:
    return dict(session.execute(select(WorkOrderCategory.code, WorkOrderCategory.sla_hours)).all())


def set_sla(session: Session, category: str, hours: float, *, name_sv: str | None = None) -> dict[str, Any]:
    """Set the promised time to resolve (hours) for a work-order category."""
    if not hours or hours <= 0:
        raise ValueError("SLA hours must be above 0")
    code = normalise_category(category)
    row = session.scalar(select(WorkOrderCategory).where(WorkOrderCategory.code == code))
    if row is None:
        row = WorkOrderCategory(code=code, name_sv=name_sv, sla_hours=float(hours))
        session.add(row)
    else:
        row.sla_hours = float(hours)
        if name_sv:
            row.name_sv = name_sv
    session.flush()
    audit_record(session, actor="system", action="set_sla", entity="operations_category", entity_id=row.code,
                 after={"sla_hours": row.sla_hours})
    return {"category": row.code, "name_sv": row.name_sv, "sla_hours": row.sla_hours}


def list_categories(session: Session) -> list[dict[str, Any]]:
    stored = {r.code: r for r in session.scalars(select(WorkOrderCategory))}
    used = set(session.scalars(select(WorkOrder.category).distinct()))
    out = []
    for code in sorted(set(stored) | used):
        row = stored.get(code)
        out.append({"category": code, "name_sv": row.name_sv if row else None,
                    "sla_hours": row.sla_hours if row else DEFAULT_SLA_HOURS, "configured": row is not None})
    return out


# --- work orders ------------------------------------------------------------------------------------------


def import_work_orders(db: Database, path: str | Path, *, source: str = "default", crs: str | None = None,
                       user: str | None = None, display_name: str | None = None, division: str | None = None,
                       sheet: str | int | None = None) -> ImportReport:
    """Import work orders from one system (``source``); rows are upserted on (source, work order id)."""
    path = Path(path)
    name = display_name or path.name
    digest = file_digest(path, "work_orders", source, crs, division, sheet)

    def work(session: Session, log: ImportLog) -> dict[str, Any]:
        found: dict[str, AreaInfo] = {}
        props = pd.DataFrame(session.execute(select(Property.property_ref, Property.deso_code, Property.deso_division,
                                                    Property.regso_code, Property.regso_division)).all(),
                             columns=["property_ref", "deso_code", "deso_division", "regso_code", "regso_division"])
        parsed = read_work_orders(path, area_check=_area_checker(session, division, found), properties=props,
                                  areas=lambda: areas_geodataframe(session), crs=crs, display_name=name, sheet=sheet)
        frame = parsed.frame
        existing = {}
        refs = frame["order_ref"].tolist()
        for start in range(0, len(refs), 900):
            existing.update(session.execute(select(WorkOrder.order_ref, WorkOrder.id).where(
                WorkOrder.source == source, WorkOrder.order_ref.in_(refs[start:start + 900]))).all())
        cols = ["order_ref", "category", "reported_at", "resolved_at", "property_ref", "x_sweref", "y_sweref",
                "area_code", "deso_code", "deso_division", "regso_code", "regso_division"]
        new, changed = [], []
        for rec in frame[cols].astype(object).to_dict("records"):
            rec = {k: _clean(v) for k, v in rec.items()}
            if rec["area_code"]:
                info = found[rec["area_code"]]
                rec["area_code"], rec["area_division"] = info.code, info.division
                rec.update(_levels_for(info))
            else:
                rec["area_division"] = None
            rec.update(source=source, import_id=log.id)
            if rec["order_ref"] in existing:
                changed.append({"id": existing[rec["order_ref"]], **rec})
            else:
                new.append(rec)
        if new:
            session.execute(insert(WorkOrder), new)
        if changed:
            session.execute(update(WorkOrder), changed)
        return {**parsed.counts, "inserted": len(new), "updated": len(changed), "source": source}

    return run_import(db, kind="work_orders", source=f"{name} ({source})", digest=digest, user=user, work=work)


def _orders_for_area(session: Session, area: AreaInfo) -> pd.DataFrame:
    clause = or_(and_(WorkOrder.deso_code == area.code, WorkOrder.deso_division == area.division),
                 and_(WorkOrder.regso_code == area.code, WorkOrder.regso_division == area.division),
                 and_(WorkOrder.area_code == area.code, WorkOrder.area_division == area.division))
    rows = session.execute(select(WorkOrder.category, WorkOrder.reported_at, WorkOrder.resolved_at)
                           .where(clause)).all()
    frame = pd.DataFrame(rows, columns=["category", "reported_at", "resolved_at"])
    frame["reported_at"] = pd.to_datetime(frame["reported_at"])
    frame["resolved_at"] = pd.to_datetime(frame["resolved_at"])
    return frame.assign(area_code=area.code)


# --- rosters ----------------------------------------------------------------------------------------------


def import_rosters(db: Database, path: str | Path, *, user: str | None = None, display_name: str | None = None,
                   division: str | None = None, sheet: str | int | None = None) -> ImportReport:
    """Import duty rosters (planned/covered hours per area, day and role); upserted on that key."""
    path = Path(path)
    name = display_name or path.name
    digest = file_digest(path, "rosters", division, sheet)

    def work(session: Session, log: ImportLog) -> dict[str, Any]:
        found: dict[str, AreaInfo] = {}
        parsed = read_rosters(path, area_check=_area_checker(session, division, found), display_name=name,
                              sheet=sheet)
        frame = parsed.frame
        new, changed = 0, 0
        for rec in frame.astype(object).to_dict("records"):
            info = found[rec["area_code"]]
            row = session.scalar(select(DutyShift).where(DutyShift.area_code == info.code,
                                                         DutyShift.division == info.division,
                                                         DutyShift.day == rec["day"], DutyShift.role == rec["role"]))
            if row is None:
                session.add(DutyShift(area_code=info.code, division=info.division, day=rec["day"], role=rec["role"],
                                      planned_hours=float(rec["planned_hours"]),
                                      covered_hours=float(rec["covered_hours"]), import_id=log.id))
                new += 1
            else:
                row.planned_hours = float(rec["planned_hours"])
                row.covered_hours = float(rec["covered_hours"])
                row.import_id = log.id
                changed += 1
        session.flush()
        return {**parsed.counts, "inserted": new, "updated": changed}

    return run_import(db, kind="rosters", source=name, digest=digest, user=user, work=work)


def _shifts_for_area(session: Session, area: AreaInfo) -> pd.DataFrame:
    pairs = [(area.code, area.division)] + [(c.code, c.division) for c in child_areas(session, area)]
    clause = or_(*[and_(DutyShift.area_code == c, DutyShift.division == d) for c, d in pairs])
    rows = session.execute(select(DutyShift.day, DutyShift.role, DutyShift.planned_hours, DutyShift.covered_hours)
                           .where(clause)).all()
    frame = pd.DataFrame(rows, columns=["day", "role", "planned_hours", "covered_hours"])
    return frame.assign(area_code=area.code)


# --- KPI definitions, values, goal links ------------------------------------------------------------------


def _kpi_row_to_def(row: OperationalKpi) -> KpiDefinition:
    return KpiDefinition(code=row.code, name_sv=row.name_sv, unit=row.unit, measure=row.measure, factor=row.factor,
                         name_en=row.name_en, direction=row.direction,
                         categories=tuple(row.categories.split("|")) if row.categories else (), role=row.role,
                         target=row.target, description=row.description or "")


def ensure_default_kpis(session: Session) -> None:
    """Store the eight superförvaltning KPI definitions if no definitions exist yet."""
    if session.scalar(select(OperationalKpi.id).limit(1)) is None:
        for d in DEFAULT_KPIS:
            save_kpi(session, d)


def save_kpi(session: Session, definition: KpiDefinition, *, active: bool = True) -> OperationalKpi:
    """Create or update a KPI definition (by code)."""
    row = session.scalar(select(OperationalKpi).where(OperationalKpi.code == definition.code))
    if row is None:
        row = OperationalKpi(code=definition.code)
        session.add(row)
    row.factor = definition.factor
    row.name_sv = definition.name_sv
    row.name_en = definition.name_en
    row.unit = definition.unit
    row.direction = definition.direction
    row.measure = definition.measure
    row.categories = "|".join(definition.categories) or None
    row.role = definition.role
    row.target = definition.target
    row.description = definition.description or None
    row.active = active
    session.flush()
    audit_record(session, actor="system", action="save_kpi", entity="operational_kpi", entity_id=definition.code)
    return row


def list_kpis(session: Session, *, active_only: bool = True) -> list[KpiDefinition]:
    ensure_default_kpis(session)
    stmt = select(OperationalKpi).order_by(OperationalKpi.factor, OperationalKpi.code)
    if active_only:
        stmt = stmt.where(OperationalKpi.active.is_(True))
    return [_kpi_row_to_def(r) for r in session.scalars(stmt)]


def _kpi_row(session: Session, code: str) -> OperationalKpi:
    ensure_default_kpis(session)
    row = session.scalar(select(OperationalKpi).where(OperationalKpi.code == code))
    if row is None:
        raise NotFound(f"KPI {code!r} does not exist")
    return row


def import_kpi_values(db: Database, path: str | Path, *, user: str | None = None, display_name: str | None = None,
                      division: str | None = None, sheet: str | int | None = None) -> ImportReport:
    """Import manually reported KPI values (upserted on KPI, area and period)."""
    path = Path(path)
    name = display_name or path.name
    digest = file_digest(path, "kpi_values", division, sheet)

    def work(session: Session, log: ImportLog) -> dict[str, Any]:
        ensure_default_kpis(session)
        kpis = {r.code: r for r in session.scalars(select(OperationalKpi))}
        found: dict[str, AreaInfo] = {}
        table = read_table(path, sheet=sheet, display_name=name)
        frame = read_kpi_values(table=table, known_kpis=kpis, area_check=_area_checker(session, division, found))
        computed = [k for k in frame["kpi"].unique() if kpis[k].measure != "manual"]
        if computed:
            rows = frame[frame["kpi"].isin(computed)]["row"].tolist()
            raise ValidationFailed([Problem(table.file, int(r), "kpi", "this KPI is computed from work orders or "
                                            "rosters; it cannot be reported by hand") for r in rows[:200]],
                                   what="KPI values")
        new = changed = 0
        for rec in frame.astype(object).to_dict("records"):
            info = found[rec["area_code"]]
            kpi = kpis[rec["kpi"]]
            row = session.scalar(select(KpiValue).where(KpiValue.kpi_id == kpi.id, KpiValue.area_code == info.code,
                                                        KpiValue.division == info.division,
                                                        KpiValue.period == rec["period"]))
            values = {"value": _clean(rec["value"]), "numerator": _clean(rec["numerator"]),
                      "denominator": _clean(rec["denominator"]), "note": _clean(rec["note"]), "entered_by": user,
                      "import_id": log.id, "source": "manual"}
            if row is None:
                session.add(KpiValue(kpi_id=kpi.id, area_code=info.code, division=info.division,
                                     period=rec["period"], **values))
                new += 1
            else:
                for k, v in values.items():
                    setattr(row, k, v)
                changed += 1
        session.flush()
        return {"rows": len(frame), "inserted": new, "updated": changed}

    return run_import(db, kind="kpi_values", source=name, digest=digest, user=user, work=work)


def record_kpi_value(session: Session, code: str, *, area_code: str, period: str, value: float,
                     division: str | None = None, numerator: float | None = None, denominator: float | None = None,
                     note: str | None = None, user: str | None = None) -> dict[str, Any]:
    """Record one manual KPI value (replacing an earlier value for the same area and period)."""
    from handslag.operations import normalise_period

    kpi = _kpi_row(session, code)
    if kpi.measure != "manual":
        raise ValueError(f"KPI {code} is computed ({kpi.measure}); it cannot be entered by hand")
    norm = normalise_period(period)
    if norm is None:
        raise ValueError("period must be YYYY, YYYYQn or YYYY-MM")
    info = get_area(session, area_code, division)
    row = session.scalar(select(KpiValue).where(KpiValue.kpi_id == kpi.id, KpiValue.area_code == info.code,
                                                KpiValue.division == info.division, KpiValue.period == norm))
    if row is None:
        row = KpiValue(kpi_id=kpi.id, area_code=info.code, division=info.division, period=norm)
        session.add(row)
    row.value, row.numerator, row.denominator, row.note = float(value), numerator, denominator, note
    row.entered_by, row.source = user, "manual"
    session.flush()
    audit_record(session, actor="system", action="record_kpi_value", entity="operational_kpi", entity_id=code,
                 after={"area_code": info.code, "period": norm, "value": row.value})
    return {"kpi": code, "area_code": info.code, "division": info.division, "period": norm, "value": row.value}


def link_kpi_to_goal(session: Session, code: str, goal_id: int, *, area_code: str | None = None,
                     division: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Link a KPI (optionally for one area) to a partnership goal id (of the goals domain)."""
    kpi = _kpi_row(session, code)
    info = get_area(session, area_code, division) if area_code else None
    stmt = select(KpiGoalLink).where(KpiGoalLink.kpi_id == kpi.id, KpiGoalLink.goal_id == int(goal_id))
    stmt = stmt.where(KpiGoalLink.area_code == info.code, KpiGoalLink.division == info.division) if info else \
        stmt.where(KpiGoalLink.area_code.is_(None))
    row = session.scalar(stmt)
    if row is None:
        row = KpiGoalLink(kpi_id=kpi.id, goal_id=int(goal_id), area_code=info.code if info else None,
                          division=info.division if info else None, note=note)
        session.add(row)
    elif note:
        row.note = note
    session.flush()
    audit_record(session, actor="system", action="link_goal", entity="operational_kpi", entity_id=code,
                 after={"goal_id": goal_id, "area_code": area_code})
    return {"kpi": code, "goal_id": row.goal_id, "area_code": row.area_code, "division": row.division,
            "note": row.note}


def goal_links(session: Session, *, area: AreaInfo | None = None) -> dict[str, list[int]]:
    """KPI code → linked goal ids (links for all areas, plus those for ``area``)."""
    stmt = select(OperationalKpi.code, KpiGoalLink.goal_id, KpiGoalLink.area_code, KpiGoalLink.division).join(
        OperationalKpi, OperationalKpi.id == KpiGoalLink.kpi_id)
    out: dict[str, list[int]] = {}
    for code, goal, acode, adiv in session.execute(stmt):
        if acode is None or (area is not None and acode == area.code and adiv == area.division):
            out.setdefault(code, []).append(goal)
    return {k: sorted(set(v)) for k, v in out.items()}


# --- per-area view ----------------------------------------------------------------------------------------


def area_operations_tables(session: Session, code: str, *, division: str | None = None, start: str | None = None,
                           end: str | None = None, by_category: bool = False, as_of: Any = None
                           ) -> dict[str, pd.DataFrame]:
    """Work-order KPIs, roster coverage and the KPI table for one area (RegSO includes its DeSO)."""
    area = get_area(session, code, division)
    orders = _orders_for_area(session, area)
    slas = sla_hours(session)
    wo = work_order_kpis(orders, by_category=by_category, sla_hours=slas, as_of=as_of, start=start, end=end)
    shifts = _shifts_for_area(session, area)
    cov = roster_coverage(shifts, start=start, end=end)
    kpi_rows = session.execute(select(OperationalKpi.code, KpiValue.period, KpiValue.value, KpiValue.numerator,
                                      KpiValue.denominator).join(OperationalKpi, OperationalKpi.id == KpiValue.kpi_id)
                               .where(KpiValue.area_code == area.code, KpiValue.division == area.division)).all()
    manual = pd.DataFrame(kpi_rows, columns=["kpi", "period", "value", "numerator", "denominator"]).assign(
        area_code=area.code)
    if start:
        manual = manual[manual["period"].str[:7] >= start[:7]] if len(start) >= 7 else manual[
            manual["period"].str[:4] >= start[:4]]
    if end:
        manual = manual[manual["period"].str[:len(end)] <= end]
    flats = flats_in_area(session, area)
    kpis = compute_kpis(list_kpis(session), work_orders=orders, shifts=shifts, manual=manual,
                        flats={area.code: flats} if flats else None, sla_hours=slas, as_of=as_of, start=start, end=end)
    links = goal_links(session, area=area)
    kpis["goal_ids"] = [links.get(k, []) for k in kpis["kpi"]]
    return {"work_orders": wo, "rosters": cov, "kpis": kpis}


def area_operations(session: Session, code: str, **kwargs) -> dict[str, Any]:
    """JSON-ready operations view of one area."""
    area = get_area(session, code, kwargs.get("division"))
    tables = area_operations_tables(session, code, **kwargs)
    flats = flats_in_area(session, area)
    return {"area": {"code": area.code, "division": area.division, "level": area.level, "name": area.name},
            "flats": flats, "sla_hours": {"default": DEFAULT_SLA_HOURS, **sla_hours(session)},
            "work_orders": records(tables["work_orders"].drop(columns=["area_code"])),
            "rosters": records(tables["rosters"].drop(columns=["area_code"])),
            "kpis": records(tables["kpis"].drop(columns=["area_code"]))}
