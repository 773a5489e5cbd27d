"""Confusion matrix, agreement and transitions: hand cases and SCB's official RegSO types 2022/2023."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from handslag.classify import agreement, confusion_matrix, transition_matrix


def test_confusion_and_kappa_hand() -> None:
    computed = pd.Series([1, 1, 2, 2, np.nan], index=list("abcde"))
    official = pd.Series([2, 2, 1, 2, 1], index=list("edcba"))  # aligned on index: a→1, b→2, c→1, d→2
    m = confusion_matrix(computed, official)
    assert m.shape == (6, 6)
    assert m.loc[1, 1] == 1 and m.loc[1, 2] == 1 and m.loc[2, 1] == 1 and m.loc[2, 2] == 1
    assert m.loc["total", "total"] == 4 and m.loc[5, "total"] == 0
    a = agreement([1, 1, 2, 2], [1, 2, 2, 2])
    # p_o = 3/4; margins computed (2, 2), official (1, 3): p_e = (2·1 + 2·3)/16 = 1/2; κ = (.75 − .5)/.5
    assert a == {"n": 4, "n_equal": 3, "share_equal": 0.75, "share_within_one": 1.0, "kappa": 0.5}
    assert np.isnan(agreement([3, 3], [3, 3])["kappa"])  # p_e = 1
    assert agreement([1, 5], [5, 1])["share_within_one"] == 0.0
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix([1, 6], [1, 2])


def test_transition_hand() -> None:
    types = pd.DataFrame(
        {
            "area": ["a", "b", "c", "d", "a", "b", "c", "e"],
            "year": [2022] * 4 + [2023] * 4,
            "type": [1, 1, 2, 3, 1, 2, 2, 4],
            "kommun": ["k1", "k1", "k2", "k2", "k1", "k1", "k2", "k2"],
        }
    )
    t = transition_matrix(types, 2022, 2023)  # d and e are not in both years
    assert len(t) == 25 and t["count"].sum() == 3
    row1 = t[t["type_from"] == 1].set_index("type_to")
    assert row1.loc[1, "count"] == 1 and row1.loc[2, "count"] == 1 and row1.loc[1, "row_share"] == 0.5
    assert t[t["type_from"] == 3]["row_share"].isna().all()  # no area started in type 3
    by = transition_matrix(types, 2022, 2023, by="kommun", wide=True).set_index(["kommun", "type_from"])
    assert by.loc[("k2", 2), ["n_2", "total", "share_2"]].tolist() == [1, 1, 1.0]
    assert by.loc[("k1", 1), ["n_1", "n_2", "total"]].tolist() == [1, 1, 2]


@pytest.fixture(scope="module")
def official(shared_data: Path) -> pd.DataFrame:
    cls = shared_data / "classification"
    a = pd.read_csv(cls / "regso2020_omradestyp_2022.csv", dtype={"kommunkod": str})
    b = pd.read_csv(cls / "regso2020_omradestyp_2023.csv", dtype={"kommunkod": str})
    return pd.concat(
        [
            a.assign(year=2022, type=a["omradestyp_2022"])[["regsokod_2020", "kommunkod", "year", "type"]],
            b.assign(year=2023, type=b["omradestyp_2023"])[["regsokod_2020", "kommunkod", "year", "type"]],
        ],
        ignore_index=True,
    )


def test_official_2022_vs_2023(official: pd.DataFrame) -> None:
    y22 = official[official["year"] == 2022].set_index("regsokod_2020")["type"]
    y23 = official[official["year"] == 2023].set_index("regsokod_2020")["type"]
    m = confusion_matrix(y23, y22)
    # marginals are SCB's published counts (SOURCES.md / methods brief §1.3)
    assert m.loc[[1, 2, 3, 4, 5], "total"].tolist() == [162, 293, 835, 1781, 292]
    assert m.loc["total", [1, 2, 3, 4, 5]].tolist() == [160, 289, 855, 1770, 289]
    a = agreement(y23, y22)
    assert a["n"] == 3363 and a["n"] - a["n_equal"] == 253  # 253 RegSO changed type
    assert a["share_within_one"] == 1.0  # every change is one step
    core = m.loc[[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]].to_numpy(float)
    pe = (core.sum(1) * core.sum(0)).sum() / 3363**2
    assert a["kappa"] == pytest.approx((3110 / 3363 - pe) / (1 - pe), abs=1e-15)


def test_official_transitions_goteborg(official: pd.DataFrame) -> None:
    t = transition_matrix(official, 2022, 2023, by="kommunkod", area="regsokod_2020", wide=True)
    gbg = t[t["kommunkod"] == "1480"].set_index("type_from")
    assert gbg["total"].tolist() == [15, 19, 19, 73, 21]  # Göteborg 2022
    assert gbg[[f"n_{k}" for k in range(1, 6)]].sum().tolist() == [14, 21, 21, 71, 20]  # 2023
    shares = gbg[[f"share_{k}" for k in range(1, 6)]].to_numpy()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert len(t) == 290 * 5
