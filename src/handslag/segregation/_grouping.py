"""Sorting a long frame into contiguous blocks, one per ``by`` value ("case").

All index computations work on arrays sorted by case so that per-case sums are a single
``np.add.reduceat`` call over contiguous segments (no Python loop over municipalities).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Grouping:
    """Sort order and segment boundaries of a frame grouped by ``by``.

    Attributes
    ----------
    order:
        Positions of the input rows in sorted order (rows of case 0 first, ...).
    case:
        Case number of every *sorted* row, non-decreasing, ``0 .. n_cases - 1``.
    starts:
        Index of the first sorted row of every case (for ``np.add.reduceat``).
    keys:
        One row per case with the ``by`` columns (empty frame with one row when ``by`` is empty).
    by:
        The ``by`` column names.
    """

    order: np.ndarray
    case: np.ndarray
    starts: np.ndarray
    keys: pd.DataFrame
    by: tuple[str, ...]

    @property
    def n_cases(self) -> int:
        """Number of cases (distinct ``by`` values)."""
        return int(self.starts.size)

    def segment_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum ``values`` (last axis = sorted rows) within every case; returns ``(..., n_cases)``."""
        return np.add.reduceat(values, self.starts, axis=-1)


def as_list(by: str | Sequence[str] | None) -> list[str]:
    """Normalise a ``by`` argument to a list of column names."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def make_grouping(frame: pd.DataFrame, by: str | Sequence[str] | None) -> Grouping:
    """Group ``frame`` by ``by`` (sorted keys, missing keys kept as their own group).

    Raises
    ------
    ValueError
        If the frame is empty or a ``by`` column is missing.
    """
    by_cols = as_list(by)
    n = len(frame)
    if n == 0:
        raise ValueError("the input frame has no rows")
    missing = [c for c in by_cols if c not in frame.columns]
    if missing:
        raise ValueError(f"by column(s) not in frame: {missing}")
    if by_cols:
        grouped = frame.groupby(by_cols, sort=True, dropna=False, observed=True)
        codes = grouped.ngroup().to_numpy(dtype=np.int64)
        keys = grouped.size().reset_index()[by_cols]
    else:
        codes = np.zeros(n, dtype=np.int64)
        keys = pd.DataFrame(index=pd.RangeIndex(1))
    order = np.argsort(codes, kind="stable")
    case = codes[order]
    boundary = np.empty(n, dtype=bool)
    boundary[0] = True
    np.not_equal(case[1:], case[:-1], out=boundary[1:])
    starts = np.flatnonzero(boundary)
    keys = keys.reset_index(drop=True)
    return Grouping(order=order, case=case, starts=starts, keys=keys, by=tuple(by_cols))
