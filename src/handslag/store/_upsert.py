"""Dialect-aware bulk upsert (SQLite and PostgreSQL both support ON CONFLICT … DO UPDATE)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert(session: Session, table: Table, rows: Sequence[dict], keys: Sequence[str],
           chunk: int = 20000) -> int:
    """Insert ``rows``; where ``keys`` already exist, update the other columns. Returns rows sent."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = list(rows[0].keys())
    update_cols = [c for c in columns if c not in keys]
    stmt = insert(table)
    if update_cols:
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update_cols})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    # executemany: SQLAlchemy batches the rows ("insertmanyvalues") without compiling one huge statement
    for start in range(0, len(rows), chunk):
        session.execute(stmt, list(rows[start:start + chunk]))
    return len(rows)
