"""Repository of the goals domain: partnerships, goals, measurements, activities, contributions.

Every write checks the version it was based on (stale → :class:`~handslag.errors.Conflict`), records an
audit entry in the same transaction, and deletes softly. Input is validated with the pydantic models of
:mod:`handslag.goals.schemas` (also after merging a patch onto the current state) and against the store
(referenced partnerships, organisations, goals exist and belong together); problems are raised as
:class:`~handslag.errors.ValidationFailed` before anything is written.

Statistic-linked goals get their actuals from ``observations``: :func:`refresh_statistic_goals`
(call :func:`on_statistics_imported` after an import). The gap-to-parity adapter :func:`compute_gap`
assembles rates and denominators for :func:`handslag.goals.gap.gap_to_parity`.
"""

from __future__ import annotations

import copy
import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from handslag.cache import ResultCache
from handslag.errors import Conflict, NotFound, Problem, ValidationFailed
from handslag.goals import demo, excel
from handslag.goals import gap as gapcore
from handslag.goals.periods import parse_period
from handslag.goals.progress import GoalSpec, StatusRule, evaluate
from handslag.goals.schemas import (
    ActivityIn,
    AreaRef,
    ContributionIn,
    GoalIn,
    MeasurementIn,
    OrganisationIn,
    PartnershipIn,
    area_kind,
)
from handslag.goals.vocab import DEFAULT_AGGREGATION, Aggregation, GoalKind, Measure, MeasurementState, Unit
from handslag.goals.workflow import WorkflowError, check_editable, transition

from .audit import jsonable, record
from .imports_repo import data_stamp
from .models.base import utcnow
from .models.core import Area, Observation, PoliceArea, PoliceAreaOverlap
from .models.goals import (
    Activity,
    ActivityGoal,
    Contribution,
    Goal,
    Measurement,
    Organisation,
    Partnership,
    PartnershipArea,
    PartnershipMember,
)

SYSTEM_STATISTICS = "system:statistics"
MAX_ATTACHMENT = 10 * 1024 * 1024

ENTITIES: dict[str, type] = {"organisation": Organisation, "partnership": Partnership, "goal": Goal,
                             "measurement": Measurement, "activity": Activity, "contribution": Contribution}


@dataclass
class Page:
    items: list[dict]
    total: int
    limit: int
    offset: int

    def as_dict(self) -> dict:
        return {"items": self.items, "total": self.total, "limit": self.limit, "offset": self.offset}


# ==== helpers ============================================================================================

def _problem(column: str | None, reason: str, file: str = "request") -> Problem:
    return Problem(file=file, row=None, column=column, reason=reason)


def validation_problems(exc: ValidationError, *, file: str = "request", row: int | None = None,
                        sheet: str | None = None, columns: dict[str, str] | None = None) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ())]
        column = ".".join(loc) or None
        if columns and loc and loc[0] in columns:
            column = columns[loc[0]]
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        out.append(Problem(file=file, row=row, column=column, reason=msg, sheet=sheet))
    return out


def _validate(model: type[BaseModel], data: dict) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(validation_problems(exc), what=model.__name__.removesuffix("In").lower()) from None


def _get(session: Session, model: type, entity_id: int, *, include_deleted: bool = False):
    obj = session.get(model, entity_id)
    if obj is None or (obj.deleted_at is not None and not include_deleted):
        name = next(k for k, v in ENTITIES.items() if v is model)
        raise NotFound(f"{name} {entity_id} does not exist")
    return obj


def _check_version(entity: str, obj: Any, expected: int | None) -> None:
    if expected is not None and obj.version != expected:
        raise Conflict(f"{entity} {obj.id} is at version {obj.version}, but the change was based on version "
                       f"{expected}; reload it and try again")


def _flush(session: Session, entity: str, obj: Any) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(f"{entity} {obj.id} was changed by someone else at the same time; reload it and try "
                       "again") from None


def _meta(o: Any) -> dict:
    return {"id": o.id, "version": o.version, "created_at": o.created_at, "created_by": o.created_by,
            "updated_at": o.updated_at, "updated_by": o.updated_by, "deleted_at": o.deleted_at}


def _in_part(model: type[BaseModel], out: dict) -> dict:
    return {k: out[k] for k in model.model_fields if k in out}


def _paginate(session: Session, stmt: Select, limit: int, offset: int, to_dict: Callable[[Any], dict]) -> Page:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.limit(limit).offset(offset)).all()
    return Page([to_dict(r) for r in rows], total, limit, offset)


def _active(model: type, include_deleted: bool) -> Any:
    return True if include_deleted else model.deleted_at.is_(None)


def _exists(session: Session, model: type, entity_id: int | None) -> bool:
    if entity_id is None:
        return False
    obj = session.get(model, entity_id)
    return obj is not None and obj.deleted_at is None


def _member_ids(session: Session, partnership_id: int) -> set[int]:
    return set(session.scalars(select(PartnershipMember.organisation_id)
                               .where(PartnershipMember.partnership_id == partnership_id)))


def _create(session: Session, entity: str, obj: Any, actor: str, context: dict | None,
            out: Callable[[Any], dict]) -> dict:
    obj.created_by = actor
    obj.created_at = utcnow()
    session.add(obj)
    session.flush()
    after = out(obj)
    record(session, actor=actor, action="create", entity=entity, entity_id=obj.id, after=after,
           version=obj.version, context=context)
    return after


def _apply_update(session: Session, entity: str, obj: Any, expected_version: int | None, patch: dict,
                  in_model: type[BaseModel], out: Callable[[Any], dict], apply: Callable[[Any, BaseModel], None],
                  actor: str, context: dict | None, check: Callable[[BaseModel], list[Problem]] | None = None,
                  action: str = "update") -> dict:
    _check_version(entity, obj, expected_version)
    before = out(obj)
    current = _in_part(in_model, before)
    data = _validate(in_model, {**current, **patch})
    if check is not None and (problems := check(data)):
        raise ValidationFailed(problems, what=entity)
    if jsonable(_validate(in_model, current).model_dump()) == jsonable(data.model_dump()):
        return before  # nothing changed: no new version, no audit entry
    with session.no_autoflush:  # one flush, so the version goes up by exactly one
        obj.updated_at = utcnow()
        obj.updated_by = actor
        apply(obj, data)
    _flush(session, entity, obj)
    after = out(obj)
    record(session, actor=actor, action=action, entity=entity, entity_id=obj.id, before=before, after=after,
           version=obj.version, context=context)
    return after


def _soft_delete(session: Session, entity: str, obj: Any, actor: str, context: dict | None,
                 out: Callable[[Any], dict], expected_version: int | None = None) -> None:
    _check_version(entity, obj, expected_version)
    if obj.deleted_at is not None:
        return
    before = out(obj)
    obj.deleted_at = utcnow()
    obj.deleted_by = actor
    _flush(session, entity, obj)
    record(session, actor=actor, action="delete", entity=entity, entity_id=obj.id, before=before,
           after=out(obj), version=obj.version, context=context)


def _set_fields(obj: Any, data: BaseModel, skip: Iterable[str] = ()) -> None:
    skip = set(skip)
    for key, value in data.model_dump().items():
        if key not in skip and hasattr(type(obj), key):
            setattr(obj, key, value)


# ==== visibility =========================================================================================

#: Roles that see only the partnerships their own organisation is a member of.
MEMBER_SCOPED_ROLES = frozenset({"partner_contributor"})


@dataclass(frozen=True)
class Visibility:
    """A reader limited to the partnerships where ``organisation_id`` is a member, and to their goals,
    measurements, activities and contributions. ``visibility=None`` (the default everywhere) means no limit.
    A limited reader without an organisation sees nothing. What the reader may not see does not exist for
    them: reads answer :class:`~handslag.errors.NotFound`, lists leave it out."""

    organisation_id: int | None


def visibility_for(role: str | None, organisation_id: int | None) -> Visibility | None:
    """The visibility of a user: limited to their organisation's partnerships for :data:`MEMBER_SCOPED_ROLES`."""
    return Visibility(organisation_id) if role in MEMBER_SCOPED_ROLES else None


def _visible_partnerships(visibility: Visibility) -> Select:
    """Ids of the partnerships a limited reader may see (a subquery)."""
    if visibility.organisation_id is None:
        return select(PartnershipMember.partnership_id).where(false())
    return select(PartnershipMember.partnership_id).where(
        PartnershipMember.organisation_id == visibility.organisation_id)


def _visible_goals(visibility: Visibility) -> Select:
    return select(Goal.id).where(Goal.partnership_id.in_(_visible_partnerships(visibility)))


def is_visible(session: Session, visibility: Visibility | None, partnership_id: int | None) -> bool:
    if visibility is None:
        return True
    if partnership_id is None or visibility.organisation_id is None:
        return False
    return session.scalar(select(func.count()).select_from(PartnershipMember).where(
        PartnershipMember.partnership_id == partnership_id,
        PartnershipMember.organisation_id == visibility.organisation_id)) > 0


def _check_visible(session: Session, visibility: Visibility | None, partnership_id: int | None, entity: str,
                   entity_id: int) -> None:
    if not is_visible(session, visibility, partnership_id):
        raise NotFound(f"{entity} {entity_id} does not exist")


def _partnership_of(session: Session, obj: Any) -> int | None:
    if isinstance(obj, Measurement):
        return session.scalar(select(Goal.partnership_id).where(Goal.id == obj.goal_id))
    return obj.id if isinstance(obj, Partnership) else obj.partnership_id


def _get_visible(session: Session, model: type, entity_id: int, visibility: Visibility | None):
    obj = _get(session, model, entity_id)
    if visibility is not None:
        name = next(k for k, v in ENTITIES.items() if v is model)
        _check_visible(session, visibility, _partnership_of(session, obj), name, entity_id)
    return obj


# ==== organisations ======================================================================================

