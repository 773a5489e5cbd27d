"""The import log and the transaction around every import.

An import is one transaction plus one row in ``imports``. When the work fails the transaction is
rolled back (nothing is written to the data tables) and the failure is recorded in a separate
transaction. An import whose file hash equals a finished import of the same kind changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handslag.errors import ValidationFailed

from .db import Database
from .models import ImportLog, utcnow


@dataclass
class ImportResult:
    import_id: int | None
    status: str  # ok, unchanged
    counts: dict = field(default_factory=dict)
    message: str = ""


def find_finished(session: Session, kind: str, file_hash: str) -> ImportLog | None:
    return session.scalars(select(ImportLog).where(ImportLog.kind == kind, ImportLog.file_hash == file_hash,
                                                   ImportLog.status == "ok").order_by(ImportLog.id.desc())).first()


def run_import(db: Database, *, kind: str, source: str, file_hash: str | None, user: str | None,
               work: Callable[[Session, int], dict], problems_in_log: bool = True,
               refresh_goals: bool = True) -> ImportResult:
    """Run ``work(session, import_id) -> counts`` in one transaction with an import-log row.

    ``problems_in_log=False`` records only the summary of a rejection (for inputs whose problem lines
    could quote personal data, e.g. survey answers). ``refresh_goals`` refreshes statistic-linked goals
    in the same transaction. A ``"_notes"`` entry in the counts is returned (as the message), not logged.
    """
    if file_hash:
        with db.session() as session:
            done = find_finished(session, kind, file_hash)
            if done is not None:
                return ImportResult(done.id, "unchanged", dict(done.counts or {}),
                                    f"identical to import #{done.id} ({done.finished_at:%Y-%m-%d %H:%M}); "
                                    "nothing changed")
    try:
        with db.session() as session:
            log = ImportLog(kind=kind, source=source[:2000], file_hash=file_hash, user=user, status="running")
            session.add(log)
            session.flush()
            counts = work(session, log.id)
            notes = counts.pop("_notes", None)
            if refresh_goals:
                # statistic-linked goals take their actuals from the store: refresh them in this transaction
                from .goals_repo import on_statistics_imported

                refreshed = on_statistics_imported(session)
                if refreshed:
                    counts["goals_refreshed"] = len(refreshed)
            log.status = "ok"
            log.counts = counts
            log.finished_at = utcnow()
            import_id = log.id
        return ImportResult(import_id, "ok", counts, "\n".join(notes) if notes else "")
    except BaseException as exc:
        counts = None
        if isinstance(exc, ValidationFailed):
            message = exc.format(50) if problems_in_log else exc.summary()
            counts = None if problems_in_log else {"problems": len(exc.problems)}
        else:
            message = f"{type(exc).__name__}: {exc}"
        with db.session() as session:
            session.add(ImportLog(kind=kind, source=source[:2000], file_hash=file_hash, user=user, status="failed",
                                  finished_at=utcnow(), counts=counts, message=message[:20000]))
        raise


def record_failure(db: Database, *, kind: str, source: str, file_hash: str | None, user: str | None,
                   error: ValidationFailed) -> None:
    """Record a rejected import (validation failed before any write)."""
    with db.session() as session:
        session.add(ImportLog(kind=kind, source=source, file_hash=file_hash, user=user, status="failed",
                              finished_at=utcnow(), message=error.format(50)[:20000]))


def import_stamp(session: Session) -> int:
    """The newest import-log id: changes with every import (statistics, surveys, operations, areas)."""
    return int(session.scalar(select(func.max(ImportLog.id))) or 0)


def data_stamp(session: Session) -> tuple[int, int]:
    """(newest import-log id, newest audit-log id). Every import writes an import-log row and every other
    change (goals, measurements, admin, survey/operations configuration) an audit entry in its own
    transaction, so this pair changes whenever anything a read model shows can have changed."""
    from .models.goals import AuditEntry

    return import_stamp(session), int(session.scalar(select(func.max(AuditEntry.id))) or 0)


def recent_imports(session: Session, limit: int = 50) -> list[ImportLog]:
    return list(session.scalars(select(ImportLog).order_by(ImportLog.id.desc()).limit(limit)))
