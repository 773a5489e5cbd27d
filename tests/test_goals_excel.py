"""The Excel template as pure functions: write → read round trip, cell coercion, the upload plan and its
row-level problems (sheet, row, column, reason)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from handslag.goals import excel

GOAL = {"partnership_id": 7, "title": "1 000 sommarjobb", "description": None, "kind": "partner_reported",
        "unit": "persons", "measure": "change", "baseline_value": 0.0, "baseline_year": 2022, "target_value": 1000.0,
        "target_year": 2025, "direction": "increase", "indicator": None, "aggregation": None,
        "denominator_indicator": None, "areas": None, "responsible_organisation_id": 2, "trajectory": "linear",
        "trajectory_points": [], "source_note": None, "is_example": False}
MEAS = {"goal_id": 11, "period": "2023", "value": 300.0, "source": "manual", "evidence_note": None}
ACT = {"partnership_id": 7, "organisation_id": 1, "title": "Sommarjobb", "description": None,
       "start_date": date(2022, 6, 1), "end_date": None, "budget_sek": None, "spent_sek": None, "status": "completed",
       "goal_ids": [11], "outputs": [{"name": "summer jobs offered", "value": 252.0, "unit": None}],
       "is_example": False}


def context(**over) -> excel.UploadContext:
    base = dict(partnership_id=7, organisations={1: "Familjebostäder", 2: "Saab"},
                goals={11: {"version": 3, "data": GOAL}},
                measurements={21: {"version": 1, "state": "approved", "from_statistics": False, "data": MEAS},
                              22: {"version": 2, "state": "draft", "from_statistics": False,
                                   "data": {**MEAS, "period": "2024", "value": 640.0}}},
                activities={31: {"version": 1, "data": ACT}})
    base.update(over)
    return excel.UploadContext(**base)


def downloaded() -> bytes:
    return excel.write_workbook({"partnership_id": 7, "partnership": "Test"}, {
        excel.GOALS: [{**GOAL, "id": 11, "version": 3, "responsible_organisation": "Saab"}],
        excel.MEASUREMENTS: [{**MEAS, "id": 21, "version": 1, "goal_title": "1 000 sommarjobb", "state": "approved"},
                             {**MEAS, "id": 22, "version": 2, "period": "2024", "value": 640.0, "state": "draft"}],
        excel.ACTIVITIES: [{**ACT, "id": 31, "version": 1, "organisation": "Familjebostäder", "goals": "11",
                            "outputs": excel.format_outputs(ACT["outputs"])}],
    })


def edit(data: bytes, fn) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    fn(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def col(sheet: str, key: str) -> int:
    return [c.key for c in excel.SHEETS[sheet]].index(key) + 1


def plan(data: bytes, ctx=None):
    book, problems = excel.read_workbook(data, "t.xlsx")
    p, more = excel.plan_upload(book, ctx or context(), "t.xlsx")
    return p, problems + more


def test_written_workbook_reads_back_unchanged():
    data = downloaded()
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Info", "Goals", "Measurements", "Activities"]
    assert wb["Info"]["B2"].value == 7
    assert wb["Activities"].cell(2, col("Activities", "start_date")).value.date() == date(2022, 6, 1)
    assert wb["Goals"].freeze_panes == "A2"
    p, problems = plan(data)
    assert problems == [] and p.operations == [] and p.unchanged == 4


def test_changes_become_operations():
    def change(wb):
        wb["Goals"].cell(2, col("Goals", "target_value"), 1200)
        wb["Measurements"].cell(3, col("Measurements", "value"), "650,5")  # Swedish decimal comma
        wb["Goals"].append([None, None, "Nytt mål", None, "partner_reported", "companies", None, 0, 2022, 75, 2025])
        wb["Measurements"].append([None, None, None, "nytt MÅL", "2024-q2", 12])
        wb["Activities"].append([None, None, "Lots", "saab", None, "2023-03-01", None, None, None, None,
                                 "Nytt mål; 11", "coached: 1 234,5 persons"])

    p, problems = plan(edit(downloaded(), change))
    assert problems == []
    ops = {(o.sheet, o.row, o.action): o for o in p.operations}
    assert ops[("Goals", 2, "update")].data["target_value"] == 1200 and ops[("Goals", 2, "update")].version == 3
    assert ops[("Goals", 3, "create")].data["measure"] == "level"  # blank → default for a new goal
    assert ops[("Measurements", 3, "update")].data["value"] == 650.5
    new_m = ops[("Measurements", 4, "create")]
    assert new_m.refs == {"goal_title": "nytt mål"} and new_m.data["period"] == "2024-Q2"
    act = ops[("Activities", 3, "create")]
    assert act.data["organisation_id"] == 2 and act.data["goal_ids"] == [11] and act.refs == {"goals": ["nytt mål"]}
    assert act.data["outputs"] == [{"name": "coached", "value": 1234.5, "unit": "persons"}]
    assert p.counts() == {"goal": {"create": 1, "update": 1}, "measurement": {"create": 1, "update": 1},
                          "activity": {"create": 1, "update": 0}}
    assert p.unchanged == 2


def test_row_level_problems():
    def wreck(wb):
        g = wb["Goals"]
        g.cell(2, col("Goals", "target_value"), 5)  # fine by itself …
        g.cell(2, col("Goals", "version"), 2)  # … but based on an old version
        g.append([None, None, "1 000 SOMMARJOBB", None, "partner_reported", "persons", None, 0, 2022, 10, 2025])
        g.append([None, None, "X", None, "partner_reported", "persons", None, 0, 2025, 10, 2022, None, None, None,
                  "Volvo", None, "1480C0010"])
        g.append([99, 1, "Y", None, "partner_reported", "persons", None, 0, 2022, 10, 2025])
        m = wb["Measurements"]
        m.cell(2, col("Measurements", "value"), 301)  # approved: cannot change
        m.cell(3, col("Measurements", "version"), 1)  # stale draft …
        m.cell(3, col("Measurements", "value"), 1)  # … that was changed
        m.append([None, None, None, None, "2024", 1])  # no goal
        m.append([None, None, 11, None, "2024", True])  # a boolean is not a number
        a = wb["Activities"]
        a.cell(2, col("Activities", "goals"), "okänt mål")
        a.cell(2, col("Activities", "outputs"), "bara text")
        a.cell(2, col("Activities", "status"), "klar")

    p, problems = plan(edit(downloaded(), wreck))
    got = sorted(((x.sheet, x.row, x.column) for x in problems), key=str)
    assert got == sorted([
        ("Goals", 2, "version"), ("Goals", 3, "title"), ("Goals", 4, "responsible_organisation"),
        ("Goals", 4, "areas"), ("Goals", 4, None), ("Goals", 5, "id"),
        ("Measurements", 2, "value"), ("Measurements", 3, "version"), ("Measurements", 4, "goal_title"),
        ("Measurements", 5, "value"),
        ("Activities", 2, "status"), ("Activities", 2, "goals"), ("Activities", 2, "outputs"),
    ], key=str)
    reasons = {(x.sheet, x.row, x.column): x.reason for x in problems}
    assert "changed by someone else" in reasons[("Goals", 2, "version")]
    assert "(id 11)" in reasons[("Goals", 3, "title")]
    assert "after the baseline" in reasons[("Goals", 4, None)]
    assert "is approved and cannot be changed" in reasons[("Measurements", 2, "value")]
    assert "give goal_id or goal_title" in reasons[("Measurements", 4, "goal_title")]
    assert reasons[("Activities", 2, "status")].startswith("'klar' is not one of")
    assert all(x.file == "t.xlsx" for x in problems)
    ordered = excel.sort_problems(problems)
    assert str(ordered[0]).startswith("t.xlsx, sheet Goals, row 2, column version:")
    assert [(x.sheet, x.row) for x in ordered][-3:] == [("Activities", 2)] * 3


def test_statistics_measurements_cannot_be_edited_and_measurements_cannot_move():
    ctx = context(measurements={21: {"version": 1, "state": "approved", "from_statistics": True, "data": MEAS}},
                  goals={11: {"version": 3, "data": GOAL}, 12: {"version": 1, "data": {**GOAL, "title": "B"}}})

    def change(wb):
        wb["Measurements"].cell(2, col("Measurements", "value"), 1)
        wb["Measurements"].append([21, 1, 12, None, "2023", 300])

    _, problems = plan(edit(downloaded(), change), ctx)
    reasons = {(x.row, x.column): x.reason for x in problems}
    assert "official statistics" in reasons[(2, "value")]
    assert "another goal" in reasons[(4, "goal_id")]


def test_required_values_and_types():
    def change(wb):
        wb["Goals"].append([None, None, None, None, "statistic", "persons", None, "noll", 2022.5, 10, 2025])
        wb["Activities"].append([None, None, "A", None, None, "31/12/2024"])

    _, problems = plan(edit(downloaded(), change))
    got = {(x.sheet, x.row, x.column): x.reason for x in problems}
    assert got[("Goals", 3, "title")] == "a value is required"
    assert got[("Goals", 3, "baseline_value")] == "expected a number, got 'noll'"
    assert got[("Goals", 3, "baseline_year")] == "expected a whole number, got 2022.5"
    assert got[("Activities", 3, "start_date")] == "expected a date (YYYY-MM-DD), got '31/12/2024'"


@pytest.mark.parametrize("data", [b"", b"hello", b"PK\x03\x04", b"<html></html>"])
def test_not_a_workbook(data):
    book, problems = excel.read_workbook(data, "x.xlsx")
    assert len(problems) == 1 and problems[0].row is None
    assert problems[0].reason.startswith("the file is not an Excel workbook")


def test_areas_and_outputs_text():
    assert excel.parse_areas("1480C3390 DeSO2025; 1480R011 (RegSO2025)\n") == [
        {"code": "1480C3390", "division": "DeSO2025"}, {"code": "1480R011", "division": "RegSO2025"}]
    assert excel.parse_areas("  ") is None
    with pytest.raises(ValueError):
        excel.parse_areas("1480C3390")
    assert excel.format_areas([{"code": "1480C3390", "division": "DeSO2025"}]) == "1480C3390 DeSO2025"
    outs = [{"name": "summer jobs offered", "value": 252.0, "unit": None}, {"name": "hours", "value": 1.5, "unit": "h"}]
    assert excel.format_outputs(outs) == "summer jobs offered: 252; hours: 1.5 h"
    assert excel.parse_outputs(excel.format_outputs(outs)) == outs
    assert excel.parse_outputs(None) == []
