"""Pages for importing statistics (``/importer``) and for administration (``/admin``).

- ``/importer`` (admin, partnership_editor): upload an observations file (CSV or Excel, at most
  :data:`MAX_UPLOAD_BYTES`). It is saved under its own name in a temporary folder and imported with
  :func:`handslag.ingest.import_observations` (one transaction). A rejected file shows the row-level report
  (file, row, column, reason; the first :data:`MAX_PROBLEMS_SHOWN` and the count) and that nothing was
  written. Below the form: the import log, newest first.
- ``/admin`` (admin): users (create with role and organisation, change role/organisation, deactivate and
  reactivate, reset password) and organisations (create, change type). Every change is audited
  (``handslag.store.audit``); an admin cannot remove their own admin role or deactivate themselves.

Forms are plain HTML posts with the session's CSRF token; after a change the browser is redirected back
(POST → redirect → GET) and a one-time message in the session says what changed. Bad input re-renders the
page with a 4xx status and the reason; anonymous visitors of a page are sent to the login form, other
requests get 401, the wrong role 403 (HTML error page from ``web/errors.py``).
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile
from starlette.types import Message

from handslag.errors import Conflict, NotFound, Problem, ValidationFailed
from handslag.goals.vocab import OrganisationType
from handslag.ingest import import_observations
from handslag.store import accounts_repo, audit, goals_repo, imports_repo
from handslag.store.models.accounts import ROLES
from handslag.store.models.goals import Organisation

from . import auth
from .auth import CurrentUser
from .pages import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the small fields next to the file
MAX_PROBLEMS_SHOWN = 200
IMPORT_LOG_ROWS = 50
ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".xls")
IMPORT_ROLES = ("partnership_editor",)  # admins pass every check
MAX_ID = 2**31 - 1

ROLE_LABELS = {"admin": "Administratör", "partnership_editor": "Partnerskapsredaktör",
               "partner_contributor": "Partnerbidragsgivare", "viewer": "Läsare"}
ROLE_HELP = {"admin": "allt, även användare och organisationer",
             "partnership_editor": "partnerskap, mål, godkännande av mätvärden, import av statistik",
             "partner_contributor": "läsa mål och rapportera mätvärden",
             "viewer": "läsa partnerskap och mål"}
ORG_TYPE_LABELS = {"public_housing": "Allmännyttigt bostadsbolag", "private_landlord": "Privat fastighetsägare",
                   "company": "Företag", "municipality": "Kommun/förvaltning", "civil_society": "Civilsamhälle/förening",
                   "other": "Annan"}
STATUS_LABELS = {"ok": "Klar", "failed": "Avvisad", "running": "Pågår"}
KIND_LABELS = {"observations": "Statistikfil", "snapshot": "Ögonblicksbild", "areas": "Områden"}
COUNT_LABELS = {"observations": "observationer", "goals_refreshed": "mål uppdaterade", "areas": "områden",
                "links": "kopplingar", "new_areas": "nya områden"}
assert set(ROLE_LABELS) == set(ROLES) and set(ORG_TYPE_LABELS) == {t.value for t in OrganisationType}


# --- helpers -----------------------------------------------------------------------------------------------


def _current(request: Request, *roles: str) -> CurrentUser:
    """The logged-in user with one of ``roles`` (admin always passes): 401 without login, 403 otherwise."""
    user: CurrentUser | None = getattr(request.state, "user", None)
    if user is None:
        raise HTTPException(401, "Inloggning krävs för den här sidan.")
    if user.role != "admin" and user.role not in roles:
        raise HTTPException(403, "Din roll har inte behörighet till den här sidan.")
    return user


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/logga-in?next={quote(request.url.path)}", status_code=303)


def _parse_id(text: str | None) -> int | None:
    text = (text or "").strip()
    if not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def _clean(text: str | None, limit: int) -> str:
    return "".join(c for c in (text or "") if c.isprintable()).strip()[:limit]


def _flash(request: Request, text: str, kind: str = "ok") -> None:
    auth.get_session_data(request)["flash"] = {"kind": kind, "text": text}


def _pop_flash(request: Request) -> dict | None:
    data = auth.get_session_data(request)
    flash = data.get("flash")
    if flash is not None:
        del data["flash"]
        data.modified = True
    return flash if isinstance(flash, dict) else None


def _db(request: Request):
    return request.app.state.db


def _safe_filename(name: str | None) -> str:
    """The uploaded file's own name (no folders, no odd characters), used in the report and the import log."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")
    if len(base) > 120:
        suffix = Path(base).suffix[:8]
        base = base[: 120 - len(suffix)] + suffix
    return base or "uppladdning.csv"


