"""Partnerships (handslag), goals, gap to parity, trajectories, status and forecasts.

The functions here are pure (no database, no web): analysts can call them in a notebook.

>>> from handslag.goals import RateInput, gap_to_parity
>>> area = RateInput("Område", rate=60.0, year=2024, source="SCB", denominator=1000)
>>> city = RateInput("Staden", rate=75.0, year=2024, source="SCB")
>>> gap_to_parity(area, city, indicator="employment_20_64").persons_rounded
150

See ``docs/goals.md`` for the model, the formulas and the status rule.
"""

from .gap import (
    AreaValue,
    GapResult,
    Projection,
    RateInput,
    Reference,
    aggregate,
    gap_to_parity,
    parse_reference,
    rest_of_reference,
)
from .periods import Period, parse_period
from .progress import Assessment, Forecast, GoalSpec, Progress, StatusRule, assess, evaluate, expected_value, forecast
from .vocab import Status
from .workflow import WorkflowError, transition

__all__ = [
    "AreaValue", "Assessment", "Forecast", "GapResult", "GoalSpec", "Period", "Progress", "Projection", "RateInput",
    "Reference", "Status", "StatusRule", "WorkflowError", "aggregate", "assess", "evaluate", "expected_value",
    "forecast", "gap_to_parity", "parse_period", "parse_reference", "rest_of_reference", "transition",
]
