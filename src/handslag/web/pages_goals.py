"""Pages of partnerships (handslag) and their goals: list, dashboard, goal page, measurement entry and
approval, Excel download and upload.

Routes (all need a login; anonymous users are sent to ``/logga-in?next=…``):

* ``GET /partnerskap`` – the partnerships the user may see (a ``partner_contributor`` only those where their
  organisation is a member: ``goals_repo.visibility_for``).
* ``GET /partnerskap/{id}`` – the dashboard: per goal baseline → target, latest actual, status light, chart
  of the expected path and the actuals (with a table alternative), forecast, gap to parity for
  statistic-linked goals with its computation; activities, budget vs spent, contributions.
* ``GET /partnerskap/{id}/arbetsbok`` – the Excel workbook; ``POST`` the same path uploads one
  (``goals:write``); every problem is listed as (file, sheet, row, column, reason) and nothing is written.
* ``GET /mal/{id}`` – a goal: progress, forecast, measurement history, entry form (``measurements:enter``,
  partner-reported goals), audit trail (``audit:read``).
* ``POST /mal/{id}/matvarden`` – enter a measurement (as a draft, or submitted at once).
* ``POST /matvarden/{id}/{åtgärd}`` – skicka-in, dra-tillbaka, oppna-igen (``measurements:enter``), godkann,
  avvisa (``measurements:approve``; four-eyes rule).
* ``GET /granskning`` – submitted measurements awaiting approval (``measurements:approve``).

Pages call :mod:`handslag.store.goals_repo` directly. Every form carries the CSRF token; bad input gives the
page again with a message (4xx), never a 500. Successful posts redirect (303) with ``?klart=<code>``.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from handslag.errors import Conflict, NotFound, Problem, ValidationFailed
from handslag.goals import demo
from handslag.goals.periods import parse_period
from handslag.store import audit
from handslag.store import goals_repo as repo
from handslag.store.models.goals import AuditEntry

from . import auth
from .auth import CurrentUser
from .pages import not_found, render, templates

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 20 * 1024 * 1024
MAX_ID = 2**31 - 1

# ---- Swedish labels --------------------------------------------------------------------------------------

STATUS_SV = {"on_track": "På väg", "at_risk": "Risk", "off_track": "Ur kurs", "no_data": "Inga data"}
STATUS_ICON = {"on_track": "●", "at_risk": "▲", "off_track": "■", "no_data": "○"}
STATUS_HELP = {"on_track": "högst 10 % av den planerade förändringen efter den förväntade banan",
               "at_risk": "mellan 10 och 25 % av den planerade förändringen efter banan",
               "off_track": "mer än 25 % av den planerade förändringen efter banan",
               "no_data": "inget godkänt mätvärde ännu"}
VERDICT_SV = {"likely": "målet nås troligen", "possible": "målet kan nås", "unlikely": "målet nås troligen inte",
              "unknown": "för få mätpunkter för en prognos"}
STATE_SV = {"draft": "Utkast", "submitted": "Inskickat", "approved": "Godkänt", "rejected": "Avvisat"}
KIND_SV = {"statistic": "Följs med statistik", "partner_reported": "Rapporteras av parterna"}
UNIT_SV = {"persons": "personer", "companies": "företag", "percentage_points": "procentenheter", "share": "%"}
MEASURE_SV = {"level": "nivå", "change": "förändring sedan basåret"}
SHAPE_SV = {"linear": "linjär", "front_loaded": "snabb start", "back_loaded": "långsam start",
            "s_curve": "S-kurva", "custom": "egen bana"}
DIRECTION_SV = {"increase": "ska öka", "decrease": "ska minska"}
ACTIVITY_SV = {"planned": "Planerad", "ongoing": "Pågår", "completed": "Avslutad", "cancelled": "Inställd"}
CONTRIBUTION_SV = {"money": "Pengar", "staff_hours": "Arbetstid", "in_kind": "Naturainsats"}
CONTRIBUTION_UNIT_SV = {"SEK": "kr", "hours": "timmar"}
MEMBER_SV = {"lead": "Sammankallande", "partner": "Part", "funder": "Finansiär", "observer": "Observatör",
             "other": "Övrig"}
SOURCE_SV = {"scb": "SCB", "kolada": "Kolada", "survey": "Enkät", "manual": "Inrapporterat"}
AUDIT_ACTION_SV = {"create": "skapade", "update": "ändrade", "delete": "tog bort", "submit": "skickade in",
                   "withdraw": "drog tillbaka", "approve": "godkände", "reject": "avvisade",
                   "reopen": "öppnade igen", "attach": "bifogade en fil till"}
AUDIT_ENTITY_SV = {"goal": "målet", "measurement": "mätvärdet"}
VIA_SV = {"api": "API", "web": "webbsidan", "excel": "Excel", "demo": "exempeldata", "statistics": "statistiken"}
ROLE_SV = {"admin": "administratör", "partnership_editor": "partnerskapsredaktör",
           "partner_contributor": "partnerrapportör", "viewer": "läsare"}

#: URL slug → (workflow action, permission)
ACTIONS = {"skicka-in": ("submit", "measurements:enter"), "dra-tillbaka": ("withdraw", "measurements:enter"),
           "oppna-igen": ("reopen", "measurements:enter"), "godkann": ("approve", "measurements:approve"),
           "avvisa": ("reject", "measurements:approve")}
DONE = {
    "sparat": "Mätvärdet sparades som utkast. Skicka in det när det är klart för granskning.",
    "inskickat": "Mätvärdet skickades in för granskning. En annan person med granskningsbehörighet godkänner det.",
    "tillbakadraget": "Mätvärdet drogs tillbaka och är ett utkast igen.",
    "oppnat": "Mätvärdet är ett utkast igen och kan skickas in på nytt.",
    "godkant": "Mätvärdet godkändes och räknas nu in i målets status.",
    "avvisat": "Mätvärdet avvisades. Den som matade in det ser motiveringen på målsidan.",
}
DONE_BY_ACTION = {"submit": "inskickat", "withdraw": "tillbakadraget", "reopen": "oppnat", "approve": "godkant",
                  "reject": "avvisat"}

GAP_STEP_SV = [("Area rate", "Områdets andel"), ("Reference rate", "Referensens andel"),
               ("Area denominator", "Områdets nämnare"), ("Rate gap", "Skillnad i andel"),
               ("Gap in persons", "Gap i personer"), ("Projected denominator", "Framskriven nämnare")]
GAP_UNIT_SV = {"persons": "personer", "percentage points": "procentenheter", "%": "%", "share": "andel"}


# ---- formatting --------------------------------------------------------------------------------------------

def fmt_number(value: float | int | None, decimals: int | None = None) -> str:
    """Swedish number: thin groups with a no-break space, decimal comma; '–' for nothing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if decimals is None:
        if float(value).is_integer() or abs(value) >= 100:
            decimals = 0
        elif abs(value) >= 10:
            decimals = 1
        else:
            decimals = 2
    text = f"{value:,.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".") if "." in text else text
    text = text.replace(",", "\u00a0").replace(".", ",").replace("-", "−")
    return "0" if text in ("−0", "") else text


