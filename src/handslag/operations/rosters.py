"""Duty rosters: planned versus covered hours for security hosts (trygghetsvärdar) and local presence.

File columns: ``area_code``, ``date`` (``datum``), ``role`` (``roll``; default ``trygghetsvard``),
``planned_hours`` (``planerade_timmar``, ``planerat``), ``covered_hours`` (``bemannade_timmar``,
``utforda_timmar``, ``bemannat``). One row per area, day and role.

:func:`roster_coverage` gives per area, role and month: planned and covered hours, coverage
(``100 × covered / planned``, can exceed 100 with extra hours), days planned and days fully covered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from handslag.surveys.readers import AREA_ALIASES, AreaCheck, ProblemCollector
from handslag.surveys.tables import Table, pick_column, read_table

DEFAULT_ROLE = "trygghetsvard"
DATE_ALIASES = ("date", "datum", "day", "dag")
ROLE_ALIASES = ("role", "roll", "funktion")
PLANNED_ALIASES = ("planned_hours", "planned", "planerade_timmar", "planerat", "planerade", "plan_timmar")
COVERED_ALIASES = ("covered_hours", "covered", "bemannade_timmar", "bemannat", "utforda_timmar",
                   "utförda_timmar", "utfall_timmar", "actual_hours")


def normalise_role(value: str) -> str:
    text = str(value).strip().lower()
    text = text.replace("å", "a").replace("ä", "a").replace("ö", "o")
    return re.sub(r"[\s\-/]+", "_", text)


@dataclass
class ParsedRoster:
    frame: pd.DataFrame  # area_code, day, role, planned_hours, covered_hours, row
    file: str
    counts: dict[str, int] = field(default_factory=dict)


def read_rosters(path: str | Path | None = None, *, area_check: AreaCheck | None = None,
                 display_name: str | None = None, sheet: str | int | None = None, table: Table | None = None
                 ) -> ParsedRoster:
    if table is None:
        if path is None:
            raise ValueError("give a path or a table")
        table = read_table(path, sheet=sheet, display_name=display_name)
    frame = table.frame
    problems = ProblemCollector(table.file, table.sheet)
    acol, dcol = pick_column(frame, AREA_ALIASES), pick_column(frame, DATE_ALIASES)
    pcol, ccol = pick_column(frame, PLANNED_ALIASES), pick_column(frame, COVERED_ALIASES)
    rcol = pick_column(frame, ROLE_ALIASES)
    for name, col in (("area_code", acol), ("date", dcol), ("planned_hours", pcol), ("covered_hours", ccol)):
        if col is None:
            problems.add(1, name, "required column is missing")
    problems.raise_if_any("duty roster")
    n = len(frame)
    rows = np.arange(2, n + 2, dtype=np.int64)
    area = frame[acol].astype("string").str.strip()
    blank = area.isna().to_numpy()
    problems.rows(rows[blank], acol, "area code is blank")
    if area_check is not None and (~blank).any():
        bad = area_check(sorted(set(area[~blank].tolist())))
        hit = np.flatnonzero(area.isin(list(bad)).fillna(False).to_numpy())
        problems.rows(rows[hit], acol, lambda i: f"{bad[area.iloc[hit[i]]]}: {area.iloc[hit[i]]}",
                      summary="unknown area codes")
    day = pd.to_datetime(frame[dcol].astype("string").str.strip().str[:10], errors="coerce", format="%Y-%m-%d")
    bad_d = np.flatnonzero(day.isna().to_numpy())
    problems.rows(rows[bad_d], dcol, "date must be YYYY-MM-DD")
    role = (frame[rcol].astype("string").map(normalise_role, na_action="ignore").fillna(DEFAULT_ROLE)
            if rcol else pd.Series([DEFAULT_ROLE] * n, dtype="string"))
    hours = {}
    for name, col in (("planned_hours", pcol), ("covered_hours", ccol)):
        text = frame[col].astype("string").str.strip().str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~(values >= 0))
        problems.rows(rows[bad], col, "hours must be a number ≥ 0")
        hours[name] = values
    key = pd.DataFrame({"a": area, "d": day, "r": role})
    dup = np.flatnonzero(key.duplicated().to_numpy() & ~blank & day.notna().to_numpy())
    problems.rows(rows[dup], dcol, "this area, date and role appear twice", summary="duplicate days")
    problems.raise_if_any("duty roster")
    out = pd.DataFrame({"area_code": area.astype(object), "day": day.dt.date, "role": role.astype(object),
                        "planned_hours": hours["planned_hours"], "covered_hours": hours["covered_hours"],
                        "row": rows})
    return ParsedRoster(out, table.file, {"rows": n, "days": n})


def roster_coverage(shifts: pd.DataFrame, *, area: str = "area_code", start: str | None = None,
                    end: str | None = None) -> pd.DataFrame:
    """Per area, role and month: planned/covered hours, coverage %, days planned, days fully covered."""
    columns = [area, "role", "month", "planned_hours", "covered_hours", "coverage", "days_planned",
               "days_fully_covered"]
    if not len(shifts):
        return pd.DataFrame(columns=columns)
    df = shifts.copy()
    df["month"] = pd.to_datetime(df["day"]).dt.to_period("M").astype(str)
    df["planned_day"] = (df["planned_hours"] > 0).astype(int)
    df["full"] = ((df["planned_hours"] > 0) & (df["covered_hours"] >= df["planned_hours"])).astype(int)
    out = df.groupby([area, "role", "month"], as_index=False).agg(
        planned_hours=("planned_hours", "sum"), covered_hours=("covered_hours", "sum"),
        days_planned=("planned_day", "sum"), days_fully_covered=("full", "sum"))
    with np.errstate(all="ignore"):
        out["coverage"] = np.where(out["planned_hours"] > 0, 100 * out["covered_hours"] / out["planned_hours"],
                                   np.nan)
    if start:
        out = out[out["month"] >= str(pd.Period(start, "M"))]
    if end:
        out = out[out["month"] <= str(pd.Period(end, "M"))]
    return out[columns].reset_index(drop=True)
