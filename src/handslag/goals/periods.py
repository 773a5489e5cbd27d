"""Measurement periods and the time axis used by trajectories and forecasts.

A period is written ``2024`` (a year), ``2024-Q3`` (a quarter), ``2024-H1`` (a half year),
``2024-06`` (a month) or ``2024-06-30`` (a day). Every period is placed on a continuous time axis
at its **end**: the number ``Y`` stands for 31 December of year ``Y``, so the annual period
``2024`` is at ``2024.0``, ``2024-Q2`` (ends 30 June) at ``2023.497…`` and ``2025-Q1`` at
``2024.247…``. Baseline and target years of a goal are on the same axis (end of the year), which
matches register statistics measured on 31 December or over a calendar year.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_HALF = re.compile(r"^(\d{4})-?H([12])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    label: str  # normalised text, e.g. "2024-Q3"
    kind: str  # year, half, quarter, month, day
    start: date
    end: date

    @property
    def t(self) -> float:
        return time_of(self.end)


def time_of(day: date) -> float:
    """Position of a day on the time axis (31 Dec of Y → Y.0)."""
    days = 366 if calendar.isleap(day.year) else 365
    return day.year - 1 + day.timetuple().tm_yday / days


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_period(text: str | int) -> Period:
    """Parse a period label; raises ``ValueError`` with a readable reason."""
    raw = str(text).strip()
    if isinstance(text, float) and float(text).is_integer():  # Excel gives 2024.0
        raw = str(int(text))
    if m := _YEAR.match(raw):
        y = int(m[1])
        return Period(str(y), "year", date(y, 1, 1), date(y, 12, 31))
    if m := _QUARTER.match(raw):
        y, q = int(m[1]), int(m[2])
        return Period(f"{y}-Q{q}", "quarter", date(y, 3 * q - 2, 1), _month_end(y, 3 * q))
    if m := _HALF.match(raw):
        y, h = int(m[1]), int(m[2])
        return Period(f"{y}-H{h}", "half", date(y, 6 * h - 5, 1), _month_end(y, 6 * h))
    if m := _MONTH.match(raw):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise ValueError(f"month {mo} out of range in period {raw!r}")
        return Period(f"{y}-{mo:02d}", "month", date(y, mo, 1), _month_end(y, mo))
    if m := _DAY.match(raw):
        try:
            d = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            raise ValueError(f"invalid date {raw!r}: {exc}") from None
        return Period(d.isoformat(), "day", d, d)
    raise ValueError(f"period {raw!r} is not a year (2024), quarter (2024-Q3), half year (2024-H1), "
                     "month (2024-06) or date (2024-06-30)")