def fmt_value(value: float | None, unit: str | None = None, decimals: int | None = None) -> str:
    text = fmt_number(value, decimals)
    if value is None:
        return text
    suffix = UNIT_SV.get(unit or "", CONTRIBUTION_UNIT_SV.get(unit or "", unit or ""))
    if suffix == "%":
        return f"{text}\u00a0%"
    return f"{text}\u00a0{suffix}" if suffix else text


def fmt_sek(value: float | None) -> str:
    return "–" if value is None else f"{fmt_number(value, 0)}\u00a0kr"


def fmt_share(value: float | None) -> str:
    return "–" if value is None else f"{fmt_number(100 * value, 0)}\u00a0%"


def fmt_when(value: datetime | date | str | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


templates.env.filters.update(goal_num=fmt_number, goal_value=fmt_value, goal_sek=fmt_sek, goal_share=fmt_share,
                             goal_when=fmt_when)


def _sv_gap_label(label: str) -> str:
    for en, sv in GAP_STEP_SV:
        if label.startswith(en):
            return sv + label[len(en):]
    return label


def _sv_expression(text: str) -> str:
    """The gap steps' expressions in Swedish (numbers with a decimal comma)."""
    rules = [
        (r"denominator-weighted mean of the (\d+) (\w+) areas in (kommun|lan) (\d+) in the store "
         r"\(no published (.+) figure in the store\)",
         r"nämnarvägt medelvärde av de \1 \2-områdena i \3 \4 (ingen publicerad siffra för \5 i databasen)"),
        (r"denominator-weighted mean of (\d+) (\w+) areas", r"nämnarvägt medelvärde av \1 \2-områden"),
        (r"^published \((.*)\)$", r"publicerad (\1)"),
        (r"sum of age bands", "summa av åldersgrupper"),
        (r"(\d)\.(\d)", r"\1,\2"),
    ]
    for pattern, repl in rules:
        text = re.sub(pattern, repl, text)
    return text.replace("lan ", "län ")


def _sv_gap_warning(text: str) -> str:
    rules = [
        (r"^the denominator is from (\d+), the rate from (\d+)$", r"Nämnaren är från \1, andelen från \2."),
        (r"^area rate \((\d+)\) and reference rate \((\d+)\) are from different years$",
         r"Områdets andel (\1) och referensens andel (\2) är från olika år."),
        (r"^the reference rate is derived, not published: (.*)$",
         r"Referensandelen är härledd, inte publicerad: \1."),
        (r"^the area rate is the denominator-weighted mean of (\d+) areas$",
         r"Områdets andel är det nämnarvägda medelvärdet av \1 områden."),
        (r"^the reference includes the area itself unless it was removed \(rest of the reference\)$",
         "Referensen innehåller området självt."),
        (r"^some inputs are flagged as estimated$", "Vissa av uppgifterna är skattade."),
        (r"^reference flagged as estimated$", "Referensen är skattad."),
    ]
    for pattern, repl in rules:
        if re.match(pattern, text):
            return _sv_expression(re.sub(pattern, repl, text))
    return text


# ---- access --------------------------------------------------------------------------------------------

def _db(request: Request):
    return request.app.state.db


def _user(request: Request) -> CurrentUser | None:
    return getattr(request.state, "user", None)


def can(user: CurrentUser | None, permission: str) -> bool:
    """The same rule as the goals API (``auth.ROLE_PERMISSIONS``; admins may do everything)."""
    if user is None:
        return False
    return user.role == "admin" or permission in auth.ROLE_PERMISSIONS.get(user.role, set())


def _visibility(user: CurrentUser) -> repo.Visibility | None:
    return repo.visibility_for(user.role, user.organisation_id)


def _to_login(path: str) -> RedirectResponse:
    return RedirectResponse(f"/logga-in?next={quote(path, safe='/')}", status_code=303)


def _forbidden(request: Request, message: str) -> HTMLResponse:
    return render(request, "error.html", {"title": "Åtkomst nekad", "message": message}, status_code=403)


def _gate(request: Request, permission: str, back: str) -> CurrentUser | Response:
    """The logged-in user with ``permission``, else a redirect to the login or a 403 page."""
    user = _user(request)
    if user is None:
        return _to_login(back)
    if not can(user, permission):
        return _forbidden(request, "Din roll har inte behörighet till den här sidan eller åtgärden.")
    return user


def _parse_id(text: str) -> int | None:
    if not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def _ctx(request: Request) -> dict:
    return {"via": "web", "request": f"{request.method} {request.url.path}"}


def _done_message(code: str | None) -> str | None:
    return DONE.get(code or "")


# ---- chart -----------------------------------------------------------------------------------------------

W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 16, 40


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not hi > lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw - 1e-12)
    start = math.floor(lo / step + 1e-9) * step
    end = math.ceil(hi / step - 1e-9) * step
    return [start + i * step for i in range(int(round((end - start) / step)) + 1)]


