"""Benchmark: ``area_types`` for 6,200 DeSO × 15 years vs a naive pandas loop reference.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_area_types.py

Data are SYNTHETIC (there is no national DeSO-level SEI in the shared data): 6,200 areas × 15 years
(2010–2024) with ``SEI ~ Gamma(shape 3, scale 3)`` (mean 9, SD ≈ 5.2, close to the RegSO 2022
μ ≈ 9.10 / σ ≈ 5.47 quoted in the methods brief §1.3), population ``~ 700 + Poisson(900)``, seed 2025.

Reference: per year a mean/SD with pandas, then a Python function applied to every row
(``DataFrame.apply(axis=1)``), i.e. the straightforward loop implementation. Both are checked to give
identical types; times are the best of several runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from handslag.classify import area_types  # noqa: E402

N_AREAS, YEARS = 6_200, np.arange(2010, 2025)


def make_frame(seed: int = 2025) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = N_AREAS * YEARS.size
    return pd.DataFrame(
        {
            "deso": np.tile([f"D{i:05d}" for i in range(N_AREAS)], YEARS.size),
            "year": np.repeat(YEARS, N_AREAS),
            "sei": rng.gamma(3.0, 3.0, n),
            "pop": 700 + rng.poisson(900, n),
        }
    )


def naive(frame: pd.DataFrame) -> pd.Series:
    """Loop reference: per-year μ/σ, then a Python function per row."""
    out = []
    for _, part in frame.groupby("year"):
        mu, sd = part["sei"].mean(), part["sei"].std(ddof=1)

        def classify(row: pd.Series, mu: float = mu, sd: float = sd) -> int:
            s = row["sei"]
            if s >= mu + 2 * sd:
                return 1
            if s >= mu + sd:
                return 2
            if s >= mu:
                return 3
            if s >= mu - sd:
                return 4
            return 5

        out.append(part.apply(classify, axis=1))
    return pd.concat(out).reindex(frame.index)


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    frame = make_frame()
    print(f"data: {len(frame):,} rows = {N_AREAS:,} DeSO x {YEARS.size} years (SYNTHETIC SEI, seed 2025)")
    area_types(frame)  # warm-up
    t_ours, ours = best_of(lambda: area_types(frame), args.repeat)
    t_w, _ = best_of(lambda: area_types(frame, weights="pop"), args.repeat)
    t_naive, ref = best_of(lambda: naive(frame), max(1, args.repeat // 3))
    same = bool((ours["type"].to_numpy(dtype=int) == ref.to_numpy(dtype=int)).all())
    counts = ours["type"].value_counts().sort_index().tolist()
    print(
        f"  ours  area_types (unweighted, ddof=1):     {t_ours * 1e3:8.1f} ms  (best of {args.repeat}; target < 500 ms)"
    )
    print(f"  ours  area_types (population-weighted):    {t_w * 1e3:8.1f} ms")
    print(f"  naive pandas loop (groupby + apply/row):   {t_naive * 1e3:8.1f} ms")
    print(f"  speed ratio (naive / ours):                {t_naive / t_ours:8.0f}x")
    print(f"  identical types: {same}; type counts 1..5 over all years: {counts}")


if __name__ == "__main__":
    main()
