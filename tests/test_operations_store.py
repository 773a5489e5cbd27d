"""Operations in the store (SQLite and PostgreSQL), the /areas/{code}/operations API and the CLI."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from shapely.geometry import box
from sqlalchemy import func, select

from handslag.errors import NotFound, ValidationFailed
from handslag.store import operations_repo as repo
from handslag.store.models import Area, ImportLog
from handslag.store.models.operations import DutyShift, KpiValue, WorkOrder

REGSO, DESO_A, DESO_B = "1480R001", "1480C1010", "1480C1020"
WORK_ORDERS = (
    "ärende;kategori;anmäld;åtgärdad;område;x;y\n"
    f"1;Klotter;2024-01-03 10:00;2024-01-03 20:00;{DESO_A};;\n"
    f"2;klotter;2024-01-05 10:00;2024-01-07 10:00;{DESO_A};;\n"
    f"3;Nedskräpning;2024-01-20 08:00;;{DESO_B};;\n"
    "4;Skadegörelse;2024-02-01 12:00;2024-02-01 13:00;;315000;6395000\n"  # point in DESO_A
    f"5;Trasigt lås;2024-02-02 12:00;;{REGSO};;\n"
    f"6;Klotter;2024-02-27 12:00;2024-03-01 12:00;{DESO_B};;\n"
)


def add_areas(db) -> None:
    with db.session() as s:
        s.add_all([
            Area(code=REGSO, division="RegSO2025", level="regso", name="Bergsjön",
                 geometry_sweref=box(310000, 6390000, 330000, 6410000).wkb),
            Area(code=DESO_A, division="DeSO2025", level="deso", parent_code=REGSO, parent_division="RegSO2025",
                 geometry_sweref=box(310000, 6390000, 320000, 6410000).wkb),
            Area(code=DESO_B, division="DeSO2025", level="deso", parent_code=REGSO, parent_division="RegSO2025",
                 geometry_sweref=box(320000, 6390000, 330000, 6410000).wkb)])


def test_work_orders_rosters_and_kpis(db, tmp_path):
    add_areas(db)
    path = tmp_path / "felanmalan.csv"
    path.write_text(WORK_ORDERS)
    report = repo.import_work_orders(db, path, source="Incit", user="driftchef")
    assert report.counts["inserted"] == 6 and report.counts["by_coordinates"] == 1
    assert repo.import_work_orders(db, path, source="Incit").status == "unchanged"
    # a later export of the same system: order 3 is now resolved → updated, not duplicated
    path.write_text(WORK_ORDERS.replace(f"3;Nedskräpning;2024-01-20 08:00;;{DESO_B}",
                                        f"3;Nedskräpning;2024-01-20 08:00;2024-01-20 12:00;{DESO_B}"))
    report = repo.import_work_orders(db, path, source="Incit")
    assert (report.counts["inserted"], report.counts["updated"]) == (0, 6)
    rosters = tmp_path / "schema.csv"
    rosters.write_text(f"area_code,date,role,planned_hours,covered_hours\n{DESO_A},2024-01-05,trygghetsvard,16,16\n"
                       f"{DESO_B},2024-01-05,trygghetsvard,16,8\n")
    assert repo.import_rosters(db, rosters).counts["inserted"] == 2
    values = tmp_path / "kpi.csv"
    values.write_text(f"kpi,area_code,period,value\nf3_trygghetsvandringar_dialoger,{REGSO},2024Q1,5\n")
    assert repo.import_kpi_values(db, values, user="anna").counts["inserted"] == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(WorkOrder)) == 6
        order4 = s.scalar(select(WorkOrder).where(WorkOrder.order_ref == "4"))
        assert (order4.deso_code, order4.regso_code, order4.category) == (DESO_A, REGSO, "vandalism")
        order5 = s.scalar(select(WorkOrder).where(WorkOrder.order_ref == "5"))
        assert (order5.area_code, order5.regso_code, order5.deso_code) == (REGSO, REGSO, None)
        repo.set_sla(s, "Trasigt lås", 48)
        repo.link_kpi_to_goal(s, "f7_klotter_skadegorelse_24h", 17)
        repo.link_kpi_to_goal(s, "f4_trygghetsvardar", 18, area_code=REGSO)
        repo.link_kpi_to_goal(s, "f4_trygghetsvardar", 19, area_code=DESO_A)
    with db.session() as s:
        view = repo.area_operations(s, REGSO)
        deso_view = repo.area_operations(s, DESO_A, by_category=True)
    wo = {r["month"]: r for r in view["work_orders"]}
    # the RegSO includes both DeSO and the order given directly for the RegSO
    assert [wo[m]["reported"] for m in ("2024-01", "2024-02", "2024-03")] == [3, 3, 0]
    assert wo["2024-01"]["median_hours"] == pytest.approx(10.0)  # 10 h, 48 h, 4 h
    assert wo["2024-01"]["within_sla"] == 2 and wo["2024-01"]["due"] == 3
    assert wo["2024-02"]["backlog_end"] == 2 and wo["2024-03"]["backlog_end"] == 1
    assert view["sla_hours"]["broken_lock"] == 48.0
    assert view["rosters"] == [{"role": "trygghetsvard", "month": "2024-01", "planned_hours": 32.0,
                                "covered_hours": 24.0, "coverage": 75.0, "days_planned": 2,
                                "days_fully_covered": 1}]
    kpis = {(k["kpi"], k["period"]): k for k in view["kpis"]}
    assert kpis[("f4_trygghetsvardar", "2024-01")]["value"] == 75.0
    assert kpis[("f4_trygghetsvardar", "2024-01")]["goal_ids"] == [18]
    assert kpis[("f7_klotter_skadegorelse_24h", "2024-01")]["goal_ids"] == [17]
    assert kpis[("f3_trygghetsvandringar_dialoger", "2024Q1")]["value"] == 5.0
    assert {r["category"] for r in deso_view["work_orders"]} == {"graffiti", "vandalism"}


def test_failed_operations_imports_leave_nothing(db, tmp_path):
    add_areas(db)
    path = tmp_path / "fel.csv"
    path.write_text(WORK_ORDERS + f"7;klotter;2024-03-02 10:00;2024-03-01 10:00;{DESO_A};;\n")
    with pytest.raises(ValidationFailed) as info:
        repo.import_work_orders(db, path)
    assert [(p.row, p.column) for p in info.value.problems] == [(8, "åtgärdad")]
    values = tmp_path / "kpi.csv"
    values.write_text(f"kpi,area_code,period,value\nf7_klotter_skadegorelse_24h,{DESO_A},2024-01,90\n")
    with pytest.raises(ValidationFailed, match="rejected") as info:
        repo.import_kpi_values(db, values)
    assert "computed from work orders" in info.value.problems[0].reason
    rosters = tmp_path / "schema.csv"
    rosters.write_text("area_code,date,planned_hours,covered_hours\n9999R999,2024-01-05,16,16\n")
    with pytest.raises(ValidationFailed):
        repo.import_rosters(db, rosters)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(WorkOrder)) == 0
        assert s.scalar(select(func.count()).select_from(KpiValue)) == 0
        assert s.scalar(select(func.count()).select_from(DutyShift)) == 0
        assert [log.status for log in s.scalars(select(ImportLog))] == ["failed"] * 3
        with pytest.raises(NotFound):
            repo.area_operations(s, "0000C0000")


def test_operations_api(api_client, db):
    add_areas(db)
    r = api_client.post("/api/v1/operations/work-orders/import", data={"source": "Incit"},
                    files={"file": ("felanmalan.csv", WORK_ORDERS.encode("utf-8"), "text/csv")})
    assert r.status_code == 200, r.text
    r = api_client.put("/api/v1/operations/categories/graffiti", json={"sla_hours": 72})
    assert r.json() == {"category": "graffiti", "name_sv": None, "sla_hours": 72.0}
    r = api_client.get(f"/api/v1/areas/{DESO_A}/operations", params={"from": "2024-01", "to": "2024-01"})
    assert r.status_code == 200
    data = r.json()
    assert data["area"]["code"] == DESO_A
    assert data["work_orders"] == [{"month": "2024-01", "reported": 2, "resolved": 2, "median_hours": 29.0,
                                    "due": 2, "within_sla": 2, "within_sla_share": 100.0, "backlog_end": 0,
                                    "sla_hours": None}]
    r = api_client.get(f"/api/v1/areas/{DESO_A}/operations", params={"format": "xlsx"})
    assert r.status_code == 200
    sheets = pd.read_excel(io.BytesIO(r.content), sheet_name=None)
    assert set(sheets) == {"work_orders", "rosters", "kpis"}
    r = api_client.get(f"/api/v1/areas/{DESO_A}/operations", params={"format": "csv", "table": "kpis"})
    assert "kpi" in pd.read_csv(io.StringIO(r.content.decode("utf-8-sig"))).columns
    r = api_client.get("/api/v1/operations/kpis")
    assert [k["factor"] for k in r.json()["items"]] == list(range(1, 9))
    r = api_client.put("/api/v1/operations/kpis/f9_belysning", json={"name_sv": "Trasig belysning åtgärdad",
                                                                 "unit": "%", "measure": "work_orders_within_sla",
                                                                 "categories": ["Belysning"]})
    assert r.status_code == 200 and r.json()["categories"] == ["lighting"]
    r = api_client.post("/api/v1/operations/kpis/f1_trygghetssakrade_fastigheter/values",
                    json={"area_code": REGSO, "period": "2024", "value": 80})
    assert r.status_code == 201 and r.json()["division"] == "RegSO2025"
    r = api_client.post("/api/v1/operations/kpis/f7_klotter_skadegorelse_24h/values",
                    json={"area_code": REGSO, "period": "2024", "value": 80})
    assert r.status_code == 400
    r = api_client.post("/api/v1/operations/kpis/f1_trygghetssakrade_fastigheter/goals", json={"goal_id": 3})
    assert r.status_code == 201
    assert api_client.get("/api/v1/areas/0000C0000/operations").status_code == 404
    bad = "id,category,reported_at,area_code\n1,klotter,2024-01-01,0000C0000\n"
    r = api_client.post("/api/v1/operations/work-orders/import", files={"file": ("wo.csv", bad, "text/csv")})
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [{"file": "wo.csv", "row": 2, "column": "area_code", "sheet": None,
                                             "reason": "unknown area code: 0000C0000"}]


def test_cli_operations(sqlite_db, tmp_path):
    from typer.testing import CliRunner

    from handslag.cli import app

    add_areas(sqlite_db)
    url = sqlite_db.url
    path = tmp_path / "felanmalan.csv"
    path.write_text(WORK_ORDERS)
    runner = CliRunner()
    r = runner.invoke(app, ["operations", "import", str(path), "--kind", "work-orders", "--database-url", url])
    assert r.exit_code == 0, r.output
    assert "inserted: 6" in r.stdout
    r = runner.invoke(app, ["operations", "sla", "klotter", "12", "--database-url", url])
    assert r.stdout.strip() == "graffiti: 12 h"
    r = runner.invoke(app, ["operations", "report", REGSO, "--format", "csv", "--database-url", url])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(io.StringIO(r.stdout))
    assert table["reported"].tolist() == [3, 3, 0]
    out = tmp_path / "drift.xlsx"
    r = runner.invoke(app, ["operations", "report", REGSO, "--output", str(out), "--database-url", url])
    assert r.exit_code == 0 and set(pd.read_excel(out, sheet_name=None)) == {"work_orders", "rosters", "kpis"}
    r = runner.invoke(app, ["operations", "kpis", "--format", "json", "--database-url", url])
    assert r.exit_code == 0 and len(__import__("json").loads(r.stdout)) == 8
    r = runner.invoke(app, ["operations", "link-goal", "f4_trygghetsvardar", "5", "--area", REGSO,
                            "--database-url", url])
    assert r.stdout.strip() == f"linked f4_trygghetsvardar → goal 5 for {REGSO}"
    bad = tmp_path / "fel.csv"
    bad.write_text("id,category,reported_at,resolved_at,area_code\n9,klotter,2024-01-02,2024-01-01,1480C1010\n")
    r = runner.invoke(app, ["operations", "import", str(bad), "--kind", "work-orders", "--database-url", url])
    assert r.exit_code == 2
    assert "fel.csv, row 2, column resolved_at: resolved before reported" in r.stderr