def build_chart(progress: dict, goal: dict) -> dict:
    """Coordinates for the inline SVG: expected path, approved actuals, target, forecast with interval."""
    traj = progress["trajectory"]
    rows = progress["measurements"]
    fc = progress.get("forecast") or {}
    unit = goal["unit"]
    xs = [p["t"] for p in traj] + [r["t"] for r in rows]
    if fc.get("value") is not None:
        xs.append(fc["at"])
    ys = [p["expected"] for p in traj] + [r["actual"] for r in rows]
    ys += [v for v in (fc.get("value"), fc.get("lower"), fc.get("upper")) if v is not None]
    x0, x1 = math.floor(min(xs)), math.ceil(max(xs))
    if x1 == x0:
        x1 = x0 + 1
    lo, hi = min(ys), max(ys)
    if lo > 0 and lo < 0.5 * hi:
        lo = 0.0
    yt = _ticks(lo, hi)
    y0, y1 = yt[0], yt[-1]

    def px(t: float) -> float:
        return round(LEFT + (t - x0) / (x1 - x0) * (W - LEFT - RIGHT), 1)

    def py(v: float) -> float:
        return round(H - BOTTOM - (v - y0) / (y1 - y0) * (H - TOP - BOTTOM), 1)

    years = list(range(x0, x1 + 1))
    step = 1 if len(years) <= 10 else (2 if len(years) <= 20 else 5)
    expected_path = "M " + " L ".join(f"{px(p['t'])},{py(p['expected'])}" for p in traj)
    actual_points = [{"x": px(r["t"]), "y": py(r["actual"]), "status": r["status"],
                      "label": f"{r['period']}: {fmt_value(r['actual'], unit)} (förväntat "
                               f"{fmt_value(r['expected'], unit)})"} for r in rows]
    actual_path = ("M " + " L ".join(f"{p['x']},{p['y']}" for p in actual_points)) if len(rows) > 1 else None
    forecast = None
    if fc.get("value") is not None:
        last = rows[-1] if rows else {"t": progress["baseline"]["year"], "actual": progress["baseline"]["value"]}
        forecast = {"x0": px(last["t"]), "y0": py(last["actual"]), "x": px(fc["at"]), "y": py(fc["value"]),
                    "low": None if fc.get("lower") is None else py(fc["lower"]),
                    "high": None if fc.get("upper") is None else py(fc["upper"])}
    target = {"x": px(progress["target"]["year"]), "y": py(progress["target"]["value"])}
    b, t = progress["baseline"], progress["target"]
    parts = [f"Förväntad bana ({SHAPE_SV.get(progress['shape'], progress['shape'])}) från "
             f"{fmt_value(b['value'], unit)} år {b['year']} till {fmt_value(t['value'], unit)} år {t['year']}."]
    if rows:
        r = rows[-1]
        parts.append(f"{len(rows)} godkända utfall; senaste {r['period']}: {fmt_value(r['actual'], unit)} mot "
                     f"förväntat {fmt_value(r['expected'], unit)}.")
    else:
        parts.append("Inga godkända utfall ännu.")
    if fc.get("value") is not None:
        interval = (f", intervall {fmt_value(fc['lower'], unit)}–{fmt_value(fc['upper'], unit)}"
                    if fc.get("lower") is not None else "")
        parts.append(f"Prognos {int(fc['at'])}: {fmt_value(fc['value'], unit)}{interval}.")
    return {"width": W, "height": H, "left": LEFT, "right": W - RIGHT, "top": TOP, "bottom": H - BOTTOM,
            "x_ticks": [{"x": px(y), "label": str(y)} for y in years[::step]],
            "y_ticks": [{"y": py(v), "label": fmt_number(v)} for v in yt],
            "expected_path": expected_path, "actual_points": actual_points, "actual_path": actual_path,
            "forecast": forecast, "target": target, "description": " ".join(parts)}


