"""Benchmark: importing a 1,000,000-answer survey file, against pandas ``read_csv`` of the same file.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_survey_import.py [--answers 1000000] [--postgres URL]

What is measured. The file is *synthetic* (survey answers are personal data; no real file is shared):
``--answers / 20`` respondents × 20 questions on a 1–5 scale in long format
(``respondent_id, area_code, question_id, answer``), spread over 100 DeSO codes, with about 3 % "don't
know" (code 9) and 2 % blank answers (seed 2024). Every step runs in its own fresh process so that its
peak memory (``ru_maxrss``) is its own:

1. **reference**: ``pandas.read_csv(path)`` with default options;
2. **parse + validate**: ``handslag.surveys.read_responses`` (pyarrow reader, vectorised checks);
3. **import, SQLite**: ``handslag.store.surveys_repo.import_survey_file`` into a new SQLite file
   (parse, validate, area look-up, respondent-id hashing, insert of respondents and answers, import log,
   commit) — the figure the acceptance bar (< 30 s, < 2 GB) applies to;
4. **import, PostgreSQL** (only with ``--postgres``; a throw-away database is created and dropped);
5. **results**: every question and index, both methods, 2,000 bootstrap replicates, for all 100 areas.

The ratio printed is time / time of the pandas reference, in the same run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

N_QUESTIONS = 20
N_AREAS = 100
AREAS = [f"1480C{1000 + 10 * i:04d}" for i in range(N_AREAS)]
QUESTIONS = [f"q{j + 1:02d}" for j in range(N_QUESTIONS)]
LIMIT_SECONDS = 30.0
LIMIT_BYTES = 2 * 1024 ** 3


def make_file(path: Path, answers: int) -> dict:
    import pandas as pd

    rng = np.random.default_rng(2024)
    n_resp = answers // N_QUESTIONS
    resp = np.repeat(np.arange(n_resp), N_QUESTIONS)
    area = np.repeat(rng.integers(0, N_AREAS, n_resp), N_QUESTIONS)
    values = rng.integers(1, 6, n_resp * N_QUESTIONS).astype(object)
    u = rng.random(len(values))
    values[u < 0.03] = 9
    values[(u >= 0.03) & (u < 0.05)] = ""
    frame = pd.DataFrame({"respondent_id": pd.Series(resp).map(lambda i: f"R{i:07d}"),
                          "area_code": np.array(AREAS, dtype=object)[area],
                          "question_id": np.tile(np.array(QUESTIONS, dtype=object), n_resp),
                          "answer": values})
    frame.to_csv(path, index=False)
    return {}


def instrument():
    from handslag.surveys import instrument_from_records

    return instrument_from_records("bench", [
        {"question_id": q, "scale_min": 1, "scale_max": 5, "dont_know": "9", "index": f"index{j % 4 + 1}",
         "direction": "down" if j % 7 == 6 else "up"} for j, q in enumerate(QUESTIONS)])


def prepare_database(url: str) -> dict:
    from handslag.store import surveys_repo
    from handslag.store.db import Database
    from handslag.store.models import Area

    db = Database(url)
    with db.session() as s:
        s.add_all([Area(code=c, division="DeSO2025", level="deso", kommun_code="1480") for c in AREAS])
        surveys_repo.save_instrument(s, instrument())
        surveys_repo.create_wave(s, instrument="bench", name="bench", fielded_on=date(2024, 10, 1))
    db.dispose()
    return {}


# --- steps (each run in a fresh process) -------------------------------------------------------------------

def step_pandas(path: str) -> dict:
    import pandas as pd

    t = time.perf_counter()
    frame = pd.read_csv(path)
    return {"seconds": time.perf_counter() - t, "rows": len(frame)}


def step_parse(path: str) -> dict:
    from handslag.surveys import read_responses

    inst = instrument()
    t = time.perf_counter()
    parsed = read_responses(path, inst, area_check=lambda codes: {c: "unknown" for c in codes if c not in AREAS})
    return {"seconds": time.perf_counter() - t, "rows": parsed.counts["rows"], "answers": parsed.counts["answers"],
            "respondents": parsed.counts["respondents"]}


def step_import(path: str, url: str) -> dict:
    from handslag.store import surveys_repo
    from handslag.store.db import Database

    db = Database(url, migrate=False)
    t = time.perf_counter()
    report = surveys_repo.import_survey_file(db, path, wave="bench")
    seconds = time.perf_counter() - t
    db.dispose()
    return {"seconds": seconds, "answers": report.counts["answers"], "respondents": report.counts["respondents"]}


def step_results(url: str) -> dict:
    from handslag.store import surveys_repo
    from handslag.store.db import Database

    db = Database(url, migrate=False)
    t = time.perf_counter()
    with db.session() as s:
        frame = surveys_repo.wave_results(s, "bench")
    seconds = time.perf_counter() - t
    db.dispose()
    return {"seconds": seconds, "rows": len(frame)}


def _peak_rss() -> int:
    """Peak resident memory of this process in bytes (VmHWM: this process only, not its parent)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child(queue, fn, args) -> None:
    base = _peak_rss()
    try:
        out = fn(*args) or {}
        out["peak_rss"] = _peak_rss()
        out["base_rss"] = base
        queue.put(out)
    except BaseException as exc:  # report, do not hang the parent
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def run(fn, *args) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, fn, args))
    proc.start()
    out = queue.get()
    proc.join()
    if "error" in out:
        raise SystemExit(f"{fn.__name__} failed: {out['error']}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to also import into")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="handslag-bench-") as tmp:
        path = Path(tmp) / "answers.csv"
        t = time.perf_counter()
        run(make_file, path, args.answers)
        size = path.stat().st_size
        print(f"file: {args.answers:,} answer rows, {args.answers // N_QUESTIONS:,} respondents, "
              f"{N_AREAS} areas, {size / 1e6:.1f} MB (generated in {time.perf_counter() - t:.1f} s)")
        sqlite_url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        run(prepare_database, sqlite_url)
        results = {"pandas read_csv (reference)": run(step_pandas, str(path)),
                   "parse + validate": run(step_parse, str(path)),
                   "import into SQLite": run(step_import, str(path), sqlite_url)}
        if args.postgres:
            from sqlalchemy import create_engine, text

            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            name = f"handslag_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            pg_url = admin.url.set(database=name).render_as_string(hide_password=False)
            try:
                run(prepare_database, pg_url)
                results["import into PostgreSQL"] = run(step_import, str(path), pg_url)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        results["results, all areas (2,000 bootstrap)"] = run(step_results, sqlite_url)
    ref = results["pandas read_csv (reference)"]["seconds"]
    print(f"\n{'step':<40} {'seconds':>8} {'× pandas':>9} {'peak RSS':>10} {'(base)':>9}")
    for label, out in results.items():
        print(f"{label:<40} {out['seconds']:>8.2f} {out['seconds'] / ref:>9.2f} "
              f"{out['peak_rss'] / 2 ** 20:>8.0f} MB {out['base_rss'] / 2 ** 20:>6.0f} MB")
    imp = results["import into SQLite"]
    ok = imp["seconds"] < LIMIT_SECONDS and imp["peak_rss"] < LIMIT_BYTES
    print(f"\nimport into SQLite: {imp['answers']:,} answers stored in {imp['seconds']:.2f} s, peak "
          f"{imp['peak_rss'] / 2 ** 30:.2f} GB; ratio to pandas read_csv {imp['seconds'] / ref:.2f}; "
          f"bar (< {LIMIT_SECONDS:.0f} s, < 2 GB): {'met' if ok else 'NOT met'}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
