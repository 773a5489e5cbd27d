"""How far each area is from the neighbouring type boundaries, in SEI points and in persons.

For an area with index ``SEI`` in type ``k`` (cut values from :func:`area_types`):

* ``points_up = cut_up − SEI`` where ``cut_up`` is the lower bound of the next *worse* type
  (type ``k − 1``; none for type 1). Reaching it (``SEI ≥ cut_up``) changes the type.
* ``points_down = SEI − cut_down`` where ``cut_down`` is the area's own lower bound (none for type 5).
  The type changes once ``SEI < cut_down``.

Changing the numerator of component ``Vc`` by ``n`` persons, with its denominator ``d_c`` and the
other two components held fixed, moves SEI by ``100 n / (3 d_c)`` points. So the persons needed are

* up:   ``n = ceil(points_up × 3 × d_c / 100)``  (``SEI + n·100/(3 d_c) ≥ cut_up``)
* down: ``n = floor(points_down × 3 × d_c / 100) + 1``  (strictly below ``cut_down``)

e.g. for V1, ``n`` residents who would have to leave (down) or enter (up) low economic standard.
μ and σ of the reference distribution are held fixed (one area hardly moves them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .types import DEFAULT_CUTS, Reference, area_types, cut_columns

_EPS = 1e-9


def _int_array(values: np.ndarray) -> pd.arrays.IntegerArray:
    ok = np.isfinite(values)
    return pd.arrays.IntegerArray(np.where(ok, values, 0).astype(np.int64), ~ok)


def distance_to_thresholds(
    frame: pd.DataFrame,
    sei: str = "sei",
    year: str | None = "year",
    *,
    denominators: Mapping[str, str] | None = None,
    numerators: Mapping[str, str] | None = None,
    reference: Reference = None,
    weights: str | None = None,
    ddof: int = 1,
    cuts: Sequence[float] = DEFAULT_CUTS,
) -> pd.DataFrame:
    """Distance from each area's SEI to the neighbouring cut values, in index points and persons.

    Parameters
    ----------
    frame:
        One row per area and year with ``sei`` and, optionally, component counts.
    sei, year, reference, weights, ddof, cuts:
        As in :func:`handslag.classify.area_types` (used to get the type and cut values; pass
        ``reference=<cut table>`` to use fixed, e.g. national, cuts).
    denominators:
        Component name → column with that component's denominator, e.g.
        ``{"v1": "v1_den", "v2": "v2_den", "v3": "v3_den"}``. One pair of ``persons_*`` columns is
        produced per entry.
    numerators:
        Optional component name → numerator column. When given, a person count that is not
        reachable through that component alone (more than the numerator when going down, more
        than ``denominator − numerator`` when going up) is reported as ``<NA>``.

    Returns
    -------
    DataFrame
        Same index as ``frame``: ``type``, ``sei``, ``cut_up``, ``cut_down``, ``points_up``,
        ``points_down`` (NaN where there is no neighbouring type) and, per component ``c``,
        ``persons_up_c`` and ``persons_down_c`` (nullable Int64, rounded up to whole persons).
    """
    typed = area_types(frame, sei, year, reference, weights, ddof, cuts)
    names = cut_columns(cuts)
    k = len(names)
    cutvals = typed[names].to_numpy(dtype=np.float64)  # (N, k); column j = lower bound of type j+1
    s = pd.to_numeric(frame[sei]).to_numpy(dtype=np.float64, na_value=np.nan)
    typ = typed["type"].to_numpy(dtype=np.float64, na_value=np.nan)
    have = np.isfinite(typ)
    t_idx = np.where(have, typ, 1).astype(np.int64)  # 1..k+1
    rows = np.arange(len(frame))
    # worse type t-1 starts at cut column t-2; own lower bound is cut column t-1 (none for the last type)
    up_col = t_idx - 2
    down_col = t_idx - 1
    cut_up = np.where(have & (up_col >= 0), cutvals[rows, np.clip(up_col, 0, k - 1)], np.nan)
    cut_down = np.where(have & (down_col < k), cutvals[rows, np.clip(down_col, 0, k - 1)], np.nan)
    out = pd.DataFrame(index=frame.index)
    out["type"] = typed["type"]
    out["sei"] = s
    out["cut_up"] = cut_up
    out["cut_down"] = cut_down
    points_up = cut_up - s
    points_down = s - cut_down
    out["points_up"] = points_up
    out["points_down"] = points_down
    for comp, den_col in (denominators or {}).items():
        den = pd.to_numeric(frame[den_col]).to_numpy(dtype=np.float64, na_value=np.nan)
        den = np.where(den > 0, den, np.nan)
        with np.errstate(invalid="ignore"):
            n_up = np.ceil(points_up * 3.0 * den / 100.0 - _EPS)
            n_up = np.where(n_up < 1, 1.0, n_up)
            n_down = np.floor(points_down * 3.0 * den / 100.0 + _EPS) + 1.0
        if numerators and comp in numerators:
            num = pd.to_numeric(frame[numerators[comp]]).to_numpy(dtype=np.float64, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                n_up = np.where(n_up <= den - num, n_up, np.nan)
                n_down = np.where(n_down <= num, n_down, np.nan)
        out[f"persons_up_{comp}"] = _int_array(n_up)
        out[f"persons_down_{comp}"] = _int_array(n_down)
    return out
