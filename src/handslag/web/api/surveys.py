"""Tenant and safety surveys: instruments, waves, imports, results per area and wave comparisons.

Every result is suppressed below the minimum group size: 10 respondents by default, configurable with
``HANDSLAG_SURVEY_MIN_GROUP`` (or ``survey_min_group`` in the TOML file), never below 5; a request may ask
for a higher threshold (``min_group``) but never a lower one. Respondent ids and free-text answers are never
returned.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from handslag.store import surveys_repo as repo
from handslag.store.db import Database
from handslag.surveys import (
    DEFAULT_MIN_GROUP_SIZE,
    METHODS,
    check_min_group_size,
    frame_to_bytes,
    instrument_from_dict,
)
from handslag.web.deps import get_actor, get_database, get_session

router = APIRouter(tags=["surveys"])


def require(permission: str):
    """Dependency: the acting user, after ``app.state.authorize(request, actor, permission)`` when the auth
    layer has installed it (the same hook as the goals API; everything is allowed until then).

    Permissions used: ``surveys:read``, ``surveys:write``, ``operations:read``, ``operations:write``.
    """

    def dependency(request: Request) -> str:
        actor = get_actor(request)
        authorize = getattr(request.app.state, "authorize", None)
        if authorize is not None and not authorize(request, actor, permission):
            raise HTTPException(403, f"{actor} lacks the permission {permission!r}")
        return actor

    dependency.__name__ = f"require_{permission.replace(':', '_')}"
    return Depends(dependency)


READ = require("surveys:read")
WRITE = require("surveys:write")

UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
MethodParam = Literal["both", "share_positive", "linear_mean"]
FormatParam = Literal["json", "csv", "xlsx"]


def configured_min_group(request: Request) -> int:
    """The installation's survey suppression threshold (default 10, never below 5)."""
    settings = getattr(request.app.state, "settings", None)
    extra = getattr(settings, "extra", {}) or {}
    raw = os.environ.get("HANDSLAG_SURVEY_MIN_GROUP") or extra.get("survey_min_group")
    return check_min_group_size(int(raw)) if raw else DEFAULT_MIN_GROUP_SIZE


def _min_group(request: Request, requested: int | None) -> int:
    base = configured_min_group(request)
    return max(base, check_min_group_size(requested)) if requested is not None else base


def _methods(method: str) -> tuple[str, ...]:
    return METHODS if method == "both" else (method,)


def _file_response(frame, fmt: str, stem: str) -> Response:
    content, media = frame_to_bytes(frame, fmt)
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


def save_upload(upload: UploadFile, directory: str) -> Path:
    """Copy an uploaded file to ``directory`` keeping its suffix; reject unknown file types."""
    name = Path(upload.filename or "upload.csv").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise HTTPException(400, f"unsupported file type {suffix or '(none)'}; use CSV or Excel (.xlsx)")
    target = Path(directory) / f"upload{suffix}"
    with open(target, "wb") as out:
        shutil.copyfileobj(upload.file, out)
    return target


class QuestionIn(BaseModel):
    question_id: str = Field(max_length=100)
    text: str = ""
    type: Literal["scale", "text"] = "scale"
    scale_min: int | None = 1
    scale_max: int | None = 5
    direction: Literal["up", "down"] = "up"
    indices: list[str] = Field(default_factory=list, alias="index")
    positive: list[int] | None = None
    dont_know: list[int] = Field(default_factory=list)
    labels: dict[int, str] = Field(default_factory=dict)

    model_config = {"populate_by_name": True}


class InstrumentIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    title: str = ""
    description: str = ""
    questions: list[QuestionIn] = Field(min_length=1)


class WaveIn(BaseModel):
    instrument: str
    name: str = Field(min_length=1, max_length=200)
    fielded_on: date
    fielded_to: date | None = None
    sample_size: int | None = Field(None, ge=1)
    areas: dict[str, int | None] | list[str] | None = None
    division: str | None = Field(None, max_length=16)
    description: str | None = None


@router.get("/surveys/instruments", summary="Survey instruments")
def list_instruments(_: str = READ, session: Session = Depends(get_session)) -> dict:
    return {"items": repo.list_instruments(session)}


@router.post("/surveys/instruments", status_code=201, summary="Create (or replace) a survey instrument")
def create_instrument(body: InstrumentIn, replace: bool = Query(False), actor: str = WRITE,
                      session: Session = Depends(get_session)) -> dict:
    data = body.model_dump()
    for q in data["questions"]:
        q["index"] = q.pop("indices")
        q["labels"] = {int(k): v for k, v in q["labels"].items()}
        if q["positive"] is None:
            q.pop("positive")
    instrument = instrument_from_dict(data, file="request")
    repo.save_instrument(session, instrument, user=actor, replace=replace)
    return repo.load_instrument(session, instrument.name).as_dict()


@router.get("/surveys/instruments/{name}", summary="One survey instrument with its questions and indices")
def get_instrument(name: str, _: str = READ, session: Session = Depends(get_session)) -> dict:
    return repo.load_instrument(session, name).as_dict()


