"""Områdestyper (area types 1–5) from the socioeconomic index, vectorised over years.

Methods brief §1.3: ``z = (SEI − μ) / σ`` with μ, σ over all RegSO nationally in the same year;
type 1: z ≥ 2; 2: 1 ≤ z < 2; 3: 0 ≤ z < 1; 4: −1 ≤ z < 0; 5: z < −1. SCB does not state whether μ/σ
are population-weighted; our defaults are the unweighted mean and the sample SD (``ddof=1``), as in
the two re-implementations the brief cites. Both are parameters.

Types are assigned by comparing SEI with the cut values ``μ + c·σ`` (so that the reported cut values
and the types always agree); ``z`` is reported alongside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

DEFAULT_CUTS: tuple[float, ...] = (2.0, 1.0, 0.0, -1.0)

TYPE_LABELS: dict[int, str] = {
    1: "Områden med stora socioekonomiska utmaningar",
    2: "Områden med socioekonomiska utmaningar",
    3: "Socioekonomiskt blandade områden",
    4: "Områden med goda socioekonomiska förutsättningar",
    5: "Områden med mycket goda socioekonomiska förutsättningar",
}
"""SCB/Boverket labels of the five types."""

Reference = None | pd.Series | np.ndarray | Sequence[bool] | Callable[[pd.DataFrame], object] | pd.DataFrame


def cut_columns(cuts: Sequence[float] = DEFAULT_CUTS) -> list[str]:
    """Names of the cut-value columns: ``cut_1_2`` is the boundary between types 1 and 2, etc."""
    return [f"cut_{j + 1}_{j + 2}" for j in range(len(cuts))]


def _check_cuts(cuts: Sequence[float]) -> np.ndarray:
    arr = np.asarray(cuts, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.diff(arr) < 0):
        raise ValueError(f"cuts must be a non-empty strictly decreasing sequence, got {cuts}")
    return arr


def _year_codes(frame: pd.DataFrame, year: str | None) -> tuple[np.ndarray, pd.Index]:
    if year is None:
        return np.zeros(len(frame), dtype=np.int64), pd.Index([0], name="year")
    if year not in frame.columns:
        raise ValueError(f"year column {year!r} not in frame")
    codes, uniques = pd.factorize(frame[year], sort=True)
    return codes.astype(np.int64), pd.Index(uniques, name=year)


def _reference_mask(frame: pd.DataFrame, reference: Reference) -> np.ndarray:
    if reference is None:
        return np.ones(len(frame), dtype=bool)
    if callable(reference):
        reference = reference(frame)  # type: ignore[assignment]
    if isinstance(reference, pd.Series):
        if not reference.index.equals(frame.index):
            reference = reference.reindex(frame.index)
        mask = reference.fillna(False).to_numpy(dtype=bool)
    else:
        mask = np.asarray(reference, dtype=bool)
    if mask.shape != (len(frame),):
        raise ValueError(f"reference mask has shape {mask.shape}, expected ({len(frame)},)")
    return mask


def area_type_cuts(
    frame: pd.DataFrame,
    sei: str = "sei",
    year: str | None = "year",
    reference: Reference = None,
    weights: str | None = None,
    ddof: int = 1,
    cuts: Sequence[float] = DEFAULT_CUTS,
) -> pd.DataFrame:
    """Mean, SD and cut values per year over the reference set.

    Parameters
    ----------
    frame:
        One row per area and year with an SEI column.
    sei, year:
        Column names (``year=None``: the whole frame is one year).
    reference:
        Which rows define μ and σ: ``None`` (all rows of the year with an SEI), a boolean mask
        (array or Series aligned to ``frame``), a callable ``frame -> mask``, or a DataFrame with
        columns ``year``, ``mean``, ``sd`` (e.g. national RegSO cuts from an earlier call, to type
        DeSO against them).
    weights:
        Optional column of non-negative weights (e.g. population) for a weighted μ/σ
        (frequency weights: ``σ² = Σ w (SEI − μ)² / (Σ w − ddof)``). Default unweighted.
    ddof:
        Delta degrees of freedom of σ (1 = sample SD, the default; 0 = population SD).
    cuts:
        z cut points, strictly decreasing (default ``(2, 1, 0, -1)`` → five types).

    Returns
    -------
    DataFrame
        One row per year: ``year`` (named as the input column), ``n_reference``, ``mean``, ``sd``
        and the cut values ``cut_1_2`` … in SEI units (``mean + c·sd``).
    """
    c = _check_cuts(cuts)
    names = cut_columns(cuts)
    if isinstance(reference, pd.DataFrame):
        ycol = year if year is not None and year in reference.columns else "year"
        if year is not None and ycol not in reference.columns:
            raise ValueError(f"reference table needs a {year!r} (or 'year') column")
        if year is None and len(reference) != 1:
            raise ValueError("with year=None the reference table must have exactly one row")
        for col in ("mean", "sd"):
            if col not in reference.columns:
                raise ValueError(f"reference table needs a {col!r} column")
        n_ref = reference["n_reference"].to_numpy() if "n_reference" in reference.columns else np.nan
        table = pd.DataFrame(
            {
                year or "year": reference[ycol].to_numpy() if year is not None else [0],
                "n_reference": n_ref,
                "mean": reference["mean"].to_numpy(dtype=np.float64),
                "sd": reference["sd"].to_numpy(dtype=np.float64),
            }
        )
    else:
        codes, years = _year_codes(frame, year)
        s = pd.to_numeric(frame[sei]).to_numpy(dtype=np.float64, na_value=np.nan)
        m = _reference_mask(frame, reference) & np.isfinite(s) & (codes >= 0)
        if weights is None:
            w = np.ones(len(frame))
        else:
            w = pd.to_numeric(frame[weights]).to_numpy(dtype=np.float64, na_value=np.nan)
            if (w[m] < 0).any():
                raise ValueError("weights must be non-negative")
            m &= np.isfinite(w)
        k = len(years)
        cm, wm, sm = codes[m], w[m], s[m]
        n_ref = np.bincount(cm, minlength=k)
        sw = np.bincount(cm, weights=wm, minlength=k)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.bincount(cm, weights=wm * sm, minlength=k) / sw
            dev = sm - mean[cm]
            var = np.bincount(cm, weights=wm * dev * dev, minlength=k) / (sw - ddof)
        var[~(sw - ddof > 0)] = np.nan
        table = pd.DataFrame({year or "year": years.to_numpy(), "n_reference": n_ref, "mean": mean, "sd": np.sqrt(var)})
    for name, cj in zip(names, c, strict=True):
        table[name] = table["mean"] + cj * table["sd"]
    return table


def area_types(
    frame: pd.DataFrame,
    sei: str = "sei",
    year: str | None = "year",
    reference: Reference = None,
    weights: str | None = None,
    ddof: int = 1,
    cuts: Sequence[float] = DEFAULT_CUTS,
) -> pd.DataFrame:
    """z score and area type (1 = largest challenges … 5 = best) for every row.

    Arguments as in :func:`area_type_cuts`. Every row is typed against its own year's μ/σ, also
    rows outside the reference set.

    Returns
    -------
    DataFrame
        Same index as ``frame`` with ``z``, ``type`` (nullable Int64; ``<NA>`` where the SEI is
        missing or the year's σ is missing/zero), ``mean``, ``sd`` and the cut columns
        ``cut_1_2`` … used for that row's year.
    """
    _check_cuts(cuts)
    names = cut_columns(cuts)
    table = area_type_cuts(frame, sei, year, reference, weights, ddof, cuts)
    s = pd.to_numeric(frame[sei]).to_numpy(dtype=np.float64, na_value=np.nan)
    if year is None:
        pos = np.zeros(len(frame), dtype=np.int64)
    else:
        ykey = year if year in table.columns else "year"
        pos = pd.Index(table[ykey]).get_indexer(frame[year])
    have = pos >= 0
    take = np.where(have, pos, 0)
    mean = np.where(have, table["mean"].to_numpy()[take], np.nan)
    sd = np.where(have, table["sd"].to_numpy()[take], np.nan)
    cutvals = table[names].to_numpy(dtype=np.float64)[take]
    cutvals[~have] = np.nan
    ok = np.isfinite(s) & np.isfinite(mean) & (sd > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(ok, (s - mean) / sd, np.nan)
        typ = 1 + (s[:, None] < cutvals).sum(axis=1)
    out = pd.DataFrame(index=frame.index)
    out["z"] = z
    out["type"] = pd.arrays.IntegerArray(np.where(ok, typ, 0).astype(np.int64), ~ok)
    out["mean"] = mean
    out["sd"] = sd
    for j, name in enumerate(names):
        out[name] = cutvals[:, j]
    return out
