"""Operations (superförvaltning): work orders, duty rosters, KPIs, SLA per category, the property register."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from handslag.operations import kpi_from_record
from handslag.store import operations_repo as repo
from handslag.store.db import Database
from handslag.store.surveys_repo import records
from handslag.surveys import frame_to_bytes
from handslag.surveys.tables import frames_to_xlsx
from handslag.web.deps import get_database, get_session

from .surveys import require, save_upload

router = APIRouter(tags=["operations"])
READ = require("operations:read")
WRITE = require("operations:write")
MONTH = r"^\d{4}-\d{2}$"


class KpiIn(BaseModel):
    name_sv: str = Field(min_length=1, max_length=200)
    unit: str = Field("antal", max_length=32)
    measure: Literal["manual", "work_orders_within_sla", "work_orders_median_hours", "work_orders_count",
                     "work_orders_per_100_flats", "roster_coverage"] = "manual"
    factor: int | None = Field(None, ge=1, le=8)
    name_en: str | None = None
    direction: Literal["up", "down", "none"] = "up"
    categories: list[str] = Field(default_factory=list)
    role: str | None = None
    target: float | None = None
    description: str = ""


class KpiValueIn(BaseModel):
    area_code: str = Field(max_length=32)
    division: str | None = Field(None, max_length=16)
    period: str = Field(max_length=10)
    value: float
    numerator: float | None = None
    denominator: float | None = None
    note: str | None = None


class GoalLinkIn(BaseModel):
    goal_id: int = Field(ge=1)
    area_code: str | None = Field(None, max_length=32)
    division: str | None = Field(None, max_length=16)
    note: str | None = None


class SlaIn(BaseModel):
    sla_hours: float = Field(gt=0, le=24 * 365)
    name_sv: str | None = None


@router.get("/areas/{code}/operations", summary="Work orders, rosters and superförvaltning KPIs of an area")
def area_operations(code: str, division: str | None = Query(None, max_length=16),
                    start: str | None = Query(None, alias="from", pattern=MONTH),
                    end: str | None = Query(None, alias="to", pattern=MONTH),
                    by_category: bool = Query(False), format: Literal["json", "csv", "xlsx"] = "json",
                    table: Literal["work_orders", "rosters", "kpis"] = Query(
                        "work_orders", description="Table for format=csv (xlsx has all three)"),
                    _: str = READ, session: Session = Depends(get_session)) -> Any:
    kwargs = dict(division=division, start=start, end=end, by_category=by_category)
    if format == "json":
        return repo.area_operations(session, code, **kwargs)
    tables = repo.area_operations_tables(session, code, **kwargs)
    tables["kpis"] = tables["kpis"].assign(goal_ids=[",".join(map(str, g)) for g in tables["kpis"]["goal_ids"]])
    if format == "xlsx":
        content = frames_to_xlsx(tables)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        content, media = frame_to_bytes(tables[table], "csv")
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="drift-{code}.{format}"'})


def _import(upload: UploadFile, run) -> dict:
    with tempfile.TemporaryDirectory(prefix="handslag-ops-") as tmp:
        path = save_upload(upload, tmp)
        return run(path, Path(upload.filename or path.name).name).as_dict()


@router.post("/operations/work-orders/import", summary="Import work orders / incidents")
def import_work_orders(file: UploadFile = File(...), source: str = Form("default", max_length=100),
                       crs: str | None = Form(None), division: str | None = Form(None),
                       db: Database = Depends(get_database), actor: str = WRITE) -> dict:
    return _import(file, lambda path, name: repo.import_work_orders(db, path, source=source, crs=crs or None,
                                                                    user=actor, display_name=name,
                                                                    division=division or None))


@router.post("/operations/rosters/import", summary="Import duty rosters (planned vs covered hours)")
def import_rosters(file: UploadFile = File(...), division: str | None = Form(None),
                   db: Database = Depends(get_database), actor: str = WRITE) -> dict:
    return _import(file, lambda path, name: repo.import_rosters(db, path, user=actor, display_name=name,
                                                                division=division or None))


@router.post("/operations/kpi-values/import", summary="Import manually reported KPI values")
def import_kpi_values(file: UploadFile = File(...), division: str | None = Form(None),
                      db: Database = Depends(get_database), actor: str = WRITE) -> dict:
    return _import(file, lambda path, name: repo.import_kpi_values(db, path, user=actor, display_name=name,
                                                                   division=division or None))


@router.get("/operations/kpis", summary="KPI definitions (the eight superförvaltning factors and others)")
def list_kpis(_: str = READ, session: Session = Depends(get_session)) -> dict:
    return {"items": [d.as_dict() for d in repo.list_kpis(session)]}


@router.put("/operations/kpis/{code}", summary="Create or change a KPI definition")
def put_kpi(code: str, body: KpiIn, _: str = WRITE, session: Session = Depends(get_session)) -> dict:
    definition = kpi_from_record({"code": code, **body.model_dump()})
    repo.ensure_default_kpis(session)
    repo.save_kpi(session, definition)
    return definition.as_dict()


@router.post("/operations/kpis/{code}/values", status_code=201, summary="Record one manual KPI value")
def post_kpi_value(code: str, body: KpiValueIn, actor: str = WRITE,
                   session: Session = Depends(get_session)) -> dict:
    return repo.record_kpi_value(session, code, area_code=body.area_code, division=body.division,
                                 period=body.period, value=body.value, numerator=body.numerator,
                                 denominator=body.denominator, note=body.note, user=actor)


@router.post("/operations/kpis/{code}/goals", status_code=201, summary="Link a KPI to a partnership goal")
def link_goal(code: str, body: GoalLinkIn, _: str = WRITE, session: Session = Depends(get_session)) -> dict:
    return repo.link_kpi_to_goal(session, code, body.goal_id, area_code=body.area_code, division=body.division,
                                 note=body.note)


@router.get("/operations/categories", summary="Work-order categories and their promised time to resolve")
def categories(_: str = READ, session: Session = Depends(get_session)) -> dict:
    return {"items": repo.list_categories(session)}


@router.put("/operations/categories/{category}", summary="Set the promised time to resolve for a category")
def put_category(category: str, body: SlaIn, _: str = WRITE, session: Session = Depends(get_session)) -> dict:
    return repo.set_sla(session, category, body.sla_hours, name_sv=body.name_sv)


@router.post("/properties/import", summary="Import a property register (placed in DeSO/RegSO)")
def import_properties(file: UploadFile = File(...), crs: str | None = Form(None),
                      allow_unassigned: bool = Form(False), db: Database = Depends(get_database),
                      actor: str = WRITE) -> dict:
    return _import(file, lambda path, name: repo.import_properties(db, path, crs=crs or None,
                                                                   allow_unassigned=allow_unassigned, user=actor,
                                                                   display_name=name))


@router.get("/properties", summary="The property register (optionally for one area)")
def list_properties(area: str | None = Query(None, max_length=32), division: str | None = Query(None, max_length=16),
                    _: str = READ, session: Session = Depends(get_session)) -> dict:
    frame = repo.list_properties(session, area_code=area, division=division)
    return {"total": len(frame), "items": records(frame)}
