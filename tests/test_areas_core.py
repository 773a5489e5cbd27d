"""Area codes, the kommun/län registry and the overlay crosswalk."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from handslag.areas.codes import code_level, is_valid_code, normalise_code, split_suffix
from handslag.areas.crosswalk import overlay_crosswalk
from handslag.areas.regions import kommun_code_by_name, kommun_name, kommuner, lan, lan_name


@pytest.mark.parametrize(("code", "level"), [("1480C3390", "deso"), ("0581A0010", "deso"), ("1480R012", "regso"),
                                             ("1480", "kommun"), ("14", "lan"), ("00", "riket"),
                                             ("1480D3390", None), ("1480R12", None), ("148", None)])
def test_code_levels(code, level):
    assert code_level(code) == level


def test_division_must_match_code_shape():
    assert is_valid_code("1480C3390", "DeSO2025")
    assert not is_valid_code("1480C3390", "RegSO2020")
    assert not is_valid_code("1480R012", "DeSO2018")


def test_suffix_and_lost_leading_zeros():
    assert split_suffix("0114A0010_DeSO2025") == ("0114A0010", "DeSO2025")
    assert split_suffix("0581R001_RegSO2025") == ("0581R001", "RegSO2025")
    assert split_suffix("1480C3390") == ("1480C3390", None)
    assert normalise_code("180") == "0180"
    assert normalise_code("180.0") == "0180"
    assert normalise_code("180C1010") == "0180C1010"
    assert normalise_code(" 1480R012 ") == "1480R012"


def test_registry_has_290_municipalities_and_21_counties():
    assert len(kommuner()) == 290
    assert len(lan()) == 21
    assert kommun_name("1480") == "Göteborg"
    assert kommun_name("0180") == "Stockholm"
    assert lan_name("14") == "Västra Götalands län"
    assert (kommuner()["parent_code"] == kommuner()["code"].str[:2]).all()
    assert kommun_code_by_name("Vasterås") == "1980"
    assert kommun_code_by_name("Upplands Bro") == "0139"


def _squares(codes_boxes):
    return gpd.GeoDataFrame({"code": [c for c, _ in codes_boxes]}, geometry=[b for _, b in codes_boxes],
                            crs="EPSG:3006")


def test_crosswalk_hand_case():
    # old: A = [0,2]x[0,1], B = [2,3]x[0,1], C = [3,4]x[0,1]
    # new: A1 = [0,1]x[0,1], A2 = [1,2]x[0,1] (split of A), BC = [2,4]x[0,1] (merge of B and C)
    old = _squares([("A", box(0, 0, 2000, 1000)), ("B", box(2000, 0, 3000, 1000)), ("C", box(3000, 0, 4000, 1000)),
                    ("D", box(0, 1000, 2000, 2000))])
    new = _squares([("A1", box(0, 0, 1000, 1000)), ("A2", box(1000, 0, 2000, 1000)),
                    ("BC", box(2000, 0, 4000, 1000)), ("D", box(0, 1000, 2000, 2000)),])
    cw = overlay_crosswalk(old, new).set_index(["from_code", "to_code"])
    assert cw.loc[("A", "A1"), "relation"] == "split"
    assert cw.loc[("A", "A1"), "share_of_from"] == pytest.approx(0.5)
    assert cw.loc[("A", "A1"), "share_of_to"] == pytest.approx(1.0)
    assert cw.loc[("B", "BC"), "relation"] == "merge"
    assert cw.loc[("B", "BC"), "share_of_to"] == pytest.approx(0.5)
    assert cw.loc[("D", "D"), "relation"] == "same"
    assert cw.loc[("D", "D"), "overlap_km2"] == pytest.approx(2.0)
    # touching boundaries are not links
    assert ("A", "BC") not in cw.index


def test_crosswalk_partial_when_boundaries_move():
    old = _squares([("X", box(0, 0, 1000, 1000)), ("Y", box(1000, 0, 2000, 1000))])
    new = _squares([("P", box(0, 0, 1500, 1000)), ("Q", box(1500, 0, 2000, 1000))])
    cw = overlay_crosswalk(old, new).set_index(["from_code", "to_code"])
    assert cw.loc[("Y", "P"), "relation"] == "partial"
    assert cw.loc[("Y", "P"), "share_of_from"] == pytest.approx(0.5)
    assert cw.loc[("Y", "P"), "share_of_to"] == pytest.approx(1 / 3)
    assert cw.loc[("X", "P"), "relation"] == "merge"  # X lies wholly within P, and P has two sources


@pytest.mark.realdata
def test_crosswalk_goteborg_region(shared_data):
    """On the real Göteborg-region polygons: every DeSO 2025 lies in exactly one RegSO 2025 (its parent),
    and an older division rebuilt by merging SCB's split pairs (…1/…2 → …0) maps back as splits."""
    deso = gpd.read_file(shared_data / "geometry/deso2025_goteborgsregionen_sweref99tm.gpkg")
    regso = gpd.read_file(shared_data / "geometry/regso2025_goteborgsregionen_sweref99tm.gpkg")
    cw = overlay_crosswalk(deso.rename(columns={"desokod": "code"}), regso.rename(columns={"regsokod": "code"}))
    parent = dict(zip(deso["desokod"], deso["regsokod"], strict=True))
    main = cw[cw["share_of_from"] >= 0.99]
    assert len(main) == len(deso) == 584
    assert all(parent[f] == t for f, t in zip(main["from_code"], main["to_code"], strict=True))
    assert set(main["relation"]) <= {"merge", "same"}
    # rebuild an "older" division: split pairs share the first 8 characters
    split_children = deso[deso["desokod"].str[-1].isin(["1", "2"])]
    old = deso.assign(code=deso["desokod"].where(~deso.index.isin(split_children.index),
                                                  deso["desokod"].str[:8] + "0")).dissolve("code").reset_index()
    back = overlay_crosswalk(old[["code", "geometry"]], deso.rename(columns={"desokod": "code"}))
    splits = back[back["relation"] == "split"]
    assert len(splits) == len(split_children) > 0
    assert (splits["from_code"].str[:8] == splits["to_code"].str[:8]).all()
    same = back[back["relation"] == "same"]
    assert len(same) == len(deso) - len(split_children)
    assert (same["share_of_from"] > 0.999).all()
