"""The audit log: one row per change (who, when, which entity, its state before and after).

Any domain may write here with :func:`record`, in the same transaction as the change itself, so a
rolled-back change leaves no audit row and a committed one always has one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from .models.base import utcnow
from .models.goals import AuditEntry


def jsonable(value: Any) -> Any:
    """Dates as ISO text, bytes as their SHA-256, everything else as JSON types."""
    return to_jsonable_python(value, fallback=lambda v: f"sha256:{hashlib.sha256(v).hexdigest()}"
                              if isinstance(v, bytes | bytearray) else str(v))


def row_snapshot(obj: Any, *, skip: tuple[str, ...] = ()) -> dict:
    """The column values of a mapped object (binary columns omitted)."""
    out = {}
    for attr in inspect(obj).mapper.column_attrs:
        if attr.key in skip:
            continue
        value = getattr(obj, attr.key)
        if isinstance(value, bytes | bytearray):
            continue
        out[attr.key] = value
    return jsonable(out)


def record(session: Session, *, actor: str, action: str, entity: str, entity_id: Any, before: dict | None = None,
           after: dict | None = None, version: int | None = None, context: dict | None = None,
           at: datetime | None = None) -> AuditEntry:
    entry = AuditEntry(at=at or utcnow(), actor=actor or "anonymous", action=action, entity=entity,
                       entity_id=str(entity_id), version=version, before=jsonable(before) if before else None,
                       after=jsonable(after) if after else None, context=jsonable(context) if context else None)
    session.add(entry)
    return entry


def entry_dict(e: AuditEntry) -> dict:
    return {"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "entity": e.entity,
            "entity_id": e.entity_id, "version": e.version, "before": e.before, "after": e.after,
            "context": e.context}


def list_entries(session: Session, *, entity: str | None = None, entity_id: Any = None, actor: str | None = None,
                 action: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Audit entries, newest first, and the total count matching the filters."""
    stmt = select(AuditEntry)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == str(entity_id))
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).all()
    return [entry_dict(e) for e in rows], total


def changed_fields(before: dict | None, after: dict | None) -> list[str]:
    before, after = before or {}, after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
