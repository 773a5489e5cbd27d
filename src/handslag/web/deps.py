"""FastAPI dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from handslag.store.db import Database


def get_database(request: Request) -> Database:
    return request.app.state.db


def get_session(request: Request) -> Iterator[Session]:
    """A session per request: committed when the handler returns, rolled back on error."""
    db: Database = request.app.state.db
    with db.session() as session:
        yield session


def get_actor(request: Request) -> str:
    """Who is acting: the logged-in user's name, else 'anonymous'."""
    user = getattr(request.state, "user", None)
    return getattr(user, "username", None) or "anonymous"
