"""Indicator catalogue and computation of indicators from counts."""

from .catalogue import Indicator, catalogue, get_indicator, rate_from_counts

__all__ = ["Indicator", "catalogue", "get_indicator", "rate_from_counts"]
