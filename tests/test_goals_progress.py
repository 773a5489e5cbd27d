"""Trajectories, the status rule, forecasts, periods and the approval workflow (pure, hand-computed)."""

from __future__ import annotations

import math

import pytest

from handslag.goals.periods import parse_period, time_of
from handslag.goals.progress import GoalSpec, StatusRule, assess, evaluate, expected_value, forecast
from handslag.goals.vocab import Status
from handslag.goals.workflow import WorkflowError, check_editable, transition

JOBS = GoalSpec(baseline_value=0, baseline_year=2022, target_value=1000, target_year=2025)


# ---- periods ---------------------------------------------------------------------------------------------

def test_periods_sit_at_their_end_on_the_time_axis():
    assert parse_period("2024").t == 2024.0
    assert parse_period(2024).label == "2024"
    assert parse_period(2024.0).label == "2024"
    q2 = parse_period("2024-q2")
    assert (q2.label, q2.start.isoformat(), q2.end.isoformat()) == ("2024-Q2", "2024-04-01", "2024-06-30")
    assert q2.t == pytest.approx(2023 + 182 / 366)  # 2024 is a leap year; 30 June is day 182
    assert parse_period("2025-Q1").t == pytest.approx(2024 + 90 / 365)
    assert parse_period("2024-H1").end.isoformat() == "2024-06-30"
    assert parse_period("2024-02").end.isoformat() == "2024-02-29"
    assert parse_period("2023-12-31").t == 2023.0
    assert time_of(parse_period("2024-12-31").end) == 2024.0


@pytest.mark.parametrize("bad", ["24", "2024-13", "2024-Q5", "2024-02-30", "spring", ""])
def test_bad_periods_are_rejected_with_a_reason(bad):
    with pytest.raises(ValueError):
        parse_period(bad)


# ---- trajectories ----------------------------------------------------------------------------------------

def test_linear_trajectory():
    assert expected_value(JOBS, 2022) == 0
    assert expected_value(JOBS, 2023.5) == pytest.approx(500)
    assert expected_value(JOBS, 2024) == pytest.approx(2000 / 3)
    assert expected_value(JOBS, 2020) == 0  # flat before the baseline
    assert expected_value(JOBS, 2030) == 1000  # and after the target


@pytest.mark.parametrize(("shape", "value"), [("front_loaded", 750), ("back_loaded", 250), ("s_curve", 500),
                                              ("linear", 500)])
def test_trajectory_shapes_at_half_time(shape, value):
    spec = GoalSpec(0, 2022, 1000, 2024, shape=shape)
    assert expected_value(spec, 2023) == pytest.approx(value)


def test_custom_trajectory_interpolates_between_points():
    spec = GoalSpec(0, 2022, 1000, 2025, shape="custom", points=((2023, 100), (2024, 400)))
    assert expected_value(spec, 2022.5) == pytest.approx(50)
    assert expected_value(spec, 2023.5) == pytest.approx(250)
    assert expected_value(spec, 2024.5) == pytest.approx(700)


def test_goal_spec_rejects_inconsistent_goals():
    with pytest.raises(ValueError, match="after the baseline"):
        GoalSpec(0, 2025, 10, 2025)
    with pytest.raises(ValueError, match="direction"):
        GoalSpec(10, 2020, 5, 2025, direction="increase")
    with pytest.raises(ValueError, match="differ"):
        GoalSpec(5, 2020, 5, 2025)
    with pytest.raises(ValueError, match="between"):
        GoalSpec(0, 2022, 10, 2025, shape="custom", points=((2026, 5),))


# ---- status rule -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("actual", "status"), [
    (700, Status.on_track),  # ahead of the path
    (640, Status.on_track),  # shortfall 2/3 − 0.64 = 0.0267
    (2000 / 3 - 100, Status.on_track),  # shortfall exactly 0.10
    (560, Status.at_risk),  # shortfall 0.1067
    (2000 / 3 - 250, Status.at_risk),  # shortfall exactly 0.25
    (400, Status.off_track),  # shortfall 0.2667
])
def test_status_rule_thresholds(actual, status):
    a = assess(JOBS, 2024.0, actual)
    assert a.expected == pytest.approx(2000 / 3)
    assert a.status == status
    assert a.shortfall == pytest.approx(2 / 3 - actual / 1000)


def test_status_rule_for_a_decreasing_goal():
    # e.g. unemployment 20 % → 10 % by 2030; expected 15 in 2025
    spec = GoalSpec(20, 2020, 10, 2030, direction="decrease")
    assert assess(spec, 2025, 16).status == Status.on_track  # achieved 0.4 of expected 0.5
    assert assess(spec, 2025, 17).status == Status.at_risk  # achieved 0.3: shortfall 0.2
    assert assess(spec, 2025, 18).status == Status.off_track  # achieved 0.2: shortfall 0.3
    assert assess(spec, 2025, 14).status == Status.on_track  # ahead


