"""The area profile's evidence sections (``handslag.web.pages_area_extra``): survey indices with intervals,
operational KPIs, partnerships and goals covering the area.

Hand-made data on the empty ``db``: RegSO "Bergsjön" with two DeSO, two survey waves imported from files
(40 respondents in one DeSO, 8 in the other → suppressed), work orders over 14 months, a roster and a
manual KPI value imported through the operations repository, the demo partnership (on the two DeSO), a
partnership on a Police-list area and one on the RegSO. The values shown must equal the repositories'
results formatted as on the page; anonymous visitors see none of it; a partner contributor only their own
organisation's partnerships.
"""

from __future__ import annotations

import html
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from conftest import login_client
from handslag.store import goals_repo, operations_repo, surveys_repo
from handslag.store.models import Area, PoliceArea, PoliceAreaOverlap
from handslag.surveys import instrument_from_records

REGSO, DESO_A, DESO_B = "1480R099", "1480C3390", "1480C3400"
INSTRUMENT = instrument_from_records("trygghet", [
    {"question_id": "q1", "scale_min": 1, "scale_max": 4, "index": "trygghet", "dont_know": "9"},
    {"question_id": "q2", "scale_min": 1, "scale_max": 4, "index": "trygghet", "direction": "down"},
    {"question_id": "q3", "scale_min": 1, "scale_max": 5, "index": "service"},
])


def survey_file(path, *, seed: int, n_a: int = 40, n_b: int = 8, shift: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_a + n_b):
        area = DESO_A if i < n_a else DESO_B
        for q, top in (("q1", 4), ("q2", 4), ("q3", 5)):
            rows.append((f"r{seed}-{i}", area, q, int(min(top, rng.integers(1, top + 1) + shift))))
    pd.DataFrame(rows, columns=["respondent_id", "area_code", "question_id", "answer"]).to_csv(path, index=False)
    return path