# ---- gap to parity -------------------------------------------------------------------------------------

def goal_gap(session: Session, goal: dict, partnership: dict, visibility: repo.Visibility | None) -> dict | None:
    """Gap to parity of a statistic-linked goal's indicator over its areas vs the kommun, with the steps."""
    if goal["kind"] != "statistic" or not goal.get("indicator"):
        return None
    try:
        if goal.get("areas"):
            stat = [(a["code"], a["division"]) for a in goal["areas"]
                    if str(a["division"]).startswith(("DeSO", "RegSO"))]
            if not stat:
                return {"error": "Målets områden innehåller inga DeSO- eller RegSO-områden att räkna på."}
            division = Counter(d for _, d in stat).most_common(1)[0][0]
            result, _ = repo.compute_gap(session, indicator=goal["indicator"], division=division,
                                         codes=[c for c, d in stat if d == division], label=goal["title"])
        else:
            result, _ = repo.compute_gap(session, indicator=goal["indicator"], partnership_id=partnership["id"],
                                         label=partnership["name"], visibility=visibility)
    except (NotFound, ValueError, KeyError, ZeroDivisionError) as exc:
        log.info("gap for goal %s not computed: %s", goal["id"], exc)
        return {"error": f"Gapet till stadens nivå kan inte beräknas med statistiken i databasen ({exc})."}
    d = result.as_dict()
    n = abs(d["persons_rounded"])
    word = "fler" if d["persons"] >= 0 else "färre"
    headline = (f"{d['area']['label']} behöver {fmt_number(n, 0)} {word} {result.noun[1]} för att nå "
                f"{d['reference']['label']}s nivå ({fmt_number(d['reference']['rate'], 1)}\u00a0%).")
    if d["at_parity"]:
        headline += " Området är redan i nivå med eller bättre än referensen."
    steps = [{"label": _sv_gap_label(s["label"]), "expression": _sv_expression(s["expression"]),
              "value": fmt_number(s["value"], 3 if s["unit"] in ("%", "percentage points") else 1),
              "unit": GAP_UNIT_SV.get(s["unit"], s["unit"])} for s in d["steps"]]
    return {"headline": headline, "formula": "(referensens andel − områdets andel) / 100 × områdets nämnare",
            "steps": steps, "lags": d["lags"], "warnings": [_sv_gap_warning(w) for w in d["warnings"]],
            "persons": d["persons"], "indicator": d["indicator"], "reference": d["reference"]["label"],
            "area_year": d["area"]["year"], "as_of_year": d["as_of_year"]}


# ---- shared view data --------------------------------------------------------------------------------------

def _goal_view(session: Session, goal: dict, progress: dict, partnership: dict,
               visibility: repo.Visibility | None) -> dict:
    members = {m["organisation_id"]: m["organisation_name"] for m in partnership["members"]}
    fc = progress.get("forecast")
    return {"goal": goal, "progress": progress, "status": progress["status"], "latest": progress["latest"],
            "latest_period": progress["measurements"][-1]["period"] if progress["measurements"] else None,
            "forecast": fc, "chart": build_chart(progress, goal),
            "responsible": members.get(goal["responsible_organisation_id"]),
            "gap": goal_gap(session, goal, partnership, visibility),
            "counts": progress["measurement_counts"]}