def organisation_dict(o: Organisation) -> dict:
    return {**_meta(o), "name": o.name, "type": o.type, "org_number": o.org_number, "description": o.description,
            "is_example": o.is_example}


def create_organisation(session: Session, data: OrganisationIn | dict, *, actor: str,
                        context: dict | None = None) -> dict:
    data = data if isinstance(data, OrganisationIn) else _validate(OrganisationIn, data)
    obj = Organisation()
    _set_fields(obj, data)
    return _create(session, "organisation", obj, actor, context, organisation_dict)


def get_organisation(session: Session, organisation_id: int) -> dict:
    return organisation_dict(_get(session, Organisation, organisation_id))


def update_organisation(session: Session, organisation_id: int, patch: dict, *, expected_version: int | None,
                        actor: str, context: dict | None = None) -> dict:
    obj = _get(session, Organisation, organisation_id)
    return _apply_update(session, "organisation", obj, expected_version, patch, OrganisationIn, organisation_dict,
                         _set_fields, actor, context)


def delete_organisation(session: Session, organisation_id: int, *, actor: str, expected_version: int | None = None,
                        context: dict | None = None) -> None:
    obj = _get(session, Organisation, organisation_id)
    used = session.scalars(select(Partnership.name).join(
        PartnershipMember, PartnershipMember.partnership_id == Partnership.id).where(
        PartnershipMember.organisation_id == organisation_id, Partnership.deleted_at.is_(None))).all()
    if used:
        raise Conflict(f"organisation {organisation_id} is a member of {', '.join(used)}; remove it from the "
                       "partnership first")
    _soft_delete(session, "organisation", obj, actor, context, organisation_dict, expected_version)


def list_organisations(session: Session, *, q: str | None = None, type: str | None = None,
                       include_deleted: bool = False, limit: int = 50, offset: int = 0) -> Page:
    stmt = select(Organisation).where(_active(Organisation, include_deleted))
    if q:
        stmt = stmt.where(func.lower(Organisation.name).contains(q.lower()))
    if type:
        stmt = stmt.where(Organisation.type == type)
    return _paginate(session, stmt.order_by(Organisation.name, Organisation.id), limit, offset, organisation_dict)


# ==== partnerships =======================================================================================

def partnership_dict(session: Session, p: Partnership) -> dict:
    areas = session.scalars(select(PartnershipArea).where(PartnershipArea.partnership_id == p.id)
                            .order_by(PartnershipArea.division, PartnershipArea.code)).all()
    members = session.execute(select(PartnershipMember, Organisation.name).join(
        Organisation, Organisation.id == PartnershipMember.organisation_id).where(
        PartnershipMember.partnership_id == p.id).order_by(PartnershipMember.id)).all()
    return {**_meta(p), "name": p.name, "description": p.description, "period_start": p.period_start,
            "period_end": p.period_end, "budget_sek": p.budget_sek, "kommun_code": p.kommun_code,
            "is_example": p.is_example,
            "areas": [{"code": a.code, "division": a.division, "name": a.name} for a in areas],
            "members": [{"organisation_id": m.organisation_id, "organisation_name": name, "role": m.role,
                         "note": m.note} for m, name in members]}


def _partnership_in(out: dict) -> dict:
    data = _in_part(PartnershipIn, out)
    data["members"] = [{k: m[k] for k in ("organisation_id", "role", "note")} for m in out["members"]]
    return data


def _area_names(session: Session, areas: list[AreaRef]) -> dict[tuple[str, str], str]:
    keys = [(a.code, a.division) for a in areas if area_kind(a.division) in ("deso", "regso", "kommun")]
    if not keys:
        return {}
    rows = session.execute(select(Area.code, Area.division, Area.name).where(
        Area.code.in_([k[0] for k in keys]))).all()
    return {(c, d): n for c, d, n in rows if n}


def _partnership_checks(session: Session, data: PartnershipIn, partnership_id: int | None = None) -> list[Problem]:
    problems = []
    for i, m in enumerate(data.members):
        if not _exists(session, Organisation, m.organisation_id):
            problems.append(_problem(f"members.{i}.organisation_id",
                                     f"organisation {m.organisation_id} does not exist"))
    if partnership_id is not None:
        keep = {m.organisation_id for m in data.members}
        removed = _member_ids(session, partnership_id) - keep
        for org_id in sorted(removed):
            uses = []
            uses += [f"goal {g}" for g in session.scalars(select(Goal.id).where(
                Goal.partnership_id == partnership_id, Goal.responsible_organisation_id == org_id,
                Goal.deleted_at.is_(None)))]
            uses += [f"activity {a}" for a in session.scalars(select(Activity.id).where(
                Activity.partnership_id == partnership_id, Activity.organisation_id == org_id,
                Activity.deleted_at.is_(None)))]
            uses += [f"contribution {c}" for c in session.scalars(select(Contribution.id).where(
                Contribution.partnership_id == partnership_id, Contribution.organisation_id == org_id,
                Contribution.deleted_at.is_(None)))]
            if uses:
                problems.append(_problem("members", f"organisation {org_id} cannot leave: it is used by "
                                         f"{', '.join(uses[:5])}"))
    return problems


def _set_partnership_children(session: Session, p: Partnership, data: PartnershipIn) -> None:
    names = _area_names(session, data.areas)
    existing_areas = {(a.code, a.division): a for a in session.scalars(
        select(PartnershipArea).where(PartnershipArea.partnership_id == p.id))}
    wanted = {(a.code, a.division): a for a in data.areas}
    for key, row in existing_areas.items():
        if key not in wanted:
            session.delete(row)
    for key, a in wanted.items():
        name = a.name or names.get(key)
        if key in existing_areas:
            existing_areas[key].name = name
        else:
            session.add(PartnershipArea(partnership_id=p.id, code=a.code, division=a.division,
                                        kind=area_kind(a.division), name=name))
    existing_members = {m.organisation_id: m for m in session.scalars(
        select(PartnershipMember).where(PartnershipMember.partnership_id == p.id))}
    wanted_members = {m.organisation_id: m for m in data.members}
    for org_id, row in existing_members.items():
        if org_id not in wanted_members:
            session.delete(row)
    for org_id, m in wanted_members.items():
        if org_id in existing_members:
            existing_members[org_id].role = m.role
            existing_members[org_id].note = m.note
        else:
            session.add(PartnershipMember(partnership_id=p.id, organisation_id=org_id, role=m.role, note=m.note))


def create_partnership(session: Session, data: PartnershipIn | dict, *, actor: str,
                       context: dict | None = None) -> dict:
    data = data if isinstance(data, PartnershipIn) else _validate(PartnershipIn, data)
    if problems := _partnership_checks(session, data):
        raise ValidationFailed(problems, what="partnership")
    p = Partnership()
    _set_fields(p, data, skip=("areas", "members"))
    p.created_by, p.created_at = actor, utcnow()
    session.add(p)
    session.flush()
    _set_partnership_children(session, p, data)
    session.flush()
    after = partnership_dict(session, p)
    record(session, actor=actor, action="create", entity="partnership", entity_id=p.id, after=after,
           version=p.version, context=context)
    return after


def get_partnership(session: Session, partnership_id: int, *, visibility: Visibility | None = None) -> dict:
    return partnership_dict(session, _get_visible(session, Partnership, partnership_id, visibility))


def update_partnership(session: Session, partnership_id: int, patch: dict, *, expected_version: int | None,
                       actor: str, context: dict | None = None) -> dict:
    p = _get(session, Partnership, partnership_id)
    _check_version("partnership", p, expected_version)
    before = partnership_dict(session, p)
    current = _partnership_in(before)
    data = _validate(PartnershipIn, {**current, **patch})
    if problems := _partnership_checks(session, data, partnership_id):
        raise ValidationFailed(problems, what="partnership")
    if jsonable(_validate(PartnershipIn, current).model_dump()) == jsonable(data.model_dump()):
        return before
    with session.no_autoflush:
        p.updated_at, p.updated_by = utcnow(), actor  # a new timestamp: the row (and its version) changes
        _set_fields(p, data, skip=("areas", "members"))
        _set_partnership_children(session, p, data)
    _flush(session, "partnership", p)
    after = partnership_dict(session, p)
    record(session, actor=actor, action="update", entity="partnership", entity_id=p.id, before=before, after=after,
           version=p.version, context=context)
    if before["areas"] != after["areas"]:
        stat = [g.id for g in session.scalars(select(Goal).where(
            Goal.partnership_id == p.id, Goal.kind == GoalKind.statistic.value, Goal.deleted_at.is_(None)))
            if not g.areas]  # goals measured on the partnership's areas
        if stat:
            refresh_statistic_goals(session, goal_ids=stat)
    return after


def delete_partnership(session: Session, partnership_id: int, *, actor: str, expected_version: int | None = None,
                       context: dict | None = None) -> None:
    """Soft-delete the partnership and everything in it (each with its own audit entry)."""
    p = _get(session, Partnership, partnership_id)
    _check_version("partnership", p, expected_version)
    ctx = {**(context or {}), "cascade_from": f"partnership {partnership_id}"}
    for g in session.scalars(select(Goal).where(Goal.partnership_id == p.id, Goal.deleted_at.is_(None))).all():
        _delete_goal(session, g, actor, ctx)
    for a in session.scalars(select(Activity).where(Activity.partnership_id == p.id,
                                                    Activity.deleted_at.is_(None))).all():
        _soft_delete(session, "activity", a, actor, ctx, lambda o: activity_dict(session, o))
    for c in session.scalars(select(Contribution).where(Contribution.partnership_id == p.id,
                                                        Contribution.deleted_at.is_(None))).all():
        _soft_delete(session, "contribution", c, actor, ctx, contribution_dict)
    _soft_delete(session, "partnership", p, actor, context, lambda o: partnership_dict(session, o))


