"""Application services that move data from sources into the store (one transaction per import)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from handslag.errors import ValidationFailed
from handslag.sources.files import file_hash, read_area_file, read_observations
from handslag.sources.snapshot import read_snapshot
from handslag.store import areas_repo, observations_repo, police_repo
from handslag.store.db import Database
from handslag.store.imports_repo import ImportResult, record_failure, run_import

Progress = Callable[[int, int, str], None]


def import_snapshot(db: Database, root: str | Path, *, progress: Progress | None = None,
                    user: str | None = None) -> ImportResult:
    """Read, validate and store a snapshot folder (see :mod:`handslag.sources.snapshot`)."""
    root = Path(root).resolve()
    try:
        snap = read_snapshot(root, progress=progress)
    except ValidationFailed as exc:
        record_failure(db, kind="snapshot", source=str(root), file_hash=None, user=user, error=exc)
        raise

    def work(session, import_id: int) -> dict:
        counts: dict = {"areas": areas_repo.upsert_areas(session, snap.areas, import_id),
                        "observations": observations_repo.upsert_observations(session, snap.observations, import_id),
                        "links": areas_repo.upsert_links(session, snap.links) if len(snap.links) else 0}
        if len(snap.police):
            counts.update(police_repo.replace_editions(session, snap.police, snap.overlaps, import_id))
        counts["files"] = snap.files
        counts["notes"] = snap.notes
        return counts

    result = run_import(db, kind="snapshot", source=str(root), file_hash=snap.fingerprint, user=user, work=work)
    result.counts.setdefault("notes", snap.notes)
    return result


def import_observations(db: Database, path: str | Path, *, user: str | None = None,
                        allow_new_indicators: bool = False, source: str | None = None) -> ImportResult:
    path = Path(path)
    digest = file_hash(path) if path.exists() else None
    with db.session() as session:
        known = areas_repo.area_keys(session)
    try:
        frame = read_observations(path, known, default_source=source or f"file {path.name}",
                                  allow_new_indicators=allow_new_indicators)
    except ValidationFailed as exc:
        record_failure(db, kind="observations", source=str(path), file_hash=digest, user=user, error=exc)
        raise
    return run_import(db, kind="observations", source=str(path), file_hash=digest, user=user,
                      work=lambda session, iid: {"observations": observations_repo.upsert_observations(
                          session, frame, iid)})


def import_areas(db: Database, path: str | Path, *, user: str | None = None, **kwargs) -> ImportResult:
    path = Path(path)
    digest = file_hash(path) if path.exists() else None
    try:
        frame = read_area_file(path, **kwargs)
    except ValidationFailed as exc:
        record_failure(db, kind="areas", source=str(path), file_hash=digest, user=user, error=exc)
        raise
    return run_import(db, kind="areas", source=str(path), file_hash=digest, user=user,
                      work=lambda session, iid: {"areas": areas_repo.upsert_areas(session, frame, iid)})


def store_observations(db: Database, frame: pd.DataFrame, *, kind: str, source: str,
                       user: str | None = None) -> ImportResult:
    """Store an observations frame fetched from a service (SCB, Kolada) as one import."""
    with db.session() as session:
        known = set(map(tuple, areas_repo.area_keys(session)[["code", "division"]].to_numpy()))
    missing = {(c, d) for c, d in zip(frame["area_code"], frame["division"], strict=True) if (c, d) not in known}
    if missing:
        # areas from a service that the registry does not have yet: add them with their level and kommun
        from handslag.areas.codes import code_level

        rows = pd.DataFrame(sorted(missing), columns=["code", "division"])
        rows["level"] = rows["code"].map(code_level)
        rows["kommun_code"] = rows["code"].map(lambda c: c[:4] if len(c) >= 4 else None)
        rows["lan_code"] = rows["code"].str[:2]
    else:
        rows = None

    def work(session, import_id):
        if rows is not None:
            areas_repo.upsert_areas(session, rows, import_id)
        return {"observations": observations_repo.upsert_observations(session, frame, import_id),
                "new_areas": 0 if rows is None else len(rows)}

    return run_import(db, kind=kind, source=source, file_hash=None, user=user, work=work)


def database_is_empty(db: Database) -> bool:
    with db.session() as session:
        deso, _ = areas_repo.list_areas(session, level="deso", limit=1)
        regso, _ = areas_repo.list_areas(session, level="regso", limit=1)
    return deso + regso == 0
