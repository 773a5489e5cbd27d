"""Expected trajectory, status and trend forecast of a goal (pure functions).

**Trajectory.** From ``(baseline_year, baseline_value)`` to ``(target_year, target_value)`` with
``s = (t − baseline_year) / (target_year − baseline_year)`` clipped to [0, 1] and
``expected(t) = baseline + f(s) · (target − baseline)`` where ``f`` is the shape: linear ``s``
(default), front-loaded ``1 − (1 − s)²``, back-loaded ``s²``, S-curve ``3s² − 2s³``, or *custom*:
linear interpolation between given ``(year, value)`` points (the baseline and target are added as
the end points). Times are on the axis of :mod:`handslag.goals.periods` (``Y`` = 31 Dec of ``Y``).

**Status rule** (documented in ``docs/goals.md``). With ``total = target − baseline``:

* ``achieved share = (actual − baseline) / total`` and ``expected share = (expected(t) − baseline) / total``
  (both direction-aware because ``total`` carries the sign);
* ``shortfall = expected share − achieved share``, the distance behind the path as a share of the whole
  planned change;
* **on track** when ``shortfall ≤ 0.10``, **at risk** when ``0.10 < shortfall ≤ 0.25``, **off track**
  when ``shortfall > 0.25`` (thresholds in :class:`StatusRule`);
* after the target year a goal that has not reached its target is never *on track* (at most *at risk*);
* no measurement → **no data**.

**Forecast.** An ordinary least-squares line through the baseline point and the approved
measurements (``value = a + b·t``), evaluated at the target year, with a prediction interval
``ŷ ± t_{n−2, (1+level)/2} · s · √(1 + 1/n + (t₀ − t̄)² / Sₜₜ)`` (default level 80 %). With two points
the line passes through both and there is no interval; with fewer there is no forecast. The
forecast says whether reaching the target is *likely* (the whole interval reaches it), *possible*
(only part of it does) or *unlikely* (none of it does).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

from .periods import parse_period
from .vocab import Direction, Status, TrajectoryShape


@dataclass(frozen=True)
class GoalSpec:
    """What progress needs to know about a goal."""

    baseline_value: float
    baseline_year: int
    target_value: float
    target_year: int
    direction: Direction | str = Direction.increase
    shape: TrajectoryShape | str = TrajectoryShape.linear
    points: tuple[tuple[float, float], ...] = ()  # (year, value) for the custom shape

    def __post_init__(self) -> None:
        if self.target_year <= self.baseline_year:
            raise ValueError("target year must be after the baseline year")
        if self.target_value == self.baseline_value:
            raise ValueError("target value must differ from the baseline value")
        direction = Direction(self.direction)
        if (direction == Direction.increase) != (self.target_value > self.baseline_value):
            raise ValueError(f"direction {direction.value!r} does not match baseline {self.baseline_value:g} "
                             f"→ target {self.target_value:g}")
        if TrajectoryShape(self.shape) == TrajectoryShape.custom and not self.points:
            raise ValueError("a custom trajectory needs at least one (year, value) point")
        for year, _ in self.points:
            if not self.baseline_year < year < self.target_year:
                raise ValueError(f"custom trajectory point {year} is not between the baseline and target years")


def _shape_fraction(s: float, shape: TrajectoryShape) -> float:
    if shape == TrajectoryShape.linear:
        return s
    if shape == TrajectoryShape.front_loaded:
        return 1 - (1 - s) ** 2
    if shape == TrajectoryShape.back_loaded:
        return s * s
    if shape == TrajectoryShape.s_curve:
        return 3 * s * s - 2 * s ** 3
    raise ValueError(f"unknown trajectory shape {shape!r}")


def expected_value(spec: GoalSpec, t: float) -> float:
    """The value the goal should have at time ``t`` (flat before the baseline and after the target)."""
    shape = TrajectoryShape(spec.shape)
    if shape == TrajectoryShape.custom:
        pts = sorted([(float(spec.baseline_year), spec.baseline_value), *spec.points,
                      (float(spec.target_year), spec.target_value)])
        xs, ys = zip(*pts, strict=True)
        return float(np.interp(t, xs, ys))
    s = min(max((t - spec.baseline_year) / (spec.target_year - spec.baseline_year), 0.0), 1.0)
    return spec.baseline_value + _shape_fraction(s, shape) * (spec.target_value - spec.baseline_value)


def trajectory(spec: GoalSpec, step: float = 0.25) -> list[tuple[float, float]]:
    """Points of the expected path from baseline to target (for charts)."""
    n = max(1, round((spec.target_year - spec.baseline_year) / step))
    ts = [spec.baseline_year + i * (spec.target_year - spec.baseline_year) / n for i in range(n + 1)]
    return [(round(t, 4), expected_value(spec, t)) for t in ts]


@dataclass(frozen=True)
class StatusRule:
    on_track: float = 0.10  # largest shortfall (share of the planned change) still on track
    at_risk: float = 0.25  # largest shortfall still at risk

    def __post_init__(self) -> None:
        if not 0 <= self.on_track <= self.at_risk:
            raise ValueError("thresholds must satisfy 0 ≤ on_track ≤ at_risk")


@dataclass(frozen=True)
class Assessment:
    t: float
    actual: float
    expected: float
    difference: float  # actual − expected
    achieved_share: float
    expected_share: float
    shortfall: float
    status: Status
    target_reached: bool


def assess(spec: GoalSpec, t: float, actual: float, rule: StatusRule | None = None) -> Assessment:
    """Compare one actual value with the expected path at time ``t`` and apply the status rule."""
    rule = rule or StatusRule()
    total = spec.target_value - spec.baseline_value
    exp = expected_value(spec, t)
    achieved = (actual - spec.baseline_value) / total
    expected_share = (exp - spec.baseline_value) / total
    shortfall = expected_share - achieved
    reached = achieved >= 1 - 1e-12
    if shortfall <= rule.on_track + 1e-12:
        status = Status.on_track
    elif shortfall <= rule.at_risk + 1e-12:
        status = Status.at_risk
    else:
        status = Status.off_track
    if t >= spec.target_year and not reached and status == Status.on_track:
        status = Status.at_risk
    return Assessment(t=t, actual=actual, expected=exp, difference=actual - exp, achieved_share=achieved,
                      expected_share=expected_share, shortfall=shortfall, status=status, target_reached=reached)


@dataclass(frozen=True)
class Forecast:
    method: str
    n_points: int
    at: float  # time of the forecast (the target year)
    value: float | None
    lower: float | None
    upper: float | None
    level: float
    slope_per_year: float | None
    reaches_target: str  # likely, possible, unlikely, unknown
    note: str = ""


def forecast(spec: GoalSpec, points: Iterable[tuple[float, float]], *, level: float = 0.8,
             at: float | None = None, include_baseline: bool = True) -> Forecast:
    """Linear trend forecast at the target year with a prediction interval (see module text)."""
    at = float(spec.target_year if at is None else at)
    pts = sorted({float(t): float(v) for t, v in points}.items())
    if include_baseline and all(abs(t - spec.baseline_year) > 1e-9 for t, _ in pts):
        pts = sorted([(float(spec.baseline_year), float(spec.baseline_value)), *pts])
    n = len(pts)
    if n < 2:
        return Forecast("linear_ols", n, at, None, None, None, level, None, "unknown",
                        "too few points for a trend (need at least two, baseline included)")
    x = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    xbar = x.mean()
    sxx = float(((x - xbar) ** 2).sum())
    slope = float(((x - xbar) * (y - y.mean())).sum() / sxx)
    intercept = float(y.mean() - slope * xbar)
    value = intercept + slope * at
    lower = upper = None
    note = ""
    if n >= 3:
        resid = y - (intercept + slope * x)
        s = math.sqrt(float((resid ** 2).sum()) / (n - 2))
        q = float(stats.t.ppf((1 + level) / 2, n - 2))
        half = q * s * math.sqrt(1 + 1 / n + (at - xbar) ** 2 / sxx)
        lower, upper = value - half, value + half
    else:
        note = "two points: line through both, no interval"
    increase = Direction(spec.direction) == Direction.increase

    def reaches(v: float) -> bool:
        return v >= spec.target_value if increase else v <= spec.target_value

    if lower is None:
        verdict = "likely" if reaches(value) else "unlikely"
    else:
        worst, best = (lower, upper) if increase else (upper, lower)
        verdict = "likely" if reaches(worst) else ("possible" if reaches(best) else "unlikely")
    return Forecast("linear_ols", n, at, value, lower, upper, level, slope, verdict, note)


@dataclass
class Progress:
    spec: GoalSpec
    rows: list[dict] = field(default_factory=list)  # one per measurement, oldest first
    latest: Assessment | None = None
    status: Status = Status.no_data
    forecast: Forecast | None = None
    rule: StatusRule = field(default_factory=StatusRule)

    def as_dict(self) -> dict:
        return {
            "baseline": {"year": self.spec.baseline_year, "value": self.spec.baseline_value},
            "target": {"year": self.spec.target_year, "value": self.spec.target_value},
            "direction": str(Direction(self.spec.direction).value),
            "shape": str(TrajectoryShape(self.spec.shape).value),
            "status": self.status.value,
            "rule": asdict(self.rule),
            "latest": None if self.latest is None else {**asdict(self.latest), "status": self.latest.status.value},
            "measurements": self.rows,
            "trajectory": [{"t": t, "expected": v} for t, v in trajectory(self.spec)],
            "forecast": None if self.forecast is None else asdict(self.forecast),
        }


def evaluate(spec: GoalSpec, measurements: Sequence[tuple[str, float]], *, rule: StatusRule | None = None,
             level: float = 0.8) -> Progress:
    """Progress of a goal from ``(period, value)`` pairs (approved measurements).

    When several measurements share a period, the last one given wins.
    """
    rule = rule or StatusRule()
    by_t: dict[float, tuple[str, float]] = {}
    for period, value in measurements:
        p = parse_period(period)
        by_t[p.t] = (p.label, float(value))
    rows: list[dict] = []
    latest: Assessment | None = None
    for t in sorted(by_t):
        label, value = by_t[t]
        a = assess(spec, t, value, rule)
        rows.append({"period": label, "t": round(t, 4), "actual": value, "expected": a.expected,
                     "difference": a.difference, "achieved_share": a.achieved_share,
                     "expected_share": a.expected_share, "status": a.status.value})
        latest = a
    fc = forecast(spec, [(t, v) for t, (_, v) in by_t.items()], level=level)
    return Progress(spec=spec, rows=rows, latest=latest,
                    status=latest.status if latest else Status.no_data, forecast=fc, rule=rule)
