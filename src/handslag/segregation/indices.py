"""Vectorised segregation and inequality indices for many municipalities (and years) at once.

Input is a *long* frame: one row per small area (DeSO/RegSO) and ``by`` value (e.g. kommun and
year) with one count column per population group. Output is one row per ``by`` value.

Everything is computed with numpy on arrays sorted by ``by`` value and summed per segment with
``np.add.reduceat``; there is no Python loop over municipalities. Formulas are in ``docs/methods.md``
(section "Segregation indices") and follow the methods brief §3.

Notation (per municipality): areas ``i``; group counts ``x_ig``; ``t_i = Σ_g x_ig``; focal group
``x``; comparison group ``y`` (the second group, or everybody not in ``x``); totals ``X, Y, T``.

Index names (the CLI/API contract)::

    dissimilarity            D   = ½ Σ_i |x_i/X − y_i/Y|                     (PySAL Dissim)
    segregation_vs_total     S   = ½ Σ_i |x_i/X − t_i/T|                     (no PySAL equivalent)
    isolation                xPx* = Σ_i (x_i/X)(x_i/t_i)                     (PySAL Isolation)
    exposure                 xPy* = Σ_i (x_i/X)(y_i/t_i)                     (PySAL Interaction)
    theil_h                  H   = Σ_i t_i (E − E_i) / (T E)                 (PySAL MultiInfoTheory)
    mutual_information       M   = Σ_i Σ_g p_ig ln(p_ig / (p_i p_g))          (PySAL MultiDivergence)
    gini                     G   = Σ_i Σ_j t_i t_j |ȳ_i − ȳ_j| / (2 T² ȳ)    (area means; see docs)
    share_types_1_2          Σ_{type ∈ {1,2}} pop_i / Σ pop_i
    inequality_index_approx  100 × D(bottom quintile, top quintile)          (APPROXIMATION)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import xlogy

from ._grouping import Grouping, as_list, make_grouping

INDEX_NAMES: tuple[str, ...] = (
    "dissimilarity",
    "segregation_vs_total",
    "isolation",
    "exposure",
    "theil_h",
    "mutual_information",
    "gini",
    "share_types_1_2",
    "inequality_index_approx",
)
"""All index names, in the order used for output columns and JSON."""

GROUP_INDICES: tuple[str, ...] = (
    "dissimilarity",
    "segregation_vs_total",
    "isolation",
    "exposure",
    "theil_h",
    "mutual_information",
)
"""Indices computed from the ``groups`` count columns (these get bootstrap CIs and p-values)."""

INDEX_METADATA: dict[str, dict[str, object]] = {
    "dissimilarity": {
        "label": "Dissimilarity index D (Duncan), focal vs comparison group",
        "range": "0-1",
        "pysal": "segregation.singlegroup.Dissim",
        "approximation": False,
    },
    "segregation_vs_total": {
        "label": "Segregation of the focal group vs the total population, S = D(focal, rest) × (1 − P)",
        "range": "0-1",
        "pysal": None,
        "approximation": False,
    },
    "isolation": {
        "label": "Isolation index xPx*",
        "range": "0-1",
        "pysal": "segregation.singlegroup.Isolation",
        "approximation": False,
    },
    "exposure": {
        "label": "Exposure (interaction) index xPy* of the focal to the comparison group",
        "range": "0-1",
        "pysal": "segregation.singlegroup.Interaction",
        "approximation": False,
    },
    "theil_h": {
        "label": "Multigroup information theory index (Theil's H)",
        "range": "0-1",
        "pysal": "segregation.multigroup.MultiInfoTheory",
        "approximation": False,
    },
    "mutual_information": {
        "label": "Mutual information index M (natural log)",
        "range": "0-ln(G)",
        "pysal": "segregation.multigroup.MultiDivergence",
        "approximation": False,
    },
    "gini": {
        "label": "Gini coefficient of population-weighted area means (between-area inequality)",
        "range": "0-1",
        "pysal": None,
        "approximation": False,
    },
    "share_types_1_2": {
        "label": "Share of the population living in area types 1-2",
        "range": "0-1",
        "pysal": None,
        "approximation": False,
    },
    "inequality_index_approx": {
        "label": "Approximation of Boverket's ojämlikhetsindex: 100 × D between bottom and top "
        "income quintile group counts (Boverket's exact method is not published; see docs/methods.md)",
        "range": "0-100",
        "pysal": "100 × segregation.singlegroup.Dissim",
        "approximation": True,
    },
}
"""Labels and provenance of every index; attached to results as ``DataFrame.attrs["index_metadata"]``."""


@dataclass(frozen=True)
class Prepared:
    """Validated input arrays, sorted by case (shared by point estimates and inference).

    ``counts`` is ``(N, G)`` float64 sorted by case; ``pair`` the ``(N, 2)`` quintile counts or
    ``None``; ``value``/``weight``/``area_type`` are ``(N,)`` arrays or ``None``.
    """

    grouping: Grouping
    groups: tuple[str, ...]
    counts: np.ndarray
    focal: int
    other: int | None
    pair: np.ndarray | None
    value: np.ndarray | None
    weight: np.ndarray | None
    area_type: np.ndarray | None
    challenge_types: tuple[int, ...]


def _count_array(frame: pd.DataFrame, columns: Sequence[str], order: np.ndarray) -> np.ndarray:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"count column(s) not in frame: {missing}")
    try:
        arr = frame[list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"count columns {list(columns)} must be numeric: {exc}") from exc
    if not np.isfinite(arr).all():
        raise ValueError(f"count columns {list(columns)} contain missing or infinite values")
    if (arr < 0).any():
        raise ValueError(f"count columns {list(columns)} contain negative values")
    return arr[order]


def prepare(
    frame: pd.DataFrame,
    unit: str,
    groups: Sequence[str],
    by: str | Sequence[str] | None = None,
    *,
    focal: str | None = None,
    other: str | None = None,
    value: str | None = None,
    population: str | None = None,
    area_type: str | None = None,
    low_income: str | None = None,
    high_income: str | None = None,
    challenge_types: Sequence[int] = (1, 2),
) -> Prepared:
    """Validate the input of :func:`compute_indices` and sort it by case. See that function."""
    groups = list(groups)
    if len(groups) < 2:
        raise ValueError("need at least two group count columns")
    if len(set(groups)) != len(groups):
        raise ValueError("group columns must be distinct")
    if unit not in frame.columns:
        raise ValueError(f"unit column {unit!r} not in frame")
    focal = groups[0] if focal is None else focal
    if focal not in groups:
        raise ValueError(f"focal group {focal!r} is not one of the groups {groups}")
    if other is None and len(groups) == 2:
        other = groups[1] if focal == groups[0] else groups[0]
    if other is not None and (other not in groups or other == focal):
        raise ValueError(f"comparison group {other!r} must be another one of the groups {groups}")
    if (low_income is None) != (high_income is None):
        raise ValueError("give both low_income and high_income (or neither)")

    by_cols = as_list(by)
    grouping = make_grouping(frame, by_cols)
    dup = frame.duplicated([*by_cols, unit])
    if dup.any():
        first = frame.loc[dup, [*by_cols, unit]].iloc[0].to_dict()
        raise ValueError(f"unit {unit!r} is not unique within by={by_cols}: {first}")
    order = grouping.order
    counts = _count_array(frame, groups, order)
    pair = _count_array(frame, [low_income, high_income], order) if low_income is not None else None

    val = None
    if value is not None:
        if value not in frame.columns:
            raise ValueError(f"value column {value!r} not in frame")
        val = pd.to_numeric(frame[value]).to_numpy(dtype=np.float64, na_value=np.nan)[order]
    weight = None
    if population is not None:
        weight = _count_array(frame, [population], order)[:, 0]
    typ = None
    if area_type is not None:
        if area_type not in frame.columns:
            raise ValueError(f"area_type column {area_type!r} not in frame")
        typ = pd.to_numeric(frame[area_type]).to_numpy(dtype=np.float64, na_value=np.nan)[order]
    return Prepared(
        grouping=grouping,
        groups=tuple(groups),
        counts=counts,
        focal=groups.index(focal),
        other=None if other is None else groups.index(other),
        pair=pair,
        value=val,
        weight=weight,
        area_type=typ,
        challenge_types=tuple(int(t) for t in challenge_types),
    )


# --------------------------------------------------------------------------------------------
# Array kernels. ``counts`` has shape (R, N, G): R replicates (1 for the point estimate), N areas
# sorted by case, G groups. Results have shape (R, C) for C cases.
# --------------------------------------------------------------------------------------------


def group_kernel(
    counts: np.ndarray,
    grouping: Grouping,
    focal: int,
    other: int | None,
    which: Sequence[str] = GROUP_INDICES,
) -> dict[str, np.ndarray]:
    """Compute the count-based indices for an ``(R, N, G)`` array of counts.

    Zero-population areas contribute nothing (their shares are defined as 0). Undefined values
    (a zero group total, a single non-empty group for H) come out as NaN.
    """
    seg = grouping.segment_sum
    case = grouping.case
    out: dict[str, np.ndarray] = {}
    t = counts.sum(axis=-1)
    x = counts[..., focal]
    y = counts[..., other] if other is not None else t - x
    with np.errstate(divide="ignore", invalid="ignore"):
        X = seg(x)
        Xa = X[..., case]
        need_share = {"isolation", "exposure"} & set(which)
        if need_share:
            inv_t = np.divide(1.0, t, out=np.zeros_like(t), where=t > 0)
        if "dissimilarity" in which:
            Y = seg(y)
            out["dissimilarity"] = 0.5 * seg(np.abs(x / Xa - y / Y[..., case]))
            out["dissimilarity"][(X <= 0) | (Y <= 0)] = np.nan
        T = seg(t)
        if "segregation_vs_total" in which:
            s = 0.5 * seg(np.abs(x / Xa - t / T[..., case]))
            s[X <= 0] = np.nan
            out["segregation_vs_total"] = s
        if "isolation" in which:
            out["isolation"] = seg(x * x * inv_t) / X
        if "exposure" in which:
            out["exposure"] = seg(x * y * inv_t) / X
        if {"theil_h", "mutual_information"} & set(which):
            # T·M = Σ_ig x ln x − Σ_i t ln t − Σ_g X_g ln X_g + T ln T   (0 ln 0 = 0)
            gtot = np.add.reduceat(counts, grouping.starts, axis=-2)  # (R, C, G)
            glg = xlogy(gtot, gtot).sum(axis=-1)
            tlt_city = xlogy(T, T)
            tm = seg(xlogy(counts, counts).sum(axis=-1)) - seg(xlogy(t, t)) - glg + tlt_city
            m = np.maximum(tm / T, 0.0)
            entropy = (tlt_city - glg) / T
            if "mutual_information" in which:
                out["mutual_information"] = m
            if "theil_h" in which:
                h = m / entropy
                h[~(entropy > 1e-15)] = np.nan
                out["theil_h"] = h
    for name in ("isolation", "exposure"):
        if name in out:
            out[name][X <= 0] = np.nan
    return out


def pair_dissimilarity(pair: np.ndarray, grouping: Grouping) -> np.ndarray:
    """``100 × D`` between the two columns of an ``(R, N, 2)`` count array (the quintile approximation)."""
    return 100.0 * group_kernel(pair, grouping, 0, 1, which=("dissimilarity",))["dissimilarity"]


def gini_of_means(value: np.ndarray, weight: np.ndarray, grouping: Grouping) -> np.ndarray:
    """Population-weighted Gini of area values per case: ``ΣΣ w_i w_j |v_i − v_j| / (2 W² v̄)``.

    O(N log N): sort within case by value, then ``ΣΣ = 2 Σ_i w_i v_i (W_below_i − W_above_i)``.
    Areas with a missing value or zero weight are left out. Returns ``(C,)``.
    """
    ok = np.isfinite(value) & (weight > 0)
    w = np.where(ok, weight, 0.0)
    v = np.where(ok, value, 0.0)
    case = grouping.case
    idx = np.lexsort((v, case))  # case stays sorted, so segment starts are unchanged
    ws, vs = w[idx], v[idx]
    cw = np.cumsum(ws)
    base = (cw - ws)[grouping.starts]  # cumulative weight before each case
    wtot = grouping.segment_sum(ws)
    below = cw - ws - base[case]
    above = wtot[case] - (cw - base[case])
    wv = ws * vs
    swv = grouping.segment_sum(wv)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = grouping.segment_sum(wv * (below - above)) / (wtot * swv)
    g[~(swv > 0) | ~(wtot > 0)] = np.nan
    return g


def share_of_types(area_type: np.ndarray, weight: np.ndarray, grouping: Grouping, types: Sequence[int]) -> np.ndarray:
    """Population share in the given area types per case; areas with no type are left out."""
    known = np.isfinite(area_type)
    inside = np.isin(area_type, np.asarray(types, dtype=np.float64))
    num = grouping.segment_sum(np.where(inside, weight, 0.0))
    den = grouping.segment_sum(np.where(known, weight, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = num / den
    share[~(den > 0)] = np.nan
    return share


# --------------------------------------------------------------------------------------------
# Point estimates
# --------------------------------------------------------------------------------------------


def point_estimates(prep: Prepared) -> tuple[dict[str, np.ndarray], pd.Series]:
    """All available indices, shape ``(C,)`` each, plus a per-case ``notes`` Series."""
    g = prep.grouping
    res = {k: v[0] for k, v in group_kernel(prep.counts[None], g, prep.focal, prep.other).items()}
    t = prep.counts.sum(axis=1)
    weight = t if prep.weight is None else prep.weight
    if prep.value is not None:
        res["gini"] = gini_of_means(prep.value, weight, g)
    if prep.area_type is not None:
        res["share_types_1_2"] = share_of_types(prep.area_type, weight, g, prep.challenge_types)
    if prep.pair is not None:
        res["inequality_index_approx"] = pair_dissimilarity(prep.pair[None], g)[0]
    return res, _notes(prep, res)


def _notes(prep: Prepared, res: dict[str, np.ndarray]) -> pd.Series:
    """Explain every NaN index and every exclusion, per case (``<NA>`` when there is nothing to say)."""
    g = prep.grouping
    seg = g.segment_sum
    t = prep.counts.sum(axis=1)
    T = seg(t)
    X = seg(prep.counts[:, prep.focal])
    Y = seg(t - prep.counts[:, prep.focal] if prep.other is None else prep.counts[:, prep.other])
    n_groups = (np.add.reduceat(prep.counts, g.starts, axis=0) > 0).sum(axis=1)
    weight = t if prep.weight is None else prep.weight
    # (mask, text, optional per-case count appended to the text)
    rules: list[tuple[np.ndarray, str, np.ndarray | None]] = [
        (T <= 0, "no population: all group-count indices undefined", None),
        (
            (T > 0) & (X <= 0),
            "focal group total is zero: dissimilarity, segregation_vs_total, isolation, exposure undefined",
            None,
        ),
        ((T > 0) & (X > 0) & (Y <= 0), "comparison group total is zero: dissimilarity undefined", None),
        ((T > 0) & (n_groups < 2), "fewer than two non-empty groups: theil_h undefined", None),
    ]
    zero_areas = seg((t <= 0).astype(np.float64))
    rules.append((zero_areas > 0, "areas with zero population dropped: ", zero_areas))
    if "gini" in res:
        missing_v = seg((~np.isfinite(prep.value) & (weight > 0)).astype(np.float64))
        rules.append((np.isnan(res["gini"]), "gini undefined (no area values or mean value not > 0)", None))
        rules.append((missing_v > 0, "areas without value left out of gini: ", missing_v))
    if "share_types_1_2" in res:
        untyped = seg((~np.isfinite(prep.area_type)).astype(np.float64))
        rules.append((np.isnan(res["share_types_1_2"]), "share_types_1_2 undefined (no population with a type)", None))
        rules.append((untyped > 0, "areas without area type left out of share_types_1_2: ", untyped))
    if "inequality_index_approx" in res:
        rules.append(
            (
                np.isnan(res["inequality_index_approx"]),
                "a quintile group total is zero: inequality_index_approx undefined",
                None,
            )
        )
    parts = np.full(g.n_cases, "", dtype=object)
    for mask, text, count in rules:
        if not mask.any():
            continue
        suffix = "" if count is None else count.astype(np.int64).astype(str).astype(object)
        parts = parts + np.where(mask, text + suffix + "; ", "").astype(object)
    notes = pd.Series(parts, dtype="string").str.removesuffix("; ")
    return notes.mask(notes == "")


def compute_indices(
    frame: pd.DataFrame,
    unit: str,
    groups: Sequence[str],
    by: str | Sequence[str] | None = None,
    *,
    focal: str | None = None,
    other: str | None = None,
    value: str | None = None,
    population: str | None = None,
    area_type: str | None = None,
    low_income: str | None = None,
    high_income: str | None = None,
    challenge_types: Sequence[int] = (1, 2),
) -> pd.DataFrame:
    """Segregation and inequality indices for every ``by`` value (e.g. kommun × year) at once.

    Parameters
    ----------
    frame:
        Long frame, one row per area (``unit``) and ``by`` value.
    unit:
        Area id column (e.g. ``regsokod_2020``); must be unique within each ``by`` value.
    groups:
        Two or more count columns that partition the population (e.g. ``fodda_i_sverige``,
        ``utrikes_fodda``). ``t_i`` is their row sum. The multigroup indices (``theil_h``,
        ``mutual_information``) use all of them.
    by:
        Column(s) defining a case (``"kommunkod"``, ``["kommunkod", "ar"]``) or ``None`` for one case.
    focal:
        Focal group X for D, S, isolation and exposure (default: the first group).
    other:
        Comparison group Y for D and exposure (default: the other group if there are two groups,
        otherwise everybody not in X).
    value:
        Area mean (e.g. ``medel_loneinkomst_tkr``) for ``gini``; omitted → no ``gini`` column.
    population:
        Population weight for ``gini`` and ``share_types_1_2`` (default: ``t_i``).
    area_type:
        Area-type column (1–5) for ``share_types_1_2``; omitted → no such column.
    low_income, high_income:
        Counts of persons in the bottom and top income quintile per area for
        ``inequality_index_approx`` (an *approximation* of Boverket's ojämlikhetsindex).
    challenge_types:
        Types counted by ``share_types_1_2`` (default 1 and 2).

    Returns
    -------
    DataFrame
        One row per ``by`` value (sorted): the ``by`` columns, ``n_units`` (areas with population
        > 0), ``population`` (Σ t_i), one column per computed index (names in :data:`INDEX_NAMES`)
        and ``notes`` (why an index is NaN, which areas were dropped; ``<NA>`` when nothing).
        ``attrs["index_metadata"]`` holds labels; ``inequality_index_approx`` is flagged
        ``approximation=True``.

    Zero-population areas are dropped (they contribute nothing). An index that is undefined for
    a case (e.g. a zero group total) is NaN and the reason is given in ``notes``.
    """
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
    res, notes = point_estimates(prep)
    return assemble(prep, {name: res[name] for name in INDEX_NAMES if name in res}, notes)


def case_frame(prep: Prepared) -> pd.DataFrame:
    """The ``by`` keys plus ``n_units`` and ``population`` per case."""
    g = prep.grouping
    t = prep.counts.sum(axis=1)
    out = g.keys.copy() if g.by else pd.DataFrame(index=pd.RangeIndex(1))
    out["n_units"] = g.segment_sum((t > 0).astype(np.int64))
    out["population"] = g.segment_sum(t)
    return out


def assemble(prep: Prepared, columns: dict[str, np.ndarray], notes: pd.Series) -> pd.DataFrame:
    """Build the result frame from per-case arrays; attaches ``attrs["index_metadata"]``."""
    out = case_frame(prep)
    out = pd.concat([out, pd.DataFrame(columns, index=out.index)], axis=1)
    out["notes"] = notes.to_numpy()
    out["notes"] = out["notes"].astype("string")
    present = [n for n in INDEX_NAMES if n in columns]
    out.attrs["index_metadata"] = {n: dict(INDEX_METADATA[n]) for n in present}
    out.attrs["groups"] = {
        "groups": list(prep.groups),
        "focal": prep.groups[prep.focal],
        "other": "rest" if prep.other is None else prep.groups[prep.other],
    }
    return out