def _is_example(partnership: dict) -> bool:
    return bool(partnership.get("is_example"))


def _base_context(user: CurrentUser) -> dict:
    return {"can_enter": can(user, "measurements:enter"), "can_approve": can(user, "measurements:approve"),
            "can_write": can(user, "goals:write"), "can_audit": can(user, "audit:read"),
            "STATUS_SV": STATUS_SV, "STATUS_ICON": STATUS_ICON, "STATUS_HELP": STATUS_HELP, "STATE_SV": STATE_SV,
            "KIND_SV": KIND_SV, "UNIT_SV": UNIT_SV, "MEASURE_SV": MEASURE_SV, "SHAPE_SV": SHAPE_SV,
            "DIRECTION_SV": DIRECTION_SV, "ACTIVITY_SV": ACTIVITY_SV, "CONTRIBUTION_SV": CONTRIBUTION_SV,
            "MEMBER_SV": MEMBER_SV, "SOURCE_SV": SOURCE_SV, "VERDICT_SV": VERDICT_SV, "ROLE_SV": ROLE_SV,
            "example_note": demo.EXAMPLE_NOTE}


# ---- list --------------------------------------------------------------------------------------------------

@router.get("/partnerskap", response_class=HTMLResponse)
def partnership_list(request: Request, klart: str | None = Query(None, max_length=40)) -> Response:
    user = _gate(request, "goals:read", "/partnerskap")
    if isinstance(user, Response):
        return user
    visibility = _visibility(user)
    with _db(request).session() as session:
        items = repo.list_partnerships(session, limit=500, visibility=visibility).items
        rows = []
        for p in items:
            goals = repo.list_goals(session, partnership_id=p["id"], limit=500).items
            statuses = Counter(repo.goal_progress(session, g["id"])["status"] for g in goals)
            rows.append({"p": p, "n_goals": len(goals), "statuses": statuses})
        awaiting = repo.list_measurements(session, state="submitted", limit=1, visibility=visibility).total
        org_name = None
        if visibility is not None and visibility.organisation_id is not None:
            try:
                org_name = repo.get_organisation(session, visibility.organisation_id)["name"]
            except NotFound:
                org_name = None
    return render(request, "goals/list.html", {
        **_base_context(user), "rows": rows, "limited": visibility is not None, "org_name": org_name,
        "awaiting": awaiting, "message": _done_message(klart)})


# ---- dashboard ---------------------------------------------------------------------------------------------

def _dashboard(request: Request, user: CurrentUser, pid: int, *, upload: dict | None = None,
               status_code: int = 200) -> Response:
    visibility = _visibility(user)
    with _db(request).session() as session:
        try:
            dash = repo.partnership_dashboard(session, pid, visibility=visibility)
        except NotFound:
            return not_found(request, f"Det finns inget partnerskap med nummer {pid} som du har tillgång till.")
        p = dash["partnership"]
        goals = [_goal_view(session, row["goal"], repo.goal_progress(session, row["goal"]["id"]), p, visibility)
                 for row in dash["goals"]]
    members = {m["organisation_id"]: m["organisation_name"] for m in p["members"]}
    titles = {g["goal"]["id"]: g["goal"]["title"] for g in goals}
    acts = dash["activities"]
    budget_total = acts["budget_sek"]
    return render(request, "goals/dashboard.html", {
        **_base_context(user), "p": p, "dash": dash, "goals": goals, "members": members, "titles": titles,
        "spent_share": (acts["spent_sek"] / budget_total) if budget_total else None,
        "upload": upload, "message": _done_message(request.query_params.get("klart"))},
        status_code=status_code)


@router.get("/partnerskap/{pid}", response_class=HTMLResponse)
def partnership_page(request: Request, pid: str) -> Response:
    user = _gate(request, "goals:read", request.url.path)
    if isinstance(user, Response):
        return user
    partnership_id = _parse_id(pid)
    if partnership_id is None:
        return not_found(request, "Det finns inget sådant partnerskap.")
    return _dashboard(request, user, partnership_id)


@router.get("/partnerskap/{pid}/arbetsbok", response_model=None)
def workbook_download(request: Request, pid: str) -> Response:
    user = _gate(request, "goals:read", request.url.path)
    if isinstance(user, Response):
        return user
    partnership_id = _parse_id(pid)
    if partnership_id is None:
        return not_found(request, "Det finns inget sådant partnerskap.")
    with _db(request).session() as session:
        try:
            data = repo.export_workbook(session, partnership_id, visibility=_visibility(user))
        except NotFound:
            return not_found(request, f"Det finns inget partnerskap med nummer {partnership_id} som du har "
                                      "tillgång till.")
    name = f"handslag_{partnership_id}_{date.today().isoformat()}.xlsx"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/partnerskap/{pid}/arbetsbok", response_model=None)
