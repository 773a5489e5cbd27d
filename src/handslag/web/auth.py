"""Sessions, CSRF, login rate limiting and role checks.

- The session is a signed cookie (itsdangerous, key ``settings.secret_key``): HttpOnly, SameSite=Lax and
  Secure when the request came over https. It holds the user id, a CSRF token and the login time.
- Every form carries ``csrf_token``; :func:`check_csrf` compares it (or the ``X-CSRF-Token`` header)
  with the session's token in constant time and answers 403 otherwise.
- :func:`require_role` is a dependency for API routers and pages: 401 without login, 403 with the wrong
  role (admins pass every check).
- ``request.state.user`` is a :class:`CurrentUser` (or ``None``), so ``web.deps.get_actor`` names the user.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI, HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from handslag.store import accounts_repo
from handslag.store.models.accounts import ROLES

COOKIE = "handslag_session"
SESSION_MAX_AGE = 8 * 3600
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    role: str
    organisation_id: int | None


class SessionData(dict):
    """The session dict; remembers whether it changed so the cookie is only rewritten when needed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.modified = False

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.modified = True

    def clear(self) -> None:
        super().clear()
        self.modified = True


class LoginRateLimiter:
    """At most ``limit`` login attempts per client address in ``window`` seconds (in memory, per process)."""

    def __init__(self, limit: int = 20, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] < now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle clients
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return True


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.secret_key, salt="handslag-session")


def get_session_data(request: Request) -> SessionData:
    data = getattr(request.state, "session", None)
    if data is None:
        data = SessionData()
        request.state.session = data
    return data


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    session = get_session_data(request)
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = get_session_data(request).get("csrf")
    submitted = submitted or request.headers.get("x-csrf-token")
    if not expected or not submitted or not hmac.compare_digest(str(expected), str(submitted)):
        raise HTTPException(403, "CSRF-kontrollen misslyckades: ladda om sidan och försök igen")


def login_session(request: Request, user_id: int) -> None:
    """Start a fresh session for ``user_id`` (new CSRF token: no session fixation)."""
    session = get_session_data(request)
    session.clear()
    session["uid"] = user_id
    session["csrf"] = secrets.token_urlsafe(32)
    session["at"] = int(time.time())


def logout_session(request: Request) -> None:
    get_session_data(request).clear()
    request.state.user = None


def require_role(*roles: str) -> Callable[[Request], CurrentUser]:
    """Dependency: the logged-in user, who must have one of ``roles`` (admin always passes).

    Unsafe methods (POST, PUT, PATCH, DELETE) also need the CSRF token in the ``X-CSRF-Token`` header.
    """
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    def dependency(request: Request) -> CurrentUser:
        user: CurrentUser | None = getattr(request.state, "user", None)
        if user is None:
            raise HTTPException(401, "inloggning krävs")
        if roles and user.role != "admin" and user.role not in roles:
            raise HTTPException(403, "din roll har inte behörighet till detta")
        if request.method not in SAFE_METHODS:
            check_csrf(request, None)
        return user

    return dependency


class SessionMiddleware(BaseHTTPMiddleware):
    """Load the signed session cookie and the user; write the cookie back when the session changed."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        data = SessionData()
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                loaded = _serializer(request).loads(raw, max_age=SESSION_MAX_AGE)
                if isinstance(loaded, dict):
                    data = SessionData(loaded)
            except BadSignature:
                data = SessionData()
                data.modified = True  # replace the bad cookie
        request.state.session = data
        request.state.user = None
        uid = data.get("uid")
        if isinstance(uid, int):
            # blocking DB work off the event loop (holding the loop here starved the connection pool)
            request.state.user = await run_in_threadpool(_load_user, request, uid)
            if request.state.user is None:
                data.clear()
        response = await call_next(request)
        if data.modified:
            secure = request.url.scheme == "https"
            if data:
                response.set_cookie(COOKIE, _serializer(request).dumps(dict(data)), max_age=SESSION_MAX_AGE,
                                    httponly=True, samesite="lax", secure=secure, path="/")
            else:
                response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure)
        return response


def _load_user(request: Request, uid: int) -> CurrentUser | None:
    with request.app.state.db.session() as session:
        user = accounts_repo.get_user_by_id(session, uid)
        if user is None or not user.active:
            return None
        return CurrentUser(user.id, user.username, user.role, user.organisation_id)


# What each role may do in the partnership/goals API (admin may do everything).
ROLE_PERMISSIONS: dict[str, set[str]] = {
    "partnership_editor": {"goals:read", "goals:write", "measurements:enter", "measurements:approve", "audit:read",
                           "surveys:read", "surveys:write", "operations:read", "operations:write"},
    "partner_contributor": {"goals:read", "measurements:enter", "surveys:read", "operations:read"},
    "viewer": {"goals:read", "surveys:read", "operations:read"},
}


def authorize(request: Request, actor: str, permission: str) -> bool:
    """Permission check used by the goals API (``app.state.authorize``).

    Not logged in → 401; unsafe methods need the CSRF header; then the role decides.
    """
    user: CurrentUser | None = getattr(request.state, "user", None)
    if user is None:
        raise HTTPException(401, "inloggning krävs")
    if request.method not in SAFE_METHODS:
        check_csrf(request, None)
    return user.role == "admin" or permission in ROLE_PERMISSIONS.get(user.role, set())


def install(app: FastAPI) -> None:
    app.state.authorize = authorize
    app.state.login_limiter = LoginRateLimiter()
    app.add_middleware(SessionMiddleware)
