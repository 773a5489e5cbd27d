"""The area profile's evidence sections: survey indices, operational KPIs, partnerships and goals.

:func:`area_extras` gathers what ``templates/area/_surveys.html``, ``_operations.html`` and
``_partnerships.html`` show on ``/omrade/{code}``; the area route in :mod:`handslag.web.pages` calls it.

- **Surveys** (``surveys_repo.area_survey_overview``, indices only): the latest wave of every instrument
  covering the area, each index with its 95 % interval and ``n``, the two methods (share positive and linear
  mean) in separate tables, and the change against the previous wave of the same instrument with its
  interval. Suppressed groups (fewer respondents than the threshold, default 10) are shown as such.
- **Operations** (``operations_repo.area_operations``): work orders per month for the last 12 months up to
  the newest month in the data, the open backlog, roster coverage per role and month, the newest value of
  every superförvaltning KPI.
- **Partnerships** covering the area: those whose area set holds the area itself, its parent area, its
  kommun, or a Police-list area the area lies at least half inside (``goals_repo.police_area_members``),
  limited by ``goals_repo.visibility_for`` (a partner contributor sees only their own organisation's).

Survey results and operations are internal: nothing is gathered for anonymous visitors (``user is None``).
This module has no routes of its own; ``router`` is empty so that ``pages.install`` can include it.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handslag.errors import NotFound
from handslag.goals.schemas import area_kind
from handslag.store import goals_repo, operations_repo, surveys_repo
from handslag.store.models import Area, PoliceArea
from handslag.store.models.goals import Partnership, PartnershipArea
from handslag.surveys import DEFAULT_MIN_GROUP_SIZE

from .auth import ROLE_PERMISSIONS, CurrentUser

router = APIRouter(include_in_schema=False)

MONTHS_SHOWN = 12
ROLE_SV = {"trygghetsvard": "Trygghetsvärdar", "lokal_narvaro": "Lokal närvaro"}


def _can(user: CurrentUser | None, permission: str) -> bool:
    if user is None:
        return False
    return user.role == "admin" or permission in ROLE_PERMISSIONS.get(user.role, set())


# ---- formatting (Swedish decimal comma, as everywhere on the pages) ----------------------------------------

def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def fmt_dec(value: float | None, decimals: int = 1) -> str:
    """``62.54`` → ``62,5``; negative numbers with a real minus sign; ``–`` for nothing."""
    if not _finite(value):
        return "–"
    text = f"{value:,.{decimals}f}".replace(",", "\u00a0").replace(".", ",")
    return text.replace("-", "−")


def fmt_signed(value: float | None, decimals: int = 1) -> str:
    """A change: ``+3,2`` / ``−1,5`` / ``0,0``."""
    if not _finite(value):
        return "–"
    text = fmt_dec(value, decimals)
    return "+" + text if value > 0 and text.strip("0,") else text


def fmt_interval(low: float | None, high: float | None, decimals: int = 1) -> str:
    """A 95 % interval as ``[low; high]`` (unambiguous with negative bounds)."""
    if not (_finite(low) and _finite(high)):
        return "–"
    return f"[{fmt_dec(low, decimals)}; {fmt_dec(high, decimals)}]"


# ---- surveys ----------------------------------------------------------------------------------------------

def _index_row(row: dict, change: dict | None) -> dict:
    out = {"item": row["item"], "label": row.get("label") or row["item"], "suppressed": bool(row["suppressed"]),
           "n": row.get("n"), "value": fmt_dec(row.get("value")),
           "ci": fmt_interval(row.get("ci_low"), row.get("ci_high")), "ci_method": row.get("ci_method"),
           "weighted": bool(row.get("weighted")), "change": None}
    if change is not None:
        low, high = change.get("ci_low"), change.get("ci_high")
        out["change"] = {
            "suppressed": bool(change["suppressed"]), "difference": fmt_signed(change.get("difference")),
            "ci": fmt_interval(low, high), "ci_method": change.get("ci_method"),
            "excludes_zero": _finite(low) and _finite(high) and (low > 0 or high < 0)}
    return out


def survey_section(session: Session, area: Area, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> dict:
    """Latest wave per instrument with its index rows (per method) and the change since the previous wave."""
    try:
        overview = surveys_repo.area_survey_overview(session, area.code, division=area.division,
                                                     min_group_size=min_group_size, include_questions=False)
    except NotFound:
        return {"instruments": [], "min_group_size": min_group_size}
    by_instrument: dict[str, list[dict]] = {}
    for wave in overview["waves"]:  # sorted by fieldwork date
        by_instrument.setdefault(wave["instrument"] or "", []).append(wave)
    instruments = []
    for name, waves in by_instrument.items():
        latest = waves[-1]
        previous = waves[-2] if len(waves) > 1 else None
        changes = {}
        if previous is not None:
            changes = {(c["item"], c["method"]): c for c in overview["changes"]
                       if c["wave_a"] == previous["name"] and c["wave_b"] == latest["name"]
                       and c["item_type"] == "index"}
        methods = []
        for method in overview["methods"]:
            rows = [_index_row(r, changes.get((r["item"], r["method"]))) for r in latest["results"]
                    if r["item_type"] == "index" and r["method"] == method]
            if rows:
                methods.append({"method": method, "rows": rows})
        instruments.append({
            "instrument": name, "wave": latest["name"], "fielded_on": latest["fielded_on"],
            "fielded_to": latest["fielded_to"], "kind": latest["kind"],
            "respondents": latest["area_respondents"], "response_rate": latest["area_response_rate"],
            "previous": previous["name"] if previous else None, "methods": methods})
    return {"instruments": instruments, "min_group_size": overview["min_group_size"]}


# ---- operations -------------------------------------------------------------------------------------------

def operations_section(session: Session, area: Area) -> dict | None:
    """Work orders (last 12 months), backlog, roster coverage and the newest value of each KPI."""
    try:
        view = operations_repo.area_operations(session, area.code, division=area.division)
    except NotFound:
        return None
    months = view["work_orders"][-MONTHS_SHOWN:]
    work_orders = [{"month": r["month"], "reported": r["reported"], "resolved": r["resolved"],
                    "median_hours": fmt_dec(r.get("median_hours")), "due": r["due"],
                    "within_sla": r["within_sla"], "within_sla_share": fmt_dec(r.get("within_sla_share")),
                    "backlog_end": r["backlog_end"]} for r in months]
    first_month = months[0]["month"] if months else None
    rosters = [{"role": r["role"], "role_label": ROLE_SV.get(r["role"], r["role"]), "month": r["month"],
                "planned_hours": fmt_dec(r.get("planned_hours")), "covered_hours": fmt_dec(r.get("covered_hours")),
                "coverage": fmt_dec(r.get("coverage")), "days_planned": r["days_planned"],
                "days_fully_covered": r["days_fully_covered"]}
               for r in view["rosters"] if first_month is None or r["month"] >= first_month]
    rosters = rosters[-MONTHS_SHOWN * 4:]
    latest: dict[str, dict] = {}
    for r in view["kpis"]:  # sorted by factor, kpi, period: the last one per KPI is the newest
        if _finite(r.get("value")):
            latest[r["kpi"]] = r
    kpis = [{"kpi": r["kpi"], "factor": r["factor"], "name": r["name_sv"], "period": r["period"],
             "value": fmt_dec(r["value"]), "unit": r.get("unit") or "",
             "target": fmt_dec(r["target"]) if _finite(r.get("target")) else None,
             "goal_ids": r.get("goal_ids") or []} for r in latest.values()]
    default_sla = view["sla_hours"].get("default")
    return {"work_orders": work_orders, "backlog": months[-1]["backlog_end"] if months else None,
            "backlog_month": months[-1]["month"] if months else None,
            "sla_hours": fmt_dec(default_sla, 0), "rosters": rosters, "kpis": kpis, "flats": view["flats"],
            "empty": not (work_orders or rosters or kpis)}


# ---- partnerships -----------------------------------------------------------------------------------------

def _covering_partnerships(session: Session, area: Area) -> dict[int, list[str]]:
    """Partnership id → why it covers the area (``area``, ``parent``, ``kommun``, ``police:<name>``)."""
    why: dict[int, list[str]] = {}
    wanted = {(area.code, area.division): "area"}
    if area.parent_code and area.parent_division:
        wanted[(area.parent_code, area.parent_division)] = "parent"
    rows = session.scalars(select(PartnershipArea).join(Partnership, Partnership.id == PartnershipArea.partnership_id)
                           .where(Partnership.deleted_at.is_(None))).all()
    police_members: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for r in rows:
        kind = r.kind or area_kind(r.division)
        reason = wanted.get((r.code, r.division))
        if reason is None and kind == "kommun" and area.kommun_code and r.code == area.kommun_code:
            reason = "kommun"
        if reason is None and kind == "police" and area.level in ("deso", "regso"):
            key = (r.code, r.division)
            if key not in police_members:
                police_members[key] = set(goals_repo.police_area_members(session, r.code, r.division))
            if (area.code, area.division) in police_members[key]:
                reason = f"police:{r.name or _police_name(session, r.code, r.division)} " \
                         f"({r.division.removeprefix('Police')})"
        if reason is not None:
            why.setdefault(r.partnership_id, []).append(reason)
    return why


def _police_name(session: Session, code: str, division: str) -> str:
    """The name of a Police-list area referred to by panel id, the Police's id or name."""
    edition = division.removeprefix("Police")
    if not edition.isdigit():
        return code
    stmt = select(PoliceArea.panel_name, PoliceArea.name).where(PoliceArea.edition == int(edition))
    if code.isdigit():
        stmt = stmt.where((PoliceArea.panel_id == int(code)) | (PoliceArea.special_id == int(code)))
    else:
        stmt = stmt.where(func.lower(PoliceArea.name) == code.lower())
    row = session.execute(stmt.limit(1)).first()
    return (row[0] or row[1]) if row else code


