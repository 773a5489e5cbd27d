"""Accounts: argon2 users, login/logout with signed sessions, CSRF, lockout, rate limit, require_role, CLI."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from handslag.config import get_settings
from handslag.store import accounts_repo
from handslag.store.models.base import utcnow
from handslag.web.app import create_app
from handslag.web.auth import COOKIE, CurrentUser, require_role
from handslag.web.deps import get_actor

PASSWORD = "rätt-häst-batteri-1"


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def _protected_app(db) -> FastAPI:
    app = create_app(db=db, settings=get_settings())
    router = APIRouter()

    @router.get("/api/v1/_test/editor")
    def editor_only(user: CurrentUser = Depends(require_role("partnership_editor"))) -> dict:
        return {"user": user.username, "role": user.role}

    @router.post("/api/v1/_test/editor")
    def editor_post(user: CurrentUser = Depends(require_role("partnership_editor"))) -> dict:
        return {"ok": True}

    @router.get("/api/v1/_test/actor")
    def actor(name: str = Depends(get_actor)) -> dict:
        return {"actor": name}

    app.include_router(router)
    return app


@pytest.fixture
def app_client(sqlite_db):
    with sqlite_db.session() as session:
        accounts_repo.create_user(session, "Anna", PASSWORD, role="admin")
        accounts_repo.create_user(session, "vera", PASSWORD, role="viewer")
        accounts_repo.create_user(session, "erik", PASSWORD, role="partnership_editor")
    with TestClient(_protected_app(sqlite_db)) as client:
        yield client


def login(client: TestClient, username: str, password: str):
    token = _token(client.get("/logga-in").text)
    return client.post("/logga-in", data={"username": username, "password": password, "csrf_token": token,
                                          "next": "/polisens-lista"}, follow_redirects=False)


def test_password_is_argon2_hashed(sqlite_db):
    with sqlite_db.session() as session:
        user = accounts_repo.create_user(session, " Bo ", PASSWORD, role="viewer")
        assert user.username == "bo"
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert accounts_repo.authenticate(session, "BO", PASSWORD).ok


@pytest.mark.parametrize(("name", "password", "role"), [("x", "kort", "viewer"), ("x", PASSWORD, "kung"),
                                                         ("a b", PASSWORD, "viewer"), ("", PASSWORD, "viewer")])
def test_create_user_rejects_bad_input(sqlite_db, name, password, role):
    with sqlite_db.session() as session, pytest.raises(ValueError):
        accounts_repo.create_user(session, name, password, role=role)


def test_login_success_sets_secure_session_and_actor(app_client):
    r = login(app_client, "anna", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/polisens-lista"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here
    page = app_client.get("/")
    assert 'data-testid="username">anna<' in page.text and "Logga ut" in page.text
    assert app_client.get("/api/v1/_test/actor").json() == {"actor": "anna"}
    # logout needs the token too, then the session is gone
    token = _token(page.text)
    assert app_client.post("/logga-ut", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert app_client.get("/api/v1/_test/actor").json() == {"actor": "anonymous"}


def test_secure_cookie_over_https(sqlite_db):
    with sqlite_db.session() as session:
        accounts_repo.create_user(session, "anna", PASSWORD, role="admin")
    with TestClient(create_app(db=sqlite_db, settings=get_settings()), base_url="https://testserver") as client:
        r = login(client, "anna", PASSWORD)
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


def test_login_failure_is_401_with_swedish_message(app_client):
    r = login(app_client, "anna", "fel-lösenord-123")
    assert r.status_code == 401 and "Fel användarnamn eller lösenord." in r.text
    r = login(app_client, "ingen-sadan", PASSWORD)
    assert r.status_code == 401 and "Fel användarnamn eller lösenord." in r.text
    assert app_client.get("/api/v1/_test/actor").json() == {"actor": "anonymous"}


def test_lockout_after_five_failures(app_client, sqlite_db):
    for _ in range(4):
        assert login(app_client, "vera", "fel-lösenord-123").status_code == 401
    r = login(app_client, "vera", "fel-lösenord-123")
    assert r.status_code == 401 and "tillfälligt låst" in r.text
    # even the right password is refused while locked
    r = login(app_client, "vera", PASSWORD)
    assert r.status_code == 401 and "tillfälligt låst" in r.text
    with sqlite_db.session() as session:
        user = accounts_repo.get_user(session, "vera")
        assert user.locked_until is not None
        remaining = user.locked_until - utcnow()
        assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
        user.locked_until = utcnow() - timedelta(seconds=1)  # the lock runs out
    assert login(app_client, "vera", PASSWORD).status_code == 303


def test_lockout_clock(sqlite_db):
    with sqlite_db.session() as session:
        accounts_repo.create_user(session, "kim", PASSWORD)
        t0 = utcnow()
        results = [accounts_repo.authenticate(session, "kim", "fel", now=t0) for _ in range(5)]
        assert [r.reason for r in results] == ["bad_credentials"] * 4 + ["locked"]
        assert results[-1].locked_until == t0 + timedelta(minutes=15)
        assert accounts_repo.authenticate(session, "kim", PASSWORD, now=t0 + timedelta(minutes=14)).reason == "locked"
        assert accounts_repo.authenticate(session, "kim", PASSWORD, now=t0 + timedelta(minutes=16)).ok


def test_rate_limit_per_client(app_client):
    app_client.app.state.login_limiter.limit = 3
    codes = [login(app_client, f"x{i}", "fel-lösenord").status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]
    assert "För många inloggningsförsök" in login(app_client, "anna", PASSWORD).text


def test_csrf_rejected_without_or_with_wrong_token(app_client):
    app_client.get("/logga-in")
    r = app_client.post("/logga-in", data={"username": "anna", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = app_client.post("/logga-in", data={"username": "anna", "password": PASSWORD, "csrf_token": "fel"},
                        follow_redirects=False)
    assert r.status_code == 403
    assert app_client.post("/logga-ut", data={}).status_code == 403


def test_forged_session_cookie_is_ignored(app_client):
    app_client.cookies.set(COOKIE, "eyJ1aWQiOjF9.forged.signature")
    assert app_client.get("/api/v1/_test/actor").json() == {"actor": "anonymous"}


def test_require_role(app_client):
    assert app_client.get("/api/v1/_test/editor").status_code == 401
    login(app_client, "vera", PASSWORD)
    assert app_client.get("/api/v1/_test/editor").status_code == 403
    app_client.cookies.clear()
    login(app_client, "erik", PASSWORD)
    assert app_client.get("/api/v1/_test/editor").json() == {"user": "erik", "role": "partnership_editor"}
    # unsafe methods need the CSRF header as well
    assert app_client.post("/api/v1/_test/editor").status_code == 403
    token = _token(app_client.get("/").text)
    assert app_client.post("/api/v1/_test/editor", headers={"X-CSRF-Token": token}).json() == {"ok": True}
    app_client.cookies.clear()
    login(app_client, "anna", PASSWORD)  # admin passes every role check
    assert app_client.get("/api/v1/_test/editor").json()["role"] == "admin"
    with pytest.raises(ValueError):
        require_role("kung")


def test_open_redirect_is_refused(app_client):
    token = _token(app_client.get("/logga-in").text)
    r = app_client.post("/logga-in", data={"username": "anna", "password": PASSWORD, "csrf_token": token,
                                           "next": "https://evil.example/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_cli_user_add(tmp_path, monkeypatch):
    from handslag.cli import app as cli
    from handslag.store.db import Database

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("HANDSLAG_DATABASE_URL", url)
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "add", "Admin1", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["user", "add", "x", "--role", "admin", "--password-stdin"], input="kort\n")
    assert r.exit_code == 2
    r = runner.invoke(cli, ["user", "add", "y", "--role", "kung", "--password-stdin"], input=PASSWORD + "\n")
    assert r.exit_code == 2
    r = runner.invoke(cli, ["user", "add", "z"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    db = Database(url)
    with db.session() as session:
        assert accounts_repo.get_user(session, "admin1").role == "admin"
        assert accounts_repo.get_user(session, "z").role == "viewer"
        assert accounts_repo.authenticate(session, "admin1", PASSWORD).ok
        assert accounts_repo.count_users(session) == 2
    db.dispose()
