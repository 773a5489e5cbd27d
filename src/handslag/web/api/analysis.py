"""Area types, type history, transitions and segregation indices (read-only; see ``docs/methods.md``).

Data that the store lacks (e.g. the SEI components for computed types) gives 422 with a message that
names the missing indicators; an unknown kommun or area gives 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from sqlalchemy.orm import Session

from handslag import analysis as an
from handslag.web.deps import get_session

router = APIRouter(tags=["analysis"])

KOMMUN = Path(..., pattern=r"^\d{4}$", description="Kommunkod, t.ex. 1480")
YEAR = Query(..., ge=1990, le=2100)
SOURCE = Query("official", pattern=r"^(official|computed)$",
               description="official: SCB:s typer; computed: SEI ur komponenterna i databasen")
LEVEL = Query("regso", pattern=r"^(regso|deso)$")
MAX_REPLICATES = 999

T = TypeVar("T")


def _run(fn: Callable[[], T]) -> T:
    """Analysis problems the user can fix → 422 with the message (unknown kommun/area stays 404)."""
    try:
        return fn()
    except an.AnalysisError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=" ".join(str(exc).split())) from exc


@router.get("/kommuner/{code}/area-types", summary="Områdestyper (1–5) of a kommun's areas in one year")
def kommun_area_types(code: str = KOMMUN, year: int = YEAR, source: str = SOURCE, level: str = LEVEL,
                      session: Session = Depends(get_session)) -> dict[str, Any]:
    types = _run(lambda: an.area_types_for(session, code, year, source, level))
    return an.area_types_payload(types)


@router.get("/kommuner/{code}/transitions", summary="Type transitions between two years (5 × 5 counts)")
def kommun_transitions(code: str = KOMMUN, year_from: int = Query(..., alias="from", ge=1990, le=2100),
                       year_to: int = Query(..., alias="to", ge=1990, le=2100), source: str = SOURCE,
                       level: str = LEVEL, session: Session = Depends(get_session)) -> dict[str, Any]:
    matrix = _run(lambda: an.transitions_for(session, code, year_from, year_to, source, level))
    return an.transitions_payload(matrix)


@router.get("/areas/{code}/type-history", summary="Every stored area type of one area")
def area_type_history(code: str, session: Session = Depends(get_session)) -> list[dict[str, Any]]:
    return an.type_history_records(an.type_history(session, code))


@router.get("/kommuner/{code}/segregation", summary="Segregation indices with bootstrap CIs and p-values")
def kommun_segregation(code: str = KOMMUN, year: int = YEAR,
                       groups: str = Query("foreign_born,born_in_sweden", max_length=300,
                                           description="Kommaseparerade gruppindikatorer; den första är fokal"),
                       level: str = LEVEL,
                       n_boot: int = Query(99, ge=0, le=MAX_REPLICATES),
                       n_perm: int = Query(99, ge=0, le=MAX_REPLICATES),
                       seed: int = Query(0, ge=0), session: Session = Depends(get_session)) -> dict[str, Any]:
    group_list = [g.strip() for g in groups.split(",") if g.strip()]
    result = _run(lambda: an.segregation_for(session, code, year, group_list, level, n_boot=n_boot,
                                             n_perm=n_perm, seed=seed))
    return an.segregation_payload(result)
