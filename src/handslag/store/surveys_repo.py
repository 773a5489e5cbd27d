"""Surveys in the store: instruments, waves, imports of answers or aggregated results, and results per area.

Imports are one transaction plus one row in ``imports`` (kind ``survey_responses`` or ``survey_aggregated``):
the file is read and checked completely by :mod:`handslag.surveys` before anything is written; a failed
import leaves only a ``failed`` log row; importing the same file into the same wave again changes nothing.

Respondent ids are kept only as a keyed hash (BLAKE2b of wave id and id) and free-text answers are dropped
at import, so neither can leave the store. Results are computed on request from the stored answers with
:func:`handslag.surveys.compute_results` and always suppressed below the minimum group size.

Also home of two helpers the operations repository shares: :func:`run_import` (import log, idempotency)
and :func:`resolve_areas` (area codes → division, level, parent).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from handslag.areas.codes import normalise_code, split_suffix
from handslag.errors import Conflict, NotFound, Problem, ValidationFailed
from handslag.surveys import (
    DEFAULT_MIN_GROUP_SIZE,
    METHODS,
    Instrument,
    Question,
    WaveInput,
    aggregated_results,
    check_min_group_size,
    compare_waves,
    compute_results,
    poststratification_weights,
    read_aggregated,
    read_responses,
    read_table,
)
from handslag.surveys.readers import detect_format

from . import imports_repo
from .audit import record as audit_record
from .db import Database
from .models import Area, ImportLog
from .models.surveys import (
    SurveyAggregate,
    SurveyAnswer,
    SurveyInstrument,
    SurveyQuestion,
    SurveyRespondent,
    SurveyWave,
    SurveyWaveArea,
)

# --- shared import helpers -------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did. ``status`` is ``ok`` or ``unchanged`` (the same file was imported before)."""

    import_id: int
    kind: str
    status: str
    counts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"import_id": self.import_id, "kind": self.kind, "status": self.status, "counts": self.counts,
                "notes": self.notes}


def file_digest(path: str | Path, *extra: object) -> str:
    """SHA-256 of the file's bytes and of the options that change what the import does."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    for item in extra:
        h.update(b"\x1f" + str(item).encode("utf-8"))
    return h.hexdigest()


def run_import(db: Database, *, kind: str, source: str, digest: str, user: str | None,
               work: Callable[[Session, ImportLog], dict[str, Any]]) -> ImportReport:
    """Run ``work(session, log)`` through the shared import transaction
    (:func:`handslag.store.imports_repo.run_import`), without problem lines in the log (they could
    quote answers) and without the goals refresh (surveys feed no statistic-linked goal)."""
    result = imports_repo.run_import(
        db, kind=kind, source=source, file_hash=digest, user=user, problems_in_log=False, refresh_goals=False,
        work=lambda session, import_id: work(session, session.get(ImportLog, import_id)))
    if result.status == "unchanged":
        return ImportReport(result.import_id, kind, "unchanged", result.counts,
                            [f"this file was already imported (import {result.import_id}); nothing changed"])
    return ImportReport(result.import_id, kind, "ok", result.counts,
                        result.message.split("\n") if result.message else [])


@dataclass(frozen=True)
class AreaInfo:
    code: str
    division: str
    level: str
    name: str | None
    parent_code: str | None
    parent_division: str | None


def _division_year(division: str) -> int:
    m = re.search(r"(\d{4})", division or "")
    return int(m.group(1)) if m else 0


def resolve_areas(session: Session, codes: Iterable[str], *, division: str | None = None,
                  levels: Sequence[str] | None = None) -> tuple[dict[str, AreaInfo], dict[str, str]]:
    """Look area codes up in ``areas``: ``(found, bad)`` keyed by the codes as given, ``bad = {code: reason}``.

    Codes are normalised first (blanks, leading zeros lost by spreadsheets, SCB's ``_DeSO2025`` suffix,
    which also fixes the division). Without a division, a code that exists in several divisions resolves
    to the newest one (e.g. DeSO2025 before DeSO2018); the chosen division is stored with every value, so
    nothing is joined on code alone.
    """
    given = sorted({str(c) for c in codes if c is not None and str(c).strip() != ""})
    wanted: dict[str, tuple[str, str | None]] = {}
    for raw in given:
        code, suffix_division = split_suffix(raw)
        wanted[raw] = (normalise_code(code), suffix_division or division)
    canonical = sorted({c for c, _ in wanted.values()})
    candidates: dict[str, list[AreaInfo]] = {}
    for start in range(0, len(canonical), 500):
        chunk = canonical[start:start + 500]
        stmt = select(Area.code, Area.division, Area.level, Area.name, Area.parent_code,
                      Area.parent_division).where(Area.code.in_(chunk))
        if levels:
            stmt = stmt.where(Area.level.in_(list(levels)))
        for row in session.execute(stmt):
            info = AreaInfo(*row)
            candidates.setdefault(info.code, []).append(info)
    found: dict[str, AreaInfo] = {}
    bad: dict[str, str] = {}
    for raw, (code, div) in wanted.items():
        options = [a for a in candidates.get(code, []) if div is None or a.division == div]
        if not options:
            bad[raw] = f"unknown area code{' in division ' + div if div else ''}"
            continue
        found[raw] = max(options, key=lambda a: (_division_year(a.division), a.division))
    return found, bad


def get_area(session: Session, code: str, division: str | None = None) -> AreaInfo:
    found, bad = resolve_areas(session, [code], division=division)
    if code not in found:
        raise NotFound(f"area {code}{' in division ' + division if division else ''} does not exist")
    return found[code]


def child_areas(session: Session, area: AreaInfo) -> list[AreaInfo]:
    """Areas whose parent is ``area`` (e.g. the DeSO of a RegSO)."""
    rows = session.execute(select(Area.code, Area.division, Area.level, Area.name, Area.parent_code,
                                  Area.parent_division).where(Area.parent_code == area.code,
                                                              Area.parent_division == area.division))
    return [AreaInfo(*r) for r in rows]


def _bulk_insert(session: Session, table: str, columns: Sequence[str], frame: pd.DataFrame) -> None:
    """Insert many rows fast inside the session's transaction (executemany on SQLite, COPY on PostgreSQL)."""
    if not len(frame):
        return
    conn = session.connection()
    raw = conn.connection.driver_connection
    dialect = conn.dialect.name
    cols = list(columns)
    if dialect == "postgresql":
        numeric = all(pd.api.types.is_numeric_dtype(frame[c]) for c in cols)
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            if numeric:
                import pyarrow as pa
                import pyarrow.csv as pacsv

                buffer = io.BytesIO()
                pacsv.write_csv(pa.Table.from_pandas(frame[cols], preserve_index=False), buffer,
                                write_options=pacsv.WriteOptions(include_header=False, delimiter="\t",
                                                                 quoting_style="none"))
                copy.write(buffer.getvalue())
            else:
                for row in zip(*(_python_values(frame[c]) for c in cols), strict=True):
                    copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in cols)
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders})"
    cur = raw.cursor()
    try:
        cur.executemany(sql, zip(*(_python_values(frame[c]) for c in cols), strict=True))
    finally:
        cur.close()


