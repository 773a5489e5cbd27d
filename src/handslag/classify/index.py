"""The socioeconomic index (SEI) and its components, including the DeSO substitute for V3.

Methods brief §1.2: ``SEI = (V1 + V2 + V3) / 3`` with all three components in percent (0–100),
equal weights, no standardisation; higher = worse.

* V1 ``low_economic_standard`` – share of all residents with low economic standard.
* V2 ``pre_upper_secondary_20_64`` – share of 20–64-year-olds with at most förgymnasial education.
* V3 ``longterm_assistance_unemployment_20_64`` – share of 20–64-year-olds with ekonomiskt bistånd
  ≥ 10 months and/or unemployed > 6 months.

V3 is not published at DeSO level (methods brief §1.4); :func:`deso_components` substitutes
``unemployment_20_64`` and flags every substituted value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

V1_ID = "low_economic_standard"
V2_ID = "pre_upper_secondary_20_64"
V3_ID = "longterm_assistance_unemployment_20_64"
V3_SUBSTITUTE_ID = "unemployment_20_64"
COMPONENT_IDS: dict[str, str] = {"v1": V1_ID, "v2": V2_ID, "v3": V3_ID}
"""Component name → indicator id in the catalogue."""
SUBSTITUTION_LABEL = f"v3={V3_SUBSTITUTE_ID}"
"""Value of the ``substituted`` column where V3 was replaced by unemployment 20–64."""


def socioeconomic_index(frame: pd.DataFrame, v1: str = "v1", v2: str = "v2", v3: str = "v3") -> pd.Series:
    """``SEI = (V1 + V2 + V3) / 3`` per row (percent, higher = worse).

    A missing component gives a missing SEI (no re-weighting of the other two).

    Raises
    ------
    ValueError
        If a component lies outside 0–100 (components must be percentages, not fractions).
    """
    parts = frame[[v1, v2, v3]].apply(pd.to_numeric).to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isfinite(parts) & ((parts < 0) | (parts > 100))
    if bad.any():
        raise ValueError(f"SEI components must be percentages in 0-100; got {parts[bad][:5].tolist()}")
    return pd.Series(parts.sum(axis=1) / 3.0, index=frame.index, name="sei")


def deso_components(
    observations: pd.DataFrame,
    *,
    area: str = "area",
    year: str = "year",
    indicator: str = "indicator",
    value: str = "value",
    numerator: str | None = "numerator",
    denominator: str | None = "denominator",
    substitute: bool = True,
) -> pd.DataFrame:
    """Build V1/V2/V3 (and SEI) per area and year from tidy catalogue observations.

    Parameters
    ----------
    observations:
        Tidy frame with one row per area, year and indicator (the store's observation layout).
        Only the rows of :data:`V1_ID`, :data:`V2_ID`, :data:`V3_ID` and :data:`V3_SUBSTITUTE_ID`
        are used.
    area, year, indicator, value:
        Column names.
    numerator, denominator:
        Optional count columns; used when present in ``observations`` (``None`` to ignore).
    substitute:
        Where V3 is missing and ``unemployment_20_64`` is present, use it as V3 (default True).

    Returns
    -------
    DataFrame
        One row per (area, year) with ``area``, ``year``, ``v1``, ``v2``, ``v3``, ``sei``,
        ``substituted`` (``"v3=unemployment_20_64"`` on every row whose V3 – value, numerator and
        denominator – was substituted, else ``<NA>``), and ``v1_num``, ``v1_den``, … when count
        columns were given. ``attrs["substitution"]`` describes the rule.

    Raises
    ------
    ValueError
        On duplicate (area, year, indicator) rows or missing columns.
    """
    need = [area, year, indicator, value]
    missing = [c for c in need if c not in observations.columns]
    if missing:
        raise ValueError(f"observations lack column(s) {missing}")
    wanted = [V1_ID, V2_ID, V3_ID, V3_SUBSTITUTE_ID]
    obs = observations[observations[indicator].isin(wanted)]
    dup = obs.duplicated([area, year, indicator])
    if dup.any():
        raise ValueError(f"duplicate observations: {obs.loc[dup, [area, year, indicator]].iloc[0].to_dict()}")
    measures = {"": value}
    if numerator is not None and numerator in obs.columns:
        measures["_num"] = numerator
    if denominator is not None and denominator in obs.columns:
        measures["_den"] = denominator
    keys = observations[[area, year]].drop_duplicates() if obs.empty else obs[[area, year]].drop_duplicates()
    out = keys.sort_values([area, year]).reset_index(drop=True)
    wide = {}
    for suffix, col in measures.items():
        table = obs.pivot(index=[area, year], columns=indicator, values=col)
        table = table.reindex(columns=wanted)
        table = table.reindex(pd.MultiIndex.from_frame(out[[area, year]]))
        for comp, ind in {**COMPONENT_IDS, "unemp": V3_SUBSTITUTE_ID}.items():
            wide[f"{comp}{suffix}"] = pd.to_numeric(table[ind]).to_numpy(dtype=np.float64, na_value=np.nan)
    use_sub = np.isnan(wide["v3"]) & ~np.isnan(wide["unemp"])
    if not substitute:
        use_sub[:] = False
    for suffix in measures:
        wide[f"v3{suffix}"] = np.where(use_sub, wide[f"unemp{suffix}"], wide[f"v3{suffix}"])
    for comp in ("v1", "v2", "v3"):
        out[comp] = wide[comp]
    out["sei"] = socioeconomic_index(out).to_numpy()
    out["substituted"] = pd.array(np.where(use_sub, SUBSTITUTION_LABEL, None), dtype="string")
    for comp in ("v1", "v2", "v3"):
        for suffix in ("_num", "_den"):
            if suffix in measures:
                out[f"{comp}{suffix}"] = wide[f"{comp}{suffix}"]
    out.attrs["substitution"] = (
        f"where {V3_ID} is missing, {V3_SUBSTITUTE_ID} is used as V3 "
        "(third-party DeSO practice, methods brief §1.4); such rows have substituted="
        f"'{SUBSTITUTION_LABEL}' and are not comparable with official RegSO SEI"
    )
    return out
