"""Segregation indices: hand-computed cases, edge cases, and PySAL cross-checks on real RegSO data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from handslag.segregation import (
    INDEX_METADATA,
    INDEX_NAMES,
    compute_indices,
    gini_of_means,
    result_to_json,
    results_to_records,
)
from handslag.segregation._grouping import make_grouping

REGSO_FILE = "stats/regso2020_befolkning_upplatelseform_loneinkomst_2020_2023_tidy.csv"
BIRTH = ["utrikes_fodda", "fodda_i_sverige"]
TENURE = ["lgh_hyresratt", "lgh_bostadsratt", "lgh_aganderatt", "lgh_uppgift_saknas"]


def toy() -> pd.DataFrame:
    """Five municipalities: A complete separation, B mixed (+ an empty area), C one area,
    D focal group absent, E nobody lives there."""
    rows = [
        # kommun, area, x, y, mean value, type, q1, q5
        ("A", "a1", 10, 0, 100.0, 1, 5, 0),
        ("A", "a2", 0, 10, 300.0, 5, 0, 5),
        ("B", "b1", 2, 8, 100.0, 1, 6, 1),
        ("B", "b2", 3, 2, 200.0, 3, 3, 2),
        ("B", "b3", 5, 0, 400.0, 2, 1, 7),
        ("B", "b4", 0, 0, np.nan, np.nan, 0, 0),
        ("C", "c1", 4, 6, 50.0, 4, 2, 2),
        ("D", "d1", 0, 5, 10.0, 3, 0, 3),
        ("D", "d2", 0, 3, 20.0, 3, 0, 1),
        ("E", "e1", 0, 0, np.nan, np.nan, 0, 0),
        ("E", "e2", 0, 0, np.nan, np.nan, 0, 0),
    ]
    return pd.DataFrame(rows, columns=["kommun", "area", "x", "y", "income", "typ", "q1", "q5"])


def toy_result(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    return compute_indices(
        toy() if frame is None else frame,
        "area",
        ["x", "y"],
        by="kommun",
        value="income",
        area_type="typ",
        low_income="q1",
        high_income="q5",
    ).set_index("kommun")


def test_hand_computed_mixed_municipality() -> None:
    r = toy_result().loc["B"]
    # D = ½(|.2−.8| + |.3−.2| + |.5−0|) = .6
    assert r["dissimilarity"] == pytest.approx(0.6, abs=1e-15)
    # S = ½(|.2−.5| + |.3−.25| + |.5−.25|) = .3 (= D × (1 − P) = .6 × .5)
    assert r["segregation_vs_total"] == pytest.approx(0.3, abs=1e-15)
    # xPx* = .2·.2 + .3·.6 + .5·1 = .72 ; xPy* = .2·.8 + .3·.4 + .5·0 = .28
    assert r["isolation"] == pytest.approx(0.72, abs=1e-15)
    assert r["exposure"] == pytest.approx(0.28, abs=1e-15)
    # H = Σ t_i (E − E_i) / (T E), E = ln 2, E_1 = H(.2), E_2 = H(.6), E_3 = 0
    e1 = -(0.2 * math.log(0.2) + 0.8 * math.log(0.8))
    e2 = -(0.6 * math.log(0.6) + 0.4 * math.log(0.4))
    e = math.log(2)
    h = (10 * (e - e1) + 5 * (e - e2) + 5 * e) / (20 * e)
    assert r["theil_h"] == pytest.approx(h, abs=1e-15)
    assert r["mutual_information"] == pytest.approx(h * e, abs=1e-15)  # M = H·E
    # Gini of means 100, 200, 400 with weights 10, 5, 5: ȳ = 200;
    # ΣΣ t t |Δ| = 2(10·5·100 + 10·5·300 + 5·5·200) = 50 000; G = 50 000 / (2·20²·200) = .3125
    assert r["gini"] == pytest.approx(0.3125, abs=1e-15)
    # types 1, 3, 2 with populations 10, 5, 5 → (10 + 5) / 20
    assert r["share_types_1_2"] == pytest.approx(0.75, abs=1e-15)
    # q1 = 6, 3, 1 and q5 = 1, 2, 7 → D = ½(.5 + .1 + .6) = .6 → 60
    assert r["inequality_index_approx"] == pytest.approx(60.0, abs=1e-12)
    assert r["n_units"] == 3  # the empty area b4 is dropped
    assert r["population"] == 20
    assert "areas with zero population dropped: 1" in r["notes"]


def test_complete_separation() -> None:
    r = toy_result().loc["A"]
    assert r["dissimilarity"] == 1.0
    assert r["segregation_vs_total"] == 0.5
    assert r["isolation"] == 1.0
    assert r["exposure"] == 0.0
    assert r["theil_h"] == pytest.approx(1.0, abs=1e-15)
    assert r["mutual_information"] == pytest.approx(math.log(2), abs=1e-15)
    assert r["gini"] == pytest.approx(10 * 10 * 200 * 2 / (2 * 400 * 200), abs=1e-15)  # .25
    assert r["share_types_1_2"] == 0.5
    assert r["inequality_index_approx"] == 100.0
    assert pd.isna(r["notes"])


def test_single_area_municipality_is_even() -> None:
    r = toy_result().loc["C"]
    assert r["dissimilarity"] == 0.0
    assert r["segregation_vs_total"] == 0.0
    assert r["isolation"] == pytest.approx(0.4, abs=1e-15)  # = P
    assert r["exposure"] == pytest.approx(0.6, abs=1e-15)
    assert r["theil_h"] == pytest.approx(0.0, abs=1e-15)
    assert r["mutual_information"] == pytest.approx(0.0, abs=1e-15)
    assert r["gini"] == 0.0
    assert r["share_types_1_2"] == 0.0
    assert r["inequality_index_approx"] == 0.0


def test_zero_group_total_gives_nan_with_reason() -> None:
    r = toy_result().loc["D"]
    for name in ("dissimilarity", "segregation_vs_total", "isolation", "exposure", "theil_h"):
        assert np.isnan(r[name]), name
    assert r["mutual_information"] == 0.0  # defined: one group, no information
    assert r["gini"] == pytest.approx(2 * 5 * 3 * 10 / (2 * 64 * (110 / 8)), abs=1e-15)
    assert np.isnan(r["inequality_index_approx"])
    assert "focal group total is zero" in r["notes"]
    assert "fewer than two non-empty groups" in r["notes"]
    assert "inequality_index_approx undefined" in r["notes"]


def test_all_zero_municipality() -> None:
    r = toy_result().loc["E"]
    assert r["n_units"] == 0 and r["population"] == 0
    for name in INDEX_NAMES:
        assert np.isnan(r[name]), name
    assert "no population" in r["notes"]
    assert "areas with zero population dropped: 2" in r["notes"]


def test_no_nan_leaks_from_empty_areas() -> None:
    full = toy_result()
    without = toy_result(toy().query("area != 'b4'"))
    cols = [c for c in INDEX_NAMES]
    pd.testing.assert_series_equal(full.loc["B", cols], without.loc["B", cols])
    assert np.isfinite(full.loc[["A", "B", "C"], cols].to_numpy(dtype=float)).all()


def test_vectorised_equals_one_by_one_and_is_order_independent() -> None:
    frame = toy()
    together = toy_result(frame.sample(frac=1.0, random_state=3))
    for kommun, part in frame.groupby("kommun"):
        alone = toy_result(part).loc[kommun]
        pd.testing.assert_series_equal(together.loc[kommun], alone, check_names=False)


def test_other_group_and_rest() -> None:
    # three groups: D of x vs y ignores z; exposure uses t_i including z; rest = y + z
    f = pd.DataFrame({"area": ["a", "b"], "x": [3, 1], "y": [1, 3], "z": [4, 0]})
    vs_y = compute_indices(f, "area", ["x", "y", "z"], other="y").iloc[0]
    assert vs_y["dissimilarity"] == pytest.approx(0.5 * (abs(0.75 - 0.25) + abs(0.25 - 0.75)))
    assert vs_y["exposure"] == pytest.approx(0.75 * 1 / 8 + 0.25 * 3 / 4)
    rest = compute_indices(f, "area", ["x", "y", "z"]).iloc[0]
    assert rest["dissimilarity"] == pytest.approx(0.5 * (abs(0.75 - 5 / 8) + abs(0.25 - 3 / 8)))


def test_gini_kernel_matches_double_sum() -> None:
    rng = np.random.default_rng(7)
    n = 60
    frame = pd.DataFrame({"k": rng.integers(0, 4, n), "v": rng.integers(1, 6, n) * 10.0, "w": rng.integers(0, 50, n)})
    g = make_grouping(frame, "k")
    got = gini_of_means(frame["v"].to_numpy()[g.order], frame["w"].to_numpy(float)[g.order], g)
    for c, (_, part) in enumerate(frame.groupby("k")):
        v, w = part["v"].to_numpy(), part["w"].to_numpy(float)
        ybar = (w * v).sum() / w.sum()
        expected = (w[:, None] * w[None, :] * np.abs(v[:, None] - v[None, :])).sum() / (2 * w.sum() ** 2 * ybar)
        assert got[c] == pytest.approx(expected, abs=1e-14)  # ties included (values on a coarse grid)


def test_input_validation() -> None:
    f = toy()
    with pytest.raises(ValueError, match="at least two"):
        compute_indices(f, "area", ["x"])
    with pytest.raises(ValueError, match="negative"):
        compute_indices(f.assign(x=-1), "area", ["x", "y"])
    with pytest.raises(ValueError, match="missing"):
        compute_indices(f.assign(x=np.nan), "area", ["x", "y"])
    with pytest.raises(ValueError, match="not unique"):
        compute_indices(pd.concat([f, f]), "area", ["x", "y"], by="kommun")
    with pytest.raises(ValueError, match="both"):
        compute_indices(f, "area", ["x", "y"], low_income="q1")


def test_metadata_and_json_shape() -> None:
    res = toy_result()
    meta = res.attrs["index_metadata"]
    assert meta["inequality_index_approx"]["approximation"] is True
    assert "Approximation of Boverket" in meta["inequality_index_approx"]["label"]
    assert INDEX_METADATA["dissimilarity"]["approximation"] is False
    js = result_to_json(res.loc["D"])
    assert list(js) == list(INDEX_NAMES)
    assert all(set(v) == {"value", "ci_low", "ci_high", "p_value"} for v in js.values())
    assert js["dissimilarity"]["value"] is None  # NaN → None
    assert js["mutual_information"] == {"value": 0.0, "ci_low": None, "ci_high": None, "p_value": None}
    only_d = compute_indices(toy(), "area", ["x", "y"], by="kommun")
    assert "gini" not in only_d.columns
    assert result_to_json(only_d.iloc[0])["gini"]["value"] is None
    assert "gini" not in result_to_json(only_d.iloc[0], include_missing=False)
    recs = results_to_records(only_d)
    assert recs[0]["key"] == {"kommun": "A"} and recs[0]["indices"]["dissimilarity"]["value"] == 1.0


# ---------------------------------------------------------------- real data, PySAL cross-checks


@pytest.fixture(scope="module")
def regso(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / REGSO_FILE, dtype={"kommunkod": str, "regsokod_2020": str})


@pytest.fixture(scope="module")
def pysal():
    seg = pytest.importorskip("segregation")
    from segregation.multigroup import MultiDivergence, MultiInfoTheory
    from segregation.singlegroup import Dissim, Entropy, Interaction, Isolation
    from segregation.singlegroup import gini as gini_module

    return {
        "Dissim": Dissim,
        "Isolation": Isolation,
        "Interaction": Interaction,
        "Entropy": Entropy,
        "MultiInfoTheory": MultiInfoTheory,
        "MultiDivergence": MultiDivergence,
        "gini_module": gini_module,
        "version": seg.__version__,
    }


def test_real_data_shape(regso: pd.DataFrame) -> None:
    assert len(regso) == 13452
    assert (regso["fodda_i_sverige"] + regso["utrikes_fodda"] == regso["folkmangd_totalt"]).all()
    res = compute_indices(regso, "regsokod_2020", BIRTH, by=["kommunkod", "ar"], value="medel_loneinkomst_tkr")
    assert len(res) == 290 * 4
    assert res["population"].groupby(res["ar"]).sum().loc[2020] == 10_379_295
    assert res["population"].groupby(res["ar"]).sum().loc[2023] == 10_551_707
    assert np.isfinite(res[["dissimilarity", "theil_h", "gini"]].to_numpy()).all()


def test_pysal_cross_check_all_municipalities_2023(regso: pd.DataFrame, pysal: dict) -> None:
    year = regso[regso["ar"] == 2023]
    ours = compute_indices(year, "regsokod_2020", BIRTH, by="kommunkod").set_index("kommunkod")
    tenure = compute_indices(year, "regsokod_2020", TENURE, by="kommunkod").set_index("kommunkod")
    worst = dict.fromkeys(["D", "xPx", "xPy", "H", "M", "H2", "Ht", "Mt"], 0.0)
    pysal_nan_tenure = 0
    for kommun, part in year.groupby("kommunkod"):
        o = ours.loc[kommun]
        tot = "folkmangd_totalt"
        pairs = {
            "D": (o["dissimilarity"], pysal["Dissim"](part, BIRTH[0], tot).statistic),
            "xPx": (o["isolation"], pysal["Isolation"](part, BIRTH[0], tot).statistic),
            "xPy": (o["exposure"], pysal["Interaction"](part, BIRTH[0], tot).statistic),
            "H": (o["theil_h"], pysal["MultiInfoTheory"](part, BIRTH).statistic),
            "M": (o["mutual_information"], pysal["MultiDivergence"](part, BIRTH).statistic),
            "H2": (o["theil_h"], pysal["Entropy"](part, BIRTH[0], tot).statistic),
        }
        ph = pysal["MultiInfoTheory"](part, TENURE).statistic
        pm = pysal["MultiDivergence"](part, TENURE).statistic
        if np.isnan(ph):  # PySAL: NaN when a group total is zero; we drop empty groups (see docs)
            pysal_nan_tenure += 1
            assert np.isfinite(tenure.loc[kommun, "theil_h"])
            assert (part[TENURE].sum() == 0).any()
        else:
            pairs["Ht"] = (tenure.loc[kommun, "theil_h"], ph)
        pairs["Mt"] = (tenure.loc[kommun, "mutual_information"], pm)
        for key, (a, b) in pairs.items():
            worst[key] = max(worst[key], abs(a - b))
        # segregation vs total: S = D(x, rest) × (1 − P) (no PySAL class)
        p = part[BIRTH[0]].sum() / part[tot].sum()
        assert o["segregation_vs_total"] == pytest.approx(pairs["D"][1] * (1 - p), abs=1e-12)
    assert max(worst.values()) < 1e-9, worst
    assert pysal_nan_tenure > 0  # the documented difference is exercised on real data


def test_pysal_gini_cross_check(regso: pd.DataFrame, pysal: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Our Gini of area means equals PySAL's Gini (ΣΣ t t |p_i − p_j| / (2T²P(1−P))) × (1 − P)
    when the area 'share' is p_i = ȳ_i / max ȳ, i.e. a pseudo-count t_i ȳ_i / max ȳ."""
    gm = pysal["gini_module"]
    # PySAL's numba kernel compiled takes ~8 s; run the same PySAL function uncompiled.
    monkeypatch.setattr(gm, "_gini_vecp", getattr(gm._gini_vecp, "py_func", gm._gini_vecp))
    sub = regso[regso["kommunkod"].isin(["1480", "0581", "0180", "2584", "0114"])]
    ours = compute_indices(
        sub, "regsokod_2020", BIRTH, by=["kommunkod", "ar"], value="medel_loneinkomst_tkr"
    ).set_index(["kommunkod", "ar"])
    worst = 0.0
    for key, part in sub.groupby(["kommunkod", "ar"]):
        part = part.assign(t=part["folkmangd_totalt"].astype(float))
        ymax = part["medel_loneinkomst_tkr"].max()
        part = part.assign(pseudo=part["t"] * (part["medel_loneinkomst_tkr"] / ymax))
        p = part["pseudo"].sum() / part["t"].sum()
        ref = gm.Gini(part, "pseudo", "t").statistic * (1 - p)
        worst = max(worst, abs(ours.loc[key, "gini"] - ref))
        # and PySAL's own segregation Gini of foreign-born shares = ours on shares / (1 − P)
        share = part.assign(share=part[BIRTH[0]] / part["t"])
        g_share = compute_indices(share, "regsokod_2020", BIRTH, value="share")["gini"].iloc[0]
        p_x = part[BIRTH[0]].sum() / part["t"].sum()
        worst = max(worst, abs(g_share - gm.Gini(part, BIRTH[0], "t").statistic * (1 - p_x)))
    assert worst < 1e-9


def test_goteborg_2022_values_are_plausible(regso: pd.DataFrame) -> None:
    gbg = regso[(regso["kommunkod"] == "1480") & (regso["ar"] == 2022)]
    r = compute_indices(gbg, "regsokod_2020", BIRTH).iloc[0]
    assert r["n_units"] == 147
    p = gbg["utrikes_fodda"].sum() / gbg["folkmangd_totalt"].sum()
    assert r["isolation"] > p  # foreign-born are concentrated
    assert r["isolation"] + r["exposure"] == pytest.approx(1.0, abs=1e-12)  # two groups
    assert 0.3 < r["dissimilarity"] < 0.6