def partnership_section(session: Session, area: Area, user: CurrentUser) -> list[dict]:
    """The partnerships covering the area that ``user`` may see, each with its goals and their status."""
    if not _can(user, "goals:read"):
        return []
    visibility = goals_repo.visibility_for(user.role, user.organisation_id)
    out = []
    for pid, reasons in _covering_partnerships(session, area).items():
        if not goals_repo.is_visible(session, visibility, pid):
            continue
        try:
            p = goals_repo.get_partnership(session, pid, visibility=visibility)
        except NotFound:
            continue
        goals = []
        for g in goals_repo.list_goals(session, partnership_id=pid, limit=500, visibility=visibility).items:
            progress = goals_repo.goal_progress(session, g["id"], visibility=visibility)
            latest = progress.get("latest") or {}
            rows = progress.get("measurements") or []
            goals.append({"id": g["id"], "title": g["title"], "status": progress["status"],
                          "unit": g["unit"], "target_value": g["target_value"], "target_year": g["target_year"],
                          "latest_period": rows[-1].get("period") if rows and latest else None,
                          "latest_value": latest.get("actual")})
        out.append({"id": pid, "name": p["name"], "is_example": p["is_example"], "period_start": p["period_start"],
                    "period_end": p["period_end"], "reasons": reasons, "goals": goals,
                    "members": [m["organisation_name"] for m in p["members"]]})
    return sorted(out, key=lambda p: (p["name"].lower(), p["id"]))


# ---- everything -------------------------------------------------------------------------------------------

def area_extras(session: Session, area: Area, user: CurrentUser | None, *,
                min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> dict:
    """The context of the three sections; empty for anonymous visitors (the results are internal)."""
    from .pages_goals import STATUS_ICON, STATUS_SV  # here: pages_goals imports pages, which imports us

    if user is None:
        return {"extras_visible": False, "surveys": None, "operations": None, "partnerships": []}
    return {"extras_visible": True, "STATUS_SV": STATUS_SV, "STATUS_ICON": STATUS_ICON,
            "surveys": survey_section(session, area, min_group_size=min_group_size)
            if _can(user, "surveys:read") else None,
            "operations": operations_section(session, area) if _can(user, "operations:read") else None,
            "partnerships": partnership_section(session, area, user)}
