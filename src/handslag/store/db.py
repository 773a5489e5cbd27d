"""Engine, sessions and schema upgrades.

SQLite (default) gets WAL journaling and foreign keys; PostgreSQL is used when
``HANDSLAG_DATABASE_URL`` points to one. The schema is managed by Alembic; :func:`upgrade`
brings any database to the newest revision and is called by the app on start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


# A pool at least as large as the web server's worker threads (AnyIO's default is 40) plus some headroom,
# so that concurrent requests wait for a thread, not for a connection (measured: 50 concurrent logged-in
# clients exhausted the default 5 + 10 and stalled the server).
POOL = {"pool_size": 20, "max_overflow": 60, "pool_timeout": 30}


def make_engine(url: str, **kwargs) -> Engine:
    in_memory = ":memory:" in url or url in ("sqlite://", "sqlite:///")
    if not in_memory:
        for key, value in POOL.items():
            kwargs.setdefault(key, value)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Upgrade the schema to ``revision`` (default: newest)."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(engine), revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, future=True)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class Database:
    """An engine plus its session factory; what the adapters pass around."""

    def __init__(self, url: str, *, migrate: bool = True, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = session_factory(self.engine)
        if migrate:
            upgrade(self.engine)
            from .areas_repo import ensure_regions

            with self.session() as session:
                ensure_regions(session)

    def session(self):
        return session_scope(self.sessions)

    def dispose(self) -> None:
        self.engine.dispose()