def workbook_upload(request: Request, pid: str, file: UploadFile | None = File(None),
                    csrf_token: str = Form("", max_length=200), dry_run: str = Form("", max_length=10)) -> Response:
    partnership_id = _parse_id(pid)
    back = f"/partnerskap/{partnership_id or ''}".rstrip("/") or "/partnerskap"
    user = _gate(request, "goals:write", back)
    if isinstance(user, Response):
        return user
    auth.check_csrf(request, csrf_token)
    if partnership_id is None:
        return not_found(request, "Det finns inget sådant partnerskap.")
    check_only = dry_run in ("1", "on", "true", "ja")
    filename = ((file.filename if file else None) or "arbetsbok.xlsx")[:200]
    data = file.file.read(MAX_UPLOAD + 1) if file is not None else b""
    problems: list[Problem] = []
    summary = None
    if file is None or not data:
        problems = [Problem(filename, None, None, "Välj en ifylld arbetsbok (.xlsx) att ladda upp.")]
    elif len(data) > MAX_UPLOAD:
        problems = [Problem(filename, None, None, f"Filen är större än {MAX_UPLOAD // 2**20} MB.")]
    else:
        with _db(request).session() as session:  # visibility first: a hidden partnership does not exist
            try:
                repo.get_partnership(session, partnership_id, visibility=_visibility(user))
            except NotFound:
                return not_found(request, "Det finns inget sådant partnerskap som du har tillgång till.")
        try:
            # the whole upload is one transaction: it rolls back when the exception leaves the block
            with _db(request).session() as session:
                summary = repo.import_workbook(session, partnership_id, data, filename=filename,
                                               actor=user.username, dry_run=check_only)
        except ValidationFailed as exc:
            problems = exc.problems
        except NotFound:
            return not_found(request, "Det finns inget sådant partnerskap.")
    upload = {"filename": filename, "problems": problems, "summary": summary, "dry_run": check_only,
              "counts": _upload_counts(summary)}
    return _dashboard(request, user, partnership_id, upload=upload, status_code=422 if problems else 200)


def _upload_counts(summary: dict | None) -> list[dict]:
    if not summary:
        return []
    names = {"goal": "Mål", "measurement": "Mätvärden", "activity": "Aktiviteter", "Goals": "Mål",
             "Measurements": "Mätvärden", "Activities": "Aktiviteter"}
    out = []
    for key, counts in (summary.get("counts") or {}).items():
        if isinstance(counts, dict):
            out.append({"what": names.get(key, key), "create": counts.get("create", 0),
                        "update": counts.get("update", 0)})
    return out


# ---- goal page --------------------------------------------------------------------------------------------

def _audit_trail(session: Session, goal_id: int, limit: int = 200) -> tuple[list[dict], int]:
    mids = [str(m["id"]) for m in repo.list_measurements(session, goal_id=goal_id, include_deleted=True,
                                                          limit=100_000).items]
    cond = and_(AuditEntry.entity == "goal", AuditEntry.entity_id == str(goal_id))
    if mids:
        cond = or_(cond, and_(AuditEntry.entity == "measurement", AuditEntry.entity_id.in_(mids)))
    rows = session.scalars(select(AuditEntry).where(cond).order_by(AuditEntry.id.desc()).limit(limit)).all()
    total = len(rows) if len(rows) < limit else session.query(AuditEntry).filter(cond).count()
    skip = {"version", "updated_at", "updated_by", "submitted_at", "approved_at"}
    out = []
    for e in rows:
        entry = audit.entry_dict(e)
        state = entry["after"] or entry["before"] or {}
        ctx = entry["context"] or {}
        out.append({
            "at": entry["at"], "actor": entry["actor"], "action": AUDIT_ACTION_SV.get(entry["action"], entry["action"]),
            "entity": AUDIT_ENTITY_SV.get(entry["entity"], entry["entity"]), "entity_id": entry["entity_id"],
            "what": state.get("period") if entry["entity"] == "measurement" else state.get("title"),
            "version": entry["version"],
            "changed": [f for f in audit.changed_fields(entry["before"], entry["after"]) if f not in skip]
            if entry["action"] == "update" else [],
            "via": VIA_SV.get(ctx.get("via"), ctx.get("via")),
            "where": ", ".join(str(ctx[k]) for k in ("file", "sheet", "row") if ctx.get(k) is not None) or None,
            "reason": ctx.get("reason")})
    return out, total


