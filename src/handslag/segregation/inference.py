"""Bootstrap confidence intervals and permutation tests, vectorised across municipalities.

Samplers draw whole ``(R, N, G)`` replicate arrays for all municipalities at once; the index kernels
in :mod:`handslag.segregation.indices` then reduce them per case. Loops run over replicate chunks,
groups and *the position of an area within its municipality* (at most ~150 for RegSO), never over
municipalities.

Procedures (details and caveats in ``docs/methods.md``):

* **Bootstrap** (CIs): each area's population is resampled with replacement, i.e. the area's group
  counts are redrawn from ``Multinomial(t_i, x_ig / t_i)``. Area totals are kept; group totals vary.
  Percentile interval.
* **Permutation** (p-values, ``null="permutation"``, default): individuals are reallocated to areas
  completely at random, keeping every area total and every group total (PySAL's
  ``person_permutation``). Area by area this is a multivariate hypergeometric draw from what is left.
* ``null="evenness"``: each area's population is redrawn from ``Multinomial(t_i, X_g / T)`` (PySAL's
  ``evenness``); group totals vary.

p-values are one-sided in the direction of "more segregated than the null": ``P(null ≥ observed)``
for all indices except ``exposure`` where it is ``P(null ≤ observed)``; computed as
``(1 + #extreme) / (1 + #valid replicates)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .indices import (
    INDEX_NAMES,
    Prepared,
    assemble,
    group_kernel,
    pair_dissimilarity,
    point_estimates,
    prepare,
)

NULLS = ("permutation", "evenness")
LOWER_IS_MORE_SEGREGATED = frozenset({"exposure"})
_CHUNK_ELEMENTS = 4_000_000
_NO_SAMPLING_MODEL = ("gini", "share_types_1_2")


def _as_int_counts(counts: np.ndarray, what: str) -> np.ndarray:
    rounded = np.rint(counts)
    if not np.allclose(rounded, counts, rtol=0, atol=1e-9):
        raise ValueError(f"{what} must be whole numbers of persons for bootstrap/permutation")
    return rounded.astype(np.int64)


def multinomial_within_areas(counts: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap draw: each area's counts from ``Multinomial(t_i, x_i / t_i)``; ``(reps, N, G)``.

    Implemented as conditional binomials over groups (vectorised over replicates and areas).
    """
    n, g = counts.shape
    out = np.empty((reps, n, g), dtype=np.int64)
    left = np.broadcast_to(counts.sum(axis=1), (reps, n)).copy()
    rest = counts.sum(axis=1).astype(np.float64)  # original count of groups >= k
    for k in range(g - 1):
        p = np.divide(counts[:, k], rest, out=np.zeros(n), where=rest > 0).clip(0.0, 1.0)
        draw = rng.binomial(left, p)
        out[..., k] = draw
        left -= draw
        rest -= counts[:, k]
    out[..., g - 1] = left
    return out


def evenness_draw(
    counts: np.ndarray, case: np.ndarray, starts: np.ndarray, reps: int, rng: np.random.Generator
) -> np.ndarray:
    """Null draw: each area's counts from ``Multinomial(t_i, X_g / T)`` of its municipality."""
    n, g = counts.shape
    gtot = np.add.reduceat(counts, starts, axis=0).astype(np.float64)  # (C, G)
    out = np.empty((reps, n, g), dtype=np.int64)
    left = np.broadcast_to(counts.sum(axis=1), (reps, n)).copy()
    rest = gtot.sum(axis=1)
    for k in range(g - 1):
        p_case = np.divide(gtot[:, k], rest, out=np.zeros_like(rest), where=rest > 0).clip(0.0, 1.0)
        draw = rng.binomial(left, p_case[case])
        out[..., k] = draw
        left -= draw
        rest = rest - gtot[:, k]
    out[..., g - 1] = left
    return out