def _python_values(series: pd.Series) -> list:
    if pd.api.types.is_integer_dtype(series) or pd.api.types.is_float_dtype(series):
        if series.isna().any():
            return [None if pd.isna(v) else v for v in series.astype(object).tolist()]
        return series.tolist()
    return series.astype(object).where(series.notna(), None).tolist()


# --- instruments ----------------------------------------------------------------------------------------


def _join(codes: Iterable[Any]) -> str | None:
    items = [str(c) for c in codes]
    return "|".join(items) if items else None


def _split_codes(text: str | None) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("|") if p) if text else ()


def save_instrument(session: Session, instrument: Instrument, *, user: str | None = None,
                    replace: bool = False) -> SurveyInstrument:
    """Store an instrument. Replacing one is allowed only while no wave of it has data."""
    row = session.scalar(select(SurveyInstrument).where(SurveyInstrument.name == instrument.name))
    if row is not None:
        if not replace:
            raise Conflict(f"instrument {instrument.name!r} exists; replace it explicitly")
        used = session.scalar(select(func.count()).select_from(SurveyWave).where(
            SurveyWave.instrument_id == row.id, SurveyWave.respondents > 0))
        aggregated = session.scalar(select(func.count()).select_from(SurveyAggregate).join(
            SurveyWave, SurveyWave.id == SurveyAggregate.wave_id).where(SurveyWave.instrument_id == row.id))
        if used or aggregated:
            raise Conflict(f"instrument {instrument.name!r} already has imported answers; create a new "
                           "instrument (e.g. with a version suffix) instead of changing it")
        row.questions.clear()
        session.flush()
    else:
        row = SurveyInstrument(name=instrument.name, created_by=user)
        session.add(row)
    row.title = instrument.title or None
    row.description = instrument.description or None
    for pos, q in enumerate(instrument.questions):
        row.questions.append(SurveyQuestion(
            position=pos, code=q.id, text=q.text or None, kind=q.kind, scale_min=q.scale_min,
            scale_max=q.scale_max, direction=q.direction, indices=_join(q.indices),
            positive_codes=_join(q.positive) if q.positive is not None else None,
            dont_know_codes=_join(q.dont_know), labels={str(k): v for k, v in q.labels.items()} or None))
    session.flush()
    audit_record(session, actor=user or "system", action="save_instrument", entity="survey_instrument",
                 entity_id=row.id)
    return row


