"""Survey indices on a 0–100 scale, with confidence intervals, wave differences and suppression.

Two indices are kept apart because they are not comparable (methods brief §8.2):

- ``share_positive`` (AktivBo style): ``100 × positive answers / valid answers`` per question; an index
  is the mean of its questions' shares (item average).
- ``linear_mean`` (SKR/SCB style): each answer rescaled linearly to 0–100
  (``100 × (x − min) / (max − min)``, reversed for questions where lower is better) and averaged;
  an index is the mean of its questions' means.

"Don't know" codes and blanks are never valid answers; they are counted (``n_dont_know``) but left out.

Intervals (``confidence``, default 95 %):

- a share for one question (or a one-question index): Wilson score interval, with Kish's effective ``n``
  when weights are used (``ci_method = "wilson"``);
- a mean, and a share index over several questions (whose answers come from the same respondents):
  percentile bootstrap over respondents within the group (``"bootstrap"``; ``n_boot`` replicates,
  seeded so that results are reproducible);
- aggregated imports (share and ``n`` per question, no respondents): Wilson per question; for an index
  over several questions, Wilson at the index value with the smallest question ``n``
  (``"wilson_min_n"``, conservative: it assumes the questions are perfectly correlated).

Differences between two waves (``compare_waves``): Newcombe's hybrid score interval for question shares,
the percentile interval of the difference of independent bootstrap replicates where both waves have
respondent-level data, otherwise MOVER from the two intervals.

Suppression: every output row whose group has fewer than ``min_group_size`` respondents with a valid
answer (default 10, never below 5) has all its numbers blanked and ``suppressed = True``. When results are
broken down further than area (``by`` with more than one column) and exactly one subgroup of an area is
suppressed, the next smallest subgroup is suppressed too, so that it cannot be recovered from the total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from handslag.errors import Problem, ValidationFailed

from .instrument import Instrument, Question
from .stats import (
    bootstrap_counts,
    kish_effective_n,
    mover_interval,
    newcombe_interval,
    percentile_interval,
    stable_rng,
    wilson_interval,
)

METHODS = ("share_positive", "linear_mean")
DEFAULT_MIN_GROUP_SIZE = 10
ABSOLUTE_MIN_GROUP_SIZE = 5
RESULT_COLUMNS = ["item_type", "item", "label", "method", "n", "n_effective", "n_dont_know", "n_positive",
                  "value", "ci_low", "ci_high", "ci_method", "weighted", "suppressed"]
COMPARE_COLUMNS = ["item_type", "item", "label", "method", "n_a", "n_b", "value_a", "value_b", "difference",
                   "ci_low", "ci_high", "ci_method", "suppressed"]
_NUMBERS = ["n", "n_effective", "n_dont_know", "n_positive", "value", "ci_low", "ci_high"]


def check_min_group_size(min_group_size: int) -> int:
    """Validate a suppression threshold: a whole number, at least 5."""
    if isinstance(min_group_size, bool) or int(min_group_size) != min_group_size:
        raise ValueError("min_group_size must be a whole number")
    if min_group_size < ABSOLUTE_MIN_GROUP_SIZE:
        raise ValueError(f"min_group_size {min_group_size} is below the floor of {ABSOLUTE_MIN_GROUP_SIZE} "
                         "respondents; survey groups that small are never shown")
    return int(min_group_size)


def _check_methods(methods: Iterable[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(methods))
    bad = [m for m in out if m not in METHODS]
    if bad or not out:
        raise ValueError(f"unknown index method {bad[0] if bad else '(none)'}; use {' or '.join(METHODS)}")
    return out


# --- weights ---------------------------------------------------------------------------------------------

def poststratification_weights(respondents: pd.DataFrame, population: pd.DataFrame, *,
                               cells: Sequence[str] = ("sex", "age_group"), area: str = "area_code",
                               count: str = "population", file: str = "population") -> pd.Series:
    """Post-stratification weights within each area so that weighted cell shares equal the population's.

    For respondent in area ``a`` and cell ``c``: ``w = (N_ac / N_a) / (n_ac / n_a)`` where ``N_a`` sums the
    population over the cells that have respondents (cells without respondents cannot be represented and
    are left out of the base). Weights average 1 within an area. A respondent in a cell that is missing
    from ``population`` (or has population 0), or with a blank cell value, is a problem.
    """
    cells = list(cells)
    missing = [c for c in [area, *cells] if c not in respondents.columns]
    if missing:
        raise ValidationFailed([Problem(file, None, c, "column needed for post-stratification is missing "
                                        "from the responses") for c in missing], what="weighting")
    pop_missing = [c for c in [area, *cells, count] if c not in population.columns]
    if pop_missing:
        raise ValidationFailed([Problem(file, None, c, "column missing from the population table")
                                for c in pop_missing], what="weighting")
    keys = [area, *cells]
    resp = respondents[keys].astype("string")
    problems: list[Problem] = []
    blank = resp.isna().any(axis=1).to_numpy()
    pop = population[keys].astype("string").assign(_N=pd.to_numeric(population[count], errors="coerce"))
    if pop["_N"].isna().any() or (pop["_N"] < 0).any():
        problems.append(Problem(file, None, count, "population counts must be numbers ≥ 0"))
    pop = pop.groupby(keys, dropna=False, observed=True)["_N"].sum()
    n_cell = resp.loc[~blank].value_counts().rename("_n")
    joined = pd.concat([n_cell, pop], axis=1, join="outer")
    joined["_n"] = joined["_n"].fillna(0)
    uncovered = joined[(joined["_n"] > 0) & ~(joined["_N"] > 0)]
    for key in uncovered.index:
        problems.append(Problem(file, None, None, f"no population given for respondents in cell "
                                f"{dict(zip(keys, key, strict=True))}"))
    if blank.any():
        rows = respondents.get("row")
        for i in np.flatnonzero(blank)[:50]:
            problems.append(Problem(file, int(rows.iloc[i]) if rows is not None else None,
                                    ", ".join(cells), "cell value needed for weighting is blank"))
    if problems:
        raise ValidationFailed(problems, what="weighting")
    covered = joined[joined["_n"] > 0].copy()
    base_pop = covered.groupby(level=0)["_N"].transform("sum")
    base_n = covered.groupby(level=0)["_n"].transform("sum")
    covered["_w"] = (covered["_N"] / base_pop) / (covered["_n"] / base_n)
    index = pd.MultiIndex.from_frame(resp)
    return pd.Series(covered["_w"].reindex(index).to_numpy(dtype=float), index=respondents.index, name="weight")


# --- respondent-level engine -----------------------------------------------------------------------------

@dataclass
class _Prepared:
    questions: list[Question]
    P: np.ndarray  # positive (0/1, 0 where not valid)
    M: np.ndarray  # valid answer (0/1)
    R: np.ndarray  # rescaled 0–100 (0 where not valid)
    DK: np.ndarray  # don't know (0/1)
    weights: np.ndarray
    weighted: bool
    groups: list[tuple[tuple, np.ndarray]]


def _prepare(respondents: pd.DataFrame, answers: pd.DataFrame, instrument: Instrument, by: Sequence[str],
             weight: str | None) -> _Prepared:
    for col in ("respondent", "question_id", "value"):
        if col not in answers.columns:
            raise ValueError(f"answers need a {col!r} column")
    if "respondent" not in respondents.columns:
        raise ValueError("respondents need a 'respondent' column")
    missing = [c for c in by if c not in respondents.columns]
    if missing:
        raise ValueError(f"respondents have no column {missing[0]!r} to group by")
    questions = list(instrument.scale_questions)
    qindex = pd.Index([q.id for q in questions])
    rindex = pd.Index(respondents["respondent"])
    if not rindex.is_unique:
        raise ValueError("respondent keys must be unique")
    n, k = len(rindex), len(questions)
    ri = rindex.get_indexer(answers["respondent"])
    qi = qindex.get_indexer(answers["question_id"].astype(str))
    keep = (ri >= 0) & (qi >= 0)
    values = pd.to_numeric(answers["value"], errors="coerce").to_numpy(dtype=float)
    V = np.full((n, k), np.nan)
    V[ri[keep], qi[keep]] = values[keep]
    P = np.zeros((n, k))
    M = np.zeros((n, k))
    R = np.zeros((n, k))
    DK = np.zeros((n, k))
    for j, q in enumerate(questions):
        col = V[:, j]
        valid = (col >= q.scale_min) & (col <= q.scale_max) & (col == np.floor(col))
        M[:, j] = valid
        DK[:, j] = np.isin(col, q.dont_know) if q.dont_know else 0
        P[:, j] = valid & np.isin(col, q.positive_codes())
        R[:, j] = np.where(valid, q.rescale(np.where(valid, col, q.scale_min)), 0.0)
    if weight and weight in respondents.columns:
        w = pd.to_numeric(respondents[weight], errors="coerce").to_numpy(dtype=float)
        if np.isnan(w).any() or (w <= 0).any():
            raise ValueError("weights must be positive numbers")
        weighted = not np.allclose(w, w[0]) if len(w) else False
    else:
        w = np.ones(n)
        weighted = False
    if by:
        keys = respondents[list(by)].astype("string").fillna("")
        grouped = keys.groupby(list(by), sort=True, dropna=False).indices
        groups = [((k,) if not isinstance(k, tuple) else k, np.asarray(v)) for k, v in grouped.items()]
    else:
        groups = [((), np.arange(n))]
    return _Prepared(questions, P, M, R, DK, w, weighted, groups)


def _bootstrap(rng: np.random.Generator, w: np.ndarray, mats: list[np.ndarray], M: np.ndarray, n_boot: int
               ) -> list[np.ndarray]:
    """Replicates (n_boot × k) of the weighted column ratios ``Σ c·w·X / Σ c·w·M`` for each X in ``mats``."""
    n, k = len(w), M.shape[1]
    stacked = np.hstack([M, *mats])  # one matrix product per chunk for all numerators and the denominator
    chunk = max(1, min(n_boot, 4_000_000 // max(n, 1)))
    outs = [np.empty((n_boot, k)) for _ in mats]
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        sums = (bootstrap_counts(rng, n, size) * w) @ stacked
        den = sums[:, :k]
        with np.errstate(divide="ignore", invalid="ignore"):
            for i, out in enumerate(outs):
                out[done:done + size] = np.where(den > 0, sums[:, k * (i + 1):k * (i + 2)] / den, np.nan)
        done += size
    return outs


def _nanmean_cols(a: np.ndarray, cols: list[int], axis: int = -1) -> np.ndarray:
    sub = np.take(a, cols, axis=axis)
    with np.errstate(all="ignore"):
        counts = np.sum(~np.isnan(sub), axis=axis)
        total = np.nansum(sub, axis=axis)
        return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)


def compute_results(respondents: pd.DataFrame, answers: pd.DataFrame, instrument: Instrument, *,
                    by: Sequence[str] = ("area_code",), methods: Iterable[str] = METHODS,
                    weight: str | None = "weight", min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
                    confidence: float = 0.95, n_boot: int = 2000, seed: int = 20240101,
                    include_questions: bool = True, stream: str = "",
                    return_replicates: bool = False):
    """Per group (``by``), question and index: value 0–100 with interval, ``n`` and suppression.

    ``respondents``: one row per respondent with ``respondent`` (a unique key), the ``by`` columns and
    optionally ``weight``. ``answers``: ``respondent``, ``question_id``, ``value`` (the answer code).
    Returns a frame with the ``by`` columns and :data:`RESULT_COLUMNS`; with ``return_replicates`` also a
    dict ``(group key, item_type, item, method) → bootstrap replicates`` for the bootstrap rows.
    """
    methods = _check_methods(methods)
    min_group_size = check_min_group_size(min_group_size)
    by = list(by)
    prep = _prepare(respondents, answers, instrument, by, weight)
    qpos = {q.id: j for j, q in enumerate(prep.questions)}
    index_items = {name: [qpos[i] for i in items] for name, items in instrument.indices.items()}
    rows: list[dict] = []
    replicates: dict[tuple, np.ndarray] = {}
    for key, idx in prep.groups:
        w = prep.weights[idx]
        P, M, R, DK = prep.P[idx], prep.M[idx], prep.R[idx], prep.DK[idx]
        n_q = M.sum(axis=0)
        wm = w @ M
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(wm > 0, (w @ P) / wm, np.nan)
            mean = np.where(wm > 0, (w @ R) / wm, np.nan)
            neff_q = np.where(wm > 0, wm ** 2 / ((w * w) @ M), 0.0)
        wl, wh = wilson_interval(share, neff_q, confidence)
        need_boot = "linear_mean" in methods or ("share_positive" in methods and
                                                 any(len(v) > 1 for v in index_items.values()))
        if need_boot and len(idx):
            rng = stable_rng(seed, stream, *key)
            rep_share, rep_mean = _bootstrap(rng, w, [P, R], M, n_boot)
        else:
            rep_share = rep_mean = np.full((0, len(prep.questions)), np.nan)
        group = dict(zip(by, key, strict=True))
        rkey = tuple(str(v) for v in key)
        if include_questions:
            for j, q in enumerate(prep.questions):
                base = {**group, "item_type": "question", "item": q.id, "label": q.text or q.id,
                        "n": int(n_q[j]), "n_effective": float(neff_q[j]), "n_dont_know": int(DK[:, j].sum()),
                        "weighted": prep.weighted}
                if "share_positive" in methods:
                    rows.append({**base, "method": "share_positive", "n_positive": int(P[:, j].sum()),
                                 "value": 100 * share[j], "ci_low": 100 * wl[j], "ci_high": 100 * wh[j],
                                 "ci_method": "wilson"})
                if "linear_mean" in methods:
                    lo, hi = percentile_interval(rep_mean[:, j], confidence) if len(rep_mean) else (np.nan,
                                                                                                    np.nan)
                    rows.append({**base, "method": "linear_mean", "n_positive": np.nan, "value": mean[j],
                                 "ci_low": lo, "ci_high": hi, "ci_method": "bootstrap"})
                    if return_replicates:
                        replicates[(rkey, "question", q.id, "linear_mean")] = rep_mean[:, j]
        for name, cols in index_items.items():
            anyvalid = M[:, cols].sum(axis=1) > 0
            n_i = int(anyvalid.sum())
            neff_i = float(kish_effective_n(w[anyvalid])) if n_i else 0.0
            base = {**group, "item_type": "index", "item": name, "label": name, "n": n_i, "n_effective": neff_i,
                    "n_dont_know": np.nan, "n_positive": np.nan, "weighted": prep.weighted}
            if "share_positive" in methods:
                if len(cols) == 1:
                    j = cols[0]
                    rows.append({**base, "method": "share_positive", "n_effective": float(neff_q[j]),
                                 "n_positive": int(P[:, j].sum()), "value": 100 * share[j],
                                 "ci_low": 100 * wl[j], "ci_high": 100 * wh[j], "ci_method": "wilson"})
                else:
                    rep = _nanmean_cols(rep_share, cols) * 100 if len(rep_share) else np.array([])
                    lo, hi = percentile_interval(rep, confidence) if len(rep) else (np.nan, np.nan)
                    rows.append({**base, "method": "share_positive", "value": 100 * _nanmean_cols(share, cols),
                                 "ci_low": lo, "ci_high": hi, "ci_method": "bootstrap"})
                    if return_replicates:
                        replicates[(rkey, "index", name, "share_positive")] = rep
            if "linear_mean" in methods:
                rep = _nanmean_cols(rep_mean, cols) if len(rep_mean) else np.array([])
                lo, hi = percentile_interval(rep, confidence) if len(rep) else (np.nan, np.nan)
                rows.append({**base, "method": "linear_mean", "value": _nanmean_cols(mean, cols),
                             "ci_low": lo, "ci_high": hi, "ci_method": "bootstrap"})
                if return_replicates:
                    replicates[(rkey, "index", name, "linear_mean")] = rep
    frame = _finish(rows, by, min_group_size)
    return (frame, replicates) if return_replicates else frame


def _finish(rows: list[dict], by: list[str], min_group_size: int) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*by, *RESULT_COLUMNS])
    for col in ("value", "ci_low", "ci_high", "n_effective", "n_positive", "n_dont_know"):
        frame[col] = frame[col].astype(float)
    frame["n"] = frame["n"].astype(float)
    frame["weighted"] = frame["weighted"].astype(bool)
    return apply_suppression(frame, by=by, min_group_size=min_group_size)


def apply_suppression(frame: pd.DataFrame, *, by: Sequence[str] = ("area_code",),
                      min_group_size: int = DEFAULT_MIN_GROUP_SIZE, n_column: str = "n",
                      value_columns: Sequence[str] = tuple(_NUMBERS)) -> pd.DataFrame:
    """Blank every number of rows with ``n < min_group_size`` (and secondary cells); set ``suppressed``."""
    min_group_size = check_min_group_size(min_group_size)
    out = frame.copy()
    n = pd.to_numeric(out[n_column], errors="coerce").to_numpy(dtype=float)
    flag = (n < min_group_size) | np.isnan(n)
    if "suppressed" in out.columns:
        given = out["suppressed"].map(lambda v: bool(v) if pd.notna(v) else False)
        flag = flag | given.to_numpy(dtype=bool)
    by = list(by)
    if len(by) > 1 and len(out):
        item_cols = [c for c in ("item_type", "item", "method") if c in out.columns]
        keys = [by[0], *item_cols]
        tmp = out[keys].astype("string").reset_index(drop=True)
        for positions in tmp.groupby(keys, sort=False, dropna=False).indices.values():
            flagged = flag[positions]
            if int(flagged.sum()) == 1 and len(positions) > 1:
                open_pos = positions[~flagged]
                flag[open_pos[np.argmin(np.nan_to_num(n[open_pos], nan=-1.0))]] = True
    out["suppressed"] = flag
    cols = [c for c in value_columns if c in out.columns]
    out.loc[flag, cols] = np.nan
    return out


# --- aggregated results ----------------------------------------------------------------------------------

def aggregated_results(aggregates: pd.DataFrame, instrument: Instrument, *, by: Sequence[str] = ("area_code",),
                       min_group_size: int = DEFAULT_MIN_GROUP_SIZE, confidence: float = 0.95,
                       include_questions: bool = True) -> pd.DataFrame:
    """Share-positive results from already aggregated input (share 0–100 and ``n`` per question and group).

    ``aggregates``: the ``by`` columns, ``question_id``, ``share_positive`` (0–100), ``n``; optionally
    ``n_positive``. Only ``share_positive`` can be given: a linear mean needs the answers.
    """
    min_group_size = check_min_group_size(min_group_size)
    by = list(by)
    rows: list[dict] = []
    scale = {q.id: q for q in instrument.scale_questions}
    data = aggregates[aggregates["question_id"].astype(str).isin(scale)]
    if by:
        grouped = data.groupby(by, sort=True, dropna=False, observed=True)
        groups = [((k,) if not isinstance(k, tuple) else k, g) for k, g in grouped]
    else:
        groups = [((), data)]
    for key, grp in groups:
        group = dict(zip(by, key, strict=True))
        per_q = grp.set_index(grp["question_id"].astype(str))
        shares: dict[str, float] = {}
        ns: dict[str, float] = {}
        for qid in per_q.index:
            p = float(per_q.at[qid, "share_positive"]) / 100
            n = float(per_q.at[qid, "n"])
            shares[qid], ns[qid] = p, n
            if include_questions:
                lo, hi = wilson_interval(p, n, confidence)
                npos = per_q.at[qid, "n_positive"] if "n_positive" in per_q.columns else np.nan
                rows.append({**group, "item_type": "question", "item": qid, "label": scale[qid].text or qid,
                             "method": "share_positive", "n": n, "n_effective": n, "n_dont_know": np.nan,
                             "n_positive": float(npos) if pd.notna(npos) else np.nan, "value": 100 * p,
                             "ci_low": 100 * float(lo), "ci_high": 100 * float(hi), "ci_method": "wilson",
                             "weighted": False})
        for name, items in instrument.indices.items():
            present = [i for i in items if i in shares]
            if not present:
                continue
            p = float(np.mean([shares[i] for i in present]))
            n = float(min(ns[i] for i in present))
            lo, hi = wilson_interval(p, n, confidence)
            rows.append({**group, "item_type": "index", "item": name, "label": name, "method": "share_positive",
                         "n": n, "n_effective": n, "n_dont_know": np.nan, "n_positive": np.nan, "value": 100 * p,
                         "ci_low": 100 * float(lo), "ci_high": 100 * float(hi),
                         "ci_method": "wilson" if len(present) == 1 else "wilson_min_n", "weighted": False})
    return _finish(rows, by, min_group_size)


# --- differences between waves ---------------------------------------------------------------------------

@dataclass
class WaveInput:
    """One wave for :func:`compare_waves`: respondent-level (``respondents`` + ``answers``) or aggregated."""

    instrument: Instrument
    respondents: pd.DataFrame | None = None
    answers: pd.DataFrame | None = None
    aggregated: pd.DataFrame | None = None

    def results(self, *, by, methods, min_group_size, confidence, n_boot, seed, stream):
        if self.aggregated is not None:
            res = aggregated_results(self.aggregated, self.instrument, by=by, min_group_size=min_group_size,
                                     confidence=confidence)
            return res[res["method"].isin(list(methods))].reset_index(drop=True), {}
        if self.respondents is None or self.answers is None:
            raise ValueError("a wave needs respondents and answers, or aggregated results")
        return compute_results(self.respondents, self.answers, self.instrument, by=by, methods=methods,
                               min_group_size=min_group_size, confidence=confidence, n_boot=n_boot, seed=seed,
                               stream=stream, return_replicates=True)


def compare_waves(wave_a: WaveInput, wave_b: WaveInput, *, by: Sequence[str] = ("area_code",),
                  methods: Iterable[str] = METHODS, min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
                  confidence: float = 0.95, n_boot: int = 2000, seed: int = 20240101) -> pd.DataFrame:
    """Change from wave A to wave B (``value_b − value_a``, in index points) per group, question and index.

    The waves are treated as independent samples. Items are matched by question id / index name and
    method; a row is suppressed when either wave's row is.
    """
    methods = _check_methods(methods)
    min_group_size = check_min_group_size(min_group_size)
    by = list(by)
    opts = dict(by=by, methods=methods, min_group_size=min_group_size, confidence=confidence, n_boot=n_boot,
                seed=seed)
    res_a, rep_a = wave_a.results(stream="wave-a", **opts)
    res_b, rep_b = wave_b.results(stream="wave-b", **opts)
    keys = [*by, "item_type", "item", "method"]
    merged = res_a.merge(res_b, on=keys, suffixes=("_a", "_b"), how="inner")
    out_rows = []
    for row in merged.itertuples(index=False):
        r = row._asdict()
        group_key = tuple(r[c] for c in by)
        base = {c: r[c] for c in keys}
        base.update(label=r["label_b"], n_a=r["n_a"], n_b=r["n_b"], value_a=r["value_a"], value_b=r["value_b"])
        if r["suppressed_a"] or r["suppressed_b"]:
            out_rows.append({**base, "difference": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                             "ci_method": None, "suppressed": True})
            continue
        ka = (tuple(str(v) for v in group_key), r["item_type"], r["item"], r["method"])
        ra, rb = rep_a.get(ka), rep_b.get(ka)
        if r["ci_method_a"] == "wilson" and r["ci_method_b"] == "wilson":
            d, lo, hi = newcombe_interval(r["value_b"] / 100, r["n_effective_b"], r["value_a"] / 100,
                                          r["n_effective_a"], confidence)
            d, lo, hi, how = 100 * float(d), 100 * float(lo), 100 * float(hi), "newcombe"
        elif ra is not None and rb is not None and len(ra) and len(rb):
            d = r["value_b"] - r["value_a"]
            lo, hi = percentile_interval(rb - ra, confidence)
            lo, hi, how = float(lo), float(hi), "bootstrap"
        else:
            d, lo, hi = mover_interval(r["value_b"], r["ci_low_b"], r["ci_high_b"], r["value_a"], r["ci_low_a"],
                                       r["ci_high_a"])
            d, lo, hi, how = float(d), float(lo), float(hi), "mover"
        out_rows.append({**base, "difference": d, "ci_low": lo, "ci_high": hi, "ci_method": how,
                         "suppressed": False})
    frame = pd.DataFrame(out_rows, columns=[*by, *COMPARE_COLUMNS])
    numbers = ["n_a", "n_b", "value_a", "value_b", "difference", "ci_low", "ci_high"]
    for col in numbers:
        frame[col] = frame[col].astype(float)
    frame["suppressed"] = frame["suppressed"].astype(bool)
    frame.loc[frame["suppressed"], numbers] = np.nan
    return frame