def list_partnerships(session: Session, *, q: str | None = None, area_code: str | None = None,
                      organisation_id: int | None = None, is_example: bool | None = None,
                      include_deleted: bool = False, limit: int = 50, offset: int = 0,
                      visibility: Visibility | None = None) -> Page:
    stmt = select(Partnership).where(_active(Partnership, include_deleted))
    if visibility is not None:
        stmt = stmt.where(Partnership.id.in_(_visible_partnerships(visibility)))
    if q:
        stmt = stmt.where(func.lower(Partnership.name).contains(q.lower()))
    if area_code:
        stmt = stmt.where(Partnership.id.in_(select(PartnershipArea.partnership_id)
                                             .where(PartnershipArea.code == area_code)))
    if organisation_id is not None:
        stmt = stmt.where(Partnership.id.in_(select(PartnershipMember.partnership_id)
                                             .where(PartnershipMember.organisation_id == organisation_id)))
    if is_example is not None:
        stmt = stmt.where(Partnership.is_example == is_example)
    return _paginate(session, stmt.order_by(Partnership.name, Partnership.id), limit, offset,
                     lambda p: partnership_dict(session, p))


# ==== goals ==============================================================================================

def goal_dict(g: Goal) -> dict:
    return {**_meta(g), "partnership_id": g.partnership_id, "title": g.title, "description": g.description,
            "kind": g.kind, "unit": g.unit, "measure": g.measure, "baseline_value": g.baseline_value,
            "baseline_year": g.baseline_year, "target_value": g.target_value, "target_year": g.target_year,
            "direction": g.direction, "indicator": g.indicator, "aggregation": g.aggregation,
            "denominator_indicator": g.denominator_indicator, "areas": g.areas,
            "responsible_organisation_id": g.responsible_organisation_id, "trajectory": g.trajectory,
            "trajectory_points": g.trajectory_points or [], "source_note": g.source_note,
            "is_example": g.is_example}


def _goal_checks(session: Session, data: GoalIn) -> list[Problem]:
    problems = []
    if not _exists(session, Partnership, data.partnership_id):
        return [_problem("partnership_id", f"partnership {data.partnership_id} does not exist")]
    org = data.responsible_organisation_id
    if org is not None and org not in _member_ids(session, data.partnership_id):
        problems.append(_problem("responsible_organisation_id",
                                 f"organisation {org} is not a member of partnership {data.partnership_id}"))
    return problems


def _apply_goal(g: Goal, data: GoalIn) -> None:
    _set_fields(g, data, skip=("areas", "trajectory_points"))
    g.areas = None if data.areas is None else [a.model_dump() for a in data.areas]
    g.trajectory_points = [p.model_dump() for p in data.trajectory_points] or None
    if g.kind == GoalKind.statistic and not data.aggregation:
        g.aggregation = DEFAULT_AGGREGATION[Unit(data.unit)].value


def create_goal(session: Session, data: GoalIn | dict, *, actor: str, context: dict | None = None,
                refresh: bool = True) -> dict:
    data = data if isinstance(data, GoalIn) else _validate(GoalIn, data)
    if problems := _goal_checks(session, data):
        raise ValidationFailed(problems, what="goal")
    g = Goal()
    _apply_goal(g, data)
    out = _create(session, "goal", g, actor, context, goal_dict)
    if refresh and g.kind == GoalKind.statistic:
        refresh_statistic_goals(session, goal_ids=[g.id])
    return out


def get_goal(session: Session, goal_id: int, *, visibility: Visibility | None = None) -> dict:
    return goal_dict(_get_visible(session, Goal, goal_id, visibility))


def update_goal(session: Session, goal_id: int, patch: dict, *, expected_version: int | None, actor: str,
                context: dict | None = None, refresh: bool = True) -> dict:
    g = _get(session, Goal, goal_id)
    out = _apply_update(session, "goal", g, expected_version, patch, GoalIn, goal_dict, _apply_goal, actor,
                        context, check=lambda d: _goal_checks(session, d))
    if refresh and g.kind == GoalKind.statistic:
        refresh_statistic_goals(session, goal_ids=[g.id])
        out = goal_dict(g)
    return out


def _delete_goal(session: Session, g: Goal, actor: str, context: dict | None, expected_version: int | None = None):
    _check_version("goal", g, expected_version)
    ctx = {**(context or {}), "cascade_from": f"goal {g.id}"}
    for m in session.scalars(select(Measurement).where(Measurement.goal_id == g.id,
                                                       Measurement.deleted_at.is_(None))).all():
        _soft_delete(session, "measurement", m, actor, ctx, measurement_dict)
    _soft_delete(session, "goal", g, actor, context, goal_dict)


def delete_goal(session: Session, goal_id: int, *, actor: str, expected_version: int | None = None,
                context: dict | None = None) -> None:
    _delete_goal(session, _get(session, Goal, goal_id), actor, context, expected_version)


def list_goals(session: Session, *, partnership_id: int | None = None, kind: str | None = None,
               indicator: str | None = None, responsible_organisation_id: int | None = None,
               include_deleted: bool = False, limit: int = 50, offset: int = 0,
               visibility: Visibility | None = None) -> Page:
    stmt = select(Goal).where(_active(Goal, include_deleted))
    if visibility is not None:
        stmt = stmt.where(Goal.partnership_id.in_(_visible_partnerships(visibility)))
    if partnership_id is not None:
        stmt = stmt.where(Goal.partnership_id == partnership_id)
    if kind:
        stmt = stmt.where(Goal.kind == kind)
    if indicator:
        stmt = stmt.where(Goal.indicator == indicator)
    if responsible_organisation_id is not None:
        stmt = stmt.where(Goal.responsible_organisation_id == responsible_organisation_id)
    return _paginate(session, stmt.order_by(Goal.partnership_id, Goal.id), limit, offset, goal_dict)


def goal_spec(g: Goal) -> GoalSpec:
    return GoalSpec(g.baseline_value, g.baseline_year, g.target_value, g.target_year, g.direction, g.trajectory,
                    tuple((p["year"], p["value"]) for p in (g.trajectory_points or [])))


def goal_progress(session: Session, goal_id: int, *, rule: StatusRule | None = None, level: float = 0.8,
                  visibility: Visibility | None = None) -> dict:
    """Expected path, actual vs expected per approved measurement, status and forecast of one goal."""
    g = _get_visible(session, Goal, goal_id, visibility)
    rows = session.scalars(select(Measurement).where(
        Measurement.goal_id == g.id, Measurement.deleted_at.is_(None)).order_by(
        Measurement.period_end, Measurement.id)).all()
    approved = [(m.period, m.value) for m in rows if m.state == MeasurementState.approved]
    progress = evaluate(goal_spec(g), approved, rule=rule, level=level).as_dict()
    counts = defaultdict(int)
    for m in rows:
        counts[m.state] += 1
    return {"goal": goal_dict(g), **progress,
            "measurement_counts": {s.value: counts.get(s.value, 0) for s in MeasurementState}}


# ==== measurements =======================================================================================

def measurement_dict(m: Measurement) -> dict:
    return {**_meta(m), "goal_id": m.goal_id, "period": m.period, "period_end": m.period_end, "value": m.value,
            "source": m.source, "evidence_note": m.evidence_note, "attachment_name": m.attachment_name,
            "attachment_sha256": m.attachment_sha256, "state": m.state, "entered_by": m.entered_by,
            "submitted_by": m.submitted_by, "submitted_at": m.submitted_at, "approved_by": m.approved_by,
            "approved_at": m.approved_at, "decision_note": m.decision_note, "from_statistics": m.from_statistics,
            "provenance": m.provenance}


def _apply_measurement(m: Measurement, data: MeasurementIn) -> None:
    _set_fields(m, data)
    m.period_end = parse_period(data.period).end


def create_measurement(session: Session, data: MeasurementIn | dict, *, actor: str, context: dict | None = None,
                       state: MeasurementState = MeasurementState.draft,
                       visibility: Visibility | None = None) -> dict:
    data = data if isinstance(data, MeasurementIn) else _validate(MeasurementIn, data)
    goal = session.get(Goal, data.goal_id) if _exists(session, Goal, data.goal_id) else None
    if goal is None or not is_visible(session, visibility, goal.partnership_id):
        raise ValidationFailed([_problem("goal_id", f"goal {data.goal_id} does not exist")], what="measurement")
    m = Measurement(state=MeasurementState(state).value, entered_by=actor, from_statistics=False)
    _apply_measurement(m, data)
    return _create(session, "measurement", m, actor, context, measurement_dict)


def get_measurement(session: Session, measurement_id: int, *, visibility: Visibility | None = None) -> dict:
    return measurement_dict(_get_visible(session, Measurement, measurement_id, visibility))


def update_measurement(session: Session, measurement_id: int, patch: dict, *, expected_version: int | None,
                       actor: str, context: dict | None = None, visibility: Visibility | None = None) -> dict:
    m = _get_visible(session, Measurement, measurement_id, visibility)
    _check_version("measurement", m, expected_version)
    try:
        check_editable(m.state)
    except WorkflowError as exc:
        raise Conflict(str(exc)) from None

    def apply(obj: Measurement, data: MeasurementIn) -> None:
        _apply_measurement(obj, data)
        if obj.state == MeasurementState.rejected:
            obj.state = MeasurementState.draft.value  # editing a rejected measurement makes it a draft again

    return _apply_update(session, "measurement", m, expected_version, patch, MeasurementIn, measurement_dict,
                         apply, actor, context)