def _instrument_row(session: Session, ref: str | int) -> SurveyInstrument:
    stmt = select(SurveyInstrument)
    stmt = stmt.where(SurveyInstrument.id == ref) if isinstance(ref, int) else stmt.where(
        SurveyInstrument.name == ref)
    row = session.scalar(stmt)
    if row is None:
        raise NotFound(f"survey instrument {ref!r} does not exist")
    return row


def _to_instrument(row: SurveyInstrument) -> Instrument:
    questions = tuple(
        Question(id=q.code, text=q.text or "", scale_min=q.scale_min, scale_max=q.scale_max,
                 direction=q.direction, indices=tuple(q.indices.split("|")) if q.indices else (),
                 positive=_split_codes(q.positive_codes) if q.positive_codes else None,
                 dont_know=_split_codes(q.dont_know_codes),
                 labels={int(k): v for k, v in (q.labels or {}).items()}, kind=q.kind)
        for q in row.questions)
    return Instrument(name=row.name, questions=questions, title=row.title or "", description=row.description or "")


def load_instrument(session: Session, ref: str | int) -> Instrument:
    return _to_instrument(_instrument_row(session, ref))


def list_instruments(session: Session) -> list[dict[str, Any]]:
    out = []
    for row in session.scalars(select(SurveyInstrument).order_by(SurveyInstrument.name)):
        inst = _to_instrument(row)
        waves = session.scalar(select(func.count()).select_from(SurveyWave).where(
            SurveyWave.instrument_id == row.id))
        out.append({"id": row.id, "name": row.name, "title": row.title, "questions": len(inst.questions),
                    "indices": {k: list(v) for k, v in inst.indices.items()}, "waves": waves})
    return out


# --- waves ------------------------------------------------------------------------------------------------


def get_wave(session: Session, ref: str | int) -> SurveyWave:
    if isinstance(ref, str) and ref.isdigit():
        by_name = session.scalar(select(SurveyWave).where(SurveyWave.name == ref))
        if by_name is not None:
            return by_name
        ref = int(ref)
    stmt = select(SurveyWave).where(SurveyWave.id == ref) if isinstance(ref, int) else select(SurveyWave).where(
        SurveyWave.name == ref)
    wave = session.scalar(stmt)
    if wave is None:
        raise NotFound(f"survey wave {ref!r} does not exist")
    return wave


def create_wave(session: Session, *, instrument: str | int, name: str, fielded_on: date,
                fielded_to: date | None = None, sample_size: int | None = None,
                areas: Mapping[str, int | None] | Sequence[str] | None = None, division: str | None = None,
                description: str | None = None, user: str | None = None) -> SurveyWave:
    """Create a wave; ``areas`` maps area code → sample size (or is a list of codes)."""
    if not name or len(name) > 200:
        raise ValueError("a wave needs a name of at most 200 characters")
    if session.scalar(select(SurveyWave.id).where(SurveyWave.name == name)) is not None:
        raise Conflict(f"survey wave {name!r} exists")
    if fielded_to is not None and fielded_to < fielded_on:
        raise ValueError("fielded_to is before fielded_on")
    if sample_size is not None and sample_size < 1:
        raise ValueError("sample_size must be at least 1")
    inst = _instrument_row(session, instrument)
    wave = SurveyWave(instrument_id=inst.id, name=name, fielded_on=fielded_on, fielded_to=fielded_to,
                      sample_size=sample_size, description=description, created_by=user, respondents=0)
    session.add(wave)
    session.flush()
    if areas:
        sizes = dict(areas) if isinstance(areas, Mapping) else {a: None for a in areas}
        found, bad = resolve_areas(session, sizes, division=division)
        if bad:
            raise ValidationFailed([Problem("wave", None, "areas", f"{reason}: {code}") for code, reason in
                                    bad.items()], what=f"wave {name!r}")
        for code, size in sizes.items():
            if size is not None and int(size) < 1:
                raise ValueError(f"sample size for {code} must be at least 1")
            info = found[code]
            session.add(SurveyWaveArea(wave_id=wave.id, area_code=code, division=info.division,
                                       sample_size=None if size is None else int(size), respondents=0))
        session.flush()
    audit_record(session, actor="system", action="create_wave", entity="survey_wave", entity_id=wave.id)
    return wave