def work_orders_file(path):
    """Two orders a month from 2023-01 to 2024-02 in DESO_A; the second of each month takes 30 h, the last
    one is still open."""
    lines = ["ärende;kategori;anmäld;åtgärdad;område"]
    months = pd.period_range("2023-01", "2024-02", freq="M")
    for i, m in enumerate(months):
        lines.append(f"{2 * i + 1};Klotter;{m}-03 10:00;{m}-03 14:00;{DESO_A}")
        resolved = "" if m == months[-1] else f"{m}-11 16:00"
        lines.append(f"{2 * i + 2};Nedskräpning;{m}-10 10:00;{resolved};{DESO_A}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def area_data(db, tmp_path) -> dict:
    with db.session() as s:
        s.add_all([Area(code=REGSO, division="RegSO2025", level="regso", name="Bergsjön", kommun_code="1480"),
                   Area(code=DESO_A, division="DeSO2025", level="deso", name="Bergsjön sydöstra", kommun_code="1480",
                        parent_code=REGSO, parent_division="RegSO2025"),
                   Area(code=DESO_B, division="DeSO2025", level="deso", name="Bergsjön södra", kommun_code="1480",
                        parent_code=REGSO, parent_division="RegSO2025")])
        police = PoliceArea(edition=2023, panel_id=7, name="Bergsjön", level="sarskilt_utsatt", source="test",
                            kommun_code="1480")
        s.add(police)
        s.flush()
        s.add_all([PoliceAreaOverlap(police_area_id=police.id, area_code=DESO_B, division="DeSO2025",
                                     share_of_area=0.8, share_of_police_area=0.4),
                   PoliceAreaOverlap(police_area_id=police.id, area_code=DESO_A, division="DeSO2025",
                                     share_of_area=0.3, share_of_police_area=0.2)])
        surveys_repo.save_instrument(s, INSTRUMENT)
    surveys_repo.import_survey_file(db, survey_file(tmp_path / "svar23.csv", seed=1), wave="Trygghet 2023",
                                    new_wave=surveys_repo.NewWave("trygghet", date(2023, 10, 1), sample_size=100))
    surveys_repo.import_survey_file(db, survey_file(tmp_path / "svar24.csv", seed=2, shift=1),
                                    wave="Trygghet 2024",
                                    new_wave=surveys_repo.NewWave("trygghet", date(2024, 10, 1), sample_size=100))
    operations_repo.import_work_orders(db, work_orders_file(tmp_path / "felanmalan.csv"), source="Incit")
    rosters = tmp_path / "schema.csv"
    rosters.write_text(f"area_code,date,role,planned_hours,covered_hours\n{DESO_A},2024-02-05,trygghetsvard,16,12\n"
                       f"{DESO_A},2024-02-06,trygghetsvard,16,16\n")
    operations_repo.import_rosters(db, rosters)
    kpi = tmp_path / "kpi.csv"
    kpi.write_text(f"kpi,area_code,period,value\nf3_trygghetsvandringar_dialoger,{DESO_A},2024Q1,5\n")
    operations_repo.import_kpi_values(db, kpi)
    with db.session() as s:
        demo = goals_repo.create_demo(s)
        other = goals_repo.create_organisation(s, {"name": "Bostadsbolaget", "type": "public_housing"},
                                               actor="setup")
        police_p = goals_repo.create_partnership(s, {
            "name": "Handslag Polisområdet", "period_start": "2024-01-01", "period_end": "2026-12-31",
            "areas": [{"code": "7", "division": "Police2023"}],
            "members": [{"organisation_id": other["id"], "role": "lead"}]}, actor="setup")
        police_goal = goals_repo.create_goal(s, {
            "partnership_id": police_p["id"], "title": "40 trygghetsvandringar", "kind": "partner_reported",
            "unit": "persons", "measure": "change", "baseline_value": 0, "baseline_year": 2023,
            "target_value": 40, "target_year": 2026}, actor="setup")
        regso_p = goals_repo.create_partnership(s, {
            "name": "Handslag RegSO", "period_start": "2024-01-01", "period_end": "2026-12-31",
            "areas": [{"code": REGSO, "division": "RegSO2025"}],
            "members": [{"organisation_id": demo["organisations"]["saab"], "role": "lead"}]}, actor="setup")
    return {"demo": demo, "other": other, "police_p": police_p, "police_goal": police_goal, "regso_p": regso_p}


def text_of(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    body = html.unescape(re.sub(r"<[^>]+>", " ", body))
    return re.sub(r"\s+", " ", body.replace("\u00a0", " ")).strip()


def section(page: str, testid: str) -> str:
    m = re.search(rf'<section[^>]*data-testid="{testid}".*?</section>', page, flags=re.S)
    assert m, f"no section {testid}"
    return m.group(0)


def dec(value: float) -> str:
    """As the page shows a number: one decimal, decimal comma, real minus sign."""
    return f"{value:.1f}".replace(".", ",").replace("-", "−")


def signed(value: float) -> str:
    text = dec(value)
    return "+" + text if value > 0 and text != "0,0" else text


def cells(table_row: str) -> list[str]:
    return [text_of(c) for c in re.findall(r"<t[hd][^>]*>.*?</t[hd]>", table_row, flags=re.S)]


def index_row(page: str, method: str, index: str) -> list[str]:
    table = re.search(rf'<table class="survey-index[^"]*" data-method="{method}">.*?</table>', page, flags=re.S)
    assert table, f"no table for {method}"
    row = re.search(rf'<tr data-index="{index}">.*?</tr>', table.group(0), flags=re.S)
    assert row, f"no row {index} in {method}"
    return cells(row.group(0))


def test_survey_indices_equal_the_repository(client, db, area_data):
    admin = login_client(client, db, "admin1", "admin")
    page = admin.get(f"/omrade/{DESO_A}", params={"division": "DeSO2025"})
    assert page.status_code == 200
    with db.session() as s:
        overview = surveys_repo.area_survey_overview(s, DESO_A, division="DeSO2025", include_questions=False)
    latest = overview["waves"][-1]
    assert latest["name"] == "Trygghet 2024" and latest["area_respondents"] == 40
    changes = {(c["item"], c["method"]): c for c in overview["changes"] if c["item_type"] == "index"}
    checked = 0
    for r in latest["results"]:
        if r["item_type"] != "index":
            continue
        shown = index_row(page.text, r["method"], r["item"])
        assert not r["suppressed"]
        assert shown[1] == dec(r["value"])
        assert shown[2] == f"[{dec(r['ci_low'])}; {dec(r['ci_high'])}]"
        assert shown[3] == str(r["n"]) == "40"
        c = changes[(r["item"], r["method"])]
        assert (c["wave_a"], c["wave_b"]) == ("Trygghet 2023", "Trygghet 2024")
        assert shown[4] == signed(c["difference"])
        star = " *" if c["ci_low"] > 0 or c["ci_high"] < 0 else ""
        assert shown[5] == f"[{dec(c['ci_low'])}; {dec(c['ci_high'])}]{star}"
        checked += 1
    assert checked == 4  # two indices × two methods, in separate tables
    surveys = text_of(section(page.text, "area-surveys"))
    assert "Andel positiva svar (procent positiva)" in surveys and "Linjärt medelvärde omräknat till 0–100" in surveys
    assert "Trygghet 2024" in surveys and "Jämförs med Trygghet 2023" in surveys
    assert "Svarande i området: 40." in surveys


def test_small_groups_are_suppressed(client, db, area_data):
    admin = login_client(client, db, "admin1", "admin")
    page = admin.get(f"/omrade/{DESO_B}", params={"division": "DeSO2025"}).text
    for method in ("share_positive", "linear_mean"):
        for index in ("trygghet", "service"):
            row = index_row(page, method, index)
            assert row[1] == "färre än 10 svar – visas inte"
    surveys = text_of(section(page, "area-surveys"))
    assert "Antal svarande i området visas inte" in surveys
    # no number of the 8 respondents leaks: no "[" interval in the index tables
    assert "[" not in "".join(re.findall(r'<table class="survey-index.*?</table>', page, flags=re.S))
    # the RegSO pools both DeSO (48 respondents): shown, with n = 48
    regso = admin.get(f"/omrade/{REGSO}", params={"division": "RegSO2025"}).text
    assert index_row(regso, "share_positive", "trygghet")[3] == "48"


def test_operations_equal_the_repository(client, db, area_data):
    viewer = login_client(client, db, "vera", "viewer")
    page = viewer.get(f"/omrade/{DESO_A}", params={"division": "DeSO2025"}).text
    ops = section(page, "area-operations")
    with db.session() as s:
        view = operations_repo.area_operations(s, DESO_A, division="DeSO2025")
    last12 = view["work_orders"][-12:]
    assert [r["month"] for r in last12][0] == "2023-03" and last12[-1]["month"] == "2024-02"
    months = re.findall(r'<tr data-month="([\d-]+)"><th', ops)
    assert months == [r["month"] for r in last12]  # 14 months in the data, the last 12 shown
    for r in last12:
        row = cells(re.search(rf'<tr data-month="{r["month"]}"><th.*?</tr>', ops, flags=re.S).group(0))
        assert row[1] == str(r["reported"]) == "2"
        assert row[3] == dec(r["median_hours"])
        assert row[4] == f"{dec(r['within_sla_share'])} % ({r['within_sla']}/{r['due']})"
        assert row[5] == str(r["backlog_end"])
    # every month: the 4 h order within 24 h, the 30 h one not → 50 %; median of 4 h and 30 h = 17 h
    assert last12[0]["within_sla_share"] == 50.0 and last12[0]["median_hours"] == 17.0
    assert re.search(r'data-testid="backlog">1<', ops)  # the last order is open
    roster = view["rosters"][-1]
    assert roster["coverage"] == pytest.approx(87.5)
    assert f"{dec(roster['coverage'])} %" in text_of(ops)  # 28 of 32 hours
    kpi = re.search(r'<tr data-kpi="f3_trygghetsvandringar_dialoger">.*?</tr>', ops, flags=re.S)
    assert kpi and cells(kpi.group(0))[2:4] == ["2024Q1", "5,0 antal"]
    f7 = next(r for r in view["kpis"] if r["kpi"] == "f7_klotter_skadegorelse_24h" and r["period"] == "2024-02")
    shown = cells(re.search(r'<tr data-kpi="f7_klotter_skadegorelse_24h">.*?</tr>', ops, flags=re.S).group(0))
    assert shown[2] == "2024-02" and shown[3].startswith(dec(f7["value"]))


def test_partnerships_covering_the_area(client, db, area_data):
    admin = login_client(client, db, "admin1", "admin")
    demo_id = area_data["demo"]["partnership_id"]
    police_id, regso_id = area_data["police_p"]["id"], area_data["regso_p"]["id"]
    page_b = admin.get(f"/omrade/{DESO_B}", params={"division": "DeSO2025"}).text
    part = section(page_b, "area-partnerships")
    ids = [int(i) for i in re.findall(r'data-testid="partnership-(\d+)"', part)]
    # own area (demo), Police area with 80 % of the DeSO inside, the parent RegSO
    assert sorted(ids) == sorted([demo_id, police_id, regso_id])
    assert "Polisens område Bergsjön (2023)" in text_of(part)
    with db.session() as s:
        jobs = goals_repo.goal_progress(s, area_data["demo"]["goals"]["companies"])
    assert f'href="/mal/{jobs["goal"]["id"]}"' in part
    card = re.search(rf'<li data-goal="{jobs["goal"]["id"]}">.*?</li>', part, flags=re.S).group(0)
    assert f'data-status="{jobs["status"]}"' in card
    assert f'href="/mal/{area_data["police_goal"]["id"]}"' in part and "Inga data" in text_of(part)
    # only 30 % of DESO_A lies inside the Police area: not covered by it
    page_a = admin.get(f"/omrade/{DESO_A}", params={"division": "DeSO2025"}).text
    ids_a = [int(i) for i in re.findall(r'data-testid="partnership-(\d+)"', section(page_a, "area-partnerships"))]
    assert sorted(ids_a) == sorted([demo_id, regso_id])


def test_partner_contributor_sees_only_their_own(client, db, area_data):
    partner = login_client(client, db, "bo-per", "partner_contributor",
                           organisation_id=area_data["other"]["id"])
    part = section(partner.get(f"/omrade/{DESO_B}", params={"division": "DeSO2025"}).text, "area-partnerships")
    ids = [int(i) for i in re.findall(r'data-testid="partnership-(\d+)"', part)]
    assert ids == [area_data["police_p"]["id"]]
    assert "Handslag Bergsjön (exempel)" not in part and "Handslag RegSO" not in part
    with TestClient(client.app) as other:
        nobody = login_client(other, db, "utan-org", "partner_contributor")
        part = section(nobody.get(f"/omrade/{DESO_B}", params={"division": "DeSO2025"}).text, "area-partnerships")
        assert 'data-testid="partnership-' not in part and 'data-testid="partnerships-none"' in part


def test_anonymous_sees_none_of_it(client, db, area_data):
    page = client.get(f"/omrade/{DESO_A}", params={"division": "DeSO2025"})
    assert page.status_code == 200
    text = page.text
    assert 'data-testid="surveys-login"' in text and 'data-testid="operations-login"' in text
    assert 'data-testid="area-partnerships"' not in text
    assert "survey-index" not in text and 'data-testid="work-orders"' not in text
    assert "Trygghet 2024" not in text and "Handslag Bergsjön (exempel)" not in text
    assert "Enkätresultat är interna och visas för inloggade användare." in text_of(text)