def _count_items(counts: dict | None) -> list[tuple[str, str]]:
    out = []
    for key, value in (counts or {}).items():
        label = COUNT_LABELS.get(key, key.replace("_", " "))
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            out.append((label, f"{value:,}".replace(",", "\u00a0")))
        elif isinstance(value, list | dict):
            out.append((label, f"{len(value)} st"))
        else:
            out.append((label, str(value)[:80]))
    return out


def _import_rows(request: Request) -> list[dict]:
    with _db(request).session() as session:
        logs = imports_repo.recent_imports(session, IMPORT_LOG_ROWS)
        return [{"id": r.id, "kind": KIND_LABELS.get(r.kind, r.kind), "source": Path(r.source).name or r.source,
                 "user": r.user or "–", "status": r.status, "status_label": STATUS_LABELS.get(r.status, r.status),
                 "started_at": r.started_at, "finished_at": r.finished_at, "counts": _count_items(r.counts),
                 "message": r.message or ""} for r in logs]


# --- /importer ---------------------------------------------------------------------------------------------


def _importer_page(request: Request, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    user = getattr(request.state, "user", None)
    base = {"imports": _import_rows(request), "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
            "max_bytes": MAX_UPLOAD_BYTES, "max_problems": MAX_PROBLEMS_SHOWN,
            "accept": ",".join(ALLOWED_SUFFIXES), "is_admin": getattr(user, "role", None) == "admin",
            "error": None, "result": None, "rejected": None, "source": "", "allow_new": False}
    base.update(context)
    return render(request, "admin/importer.html", base, status_code=status_code)


@router.get("/importer", response_class=HTMLResponse, response_model=None)
def importer_form(request: Request) -> Response:
    if getattr(request.state, "user", None) is None:
        return _login_redirect(request)
    _current(request, *IMPORT_ROLES)
    return _importer_page(request)


class _TooLarge(Exception):
    pass


def _limited_request(request: Request, limit: int) -> Request:
    """The same request whose body stops being read (``_TooLarge``) after ``limit`` bytes."""
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge
        return message

    return Request(request.scope, receive)


def _too_large_message() -> str:
    return (f"Filen är för stor: högst {MAX_UPLOAD_BYTES // (1024 * 1024)} MB kan laddas upp. Dela upp den i flera "
            "filer eller läs in den med kommandot handslag data import-observations.")


@router.post("/importer", response_class=HTMLResponse, response_model=None)
async def importer_upload(request: Request) -> Response:
    user = _current(request, *IMPORT_ROLES)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_UPLOAD_BYTES + FORM_OVERHEAD:
        return await run_in_threadpool(_importer_page, request, status_code=413, error=_too_large_message())
    try:
        form = await _limited_request(request, MAX_UPLOAD_BYTES + FORM_OVERHEAD).form(max_files=1, max_fields=10)
    except _TooLarge:
        return await run_in_threadpool(_importer_page, request, status_code=413, error=_too_large_message())
    token = form.get("csrf_token")
    auth.check_csrf(request, token if isinstance(token, str) else None)
    source = _clean(form.get("source") if isinstance(form.get("source"), str) else "", 200)
    allow_new = user.role == "admin" and form.get("allow_new_indicators") == "1"
    upload = form.get("file")
    keep = {"source": source, "allow_new": allow_new}
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await run_in_threadpool(_importer_page, request, status_code=400, error="Välj en fil att importera.",
                                       **keep)
    name = _safe_filename(upload.filename)
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        return await run_in_threadpool(
            _importer_page, request, status_code=400, **keep,
            error=f"{name}: filtypen stöds inte. Ladda upp CSV (.csv, .txt) eller Excel (.xlsx, .xlsm, .xls).")
    with tempfile.TemporaryDirectory(prefix="handslag-import-") as tmp:
        path = Path(tmp) / name
        size = 0
        with open(path, "wb") as fh:
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    return await run_in_threadpool(_importer_page, request, status_code=413, **keep,
                                                   error=_too_large_message())
                fh.write(chunk)
        await upload.close()
        if size == 0:
            return await run_in_threadpool(_importer_page, request, status_code=400, **keep,
                                           error=f"{name} är tom.")
        return await run_in_threadpool(_run_import, request, user, path, size, source, allow_new)


def _run_import(request: Request, user: CurrentUser, path: Path, size: int, source: str,
                allow_new: bool) -> HTMLResponse:
    keep = {"source": source, "allow_new": allow_new}
    try:
        result = import_observations(_db(request), path, user=user.username, source=source or None,
                                     allow_new_indicators=allow_new)
    except ValidationFailed as exc:
        problems: list[Problem] = exc.problems
        rejected = {"file": path.name, "total": len(problems), "problems": problems[:MAX_PROBLEMS_SHOWN],
                    "has_sheet": any(p.sheet for p in problems[:MAX_PROBLEMS_SHOWN])}
        return _importer_page(request, status_code=422, rejected=rejected, **keep)
    except Exception as exc:  # unreadable workbook, database trouble …: the transaction was rolled back
        log.exception("import of %s failed", path.name)
        return _importer_page(request, status_code=400, **keep,
                              error=f"{path.name} kunde inte importeras ({type(exc).__name__}: {str(exc)[:300]}). "
                                    "Ingenting skrevs till databasen.")
    return _importer_page(request, result={"file": path.name, "size": size, "status": result.status,
                                           "import_id": result.import_id, "counts": _count_items(result.counts),
                                           "message": result.message})


# --- /admin -----------------------------------------------------------------------------------------------


def _org_options(session) -> list[dict]:
    return goals_repo.list_organisations(session, limit=1000).items


def _admin_context(request: Request, user: CurrentUser) -> dict:
    with _db(request).session() as session:
        orgs = _org_options(session)
        org_names = {o["id"]: o["name"] for o in orgs}
        users = [{"id": u.id, "username": u.username, "role": u.role, "organisation_id": u.organisation_id,
                  "organisation": org_names.get(u.organisation_id) if u.organisation_id else None,
                  "active": u.active, "locked_until": u.locked_until, "last_login_at": u.last_login_at,
                  "created_at": u.created_at, "is_self": u.id == user.id}
                 for u in accounts_repo.list_users(session)]
        changes = []
        for entity in ("user", "organisation"):
            changes += audit.list_entries(session, entity=entity, limit=20)[0]
    changes.sort(key=lambda e: e["id"], reverse=True)
    return {"users": users, "organisations": orgs, "changes": changes[:20], "roles": ROLES,
            "role_labels": ROLE_LABELS, "role_help": ROLE_HELP, "org_types": list(ORG_TYPE_LABELS),
            "org_type_labels": ORG_TYPE_LABELS, "min_password": accounts_repo.MIN_PASSWORD_LENGTH,
            "entity_labels": {"user": "Användare", "organisation": "Organisation"}}


def _admin_page(request: Request, user: CurrentUser, *, error: str | None = None, problems: list | None = None,
                status_code: int = 200, form: dict | None = None, anchor: str | None = None) -> HTMLResponse:
    context = _admin_context(request, user)
    context.update({"flash": _pop_flash(request) if error is None else None, "error": error,
                    "problems": problems or [], "form": form or {}, "anchor": anchor})
    return render(request, "admin/admin.html", context, status_code=status_code)


def _done(request: Request, text: str, anchor: str) -> RedirectResponse:
    _flash(request, text)
    return RedirectResponse(f"/admin#{anchor}", status_code=303)


def _admin_post(request: Request, csrf_token: str) -> CurrentUser:
    user = _current(request)
    auth.check_csrf(request, csrf_token)
    return user


def _org_label(session, organisation_id: int | None) -> str:
    if organisation_id is None:
        return "–"
    org = session.get(Organisation, organisation_id)
    return org.name if org is not None else f"#{organisation_id}"


@router.get("/admin", response_class=HTMLResponse, response_model=None)
def admin_page(request: Request) -> Response:
    if getattr(request.state, "user", None) is None:
        return _login_redirect(request)
    return _admin_page(request, _current(request))


@router.post("/admin/anvandare", response_class=HTMLResponse, response_model=None)
def admin_create_user(request: Request, csrf_token: str = Form("", max_length=200),
                      username: str = Form("", max_length=200), password: str = Form("", max_length=1000),
                      password2: str = Form("", max_length=1000), role: str = Form("viewer", max_length=40),
                      organisation_id: str = Form("", max_length=20)) -> Response:
    actor = _admin_post(request, csrf_token)
    form = {"username": _clean(username, 100), "role": role, "organisation_id": organisation_id}
    org_id = _parse_id(organisation_id)
    if organisation_id.strip() and org_id is None:
        return _admin_page(request, actor, error="Välj en organisation i listan.", status_code=400, form=form,
                           anchor="ny-anvandare")
    if password != password2:
        return _admin_page(request, actor, error="Lösenorden stämmer inte överens.", status_code=400, form=form,
                           anchor="ny-anvandare")
    try:
        with _db(request).session() as session:
            user = accounts_repo.create_user_audited(session, username, password, role=role,
                                                     organisation_id=org_id, actor=actor.username)
            name, org = user.username, _org_label(session, org_id)
    except Conflict as exc:
        return _admin_page(request, actor, error=f"Användaren skapades inte: {exc}.", status_code=409, form=form,
                           anchor="ny-anvandare")
    except ValueError as exc:
        return _admin_page(request, actor, error=f"Användaren skapades inte: {exc}.", status_code=400, form=form,
                           anchor="ny-anvandare")
    where = f", organisation {org}" if org_id else ""
    return _done(request, f"Användaren {name} skapades med rollen {ROLE_LABELS[role]}{where}. "
                          "Hen kan nu logga in med det angivna lösenordet.", "anvandare")


def _user_or_404(request: Request, actor: CurrentUser, user_id: str) -> tuple[int | None, HTMLResponse | None]:
    uid = _parse_id(user_id)
    if uid is None:
        return None, _admin_page(request, actor, error=f"Det finns ingen användare {_clean(user_id, 20)!r}.",
                                 status_code=404)
    return uid, None


@router.post("/admin/anvandare/{user_id}/roll", response_class=HTMLResponse, response_model=None)
def admin_change_user(request: Request, user_id: str, csrf_token: str = Form("", max_length=200),
                      role: str = Form("", max_length=40), organisation_id: str = Form("", max_length=20)) -> Response:
    actor = _admin_post(request, csrf_token)
    uid, missing = _user_or_404(request, actor, user_id)
    if missing is not None:
        return missing
    org_id = _parse_id(organisation_id)
    if organisation_id.strip() and org_id is None:
        return _admin_page(request, actor, error="Välj en organisation i listan.", status_code=400)
    try:
        with _db(request).session() as session:
            current = accounts_repo.get_user_by_id(session, uid)
            if current is None:
                raise NotFound(f"användare {uid} finns inte")
            before_role, before_org = current.role, current.organisation_id
            user, changed = accounts_repo.update_user(session, uid, actor=actor.username, actor_id=actor.id,
                                                      role=role or None, organisation_id=org_id,
                                                      set_organisation=True)
            name = user.username
            parts = []
            if "role" in changed:
                parts.append(f"roll {ROLE_LABELS.get(before_role, before_role)} → {ROLE_LABELS[user.role]}")
            if "organisation_id" in changed:
                parts.append(f"organisation {_org_label(session, before_org)} → "
                             f"{_org_label(session, user.organisation_id)}")
    except NotFound as exc:
        return _admin_page(request, actor, error=f"Ingen ändring: {exc}.", status_code=404)
    except accounts_repo.SelfLockout as exc:
        return _admin_page(request, actor, error=f"Ingen ändring: {exc}.", status_code=403, anchor=f"u{uid}")
    except ValueError as exc:
        return _admin_page(request, actor, error=f"Ingen ändring: {exc}.", status_code=400, anchor=f"u{uid}")
    text = f"Användaren {name}: " + "; ".join(parts) + "." if parts else f"Ingen ändring för {name}."
    return _done(request, text, f"u{uid}")


@router.post("/admin/anvandare/{user_id}/aktiv", response_class=HTMLResponse, response_model=None)
def admin_set_active(request: Request, user_id: str, csrf_token: str = Form("", max_length=200),
                     active: str = Form("", max_length=20)) -> Response:
    actor = _admin_post(request, csrf_token)
    uid, missing = _user_or_404(request, actor, user_id)
    if missing is not None:
        return missing
    if active not in ("0", "1"):
        return _admin_page(request, actor, error="Ogiltigt val (aktiv ska vara 0 eller 1).", status_code=400)
    try:
        with _db(request).session() as session:
            user, changed = accounts_repo.set_active(session, uid, active == "1", actor=actor.username,
                                                     actor_id=actor.id)
            name = user.username
    except NotFound as exc:
        return _admin_page(request, actor, error=f"Ingen ändring: {exc}.", status_code=404)
    except accounts_repo.SelfLockout as exc:
        return _admin_page(request, actor, error=f"Ingen ändring: {exc}.", status_code=403, anchor=f"u{uid}")
    if not changed:
        text = f"Ingen ändring: {name} är redan {'aktiv' if active == '1' else 'inaktiverad'}."
    elif active == "1":
        text = f"Användaren {name} återaktiverades och kan logga in igen."
    else:
        text = f"Användaren {name} inaktiverades: kontot kan inte logga in och öppna sessioner avslutas."
    return _done(request, text, f"u{uid}")


@router.post("/admin/anvandare/{user_id}/losenord", response_class=HTMLResponse, response_model=None)
def admin_reset_password(request: Request, user_id: str, csrf_token: str = Form("", max_length=200),
                         password: str = Form("", max_length=1000),
                         password2: str = Form("", max_length=1000)) -> Response:
    actor = _admin_post(request, csrf_token)
    uid, missing = _user_or_404(request, actor, user_id)
    if missing is not None:
        return missing
    if password != password2:
        return _admin_page(request, actor, error="Lösenordet byttes inte: lösenorden stämmer inte överens.",
                           status_code=400, anchor=f"u{uid}")
    try:
        with _db(request).session() as session:
            name = accounts_repo.reset_password(session, uid, password, actor=actor.username).username
    except NotFound as exc:
        return _admin_page(request, actor, error=f"Ingen ändring: {exc}.", status_code=404)
    except ValueError as exc:
        return _admin_page(request, actor, error=f"Lösenordet byttes inte: {exc}.", status_code=400,
                           anchor=f"u{uid}")
    return _done(request, f"Lösenordet för {name} byttes; en eventuell spärr efter felaktiga inloggningar hävdes.",
                 f"u{uid}")


def _problem_lines(exc: ValidationFailed) -> list[str]:
    return [f"{p.column}: {p.reason}" if p.column else p.reason for p in exc.problems]


@router.post("/admin/organisationer", response_class=HTMLResponse, response_model=None)
def admin_create_organisation(request: Request, csrf_token: str = Form("", max_length=200),
                              name: str = Form("", max_length=300), type: str = Form("", max_length=40),  # noqa: A002
                              org_number: str = Form("", max_length=40),
                              description: str = Form("", max_length=5000)) -> Response:
    actor = _admin_post(request, csrf_token)
    form = {"org_name": _clean(name, 200), "org_type": type, "org_number": _clean(org_number, 20),
            "org_description": description[:2000]}
    data = {"name": _clean(name, 300), "type": type, "org_number": _clean(org_number, 40) or None,
            "description": description.strip() or None}
    try:
        with _db(request).session() as session:
            org = goals_repo.create_organisation(session, data, actor=actor.username, context={"via": "admin"})
    except ValidationFailed as exc:
        return _admin_page(request, actor, error="Organisationen skapades inte.", problems=_problem_lines(exc),
                           status_code=422, form=form, anchor="ny-organisation")
    return _done(request, f"Organisationen {org['name']} skapades (typ {ORG_TYPE_LABELS[org['type']]}).",
                 f"o{org['id']}")


@router.post("/admin/organisationer/{organisation_id}", response_class=HTMLResponse, response_model=None)
def admin_edit_organisation(request: Request, organisation_id: str, csrf_token: str = Form("", max_length=200),
                            type: str = Form("", max_length=40),  # noqa: A002
                            version: str = Form("", max_length=12)) -> Response:
    actor = _admin_post(request, csrf_token)
    oid = _parse_id(organisation_id)
    if oid is None:
        return _admin_page(request, actor, error=f"Det finns ingen organisation {_clean(organisation_id, 20)!r}.",
                           status_code=404)
    expected = _parse_id(version)
    try:
        with _db(request).session() as session:
            before = goals_repo.get_organisation(session, oid)
            after = goals_repo.update_organisation(session, oid, {"type": type}, expected_version=expected,
                                                   actor=actor.username, context={"via": "admin"})
    except NotFound:
        return _admin_page(request, actor, error=f"Det finns ingen organisation {oid}.", status_code=404)
    except Conflict:
        return _admin_page(request, actor, status_code=409, anchor=f"o{oid}",
                           error="Ingen ändring: organisationen har ändrats av någon annan sedan sidan laddades. "
                                 "Kontrollera uppgifterna nedan och försök igen.")
    except ValidationFailed as exc:
        return _admin_page(request, actor, error="Ingen ändring.", problems=_problem_lines(exc), status_code=422,
                           anchor=f"o{oid}")
    if after["type"] == before["type"]:
        return _done(request, f"Ingen ändring för {after['name']}.", f"o{oid}")
    return _done(request, f"Organisationen {after['name']}: typ {ORG_TYPE_LABELS.get(before['type'], before['type'])}"
                          f" → {ORG_TYPE_LABELS[after['type']]}.", f"o{oid}")