def _goal_page(request: Request, user: CurrentUser, goal_id: int, *, form: dict | None = None,
               errors: list[str] | None = None, error: str | None = None, status_code: int = 200) -> Response:
    visibility = _visibility(user)
    with _db(request).session() as session:
        try:
            goal = repo.get_goal(session, goal_id, visibility=visibility)
        except NotFound:
            return not_found(request, f"Det finns inget mål med nummer {goal_id} som du har tillgång till.")
        p = repo.get_partnership(session, goal["partnership_id"])
        progress = repo.goal_progress(session, goal_id)
        view = _goal_view(session, goal, progress, p, visibility)
        measurements = repo.list_measurements(session, goal_id=goal_id, limit=500).items
        measurements.sort(key=lambda m: (m["period_end"], m["id"]), reverse=True)
        trail, trail_total = _audit_trail(session, goal_id) if can(user, "audit:read") else ([], 0)
        activities = repo.list_activities(session, goal_id=goal_id, limit=500).items
    return render(request, "goals/goal.html", {
        **_base_context(user), "p": p, "g": goal, "view": view, "measurements": measurements, "trail": trail,
        "trail_total": trail_total, "activities": activities,
        "members": {m["organisation_id"]: m["organisation_name"] for m in p["members"]},
        "form": form or {"period": "", "value": "", "evidence_note": ""}, "errors": errors or [], "error": error,
        "message": _done_message(request.query_params.get("klart")), "me": user.username}, status_code=status_code)


@router.get("/mal/{gid}", response_class=HTMLResponse)
def goal_page(request: Request, gid: str) -> Response:
    user = _gate(request, "goals:read", request.url.path)
    if isinstance(user, Response):
        return user
    goal_id = _parse_id(gid)
    if goal_id is None:
        return not_found(request, "Det finns inget sådant mål.")
    return _goal_page(request, user, goal_id)


NUMBER = re.compile(r"^[+-−]?\d+(?:[.,]\d+)?$")


def parse_value(text: str) -> float | None:
    """A number as people type it: '1 000', '1000,5', '−3'; None when it is not one."""
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text or "")
    if not NUMBER.match(cleaned):
        return None
    value = float(cleaned.replace(",", ".").replace("−", "-"))
    return value if math.isfinite(value) and abs(value) < 1e15 else None


@router.post("/mal/{gid}/matvarden", response_model=None)
def enter_measurement(request: Request, gid: str, period: str = Form("", max_length=100),
                      value: str = Form("", max_length=100), evidence_note: str = Form("", max_length=20_000),
                      action: str = Form("utkast", max_length=20), csrf_token: str = Form("", max_length=200)
                      ) -> Response:
    goal_id = _parse_id(gid)
    user = _gate(request, "measurements:enter", f"/mal/{goal_id or ''}")
    if isinstance(user, Response):
        return user
    auth.check_csrf(request, csrf_token)
    if goal_id is None:
        return not_found(request, "Det finns inget sådant mål.")
    form = {"period": period.strip(), "value": value.strip(), "evidence_note": evidence_note}
    errors = []
    label = None
    try:
        label = parse_period(form["period"]).label if form["period"] else None
        if label is None:
            errors.append("Ange perioden, till exempel 2025, 2025-Q3, 2025-H1, 2025-06 eller 2025-06-30.")
    except ValueError:
        errors.append(f"Perioden ”{form['period'][:40]}” känns inte igen. Skriv till exempel 2025, 2025-Q3, "
                      "2025-H1, 2025-06 eller 2025-06-30.")
    number = parse_value(form["value"])
    if number is None:
        errors.append("Ange värdet som ett tal, till exempel 120 eller 12,5.")
    note = "".join(c for c in evidence_note if c.isprintable() or c in "\n\t").strip()
    if len(note) > 10_000:
        errors.append("Underlaget får vara högst 10 000 tecken.")
    with _db(request).session() as session:
        try:
            goal = repo.get_goal(session, goal_id, visibility=_visibility(user))
        except NotFound:
            return not_found(request, f"Det finns inget mål med nummer {goal_id} som du har tillgång till.")
    if goal["kind"] != "partner_reported":
        errors.append("Målet följs med statistik; dess utfall hämtas från statistiken och matas inte in här.")
    if errors:
        return _goal_page(request, user, goal_id, form=form, errors=errors, status_code=422)
    submit = action == "skicka"
    try:
        with _db(request).session() as session:
            m = repo.create_measurement(session, {"goal_id": goal_id, "period": label, "value": number,
                                                  "source": "manual", "evidence_note": note or None},
                                        actor=user.username, context=_ctx(request), visibility=_visibility(user))
            if submit:
                repo.decide_measurement(session, m["id"], "submit", actor=user.username, context=_ctx(request))
    except ValidationFailed as exc:
        return _goal_page(request, user, goal_id, form=form, status_code=422,
                          errors=[f"{p.column or 'värde'}: {p.reason}" for p in exc.problems])
    except (Conflict, NotFound) as exc:
        return _goal_page(request, user, goal_id, form=form, errors=[str(exc)], status_code=409)
    code = "inskickat" if submit else "sparat"
    return RedirectResponse(f"/mal/{goal_id}?klart={code}#matvarden", status_code=303)