def _wave_dict(session: Session, wave: SurveyWave, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
               areas: bool = True) -> dict[str, Any]:
    inst = session.get(SurveyInstrument, wave.instrument_id)
    out: dict[str, Any] = {
        "id": wave.id, "name": wave.name, "instrument": inst.name if inst else None,
        "fielded_on": wave.fielded_on.isoformat(), "fielded_to": wave.fielded_to.isoformat() if wave.fielded_to
        else None, "kind": wave.kind, "sample_size": wave.sample_size, "respondents": wave.respondents,
        "response_rate": round(100 * wave.respondents / wave.sample_size, 1) if wave.sample_size
        and wave.respondents else None, "description": wave.description,
    }
    if areas:
        rows = session.scalars(select(SurveyWaveArea).where(SurveyWaveArea.wave_id == wave.id)
                               .order_by(SurveyWaveArea.area_code)).all()
        out["areas"] = [_area_counts(r.area_code, r.division, r.sample_size, r.respondents, wave.kind,
                                     min_group_size) for r in rows]
    return out


def _area_counts(code: str, division: str, sample: int | None, respondents: int, kind: str | None,
                 min_group_size: int) -> dict[str, Any]:
    small = kind == "respondents" and 0 < respondents < min_group_size
    return {"area_code": code, "division": division, "sample_size": sample,
            "respondents": None if small else respondents,
            "response_rate": None if small or not sample or not respondents else round(100 * respondents / sample,
                                                                                       1),
            "suppressed": small}


def list_waves(session: Session, *, instrument: str | None = None, min_group_size: int = DEFAULT_MIN_GROUP_SIZE
               ) -> list[dict[str, Any]]:
    stmt = select(SurveyWave).order_by(SurveyWave.fielded_on, SurveyWave.id)
    if instrument:
        stmt = stmt.where(SurveyWave.instrument_id == _instrument_row(session, instrument).id)
    return [_wave_dict(session, w, min_group_size=min_group_size) for w in session.scalars(stmt)]


