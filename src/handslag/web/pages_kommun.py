"""Municipality overview ``/kommun/{code}``: official area types over the years, transitions between
consecutive years, segregation indices with bootstrap intervals, the population share in types 1–2
and the municipality's areas on the Police list.

Every number comes from the analysis services in :mod:`handslag.analysis` (``area_types_for``,
``transitions_for``, ``segregation_for``) or, for the population share in types 1–2, from the stored
RegSO2020 ``population`` and ``area_type`` with the formula shown on the page. Results are cached in
memory per (newest import, kommun, year), so only the first view after an import pays for the
bootstrap/permutation replicates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from handslag import analysis as an
from handslag.cache import ResultCache, named_cache
from handslag.classify import TYPE_LABELS
from handslag.sources.police import LEVEL_LABELS_SV
from handslag.store import police_repo
from handslag.store.imports_repo import import_stamp
from handslag.store.models import Area, Observation
from handslag.store.observations_repo import observations_frame

from .api.maps import TYPE_DIVISION
from .pages import _clean, not_found, render

router = APIRouter(include_in_schema=False)

GROUPS = ("foreign_born", "born_in_sweden")
SEGREGATION_INDICES: tuple[tuple[str, str, str], ...] = (
    ("dissimilarity", "Olikhetsindex (D)", "Andel av de utrikes födda som skulle behöva flytta för en jämn fördelning"),
    ("theil_h", "Theils H (informationsindex)", "Hur mycket mindre blandade områdena är än kommunen som helhet"),
    ("isolation", "Isoleringsindex (xPx*)", "Andel utrikes födda i det område där en genomsnittlig utrikes född bor"),
    ("exposure", "Exponeringsindex (xPy*)", "Andel födda i Sverige i det område där en genomsnittlig utrikes född bor"),
)
N_BOOT = 199
N_PERM = 199
SEED = 0
CHALLENGE_TYPES = (1, 2)
CACHE_SIZE = 512
TYPE_COLORS = {1: "#a50026", 2: "#f46d43", 3: "#fee08b", 4: "#66bd63", 5: "#006837"}

T = TypeVar("T")


# --- cache ----------------------------------------------------------------------------------------------


def result_cache(request: Request) -> ResultCache:
    return named_cache(request.app.state, "kommun", CACHE_SIZE)


# --- formatting ---------------------------------------------------------------------------------------------


def dec(value: float | None, digits: int = 3) -> str:
    """Swedish decimal comma, fixed digits; ``–`` for a missing value."""
    if value is None or pd.isna(value):
        return "–"
    return f"{value:.{digits}f}".replace(".", ",").replace("-", "−")


def pct(share: float | None, digits: int = 1) -> str:
    if share is None or pd.isna(share):
        return "–"
    return f"{100 * share:.{digits}f}".replace(".", ",") + "\u00a0%"


def whole(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value:,.0f}".replace(",", "\u00a0")


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


# --- computations (each cached per kommun and year) -----------------------------------------------------


def _years(session: Session, kommun: str, indicator: str) -> list[int]:
    rows = session.scalars(select(Observation.year).join(
        Area, and_(Area.code == Observation.area_code, Area.division == Observation.division)).where(
        Observation.division == TYPE_DIVISION, Observation.indicator == indicator,
        Area.kommun_code == kommun).distinct()).all()
    return sorted(int(y) for y in rows)


def type_distribution(session: Session, kommun: str, year: int) -> dict[str, Any]:
    """Counts of RegSO2020 areas per official type (``area_types_for``)."""
    types = an.area_types_for(session, kommun, year, "official", "regso")
    counts = {int(k): v for k, v in an.type_counts(types["type"]).items()}
    untyped = int(types["type"].isna().sum())
    return {"year": int(year), "counts": counts, "untyped": untyped, "total": sum(counts.values()) + untyped,
            "division": types.attrs["division"], "source": ", ".join(sorted(set(types["source"])))}


def transition_table(session: Session, kommun: str, year_from: int, year_to: int) -> dict[str, Any]:
    """The 5 × 5 transition matrix (``transitions_for``) as table rows with counts and row shares."""
    matrix = an.transitions_for(session, kommun, year_from, year_to, "official", "regso")
    cells = {(int(r.type_from), int(r.type_to)): (int(r.count), _float(r.row_share))
             for r in matrix.itertuples()}
    labels = sorted({k[0] for k in cells} | {k[1] for k in cells})
    rows = []
    for t_from in labels:
        row_cells = [{"to": t_to, "count": cells[(t_from, t_to)][0], "share": cells[(t_from, t_to)][1],
                      "share_text": pct(cells[(t_from, t_to)][1], 0), "same": t_from == t_to} for t_to in labels]
        rows.append({"type": t_from, "cells": row_cells, "total": sum(c["count"] for c in row_cells)})
    col_totals = [sum(cells[(f, t)][0] for f in labels) for t in labels]
    return {"from": int(year_from), "to": int(year_to), "labels": labels, "rows": rows, "col_totals": col_totals,
            "total": int(matrix.attrs["n_areas"]), "changed": int(matrix.attrs["n_changed"]),
            "division": matrix.attrs.get("division")}


def segregation_row(session: Session, kommun: str, year: int) -> dict[str, Any]:
    """Indices for foreign-born vs born in Sweden over RegSO (``segregation_for`` with inference)."""
    result = an.segregation_for(session, kommun, year, list(GROUPS), "regso", n_boot=N_BOOT, n_perm=N_PERM,
                                seed=SEED)
    r = result.iloc[0]
    indices = {}
    for name, _label, _help in SEGREGATION_INDICES:
        value, lo, hi = _float(r.get(name)), _float(r.get(f"{name}_ci_low")), _float(r.get(f"{name}_ci_high"))
        p = _float(r.get(f"{name}_p_value"))
        indices[name] = {"value": value, "ci_low": lo, "ci_high": hi, "p_value": p,
                         "text": dec(value), "ci_text": f"{dec(lo)}–{dec(hi)}" if lo is not None else "–",
                         "p_text": dec(p)}
    notes = r.get("notes")
    return {"year": int(year), "division": str(r["division"]), "n_units": int(r["n_units"]),
            "population": float(r["population"]), "indices": indices,
            "notes": None if notes is None or pd.isna(notes) or notes == "" else str(notes)}


def share_types_1_2(session: Session, kommun: str, year: int) -> dict[str, Any] | None:
    """Population share living in official types 1–2 (RegSO2020, the same year's population):

        share = Σ population of areas with type 1 or 2 / Σ population of areas with a type

    Areas without a type or without a population figure are left out (and counted)."""
    obs = observations_frame(session, kommun=kommun, division=TYPE_DIVISION, indicators=["population", "area_type"],
                             years=[int(year)])
    if obs.empty:
        return None
    types = obs[obs["indicator"] == "area_type"]
    types = types[types["source"].str.contains("official", case=False, na=False)]
    if types.empty:
        return None
    wide = pd.DataFrame({
        "type": types.drop_duplicates("area_code").set_index("area_code")["value"],
        "population": obs[obs["indicator"] == "population"].drop_duplicates("area_code")
        .set_index("area_code")["value"]})
    used = wide.dropna()
    inside = used["type"].round().isin(CHALLENGE_TYPES)
    typed_pop = float(used["population"].sum())
    pop_1_2 = float(used.loc[inside, "population"].sum())
    return {"year": int(year), "share": pop_1_2 / typed_pop if typed_pop > 0 else None, "population_1_2": pop_1_2,
            "population_typed": typed_pop, "n_areas": int(len(used)), "n_areas_1_2": int(inside.sum()),
            "left_out": int(len(wide) - len(used)),
            "source": "SCB FolkmDesoLandKon (folkmängd), SCB IntGr5Socio (områdestyp)"}


def police_areas(session: Session, kommun: str) -> dict[str, Any]:
    editions = police_repo.editions(session)
    rows: dict[str, dict] = {}
    for edition in editions:
        for p in police_repo.police_list(session, edition, kommun):
            key = p.panel_name or p.name
            row = rows.setdefault(key, {"name": key, "levels": {}})
            row["levels"][edition] = p.level
    latest = editions[-1] if editions else None
    order = {lvl: i for i, lvl in enumerate(["sarskilt_utsatt", "risk", "utsatt"])}
    listed = sorted(rows.values(), key=lambda r: (order.get(r["levels"].get(latest), 9), r["name"]))
    return {"editions": editions, "latest": latest, "rows": listed,
            "n_latest": sum(1 for r in listed if latest in r["levels"])}


# --- the page -------------------------------------------------------------------------------------------------


def overview(session: Session, cache: ResultCache, kommun: str) -> dict[str, Any]:
    """Everything the overview shows, each part from the cache keyed on (import, kommun, year)."""
    stamp = import_stamp(session)
    type_years = cache.get(("type_years", stamp, kommun), lambda: _years(session, kommun, "area_type"))
    count_years = cache.get(("count_years", stamp, kommun), lambda: _years(session, kommun, GROUPS[0]))
    problems: list[str] = []

    def attempt(key: tuple, compute: Callable[[], T]) -> T | None:
        try:
            return cache.get(key, compute)
        except (an.AnalysisError, ValueError) as exc:  # data missing or unusable: say so, keep the rest
            problems.append(" ".join(str(exc).split()))
            return None

    distribution = [d for y in type_years if (d := attempt(("types", stamp, kommun, y),
                                                           lambda y=y: type_distribution(session, kommun, y)))]
    transitions = [t for a, b in zip(type_years, type_years[1:], strict=False)
                   if (t := attempt(("transitions", stamp, kommun, a, b),
                                    lambda a=a, b=b: transition_table(session, kommun, a, b)))]
    segregation = [s for y in count_years if (s := attempt(("segregation", stamp, kommun, y, N_BOOT, N_PERM, SEED),
                                                           lambda y=y: segregation_row(session, kommun, y)))]
    shares = [s for y in type_years if (s := cache.get(("share12", stamp, kommun, y),
                                                       lambda y=y: share_types_1_2(session, kommun, y)))]
    police = cache.get(("police", stamp, kommun), lambda: police_areas(session, kommun))
    return {"distribution": distribution, "transitions": transitions, "segregation": segregation,
            "shares": shares, "police": police, "problems": problems}


def chart_data(data: dict[str, Any]) -> dict[str, Any]:
    """The numbers the charts draw (the tables show the same numbers)."""
    return {
        "typeColors": TYPE_COLORS,
        "typeLabels": TYPE_LABELS,
        "types": [{"year": d["year"], "counts": d["counts"]} for d in data["distribution"]],
        "segregation": {
            "indices": [{"id": name, "label": label} for name, label, _ in SEGREGATION_INDICES],
            "years": [{"year": s["year"], **{k: {"value": v["value"], "low": v["ci_low"], "high": v["ci_high"]}
                                             for k, v in s["indices"].items()}} for s in data["segregation"]],
        },
        "shares": [{"year": s["year"], "share": s["share"]} for s in data["shares"]],
    }


@router.get("/kommun/{code}", response_class=HTMLResponse)
def kommun_overview(request: Request, code: str) -> HTMLResponse:
    if not (len(code) == 4 and code.isdigit()):
        return not_found(request, f"Det finns ingen kommun med koden {_clean(code, 10)!r}.")
    started = time.perf_counter()
    with request.app.state.db.session() as session:
        kommun = session.scalar(select(Area).where(Area.code == code, Area.level == "kommun"))
        if kommun is None:
            return not_found(request, f"Det finns ingen kommun med koden {code!r}.")
        has_map = session.scalar(select(func.count()).select_from(Area).where(
            Area.kommun_code == code, Area.level.in_(["deso", "regso"]),
            Area.geometry_sweref.is_not(None))) or 0
        data = overview(session, result_cache(request), code)
    elapsed_ms = (time.perf_counter() - started) * 1000
    response = render(request, "kommun/overview.html", {
        "kommun": kommun, "has_map": has_map > 0, **data, "charts": chart_data(data),
        "seg_indices": SEGREGATION_INDICES, "groups": GROUPS, "n_boot": N_BOOT, "n_perm": N_PERM, "seed": SEED,
        "type_division": TYPE_DIVISION, "type_colors": TYPE_COLORS, "police_labels": LEVEL_LABELS_SV,
        "fmt_pct": pct, "fmt_whole": whole})
    response.headers["Server-Timing"] = f"compute;dur={elapsed_ms:.1f}"
    return response
