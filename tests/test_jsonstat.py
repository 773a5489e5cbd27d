"""JSON-stat 2.0 and PxWeb v1 json decoding."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from fakeservers import TAB6574_DATA
from handslag.sources.jsonstat import (
    category_codes,
    decode,
    decode_jsonstat2,
    decode_pxweb_json,
)


def _cell(frame: pd.DataFrame, **codes: str) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for k, v in codes.items():
        mask &= frame[k] == v
    rows = frame[mask]
    assert len(rows) == 1, f"{codes} matched {len(rows)} rows"
    return rows.iloc[0]


def test_tab6574_two_deso_two_years_with_suppressed_cell() -> None:
    frame = decode_jsonstat2(TAB6574_DATA)
    assert list(frame.columns) == ["Region", "Alder", "Kon", "ContentsCode", "Tid", "value", "status"]
    # Row-major: Region slowest, Tid fastest.
    assert frame["Region"].tolist() == ["1480C3390_DeSO2025"] * 2 + ["1480C3400_DeSO2025"] * 2
    assert frame["Tid"].tolist() == ["2024", "2025", "2024", "2025"]
    assert frame["value"].iloc[:3].tolist() == [2630.0, 2630.0, 2938.0]
    assert math.isnan(frame["value"].iloc[3])
    assert frame["status"].iloc[3] == ".."
    assert frame["status"].iloc[:3].isna().all()
    assert frame["value"].dtype == np.float64


def test_row_major_with_last_dimension_fastest() -> None:
    # 2 x 3 x 2: pos = a*6 + b*2 + c; value = pos so every cell tells where it came from.
    doc = {
        "version": "2.0",
        "class": "dataset",
        "id": ["A", "B", "C"],
        "size": [2, 3, 2],
        "dimension": {
            "A": {"category": {"index": {"a0": 0, "a1": 1}}},
            # index given out of order on purpose: positions, not key order, decide.
            "B": {"category": {"index": {"b2": 2, "b0": 0, "b1": 1}}},
            "C": {"category": {"index": ["c0", "c1"]}},
        },
        "value": list(range(12)),
    }
    frame = decode_jsonstat2(doc)
    assert len(frame) == 12
    for a in range(2):
        for b in range(3):
            for c in range(2):
                row = _cell(frame, A=f"a{a}", B=f"b{b}", C=f"c{c}")
                assert row["value"] == a * 6 + b * 2 + c


def test_sparse_values_and_status_object() -> None:
    doc = {
        "id": ["Region", "Tid"],
        "size": [2, 2],
        "dimension": {
            "Region": {"category": {"index": ["0114", "0180"]}},
            "Tid": {"category": {"index": ["2023", "2024"]}},
        },
        "value": {"0": 1.5, "3": 4},
        "status": {"1": "..", "3": "p"},
    }
    frame = decode_jsonstat2(doc)
    assert _cell(frame, Region="0114", Tid="2023")["value"] == 1.5
    missing = _cell(frame, Region="0114", Tid="2024")
    assert math.isnan(missing["value"]) and missing["status"] == ".."
    absent = _cell(frame, Region="0180", Tid="2023")
    assert math.isnan(absent["value"]) and pd.isna(absent["status"])
    prov = _cell(frame, Region="0180", Tid="2024")
    assert prov["value"] == 4.0 and prov["status"] == "p"


def test_status_as_string_and_as_list() -> None:
    base = {
        "id": ["Tid"],
        "size": [3],
        "dimension": {"Tid": {"category": {"index": ["2022", "2023", "2024"]}}},
        "value": [1, None, 3],
    }
    as_string = decode_jsonstat2({**base, "status": "p"})
    assert as_string["status"].tolist() == ["p", "p", "p"]
    as_list = decode_jsonstat2({**base, "status": [None, "..", None]})
    assert as_list["status"].isna().tolist() == [True, False, True]
    assert as_list["status"].iloc[1] == ".."
    assert math.isnan(as_list["value"].iloc[1])


def test_symbol_in_value_array_becomes_nan_with_status() -> None:
    doc = {
        "id": ["Tid"],
        "size": [3],
        "dimension": {"Tid": {"category": {"index": ["2022", "2023", "2024"]}}},
        "value": ["12.5", "..", 7],
    }
    frame = decode_jsonstat2(doc)
    assert frame["value"].iloc[0] == 12.5 and frame["value"].iloc[2] == 7.0
    assert math.isnan(frame["value"].iloc[1]) and frame["status"].iloc[1] == ".."


def test_single_category_without_index_and_labels() -> None:
    doc = {
        "id": ["ContentsCode", "Tid"],
        "size": [1, 2],
        "dimension": {
            "ContentsCode": {"label": "tabellinnehåll", "category": {"label": {"000007Y7": "Folkmängd"}}},
            "Tid": {"category": {"index": {"2024": 0, "2025": 1}}},
        },
        "value": [10, 20],
    }
    assert category_codes(doc["dimension"]["ContentsCode"]) == ["000007Y7"]
    frame = decode_jsonstat2(doc, labels=True)
    assert frame["ContentsCode"].tolist() == ["000007Y7", "000007Y7"]
    assert frame["ContentsCode_label"].tolist() == ["Folkmängd", "Folkmängd"]
    assert frame["Tid_label"].tolist() == ["2024", "2025"]  # no labels → the code


def test_labels_of_tab6574() -> None:
    frame = decode_jsonstat2(TAB6574_DATA, labels=True)
    assert frame["Region_label"].tolist()[:1] == ["1480C3390"]
    assert frame["Alder_label"].iloc[0] == "totalt ålder"
    assert frame["ContentsCode_label"].iloc[0] == "Folkmängd"


def test_empty_dataset() -> None:
    doc = {
        "id": ["Region", "Tid"],
        "size": [0, 2],
        "dimension": {"Region": {"category": {"index": {}}}, "Tid": {"category": {"index": ["2023", "2024"]}}},
        "value": [],
    }
    frame = decode_jsonstat2(doc)
    assert frame.empty and list(frame.columns) == ["Region", "Tid", "value", "status"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(value=[1, 2, 3]), "has 3 cells, size says 4"),
        (lambda d: d.update(size=[2, 1, 1, 1, 3]), "has 2 categories, size says 3"),
        (lambda d: d["dimension"].pop("Kon"), "'Kon' is listed in id but not described"),
    ],
)
def test_inconsistent_documents_are_rejected(change, message) -> None:
    doc = copy.deepcopy(TAB6574_DATA)
    change(doc)
    with pytest.raises(ValueError, match=message):
        decode_jsonstat2(doc)


def test_pxweb_v1_json_format() -> None:
    doc = {
        "columns": [
            {"code": "Region", "text": "region", "type": "d"},
            {"code": "Tid", "text": "år", "type": "t"},
            {"code": "000005MO", "text": "Antal", "type": "c"},
            {"code": "000005MP", "text": "Andel", "type": "c"},
        ],
        "comments": [],
        "data": [
            {"key": ["1480R012", "2022"], "values": ["5943", "41.2"]},
            {"key": ["1480R013", "2022"], "values": ["..", "38.0"]},
        ],
    }
    frame = decode_pxweb_json(doc)
    assert list(frame.columns) == ["Region", "Tid", "ContentsCode", "value", "status"]
    assert frame["ContentsCode"].tolist() == ["000005MO", "000005MP"] * 2
    assert frame["value"].iloc[0] == 5943.0 and frame["value"].iloc[1] == 41.2
    assert math.isnan(frame["value"].iloc[2]) and frame["status"].iloc[2] == ".."
    assert frame["Region"].iloc[3] == "1480R013" and frame["value"].iloc[3] == 38.0
    # decode() recognises the format by its keys.
    assert decode(doc).equals(frame)
    assert decode(TAB6574_DATA).equals(decode_jsonstat2(TAB6574_DATA))
