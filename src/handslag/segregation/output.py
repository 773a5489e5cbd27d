"""Turning result rows into the JSON shape used by the CLI and the API.

Shape (one municipality/year)::

    {"dissimilarity": {"value": 0.31, "ci_low": 0.29, "ci_high": 0.33, "p_value": 0.005},
     "theil_h": {...}, ...}

Missing numbers (not computed, undefined, no CI for descriptive indices) are ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .indices import INDEX_NAMES

FIELDS: tuple[str, ...] = ("value", "ci_low", "ci_high", "p_value")


def _num(x: Any) -> float | None:
    if x is None or x is pd.NA:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def result_to_json(
    row: pd.Series | Mapping[str, Any],
    indices: Sequence[str] = INDEX_NAMES,
    *,
    include_missing: bool = True,
) -> dict[str, dict[str, float | None]]:
    """Nested dict ``{index: {"value", "ci_low", "ci_high", "p_value"}}`` for one result row.

    ``row`` is a row of :func:`compute_indices` (CI/p fields become ``None``) or of
    :func:`with_inference`. With ``include_missing=True`` (default) every name in ``indices`` is
    present, with all four fields ``None`` when the index was not computed.
    """
    get = row.get
    out: dict[str, dict[str, float | None]] = {}
    for name in indices:
        if name not in row and not include_missing:
            continue
        out[name] = {
            "value": _num(get(name)),
            "ci_low": _num(get(f"{name}_ci_low")),
            "ci_high": _num(get(f"{name}_ci_high")),
            "p_value": _num(get(f"{name}_p_value")),
        }
    return out


def results_to_records(result: pd.DataFrame, indices: Sequence[str] = INDEX_NAMES) -> list[dict[str, Any]]:
    """One JSON-ready dict per row: ``{"key": {by...}, "n_units", "population", "indices", "notes"}``.

    The ``by`` columns are the columns that are neither bookkeeping nor index columns.
    """
    index_like = set()
    for name in INDEX_NAMES:
        index_like.update({name, f"{name}_ci_low", f"{name}_ci_high", f"{name}_p_value"})
    key_cols = [c for c in result.columns if c not in index_like | {"n_units", "population", "notes"}]
    records = []
    for row in result.to_dict(orient="records"):
        notes = row.get("notes")
        records.append(
            {
                "key": {c: (None if pd.isna(row[c]) else row[c]) for c in key_cols},
                "n_units": int(row["n_units"]),
                "population": _num(row["population"]),
                "indices": result_to_json(row, indices),
                "notes": None if notes is None or pd.isna(notes) else str(notes),
            }
        )
    return records
