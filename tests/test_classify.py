"""Socioeconomic index, area types, DeSO substitute and distance to thresholds."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from handslag.classify import (
    SUBSTITUTION_LABEL,
    V1_ID,
    V2_ID,
    V3_ID,
    V3_SUBSTITUTE_ID,
    area_type_cuts,
    area_types,
    cut_columns,
    deso_components,
    distance_to_thresholds,
    socioeconomic_index,
)

# SEI with mean 5 and population SD 2 (ddof=0); sample SD = sqrt(32/7)
SEI8 = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]


def test_socioeconomic_index_hand() -> None:
    f = pd.DataFrame({"v1": [10.0, 30.0, np.nan], "v2": [20.0, 0.0, 5.0], "v3": [30.0, 3.0, 5.0]})
    sei = socioeconomic_index(f)
    assert sei.name == "sei"
    assert sei.iloc[0] == 20.0 and sei.iloc[1] == 11.0 and np.isnan(sei.iloc[2])
    with pytest.raises(ValueError, match="0-100"):
        socioeconomic_index(f.assign(v1=[0.1, 130.0, 1.0]))


def test_area_types_population_sd_boundaries_inclusive() -> None:
    f = pd.DataFrame({"year": 2022, "sei": SEI8})
    r = area_types(f, ddof=0)
    np.testing.assert_allclose(r["z"], [-1.5, -0.5, -0.5, -0.5, 0, 0, 1, 2])
    # z = 0 → type 3, z = 1 → type 2, z = 2 → type 1 (lower bounds inclusive)
    assert r["type"].tolist() == [5, 4, 4, 4, 3, 3, 2, 1]
    assert r.loc[0, "mean"] == 5.0 and r.loc[0, "sd"] == 2.0
    assert r.loc[0, cut_columns()].tolist() == [9.0, 7.0, 5.0, 3.0]


def test_area_types_sample_sd_default() -> None:
    f = pd.DataFrame({"year": 2022, "sei": SEI8})
    r = area_types(f)
    sd = math.sqrt(32 / 7)
    assert r.loc[0, "sd"] == pytest.approx(sd, abs=1e-15)
    np.testing.assert_allclose(r["z"], (np.array(SEI8) - 5) / sd)
    assert r["type"].tolist() == [5, 4, 4, 4, 3, 3, 3, 2]  # 7 → z = .935; 9 → z = 1.87


def test_z_minus_one_is_type_4() -> None:
    # reference table: μ = 10, σ = 5 → SEI 5 is exactly z = −1
    ref = pd.DataFrame({"year": [2022], "mean": [10.0], "sd": [5.0]})
    f = pd.DataFrame({"year": 2022, "sei": [4.999, 5.0, 10.0, 15.0, 20.0, 19.999]})
    r = area_types(f, reference=ref)
    assert r["type"].tolist() == [5, 4, 3, 2, 1, 2]


def test_weighted_reference_and_callable() -> None:
    f = pd.DataFrame({"year": 2022, "sei": [1.0, 2.0, 6.0], "pop": [1.0, 2.0, 1.0], "ref": [True, True, False]})
    cuts = area_type_cuts(f, weights="pop")
    mu = (1 + 4 + 6) / 4  # 2.75
    var = (1 * (1 - mu) ** 2 + 2 * (2 - mu) ** 2 + 1 * (6 - mu) ** 2) / (4 - 1)
    assert cuts.loc[0, "mean"] == pytest.approx(mu) and cuts.loc[0, "sd"] == pytest.approx(math.sqrt(var))
    masked = area_types(f, reference=f["ref"])
    assert masked.loc[0, "mean"] == 1.5 and masked.loc[0, "sd"] == pytest.approx(math.sqrt(0.5))
    assert masked.loc[2, "type"] == 1  # outside the reference set but still typed: z = 6.36
    called = area_types(f, reference=lambda d: d["sei"] < 5)
    pd.testing.assert_frame_equal(masked, called)


def test_vectorised_over_years_equals_per_year_loop() -> None:
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"year": rng.integers(2015, 2020, 500), "sei": rng.gamma(3, 3, 500)})
    f.loc[[3, 7], "sei"] = np.nan
    r = area_types(f, cuts=(1.5, 0.5, -0.5))
    for _year, part in f.groupby("year"):
        s = part["sei"].dropna()
        mu, sd = s.mean(), s.std(ddof=1)
        expected_type = 1 + (part["sei"].to_numpy()[:, None] < mu + sd * np.array([1.5, 0.5, -0.5])).sum(axis=1)
        got = r.loc[part.index]
        assert got["mean"].iloc[0] == pytest.approx(mu, rel=1e-13)
        assert got["sd"].iloc[0] == pytest.approx(sd, rel=1e-13)
        ok = part["sei"].notna().to_numpy()
        assert (got["type"].to_numpy()[ok] == expected_type[ok]).all()
    assert r.loc[[3, 7], "type"].isna().all() and set(r["type"].dropna()) <= {1, 2, 3, 4}
    assert cut_columns((1.5, 0.5, -0.5)) == ["cut_1_2", "cut_2_3", "cut_3_4"]


def test_degenerate_years() -> None:
    f = pd.DataFrame({"year": [1, 1, 2], "sei": [3.0, 3.0, 4.0]})
    r = area_types(f)
    assert r["type"].isna().all()  # σ = 0 in year 1; a single area (no sample SD) in year 2
    with pytest.raises(ValueError, match="decreasing"):
        area_types(f, cuts=(0, 1))


def test_brief_2022_cut_points() -> None:
    """Methods brief §1.3: μ ≈ 9.10, σ ≈ 5.47 for 2022 give cut points ≈ 3.63 / 9.10 / 14.57 / 20.04."""
    ref = pd.DataFrame({"year": [2022], "mean": [9.10], "sd": [5.47]})
    cuts = area_type_cuts(pd.DataFrame({"year": [2022], "sei": [1.0]}), reference=ref)
    np.testing.assert_allclose(
        cuts.loc[0, ["cut_4_5", "cut_3_4", "cut_2_3", "cut_1_2"]].to_numpy(float),
        [3.63, 9.10, 14.57, 20.04],
        atol=1e-12,
    )


def test_area_types_speed_smoke() -> None:
    rng = np.random.default_rng(1)
    f = pd.DataFrame({"year": np.repeat(np.arange(2010, 2025), 6200), "sei": rng.gamma(3, 3, 93_000)})
    import time

    t0 = time.perf_counter()
    r = area_types(f)
    assert time.perf_counter() - t0 < 0.5
    assert r["type"].notna().all()


# --------------------------------------------------------------------------- DeSO substitute


def test_deso_components_hand() -> None:
    obs = pd.DataFrame(
        [
            ("d1", 2024, V1_ID, 12.0, 120, 1000),
            ("d1", 2024, V2_ID, 15.0, 90, 600),
            ("d1", 2024, V3_SUBSTITUTE_ID, 6.0, 36, 600),
            ("d2", 2024, V1_ID, 3.0, 30, 1000),
            ("d2", 2024, V2_ID, 6.0, 30, 500),
            ("d2", 2024, V3_ID, 3.0, 15, 500),
            ("d2", 2024, V3_SUBSTITUTE_ID, 4.0, 20, 500),
            ("d2", 2024, "foreign", 40.0, 1, 1),
        ],
        columns=["area", "year", "indicator", "value", "numerator", "denominator"],
    )
    r = deso_components(obs).set_index("area")
    assert r.loc["d1", ["v1", "v2", "v3", "sei"]].tolist() == [12.0, 15.0, 6.0, 11.0]
    assert r.loc["d1", "substituted"] == SUBSTITUTION_LABEL
    assert r.loc["d1", ["v3_num", "v3_den"]].tolist() == [36.0, 600.0]  # counts substituted too
    assert r.loc["d2", "v3"] == 3.0 and pd.isna(r.loc["d2", "substituted"])  # real V3 wins
    assert r.loc["d2", "sei"] == 4.0
    off = deso_components(obs, substitute=False).set_index("area")
    assert np.isnan(off.loc["d1", "v3"]) and np.isnan(off.loc["d1", "sei"])
    assert off["substituted"].isna().all()
    with pytest.raises(ValueError, match="duplicate"):
        deso_components(pd.concat([obs, obs]))


def test_deso_components_real_goteborg(shared_data: Path) -> None:
    obs = pd.read_csv(shared_data / "stats/deso2025_1480_indikatorer_2024_2025.csv", dtype={"kommunkod": str})
    obs["indicator"] = obs["indicator"].replace({"low_econ": V1_ID, "unemp": V3_SUBSTITUTE_ID})
    r = deso_components(obs, area="desokod")
    assert len(r) == 320 and (r["year"] == 2024).all()
    assert (r["substituted"] == SUBSTITUTION_LABEL).all()  # no DeSO has the real V3
    low = obs[obs["indicator"] == V1_ID].set_index("desokod")["value"]
    unemp = obs[obs["indicator"] == V3_SUBSTITUTE_ID].set_index("desokod")["value"]
    np.testing.assert_array_equal(r.set_index("desokod")["v1"], low.loc[r["desokod"]].to_numpy())
    np.testing.assert_array_equal(r.set_index("desokod")["v3"], unemp.loc[r["desokod"]].to_numpy())
    assert r["v2"].isna().all() and r["sei"].isna().all()  # V2 (education 20–64) is not in the file


# --------------------------------------------------------------------------- distance to thresholds

REF = pd.DataFrame({"year": [2022], "mean": [10.0], "sd": [5.0]})  # cuts 20 / 15 / 10 / 5


def test_distance_hand() -> None:
    f = pd.DataFrame(
        {
            "year": 2022,
            "sei": [12.0, 12.34, 25.0, 2.0, 10.0, 12.0],
            "v1_den": [1000, 777, 1000, 1000, 1000, 100],
            "v1_num": [150, 100, 400, 10, 100, 1],
        }
    )
    d = distance_to_thresholds(f, reference=REF, denominators={"v1": "v1_den"})
    # SEI 12 (type 3): up to 15 = 3 points → ceil(3·3·1000/100) = 90 persons;
    # down: SEI must fall below 10: 2 points → floor(60) + 1 = 61 (60 persons gives exactly 10 = still type 3)
    assert d.loc[0, ["type", "cut_up", "cut_down"]].tolist() == [3, 15.0, 10.0]
    assert d.loc[0, "points_up"] == 3.0 and d.loc[0, "points_down"] == 2.0
    assert d.loc[0, "persons_up_v1"] == 90 and d.loc[0, "persons_down_v1"] == 61
    # SEI 12.34, d = 777: 2.66·3·777/100 = 62.0046 → 63; 2.34·3·777/100 = 54.5454 → 55
    assert d.loc[1, "persons_up_v1"] == 63 and d.loc[1, "persons_down_v1"] == 55
    # type 1 has no worse type; type 5 no better one
    assert d.loc[2, "type"] == 1 and np.isnan(d.loc[2, "points_up"]) and pd.isna(d.loc[2, "persons_up_v1"])
    assert d.loc[2, "persons_down_v1"] == 151  # 5 points · 30 persons/point = 150, +1 to go strictly below
    assert d.loc[3, "type"] == 5 and np.isnan(d.loc[3, "points_down"]) and pd.isna(d.loc[3, "persons_down_v1"])
    assert d.loc[3, "persons_up_v1"] == 90
    # exactly on a cut (SEI 10 = lower bound of type 3): one person down changes the type
    assert d.loc[4, "type"] == 3 and d.loc[4, "points_down"] == 0.0 and d.loc[4, "persons_down_v1"] == 1
    assert d.loc[5, "persons_down_v1"] == 7  # 2 points · 3 persons/point = 6, +1
    assert str(d["persons_up_v1"].dtype) == "Int64"
    # feasibility through one component: going down needs ≤ numerator persons, up ≤ den − num
    feas = distance_to_thresholds(f, reference=REF, denominators={"v1": "v1_den"}, numerators={"v1": "v1_num"})
    assert feas.loc[0, "persons_down_v1"] == 61 and feas.loc[2, "persons_down_v1"] == 151
    assert pd.isna(feas.loc[5, "persons_down_v1"])  # 7 > 1 person with low economic standard
    assert feas.loc[5, "persons_up_v1"] == 9  # 3 points · 3 = 9 ≤ 99


def test_distance_uses_own_year_cuts() -> None:
    f = pd.DataFrame({"year": [1] * 8 + [2] * 8, "sei": SEI8 + [s * 2 for s in SEI8], "den": 100.0})
    d = distance_to_thresholds(f, denominators={"v1": "den"}, ddof=0)
    # year 1: μ 5, σ 2 → cuts 9/7/5/3; year 2: μ 10, σ 4 → 18/14/10/6
    assert d.loc[4, ["cut_up", "cut_down"]].tolist() == [7.0, 5.0]  # SEI 5, type 3
    assert d.loc[12, ["cut_up", "cut_down"]].tolist() == [14.0, 10.0]  # SEI 10, type 3
    assert d.loc[12, "persons_up_v1"] == 12  # 4 points · 3 persons/point