# ---- workflow actions and approvals ------------------------------------------------------------------

def friendly_conflict(message: str, action: str) -> str:
    if "four-eyes" in message:
        return ("Du kan inte godkänna ett värde som du själv har matat in (fyraögonprincipen). "
                "Be en annan person med granskningsbehörighet att godkänna det.")
    if "needs a reason" in message:
        return "Skriv en motivering när du avvisar ett värde, så att den som matade in det vet vad som ska rättas."
    if "version" in message or "changed by someone else" in message:
        return "Värdet har ändrats av någon annan sedan du laddade sidan. Sidan visar nu det aktuella läget."
    m = re.match(r"cannot (\w+) a measurement that is (\w+)", message)
    if m:
        return (f"Det går inte längre: värdet är {STATE_SV.get(m[2], m[2]).lower()}. Någon kan ha hunnit före – "
                "sidan visar nu det aktuella läget.")
    return message


@router.post("/matvarden/{mid}/{slug}", response_model=None)
def measurement_action(request: Request, mid: str, slug: str, csrf_token: str = Form("", max_length=200),
                       version: str = Form("", max_length=12), reason: str = Form("", max_length=5000),
                       tillbaka: str = Form("mal", max_length=20)) -> Response:
    back_to_queue = tillbaka == "granskning"
    user = _user(request)
    if user is None:
        return _to_login("/granskning" if back_to_queue else "/partnerskap")
    if slug not in ACTIONS:
        return not_found(request, "Okänd åtgärd.")
    action, permission = ACTIONS[slug]
    if not can(user, permission):
        return _forbidden(request, "Din roll har inte behörighet till den här åtgärden.")
    auth.check_csrf(request, csrf_token)
    measurement_id = _parse_id(mid)
    if measurement_id is None:
        return not_found(request, "Det finns inget sådant mätvärde.")
    expected = int(version) if version.isdigit() and len(version) < 10 else None
    visibility = _visibility(user)
    with _db(request).session() as session:
        try:
            goal_id = repo.get_measurement(session, measurement_id, visibility=visibility)["goal_id"]
        except NotFound:
            return not_found(request, f"Det finns inget mätvärde med nummer {measurement_id} som du har tillgång till.")
    reason = reason.strip()
    error = None
    if action == "reject" and not reason:
        error = friendly_conflict("needs a reason", action)
    else:
        try:
            with _db(request).session() as session:
                repo.decide_measurement(session, measurement_id, action, actor=user.username,
                                        reason=reason or None, expected_version=expected, context=_ctx(request),
                                        visibility=visibility)
        except Conflict as exc:
            error = friendly_conflict(str(exc), action)
        except NotFound:
            return not_found(request, "Det finns inget sådant mätvärde.")
    if error is not None:
        if back_to_queue:
            return _approvals(request, user, error=error, status_code=409)
        return _goal_page(request, user, goal_id, error=error, status_code=409)
    code = DONE_BY_ACTION[action]
    if back_to_queue:
        return RedirectResponse(f"/granskning?klart={code}", status_code=303)
    return RedirectResponse(f"/mal/{goal_id}?klart={code}#matvarden", status_code=303)


def _approvals(request: Request, user: CurrentUser, *, error: str | None = None, status_code: int = 200) -> Response:
    visibility = _visibility(user)
    with _db(request).session() as session:
        items = repo.list_measurements(session, state="submitted", limit=500, visibility=visibility).items
        goals: dict[int, dict] = {}
        partnerships: dict[int, dict] = {}
        rows: list[dict[str, Any]] = []
        for m in items:
            if m["goal_id"] not in goals:
                goals[m["goal_id"]] = repo.get_goal(session, m["goal_id"])
            g = goals[m["goal_id"]]
            if g["partnership_id"] not in partnerships:
                partnerships[g["partnership_id"]] = repo.get_partnership(session, g["partnership_id"])
            rows.append({"m": m, "g": g, "p": partnerships[g["partnership_id"]],
                         "own": m["entered_by"] == user.username})
    rows.sort(key=lambda r: (r["m"]["submitted_at"] or datetime.min, r["m"]["id"]))
    return render(request, "goals/approvals.html", {
        **_base_context(user), "rows": rows, "error": error, "me": user.username,
        "message": _done_message(request.query_params.get("klart"))}, status_code=status_code)


@router.get("/granskning", response_class=HTMLResponse)
def approvals_page(request: Request) -> Response:
    user = _gate(request, "measurements:approve", "/granskning")
    if isinstance(user, Response):
        return user
    return _approvals(request, user)
