"""Small-count suppression for anything shown (API, pages, reports).

Register counts of persons below ``min_count`` (default 5, configurable with
``HANDSLAG_SUPPRESS_BELOW``) are not shown, and neither is a rate whose numerator or denominator is
such a count. The stored value is untouched; only what leaves the system is suppressed.
"""

from __future__ import annotations

import math

PERSON_UNITS = {"persons", "households"}


def should_suppress(*, unit: str | None, value: float | None, numerator: float | None = None,
                    denominator: float | None = None, min_count: int = 5) -> bool:
    def small(x: float | None) -> bool:
        return x is not None and not (isinstance(x, float) and math.isnan(x)) and 0 < x < min_count

    if unit in PERSON_UNITS and small(value):
        return True
    return small(numerator) or small(denominator)