def permutation_draw(
    counts: np.ndarray, case: np.ndarray, starts: np.ndarray, reps: int, rng: np.random.Generator
) -> np.ndarray:
    """Null draw keeping area totals and group totals (random reallocation of individuals).

    Areas are filled one position at a time within every municipality (all municipalities and
    replicates together): area ``i`` receives a multivariate hypergeometric sample of size ``t_i``
    from the persons not yet placed, drawn as conditional univariate hypergeometrics over groups.
    """
    n, g = counts.shape
    n_cases = starts.size
    t = counts.sum(axis=1)
    out = np.zeros((reps, n, g), dtype=np.int64)
    remaining = np.broadcast_to(np.add.reduceat(counts, starts, axis=0), (reps, n_cases, g)).copy()
    active = np.flatnonzero(t > 0)
    pos = (np.arange(n) - starts[case])[active]
    by_pos = active[np.argsort(pos, kind="stable")]
    bounds = np.searchsorted(np.sort(pos), np.arange(pos.max() + 2 if pos.size else 1))
    for j in range(bounds.size - 1):
        idx = by_pos[bounds[j] : bounds[j + 1]]
        if idx.size == 0:
            continue
        cj = case[idx]  # distinct within one position
        rem = remaining[:, cj, :]  # (reps, m, G) copy
        need = np.broadcast_to(t[idx], (reps, idx.size)).copy()
        pool = rem.sum(axis=-1)
        for k in range(g - 1):
            good = rem[..., k].copy()
            pool -= good  # now: persons left in groups > k
            draw = rng.hypergeometric(good, pool, need)
            out[:, idx, k] = draw
            rem[..., k] = good - draw
            need -= draw
        out[:, idx, g - 1] = need
        rem[..., g - 1] -= need
        remaining[:, cj, :] = rem
    return out


