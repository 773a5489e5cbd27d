"""The indicator catalogue (``catalogue.csv``): every indicator the product shows, as data.

Columns: id, kind (count, rate, mean, median, index, type), unit, direction (higher_is_better,
lower_is_better, neutral), Swedish and English names, definition, population and age band,
numerator/denominator indicator ids (for rates computed from counts), SCB table and Kolada KPI ids,
and the divisions the indicator comes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Indicator:
    id: str
    kind: str
    unit: str
    direction: str
    name_sv: str
    name_en: str
    definition: str
    population: str
    age_band: str
    numerator: str | None
    denominator: str | None
    scb_table: str | None
    kolada_kpi: str | None
    divisions: tuple[str, ...]


@cache
def catalogue() -> pd.DataFrame:
    with files("handslag.indicators").joinpath("catalogue.csv").open(encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
    if frame["id"].duplicated().any():
        raise ValueError(f"duplicate indicator ids: {frame.loc[frame['id'].duplicated(), 'id'].tolist()}")
    return frame.set_index("id", drop=False)


def get_indicator(indicator_id: str) -> Indicator:
    row = catalogue().loc[indicator_id]
    return Indicator(
        id=row["id"], kind=row["kind"], unit=row["unit"], direction=row["direction"],
        name_sv=row["name_sv"], name_en=row["name_en"], definition=row["definition"],
        population=row["population"], age_band=row["age_band"],
        numerator=row["numerator"] or None, denominator=row["denominator"] or None,
        scb_table=row["scb_table"] or None, kolada_kpi=row["kolada_kpi"] or None,
        divisions=tuple(d for d in row["divisions"].split(";") if d),
    )


def known(indicator_id: str) -> bool:
    return indicator_id in catalogue().index


def rate_from_counts(numerator, denominator, *, scale: float = 100.0) -> np.ndarray:
    """``scale × numerator / denominator``; NaN where the denominator is zero or missing."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = scale * num / den
    out[~np.isfinite(out)] = np.nan
    return out