def decide_measurement(session: Session, measurement_id: int, action: str, *, actor: str,
                       reason: str | None = None, expected_version: int | None = None,
                       context: dict | None = None, visibility: Visibility | None = None) -> dict:
    """Apply a workflow action (submit, withdraw, approve, reject, reopen)."""
    m = _get_visible(session, Measurement, measurement_id, visibility)
    _check_version("measurement", m, expected_version)
    try:
        step = transition(m.state, action, actor=actor, entered_by=m.entered_by, reason=reason)
    except WorkflowError as exc:
        raise Conflict(str(exc)) from None
    before = measurement_dict(m)
    now = utcnow()
    m.state = step.after.value
    if action == "submit":
        m.submitted_by, m.submitted_at = actor, now
    elif action in ("approve", "reject"):
        m.approved_by, m.approved_at, m.decision_note = actor, now, reason
    elif action in ("withdraw", "reopen"):
        m.approved_by = m.approved_at = None
        if action == "withdraw":
            m.submitted_by = m.submitted_at = None
    m.updated_at, m.updated_by = now, actor
    _flush(session, "measurement", m)
    after = measurement_dict(m)
    record(session, actor=actor, action=action, entity="measurement", entity_id=m.id, before=before, after=after,
           version=m.version, context={**(context or {}), **({"reason": reason} if reason else {})})
    return after


def attach_to_measurement(session: Session, measurement_id: int, *, filename: str, content_type: str | None,
                          data: bytes, actor: str, expected_version: int | None = None,
                          context: dict | None = None, visibility: Visibility | None = None) -> dict:
    m = _get_visible(session, Measurement, measurement_id, visibility)
    _check_version("measurement", m, expected_version)
    if len(data) > MAX_ATTACHMENT:
        raise ValidationFailed([_problem("file", f"attachment is larger than {MAX_ATTACHMENT // 2**20} MB",
                                         file=filename)], what="attachment")
    if not data:
        raise ValidationFailed([_problem("file", "the file is empty", file=filename)], what="attachment")
    if m.state == MeasurementState.approved:
        raise Conflict("an approved measurement cannot be changed")
    before = measurement_dict(m)
    m.attachment_name = filename[:200]
    m.attachment_type = (content_type or "application/octet-stream")[:100]
    m.attachment_data = data
    m.attachment_sha256 = hashlib.sha256(data).hexdigest()
    m.updated_at, m.updated_by = utcnow(), actor
    _flush(session, "measurement", m)
    after = measurement_dict(m)
    record(session, actor=actor, action="attach", entity="measurement", entity_id=m.id, before=before, after=after,
           version=m.version, context=context)
    return after


def measurement_attachment(session: Session, measurement_id: int, *,
                           visibility: Visibility | None = None) -> tuple[str, str, bytes]:
    m = _get_visible(session, Measurement, measurement_id, visibility)
    if m.attachment_data is None:
        raise NotFound(f"measurement {measurement_id} has no attachment")
    return m.attachment_name or "attachment", m.attachment_type or "application/octet-stream", m.attachment_data


def delete_measurement(session: Session, measurement_id: int, *, actor: str, expected_version: int | None = None,
                       context: dict | None = None, visibility: Visibility | None = None) -> None:
    m = _get_visible(session, Measurement, measurement_id, visibility)
    _soft_delete(session, "measurement", m, actor, context, measurement_dict, expected_version)


def list_measurements(session: Session, *, goal_id: int | None = None, partnership_id: int | None = None,
                      state: str | None = None, source: str | None = None, period: str | None = None,
                      include_deleted: bool = False, limit: int = 50, offset: int = 0,
                      visibility: Visibility | None = None) -> Page:
    stmt = select(Measurement).where(_active(Measurement, include_deleted))
    if visibility is not None:
        stmt = stmt.where(Measurement.goal_id.in_(_visible_goals(visibility)))
    if goal_id is not None:
        stmt = stmt.where(Measurement.goal_id == goal_id)
    if partnership_id is not None:
        stmt = stmt.where(Measurement.goal_id.in_(select(Goal.id).where(Goal.partnership_id == partnership_id)))
    if state:
        stmt = stmt.where(Measurement.state == state)
    if source:
        stmt = stmt.where(Measurement.source == source)
    if period:
        stmt = stmt.where(Measurement.period == parse_period(period).label)
    return _paginate(session, stmt.order_by(Measurement.goal_id, Measurement.period_end, Measurement.id), limit,
                     offset, measurement_dict)


# ==== activities =========================================================================================

def _activity_goal_ids(session: Session, activity_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    if activity_ids:
        for aid, gid in session.execute(select(ActivityGoal.activity_id, ActivityGoal.goal_id).where(
                ActivityGoal.activity_id.in_(activity_ids)).order_by(ActivityGoal.goal_id)):
            out[aid].append(gid)
    return out


def activity_dict(session: Session, a: Activity, goal_ids: list[int] | None = None) -> dict:
    if goal_ids is None:
        goal_ids = _activity_goal_ids(session, [a.id]).get(a.id, [])
    return {**_meta(a), "partnership_id": a.partnership_id, "organisation_id": a.organisation_id, "title": a.title,
            "description": a.description, "start_date": a.start_date, "end_date": a.end_date,
            "budget_sek": a.budget_sek, "spent_sek": a.spent_sek, "status": a.status, "goal_ids": goal_ids,
            "outputs": a.outputs or [], "is_example": a.is_example}


def _activity_checks(session: Session, data: ActivityIn) -> list[Problem]:
    if not _exists(session, Partnership, data.partnership_id):
        return [_problem("partnership_id", f"partnership {data.partnership_id} does not exist")]
    problems = []
    if data.organisation_id is not None and data.organisation_id not in _member_ids(session, data.partnership_id):
        problems.append(_problem("organisation_id", f"organisation {data.organisation_id} is not a member of "
                                 f"partnership {data.partnership_id}"))
    if data.goal_ids:
        ok = set(session.scalars(select(Goal.id).where(Goal.id.in_(data.goal_ids),
                                                       Goal.partnership_id == data.partnership_id,
                                                       Goal.deleted_at.is_(None))))
        for i, gid in enumerate(data.goal_ids):
            if gid not in ok:
                problems.append(_problem(f"goal_ids.{i}", f"goal {gid} is not a goal of partnership "
                                         f"{data.partnership_id}"))
    return problems


def _apply_activity(session: Session) -> Callable[[Activity, ActivityIn], None]:
    def apply(a: Activity, data: ActivityIn) -> None:
        _set_fields(a, data, skip=("goal_ids", "outputs"))
        a.outputs = [o.model_dump() for o in data.outputs] or None
        if a.id is not None:
            current = set(_activity_goal_ids(session, [a.id]).get(a.id, []))
            for gid in current - set(data.goal_ids):
                session.delete(session.get(ActivityGoal, (a.id, gid)))
            for gid in set(data.goal_ids) - current:
                session.add(ActivityGoal(activity_id=a.id, goal_id=gid))
    return apply


def create_activity(session: Session, data: ActivityIn | dict, *, actor: str, context: dict | None = None) -> dict:
    data = data if isinstance(data, ActivityIn) else _validate(ActivityIn, data)
    if problems := _activity_checks(session, data):
        raise ValidationFailed(problems, what="activity")
    a = Activity()
    _set_fields(a, data, skip=("goal_ids", "outputs"))
    a.outputs = [o.model_dump() for o in data.outputs] or None
    a.created_by, a.created_at = actor, utcnow()
    session.add(a)
    session.flush()
    for gid in data.goal_ids:
        session.add(ActivityGoal(activity_id=a.id, goal_id=gid))
    session.flush()
    after = activity_dict(session, a)
    record(session, actor=actor, action="create", entity="activity", entity_id=a.id, after=after,
           version=a.version, context=context)
    return after


def get_activity(session: Session, activity_id: int, *, visibility: Visibility | None = None) -> dict:
    return activity_dict(session, _get_visible(session, Activity, activity_id, visibility))


def update_activity(session: Session, activity_id: int, patch: dict, *, expected_version: int | None, actor: str,
                    context: dict | None = None) -> dict:
    a = _get(session, Activity, activity_id)
    return _apply_update(session, "activity", a, expected_version, patch, ActivityIn,
                         lambda o: activity_dict(session, o), _apply_activity(session), actor, context,
                         check=lambda d: _activity_checks(session, d))


def delete_activity(session: Session, activity_id: int, *, actor: str, expected_version: int | None = None,
                    context: dict | None = None) -> None:
    a = _get(session, Activity, activity_id)
    _soft_delete(session, "activity", a, actor, context, lambda o: activity_dict(session, o), expected_version)


def list_activities(session: Session, *, partnership_id: int | None = None, organisation_id: int | None = None,
                    goal_id: int | None = None, status: str | None = None, include_deleted: bool = False,
                    limit: int = 50, offset: int = 0, visibility: Visibility | None = None) -> Page:
    stmt = select(Activity).where(_active(Activity, include_deleted))
    if visibility is not None:
        stmt = stmt.where(Activity.partnership_id.in_(_visible_partnerships(visibility)))
    if partnership_id is not None:
        stmt = stmt.where(Activity.partnership_id == partnership_id)
    if organisation_id is not None:
        stmt = stmt.where(Activity.organisation_id == organisation_id)
    if goal_id is not None:
        stmt = stmt.where(Activity.id.in_(select(ActivityGoal.activity_id).where(ActivityGoal.goal_id == goal_id)))
    if status:
        stmt = stmt.where(Activity.status == status)
    stmt = stmt.order_by(Activity.start_date, Activity.id)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.limit(limit).offset(offset)).all()
    links = _activity_goal_ids(session, [a.id for a in rows])
    return Page([activity_dict(session, a, links.get(a.id, [])) for a in rows], total, limit, offset)


# ==== contributions ======================================================================================

def contribution_dict(c: Contribution) -> dict:
    return {**_meta(c), "partnership_id": c.partnership_id, "organisation_id": c.organisation_id,
            "activity_id": c.activity_id, "kind": c.kind, "amount": c.amount, "unit": c.unit,
            "value_sek": c.value_sek, "date": c.date, "description": c.description, "is_example": c.is_example}


