"""Benchmark: vectorised segregation indices + inference vs PySAL ``segregation`` looping over kommuner.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_segregation.py [--sample 6] [--iterations 199]

What is measured (everything in this one process, printed again at the end):

1. **Data.** All 290 kommuner × 10 years of RegSO 2020 counts of foreign-born / Swedish-born and mean
   wage income (``stats/regso2020_befolkning_upplatelseform_loneinkomst_2020_2023_tidy.csv``). Real
   data cover 2020–2023 only, so years 2024–2029 are *synthetic*: year ``2024 + k`` copies real year
   ``2020 + k mod 4``, keeps every area's population, redraws foreign-born as
   ``Binomial(population, share in the base year)`` (seed ``SeedSequence(2024 + k)``) and scales
   wage income by ``1 + 0.01·(k + 1)``. Area types (for ``share_types_1_2``): SCB's 2023 type for
   year 2023 and the 2022 type for every other year (benchmark only).
2. **Point estimates.** ``compute_indices`` for all 2,900 cases vs a Python loop over the 2,900 cases
   with PySAL ``Dissim``, ``Isolation``, ``Interaction``, ``MultiInfoTheory``, ``MultiDivergence``
   and ``Gini`` (Gini through the pseudo-count identity in docs/methods.md; its numba JIT compile is
   done before timing). Both fully measured; max |difference| printed.
3. **Inference.** ``with_inference`` (199 bootstrap + 199 permutation replicates for every case) vs
   PySAL ``SingleValueTest(..., null_approach="person_permutation")`` with 199 iterations for the five
   count-based PySAL indices. Running PySAL for all 2,900 cases would take hours, so PySAL is timed on a
   stratified sample of cases (by population) and extrapolated with a per-case cost model
   ``seconds/iteration = a + b·population`` fitted per index. PySAL does no bootstrap in this
   comparison (ours does), so the ratio is conservative.

``inequality_index_approx`` is not benchmarked: the shared data have no income-quintile counts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from handslag.segregation import compute_indices, with_inference  # noqa: E402

BIRTH = ["utrikes_fodda", "fodda_i_sverige"]
UNIT, BY = "regsokod_2020", ["kommunkod", "ar"]
WAGE = "medel_loneinkomst_tkr"


def data_dir() -> Path:
    env = os.environ.get("HANDSLAG_SHARED_DATA") or os.environ.get("HANDSLAG_DATA_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not (path / "SOURCES.md").exists():
        sys.exit(f"shared data not found at {path} (set HANDSLAG_SHARED_DATA)")
    return path


def build_ten_years(root: Path) -> pd.DataFrame:
    """4 real years + 6 synthetic years (see module docstring)."""
    real = pd.read_csv(
        root / "stats/regso2020_befolkning_upplatelseform_loneinkomst_2020_2023_tidy.csv",
        dtype={"kommunkod": str, UNIT: str},
    )
    real = real[[UNIT, "kommunkod", "ar", "folkmangd_totalt", *BIRTH, WAGE]]
    years = [real]
    for k in range(6):
        base = real[real["ar"] == 2020 + k % 4].copy()
        rng = np.random.default_rng(np.random.SeedSequence(2024 + k))
        pop = base["folkmangd_totalt"].to_numpy()
        share = base["utrikes_fodda"].to_numpy() / np.maximum(pop, 1)
        base["utrikes_fodda"] = rng.binomial(pop, share)
        base["fodda_i_sverige"] = pop - base["utrikes_fodda"]
        base[WAGE] = base[WAGE] * (1 + 0.01 * (k + 1))
        base["ar"] = 2024 + k
        years.append(base)
    frame = pd.concat(years, ignore_index=True)
    cls = root / "classification"
    t22 = pd.read_csv(cls / "regso2020_omradestyp_2022.csv", dtype=str).set_index(UNIT)["omradestyp_2022"]
    t23 = pd.read_csv(cls / "regso2020_omradestyp_2023.csv", dtype=str).set_index(UNIT)["omradestyp_2023"]
    frame["typ"] = np.where(frame["ar"] == 2023, frame[UNIT].map(t23), frame[UNIT].map(t22)).astype(int)
    frame["t"] = frame[BIRTH].sum(axis=1).astype(float)
    return frame


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def pysal_point_loop(frame: pd.DataFrame, seg: dict) -> tuple[float, pd.DataFrame]:
    rows = []
    t0 = time.perf_counter()
    for (kommun, year), part in frame.groupby(BY, sort=True):
        ymax = part[WAGE].max()
        part = part.assign(pseudo=part["t"] * (part[WAGE] / ymax))
        p_wage = part["pseudo"].sum() / part["t"].sum()
        rows.append(
            {
                "kommunkod": kommun,
                "ar": year,
                "dissimilarity": seg["Dissim"](part, BIRTH[0], "t").statistic,
                "isolation": seg["Isolation"](part, BIRTH[0], "t").statistic,
                "exposure": seg["Interaction"](part, BIRTH[0], "t").statistic,
                "theil_h": seg["MultiInfoTheory"](part, BIRTH).statistic,
                "mutual_information": seg["MultiDivergence"](part, BIRTH).statistic,
                "gini": seg["Gini"](part, "pseudo", "t").statistic * (1 - p_wage),
            }
        )
    return time.perf_counter() - t0, pd.DataFrame(rows)


def pysal_inference_sample(frame: pd.DataFrame, seg: dict, n_sample: int, iterations: int) -> pd.DataFrame:
    """Time SingleValueTest(person_permutation) on a population-stratified sample of cases."""
    pops = frame.groupby(BY)["t"].sum().sort_values()
    qs = np.linspace(0.0, 0.95, n_sample)
    picks = pops.index[np.unique((qs * (len(pops) - 1)).round().astype(int))]
    tests = {
        "dissimilarity": lambda d: seg["Dissim"](d, BIRTH[0], "t"),
        "isolation": lambda d: seg["Isolation"](d, BIRTH[0], "t"),
        "exposure": lambda d: seg["Interaction"](d, BIRTH[0], "t"),
        "theil_h": lambda d: seg["MultiInfoTheory"](d, BIRTH),
        "mutual_information": lambda d: seg["MultiDivergence"](d, BIRTH),
    }
    rows = []
    for key in picks:
        part = frame[(frame["kommunkod"] == key[0]) & (frame["ar"] == key[1])].reset_index(drop=True)
        part = part.assign(**{c: part[c].astype(int) for c in [*BIRTH]}, t=part["t"].astype(int))
        for name, make in tests.items():
            t0 = time.perf_counter()
            with contextlib.redirect_stderr(io.StringIO()):
                seg["SingleValueTest"](
                    make(part),
                    iterations_under_null=iterations,
                    null_approach="person_permutation",
                    two_tailed=False,
                    n_jobs=1,
                    backend="threading",
                )
            el = time.perf_counter() - t0
            rows.append(
                {
                    "case": f"{key[0]}/{key[1]}",
                    "population": pops[key],
                    "index": name,
                    "seconds": el,
                    "sec_per_iter": el / iterations,
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=6, help="PySAL inference: number of sampled cases")
    ap.add_argument("--iterations", type=int, default=199, help="PySAL inference: iterations per sampled case")
    ap.add_argument("--repeat", type=int, default=3, help="best-of repeats for our timings")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")

    import segregation
    from segregation.inference import SingleValueTest
    from segregation.multigroup import MultiDivergence, MultiInfoTheory
    from segregation.singlegroup import Dissim, Gini, Interaction, Isolation

    seg = {
        "Dissim": Dissim,
        "Isolation": Isolation,
        "Interaction": Interaction,
        "MultiInfoTheory": MultiInfoTheory,
        "MultiDivergence": MultiDivergence,
        "Gini": Gini,
        "SingleValueTest": SingleValueTest,
    }
    frame = build_ten_years(data_dir())
    n_cases = frame.groupby(BY).ngroups
    print(f"PySAL segregation {segregation.__version__}, numpy {np.__version__}, pandas {pd.__version__}")
    print(
        f"data: {len(frame):,} RegSO rows, {frame['kommunkod'].nunique()} kommuner x {frame['ar'].nunique()} "
        f"years = {n_cases:,} cases"
    )
    print(
        "      years 2020-2023 real; 2024-2029 SYNTHETIC (real year 2020+k%4, foreign-born redrawn "
        "Binomial(pop, share), seed SeedSequence(2024+k); wage x (1+0.01(k+1)))"
    )

    kwargs = dict(by=BY, value=WAGE, area_type="typ")
    # ---- point estimates ------------------------------------------------------------------
    compute_indices(frame, UNIT, BIRTH, **kwargs)  # warm-up
    t_ours_point, ours = best_of(lambda: compute_indices(frame, UNIT, BIRTH, **kwargs), args.repeat)
    Gini(frame.head(3), BIRTH[0], "t")  # numba JIT compile, excluded from timing
    t_pysal_point, ref = pysal_point_loop(frame, seg)
    merged = ours.merge(ref, on=BY, suffixes=("", "_pysal"))
    names = ["dissimilarity", "isolation", "exposure", "theil_h", "mutual_information", "gini"]
    diffs = {n: float(np.max(np.abs(merged[n] - merged[f"{n}_pysal"]))) for n in names}
    p_x = merged.merge(frame.groupby(BY)[[BIRTH[0], "t"]].sum().reset_index(), on=BY)
    diffs["segregation_vs_total (=D(1-P))"] = float(
        np.max(np.abs(p_x["segregation_vs_total"] - p_x["dissimilarity_pysal"] * (1 - p_x[BIRTH[0]] / p_x["t"])))
    )
    max_diff = max(diffs.values())

    # ---- inference ------------------------------------------------------------------------
    def run_inference() -> pd.DataFrame:
        return with_inference(frame, UNIT, BIRTH, n_boot=199, n_perm=199, seed=0, **kwargs)

    run_inference()  # warm-up
    t_ours_inf, inf = best_of(run_inference, args.repeat)
    again = run_inference()
    reproducible = inf.equals(again)
    sample = pysal_inference_sample(frame, seg, args.sample, args.iterations)
    pops = frame.groupby(BY)["t"].sum().to_numpy()
    est_total = 0.0
    fits = {}
    for name, grp in sample.groupby("index"):
        b, a = np.polyfit(grp["population"], grp["sec_per_iter"], 1)
        a, b = max(a, 0.0), max(b, 0.0)
        fits[name] = (a, b)
        est_total += float(np.sum(199 * (a + b * pops)))
    sample_measured = sample["seconds"].sum()

    # ---- report ---------------------------------------------------------------------------
    print()
    print("POINT ESTIMATES (all cases, both measured)")
    print(
        f"  ours  compute_indices, {n_cases:,} cases, 8 indices:      {t_ours_point * 1e3:9.1f} ms (best of "
        f"{args.repeat})"
    )
    print(f"  PySAL loop over {n_cases:,} cases, 6 index classes:        {t_pysal_point:9.2f} s")
    print(f"  speed ratio (PySAL / ours):                            {t_pysal_point / t_ours_point:9.0f}x")
    print("  max |ours - PySAL| per index:")
    for n, d in diffs.items():
        print(f"    {n:34s} {d:.2e}")
    print(f"  max abs difference overall: {max_diff:.2e}  ({'OK <= 1e-9' if max_diff <= 1e-9 else 'FAIL > 1e-9'})")
    print()
    print("INFERENCE (199 bootstrap + 199 permutation replicates per case for ours)")
    print(
        f"  ours  with_inference, {n_cases:,} cases, all at once:         {t_ours_inf:9.2f} s (best of "
        f"{args.repeat}); reproducible with seed=0: {reproducible}"
    )
    print(
        f"  PySAL SingleValueTest(person_permutation), MEASURED on {sample['case'].nunique()} sampled cases x "
        f"5 indices x {args.iterations} iterations: {sample_measured:.1f} s"
    )
    for case, grp in sample.groupby("case", sort=False):
        print(
            f"    {case:10s} population {int(grp['population'].iloc[0]):>9,}: "
            f"{grp['sec_per_iter'].mean() * 1e3:7.2f} ms/iteration/index"
        )
    print("  per-index cost model sec/iter = a + b*population (least squares on the sample):")
    for name, (a, b) in fits.items():
        print(f"    {name:20s} a = {a * 1e3:6.2f} ms, b = {b * 1e9:7.2f} ns/person")
    print(
        f"  PySAL EXTRAPOLATED to {n_cases:,} cases x 5 indices x 199 permutations: {est_total:,.0f} s "
        f"({est_total / 3600:.1f} h) + point loop {t_pysal_point:.1f} s"
    )
    ratio = (est_total + t_pysal_point) / t_ours_inf
    print(
        f"  speed ratio (PySAL extrapolated / ours measured):      {ratio:9.0f}x  "
        f"({'meets' if ratio >= 100 else 'BELOW'} the 100x target)"
    )
    print("  note: PySAL's p-values use other random draws; values compared are the point estimates above.")


if __name__ == "__main__":
    main()