def test_after_the_deadline_an_unreached_goal_is_never_on_track():
    late = assess(JOBS, 2026, 950)
    assert late.shortfall == pytest.approx(0.05)
    assert late.status == Status.at_risk and not late.target_reached
    assert assess(JOBS, 2026, 1000).status == Status.on_track
    assert assess(JOBS, 2026, 1000).target_reached
    assert assess(JOBS, 2026, 600).status == Status.off_track


def test_custom_thresholds():
    rule = StatusRule(on_track=0.0, at_risk=0.05)
    assert assess(JOBS, 2024, 640, rule).status == Status.at_risk
    with pytest.raises(ValueError):
        StatusRule(on_track=0.3, at_risk=0.2)


# ---- forecast --------------------------------------------------------------------------------------------

def test_forecast_on_an_exact_line_has_a_zero_width_interval():
    fc = forecast(JOBS, [(2023, 300), (2024, 600)])  # with the baseline (2022, 0): slope 300 a year
    assert fc.n_points == 3
    assert fc.slope_per_year == pytest.approx(300)
    assert fc.value == pytest.approx(900)
    assert fc.lower == pytest.approx(900) and fc.upper == pytest.approx(900)
    assert fc.reaches_target == "unlikely"


def test_forecast_prediction_interval_hand_computed():
    # points (2022, 0), (2023, 400), (2024, 600): x̄ = 2023, Sxx = 2, slope = 300, ŷ(2025) = 333.33 + 600
    # residuals −33.33, 66.67, −33.33 → SSE = 6666.67, s = 81.650; t(0.90; 1 df) = 3.077684
    # half width = 3.077684 · 81.650 · √(1 + 1/3 + 4/2) = 458.79
    fc = forecast(JOBS, [(2023, 400), (2024, 600)], level=0.8)
    assert fc.value == pytest.approx(933.3333, abs=1e-3)
    half = 3.0776835 * math.sqrt(6666.6667) * math.sqrt(1 + 1 / 3 + 2)
    assert half == pytest.approx(458.79, abs=0.01)
    assert fc.lower == pytest.approx(933.3333 - half, abs=1e-3)
    assert fc.upper == pytest.approx(933.3333 + half, abs=1e-3)
    assert fc.reaches_target == "possible"


def test_forecast_with_too_few_points():
    two = forecast(JOBS, [(2024, 800)])
    assert two.n_points == 2 and two.lower is None and two.value == pytest.approx(1200)
    assert two.reaches_target == "likely"
    assert forecast(JOBS, []).reaches_target == "unknown"


def test_evaluate_orders_measurements_and_keeps_the_last_per_period():
    p = evaluate(JOBS, [("2024", 500), ("2023", 310), ("2024", 640)])
    assert [r["period"] for r in p.rows] == ["2023", "2024"]
    assert p.rows[-1]["actual"] == 640
    assert p.status == Status.on_track
    assert p.as_dict()["trajectory"][0] == {"t": 2022, "expected": 0}
    assert evaluate(JOBS, []).status == Status.no_data


# ---- workflow --------------------------------------------------------------------------------------------

def test_workflow_transitions():
    assert transition("draft", "submit", actor="anna", entered_by="anna").after == "submitted"
    assert transition("submitted", "approve", actor="bo", entered_by="anna").after == "approved"
    assert transition("submitted", "reject", actor="bo", entered_by="anna", reason="fel år").after == "rejected"
    assert transition("rejected", "reopen", actor="anna", entered_by="anna").after == "draft"
    assert transition("submitted", "withdraw", actor="anna", entered_by="anna").after == "draft"


@pytest.mark.parametrize(("state", "action", "kwargs", "match"), [
    ("draft", "approve", {}, "must be submitted"),
    ("approved", "submit", {}, "must be draft"),
    ("submitted", "approve", {"actor": "anna"}, "four-eyes"),
    ("submitted", "reject", {"reason": "  "}, "reason"),
    ("draft", "publish", {}, "unknown action"),
])
def test_workflow_refusals(state, action, kwargs, match):
    args = {"actor": "bo", "entered_by": "anna", **kwargs}
    with pytest.raises(WorkflowError, match=match):
        transition(state, action, **args)


def test_four_eyes_rule_waits_for_known_users_and_approved_is_final():
    assert transition("submitted", "approve", actor="anonymous", entered_by="anonymous").after == "approved"
    check_editable("draft")
    check_editable("rejected")
    with pytest.raises(WorkflowError):
        check_editable("approved")
    with pytest.raises(WorkflowError):
        check_editable("submitted")
