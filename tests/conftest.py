"""Shared fixtures.

Real data lives in ``../shared/data`` (beside the repository) or wherever ``HANDSLAG_SHARED_DATA``
points. Tests that need it use the ``shared_data`` fixture and are skipped with a message when the
folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    env = os.environ.get("HANDSLAG_SHARED_DATA") or os.environ.get("HANDSLAG_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for path in candidates:
        if (path / "SOURCES.md").exists():
            return path.resolve()
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("real data folder ../shared/data is absent (set HANDSLAG_SHARED_DATA to point at it)")
    return path


# --- databases -------------------------------------------------------------------------------------------
# Every test that needs a store uses ``db``: an empty database with the newest schema. It runs on SQLite
# always and, when a PostgreSQL server is reachable (HANDSLAG_TEST_POSTGRES_URL, default
# postgresql://postgres@127.0.0.1:5432/test), on PostgreSQL too, in a database created for this run and
# dropped afterwards, so a run never depends on data left by an earlier one.

import uuid  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402

PG_ADMIN_URL = os.environ.get("HANDSLAG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_available() -> bool:
    if os.environ.get("HANDSLAG_TEST_NO_POSTGRES"):
        return False
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


_PG = _postgres_available()
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)] if _PG else ["sqlite"]


@pytest.fixture(scope="session")
def postgres_server():
    """Create one throw-away PostgreSQL database per test run; yields a factory of fresh schemas."""
    if not _PG:
        pytest.skip("no PostgreSQL server reachable")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    created: list[str] = []
    run = uuid.uuid4().hex[:8]
    # one migrated, seeded template per run; each test's database is a cheap copy of it
    template = f"handslag_tmpl_{run}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{template}"'))
    created.append(template)
    make_database(admin.url.set(database=template).render_as_string(hide_password=False)).dispose()

    def new_database() -> str:
        name = f"handslag_test_{run}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        created.insert(0, name)
        return admin.url.set(database=name).render_as_string(hide_password=False)

    yield new_database
    with admin.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_database(url: str):
    from handslag.store.db import Database

    return Database(url)


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path):
    """An empty, migrated database (SQLite file, and PostgreSQL when reachable)."""
    if request.param == "sqlite":
        database = make_database(f"sqlite:///{tmp_path / 'test.sqlite'}")
    else:
        database = make_database(request.getfixturevalue("postgres_server")())
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path):
    """An empty, migrated SQLite database (for tests that need only one backend)."""
    database = make_database(f"sqlite:///{tmp_path / 'test.sqlite'}")
    yield database
    database.dispose()


@pytest.fixture
def client(db):
    """A FastAPI TestClient on an empty database."""
    from fastapi.testclient import TestClient

    from handslag.config import get_settings
    from handslag.web.app import create_app

    with TestClient(create_app(db=db, settings=get_settings())) as test_client:
        yield test_client


@pytest.fixture(scope="session", params=BACKENDS)
def loaded_db(request, shared_data, tmp_path_factory):
    """A database with ``../shared/data`` imported once per backend and test run (treat as read-only)."""
    from handslag.ingest import import_snapshot

    if request.param == "sqlite":
        database = make_database(f"sqlite:///{tmp_path_factory.mktemp('loaded') / 'loaded.sqlite'}")
    else:
        database = make_database(request.getfixturevalue("postgres_server")())
    import_snapshot(database, shared_data)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def loaded_client(loaded_db):
    """A TestClient on the loaded database (read-only use)."""
    from fastapi.testclient import TestClient

    from handslag.config import get_settings
    from handslag.web.app import create_app

    with TestClient(create_app(db=loaded_db, settings=get_settings())) as test_client:
        yield test_client


def login_client(test_client, database, username: str = "tester", role: str = "admin",
                 password: str = "test-lösenord-123", organisation_id: int | None = None):
    """Create a user (if missing), log ``test_client`` in through the login form, and send the session's
    CSRF token on every later request (as the HTMX pages do)."""
    import re

    from handslag.store import accounts_repo

    with database.session() as session:
        if accounts_repo.get_user(session, username) is None:
            accounts_repo.create_user(session, username, password, role=role, organisation_id=organisation_id)

    def token() -> str:
        match = re.search(r'name="csrf_token" value="([^"]+)"', test_client.get("/logga-in").text)
        assert match, "no CSRF token on the login page"
        return match.group(1)

    r = test_client.post("/logga-in", data={"username": username, "password": password, "csrf_token": token()},
                         follow_redirects=False)
    assert r.status_code == 303, r.text
    test_client.headers["X-CSRF-Token"] = token()
    return test_client


@pytest.fixture
def api_client(client, db):
    """``client`` logged in as an administrator called 'tester' (for the internal, role-checked API)."""
    return login_client(client, db)


@pytest.fixture
def approver_client(client, db):
    """A second session on the same app, logged in as the partnership editor 'granskare' (four-eyes rule)."""
    from fastapi.testclient import TestClient

    with TestClient(client.app) as other:
        yield login_client(other, db, "granskare", "partnership_editor")