def _contribution_checks(session: Session, data: ContributionIn) -> list[Problem]:
    if not _exists(session, Partnership, data.partnership_id):
        return [_problem("partnership_id", f"partnership {data.partnership_id} does not exist")]
    problems = []
    if data.organisation_id not in _member_ids(session, data.partnership_id):
        problems.append(_problem("organisation_id", f"organisation {data.organisation_id} is not a member of "
                                 f"partnership {data.partnership_id}"))
    if data.activity_id is not None:
        a = session.get(Activity, data.activity_id)
        if a is None or a.deleted_at is not None or a.partnership_id != data.partnership_id:
            problems.append(_problem("activity_id", f"activity {data.activity_id} is not an activity of "
                                     f"partnership {data.partnership_id}"))
    return problems


def create_contribution(session: Session, data: ContributionIn | dict, *, actor: str,
                        context: dict | None = None) -> dict:
    data = data if isinstance(data, ContributionIn) else _validate(ContributionIn, data)
    if problems := _contribution_checks(session, data):
        raise ValidationFailed(problems, what="contribution")
    c = Contribution()
    _set_fields(c, data)
    return _create(session, "contribution", c, actor, context, contribution_dict)


def get_contribution(session: Session, contribution_id: int, *, visibility: Visibility | None = None) -> dict:
    return contribution_dict(_get_visible(session, Contribution, contribution_id, visibility))


def update_contribution(session: Session, contribution_id: int, patch: dict, *, expected_version: int | None,
                        actor: str, context: dict | None = None) -> dict:
    c = _get(session, Contribution, contribution_id)
    return _apply_update(session, "contribution", c, expected_version, patch, ContributionIn, contribution_dict,
                         _set_fields, actor, context, check=lambda d: _contribution_checks(session, d))


def delete_contribution(session: Session, contribution_id: int, *, actor: str, expected_version: int | None = None,
                        context: dict | None = None) -> None:
    c = _get(session, Contribution, contribution_id)
    _soft_delete(session, "contribution", c, actor, context, contribution_dict, expected_version)


def list_contributions(session: Session, *, partnership_id: int | None = None, organisation_id: int | None = None,
                       kind: str | None = None, activity_id: int | None = None, date_from: date | None = None,
                       date_to: date | None = None, include_deleted: bool = False, limit: int = 50,
                       offset: int = 0, visibility: Visibility | None = None) -> Page:
    stmt = select(Contribution).where(_active(Contribution, include_deleted))
    if visibility is not None:
        stmt = stmt.where(Contribution.partnership_id.in_(_visible_partnerships(visibility)))
    if partnership_id is not None:
        stmt = stmt.where(Contribution.partnership_id == partnership_id)
    if organisation_id is not None:
        stmt = stmt.where(Contribution.organisation_id == organisation_id)
    if kind:
        stmt = stmt.where(Contribution.kind == kind)
    if activity_id is not None:
        stmt = stmt.where(Contribution.activity_id == activity_id)
    if date_from:
        stmt = stmt.where(Contribution.date >= date_from)
    if date_to:
        stmt = stmt.where(Contribution.date <= date_to)
    return _paginate(session, stmt.order_by(Contribution.date, Contribution.id), limit, offset, contribution_dict)


def contribution_summary(session: Session, partnership_id: int, *,
                         visibility: Visibility | None = None) -> list[dict]:
    """Totals per organisation and kind (amount in its unit, value in SEK)."""
    _check_visible(session, visibility, partnership_id, "partnership", partnership_id)
    rows = session.execute(select(Contribution.organisation_id, Organisation.name, Contribution.kind,
                                  Contribution.unit, func.sum(Contribution.amount), func.sum(Contribution.value_sek),
                                  func.count()).join(Organisation, Organisation.id == Contribution.organisation_id)
                           .where(Contribution.partnership_id == partnership_id, Contribution.deleted_at.is_(None))
                           .group_by(Contribution.organisation_id, Organisation.name, Contribution.kind,
                                     Contribution.unit)
                           .order_by(Organisation.name, Contribution.kind)).all()
    return [{"organisation_id": o, "organisation_name": n, "kind": k, "unit": u, "amount": float(a or 0),
             "value_sek": None if v is None else float(v), "entries": int(c)} for o, n, k, u, a, v, c in rows]


# ==== dashboard ==========================================================================================

_DASHBOARDS = ResultCache(256)


def partnership_dashboard(session: Session, partnership_id: int, *, rule: StatusRule | None = None,
                          visibility: Visibility | None = None) -> dict:
    """Everything a steering group's one-page status needs.

    Cached per partnership, rule, reader and data stamp (and day: the expected trajectory moves with
    the date); measured under load, the dashboard spent most of its time in the per-goal queries."""
    _get_visible(session, Partnership, partnership_id, visibility)  # 404 before anything is served
    key = (str(session.get_bind().url), partnership_id, repr(rule), repr(visibility), data_stamp(session),
           date.today())
    return copy.deepcopy(_DASHBOARDS.get(key, lambda: _partnership_dashboard(
        session, partnership_id, rule=rule, visibility=visibility)))


def _partnership_dashboard(session: Session, partnership_id: int, *, rule: StatusRule | None = None,
                           visibility: Visibility | None = None) -> dict:
    p = _get_visible(session, Partnership, partnership_id, visibility)
    goals = session.scalars(select(Goal).where(Goal.partnership_id == p.id, Goal.deleted_at.is_(None))
                            .order_by(Goal.id)).all()
    goal_rows = []
    for g in goals:
        prog = goal_progress(session, g.id, rule=rule)
        latest = prog["latest"]
        goal_rows.append({
            "goal": prog["goal"], "status": prog["status"], "latest": latest,
            "forecast": prog["forecast"], "measurement_counts": prog["measurement_counts"],
            "baseline": prog["baseline"], "target": prog["target"]})
    activities = list_activities(session, partnership_id=p.id, limit=10_000).items
    outputs: dict[tuple[str, str | None], float] = defaultdict(float)
    for a in activities:
        for o in a["outputs"]:
            outputs[(o["name"], o.get("unit"))] += o["value"]
    contributions = contribution_summary(session, p.id)
    status_counts = defaultdict(int)
    for row in goal_rows:
        status_counts[row["status"]] += 1
    return {
        "partnership": partnership_dict(session, p),
        "goals": goal_rows,
        "status_counts": dict(status_counts),
        "activities": {"count": len(activities),
                       "budget_sek": sum(a["budget_sek"] or 0 for a in activities),
                       "spent_sek": sum(a["spent_sek"] or 0 for a in activities),
                       "outputs": [{"name": n, "unit": u, "value": v} for (n, u), v in sorted(outputs.items(),
                                                                                                key=lambda x: x[0][0])],
                       "items": activities},
        "contributions": {"by_organisation_and_kind": contributions,
                          "total_value_sek": sum(c["value_sek"] or 0 for c in contributions)},
        "awaiting_approval": sum(r["measurement_counts"]["submitted"] for r in goal_rows),
        "is_example": p.is_example,
    }


# ==== statistics: observations → area values ==============================================================

OBS_COLUMNS = ["area_code", "indicator", "year", "value", "numerator", "denominator", "source", "suppressed",
               "provisional", "estimated"]


def _observations(session: Session, indicators: list[str], division: str, *, codes: Iterable[str] | None = None,
                  prefix: str | None = None, exact_codes: Iterable[str] | None = None) -> pd.DataFrame:
    stmt = select(Observation.area_code, Observation.indicator, Observation.year, Observation.value,
                  Observation.numerator, Observation.denominator, Observation.source, Observation.suppressed,
                  Observation.provisional, Observation.estimated).where(Observation.indicator.in_(indicators))
    if exact_codes is not None:
        stmt = stmt.where(Observation.area_code.in_(list(exact_codes)))
        stmt = stmt.where(~Observation.division.like("DeSO%"), ~Observation.division.like("RegSO%"))
    else:
        stmt = stmt.where(Observation.division == division)
        if codes is not None:
            stmt = stmt.where(Observation.area_code.in_(list(codes)))
        if prefix:
            stmt = stmt.where(Observation.area_code.like(prefix + "%"))
    frame = pd.DataFrame(session.execute(stmt).all(), columns=OBS_COLUMNS)
    return frame


def _area_values(obs: pd.DataFrame, indicator: str, denominator_indicator: str) -> pd.DataFrame:
    """Per area and year: rate, denominator (own or nearest-year denominator indicator), numerator, flags."""
    rates = obs[(obs["indicator"] == indicator) & obs["value"].notna() & ~obs["suppressed"].astype(bool)].copy()
    if rates.empty:
        return pd.DataFrame(columns=["area_code", "year", "value", "numerator", "denominator", "den_year",
                                     "source", "den_source", "estimated", "den_estimated", "provisional"])
    rates = rates.sort_values(["area_code", "year", "source"]).drop_duplicates(["area_code", "year"])
    dens = obs[(obs["indicator"] == denominator_indicator) & obs["value"].notna()
               & ~obs["suppressed"].astype(bool)][["area_code", "year", "value", "source", "estimated"]]
    dens = dens.rename(columns={"year": "den_year", "value": "den_value", "source": "den_source",
                                "estimated": "den_estimated"})
    merged = rates.merge(dens, on="area_code", how="left")
    merged["dist"] = (merged["den_year"] - merged["year"]).abs()
    merged = merged.sort_values(["area_code", "year", "dist", "den_year"], ascending=[True, True, True, False])
    merged = merged.drop_duplicates(["area_code", "year"])
    own = merged["denominator"].notna()
    merged.loc[own, "den_year"] = merged.loc[own, "year"]
    merged.loc[own, "den_source"] = merged.loc[own, "source"]
    merged.loc[own, "den_estimated"] = merged.loc[own, "estimated"]
    merged.loc[~own, "denominator"] = merged.loc[~own, "den_value"]
    return merged[["area_code", "year", "value", "numerator", "denominator", "den_year", "source", "den_source",
                   "estimated", "den_estimated", "provisional"]].reset_index(drop=True)