def wave_info(session: Session, ref: str | int, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> dict:
    return _wave_dict(session, get_wave(session, ref), min_group_size=check_min_group_size(min_group_size))


def delete_wave(session: Session, ref: str | int) -> None:
    """Delete a wave with all its respondents, answers and results."""
    wave = get_wave(session, ref)
    resp_ids = select(SurveyRespondent.id).where(SurveyRespondent.wave_id == wave.id)
    session.execute(delete(SurveyAnswer).where(SurveyAnswer.respondent_id.in_(resp_ids)))
    for model in (SurveyRespondent, SurveyAggregate, SurveyWaveArea):
        session.execute(delete(model).where(model.wave_id == wave.id))
    audit_record(session, actor="system", action="delete_wave", entity="survey_wave", entity_id=wave.id)
    session.delete(wave)
    session.flush()


# --- imports ----------------------------------------------------------------------------------------------


def respondent_key(wave_id: int, raw_id: str) -> str:
    """The stored stand-in for a respondent id (BLAKE2b-128 of wave id and id)."""
    return hashlib.blake2b(f"{wave_id}\x1f{raw_id}".encode(), digest_size=16).hexdigest()


@dataclass
class NewWave:
    """Create the wave on first import when it does not exist yet."""

    instrument: str
    fielded_on: date
    fielded_to: date | None = None
    sample_size: int | None = None
    areas: Mapping[str, int | None] | None = None
    description: str | None = None


def _wave_for_import(session: Session, wave: str | int, new_wave: NewWave | None, division: str | None,
                     user: str | None) -> SurveyWave:
    try:
        return get_wave(session, wave)
    except NotFound:
        if new_wave is None:
            raise
        return create_wave(session, instrument=new_wave.instrument, name=str(wave), fielded_on=new_wave.fielded_on,
                           fielded_to=new_wave.fielded_to, sample_size=new_wave.sample_size, areas=new_wave.areas,
                           division=division, description=new_wave.description, user=user)


def import_survey_file(db: Database, path: str | Path, *, wave: str | int, fmt: str = "auto",
                       user: str | None = None, display_name: str | None = None,
                       population: str | Path | None = None, area_column: str | None = None,
                       respondent_column: str | None = None, division: str | None = None,
                       new_wave: NewWave | None = None, sheet: str | int | None = None) -> ImportReport:
    """Import a survey file (respondent-level or aggregated, by ``fmt``) into a wave, all or nothing."""
    path = Path(path)
    name = display_name or path.name
    table = read_table(path, sheet=sheet, display_name=name)
    actual = detect_format(list(table.frame.columns)) if fmt == "auto" else fmt
    pop_digest = file_digest(population) if population else ""
    digest = file_digest(path, "survey", wave, actual, area_column, respondent_column, division, pop_digest, sheet)
    kind = "survey_aggregated" if actual == "aggregated" else "survey_responses"

    def work(session: Session, log: ImportLog) -> dict[str, Any]:
        w = _wave_for_import(session, wave, new_wave, division, user)
        instrument = load_instrument(session, w.instrument_id)
        areas: dict[str, AreaInfo] = {}

        def area_check(codes: list[str]) -> dict[str, str]:
            found, bad = resolve_areas(session, codes, division=division)
            areas.update(found)
            return bad

        if actual == "aggregated":
            return _store_aggregated(session, log, w, instrument, path, table, area_check, areas, area_column)
        return _store_responses(session, log, w, instrument, table, actual, area_check, areas, area_column,
                                respondent_column, population)

    return run_import(db, kind=kind, source=f"{name} → wave {wave}", digest=digest, user=user, work=work)


def _question_ids(session: Session, instrument_id: int) -> dict[str, int]:
    return dict(session.execute(select(SurveyQuestion.code, SurveyQuestion.id).where(
        SurveyQuestion.instrument_id == instrument_id)).all())


def _store_responses(session: Session, log: ImportLog, wave: SurveyWave, instrument: Instrument, table,
                     fmt: str, area_check, areas: dict[str, AreaInfo], area_column: str | None,
                     respondent_column: str | None, population: str | Path | None) -> dict[str, Any]:
    if wave.kind == "aggregated":
        raise ValidationFailed([Problem(table.file, None, None, f"wave {wave.name!r} holds aggregated results; "
                                        "respondent-level answers cannot be added to it")], what="survey file")
    parsed = read_responses(table.file, instrument, fmt=fmt, area_check=area_check, area_column=area_column,
                            respondent_column=respondent_column, table=table)
    resp = parsed.respondents
    file = parsed.file
    has_weights = resp["weight"].notna().any()
    notes: list[str] = []
    if population is not None:
        if has_weights:
            raise ValidationFailed([Problem(file, 1, "weight", "the file has weights and a population table was "
                                            "given; use one or the other")], what="survey file")
        pop_table = read_table(population)
        pop = pop_table.frame.astype("string")
        pop = pop.rename(columns={c: c.strip().lower() for c in pop.columns})
        weights = poststratification_weights(resp.assign(row=resp["row"]), pop, file=pop_table.file)
        resp = resp.assign(weight=weights.to_numpy())
        notes.append("post-stratification weights computed by sex and age group within each area")
    resp = resp.assign(weight=resp["weight"].fillna(1.0))

    keys = [respondent_key(wave.id, rid) for rid in resp["respondent_id"].tolist()]
    existing: set[str] = set()
    for start in range(0, len(keys), 900):
        existing.update(session.scalars(select(SurveyRespondent.respondent_key).where(
            SurveyRespondent.wave_id == wave.id, SurveyRespondent.respondent_key.in_(keys[start:start + 900]))))
    if existing:
        clash = [i for i, k in enumerate(keys) if k in existing]
        problems = [Problem(file, int(resp["row"].iloc[i]), "respondent_id",
                            f"duplicate respondent id: already imported into wave {wave.name!r}") for i in clash[:200]]
        if len(clash) > 200:
            problems.append(Problem(file, None, "respondent_id", f"… and {len(clash) - 200} more duplicates"))
        raise ValidationFailed(problems, what="survey file")

    resp = resp.assign(area_code=resp["area_code"].map(lambda c: areas[c].code))
    areas = {info.code: info for info in areas.values()}
    divisions = resp["area_code"].map(lambda c: areas[c].division)
    respondents = pd.DataFrame({
        "wave_id": np.full(len(resp), wave.id, dtype=np.int64), "respondent_key": keys,
        "area_code": resp["area_code"].astype(object), "division": divisions.astype(object),
        "weight": resp["weight"].astype(float), "sex": resp["sex"], "age_group": resp["age_group"],
        "import_id": np.full(len(resp), log.id, dtype=np.int64)})
    _bulk_insert(session, SurveyRespondent.__tablename__, list(respondents.columns), respondents)
    id_of_key = dict(session.execute(select(SurveyRespondent.respondent_key, SurveyRespondent.id).where(
        SurveyRespondent.wave_id == wave.id, SurveyRespondent.import_id == log.id)).all())
    db_ids = np.array([id_of_key[k] for k in keys], dtype=np.int64)
    qids = _question_ids(session, wave.instrument_id)
    ans = parsed.answers
    q_lookup = np.array([qids[c] for c in ans["question_id"].cat.categories], dtype=np.int64)
    answers = pd.DataFrame({"respondent_id": db_ids[ans["respondent"].to_numpy()],
                            "question_id": q_lookup[ans["question_id"].cat.codes.to_numpy()],
                            "value": ans["value"].to_numpy(dtype=float)})
    _bulk_insert(session, SurveyAnswer.__tablename__, ["respondent_id", "question_id", "value"], answers)

    per_area = resp.groupby(["area_code"]).size()
    for code, count in per_area.items():
        code = code[0] if isinstance(code, tuple) else code
        info = areas[code]
        row = session.scalar(select(SurveyWaveArea).where(SurveyWaveArea.wave_id == wave.id,
                                                          SurveyWaveArea.area_code == code,
                                                          SurveyWaveArea.division == info.division))
        if row is None:
            session.add(SurveyWaveArea(wave_id=wave.id, area_code=code, division=info.division,
                                       respondents=int(count)))
        else:
            row.respondents = (row.respondents or 0) + int(count)
    session.execute(update(SurveyWave).where(SurveyWave.id == wave.id).values(
        respondents=SurveyWave.respondents + len(resp), kind="respondents"))
    session.flush()
    counts = {**parsed.counts, "format": parsed.format, "wave": wave.name,
              "divisions": sorted(set(divisions.tolist())), "weighted": bool(has_weights or population)}
    if parsed.ignored_columns:
        notes.append(f"{len(parsed.ignored_columns)} columns that are not questions of the instrument were "
                     "ignored (not stored)")
    counts["_notes"] = notes
    return counts


def _store_aggregated(session: Session, log: ImportLog, wave: SurveyWave, instrument: Instrument, path: Path,
                      table, area_check, areas: dict[str, AreaInfo], area_column: str | None) -> dict[str, Any]:
    if wave.kind == "respondents":
        raise ValidationFailed([Problem(table.file, None, None, f"wave {wave.name!r} holds respondent-level "
                                        "answers; aggregated results cannot be added to it")], what="survey file")
    parsed = read_aggregated(path, instrument, area_check=area_check, area_column=area_column, table=table)
    frame = parsed.frame.assign(area_code=parsed.frame["area_code"].map(lambda c: areas[c].code))
    areas = {info.code: info for info in areas.values()}
    qids = _question_ids(session, wave.instrument_id)
    existing = set(session.execute(select(SurveyAggregate.area_code, SurveyQuestion.code).join(
        SurveyQuestion, SurveyQuestion.id == SurveyAggregate.question_id).where(
        SurveyAggregate.wave_id == wave.id)).all())
    clash = [i for i, (a, q) in enumerate(zip(frame["area_code"], frame["question_id"], strict=True))
             if (a, q) in existing]
    if clash:
        raise ValidationFailed([Problem(parsed.file, int(frame["row"].iloc[i]), "question_id",
                                        f"this area and question already have a result in wave {wave.name!r}")
                                for i in clash[:200]], what="aggregated survey file")
    for rec in frame.itertuples(index=False):
        info = areas[rec.area_code]
        session.add(SurveyAggregate(wave_id=wave.id, area_code=rec.area_code, division=info.division,
                                    question_id=qids[rec.question_id], n=int(rec.n),
                                    n_positive=None if pd.isna(rec.n_positive) else float(rec.n_positive),
                                    share_positive=float(rec.share_positive), import_id=log.id))
    per_area = frame.groupby("area_code")["n"].max()
    for code, n in per_area.items():
        info = areas[code]
        row = session.scalar(select(SurveyWaveArea).where(SurveyWaveArea.wave_id == wave.id,
                                                          SurveyWaveArea.area_code == code,
                                                          SurveyWaveArea.division == info.division))
        if row is None:
            session.add(SurveyWaveArea(wave_id=wave.id, area_code=code, division=info.division, respondents=int(n)))
        else:
            row.respondents = max(row.respondents or 0, int(n))
    session.flush()
    total = session.scalar(select(func.coalesce(func.sum(SurveyWaveArea.respondents), 0)).where(
        SurveyWaveArea.wave_id == wave.id))
    wave.kind = "aggregated"
    wave.respondents = int(total or 0)
    session.flush()
    return {**parsed.counts, "format": "aggregated", "wave": wave.name,
            "divisions": sorted({areas[c].division for c in frame["area_code"]})}


# --- results ----------------------------------------------------------------------------------------------


def _area_filter(session: Session, area: AreaInfo | None) -> list[tuple[str, str]]:
    """(code, division) pairs that make up ``area``: itself and its children (DeSO within a RegSO)."""
    if area is None:
        return []
    return [(area.code, area.division)] + [(c.code, c.division) for c in child_areas(session, area)]


def wave_input(session: Session, wave: SurveyWave, *, area: AreaInfo | None = None) -> WaveInput:
    """The stored data of a wave (optionally only ``area`` and its child areas, relabelled as ``area``)."""
    instrument = load_instrument(session, wave.instrument_id)
    pairs = _area_filter(session, area)
    code_of_q = {v: k for k, v in _question_ids(session, wave.instrument_id).items()}
    if wave.kind == "aggregated":
        stmt = select(SurveyAggregate.area_code, SurveyAggregate.division, SurveyAggregate.question_id,
                      SurveyAggregate.n, SurveyAggregate.share_positive, SurveyAggregate.n_positive).where(
            SurveyAggregate.wave_id == wave.id)
        frame = pd.DataFrame(session.execute(stmt).all(),
                             columns=["area_code", "division", "question_id", "n", "share_positive", "n_positive"])
        frame = _keep_pairs(frame, pairs)
        frame["question_id"] = frame["question_id"].map(code_of_q)
        if area is not None and len(frame):
            frame = _pool_aggregates(frame.assign(area_code=area.code))
        return WaveInput(instrument, aggregated=frame.drop(columns=["division"], errors="ignore"))
    stmt = select(SurveyRespondent.id, SurveyRespondent.area_code, SurveyRespondent.division,
                  SurveyRespondent.weight).where(SurveyRespondent.wave_id == wave.id)
    if pairs:
        stmt = stmt.where(SurveyRespondent.area_code.in_({c for c, _ in pairs}))
    respondents = _fetch_frame(session, stmt, ["respondent", "area_code", "division", "weight"])
    respondents = _keep_pairs(respondents, pairs)
    if area is not None:
        respondents["area_code"] = area.code
    astmt = select(SurveyAnswer.respondent_id, SurveyAnswer.question_id, SurveyAnswer.value).join(
        SurveyRespondent, SurveyRespondent.id == SurveyAnswer.respondent_id).where(
        SurveyRespondent.wave_id == wave.id)
    if pairs:
        astmt = astmt.where(SurveyRespondent.area_code.in_({c for c, _ in pairs}))
    answers = _fetch_frame(session, astmt, ["respondent", "question_id", "value"])
    answers["question_id"] = answers["question_id"].map(code_of_q)
    answers = answers[answers["respondent"].isin(respondents["respondent"])]
    return WaveInput(instrument, respondents=respondents.drop(columns=["division"]), answers=answers)


def _fetch_frame(session: Session, stmt, columns: list[str]) -> pd.DataFrame:
    """Run a select and build a frame from the driver's plain tuples (skips per-row Row objects, which
    cost seconds for a million answers)."""
    result = session.connection().execute(stmt)
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    return pd.DataFrame.from_records(rows, columns=columns)


def _keep_pairs(frame: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    if not pairs:
        return frame
    key = pd.MultiIndex.from_frame(frame[["area_code", "division"]].astype(str))
    return frame[key.isin(pairs)].reset_index(drop=True)


def _pool_aggregates(frame: pd.DataFrame) -> pd.DataFrame:
    """Pool shares of several areas per question: ``share = Σ n·share / Σ n``."""
    frame = frame.assign(_w=frame["n"] * frame["share_positive"])
    pooled = frame.groupby(["area_code", "question_id"], as_index=False).agg(
        n=("n", "sum"), _w=("_w", "sum"), n_positive=("n_positive", lambda s: s.sum(min_count=len(s))))
    pooled["share_positive"] = pooled["_w"] / pooled["n"]
    return pooled.drop(columns=["_w"])


def wave_results(session: Session, wave: str | int, *, area_code: str | None = None, division: str | None = None,
                 methods: Iterable[str] = METHODS, min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
                 include_questions: bool = True, n_boot: int = 2000, seed: int = 20240101,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Results of one wave per area (or for one area, pooling its child areas), suppressed."""
    min_group_size = check_min_group_size(min_group_size)
    w = get_wave(session, wave)
    area = get_area(session, area_code, division) if area_code else None
    data = wave_input(session, w, area=area)
    if data.aggregated is not None:
        res = aggregated_results(data.aggregated, data.instrument, min_group_size=min_group_size,
                                 include_questions=include_questions, confidence=confidence)
        res = res[res["method"].isin(list(methods))]
    else:
        res = compute_results(data.respondents, data.answers, data.instrument, methods=methods,
                              min_group_size=min_group_size, include_questions=include_questions, n_boot=n_boot,
                              seed=seed, confidence=confidence)
    return res.assign(wave=w.name).loc[:, ["wave", *res.columns]].reset_index(drop=True)


def compare_wave_results(session: Session, wave_a: str | int, wave_b: str | int, *, area_code: str | None = None,
                         division: str | None = None, methods: Iterable[str] = METHODS,
                         min_group_size: int = DEFAULT_MIN_GROUP_SIZE, n_boot: int = 2000, seed: int = 20240101,
                         confidence: float = 0.95) -> pd.DataFrame:
    """Change from wave A to wave B per area, question and index (``value_b − value_a``), suppressed."""
    min_group_size = check_min_group_size(min_group_size)
    wa, wb = get_wave(session, wave_a), get_wave(session, wave_b)
    area = get_area(session, area_code, division) if area_code else None
    res = compare_waves(wave_input(session, wa, area=area), wave_input(session, wb, area=area), methods=methods,
                        min_group_size=min_group_size, n_boot=n_boot, seed=seed, confidence=confidence)
    return res.assign(wave_a=wa.name, wave_b=wb.name).loc[:, ["wave_a", "wave_b", *res.columns]]


COUNT_COLUMNS = frozenset({"n", "n_dont_know", "n_positive", "n_a", "n_b", "reported", "resolved", "due",
                           "within_sla", "backlog_end", "days_planned", "days_fully_covered"})


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: NaN → None, numpy scalars → Python, whole counts → int."""
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in out:
        for k, v in row.items():
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and k in COUNT_COLUMNS and v.is_integer():
                v = int(v)
            row[k] = v
    return out


def area_survey_overview(session: Session, code: str, *, division: str | None = None,
                         methods: Iterable[str] = METHODS, min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
                         include_questions: bool = True, n_boot: int = 2000, seed: int = 20240101
                         ) -> dict[str, Any]:
    """Every wave covering the area (or its child areas), its results, and changes between consecutive
    waves of the same instrument."""
    min_group_size = check_min_group_size(min_group_size)
    methods = tuple(methods)
    area = get_area(session, code, division)
    pairs = _area_filter(session, area)
    codes = {c for c, _ in pairs}
    wave_rows = session.execute(select(SurveyWaveArea).where(SurveyWaveArea.area_code.in_(codes))).scalars().all()
    wave_rows = [r for r in wave_rows if (r.area_code, r.division) in set(pairs)]
    by_wave: dict[int, list[SurveyWaveArea]] = {}
    for r in wave_rows:
        by_wave.setdefault(r.wave_id, []).append(r)
    waves = sorted((session.get(SurveyWave, wid) for wid in by_wave), key=lambda w: (w.fielded_on, w.id))
    out_waves = []
    frames = []
    for w in waves:
        info = _wave_dict(session, w, areas=False)
        rows = by_wave[w.id]
        sample = sum(r.sample_size for r in rows) if all(r.sample_size for r in rows) else None
        counts = _area_counts(area.code, area.division, sample, sum(r.respondents for r in rows), w.kind,
                              min_group_size)
        info.update(area_sample_size=counts["sample_size"], area_respondents=counts["respondents"],
                    area_response_rate=counts["response_rate"])
        res = wave_results(session, w.id, area_code=area.code, division=area.division, methods=methods,
                           min_group_size=min_group_size, include_questions=include_questions, n_boot=n_boot,
                           seed=seed)
        info["results"] = records(res.drop(columns=["wave", "area_code"]))
        frames.append(res)
        out_waves.append(info)
    changes = []
    by_instrument: dict[int, list[SurveyWave]] = {}
    for w in waves:
        by_instrument.setdefault(w.instrument_id, []).append(w)
    for series in by_instrument.values():
        for a, b in zip(series, series[1:], strict=False):
            diff = compare_wave_results(session, a.id, b.id, area_code=area.code, division=area.division,
                                        methods=methods, min_group_size=min_group_size, n_boot=n_boot, seed=seed)
            if not include_questions:
                diff = diff[diff["item_type"] == "index"]
            changes.extend(records(diff.drop(columns=["area_code"])))
    return {"area": {"code": area.code, "division": area.division, "level": area.level, "name": area.name},
            "min_group_size": min_group_size, "methods": list(methods), "waves": out_waves, "changes": changes}


def area_survey_table(session: Session, code: str, **kwargs) -> pd.DataFrame:
    """The overview's results as one flat table (for CSV/Excel export)."""
    overview = area_survey_overview(session, code, **kwargs)
    rows = []
    for w in overview["waves"]:
        for r in w["results"]:
            rows.append({"area_code": overview["area"]["code"], "division": overview["area"]["division"],
                         "wave": w["name"], "instrument": w["instrument"], "fielded_on": w["fielded_on"], **r})
    return pd.DataFrame(rows)
