"""Server-rendered pages (Jinja2 + HTMX): start, map, area profile, the Police list, login/logout.

``install(app)`` is called by ``create_app``: it mounts ``/static``, installs the session middleware
(:mod:`handslag.web.auth`) and adds the page routes. Statistics pages are public; forms carry a CSRF token.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from handslag.cache import named_cache
from handslag.classify import TYPE_LABELS
from handslag.errors import NotFound
from handslag.indicators.catalogue import catalogue
from handslag.indicators.suppression import should_suppress
from handslag.sources.police import LEVEL_LABELS_SV
from handslag.store import accounts_repo, areas_repo, observations_repo, police_repo
from handslag.store.imports_repo import data_stamp
from handslag.store.models import Area, AreaLink

from . import auth, i18n
from .api.maps import TYPE_DIVISION, available_indicators, map_divisions

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
i18n.install_jinja(templates.env)
router = APIRouter(include_in_schema=False)

LEVEL_SV = {"deso": "DeSO", "regso": "RegSO", "kommun": "Kommun", "lan": "Län", "riket": "Riket"}
UNIT_SV = {"percent": "%", "persons": "personer", "dwellings": "bostäder", "SEK": "kr", "SEK thousands": "tkr",
           "type": "typ"}


def _fmt(value: float | None, unit: str | None = None) -> str:
    if value is None:
        return "–"
    if unit == "type":
        return f"{int(value)}"
    text = f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.1f}"
    text = text.replace(",", "\u00a0").replace(".", ",")
    suffix = UNIT_SV.get(unit or "", unit or "")
    return f"{text} {suffix}".strip() if suffix != "%" else f"{text}\u00a0%"


templates.env.filters["num"] = _fmt
templates.env.globals.update(LEVEL_SV=LEVEL_SV, TYPE_LABELS=TYPE_LABELS, POLICE_LABELS=LEVEL_LABELS_SV)


def render(request: Request, name: str, context: dict | None = None, status_code: int = 200) -> HTMLResponse:
    lang = i18n.request_language(request)
    ctx = {"user": getattr(request.state, "user", None), "csrf_token": auth.csrf_token(request), "lang": lang,
           "languages": i18n.LANGUAGES, "lang_urls": i18n.language_urls(request)}
    ctx.update(context or {})
    with i18n.rendering(lang):
        return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def not_found(request: Request, message: str) -> HTMLResponse:
    return render(request, "error.html", {"title": "Hittades inte", "message": message}, status_code=404)


def _db(request: Request):
    return request.app.state.db


# --- start ---------------------------------------------------------------------------------------------


def _clean(text: str | None, limit: int = 60) -> str:
    """Drop control characters (PostgreSQL refuses NUL in text) and trim."""
    return "".join(c for c in (text or "") if c.isprintable()).strip()[:limit]


CODE_RE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")


def _search_kommuner(session, q: str | None) -> list[Area]:
    q = _clean(q)
    _, items = areas_repo.list_areas(session, level="kommun", q=q or None, limit=300)
    return sorted(items, key=lambda a: (a.name or "").lower())


@router.get("/", response_class=HTMLResponse)
def start(request: Request, q: str | None = Query(None, max_length=100)) -> HTMLResponse:
    with _db(request).session() as session:
        n_small = int(session.scalar(select(func.count()).select_from(Area).where(
            Area.level.in_(["deso", "regso"]))) or 0)
        kommuner = _search_kommuner(session, q)
        data_counts = areas_repo.counts_by_level(session).to_dict("records") if n_small else []
    return render(request, "start.html", {"kommuner": kommuner, "q": _clean(q), "has_data": n_small > 0,
                                          "data_counts": data_counts})


@router.get("/kommuner", response_class=HTMLResponse)
def kommun_search(request: Request, q: str | None = Query(None, max_length=100)) -> HTMLResponse:
    """HTMX fragment: the municipality list filtered by name or code."""
    with _db(request).session() as session:
        kommuner = _search_kommuner(session, q)
    return render(request, "_kommun_list.html", {"kommuner": kommuner, "q": _clean(q)})


# --- map -----------------------------------------------------------------------------------------------


@router.get("/kommun/{code}/karta", response_class=HTMLResponse)
def kommun_map_page(request: Request, code: str, level: str = Query("deso", max_length=10),
                    indicator: str | None = Query(None, max_length=64)) -> HTMLResponse:
    if not (len(code) == 4 and code.isdigit()):
        return not_found(request, f"Det finns ingen kommun med koden {_clean(code, 10)!r}.")
    with _db(request).session() as session:
        kommun = session.scalar(select(Area).where(Area.code == code, Area.level == "kommun"))
        if kommun is None:
            return not_found(request, f"Det finns ingen kommun med koden {code[:10]!r}.")
        divisions = map_divisions(session, code)
        indicators = {d["division"]: available_indicators(session, code, d["division"]) for d in divisions}
        editions = police_repo.editions(session)
    levels = [d["level"] for d in divisions]
    if level not in levels:
        level = levels[0] if levels else "deso"
    # newest division of the chosen level first (DeSO2025 before DeSO2018)
    chosen = max((d["division"] for d in divisions if d["level"] == level), default=None)
    return render(request, "map.html", {"kommun": kommun, "divisions": divisions, "indicators": indicators,
                                        "level": level, "chosen": chosen, "indicator": indicator or "area_type",
                                        "editions": editions, "type_division": TYPE_DIVISION})


# --- area profile ----------------------------------------------------------------------------------------


def _police_status(session, area: Area) -> tuple[list[dict], list[int], str | None]:
    """Rows per overlapping Police area with its level per edition; also where the overlay came from."""
    overlaps = police_repo.areas_overlapping(session, area.code, area.division)
    via = None
    if not overlaps and area.level == "regso" and area.division != "RegSO2025":
        overlaps = police_repo.areas_overlapping(session, area.code, "RegSO2025")
        via = "RegSO2025" if overlaps else None
    editions = police_repo.editions(session)
    rows: dict[str, dict] = {}
    for p, share in overlaps:
        key = str(p.panel_id or p.name)
        row = rows.setdefault(key, {"name": p.panel_name or p.name, "levels": {}, "share": share})
        row["levels"][p.edition] = p.level
        row["share"] = max(row["share"], share)
    return sorted(rows.values(), key=lambda r: -r["share"]), editions, via


def _type_regso(session, area: Area) -> tuple[str | None, str | None]:
    """The RegSO2020 area whose official type applies, and how it was linked (never by code alone)."""
    if area.level == "regso":
        code, division = area.code, area.division
    elif area.level == "deso":
        code, division = area.parent_code, area.parent_division
    else:
        return None, None
    if code is None:
        return None, None
    if division == TYPE_DIVISION:
        return code, None
    link = session.execute(select(AreaLink.from_code, AreaLink.method).where(
        AreaLink.to_code == code, AreaLink.to_division == division, AreaLink.from_division == TYPE_DIVISION,
        AreaLink.relation == "same")).first()
    return (link[0], link[1]) if link else (None, None)


def _area_type(session, area: Area) -> dict:
    """The official area type: own (RegSO2020), or through the stored link to a RegSO2020 area."""
    regso, method = _type_regso(session, area)
    own = area.division == TYPE_DIVISION
    if regso is None:
        return {"own": None, "via": None, "regso": None, "link_method": None}
    obs = observations_repo.observations_for_area(session, regso, TYPE_DIVISION, indicator="area_type")
    history = [{"year": o.year, "type": int(o.value), "label": TYPE_LABELS.get(int(o.value)), "source": o.source}
               for o in obs if o.value is not None]
    latest = history[-1] if history else None
    return {"own": latest if own or area.level == "regso" and latest else None,
            "via": latest if not own and area.level == "deso" else None,
            "regso": regso, "history": history, "same_code": area.level == "regso" and not own,
            "link_method": method}


_PAGE_CACHE_SIZE = 512


def _cached(request: Request, key: tuple, build):
    """Page contexts per app (so per database); keys carry the data stamp."""
    return named_cache(request.app.state, "pages", _PAGE_CACHE_SIZE).get(key, build)


def _area_context(session, area: Area, min_count: int) -> dict:
    """The public part of the area profile: statistics with provenance, Police-list status, area type."""
    parent = None
    if area.parent_code:
        try:
            parent = areas_repo.get_area(session, area.parent_code, area.parent_division, with_geometry=False)
        except NotFound:
            parent = None
    kommun = session.scalar(select(Area).options(*areas_repo._NO_GEOMETRY).where(
        Area.code == area.kommun_code, Area.level == "kommun")) if area.kommun_code else None
    cat = catalogue()
    series: dict[str, list[dict]] = {}
    for o in observations_repo.observations_for_area(session, area.code, area.division):
        hidden = o.suppressed or should_suppress(unit=o.unit, value=o.value, numerator=o.numerator,
                                                 denominator=o.denominator, min_count=min_count)
        series.setdefault(o.indicator, []).append({
            "year": o.year, "value": None if hidden else o.value, "unit": o.unit, "source": o.source,
            "division": o.division, "suppressed": hidden, "estimated": o.estimated})
    indicators = [{"id": ind, "name": cat.at[ind, "name_sv"] if ind in cat.index else ind,
                   "latest": rows[-1], "history": rows} for ind, rows in sorted(series.items())
                  if ind != "area_type"]
    police_rows, editions, police_via = _police_status(session, area)
    return {"area": area, "parent": parent, "kommun": kommun, "indicators": indicators, "police_rows": police_rows,
            "editions": editions, "police_via": police_via, "area_type": _area_type(session, area),
            "children": areas_repo.children(session, area.code, area.division), "type_division": TYPE_DIVISION}


@router.get("/omrade/{code}", response_class=HTMLResponse)
def area_profile(request: Request, code: str, division: str | None = Query(None, max_length=16)) -> HTMLResponse:
    min_count = request.app.state.settings.suppress_below
    if not CODE_RE.match(code) or (division is not None and not CODE_RE.match(division)):
        return not_found(request, f"Det finns inget område med koden {_clean(code, 32)!r}.")
    from .api.surveys import configured_min_group
    from .pages_area_extra import area_extras

    user = getattr(request.state, "user", None)
    with _db(request).session() as session:
        try:
            area = areas_repo.get_area(session, code, division, with_geometry=False)
        except NotFound:
            return not_found(request, f"Det finns inget område med koden {code[:32]!r}"
                                      + (f" i indelningen {division}." if division else "."))
        stamp = data_stamp(session)
        context = _cached(request, ("area", area.code, area.division, min_count, stamp),
                          lambda: _area_context(session, area, min_count))
        min_group = configured_min_group(request)
        # the internal sections depend on who is looking (role, organisation)
        reader = (getattr(user, "role", None), getattr(user, "organisation_id", None), getattr(user, "id", None))
        extras = _cached(request, ("area-extras", area.code, area.division, min_group, reader, stamp),
                         lambda: area_extras(session, area, user, min_group_size=min_group))
    return render(request, "area.html", {**extras, **context})


# --- the Police list -------------------------------------------------------------------------------------


@router.get("/polisens-lista", response_class=HTMLResponse)
def police_page(request: Request, edition: str | None = Query(None, max_length=10)) -> HTMLResponse:
    with _db(request).session() as session:
        eds = police_repo.editions(session)
        chosen = int(edition) if edition and edition.isdigit() else (eds[-1] if eds else None)
        if chosen is not None and chosen not in eds:
            return render(request, "police.html", {"editions": eds, "edition": None, "groups": [], "counts": {},
                                                   "error": f"Utgåvan {edition} finns inte."}, status_code=404)
        areas = police_repo.police_list(session, chosen) if chosen else []
    order = ["sarskilt_utsatt", "risk", "utsatt"]
    groups = [{"level": lvl, "label": LEVEL_LABELS_SV[lvl], "areas": [a for a in areas if a.level == lvl]}
              for lvl in order]
    counts = {g["level"]: len(g["areas"]) for g in groups}
    return render(request, "police.html", {"editions": eds, "edition": chosen, "groups": groups,
                                           "counts": counts, "total": len(areas), "error": None})


# --- login / logout --------------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/logga-in", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = Query(None, max_length=500)) -> HTMLResponse:  # noqa: A002
    return render(request, "login.html", {"next": _safe_next(next), "error": None, "username": ""})


@router.post("/logga-in", response_model=None)
def login(request: Request, username: str = Form("", max_length=200), password: str = Form("", max_length=1000),
          csrf_token: str = Form("", max_length=200), next: str = Form("/", max_length=500)  # noqa: A002
          ) -> Response:
    auth.check_csrf(request, csrf_token)
    client = request.client.host if request.client else "unknown"
    target = _safe_next(next)
    if not request.app.state.login_limiter.allow(client):
        return render(request, "login.html", {"next": target, "username": username,
                                              "error": "För många inloggningsförsök. Vänta en stund och försök igen."},
                      status_code=429)
    with _db(request).session() as session:
        result = accounts_repo.authenticate(session, username, password)
        user_id = result.user.id if result.ok and result.user else None
    if user_id is None:
        if result.reason == "locked":
            until = result.locked_until.strftime("%H:%M") if isinstance(result.locked_until, datetime) else ""
            message = f"Kontot är tillfälligt låst efter för många misslyckade försök (till {until} UTC)."
        else:
            message = "Fel användarnamn eller lösenord."
        return render(request, "login.html", {"next": target, "username": username, "error": message},
                      status_code=401)
    auth.login_session(request, user_id)
    return RedirectResponse(target, status_code=303)


@router.post("/logga-ut", response_model=None)
def logout(request: Request, csrf_token: str = Form("", max_length=200)) -> Response:
    auth.check_csrf(request, csrf_token)
    auth.logout_session(request)
    return RedirectResponse("/", status_code=303)


def install(app: FastAPI) -> None:
    """Static files, sessions and every page router: this module's and each ``web/pages_*.py`` module's."""
    import importlib
    import pkgutil

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    auth.install(app)
    app.add_middleware(i18n.LanguageMiddleware)
    i18n.translations("en")  # read the English catalogue at start-up
    app.include_router(router)
    for info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda i: i.name):
        if info.name.startswith("pages_"):
            module = importlib.import_module(f"handslag.web.{info.name}")
            app.include_router(module.router)