def _aggregate_year(values: pd.DataFrame, year: int, aggregation: Aggregation, scale: float = 100.0) -> dict | None:
    rows = values[values["year"] == year]
    if aggregation == Aggregation.sum:
        rows = rows[rows["value"].notna()]
        if rows.empty:
            return None
        return {"value": float(rows["value"].sum()), "n_areas": len(rows), "areas": sorted(rows["area_code"]),
                "denominator": None, "den_years": [], "sources": sorted(set(rows["source"])),
                "estimated": bool(rows["estimated"].astype(bool).any())}
    usable = rows[rows["denominator"].notna() & (rows["denominator"] > 0)]
    if usable.empty:
        return None
    items = [gapcore.AreaValue(r.area_code, float(r.value), float(r.denominator), int(r.year), int(r.den_year),
                               None if pd.isna(r.numerator) else float(r.numerator))
             for r in usable.itertuples()]
    rate, den, num = gapcore.aggregate(items, scale=scale)
    value = rate if aggregation == Aggregation.weighted_rate else num
    return {"value": value, "rate": rate, "numerator": num, "denominator": den, "n_areas": len(items),
            "areas": sorted(usable["area_code"]), "den_years": sorted({int(y) for y in usable["den_year"]}),
            "sources": sorted(set(usable["source"])), "den_sources": sorted(set(usable["den_source"].dropna())),
            "estimated": bool(usable["estimated"].astype(bool).any() or usable["den_estimated"].fillna(False)
                              .astype(bool).any()),
            "missing_denominator": sorted(set(rows["area_code"]) - set(usable["area_code"]))}


def statistic_series(session: Session, *, indicator: str, division: str, codes: list[str],
                     aggregation: Aggregation | str, denominator_indicator: str | None = None) -> list[dict]:
    """One aggregated value per year for an indicator over a set of areas of one division."""
    info = gapcore.indicator_info(indicator)
    den_ind = denominator_indicator or info.denominator or gapcore.default_denominator(indicator)
    obs = _observations(session, [indicator, den_ind], division, codes=codes)
    values = _area_values(obs, indicator, den_ind)
    out = []
    for year in sorted({int(y) for y in values["year"]}):
        agg = _aggregate_year(values, year, Aggregation(aggregation))
        if agg is not None:
            out.append({"year": year, **agg, "denominator_indicator": den_ind, "division": division,
                        "indicator": indicator, "area_set_size": len(codes)})
    return out


POLICE_SHARE = 0.5  # a DeSO/RegSO counts for a Police-list area when at least half of it lies inside


def police_area_members(session: Session, code: str, division: str) -> list[tuple[str, str]]:
    """DeSO/RegSO lying at least half inside a Police-list area (``division`` = ``Police<edition>``; ``code`` =
    the harmonised panel id, the Police's area id, or the name)."""
    edition = int(division.removeprefix("Police"))
    stmt = select(PoliceArea.id).where(PoliceArea.edition == edition)
    if code.isdigit():
        stmt = stmt.where((PoliceArea.panel_id == int(code)) | (PoliceArea.special_id == int(code)))
    else:
        stmt = stmt.where(func.lower(PoliceArea.name) == code.lower())
    ids = list(session.scalars(stmt))
    if not ids:
        return []
    rows = session.execute(select(PoliceAreaOverlap.area_code, PoliceAreaOverlap.division).where(
        PoliceAreaOverlap.police_area_id.in_(ids), PoliceAreaOverlap.share_of_area >= POLICE_SHARE)).all()
    return sorted({(c, d) for c, d in rows})


def _statistical_areas(session: Session, areas: list[tuple[str, str]]) -> tuple[str | None, list[str], list[str]]:
    """(division, codes, warnings): DeSO/RegSO of one division, Police-list areas expanded to their DeSO/RegSO."""
    warnings = []
    stat = [(c, d) for c, d in areas if area_kind(d) in ("deso", "regso", "kommun")]
    for code, division in areas:
        if area_kind(division) == "police":
            members = police_area_members(session, code, division)
            if members:
                stat += members
                warnings.append(f"Police-list area {code} ({division}) measured on the {len(members)} DeSO/RegSO "
                                f"lying at least {POLICE_SHARE:.0%} inside it")
            else:
                warnings.append(f"Police-list area {code} ({division}) skipped: no overlay with DeSO/RegSO in the "
                                "store")
    if not stat:
        return None, [], [*warnings, "no DeSO/RegSO areas to measure on"]
    divisions = pd.Series([d for _, d in stat]).value_counts()
    division = str(divisions.index[0])
    if len(divisions) > 1:
        warnings.append(f"areas in several divisions; using the {division} areas only")
    return division, sorted({c for c, d in stat if d == division}), warnings


def _goal_area_set(session: Session, g: Goal) -> tuple[str | None, list[str], list[str]]:
    """(division, codes, warnings) of the DeSO/RegSO a statistic-linked goal is measured on."""
    if g.areas:
        areas = [(a["code"], a["division"]) for a in g.areas]
    else:
        areas = [(a.code, a.division) for a in session.scalars(
            select(PartnershipArea).where(PartnershipArea.partnership_id == g.partnership_id))]
    return _statistical_areas(session, areas)


def _source_kind(sources: Iterable[str]) -> str:
    text = " ".join(sources).lower()
    return "kolada" if "kolada" in text else "scb"


def refresh_statistic_goals(session: Session, *, goal_ids: Iterable[int] | None = None,
                            indicators: Iterable[str] | None = None, actor: str = SYSTEM_STATISTICS) -> list[dict]:
    """Fill the actuals of statistic-linked goals from ``observations`` (idempotent).

    For each year with data over the goal's area set, one approved measurement (``from_statistics``) with
    the aggregated value (for goals measured as *change*, minus the value of the baseline year) and its
    provenance. Unchanged values are left alone; changed ones are updated (new version, audit entry).
    """
    stmt = select(Goal).where(Goal.kind == GoalKind.statistic.value, Goal.deleted_at.is_(None))
    if goal_ids is not None:
        stmt = stmt.where(Goal.id.in_(list(goal_ids)))
    if indicators is not None:
        stmt = stmt.where(Goal.indicator.in_(list(indicators)))
    summary = []
    for g in session.scalars(stmt.order_by(Goal.id)).all():
        division, codes, warnings = _goal_area_set(session, g)
        created = updated = removed = 0
        if division and g.indicator:
            aggregation = Aggregation(g.aggregation or DEFAULT_AGGREGATION[Unit(g.unit)])
            series = statistic_series(session, indicator=g.indicator, division=division, codes=codes,
                                      aggregation=aggregation, denominator_indicator=g.denominator_indicator)
            by_year = {s["year"]: s for s in series}
            base = by_year.get(g.baseline_year)
            if g.measure == Measure.change and base is None and series:
                warnings.append(f"no statistics for the baseline year {g.baseline_year}; change cannot be computed")
                series = []
            existing = {m.period: m for m in session.scalars(select(Measurement).where(
                Measurement.goal_id == g.id, Measurement.from_statistics.is_(True),
                Measurement.deleted_at.is_(None)))}
            for s in series:
                value = s["value"] - base["value"] if g.measure == Measure.change else s["value"]
                if s["n_areas"] < len(codes):
                    warnings.append(f"{s['year']}: {s['n_areas']} of {len(codes)} areas have data")
                provenance = jsonable({k: v for k, v in s.items() if k != "value"} | {
                    "aggregated_value": s["value"], "measure": g.measure,
                    "baseline_value_from_statistics": base["value"] if base else None})
                period = str(s["year"])
                m = existing.get(period)
                if m is None:
                    m = Measurement(goal_id=g.id, period=period, period_end=date(s["year"], 12, 31), value=value,
                                    source=_source_kind(s["sources"]), state=MeasurementState.approved.value,
                                    entered_by=actor, approved_by=actor, approved_at=utcnow(),
                                    from_statistics=True, provenance=provenance,
                                    evidence_note=f"{g.indicator}, {s['n_areas']} {division} areas, "
                                                  f"{aggregation.value}")
                    _create(session, "measurement", m, actor, {"via": "statistics"}, measurement_dict)
                    created += 1
                elif not math.isclose(m.value, value, rel_tol=1e-12, abs_tol=1e-9) or m.provenance != provenance:
                    before = measurement_dict(m)
                    m.value, m.provenance = value, provenance
                    m.updated_at, m.updated_by = utcnow(), actor
                    _flush(session, "measurement", m)
                    record(session, actor=actor, action="update", entity="measurement", entity_id=m.id,
                           before=before, after=measurement_dict(m), version=m.version,
                           context={"via": "statistics"})
                    updated += 1
            produced = {str(s["year"]) for s in series}
            for period, m in existing.items():  # e.g. after the indicator or the areas changed
                if period not in produced:
                    _soft_delete(session, "measurement", m, actor, {"via": "statistics", "reason": "no longer "
                                 "produced by the goal's indicator and areas"}, measurement_dict)
                    removed += 1
        summary.append({"goal_id": g.id, "title": g.title, "indicator": g.indicator, "division": division,
                        "areas": len(codes), "created": created, "updated": updated, "removed": removed,
                        "warnings": list(dict.fromkeys(warnings))})
    return summary


def on_statistics_imported(session: Session, indicators: Iterable[str] | None = None) -> list[dict]:
    """Hook for importers: refresh the statistic-linked goals that use the imported indicators."""
    return refresh_statistic_goals(session, indicators=indicators)


# ==== gap to parity (store adapter) ======================================================================

def areas_by_regso_name(session: Session, prefix: str, *, regso_division: str = "RegSO2025",
                        deso_division: str = "DeSO2025") -> list[dict]:
    """DeSO whose RegSO name starts with ``prefix`` (e.g. "Bergsjön"), with their RegSO."""
    regso = {r.code: r.name for r in session.scalars(select(Area).where(
        Area.division == regso_division, Area.level == "regso", Area.name.like(prefix + "%")))}
    if not regso:
        return []
    rows = session.scalars(select(Area).where(Area.division == deso_division, Area.parent_code.in_(list(regso)))
                           .order_by(Area.code)).all()
    return [{"code": a.code, "division": a.division, "name": a.name, "regso_code": a.parent_code,
             "regso_name": regso[a.parent_code]} for a in rows]


