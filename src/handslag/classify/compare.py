"""Comparing classifications: confusion matrix, agreement (Cohen's kappa) and transitions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

LABELS: tuple[int, ...] = (1, 2, 3, 4, 5)


def _codes(values: pd.Series, labels: Sequence[int], what: str) -> np.ndarray:
    lab = pd.Index(labels)
    codes = lab.get_indexer(pd.to_numeric(values))
    if (codes < 0).any():
        bad = pd.unique(values[codes < 0])[:5]
        raise ValueError(f"{what} contains values outside {list(labels)}: {list(bad)}")
    return codes


def _paired(computed: object, official: object) -> tuple[pd.Series, pd.Series]:
    a = computed if isinstance(computed, pd.Series) else pd.Series(np.asarray(computed))
    b = official if isinstance(official, pd.Series) else pd.Series(np.asarray(official), index=a.index)
    if isinstance(computed, pd.Series) and isinstance(official, pd.Series):
        a, b = a.align(b, join="inner")
    elif len(a) != len(b):
        raise ValueError("computed and official have different lengths")
    keep = a.notna().to_numpy() & b.notna().to_numpy()
    return a[keep], b[keep]


def _counts(computed: object, official: object, labels: Sequence[int]) -> np.ndarray:
    a, b = _paired(computed, official)
    ca = _codes(a, labels, "computed")
    cb = _codes(b, labels, "official")
    k = len(labels)
    return np.bincount(ca * k + cb, minlength=k * k).reshape(k, k)


def confusion_matrix(computed: object, official: object, labels: Sequence[int] = LABELS) -> pd.DataFrame:
    """Counts of computed type (rows) × official type (columns), with ``total`` row and column.

    Series are aligned on their index (inner join); arrays by position. Pairs with a missing value
    on either side are left out.
    """
    m = _counts(computed, official, labels)
    cols = pd.Index([*labels, "total"], dtype=object)
    full = np.zeros((len(labels) + 1, len(labels) + 1), dtype=np.int64)
    full[:-1, :-1] = m
    full[:-1, -1] = m.sum(axis=1)
    full[-1, :-1] = m.sum(axis=0)
    full[-1, -1] = m.sum()
    out = pd.DataFrame(full, index=cols.copy(), columns=cols)
    out.index.name = "computed"
    out.columns.name = "official"
    return out


def agreement(computed: object, official: object, labels: Sequence[int] = LABELS) -> dict[str, float]:
    """Agreement summary: ``n``, ``n_equal``, ``share_equal``, ``share_within_one`` and ``kappa``.

    Cohen's kappa ``κ = (p_o − p_e) / (1 − p_e)`` with ``p_e = Σ_k r_k c_k / n²``; NaN when
    ``p_e = 1`` (both sides use a single class) or ``n = 0``.
    """
    m = _counts(computed, official, labels).astype(np.float64)
    n = m.sum()
    lab = np.asarray(labels, dtype=np.float64)
    if n == 0:
        return {"n": 0, "n_equal": 0, "share_equal": np.nan, "share_within_one": np.nan, "kappa": np.nan}
    po = np.trace(m) / n
    pe = float((m.sum(axis=1) * m.sum(axis=0)).sum() / (n * n))
    near = np.abs(lab[:, None] - lab[None, :]) <= 1
    kappa = (po - pe) / (1.0 - pe) if pe < 1.0 else np.nan
    return {
        "n": int(n),
        "n_equal": int(np.trace(m)),
        "share_equal": float(po),
        "share_within_one": float(m[near].sum() / n),
        "kappa": float(kappa),
    }


def transition_matrix(
    types: pd.DataFrame,
    year_from: object,
    year_to: object,
    by: str | Sequence[str] | None = None,
    *,
    area: str = "area",
    year: str = "year",
    type_col: str = "type",
    labels: Sequence[int] = LABELS,
    wide: bool = False,
) -> pd.DataFrame:
    """Type transitions between two years: counts and row shares (optionally per ``by`` group).

    Parameters
    ----------
    types:
        Long frame with one row per area and year: ``area``, ``year``, ``type_col`` (+ ``by``).
    year_from, year_to:
        The two years compared. Only areas with a type in both years are counted.
    by:
        Optional grouping column(s) (e.g. ``kommunkod``), taken from ``year_to`` rows.
    wide:
        False (default): long frame with ``by…``, ``type_from``, ``type_to``, ``count``,
        ``row_share`` (all label combinations, zeros included; ``row_share`` is NaN for a row
        with no areas). True: one row per ``by…``/``type_from`` with ``n_1 … n_k``, ``total``,
        ``share_1 … share_k``.
    """
    by_cols = [by] if isinstance(by, str) else list(by or [])
    need = [area, year, type_col, *by_cols]
    missing = [c for c in need if c not in types.columns]
    if missing:
        raise ValueError(f"types lack column(s) {missing}")
    a = types.loc[types[year] == year_from, [area, type_col]].dropna()
    b = types.loc[types[year] == year_to, [area, type_col, *by_cols]].dropna(subset=[type_col])
    for frame, y in ((a, year_from), (b, year_to)):
        if frame[area].duplicated().any():
            raise ValueError(f"area {area!r} is not unique in year {y}")
    pair = b.merge(a, on=area, suffixes=("_to", "_from"))
    k = len(labels)
    cf = _codes(pair[f"{type_col}_from"], labels, "type (from)")
    ct = _codes(pair[f"{type_col}_to"], labels, "type (to)")
    if by_cols:
        gcodes, keys = pd.factorize(pd.MultiIndex.from_frame(pair[by_cols]), sort=True)
        key_frame = pd.DataFrame(list(keys), columns=by_cols) if len(keys) else pd.DataFrame(columns=by_cols)
        n_g = len(keys)
    else:
        gcodes = np.zeros(len(pair), dtype=np.int64)
        key_frame = pd.DataFrame(index=pd.RangeIndex(1))
        n_g = 1
    counts = np.bincount(gcodes * k * k + cf * k + ct, minlength=n_g * k * k).reshape(n_g, k, k)
    rows = counts.sum(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(rows > 0, counts / rows, np.nan)
    lab = np.asarray(labels)
    if wide:
        out = key_frame.loc[np.repeat(np.arange(n_g), k)].reset_index(drop=True)
        out["type_from"] = np.tile(lab, n_g)
        flat = counts.reshape(n_g * k, k)
        for j, label in enumerate(labels):
            out[f"n_{label}"] = flat[:, j]
        out["total"] = flat.sum(axis=1)
        sflat = share.reshape(n_g * k, k)
        for j, label in enumerate(labels):
            out[f"share_{label}"] = sflat[:, j]
        return out
    out = key_frame.loc[np.repeat(np.arange(n_g), k * k)].reset_index(drop=True)
    out["type_from"] = np.tile(np.repeat(lab, k), n_g)
    out["type_to"] = np.tile(lab, n_g * k)
    out["count"] = counts.reshape(-1)
    out["row_share"] = share.reshape(-1)
    return out
