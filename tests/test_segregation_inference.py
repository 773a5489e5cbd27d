"""Bootstrap CIs and permutation tests: margins, reproducibility, edge cases, real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from handslag.segregation import INDEX_NAMES, compute_indices, result_to_json, with_inference
from handslag.segregation._grouping import make_grouping
from handslag.segregation.inference import (
    evenness_draw,
    multinomial_within_areas,
    permutation_draw,
)
from test_segregation import BIRTH, REGSO_FILE, toy  # the same five toy municipalities and real-data file


def infer(frame: pd.DataFrame | None = None, **kw) -> pd.DataFrame:
    kw = {"n_boot": 99, "n_perm": 99, "seed": 1, **kw}
    return with_inference(
        toy() if frame is None else frame,
        "area",
        ["x", "y"],
        by="kommun",
        value="income",
        area_type="typ",
        low_income="q1",
        high_income="q5",
        **kw,
    ).set_index("kommun")


def random_counts(seed: int, n: int = 40, g: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    case = np.sort(rng.integers(0, 5, n))
    counts = rng.integers(0, 30, (n, g))
    counts[3] = 0  # an empty area
    starts = np.flatnonzero(np.r_[True, case[1:] != case[:-1]])
    case = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n]))
    return counts, case, starts


def test_permutation_keeps_area_and_group_totals() -> None:
    counts, case, starts = random_counts(0)
    draw = permutation_draw(counts, case, starts, 50, np.random.default_rng(0))
    assert draw.shape == (50, *counts.shape)
    assert (draw >= 0).all()
    np.testing.assert_array_equal(draw.sum(axis=2), np.broadcast_to(counts.sum(axis=1), (50, counts.shape[0])))
    gtot = np.add.reduceat(counts, starts, axis=0)
    np.testing.assert_array_equal(np.add.reduceat(draw, starts, axis=1), np.broadcast_to(gtot, (50, *gtot.shape)))
    assert (draw != counts).any()


def test_permutation_is_unbiased_for_area_composition() -> None:
    # E[x_ig] = t_i X_g / T under random reallocation of individuals
    counts, case, starts = random_counts(1, n=12, g=2)
    draw = permutation_draw(counts, case, starts, 4000, np.random.default_rng(2))
    t = counts.sum(axis=1)
    gtot = np.add.reduceat(counts, starts, axis=0)
    expected = t[:, None] * gtot[case] / gtot.sum(axis=1)[case][:, None]
    se = np.sqrt(expected + 1) / np.sqrt(4000)
    assert (np.abs(draw.mean(axis=0) - expected) < 5 * se).all()


def test_bootstrap_and_evenness_keep_area_totals() -> None:
    counts, case, starts = random_counts(3)
    boot = multinomial_within_areas(counts, 30, np.random.default_rng(0))
    np.testing.assert_array_equal(boot.sum(axis=2), np.broadcast_to(counts.sum(axis=1), (30, counts.shape[0])))
    assert (boot[:, counts[:, 0] == 0, 0] == 0).all()  # a group absent from an area stays absent
    even = evenness_draw(counts, case, starts, 30, np.random.default_rng(0))
    np.testing.assert_array_equal(even.sum(axis=2), np.broadcast_to(counts.sum(axis=1), (30, counts.shape[0])))


def test_values_equal_point_estimates_and_edge_cases() -> None:
    res = infer()
    point = compute_indices(
        toy(), "area", ["x", "y"], by="kommun", value="income", area_type="typ", low_income="q1", high_income="q5"
    ).set_index("kommun")
    for name in INDEX_NAMES:
        pd.testing.assert_series_equal(res[name], point[name])
    # complete separation: no permutation is as segregated → p = 1/(n_perm + 1)
    assert res.loc["A", "dissimilarity_p_value"] == pytest.approx(1 / 100)
    assert res.loc["A", "exposure_p_value"] == pytest.approx(1 / 100)  # exposure: lower tail
    assert res.loc["A", "dissimilarity_ci_low"] == 1.0 and res.loc["A", "dissimilarity_ci_high"] == 1.0
    # one area: every permutation equals the observed value → p = 1; D stays 0 in every bootstrap
    assert res.loc["C", "dissimilarity_p_value"] == 1.0
    assert res.loc["C", "theil_h_p_value"] == 1.0
    assert res.loc["C", "dissimilarity_ci_low"] == 0.0 and res.loc["C", "dissimilarity_ci_high"] == 0.0
    # undefined index → NaN value, CI and p (with a reason), nothing else leaks
    for name in ("dissimilarity", "isolation", "theil_h", "inequality_index_approx"):
        assert res.loc["D", [name, f"{name}_ci_low", f"{name}_ci_high", f"{name}_p_value"]].isna().all()
    assert res.loc["E", [c for c in res.columns if c.endswith("_p_value")]].isna().all()
    finite = [f"{n}{s}" for n in INDEX_NAMES[:6] + ("inequality_index_approx",) for s in ("", "_ci_low", "_ci_high")]
    assert np.isfinite(res.loc[["A", "B", "C"], finite].to_numpy(dtype=float)).all()
    # descriptive indices have no sampling model
    assert res[["gini_ci_low", "gini_p_value", "share_types_1_2_ci_high"]].isna().all().all()
    assert (res.loc[["A", "B", "C"], "dissimilarity_ci_low"] <= res.loc[["A", "B", "C"], "dissimilarity_ci_high"]).all()


def test_reproducible_and_independent_streams() -> None:
    a = infer(seed=5)
    pd.testing.assert_frame_equal(a, infer(seed=5))
    b = infer(seed=6)
    assert not a["dissimilarity_ci_low"].equals(b["dissimilarity_ci_low"])
    # changing n_boot does not change the null draws, and vice versa
    c = infer(seed=5, n_boot=17)
    pd.testing.assert_series_equal(a["theil_h_p_value"], c["theil_h_p_value"])
    d = infer(seed=5, n_perm=11)
    pd.testing.assert_series_equal(a["theil_h_ci_low"], d["theil_h_ci_low"])
    assert a.attrs["inference"]["n_boot"] == 99 and a.attrs["inference"]["null"] == "permutation"


def test_no_replicates_and_evenness_null() -> None:
    r = infer(n_boot=0, n_perm=0)
    assert r["dissimilarity_ci_low"].isna().all() and r["dissimilarity_p_value"].isna().all()
    e = infer(null="evenness")
    assert e.loc["A", "dissimilarity_p_value"] == pytest.approx(1 / 100)


def test_inference_validation() -> None:
    with pytest.raises(ValueError, match="whole numbers"):
        infer(toy().assign(x=toy()["x"] + 0.5))
    with pytest.raises(ValueError, match="null"):
        infer(null="bogus")
    with pytest.raises(ValueError, match="ci"):
        infer(ci=1.5)


def test_json_with_inference() -> None:
    js = result_to_json(infer().loc["B"])
    assert set(js) == set(INDEX_NAMES)
    d = js["dissimilarity"]
    assert d["value"] == pytest.approx(0.6) and d["ci_low"] is not None and 0 < d["p_value"] <= 1
    assert js["gini"]["ci_low"] is None and js["gini"]["value"] == pytest.approx(0.3125)


@pytest.fixture(scope="module")
def regso(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / REGSO_FILE, dtype={"kommunkod": str, "regsokod_2020": str})


def test_real_data_all_municipalities(regso: pd.DataFrame) -> None:
    """All 290 kommuner × 4 years in one vectorised call."""
    res = with_inference(
        regso,
        "regsokod_2020",
        BIRTH,
        by=["kommunkod", "ar"],
        value="medel_loneinkomst_tkr",
        n_boot=49,
        n_perm=49,
        seed=0,
    )
    assert len(res) == 1160
    for name in ("dissimilarity", "isolation", "exposure", "theil_h", "mutual_information"):
        lo, hi, p = (res[f"{name}_{s}"].to_numpy() for s in ("ci_low", "ci_high", "p_value"))
        assert np.isfinite(lo).all() and np.isfinite(hi).all() and np.isfinite(p).all()
        assert (lo <= hi).all()
        assert ((p >= 1 / 50) & (p <= 1)).all()
    # Göteborg's foreign-born segregation is far from random allocation
    gbg = res[(res["kommunkod"] == "1480") & (res["ar"] == 2022)].iloc[0]
    assert gbg["dissimilarity_p_value"] == pytest.approx(1 / 50)
    assert gbg["dissimilarity_ci_high"] - gbg["dissimilarity_ci_low"] < 0.02
    # grouping does not change point values
    single = compute_indices(regso[(regso["kommunkod"] == "1480") & (regso["ar"] == 2022)], "regsokod_2020", BIRTH)
    assert gbg["dissimilarity"] == single["dissimilarity"].iloc[0]


def test_permutation_null_agrees_with_pysal_person_permutation_mean(regso: pd.DataFrame) -> None:
    """Our hypergeometric null and PySAL's person permutation are the same distribution: compare
    the null mean of D for a small kommun (PySAL explodes individuals, so keep it small)."""
    inference = pytest.importorskip("segregation.inference")
    from segregation.singlegroup import Dissim

    part = regso[(regso["kommunkod"] == "2021") & (regso["ar"] == 2023)]  # Vansbro, 6 RegSO
    assert part["folkmangd_totalt"].sum() < 8000
    np.random.seed(0)
    ps = inference.SingleValueTest(
        Dissim(part, "utrikes_fodda", "folkmangd_totalt"),
        iterations_under_null=60,
        null_approach="person_permutation",
        two_tailed=False,
        n_jobs=1,
        backend="threading",
    )
    g = make_grouping(part, None)
    counts = part[BIRTH].to_numpy(np.int64)
    from handslag.segregation.indices import group_kernel

    draw = permutation_draw(counts, g.case, g.starts, 400, np.random.default_rng(0)).astype(float)
    ours = group_kernel(draw, g, 0, 1, which=("dissimilarity",))["dissimilarity"][:, 0]
    se = np.hypot(ours.std() / np.sqrt(400), np.std(ps.est_sim) / np.sqrt(len(ps.est_sim)))
    assert abs(ours.mean() - np.mean(ps.est_sim)) < 4 * se