def partnership_area_set(session: Session, partnership_id: int) -> tuple[str | None, list[str], str, list[str]]:
    """(division, codes, name, warnings) of a partnership's DeSO/RegSO (Police-list areas expanded)."""
    p = _get(session, Partnership, partnership_id)
    areas = [(a.code, a.division) for a in session.scalars(
        select(PartnershipArea).where(PartnershipArea.partnership_id == p.id))]
    division, codes, warnings = _statistical_areas(session, areas)
    return division, codes, p.name, warnings


def _pick_year(years: Iterable[int], wanted: int) -> int | None:
    years = sorted(set(years))
    if not years:
        return None
    return min(years, key=lambda y: (abs(y - wanted), -y))


def _side_from_values(values: pd.DataFrame, year: int, label: str, derivation: str | None, *,
                      derived: bool, den_ind: str) -> gapcore.RateInput | None:
    agg = _aggregate_year(values, year, Aggregation.weighted_rate)
    if agg is None:
        return None
    flags = []
    if agg["estimated"]:
        flags.append("some inputs are flagged as estimated")
    if agg.get("missing_denominator"):
        flags.append(f"{len(agg['missing_denominator'])} area(s) without a denominator left out: "
                     f"{', '.join(agg['missing_denominator'][:10])}")
    den_years = agg["den_years"]
    return gapcore.RateInput(
        label=label, rate=agg["rate"], year=year, source=", ".join(agg["sources"]),
        denominator=agg["denominator"], denominator_year=max(den_years) if den_years else None,
        denominator_source=f"{den_ind} ({', '.join(agg['den_sources'])}"
                           f"{'; years ' + ', '.join(map(str, den_years)) if len(den_years) > 1 else ''})",
        derived=derived, derivation=derivation, n_areas=agg["n_areas"], area_codes=tuple(agg["areas"]),
        flags=tuple(flags))


def gap_inputs(session: Session, *, indicator: str, division: str, codes: list[str],
               reference: str | gapcore.Reference, year: int | None = None,
               denominator_indicator: str | None = None, label: str | None = None,
               exclude_area: bool = False) -> tuple[gapcore.RateInput, gapcore.RateInput, dict]:
    """Assemble the area and reference rates from the store (see :mod:`handslag.goals.gap`)."""
    ref = gapcore.parse_reference(reference) if isinstance(reference, str) else reference
    info = gapcore.indicator_info(indicator)
    den_ind = denominator_indicator or info.denominator or gapcore.default_denominator(indicator)
    notes = []
    if not (denominator_indicator or info.denominator):
        notes.append(f"denominator indicator {den_ind!r} chosen by rule (the catalogue names none)")
    codes = sorted(set(codes))
    if not codes:
        raise ValueError("no areas given")
    area_obs = _observations(session, [indicator, den_ind], division, codes=codes)
    area_vals = _area_values(area_obs, indicator, den_ind)
    if area_vals.empty:
        raise NotFound(f"no {indicator} observations for the {len(codes)} {division} areas in the store")
    year = year or int(area_vals["year"].max())
    if year not in set(area_vals["year"]):
        raise NotFound(f"no {indicator} observations for {year} in these areas; years: "
                       f"{', '.join(map(str, sorted(set(area_vals['year']))))}")
    n_named = len(codes)
    area_label = label or f"{n_named} {division} area{'s' if n_named != 1 else ''}"
    area = _side_from_values(area_vals, year, area_label,
                             f"denominator-weighted mean of {n_named} {division} areas" if n_named > 1 else None,
                             derived=n_named > 1, den_ind=den_ind)
    if area is None:
        raise NotFound(f"no {den_ind} denominators for these areas; give --denominator-indicator")
    missing = sorted(set(codes) - set(area_vals.loc[area_vals["year"] == year, "area_code"]))
    if missing:
        notes.append(f"{len(missing)} area(s) have no {indicator} for {year}: {', '.join(missing[:10])}")

    def derived_side(prefix: str | None, ref_label: str, what: str, exclude: Iterable[str] = ()):
        obs = _observations(session, [indicator, den_ind], division, prefix=prefix)
        vals = _area_values(obs, indicator, den_ind)
        vals = vals[~vals["area_code"].isin(list(exclude))]
        if vals.empty:
            return None
        ref_year = year if year in set(vals["year"]) else _pick_year(vals["year"], year)
        n = vals.loc[vals["year"] == ref_year, "area_code"].nunique()
        return _side_from_values(vals, ref_year, ref_label,
                                 f"denominator-weighted mean of the {n} {division} areas {what} in the store "
                                 f"(no published {ref_label} figure in the store)", derived=True, den_ind=den_ind)

    def published_side(code: str, ref_label: str):
        obs = _observations(session, [indicator, den_ind], division, exact_codes=[code])
        vals = _area_values(obs, indicator, den_ind)
        rates = obs[(obs["indicator"] == indicator) & obs["value"].notna()]
        if rates.empty:
            return None
        ref_year = _pick_year(rates["year"], year)
        row = rates[rates["year"] == ref_year].iloc[0]
        v = vals[vals["year"] == ref_year]
        den = float(v["denominator"].iloc[0]) if not v.empty and pd.notna(v["denominator"].iloc[0]) else None
        den_year = int(v["den_year"].iloc[0]) if den is not None else None
        return gapcore.RateInput(label=ref_label, rate=float(row["value"]), year=int(ref_year), source=row["source"],
                                 denominator=den, denominator_year=den_year,
                                 denominator_source=den_ind if den is not None else None,
                                 flags=("reference flagged as estimated",) if bool(row["estimated"]) else ())

    if ref.kind in ("kommun", "lan"):
        width = 4 if ref.kind == "kommun" else 2
        code = ref.code
        if code is None:
            prefixes = {c[:width] for c in codes}
            if len(prefixes) != 1:
                raise ValueError(f"the areas lie in several {ref.kind}s; name one ({ref.kind}:CODE)")
            code = prefixes.pop()
        ref_label = _region_name(session, code, ref.kind)
        side = published_side(code, ref_label) or derived_side(code, ref_label, f"in {ref.kind} {code}")
    elif ref.kind == "riket":
        side = None
        for code in ("00", "SE", "riket"):
            side = published_side(code, "Sverige")
            if side:
                break
        if side is None:
            side = derived_side(None, "Sverige", "(all of them; only the areas present, not the whole country)")
            notes.append("the national reference covers only the areas present in the store")
    else:  # another area set
        obs = _observations(session, [indicator, den_ind], division, codes=ref.areas)
        vals = _area_values(obs, indicator, den_ind)
        ref_year = _pick_year(vals["year"], year) if not vals.empty else None
        side = None if ref_year is None else _side_from_values(
            vals, ref_year, f"{len(ref.areas)} reference area(s)",
            f"denominator-weighted mean of {len(ref.areas)} {division} reference areas", derived=True, den_ind=den_ind)
    if side is None:
        raise NotFound(f"no {indicator} for the reference {ref} in the store")
    if exclude_area:
        side = gapcore.rest_of_reference(side, area)
    details = {"division": division, "codes": codes, "year": year, "denominator_indicator": den_ind,
               "reference": str(ref), "notes": notes,
               "areas": json_records(area_vals[area_vals["year"] == year])}
    return area, side, details


def json_records(frame: pd.DataFrame) -> list[dict]:
    frame = frame.astype(object).where(pd.notna(frame), None)
    return jsonable(frame.to_dict("records"))


def _region_name(session: Session, code: str, kind: str) -> str:
    name = session.scalar(select(Area.name).where(Area.code == code, Area.level == kind).limit(1))
    if not name:
        try:
            from handslag.areas.regions import kommun_name, lan_name

            name = kommun_name(code) if kind == "kommun" else lan_name(code)
        except ImportError:  # pragma: no cover - ships with the package
            name = None
    return name or f"{'kommun' if kind == 'kommun' else 'län'} {code}"


def compute_gap(session: Session, *, indicator: str, division: str | None = None, codes: list[str] | None = None,
                partnership_id: int | None = None, reference: str = "kommun", year: int | None = None,
                denominator_indicator: str | None = None, label: str | None = None,
                exclude_area: bool = False, as_of_year: int | None = None,
                projection: gapcore.Projection | None = None,
                visibility: Visibility | None = None) -> tuple[gapcore.GapResult, dict]:
    """Gap to parity for an area set (codes + division, or a partnership's areas) against a reference."""
    area_notes: list[str] = []
    if partnership_id is not None:
        _get_visible(session, Partnership, partnership_id, visibility)
        division_p, codes_p, name, area_notes = partnership_area_set(session, partnership_id)
        if not codes_p:
            raise ValueError(f"partnership {partnership_id} has no DeSO/RegSO areas")
        division, codes, label = division_p, codes_p, label or name
    if not codes or not division:
        raise ValueError("give area codes and their division, or a partnership")
    area, ref, details = gap_inputs(session, indicator=indicator, division=division, codes=codes, reference=reference,
                                    year=year, denominator_indicator=denominator_indicator, label=label,
                                    exclude_area=exclude_area)
    info = gapcore.indicator_info(indicator)
    result = gapcore.gap_to_parity(area, ref, indicator=indicator, direction=info.direction, as_of_year=as_of_year,
                                   projection=projection)
    result.warnings.extend([*area_notes, *details["notes"]])
    return result, details


# ==== Excel round trip ===================================================================================

