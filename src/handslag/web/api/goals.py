"""JSON API of the goals domain: partnerships (handslag), organisations, goals, measurements with approval,
activities, contributions, progress, gap to parity, Excel round trip and the audit log.

Conventions:

* Lists are paginated (``limit`` ≤ 500, ``offset``) and answer ``{"items", "total", "limit", "offset"}``.
* Every entity carries ``version``; GET and writes return it as ``ETag: "<version>"``. PATCH needs
  ``If-Match: "<version>"`` (428 without it); a stale version gets 409 and changes nothing. DELETE and
  workflow actions check ``If-Match`` when it is sent.
* Deleting is soft (the entity disappears from lists and GETs; the audit log keeps it).
* Who acts comes from :func:`handslag.web.deps.get_actor`. Permissions are checked by :func:`require`,
  which asks ``app.state.authorize(request, actor, permission)`` when the auth layer has installed it
  (and allows everything until then).
* Visibility: a user whose role is in ``goals_repo.MEMBER_SCOPED_ROLES`` (``partner_contributor``) sees
  only the partnerships where their organisation is a member, with their goals, measurements, activities
  and contributions; anything else answers 404 (lists leave it out), also for their writes.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, File, Header, HTTPException, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from handslag.goals.gap import Projection
from handslag.goals.progress import StatusRule
from handslag.goals.schemas import (
    ActivityIn,
    ActivityOut,
    ActivityPatch,
    AuditOut,
    ContributionIn,
    ContributionOut,
    ContributionPatch,
    DecisionIn,
    GoalIn,
    GoalOut,
    GoalPatch,
    MeasurementIn,
    MeasurementOut,
    MeasurementPatch,
    OrganisationIn,
    OrganisationOut,
    OrganisationPatch,
    PartnershipIn,
    PartnershipOut,
    PartnershipPatch,
)
from handslag.store import audit
from handslag.store import goals_repo as repo
from handslag.web.deps import get_actor, get_session

T = TypeVar("T")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# ---- permissions, versions, context --------------------------------------------------------------------

PERMISSIONS = {
    "goals:read": "see partnerships, goals, measurements, activities, contributions",
    "goals:write": "create and change partnerships, organisations, goals, activities, contributions",
    "measurements:enter": "enter, edit and submit measurements",
    "measurements:approve": "approve or reject submitted measurements",
    "audit:read": "read the audit log",
}


def require(permission: str):
    """Dependency: the acting user, after checking ``permission`` with ``app.state.authorize`` if installed."""

    def dependency(request: Request) -> str:
        actor = get_actor(request)
        authorize = getattr(request.app.state, "authorize", None)
        if authorize is not None and not authorize(request, actor, permission):
            raise HTTPException(403, f"{actor} lacks the permission {permission!r}")
        return actor

    dependency.__name__ = f"require_{permission.replace(':', '_')}"
    return Depends(dependency)


_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def parse_if_match(value: str | None, *, required: bool) -> int | None:
    if value is None or not value.strip():
        if required:
            raise HTTPException(428, 'send If-Match: "<version>" (the ETag of the version you changed)')
        return None
    m = _ETAG.match(value)
    if not m:
        raise HTTPException(400, f'If-Match must be a version such as "3", got {value!r}')
    return int(m[1])


IfMatch = Annotated[str | None, Header(alias="If-Match", description='The version you read, e.g. "3"')]


def get_visibility(request: Request) -> repo.Visibility | None:
    """What the logged-in user may see (None: everything; see ``goals_repo.visibility_for``)."""
    user = getattr(request.state, "user", None)
    if user is None:
        return None
    return repo.visibility_for(getattr(user, "role", None), getattr(user, "organisation_id", None))


Seen = Annotated[repo.Visibility | None, Depends(get_visibility)]


def _ctx(request: Request) -> dict:
    return {"via": "api", "request": f"{request.method} {request.url.path}"}


def _etag(response: Response, body: dict) -> dict:
    response.headers["ETag"] = f'"{body["version"]}"'
    return body


def _created(request: Request, response: Response, body: dict) -> dict:
    response.status_code = 201
    response.headers["Location"] = f"{request.url.path.rstrip('/')}/{body['id']}"
    return _etag(response, body)


def _patch_dict(patch: BaseModel) -> dict:
    return patch.model_dump(exclude_unset=True, mode="python")


Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, description="rows to skip")]
SessionDep = Annotated[Session, Depends(get_session)]

NOT_FOUND = {404: {"description": "Not found"}}
WRITE_ERRORS = {409: {"description": "Stale version or a state that does not allow the change"},
                422: {"description": "Invalid input"}, 428: {"description": "If-Match missing"}}


# ==== organisations ======================================================================================

organisations = APIRouter(prefix="/organisations", tags=["organisations"])


@organisations.get("", response_model=Page[OrganisationOut], summary="List organisations")
def list_organisations(session: SessionDep, q: str | None = None, type: str | None = None,
                       limit: Limit = 50, offset: Offset = 0, _: str = require("goals:read")):
    return repo.list_organisations(session, q=q, type=type, limit=limit, offset=offset).as_dict()


@organisations.post("", response_model=OrganisationOut, status_code=201, responses=WRITE_ERRORS)
def create_organisation(body: OrganisationIn, request: Request, response: Response, session: SessionDep,
                        actor: str = require("goals:write")):
    return _created(request, response, repo.create_organisation(session, body, actor=actor, context=_ctx(request)))


@organisations.get("/{organisation_id}", response_model=OrganisationOut, responses=NOT_FOUND)
def get_organisation(organisation_id: int, response: Response, session: SessionDep,
                     _: str = require("goals:read")):
    return _etag(response, repo.get_organisation(session, organisation_id))


@organisations.patch("/{organisation_id}", response_model=OrganisationOut, responses={**NOT_FOUND, **WRITE_ERRORS})
def update_organisation(organisation_id: int, body: OrganisationPatch, request: Request, response: Response,
                        session: SessionDep, if_match: IfMatch = None, actor: str = require("goals:write")):
    version = parse_if_match(if_match, required=True)
    return _etag(response, repo.update_organisation(session, organisation_id, _patch_dict(body),
                                                    expected_version=version, actor=actor, context=_ctx(request)))


@organisations.delete("/{organisation_id}", status_code=204, responses={**NOT_FOUND, **WRITE_ERRORS})
def delete_organisation(organisation_id: int, request: Request, session: SessionDep, if_match: IfMatch = None,
                        actor: str = require("goals:write")):
    repo.delete_organisation(session, organisation_id, actor=actor,
                             expected_version=parse_if_match(if_match, required=False), context=_ctx(request))
    return Response(status_code=204)


# ==== partnerships =======================================================================================

partnerships = APIRouter(prefix="/partnerships", tags=["partnerships"])


@partnerships.get("", response_model=Page[PartnershipOut], summary="List partnerships (handslag)")
def list_partnerships(session: SessionDep, q: str | None = Query(None, description="name contains"),
                      area_code: str | None = Query(None, description="has this area"),
                      organisation_id: int | None = Query(None, description="has this member"),
                      is_example: bool | None = None, limit: Limit = 50, offset: Offset = 0,
                      _: str = require("goals:read"), seen: Seen = None):
    return repo.list_partnerships(session, q=q, area_code=area_code, organisation_id=organisation_id,
                                  is_example=is_example, limit=limit, offset=offset, visibility=seen).as_dict()


@partnerships.post("", response_model=PartnershipOut, status_code=201, responses=WRITE_ERRORS)
def create_partnership(body: PartnershipIn, request: Request, response: Response, session: SessionDep,
                       actor: str = require("goals:write")):
    return _created(request, response, repo.create_partnership(session, body, actor=actor, context=_ctx(request)))


@partnerships.get("/{partnership_id}", response_model=PartnershipOut, responses=NOT_FOUND)
def get_partnership(partnership_id: int, response: Response, session: SessionDep, _: str = require("goals:read"),
                    seen: Seen = None):
    return _etag(response, repo.get_partnership(session, partnership_id, visibility=seen))


@partnerships.patch("/{partnership_id}", response_model=PartnershipOut, responses={**NOT_FOUND, **WRITE_ERRORS},
                    description="Fields sent replace the current ones; `areas` and `members` replace the lists.")
def update_partnership(partnership_id: int, body: PartnershipPatch, request: Request, response: Response,
                       session: SessionDep, if_match: IfMatch = None, actor: str = require("goals:write")):
    version = parse_if_match(if_match, required=True)
    return _etag(response, repo.update_partnership(session, partnership_id, _patch_dict(body),
                                                   expected_version=version, actor=actor, context=_ctx(request)))


@partnerships.delete("/{partnership_id}", status_code=204, responses={**NOT_FOUND, **WRITE_ERRORS},
                     description="Soft-deletes the partnership with its goals, measurements, activities and "
                                 "contributions.")
def delete_partnership(partnership_id: int, request: Request, session: SessionDep, if_match: IfMatch = None,
                       actor: str = require("goals:write")):
    repo.delete_partnership(session, partnership_id, actor=actor,
                            expected_version=parse_if_match(if_match, required=False), context=_ctx(request))
    return Response(status_code=204)


@partnerships.get("/{partnership_id}/dashboard", responses=NOT_FOUND,
                  summary="One-page status: goals with status and forecast, activities, contributions")
def partnership_dashboard(partnership_id: int, session: SessionDep,
                          on_track: float = Query(0.10, ge=0, le=1), at_risk: float = Query(0.25, ge=0, le=1),
                          _: str = require("goals:read"), seen: Seen = None) -> dict[str, Any]:
    return repo.partnership_dashboard(session, partnership_id, rule=_rule(on_track, at_risk), visibility=seen)


@partnerships.get("/{partnership_id}/workbook", responses={**NOT_FOUND, 200: {"content": {XLSX: {}}}},
                  response_class=Response, summary="Download goals, measurements and activities as Excel")
def download_workbook(partnership_id: int, session: SessionDep, _: str = require("goals:read"), seen: Seen = None):
    data = repo.export_workbook(session, partnership_id, visibility=seen)
    name = f"handslag_{partnership_id}_{date.today().isoformat()}.xlsx"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@partnerships.post("/{partnership_id}/workbook", responses={**NOT_FOUND, **WRITE_ERRORS},
                   summary="Upload a filled-in workbook (all rows or nothing)",
                   description="422 lists every problem as {file, sheet, row, column, reason}; nothing is written "
                               "then. `dry_run=true` only validates.")
async def upload_workbook(partnership_id: int, request: Request, session: SessionDep,
                          file: UploadFile = File(..., description=".xlsx made by the download"),
                          dry_run: bool = False, actor: str = require("goals:write")) -> dict[str, Any]:
    data = await file.read()
    return repo.import_workbook(session, partnership_id, data, filename=file.filename or "upload.xlsx",
                                actor=actor, dry_run=dry_run)


# ==== goals ==============================================================================================

goals = APIRouter(prefix="/goals", tags=["goals"])


def _rule(on_track: float, at_risk: float) -> StatusRule:
    try:
        return StatusRule(on_track=on_track, at_risk=at_risk)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@goals.get("", response_model=Page[GoalOut])
def list_goals(session: SessionDep, partnership_id: int | None = None, kind: str | None = None,
               indicator: str | None = None, responsible_organisation_id: int | None = None,
               limit: Limit = 50, offset: Offset = 0, _: str = require("goals:read"), seen: Seen = None):
    return repo.list_goals(session, partnership_id=partnership_id, kind=kind, indicator=indicator,
                           responsible_organisation_id=responsible_organisation_id, limit=limit,
                           offset=offset, visibility=seen).as_dict()


@goals.post("", response_model=GoalOut, status_code=201, responses=WRITE_ERRORS,
            description="A statistic-linked goal gets its actuals from the statistics in the store at once.")
def create_goal(body: GoalIn, request: Request, response: Response, session: SessionDep,
                actor: str = require("goals:write")):
    return _created(request, response, repo.create_goal(session, body, actor=actor, context=_ctx(request)))


@goals.post("/refresh", summary="Fill the actuals of all statistic-linked goals from the store")
def refresh_all(session: SessionDep, indicator: list[str] | None = Query(None),
                _: str = require("goals:write")) -> list[dict[str, Any]]:
    return repo.refresh_statistic_goals(session, indicators=indicator)


@goals.get("/{goal_id}", response_model=GoalOut, responses=NOT_FOUND)
def get_goal(goal_id: int, response: Response, session: SessionDep, _: str = require("goals:read"),
             seen: Seen = None):
    return _etag(response, repo.get_goal(session, goal_id, visibility=seen))


@goals.patch("/{goal_id}", response_model=GoalOut, responses={**NOT_FOUND, **WRITE_ERRORS})
def update_goal(goal_id: int, body: GoalPatch, request: Request, response: Response, session: SessionDep,
                if_match: IfMatch = None, actor: str = require("goals:write")):
    version = parse_if_match(if_match, required=True)
    return _etag(response, repo.update_goal(session, goal_id, _patch_dict(body), expected_version=version,
                                            actor=actor, context=_ctx(request)))


@goals.delete("/{goal_id}", status_code=204, responses={**NOT_FOUND, **WRITE_ERRORS})
def delete_goal(goal_id: int, request: Request, session: SessionDep, if_match: IfMatch = None,
                actor: str = require("goals:write")):
    repo.delete_goal(session, goal_id, actor=actor, expected_version=parse_if_match(if_match, required=False),
                     context=_ctx(request))
    return Response(status_code=204)


@goals.get("/{goal_id}/progress", responses=NOT_FOUND,
           summary="Expected path, actual vs expected, status and forecast",
           description="Status rule: shortfall = expected share of the planned change − achieved share; on track "
                       "≤ `on_track`, at risk ≤ `at_risk`, else off track; after the target year an unreached "
                       "goal is at most at risk. Forecast: OLS line with a prediction interval at `level`.")
def goal_progress(goal_id: int, session: SessionDep, on_track: float = Query(0.10, ge=0, le=1),
                  at_risk: float = Query(0.25, ge=0, le=1), level: float = Query(0.8, gt=0, lt=1),
                  _: str = require("goals:read"), seen: Seen = None) -> dict[str, Any]:
    return repo.goal_progress(session, goal_id, rule=_rule(on_track, at_risk), level=level, visibility=seen)


@goals.post("/{goal_id}/refresh", responses=NOT_FOUND, summary="Fill this goal's actuals from the statistics")
def refresh_goal(goal_id: int, session: SessionDep, _: str = require("goals:write")) -> list[dict[str, Any]]:
    repo.get_goal(session, goal_id)
    return repo.refresh_statistic_goals(session, goal_ids=[goal_id])


# ==== measurements =======================================================================================

measurements = APIRouter(prefix="/measurements", tags=["measurements"])


@measurements.get("", response_model=Page[MeasurementOut])
def list_measurements(session: SessionDep, goal_id: int | None = None, partnership_id: int | None = None,
                      state: str | None = None, source: str | None = None, period: str | None = None,
                      limit: Limit = 50, offset: Offset = 0, _: str = require("goals:read"), seen: Seen = None):
    return repo.list_measurements(session, goal_id=goal_id, partnership_id=partnership_id, state=state,
                                  source=source, period=period, limit=limit, offset=offset,
                                  visibility=seen).as_dict()


@measurements.post("", response_model=MeasurementOut, status_code=201, responses=WRITE_ERRORS,
                   description="Created as a draft; submit it, then someone else approves it.")
def create_measurement(body: MeasurementIn, request: Request, response: Response, session: SessionDep,
                       actor: str = require("measurements:enter"), seen: Seen = None):
    return _created(request, response, repo.create_measurement(session, body, actor=actor, context=_ctx(request),
                                                               visibility=seen))


@measurements.get("/{measurement_id}", response_model=MeasurementOut, responses=NOT_FOUND)
def get_measurement(measurement_id: int, response: Response, session: SessionDep, _: str = require("goals:read"),
                    seen: Seen = None):
    return _etag(response, repo.get_measurement(session, measurement_id, visibility=seen))


@measurements.patch("/{measurement_id}", response_model=MeasurementOut, responses={**NOT_FOUND, **WRITE_ERRORS},
                    description="Only drafts and rejected measurements can change (a rejected one becomes a draft).")
def update_measurement(measurement_id: int, body: MeasurementPatch, request: Request, response: Response,
                       session: SessionDep, if_match: IfMatch = None, actor: str = require("measurements:enter"),
                       seen: Seen = None):
    version = parse_if_match(if_match, required=True)
    return _etag(response, repo.update_measurement(session, measurement_id, _patch_dict(body),
                                                   expected_version=version, actor=actor, context=_ctx(request),
                                                   visibility=seen))


@measurements.delete("/{measurement_id}", status_code=204, responses={**NOT_FOUND, **WRITE_ERRORS})
def delete_measurement(measurement_id: int, request: Request, session: SessionDep, if_match: IfMatch = None,
                       actor: str = require("measurements:enter"), seen: Seen = None):
    repo.delete_measurement(session, measurement_id, actor=actor,
                            expected_version=parse_if_match(if_match, required=False), context=_ctx(request),
                            visibility=seen)
    return Response(status_code=204)


def _decide(action: str, permission: str):
    def endpoint(measurement_id: int, request: Request, response: Response, session: SessionDep,
                 body: DecisionIn | None = None, if_match: IfMatch = None, actor: str = require(permission),
                 seen: Seen = None):
        return _etag(response, repo.decide_measurement(
            session, measurement_id, action, actor=actor, reason=body.reason if body else None,
            expected_version=parse_if_match(if_match, required=False), context=_ctx(request), visibility=seen))

    endpoint.__name__ = f"{action}_measurement"
    return endpoint


for _action, _perm, _text in [
    ("submit", "measurements:enter", "draft → submitted"),
    ("withdraw", "measurements:enter", "submitted → draft"),
    ("approve", "measurements:approve", "submitted → approved (not by the person who entered it)"),
    ("reject", "measurements:approve", "submitted → rejected (a reason is required)"),
    ("reopen", "measurements:enter", "rejected → draft"),
]:
    measurements.add_api_route(f"/{{measurement_id}}/{_action}", _decide(_action, _perm), methods=["POST"],
                               response_model=MeasurementOut, summary=f"{_action.capitalize()}: {_text}",
                               responses={**NOT_FOUND, 409: {"description": "not allowed in this state"}})


@measurements.put("/{measurement_id}/attachment", response_model=MeasurementOut,
                  responses={**NOT_FOUND, **WRITE_ERRORS}, summary="Attach an evidence file (≤ 10 MB)")
async def put_attachment(measurement_id: int, request: Request, response: Response, session: SessionDep,
                         file: UploadFile = File(...), if_match: IfMatch = None,
                         actor: str = require("measurements:enter"), seen: Seen = None):
    data = await file.read()
    return _etag(response, repo.attach_to_measurement(
        session, measurement_id, filename=file.filename or "attachment", content_type=file.content_type, data=data,
        actor=actor, expected_version=parse_if_match(if_match, required=False), context=_ctx(request),
        visibility=seen))


@measurements.get("/{measurement_id}/attachment", response_class=Response, responses=NOT_FOUND)
def get_attachment(measurement_id: int, session: SessionDep, _: str = require("goals:read"), seen: Seen = None):
    name, media_type, data = repo.measurement_attachment(session, measurement_id, visibility=seen)
    safe = re.sub(r'["\\\r\n]', "_", name)
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{safe}"'})


# ==== activities =========================================================================================

activities = APIRouter(prefix="/activities", tags=["activities"])


@activities.get("", response_model=Page[ActivityOut], summary="The action plan")
def list_activities(session: SessionDep, partnership_id: int | None = None, organisation_id: int | None = None,
                    goal_id: int | None = None, status: str | None = None, limit: Limit = 50,
                    offset: Offset = 0, _: str = require("goals:read"), seen: Seen = None):
    return repo.list_activities(session, partnership_id=partnership_id, organisation_id=organisation_id,
                                goal_id=goal_id, status=status, limit=limit, offset=offset,
                                visibility=seen).as_dict()


@activities.post("", response_model=ActivityOut, status_code=201, responses=WRITE_ERRORS)
def create_activity(body: ActivityIn, request: Request, response: Response, session: SessionDep,
                    actor: str = require("goals:write")):
    return _created(request, response, repo.create_activity(session, body, actor=actor, context=_ctx(request)))


@activities.get("/{activity_id}", response_model=ActivityOut, responses=NOT_FOUND)
def get_activity(activity_id: int, response: Response, session: SessionDep, _: str = require("goals:read"),
                 seen: Seen = None):
    return _etag(response, repo.get_activity(session, activity_id, visibility=seen))


@activities.patch("/{activity_id}", response_model=ActivityOut, responses={**NOT_FOUND, **WRITE_ERRORS})
def update_activity(activity_id: int, body: ActivityPatch, request: Request, response: Response,
                    session: SessionDep, if_match: IfMatch = None, actor: str = require("goals:write")):
    version = parse_if_match(if_match, required=True)
    return _etag(response, repo.update_activity(session, activity_id, _patch_dict(body), expected_version=version,
                                                actor=actor, context=_ctx(request)))


@activities.delete("/{activity_id}", status_code=204, responses={**NOT_FOUND, **WRITE_ERRORS})
def delete_activity(activity_id: int, request: Request, session: SessionDep, if_match: IfMatch = None,
                    actor: str = require("goals:write")):
    repo.delete_activity(session, activity_id, actor=actor,
                         expected_version=parse_if_match(if_match, required=False), context=_ctx(request))
    return Response(status_code=204)


# ==== contributions ======================================================================================

contributions = APIRouter(prefix="/contributions", tags=["contributions"])


class ContributionTotal(BaseModel):
    organisation_id: int
    organisation_name: str
    kind: str
    unit: str
    amount: float
    value_sek: float | None
    entries: int


@contributions.get("", response_model=Page[ContributionOut], summary="The contribution ledger")
def list_contributions(session: SessionDep, partnership_id: int | None = None, organisation_id: int | None = None,
                       kind: str | None = None, activity_id: int | None = None, date_from: date | None = None,
                       date_to: date | None = None, limit: Limit = 50, offset: Offset = 0,
                       _: str = require("goals:read"), seen: Seen = None):
    return repo.list_contributions(session, partnership_id=partnership_id, organisation_id=organisation_id, kind=kind,
                                   activity_id=activity_id, date_from=date_from, date_to=date_to, limit=limit,
                                   offset=offset, visibility=seen).as_dict()


@contributions.get("/summary", response_model=list[ContributionTotal], summary="Totals per partner and kind")
def contribution_summary(session: SessionDep, partnership_id: int, _: str = require("goals:read"),
                         seen: Seen = None):
    repo.get_partnership(session, partnership_id, visibility=seen)
    return repo.contribution_summary(session, partnership_id)


@contributions.post("", response_model=ContributionOut, status_code=201, responses=WRITE_ERRORS)
def create_contribution(body: ContributionIn, request: Request, response: Response, session: SessionDep,
                        actor: str = require("goals:write")):
    return _created(request, response, repo.create_contribution(session, body, actor=actor, context=_ctx(request)))


@contributions.get("/{contribution_id}", response_model=ContributionOut, responses=NOT_FOUND)
def get_contribution(contribution_id: int, response: Response, session: SessionDep, _: str = require("goals:read"),
                     seen: Seen = None):
    return _etag(response, repo.get_contribution(session, contribution_id, visibility=seen))


@contributions.patch("/{contribution_id}", response_model=ContributionOut, responses={**NOT_FOUND, **WRITE_ERRORS})
def update_contribution(contribution_id: int, body: ContributionPatch, request: Request, response: Response,
                        session: SessionDep, if_match: IfMatch = None, actor: str = require("goals:write")):
    version = parse_if_match(if_match, required=True)
    return _etag(response, repo.update_contribution(session, contribution_id, _patch_dict(body),
                                                    expected_version=version, actor=actor, context=_ctx(request)))


@contributions.delete("/{contribution_id}", status_code=204, responses={**NOT_FOUND, **WRITE_ERRORS})
def delete_contribution(contribution_id: int, request: Request, session: SessionDep, if_match: IfMatch = None,
                        actor: str = require("goals:write")):
    repo.delete_contribution(session, contribution_id, actor=actor,
                             expected_version=parse_if_match(if_match, required=False), context=_ctx(request))
    return Response(status_code=204)


# ==== gap to parity ======================================================================================

gap = APIRouter(tags=["gap to parity"])


class RateOut(BaseModel):
    label: str
    rate: float
    year: int
    source: str
    denominator: float | None = None
    denominator_year: int | None = None
    denominator_source: str | None = None
    derived: bool
    derivation: str | None = None
    n_areas: int | None = None
    area_codes: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)


class StepOut(BaseModel):
    label: str
    expression: str
    value: float
    unit: str


class GapOut(BaseModel):
    indicator: str
    formula: str
    scale: float
    direction: str
    area: RateOut
    reference: RateOut
    rate_gap: float = Field(description="reference rate − area rate (percentage points)")
    persons: float = Field(description="rate gap / scale × area denominator; > 0: the area needs that many more")
    persons_rounded: int
    at_parity: bool
    headline: str
    headline_sv: str
    steps: list[StepOut]
    lags: dict[str, int]
    projection: dict[str, Any] | None = None
    warnings: list[str]
    as_of_year: int
    areas: list[dict[str, Any]] = Field(default_factory=list, description="the area-level inputs")


@gap.get("/gap", response_model=GapOut, summary="Gap to parity: persons by which an area set must change",
         description="`(reference_rate − area_rate) / 100 × area_denominator`, with every input's year and source. "
                     "Area set: `partnership_id`, or `areas` (comma-separated codes) with `division`. Reference: "
                     "`kommun` (of the areas), `kommun:1480`, `lan:14`, `riket`, or `areas:CODE,CODE`. When the "
                     "store has no published reference rate, it is derived from the reference's areas weighted by "
                     "their denominators and flagged as derived.",
         responses={404: {"description": "no statistics for these inputs"}})
def gap_to_parity(session: SessionDep, indicator: str = Query(..., examples=["employment_20_64"]),
                  areas: str | None = Query(None, description="comma-separated area codes"),
                  division: str | None = Query(None, examples=["DeSO2025"]),
                  partnership_id: int | None = None, reference: str = "kommun", year: int | None = None,
                  denominator_indicator: str | None = None, label: str | None = None,
                  exclude_area: bool = Query(False, description="compare with the reference without the area"),
                  project_to: int | None = Query(None, description="year of the population projection"),
                  growth: float | None = Query(None, description="annual growth of the denominator, %"),
                  projected_denominator: float | None = None, as_of_year: int | None = None,
                  _: str = require("goals:read"), seen: Seen = None):
    codes = [c.strip() for c in (areas or "").split(",") if c.strip()] or None
    if partnership_id is None and not (codes and division):
        raise HTTPException(422, "give partnership_id, or areas with division")
    projection = None
    if project_to is not None:
        try:
            projection = Projection(project_to, denominator=projected_denominator, annual_growth_pct=growth)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
    result, details = repo.compute_gap(session, indicator=indicator, division=division, codes=codes,
                                       partnership_id=partnership_id, reference=reference, year=year,
                                       denominator_indicator=denominator_indicator, label=label,
                                       exclude_area=exclude_area, as_of_year=as_of_year, projection=projection,
                                       visibility=seen)
    return {**result.as_dict(), "areas": details["areas"]}


# ==== audit ==============================================================================================

audit_router = APIRouter(tags=["audit"])


@audit_router.get("/audit", response_model=Page[AuditOut], summary="The audit log, newest first")
def audit_log(session: SessionDep, entity: str | None = None, entity_id: str | None = None,
              actor: str | None = None, action: str | None = None, since: datetime | None = None,
              until: datetime | None = None, limit: Limit = 50, offset: Offset = 0,
              _: str = require("audit:read")):
    items, total = audit.list_entries(session, entity=entity, entity_id=entity_id, actor=actor, action=action,
                                      since=since, until=until, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


router = APIRouter()
for _r in (organisations, partnerships, goals, measurements, activities, contributions, gap, audit_router):
    router.include_router(_r)