def _replicates(
    prep: Prepared,
    system: str,
    kind: str,
    reps: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Index values on ``reps`` replicates of one count system (``groups`` or ``pair``)."""
    g = prep.grouping
    if system == "groups":
        counts = _as_int_counts(prep.counts, "group counts")
    else:
        assert prep.pair is not None
        counts = _as_int_counts(prep.pair, "quintile counts")
    n, k = counts.shape
    chunk = max(1, min(reps, _CHUNK_ELEMENTS // max(1, n * k)))
    parts: dict[str, list[np.ndarray]] = {}
    done = 0
    while done < reps:
        r = min(chunk, reps - done)
        if kind == "bootstrap":
            draw = multinomial_within_areas(counts, r, rng)
        elif kind == "permutation":
            draw = permutation_draw(counts, g.case, g.starts, r, rng)
        elif kind == "evenness":
            draw = evenness_draw(counts, g.case, g.starts, r, rng)
        else:  # pragma: no cover - guarded by with_inference
            raise ValueError(kind)
        sample = draw.astype(np.float64)
        if system == "groups":
            vals = group_kernel(sample, g, prep.focal, prep.other)
        else:
            vals = {"inequality_index_approx": pair_dissimilarity(sample, g)}
        for name, arr in vals.items():
            parts.setdefault(name, []).append(arr)
        done += r
    return {name: np.concatenate(arrs, axis=0) for name, arrs in parts.items()}


def _percentile_ci(boot: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1.0 - ci) / 2.0
    finite = np.isfinite(boot)
    lo = np.full(boot.shape[1], np.nan)
    hi = np.full(boot.shape[1], np.nan)
    ok = finite.any(axis=0)
    if ok.any():
        q = np.nanquantile(boot[:, ok], [alpha, 1.0 - alpha], axis=0)
        lo[ok], hi[ok] = q[0], q[1]
    return lo, hi


def _p_value(null: np.ndarray, observed: np.ndarray, lower: bool) -> np.ndarray:
    finite = np.isfinite(null)
    tol = 1e-12 * np.maximum(1.0, np.abs(observed))
    extreme = null <= observed + tol if lower else null >= observed - tol
    n_extreme = (extreme & finite).sum(axis=0)
    n_valid = finite.sum(axis=0)
    p = (1.0 + n_extreme) / (1.0 + n_valid)
    p[~np.isfinite(observed)] = np.nan
    return p


def with_inference(
    frame: pd.DataFrame,
    unit: str,
    groups: Sequence[str],
    by: str | Sequence[str] | None = None,
    *,
    n_boot: int = 199,
    n_perm: int = 199,
    seed: int | None = 0,
    ci: float = 0.95,
    null: str = "permutation",
    focal: str | None = None,
    other: str | None = None,
    value: str | None = None,
    population: str | None = None,
    area_type: str | None = None,
    low_income: str | None = None,
    high_income: str | None = None,
    challenge_types: Sequence[int] = (1, 2),
) -> pd.DataFrame:
    """Indices with bootstrap CIs and permutation-test p-values for every ``by`` value at once.

    Arguments as in :func:`handslag.segregation.compute_indices`, plus:

    n_boot:
        Bootstrap replicates (multinomial resampling of individuals within each area); 0 → no CIs.
    n_perm:
        Null replicates for the p-value; 0 → no p-values.
    seed:
        Seed for ``numpy.random.SeedSequence``; the same input, seed and arguments give identical
        output. Bootstrap and null draws use independent child streams, so changing ``n_boot``
        does not change the p-values and vice versa.
    ci:
        Coverage of the percentile interval (0 < ci < 1).
    null:
        ``"permutation"`` (default; area and group totals fixed) or ``"evenness"``.

    Returns
    -------
    DataFrame
        As :func:`compute_indices` with, for each index ``name``, the columns ``name``,
        ``name_ci_low``, ``name_ci_high`` and ``name_p_value``. ``gini`` and ``share_types_1_2``
        are descriptive (no sampling model from counts) and get NaN CIs and p-values.
        ``attrs["inference"]`` records the settings.
    """
    if not 0.0 < ci < 1.0:
        raise ValueError("ci must be between 0 and 1")
    if n_boot < 0 or n_perm < 0:
        raise ValueError("n_boot and n_perm must be >= 0")
    if null not in NULLS:
        raise ValueError(f"null must be one of {NULLS}")
    prep = prepare(
        frame,
        unit,
        groups,
        by,
        focal=focal,
        other=other,
        value=value,
        population=population,
        area_type=area_type,
        low_income=low_income,
        high_income=high_income,
        challenge_types=challenge_types,
    )
    point, notes = point_estimates(prep)
    n_cases = prep.grouping.n_cases
    streams = np.random.SeedSequence(seed).spawn(4)
    systems = ["groups"] + (["pair"] if prep.pair is not None else [])
    boot: dict[str, np.ndarray] = {}
    perm: dict[str, np.ndarray] = {}
    for s_i, system in enumerate(systems):
        if n_boot:
            boot.update(_replicates(prep, system, "bootstrap", n_boot, np.random.default_rng(streams[s_i])))
        if n_perm:
            perm.update(_replicates(prep, system, null, n_perm, np.random.default_rng(streams[2 + s_i])))
    columns: dict[str, np.ndarray] = {}
    nan = np.full(n_cases, np.nan)
    for name in INDEX_NAMES:
        if name not in point:
            continue
        obs = point[name]
        columns[name] = obs
        if name in boot:
            lo, hi = _percentile_ci(boot[name], ci)
            lo[~np.isfinite(obs)] = np.nan
            hi[~np.isfinite(obs)] = np.nan
        else:
            lo, hi = nan.copy(), nan.copy()
        columns[f"{name}_ci_low"] = lo
        columns[f"{name}_ci_high"] = hi
        columns[f"{name}_p_value"] = (
            _p_value(perm[name], obs, name in LOWER_IS_MORE_SEGREGATED) if name in perm else nan.copy()
        )
    out = assemble(prep, columns, notes)
    out.attrs["inference"] = {
        "n_boot": int(n_boot),
        "n_perm": int(n_perm),
        "seed": seed,
        "ci": float(ci),
        "ci_method": "percentile bootstrap, multinomial resampling of individuals within areas",
        "null": null,
        "p_value": "one-sided, (1 + #null at least as segregated) / (1 + #valid null replicates)",
        "no_sampling_model": [n for n in _NO_SAMPLING_MODEL if n in point],
    }
    return out