def _upload_context(session: Session, partnership_id: int) -> excel.UploadContext:
    members = session.execute(select(Organisation.id, Organisation.name).join(
        PartnershipMember, PartnershipMember.organisation_id == Organisation.id).where(
        PartnershipMember.partnership_id == partnership_id)).all()
    goals = session.scalars(select(Goal).where(Goal.partnership_id == partnership_id,
                                               Goal.deleted_at.is_(None))).all()
    goal_ids = [g.id for g in goals]
    measurements = session.scalars(select(Measurement).where(
        Measurement.goal_id.in_(goal_ids), Measurement.deleted_at.is_(None))).all() if goal_ids else []
    activities = list_activities(session, partnership_id=partnership_id, limit=100_000).items
    return excel.UploadContext(
        partnership_id=partnership_id,
        organisations={oid: name for oid, name in members},
        goals={g.id: {"version": g.version, "data": _in_part(GoalIn, goal_dict(g))} for g in goals},
        measurements={m.id: {"version": m.version, "state": m.state, "from_statistics": m.from_statistics,
                             "data": _in_part(MeasurementIn, measurement_dict(m))} for m in measurements},
        activities={a["id"]: {"version": a["version"], "data": _in_part(ActivityIn, a)} for a in activities},
    )


def export_workbook(session: Session, partnership_id: int, *, visibility: Visibility | None = None) -> bytes:
    """The partnership's goals, measurements and activities as an Excel workbook (see goals.excel)."""
    p = partnership_dict(session, _get_visible(session, Partnership, partnership_id, visibility))
    orgs = {m["organisation_id"]: m["organisation_name"] for m in p["members"]}
    goals = list_goals(session, partnership_id=partnership_id, limit=100_000).items
    titles = {g["id"]: g["title"] for g in goals}
    measurements = list_measurements(session, partnership_id=partnership_id, limit=100_000).items
    activities = list_activities(session, partnership_id=partnership_id, limit=100_000).items
    rows = {
        excel.GOALS: [{**g, "responsible_organisation": orgs.get(g["responsible_organisation_id"]),
                       "areas": excel.format_areas(g["areas"])} for g in goals],
        excel.MEASUREMENTS: [{**m, "goal_title": titles.get(m["goal_id"])} for m in measurements],
        excel.ACTIVITIES: [{**a, "organisation": orgs.get(a["organisation_id"]),
                            "goals": "; ".join(str(g) for g in a["goal_ids"]) or None,
                            "outputs": excel.format_outputs(a["outputs"])} for a in activities],
    }
    info = {"partnership_id": p["id"], "partnership": p["name"], "exported_at": utcnow().replace(microsecond=0),
            "example_data": "JA – exempeldata" if p["is_example"] else "nej",
            "members": "; ".join(f"{m['organisation_name']} ({m['role']})" for m in p["members"])}
    return excel.write_workbook(info, rows)


def import_workbook(session: Session, partnership_id: int, data: bytes, *, filename: str, actor: str,
                    dry_run: bool = False) -> dict:
    """Apply a filled-in workbook: all rows or nothing. Raises ValidationFailed listing every bad row.

    The caller's transaction must roll back on the exception (``Database.session()`` and the API's
    session dependency do), so a problem found while writing also leaves nothing behind.
    """
    _get(session, Partnership, partnership_id)
    book, problems = excel.read_workbook(data, filename)
    if problems and not book.rows:
        raise ValidationFailed(problems, what=filename)
    plan, more = excel.plan_upload(book, _upload_context(session, partnership_id), filename)
    problems = excel.sort_problems(problems + more)
    if problems:
        raise ValidationFailed(problems, what=filename)
    summary = {"file": filename, "partnership_id": partnership_id, "unchanged": plan.unchanged,
               "counts": plan.counts(), "dry_run": dry_run}
    if dry_run:
        return summary
    new_goals: dict[str, int] = {}
    errors: list[Problem] = []

    def run(op: excel.Operation, fn: Callable[[], dict]) -> dict | None:
        try:
            return fn()
        except ValidationFailed as exc:
            errors.extend(Problem(filename, op.row, p.column, p.reason, sheet=op.sheet) for p in exc.problems)
        except (Conflict, NotFound) as exc:
            errors.append(Problem(filename, op.row, "id", str(exc), sheet=op.sheet))
        return None

    for op in plan.operations:
        ctx = {"via": "excel", "file": filename, "sheet": op.sheet, "row": op.row}
        if op.entity == "goal":
            if op.action == "create":
                out = run(op, lambda op=op, ctx=ctx: create_goal(session, op.data, actor=actor, context=ctx))
                if out:
                    new_goals[out["title"].strip().lower()] = out["id"]
            else:
                run(op, lambda op=op, ctx=ctx: update_goal(session, op.entity_id, op.data,
                                                           expected_version=op.version, actor=actor, context=ctx))
        elif op.entity == "measurement":
            data = dict(op.data)
            if op.refs.get("goal_title"):
                data["goal_id"] = new_goals.get(op.refs["goal_title"], 0)
            if op.action == "create":
                run(op, lambda data=data, ctx=ctx: create_measurement(session, data, actor=actor, context=ctx))
            else:
                data.pop("goal_id", None)
                run(op, lambda op=op, data=data, ctx=ctx: update_measurement(
                    session, op.entity_id, data, expected_version=op.version, actor=actor, context=ctx))
        else:
            data = dict(op.data)
            data["goal_ids"] = [*data["goal_ids"], *(new_goals[t] for t in op.refs.get("goals", []) if t in new_goals)]
            if op.action == "create":
                run(op, lambda data=data, ctx=ctx: create_activity(session, data, actor=actor, context=ctx))
            else:
                data.pop("partnership_id", None)
                run(op, lambda op=op, data=data, ctx=ctx: update_activity(
                    session, op.entity_id, data, expected_version=op.version, actor=actor, context=ctx))
    if errors:
        raise ValidationFailed(errors, what=filename)
    return summary


# ==== example partnership ================================================================================

def bergsjon_areas(session: Session) -> tuple[list[dict], str]:
    """Bergsjön's DeSO 2025 from the store (RegSO 2025 names starting "Bergsjön"), else the shipped list."""
    rows = areas_by_regso_name(session, "Bergsjön")
    if rows:
        return [{"code": r["code"], "division": r["division"], "name": r["regso_name"]} for r in rows], "store"
    return [{"code": c, "division": "DeSO2025", "name": n} for c, n in demo.BERGSJON_DESO_2025.items()], "builtin"


def create_demo(session: Session, *, actor: str = demo.EXAMPLE_USER, replace: bool = False) -> dict:
    """Create "Handslag Bergsjön (exempel)" with its partners, goals, measurements, activities, contributions.

    Idempotent: when it exists it is left alone (``replace=True`` soft-deletes it and creates it again).
    """
    existing = find_partnership_ids(session, demo.DEMO_NAME)
    if existing and not replace:
        return {"created": False, "partnership_id": existing[0], "message": "the example partnership exists"}
    for pid in existing:
        delete_partnership(session, pid, actor=actor, context={"via": "demo"})
    ctx = {"via": "demo"}
    orgs: dict[str, int] = {}
    for o in demo.ORGANISATIONS:
        found = search_organisation(session, o["name"])
        if found is not None:
            orgs[o["key"]] = found.id
        else:
            orgs[o["key"]] = create_organisation(session, {"name": o["name"], "type": o["type"],
                                                           "description": o["description"], "is_example": True},
                                                 actor=actor, context=ctx)["id"]
    areas, area_source = bergsjon_areas(session)
    p = create_partnership(session, {**demo.PARTNERSHIP, "areas": areas,
                                     "members": [{"organisation_id": orgs[o["key"]], "role": o["role"]}
                                                 for o in demo.ORGANISATIONS]}, actor=actor, context=ctx)
    goals: dict[str, int] = {}
    for g in demo.GOALS:
        data = {k: v for k, v in g.items() if k not in ("key", "responsible")}
        goals[g["key"]] = create_goal(session, {**data, "partnership_id": p["id"], "is_example": True,
                                                "responsible_organisation_id": orgs[g["responsible"]]},
                                      actor=actor, context=ctx, refresh=False)["id"]
    for key, period, value, state in demo.MEASUREMENTS:
        m = create_measurement(session, {"goal_id": goals[key], "period": period, "value": value,
                                         "source": "manual", "evidence_note": "Exempelvärde (påhittat)"},
                               actor=actor, context=ctx)
        if state in ("submitted", "approved"):
            decide_measurement(session, m["id"], "submit", actor=actor, context=ctx)
        if state == "approved":
            decide_measurement(session, m["id"], "approve", actor=demo.EXAMPLE_APPROVER, context=ctx)
    activities: dict[str, int] = {}
    for a in demo.ACTIVITIES:
        data = {k: v for k, v in a.items() if k not in ("org", "goals")}
        activities[a["title"]] = create_activity(
            session, {**data, "partnership_id": p["id"], "organisation_id": orgs[a["org"]], "is_example": True,
                      "goal_ids": [goals[k] for k in a["goals"]]}, actor=actor, context=ctx)["id"]
    for c in demo.CONTRIBUTIONS:
        data = {k: v for k, v in c.items() if k != "org"}
        create_contribution(session, {**data, "partnership_id": p["id"], "organisation_id": orgs[c["org"]],
                                      "is_example": True}, actor=actor, context=ctx)
    refreshed = refresh_statistic_goals(session, goal_ids=[goals["jobs"]])
    return {"created": True, "partnership_id": p["id"], "goals": goals, "organisations": orgs,
            "areas": len(areas), "area_source": area_source, "statistics": refreshed}


def find_partnership_ids(session: Session, name: str) -> list[int]:
    return list(session.scalars(select(Partnership.id).where(Partnership.name == name,
                                                             Partnership.deleted_at.is_(None))))


def example_partnership_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Partnership.id).where(Partnership.is_example.is_(True),
                                                             Partnership.deleted_at.is_(None))))


def search_organisation(session: Session, name: str) -> Organisation | None:
    return session.scalars(select(Organisation).where(func.lower(Organisation.name) == name.lower(),
                                                      Organisation.deleted_at.is_(None)).limit(1)).first()


