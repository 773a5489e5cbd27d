"""Survey indices and intervals, checked against hand computations and published values.

Reference values: Wilson intervals from Newcombe (1998a, Statistics in Medicine 17:857, table I) and the
hybrid score interval for a difference from Newcombe (1998b, Statistics in Medicine 17:873, table II).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from handslag.surveys import (
    WaveInput,
    aggregated_results,
    apply_suppression,
    check_min_group_size,
    compare_waves,
    compute_results,
    instrument_from_records,
    kish_effective_n,
    newcombe_interval,
    poststratification_weights,
    wilson_interval,
)
from handslag.surveys.instrument import Question
from handslag.surveys.stats import bootstrap_counts, mover_interval, percentile_interval, stable_rng

Z = 1.959963984540054


def hand_wilson(x: float, n: float) -> tuple[float, float]:
    p = x / n
    denom = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denom
    half = Z / denom * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


# --- Wilson, Newcombe, Kish ------------------------------------------------------------------------------

@pytest.mark.parametrize(("x", "n", "low", "high"), [
    (81, 263, 0.2553, 0.3662),  # Newcombe 1998a, example (a)
    (15, 148, 0.0624, 0.1605),  # example (b)
    (0, 20, 0.0, 0.1611),  # example (c)
    (1, 29, 0.0061, 0.1718),  # example (d)
    (8, 10, 0.4902, 0.9433),
])
def test_wilson_matches_published_values(x, n, low, high):
    lo, hi = wilson_interval(x / n, n)
    assert float(lo) == pytest.approx(low, abs=5e-5)
    assert float(hi) == pytest.approx(high, abs=5e-5)


def test_wilson_matches_the_formula_by_hand():
    # 8 of 10: p = .8, z² = 3.841459; centre = (.8 + .192073) / 1.384146 = .716740;
    # half = 1.959964 / 1.384146 · sqrt(.016 + .009604) = 1.416009 · .160011 = .226578
    lo, hi = wilson_interval(0.8, 10)
    assert float(lo) == pytest.approx(0.716740 - 0.226578, abs=2e-6)
    assert float(hi) == pytest.approx(0.716740 + 0.226578, abs=2e-6)
    assert (float(lo), float(hi)) == pytest.approx(hand_wilson(8, 10), abs=1e-12)


def test_wilson_edge_cases():
    assert [float(v) for v in wilson_interval(1.0, 10)] == pytest.approx([0.7225, 1.0], abs=5e-5)
    lo, hi = wilson_interval(0.5, 0)
    assert np.isnan(lo) and np.isnan(hi)


@pytest.mark.parametrize(("a", "m", "b", "n", "low", "high"), [
    (56, 70, 48, 80, 0.0524, 0.3339),  # Newcombe 1998b, example (a)
    (9, 10, 3, 10, 0.1705, 0.8090),  # (c)
    (6, 7, 2, 7, 0.0582, 0.8062),  # (d)
    (5, 56, 0, 29, -0.0381, 0.1926),  # (e)
])
def test_newcombe_difference_matches_published_values(a, m, b, n, low, high):
    diff, lo, hi = newcombe_interval(a / m, m, b / n, n)
    assert float(diff) == pytest.approx(a / m - b / n)
    assert float(lo) == pytest.approx(low, abs=5e-5)
    assert float(hi) == pytest.approx(high, abs=5e-5)


def test_mover_with_wilson_limits_is_newcombe():
    l1, u1 = hand_wilson(56, 70)
    l2, u2 = hand_wilson(48, 80)
    d, lo, hi = mover_interval(0.8, l1, u1, 0.6, l2, u2)
    assert float(lo) == pytest.approx(0.2 - math.sqrt((0.8 - l1) ** 2 + (u2 - 0.6) ** 2))
    assert float(hi) == pytest.approx(0.2 + math.sqrt((u1 - 0.8) ** 2 + (0.6 - l2) ** 2))


def test_statsmodels_cross_check_when_installed():
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    lo, hi = proportion.proportion_confint(81, 263, method="wilson")
    ours = wilson_interval(81 / 263, 263)
    assert float(ours[0]) == pytest.approx(lo, abs=1e-12)
    assert float(ours[1]) == pytest.approx(hi, abs=1e-12)


def test_kish_effective_n():
    assert kish_effective_n(np.ones(7)) == pytest.approx(7)
    assert kish_effective_n(np.array([1.0, 1.0, 2.0])) == pytest.approx(16 / 6)


def test_bootstrap_counts_draw_n_units_per_replicate():
    counts = bootstrap_counts(stable_rng(1, "x"), 50, 200)
    assert counts.shape == (200, 50)
    assert (counts.sum(axis=1) == 50).all()
    again = bootstrap_counts(stable_rng(1, "x"), 50, 200)
    assert (counts == again).all()


def test_percentile_interval():
    lo, hi = percentile_interval(np.arange(1001, dtype=float), 0.95)
    assert (float(lo), float(hi)) == pytest.approx((25.0, 975.0))


# --- instruments ------------------------------------------------------------------------------------------

def test_default_positive_codes_and_rescaling():
    assert Question("a", scale_min=1, scale_max=4).positive_codes() == (3, 4)
    assert Question("a", scale_min=1, scale_max=5).positive_codes() == (4, 5)
    assert Question("a", scale_min=1, scale_max=4, direction=-1).positive_codes() == (1, 2)
    assert Question("a", scale_min=1, scale_max=5, direction=-1).positive_codes() == (1, 2)
    # SKR: 1→0, 2→25, 3→50, 4→75, 5→100
    assert Question("a").rescale(np.array([1, 2, 3, 4, 5])).tolist() == [0, 25, 50, 75, 100]
    # four-step scale: 100 / 66.7 / 33.3 / 0, reversed
    assert Question("a", scale_min=1, scale_max=4, direction=-1).rescale(np.array([1, 2, 3, 4])) == \
        pytest.approx([100, 200 / 3, 100 / 3, 0])
    # SCB NKI on 1–10: mean 7.5 → (7.5 − 1) × 100 / 9 = 72.2
    assert Question("a", scale_min=1, scale_max=10).rescale(np.array([7.5]))[0] == pytest.approx(72.2222, abs=1e-4)


@pytest.mark.parametrize(("record", "message"), [
    ({"question_id": "q", "scale_min": 1, "scale_max": 5, "dont_know": "3"}, "inside the scale"),
    ({"question_id": "q", "scale_min": 5, "scale_max": 1}, "below scale_max"),
    ({"question_id": "q", "positive": "7"}, "outside the scale"),
    ({"question_id": "q", "direction": "sideways"}, "direction"),
    ({"question_id": "bad id!"}, "letters"),
])
def test_bad_question_definitions_are_reported(record, message):
    from handslag.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        instrument_from_records("x", [record])
    assert message in info.value.problems[0].reason
    assert info.value.problems[0].row == 2


def test_instrument_indices_and_column_matching():
    inst = instrument_from_records("x", [
        {"question_id": "Q1[SQ001]", "index": "trygghet|service"},
        {"question_id": "q2", "index": "trygghet", "type": "scale"},
        {"question_id": "fritext", "type": "text"},
    ])
    assert inst.indices == {"trygghet": ("Q1[SQ001]", "q2"), "service": ("Q1[SQ001]",)}
    assert inst.match_column("Q1_SQ001") == "Q1[SQ001]"
    assert inst.match_column("grupp_a/Q2") == "q2"
    assert inst.match_column("other") is None


# --- results from respondents ----------------------------------------------------------------------------

INSTRUMENT = instrument_from_records("trygghet", [
    {"question_id": "q1", "scale_min": 1, "scale_max": 4, "index": "trygg", "dont_know": "9"},
    {"question_id": "q2", "scale_min": 1, "scale_max": 4, "index": "trygg", "direction": "down"},
    {"question_id": "q3", "scale_min": 1, "scale_max": 5},
])


def make(answers: dict[str, list], areas: list[str] | None = None, weights: list[float] | None = None):
    n = len(next(iter(answers.values())))
    respondents = pd.DataFrame({"respondent": range(n), "area_code": areas or ["A"] * n})
    if weights is not None:
        respondents["weight"] = weights
    rows = [(r, q, v) for q, values in answers.items() for r, v in enumerate(values) if v is not None]
    return respondents, pd.DataFrame(rows, columns=["respondent", "question_id", "value"])


def pick(frame: pd.DataFrame, item: str, method: str, **where) -> pd.Series:
    sel = (frame["item"] == item) & (frame["method"] == method)
    for k, v in where.items():
        sel &= frame[k] == v
    assert sel.sum() == 1, frame[sel]
    return frame[sel].iloc[0]


def test_share_positive_linear_mean_and_index_by_hand():
    # 12 respondents. q1 (1–4, up): positive = 3, 4; q2 (1–4, down): positive = 1, 2; q3 (1–5): positive 4, 5.
    q1 = [4, 4, 3, 3, 3, 2, 2, 1, 4, 3, 9, None]  # valid 10 (9 = don't know, one blank); positive 7
    q2 = [1, 1, 2, 2, 3, 4, 4, 4, 1, 2, 3, 3]  # valid 12; positive 6
    q3 = [5, 5, 4, 3, 3, 3, 2, 1, 1, 5, 4, 2]  # valid 12; positive 5
    res = compute_results(*make({"q1": q1, "q2": q2, "q3": q3}), INSTRUMENT, n_boot=500)
    r1 = pick(res, "q1", "share_positive")
    assert (r1["n"], r1["n_positive"], r1["n_dont_know"]) == (10, 7, 1)
    assert r1["value"] == pytest.approx(70.0)
    lo, hi = hand_wilson(7, 10)
    assert (r1["ci_low"], r1["ci_high"]) == pytest.approx((100 * lo, 100 * hi))
    assert r1["ci_method"] == "wilson" and not r1["suppressed"]
    assert pick(res, "q2", "share_positive")["value"] == pytest.approx(50.0)
    assert pick(res, "q3", "share_positive")["value"] == pytest.approx(100 * 5 / 12)
    # linear: q1 valid answers 4,4,3,3,3,2,2,1,4,3 → (x−1)/3·100 → mean 200/3 · ... by hand:
    q1_valid = [4, 4, 3, 3, 3, 2, 2, 1, 4, 3]
    assert pick(res, "q1", "linear_mean")["value"] == pytest.approx(np.mean([(x - 1) / 3 * 100 for x in q1_valid]))
    # q2 is reversed: (4 − x)/3·100
    q2_lin = np.mean([(4 - x) / 3 * 100 for x in q2])
    assert pick(res, "q2", "linear_mean")["value"] == pytest.approx(q2_lin)
    assert pick(res, "q3", "linear_mean")["value"] == pytest.approx(np.mean([(x - 1) / 4 * 100 for x in q3]))
    # index "trygg" = mean of its items (q1, q2); n = respondents with any valid item = 12
    idx = pick(res, "trygg", "share_positive")
    assert idx["value"] == pytest.approx((70.0 + 50.0) / 2)
    assert idx["n"] == 12 and idx["ci_method"] == "bootstrap"
    assert idx["ci_low"] < idx["value"] < idx["ci_high"]
    lin = pick(res, "trygg", "linear_mean")
    assert lin["value"] == pytest.approx((np.mean([(x - 1) / 3 * 100 for x in q1_valid]) + q2_lin) / 2)


def test_one_question_index_uses_wilson():
    inst = instrument_from_records("x", [{"question_id": "q", "scale_min": 1, "scale_max": 4, "index": "solo"}])
    res = compute_results(*make({"q": [4] * 8 + [1] * 4}), inst, n_boot=200)
    row = pick(res, "solo", "share_positive")
    assert row["ci_method"] == "wilson"
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(100 * v for v in hand_wilson(8, 12)))


def test_weighted_share_uses_kish_effective_n():
    # 10 respondents, weights 2 for the first five (all positive) and 1 for the rest (all negative)
    weights = [2.0] * 5 + [1.0] * 5
    res = compute_results(*make({"q1": [4] * 5 + [1] * 5, "q2": [1] * 10, "q3": [3] * 10}, weights=weights),
                          INSTRUMENT, methods=["share_positive"], n_boot=200)
    row = pick(res, "q1", "share_positive")
    assert row["value"] == pytest.approx(100 * 10 / 15)
    n_eff = 15 ** 2 / (5 * 4 + 5 * 1)  # (Σw)² / Σw² = 225 / 25 = 9
    assert row["n_effective"] == pytest.approx(n_eff)
    lo, hi = wilson_interval(10 / 15, n_eff)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((100 * float(lo), 100 * float(hi)))
    assert row["weighted"]


def test_poststratification_weights_by_hand():
    respondents = pd.DataFrame({"area_code": ["A", "A", "A", "A", "B", "B"], "sex": ["f", "f", "f", "m", "f", "m"],
                                "age_group": ["all"] * 6})
    population = pd.DataFrame({"area_code": ["A", "A", "B", "B", "B"], "sex": ["f", "m", "f", "m", "x"],
                               "age_group": ["all"] * 5, "population": [50, 50, 300, 100, 40]})
    w = poststratification_weights(respondents, population)
    # A: women share .5 in the population but .75 among respondents → .5/.75; men .5/.25
    # B: cell x has no respondents and is left out of the base: women 300/400 / (1/2), men 100/400 / (1/2)
    assert w.tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2.0, 1.5, 0.5])
    assert w[:4].sum() == pytest.approx(4)


def test_poststratification_reports_cells_without_population():
    from handslag.errors import ValidationFailed

    respondents = pd.DataFrame({"area_code": ["A", "A"], "sex": ["f", None], "age_group": ["a", "a"], "row": [2, 3]})
    population = pd.DataFrame({"area_code": ["A"], "sex": ["m"], "age_group": ["a"], "population": [10]})
    with pytest.raises(ValidationFailed) as info:
        poststratification_weights(respondents, population)
    reasons = [p.reason for p in info.value.problems]
    assert any("no population given" in r for r in reasons)
    assert any(p.row == 3 and "blank" in p.reason for p in info.value.problems)


def test_bootstrap_mean_interval_is_reproducible_and_sensible():
    rng = np.random.default_rng(3)
    values = rng.integers(1, 6, 400)
    args = make({"q1": [1] * 400, "q2": [1] * 400, "q3": values.tolist()})
    first = compute_results(*args, INSTRUMENT, methods=["linear_mean"], n_boot=2000, seed=7)
    second = compute_results(*args, INSTRUMENT, methods=["linear_mean"], n_boot=2000, seed=7)
    pd.testing.assert_frame_equal(first, second)
    row = pick(first, "q3", "linear_mean")
    scaled = (values - 1) / 4 * 100
    se = scaled.std(ddof=1) / math.sqrt(400)
    assert row["value"] == pytest.approx(scaled.mean())
    assert row["ci_low"] == pytest.approx(scaled.mean() - Z * se, abs=0.35 * se + 0.3)
    assert row["ci_high"] == pytest.approx(scaled.mean() + Z * se, abs=0.35 * se + 0.3)
    constant = pick(first, "q1", "linear_mean")
    assert constant["ci_low"] == constant["ci_high"] == constant["value"] == 0.0


def test_vectorised_bootstrap_equals_a_naive_loop():
    from handslag.surveys.indices import _bootstrap

    rng_values = np.random.default_rng(5)
    M = (rng_values.random((30, 3)) > 0.2).astype(float)
    X = np.where(M > 0, rng_values.integers(0, 2, (30, 3)), 0).astype(float)
    w = rng_values.uniform(0.5, 2, 30)
    (fast,) = _bootstrap(stable_rng(11, "g"), w, [X], M, 40)
    counts = bootstrap_counts(stable_rng(11, "g"), 30, 40)
    for b in range(40):
        cw = counts[b] * w
        for j in range(3):
            assert fast[b, j] == pytest.approx((cw * X[:, j]).sum() / (cw * M[:, j]).sum())


# --- suppression ------------------------------------------------------------------------------------------

def test_groups_below_ten_are_suppressed_everywhere():
    areas = ["A"] * 10 + ["B"] * 9
    res = compute_results(*make({"q1": [4] * 19, "q2": [1] * 19, "q3": [5] * 19}, areas=areas), INSTRUMENT,
                          n_boot=100)
    shown, hidden = res[res["area_code"] == "A"], res[res["area_code"] == "B"]
    assert not shown["suppressed"].any() and (shown["n"] == 10).all()
    assert hidden["suppressed"].all()
    for col in ("n", "n_effective", "n_positive", "n_dont_know", "value", "ci_low", "ci_high"):
        assert hidden[col].isna().all(), col
    # a threshold of 5 shows B; 4 is refused
    low = compute_results(*make({"q1": [4] * 19, "q2": [1] * 19, "q3": [5] * 19}, areas=areas), INSTRUMENT,
                          n_boot=100, min_group_size=5)
    assert not low["suppressed"].any()
    with pytest.raises(ValueError, match="floor of 5"):
        compute_results(*make({"q1": [4] * 19, "q2": [1] * 19, "q3": [5] * 19}), INSTRUMENT, min_group_size=4)
    with pytest.raises(ValueError):
        check_min_group_size(3)


def test_question_with_few_valid_answers_is_suppressed_even_in_a_large_group():
    q1 = [4] * 8 + [9] * 12  # 8 valid, 12 don't know
    res = compute_results(*make({"q1": q1, "q2": [1] * 20, "q3": [5] * 20}), INSTRUMENT, n_boot=100)
    assert pick(res, "q1", "share_positive")["suppressed"]
    assert not pick(res, "q2", "share_positive")["suppressed"]


def test_secondary_suppression_in_breakdowns():
    frame = pd.DataFrame({"area_code": ["A", "A", "A"], "sex": ["f", "m", "x"], "item_type": "question",
                          "item": "q1", "method": "share_positive", "n": [40, 12, 7], "value": [50.0, 60.0, 70.0]})
    out = apply_suppression(frame, by=["area_code", "sex"])
    # x (7) is suppressed; m (12), the smallest shown, is suppressed too so x cannot be recovered
    assert out["suppressed"].tolist() == [False, True, True]
    assert out["value"].isna().tolist() == [False, True, True]


# --- aggregated input, differences between waves ---------------------------------------------------------

def test_aggregated_results_wilson_and_conservative_index():
    agg = pd.DataFrame({"area_code": ["A", "A", "A", "B"], "question_id": ["q1", "q2", "q3", "q1"],
                        "share_positive": [80.0, 60.0, 50.0, 90.0], "n": [10, 80, 30, 8]})
    res = aggregated_results(agg, INSTRUMENT)
    q1 = pick(res, "q1", "share_positive", area_code="A")
    assert (q1["ci_low"], q1["ci_high"]) == pytest.approx(tuple(100 * v for v in hand_wilson(8, 10)))
    idx = pick(res, "trygg", "share_positive", area_code="A")
    assert idx["value"] == pytest.approx(70.0)
    assert idx["n"] == 10 and idx["ci_method"] == "wilson_min_n"
    lo, hi = wilson_interval(0.7, 10)
    assert (idx["ci_low"], idx["ci_high"]) == pytest.approx((100 * float(lo), 100 * float(hi)))
    assert pick(res, "q1", "share_positive", area_code="B")["suppressed"]
    assert set(res["method"]) == {"share_positive"}


def test_difference_between_waves_uses_newcombe_for_question_shares():
    # wave A: 48 of 80 positive on q3; wave B: 56 of 70 → Newcombe 1998b example (a): 5.24 to 33.39 points
    a = make({"q1": [4] * 80, "q2": [1] * 80, "q3": [5] * 48 + [1] * 32})
    b = make({"q1": [4] * 70, "q2": [1] * 70, "q3": [5] * 56 + [1] * 14})
    diff = compare_waves(WaveInput(INSTRUMENT, *a), WaveInput(INSTRUMENT, *b), n_boot=300)
    row = pick(diff, "q3", "share_positive")
    assert row["difference"] == pytest.approx(20.0)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((5.2431, 33.3873), abs=1e-3)
    assert row["ci_method"] == "newcombe" and (row["n_a"], row["n_b"]) == (80, 70)
    mean_row = pick(diff, "q3", "linear_mean")
    assert mean_row["ci_method"] == "bootstrap"
    true = np.mean([100] * 56 + [0] * 14) - np.mean([100] * 48 + [0] * 32)
    assert mean_row["difference"] == pytest.approx(true)
    assert mean_row["ci_low"] < true < mean_row["ci_high"]
    idx = pick(diff, "trygg", "share_positive")
    assert idx["difference"] == pytest.approx(0.0) and idx["ci_method"] == "bootstrap"


def test_difference_is_suppressed_when_either_wave_is_small_and_mover_for_aggregates():
    small = make({"q1": [4] * 6, "q2": [1] * 6, "q3": [5] * 6})
    big = make({"q1": [4] * 30, "q2": [1] * 30, "q3": [5] * 20 + [1] * 10})
    diff = compare_waves(WaveInput(INSTRUMENT, *small), WaveInput(INSTRUMENT, *big), n_boot=100)
    assert diff["suppressed"].all() and diff["difference"].isna().all()
    agg = pd.DataFrame({"area_code": ["A"] * 3, "question_id": ["q1", "q2", "q3"],
                        "share_positive": [50.0, 50.0, 50.0], "n": [40, 40, 40]})
    mixed = compare_waves(WaveInput(INSTRUMENT, aggregated=agg), WaveInput(INSTRUMENT, *big), n_boot=100)
    q3 = pick(mixed, "q3", "share_positive")
    assert q3["ci_method"] == "newcombe"
    d, lo, hi = newcombe_interval(20 / 30, 30, 0.5, 40)
    assert (q3["ci_low"], q3["ci_high"]) == pytest.approx((100 * float(lo), 100 * float(hi)))
    assert pick(mixed, "trygg", "share_positive")["ci_method"] == "mover"
    assert set(mixed["method"]) == {"share_positive"}
