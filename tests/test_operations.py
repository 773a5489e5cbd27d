"""Work-order KPIs, duty rosters and superförvaltning KPIs: hand-computed values and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from handslag.errors import ValidationFailed
from handslag.operations import (
    DEFAULT_KPIS,
    KpiDefinition,
    compute_kpis,
    normalise_category,
    normalise_period,
    parse_times,
    read_kpi_values,
    read_rosters,
    read_work_orders,
    roster_coverage,
    work_order_kpis,
)

ORDERS = pd.DataFrame({
    "area_code": ["A"] * 6 + ["B"],
    "category": ["graffiti", "graffiti", "littering", "vandalism", "broken_lock", "graffiti", "graffiti"],
    "reported_at": pd.to_datetime(["2024-01-03 10:00", "2024-01-05 10:00", "2024-01-20 08:00", "2024-02-01 12:00",
                                   "2024-02-02 12:00", "2024-02-27 12:00", "2024-01-10 09:00"]),
    "resolved_at": pd.to_datetime(["2024-01-03 20:00", "2024-01-07 10:00", None, "2024-02-01 13:00", None,
                                   "2024-03-01 12:00", "2024-01-10 10:00"]),
})


def test_monthly_work_order_kpis_by_hand():
    out = work_order_kpis(ORDERS)
    a = out[out["area_code"] == "A"].set_index("month")
    # as_of = latest time in the data = 2024-03-01 12:00
    # January: orders 10 h and 48 h resolved (median 29 h), littering open since 20 Jan (due, not met)
    assert a.loc["2024-01", ["reported", "resolved", "due", "within_sla", "backlog_end"]].tolist() == [3, 2, 3, 1, 1]
    assert a.loc["2024-01", "median_hours"] == pytest.approx(29.0)
    assert a.loc["2024-01", "within_sla_share"] == pytest.approx(100 / 3)
    # February: 1 h, open lock (due), 72 h → median 36.5; open at end of February: littering, lock, graffiti
    assert a.loc["2024-02", ["reported", "resolved", "due", "within_sla", "backlog_end"]].tolist() == [3, 2, 3, 1, 3]
    assert a.loc["2024-02", "median_hours"] == pytest.approx(36.5)
    # March: nothing new; the graffiti of 27 Feb was resolved on 1 March
    assert a.loc["2024-03", ["reported", "backlog_end"]].tolist() == [0, 2]
    assert np.isnan(a.loc["2024-03", "within_sla_share"])
    b = out[out["area_code"] == "B"]
    assert b["month"].tolist() == ["2024-01", "2024-02", "2024-03"] and b["within_sla_share"].iloc[0] == 100.0


def test_sla_per_category_and_open_orders_inside_their_window():
    out = work_order_kpis(ORDERS[ORDERS["area_code"] == "A"], by_category=True,
                          sla_hours={"graffiti": 72, "broken_lock": 24 * 40}, as_of="2024-02-03 12:00")
    g = out[out["category"] == "graffiti"].set_index("month")
    assert g.loc["2024-01", ["due", "within_sla"]].tolist() == [2, 2]  # 48 h is within 72 h
    assert g.loc["2024-01", "sla_hours"] == 72
    lock = out[out["category"] == "broken_lock"].set_index("month")
    # the lock is open but inside its 40-day SLA on 3 February: not due, not counted either way
    assert lock.loc["2024-02", ["reported", "due", "within_sla"]].tolist() == [1, 0, 0]
    # the graffiti resolved on 1 March counts as open on the as_of date
    assert "2024-03" not in g.index


def test_parse_times_local_and_offsets():
    s = parse_times(pd.Series(["2024-03-01 14:05", "2024-03-01T12:05:00Z", "2024-07-01T10:00:00+02:00", "igår",
                               None]))
    assert s.iloc[0] == pd.Timestamp("2024-03-01 14:05")
    assert s.iloc[1] == pd.Timestamp("2024-03-01 13:05")  # CET = UTC+1
    assert s.iloc[2] == pd.Timestamp("2024-07-01 10:00")  # CEST
    assert s.iloc[3:].isna().all()


def test_category_names():
    assert normalise_category(" Klotter ") == "graffiti"
    assert normalise_category("Trasigt lås") == "broken_lock"
    assert normalise_category("Skadegörelse") == "vandalism"
    assert normalise_category("Trasig dörr") == "trasig_dörr"


def test_work_order_file_problems(tmp_path):
    path = tmp_path / "felanmalan.csv"
    path.write_text(
        "ärendenummer;kategori;anmäld;åtgärdad;område;lon;lat\n"
        "1;klotter;2024-01-02 10:00;2024-01-01 09:00;1480C1010;;\n"  # resolved before reported
        "2;klotter;2024-01-02 10:00;;;18.06;59.33\n"  # Stockholm: in Sweden, but in no loaded area
        "3;klotter;2024-01-02 10:00;;;2.35;48.86\n"  # Paris
        "4;klotter;2024-01-02;;0000X0000;;\n"  # unknown area
        "4;;förra veckan;;1480C1010;;\n"  # duplicate id, blank category, bad date
        "6;klotter;2024-01-02 10:00;;;;\n"  # nowhere
        "7;klotter;2024-01-02 10:00;;;57.7;11.97\n")  # swapped
    import geopandas as gpd
    from shapely.geometry import box

    areas = gpd.GeoDataFrame({"code": ["1480C1010"], "division": ["DeSO2025"], "level": ["deso"]},
                             geometry=[box(310000, 6390000, 330000, 6410000)], crs="EPSG:3006")
    with pytest.raises(ValidationFailed) as info:
        read_work_orders(path, area_check=lambda codes: {c: "unknown area code" for c in codes if c != "1480C1010"},
                         areas=areas)
    got = {(p.row, p.column): p.reason for p in info.value.problems}
    assert got[(2, "åtgärdad")] == "resolved before reported (2024-01-01 09:00:00 < 2024-01-02 10:00:00)"
    assert got[(3, "lon")].startswith("not inside any area of the loaded polygons (18.06000 °E, 59.33000 °N)")
    assert got[(4, "lon")] == "coordinates outside Sweden (2.3500 °E, 48.8600 °N)"
    assert got[(5, "område")] == "unknown area code: 0000X0000"
    assert got[(6, "ärendenummer")] == "duplicate work order id (first in row 5)"
    assert got[(6, "kategori")] == "category is blank"
    assert got[(6, "anmäld")] == "reported time 'förra veckan' is not a date and time"
    assert got[(7, "område")] == "no area code, property id or coordinates"
    assert "latitude and longitude look swapped" in got[(8, "lon")]


def test_work_orders_by_property_and_coordinates(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    areas = gpd.GeoDataFrame({"code": ["D1", "R1"], "division": ["DeSO2025", "RegSO2025"], "level": ["deso", "regso"]},
                             geometry=[box(310000, 6390000, 330000, 6410000)] * 2, crs="EPSG:3006")
    props = pd.DataFrame({"property_ref": ["P1"], "deso_code": ["D9"], "deso_division": ["DeSO2025"],
                          "regso_code": ["R9"], "regso_division": ["RegSO2025"]})
    path = tmp_path / "wo.csv"
    path.write_text("id,category,reported_at,resolved_at,property_id,x,y\n"
                    "a,Klotter,2024-01-02 10:00,2024-01-02 11:00,P1,,\n"
                    "b,Nedskräpning,2024-01-03 10:00,,,320000,6400000\n"
                    "c,graffiti,2024-01-03 10:00,,P2,,\n")
    with pytest.raises(ValidationFailed) as info:
        read_work_orders(path, properties=props, areas=areas)
    assert [(p.row, p.column, p.reason) for p in info.value.problems] == [
        (4, "property_id", "unknown property id 'P2' (not in the property register)")]
    path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")
    parsed = read_work_orders(path, properties=props, areas=areas)
    f = parsed.frame
    assert f["category"].tolist() == ["graffiti", "littering"]
    assert f["deso_code"].tolist() == ["D9", "D1"] and f["regso_code"].tolist() == ["R9", "R1"]
    assert parsed.counts["by_property"] == 1 and parsed.counts["by_coordinates"] == 1


# --- rosters ----------------------------------------------------------------------------------------------

def test_roster_coverage_by_hand(tmp_path):
    path = tmp_path / "schema.csv"
    path.write_text("area_code,datum,roll,planerade_timmar,bemannade_timmar\n"
                    "A,2024-03-01,Trygghetsvärd,16,16\nA,2024-03-02,Trygghetsvärd,16,8\n"
                    "A,2024-03-03,trygghetsvard,16,20\nA,2024-04-01,trygghetsvard,8,0\n"
                    "A,2024-03-01,lokal närvaro,8,8\n")
    parsed = read_rosters(path)
    out = roster_coverage(parsed.frame)
    row = out[(out["role"] == "trygghetsvard") & (out["month"] == "2024-03")].iloc[0]
    assert (row["planned_hours"], row["covered_hours"]) == (48, 44)
    assert row["coverage"] == pytest.approx(100 * 44 / 48)
    assert (row["days_planned"], row["days_fully_covered"]) == (3, 2)
    assert out[(out["month"] == "2024-04")]["coverage"].iloc[0] == 0.0
    assert set(out["role"]) == {"trygghetsvard", "lokal_narvaro"}


def test_roster_problems(tmp_path):
    path = tmp_path / "schema.csv"
    path.write_text("area_code,date,planned_hours,covered_hours\nA,2024-03-01,16,-1\nA,2024-13-01,16,1\n"
                    "A,2024-03-01,8,8\nB,2024-03-02,x,1\n")
    with pytest.raises(ValidationFailed) as info:
        read_rosters(path, area_check=lambda codes: {c: "unknown area code" for c in codes if c != "A"})
    got = {(p.row, p.column, p.reason) for p in info.value.problems}
    assert got == {(2, "covered_hours", "hours must be a number ≥ 0"), (3, "date", "date must be YYYY-MM-DD"),
                   (4, "date", "this area, date and role appear twice"), (5, "area_code", "unknown area code: B"),
                   (5, "planned_hours", "hours must be a number ≥ 0")}


# --- KPIs -------------------------------------------------------------------------------------------------

def test_the_eight_factors_are_defined():
    assert sorted(d.factor for d in DEFAULT_KPIS) == list(range(1, 9))
    assert {d.measure for d in DEFAULT_KPIS} >= {"manual", "roster_coverage", "work_orders_within_sla",
                                                  "work_orders_per_100_flats"}
    with pytest.raises(ValueError, match="roster_coverage needs a role"):
        KpiDefinition("x", "X", "%", measure="roster_coverage")
    with pytest.raises(ValueError, match="factor must be 1–8"):
        KpiDefinition("x", "X", "%", factor=9)


def test_compute_kpis_by_hand():
    shifts = pd.DataFrame({"area_code": ["A", "A"], "day": pd.to_datetime(["2024-01-05", "2024-01-06"]).date,
                           "role": ["trygghetsvard", "trygghetsvard"], "planned_hours": [16.0, 16.0],
                           "covered_hours": [16.0, 12.0]})
    manual = pd.DataFrame({"kpi": ["f1_trygghetssakrade_fastigheter"], "area_code": ["A"], "period": ["2024"],
                           "value": [87.5], "numerator": [35.0], "denominator": [40.0]})
    out = compute_kpis(DEFAULT_KPIS, work_orders=ORDERS[ORDERS["area_code"] == "A"], shifts=shifts, manual=manual,
                       flats={"A": 400})
    get = out.set_index(["kpi", "period"])
    assert get.loc[("f1_trygghetssakrade_fastigheter", "2024"), "value"] == 87.5
    assert get.loc[("f4_trygghetsvardar", "2024-01"), "value"] == pytest.approx(100 * 28 / 32)
    # graffiti + vandalism within 24 h: January 1 of 2 (10 h yes, 48 h no); February 1 of 2 (1 h yes, 72 h no)
    assert get.loc[("f7_klotter_skadegorelse_24h", "2024-01"), ["value", "numerator", "denominator"]].tolist() == \
        [50.0, 1, 2]
    assert get.loc[("f7_klotter_skadegorelse_24h", "2024-02"), "value"] == 50.0
    # one littering order in January on 400 flats → 0.25 per 100 flats
    assert get.loc[("f8_nedskrapning", "2024-01"), "value"] == pytest.approx(0.25)
    assert "f2_lokal_narvaro" not in out["kpi"].tolist()  # no roster for that role


def test_periods():
    assert [normalise_period(p) for p in ("2024", "2024Q3", "2024-K2", "2024 q1", "2024-3", "202412", "2024-13",
                                          "24")] == ["2024", "2024Q3", "2024Q2", "2024Q1", "2024-03", "2024-12",
                                                     None, None]


def test_kpi_value_file(tmp_path):
    path = tmp_path / "kpi.csv"
    path.write_text("kpi,area_code,period,value,numerator,denominator\n"
                    "f1_trygghetssakrade_fastigheter,A,2024,,35,40\n"
                    "f3_trygghetsvandringar_dialoger,A,2024Q1,4,,\n"
                    "nope,A,2024,1,,\nf3_trygghetsvandringar_dialoger,A,2024/1,1,,\n")
    known = [d.code for d in DEFAULT_KPIS]
    with pytest.raises(ValidationFailed) as info:
        read_kpi_values(path, known_kpis=known)
    assert {(p.row, p.reason) for p in info.value.problems} == {
        (4, "unknown KPI 'nope'"), (5, "period must be YYYY, YYYYQn or YYYY-MM")}
    path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")
    frame = read_kpi_values(path, known_kpis=known)
    assert frame["value"].tolist() == [87.5, 4.0] and frame["period"].tolist() == ["2024", "2024Q1"]