@router.get("/surveys/waves", summary="Survey waves with areas, sample sizes and response rates")
def list_waves(request: Request, instrument: str | None = Query(None, max_length=100),
               _: str = READ, session: Session = Depends(get_session)) -> dict:
    return {"items": repo.list_waves(session, instrument=instrument, min_group_size=configured_min_group(request))}


@router.post("/surveys/waves", status_code=201, summary="Create a survey wave")
def create_wave(request: Request, body: WaveIn, actor: str = WRITE,
                session: Session = Depends(get_session)) -> dict:
    wave = repo.create_wave(session, instrument=body.instrument, name=body.name, fielded_on=body.fielded_on,
                            fielded_to=body.fielded_to, sample_size=body.sample_size, areas=body.areas,
                            division=body.division, description=body.description, user=actor)
    return repo.wave_info(session, wave.id, min_group_size=configured_min_group(request))


@router.get("/surveys/waves/{wave}", summary="One survey wave")
def get_wave(request: Request, wave: str, _: str = READ, session: Session = Depends(get_session)) -> dict:
    return repo.wave_info(session, wave, min_group_size=configured_min_group(request))


@router.post("/surveys/waves/{wave}/import", summary="Import answers or aggregated results into a wave")
def import_wave_file(wave: str, file: UploadFile = File(...),
                     format: Literal["auto", "long", "wide", "limesurvey", "kobo", "aggregated"] = Form("auto"),
                     area_column: str | None = Form(None), respondent_column: str | None = Form(None),
                     division: str | None = Form(None), population: UploadFile | None = File(None),
                     db: Database = Depends(get_database), actor: str = WRITE) -> dict:
    with tempfile.TemporaryDirectory(prefix="handslag-survey-") as tmp:
        path = save_upload(file, tmp)
        pop_path = None
        if population is not None and population.filename:
            pop_dir = Path(tmp) / "population"
            pop_dir.mkdir()
            pop_path = save_upload(population, str(pop_dir))
        report = repo.import_survey_file(db, path, wave=wave, fmt=format, user=actor,
                                         display_name=Path(file.filename or path.name).name, population=pop_path,
                                         area_column=area_column or None,
                                         respondent_column=respondent_column or None, division=division or None)
    return report.as_dict()


@router.get("/surveys/waves/{wave}/results", summary="Results of a wave per area (suppressed below min_group)")
def wave_results(request: Request, wave: str, area: str | None = Query(None, max_length=32),
                 division: str | None = Query(None, max_length=16), method: MethodParam = "both",
                 questions: bool = Query(True, description="Include single questions, not only indices"),
                 min_group: int | None = Query(None, ge=5, le=1000), format: FormatParam = "json",
                 _: str = READ, session: Session = Depends(get_session)) -> Any:
    threshold = _min_group(request, min_group)
    frame = repo.wave_results(session, wave, area_code=area, division=division, methods=_methods(method),
                              min_group_size=threshold, include_questions=questions)
    if format != "json":
        return _file_response(frame, format, f"enkat-{wave}")
    return {"wave": repo.wave_info(session, wave, min_group_size=threshold), "min_group_size": threshold,
            "results": repo.records(frame.drop(columns=["wave"]))}


@router.get("/surveys/compare", summary="Change between two waves with its confidence interval")
def compare(request: Request, wave_a: str = Query(..., max_length=200), wave_b: str = Query(..., max_length=200),
            area: str | None = Query(None, max_length=32), division: str | None = Query(None, max_length=16),
            method: MethodParam = "both", min_group: int | None = Query(None, ge=5, le=1000),
            format: FormatParam = "json", _: str = READ, session: Session = Depends(get_session)) -> Any:
    threshold = _min_group(request, min_group)
    frame = repo.compare_wave_results(session, wave_a, wave_b, area_code=area, division=division,
                                      methods=_methods(method), min_group_size=threshold)
    if format != "json":
        return _file_response(frame, format, f"enkat-{wave_a}-{wave_b}")
    return {"wave_a": wave_a, "wave_b": wave_b, "min_group_size": threshold, "changes": repo.records(frame)}


@router.get("/areas/{code}/surveys", summary="Survey results for an area over all waves, with changes")
def area_surveys(request: Request, code: str, division: str | None = Query(None, max_length=16),
                 method: MethodParam = "both",
                 questions: bool = Query(True, description="Include single questions, not only indices"),
                 min_group: int | None = Query(None, ge=5, le=1000), format: FormatParam = "json",
                 _: str = READ, session: Session = Depends(get_session)) -> Any:
    threshold = _min_group(request, min_group)
    if format != "json":
        frame = repo.area_survey_table(session, code, division=division, methods=_methods(method),
                                       min_group_size=threshold, include_questions=questions)
        return _file_response(frame, format, f"enkater-{code}")
    return repo.area_survey_overview(session, code, division=division, methods=_methods(method),
                                     min_group_size=threshold, include_questions=questions)
