"""The goals API through the HTTP layer (SQLite and PostgreSQL): CRUD, versions (ETag/If-Match, 409),
audit log, soft deletion, pagination and filters, the approval workflow, progress, statistic-linked goals,
gap to parity and the Excel round trip with broken files."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from handslag.store import goals_repo as repo
from handslag.store.models import Area, Observation
from handslag.store.models.goals import AuditEntry, Measurement

API = "/api/v1"


def post(api_client, path, body, status=201):
    r = api_client.post(API + path, json=body)
    assert r.status_code == status, r.text
    return r.json()


def patch(api_client, path, body, version, status=200):
    etag = version if isinstance(version, str) else f'"{version}"'
    r = api_client.patch(API + path, json=body, headers={"If-Match": etag})
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
def setup(api_client):
    """Two organisations, a partnership with both as members and one partner-reported goal."""
    fb = post(api_client, "/organisations", {"name": "Familjebostäder", "type": "public_housing"})
    saab = post(api_client, "/organisations", {"name": "Saab", "type": "company"})
    p = post(api_client, "/partnerships", {
        "name": "Handslag Test", "period_start": "2022-12-01", "period_end": "2025-12-31", "budget_sek": 1_000_000,
        "areas": [{"code": "1480C0010", "division": "DeSO2025"}, {"code": "1480C0020", "division": "DeSO2025"}],
        "members": [{"organisation_id": fb["id"], "role": "lead"}, {"organisation_id": saab["id"]}]})
    g = post(api_client, "/goals", {
        "partnership_id": p["id"], "title": "1 000 sommarjobb", "kind": "partner_reported", "unit": "persons",
        "measure": "change", "baseline_value": 0, "baseline_year": 2022, "target_value": 1000, "target_year": 2025,
        "responsible_organisation_id": saab["id"]})
    return {"fb": fb, "saab": saab, "p": p, "g": g}


@pytest.fixture
def sqlite_client(sqlite_db):
    from fastapi.testclient import TestClient

    from conftest import login_client
    from handslag.config import get_settings
    from handslag.web.app import create_app

    with TestClient(create_app(db=sqlite_db, settings=get_settings())) as test_client:
        yield login_client(test_client, sqlite_db)


def audit(api_client, **params):
    r = api_client.get(API + "/audit", params=params)
    assert r.status_code == 200
    return r.json()


# ---- CRUD, versions, audit ---------------------------------------------------------------------------------

def test_create_and_read_with_etag_and_location(api_client, setup):
    p = setup["p"]
    assert p["version"] == 1 and p["created_by"] == "tester"
    assert [m["organisation_name"] for m in p["members"]] == ["Familjebostäder", "Saab"]
    assert [a["code"] for a in p["areas"]] == ["1480C0010", "1480C0020"]
    r = api_client.get(f"{API}/partnerships/{p['id']}")
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'
    r = api_client.post(API + "/organisations", json={"name": "Balder", "type": "private_landlord"})
    assert r.status_code == 201 and r.headers["Location"].endswith(f"/organisations/{r.json()['id']}")
    g = setup["g"]
    assert g["direction"] == "increase" and g["trajectory"] == "linear" and g["areas"] is None


def test_stale_update_gets_409_and_changes_nothing(api_client, setup):
    p = setup["p"]
    updated = patch(api_client, f"/partnerships/{p['id']}", {"budget_sek": 2_000_000}, version=1)
    assert updated["version"] == 2 and updated["budget_sek"] == 2_000_000
    before_audit = audit(api_client, entity="partnership", entity_id=p["id"])["total"]
    r = api_client.patch(f"{API}/partnerships/{p['id']}", json={"budget_sek": 5}, headers={"If-Match": '"1"'})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict" and "version 2" in r.json()["error"]["message"]
    now = api_client.get(f"{API}/partnerships/{p['id']}")
    assert now.json()["budget_sek"] == 2_000_000 and now.headers["ETag"] == '"2"'
    assert audit(api_client, entity="partnership", entity_id=p["id"])["total"] == before_audit
    # a weak ETag works, a missing If-Match is refused
    assert patch(api_client, f"/partnerships/{p['id']}", {"name": "Nytt namn"}, version="W/\"2\"")["version"] == 3
    r = api_client.patch(f"{API}/partnerships/{p['id']}", json={"name": "x"})
    assert r.status_code == 428 and r.json()["error"]["code"] == "precondition_required"
    # stale goal, measurement, activity, contribution updates too
    g = setup["g"]
    patch(api_client, f"/goals/{g['id']}", {"title": "Sommarjobb"}, version=1)
    stale = patch(api_client, f"/goals/{g['id']}", {"title": "Gammalt"}, version=1, status=409)
    assert stale["error"]["code"] == "conflict"
    assert api_client.get(f"{API}/goals/{g['id']}").json()["title"] == "Sommarjobb"


def test_unchanged_patch_makes_no_new_version(api_client, setup):
    g = setup["g"]
    same = patch(api_client, f"/goals/{g['id']}", {"title": g["title"]}, version=1)
    assert same["version"] == 1
    assert audit(api_client, entity="goal", entity_id=g["id"])["total"] == 1


def test_audit_entries_record_who_when_before_and_after(api_client, setup):
    p = setup["p"]
    patch(api_client, f"/partnerships/{p['id']}", {"budget_sek": 1_500_000,
                                               "members": [{"organisation_id": setup["fb"]["id"], "role": "lead"},
                                                           {"organisation_id": setup["saab"]["id"],
                                                            "role": "funder"}]}, version=1)
    entries = audit(api_client, entity="partnership", entity_id=p["id"])["items"]
    assert [e["action"] for e in entries] == ["update", "create"]
    upd = entries[0]
    assert upd["actor"] == "tester" and upd["version"] == 2 and upd["at"]
    assert upd["before"]["budget_sek"] == 1_000_000 and upd["after"]["budget_sek"] == 1_500_000
    assert upd["before"]["members"][1]["role"] == "partner" and upd["after"]["members"][1]["role"] == "funder"
    assert upd["context"] == {"via": "api", "request": f"PATCH /api/v1/partnerships/{p['id']}"}
    assert entries[1]["before"] is None and entries[1]["after"]["name"] == "Handslag Test"
    everything = audit(api_client, limit=100)
    assert {e["entity"] for e in everything["items"]} == {"organisation", "partnership", "goal"}


def test_soft_delete_hides_but_keeps_history(api_client, setup):
    g = setup["g"]
    m = post(api_client, "/measurements", {"goal_id": g["id"], "period": "2023", "value": 300})
    r = api_client.delete(f"{API}/goals/{g['id']}", headers={"If-Match": '"7"'})
    assert r.status_code == 409
    assert api_client.delete(f"{API}/goals/{g['id']}").status_code == 204
    assert api_client.get(f"{API}/goals/{g['id']}").status_code == 404
    assert api_client.get(f"{API}/measurements/{m['id']}").status_code == 404  # cascaded
    assert api_client.get(API + "/goals", params={"partnership_id": setup["p"]["id"]}).json()["total"] == 0
    deletions = audit(api_client, action="delete")["items"]
    assert {(e["entity"], e["entity_id"]) for e in deletions} == {("goal", str(g["id"])),
                                                                 ("measurement", str(m["id"]))}
    assert all(e["after"]["deleted_at"] for e in deletions)
    # an organisation that is a member cannot be deleted
    r = api_client.delete(f"{API}/organisations/{setup['saab']['id']}")
    assert r.status_code == 409


def test_pagination_and_filters(api_client, setup):
    for i in range(3):
        post(api_client, "/organisations", {"name": f"Förening {i}", "type": "civil_society"})
    page = api_client.get(API + "/organisations", params={"limit": 2, "offset": 0}).json()
    assert page["total"] == 5 and len(page["items"]) == 2 and page["limit"] == 2
    assert api_client.get(API + "/organisations", params={"type": "civil_society"}).json()["total"] == 3
    assert api_client.get(API + "/organisations", params={"q": "saab"}).json()["items"][0]["name"] == "Saab"
    assert api_client.get(API + "/organisations", params={"limit": 501}).status_code == 422
    parts = api_client.get(API + "/partnerships", params={"area_code": "1480C0020"}).json()
    assert parts["total"] == 1
    assert api_client.get(API + "/partnerships", params={"area_code": "1480C9999"}).json()["total"] == 0
    assert api_client.get(API + "/partnerships", params={"organisation_id": setup["saab"]["id"]}).json()["total"] == 1
    goals = api_client.get(API + "/goals", params={"responsible_organisation_id": setup["fb"]["id"]}).json()
    assert goals["total"] == 0


def test_validation_errors_are_json_4xx(api_client, setup):
    r = api_client.post(API + "/goals", json={"partnership_id": setup["p"]["id"], "title": "x", "kind": "statistic",
                                          "unit": "persons", "baseline_value": 0, "baseline_year": 2024,
                                          "target_value": 10, "target_year": 2025})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"
    assert "indicator" in r.text
    r = api_client.post(API + "/goals", json={**_goal(setup), "responsible_organisation_id": 999})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    assert r.json()["error"]["details"][0]["column"] == "responsible_organisation_id"
    r = api_client.post(API + "/partnerships", json={"name": "x", "period_start": "2025-01-01",
                                                 "period_end": "2024-01-01"})
    assert r.status_code == 422
    r = api_client.post(API + "/partnerships", json={"name": "x", "period_start": "2024-01-01",
                                                 "period_end": "2025-01-01",
                                                 "areas": [{"code": "1480X0010", "division": "DeSO2025"}]})
    assert r.status_code == 422 and "not a valid deso code" in r.text
    r = patch(api_client, f"/goals/{setup['g']['id']}", {"target_year": 2020}, version=1, status=422)
    assert "after the baseline" in r["error"]["details"][0]["reason"]
    assert api_client.get(f"{API}/goals/999999").status_code == 404


def _goal(setup, **over):
    return {"partnership_id": setup["p"]["id"], "title": "Nya företag", "kind": "partner_reported",
            "unit": "companies", "measure": "change", "baseline_value": 0, "baseline_year": 2022,
            "target_value": 75, "target_year": 2025, **over}


# ---- measurements: approval workflow and progress ------------------------------------------------------------

def test_approval_workflow_and_progress(api_client, approver_client, setup):
    g = setup["g"]
    m = post(api_client, "/measurements", {"goal_id": g["id"], "period": "2023", "value": 310, "evidence_note": "lista"})
    assert m["state"] == "draft" and m["entered_by"] == "tester"
    m = patch(api_client, f"/measurements/{m['id']}", {"value": 300}, version=1)
    r = approver_client.post(f"{API}/measurements/{m['id']}/approve")
    assert r.status_code == 409 and "must be submitted" in r.json()["error"]["message"]
    m = api_client.post(f"{API}/measurements/{m['id']}/submit").json()
    assert m["state"] == "submitted" and m["submitted_by"] == "tester"
    assert patch(api_client, f"/measurements/{m['id']}", {"value": 1}, version=m["version"], status=409)
    r = approver_client.post(f"{API}/measurements/{m['id']}/reject", json={})
    assert r.status_code == 409 and "reason" in r.json()["error"]["message"]
    m = approver_client.post(f"{API}/measurements/{m['id']}/reject", json={"reason": "fel period"}).json()
    assert m["state"] == "rejected" and m["decision_note"] == "fel period"
    m = patch(api_client, f"/measurements/{m['id']}", {"value": 310}, version=m["version"])
    assert m["state"] == "draft"  # editing a rejected measurement makes it a draft
    api_client.post(f"{API}/measurements/{m['id']}/submit")
    r = approver_client.post(f"{API}/measurements/{m['id']}/approve", headers={"If-Match": '"1"'})
    assert r.status_code == 409  # stale version on a workflow action
    own = api_client.post(f"{API}/measurements/{m['id']}/approve")
    assert own.status_code == 409  # four-eyes rule: whoever entered it may not approve it
    m = approver_client.post(f"{API}/measurements/{m['id']}/approve").json()
    assert m["state"] == "approved" and m["approved_by"] == "granskare" and m["approved_at"]
    assert patch(api_client, f"/measurements/{m['id']}", {"value": 1}, version=m["version"], status=409)
    m2 = post(api_client, "/measurements", {"goal_id": g["id"], "period": "2024", "value": 640})
    api_client.post(f"{API}/measurements/{m2['id']}/submit")
    approver_client.post(f"{API}/measurements/{m2['id']}/approve")
    draft = post(api_client, "/measurements", {"goal_id": g["id"], "period": "2025-Q1", "value": 9999})
    actions = [e["action"] for e in reversed(audit(api_client, entity="measurement", entity_id=m["id"])["items"])]
    assert actions == ["create", "update", "submit", "reject", "update", "submit", "approve"]

    prog = api_client.get(f"{API}/goals/{g['id']}/progress").json()
    assert [r["period"] for r in prog["measurements"]] == ["2023", "2024"]  # the draft does not count
    last = prog["measurements"][-1]
    assert last["expected"] == pytest.approx(2000 / 3) and last["status"] == "on_track"
    assert prog["status"] == "on_track"
    assert prog["measurement_counts"] == {"draft": 1, "submitted": 0, "approved": 2, "rejected": 0}
    fc = prog["forecast"]  # (2022, 0), (2023, 310), (2024, 640): slope 320 a year
    assert fc["slope_per_year"] == pytest.approx(320) and fc["value"] == pytest.approx(316.6667 + 640, abs=1e-3)
    strict = api_client.get(f"{API}/goals/{g['id']}/progress", params={"on_track": 0.0, "at_risk": 0.02}).json()
    assert strict["status"] == "off_track"
    assert api_client.get(f"{API}/goals/{g['id']}/progress", params={"on_track": 0.5, "at_risk": 0.1}).status_code == 422
    dash = api_client.get(f"{API}/partnerships/{setup['p']['id']}/dashboard").json()
    assert dash["status_counts"] == {"on_track": 1} and dash["awaiting_approval"] == 0
    assert api_client.get(API + "/measurements", params={"state": "draft"}).json()["items"][0]["id"] == draft["id"]


def test_attachment_round_trip(api_client, setup):
    m = post(api_client, "/measurements", {"goal_id": setup["g"]["id"], "period": "2023", "value": 1})
    r = api_client.put(f"{API}/measurements/{m['id']}/attachment",
                   files={"file": ("lista.csv", b"namn;jobb\nA;1\n", "text/csv")})
    assert r.status_code == 200 and r.json()["attachment_name"] == "lista.csv"
    assert len(r.json()["attachment_sha256"]) == 64
    got = api_client.get(f"{API}/measurements/{m['id']}/attachment")
    assert got.content == b"namn;jobb\nA;1\n" and got.headers["content-type"].startswith("text/csv")
    entry = audit(api_client, entity="measurement", action="attach")["items"][0]
    assert entry["after"]["attachment_name"] == "lista.csv" and "attachment_data" not in entry["after"]


# ---- activities and contributions ----------------------------------------------------------------------------

def test_activities_and_contribution_ledger(api_client, setup):
    p, g = setup["p"], setup["g"]
    a = post(api_client, "/activities", {"partnership_id": p["id"], "organisation_id": setup["fb"]["id"],
                                     "title": "Sommarjobb 2022", "start_date": "2022-06-01", "end_date": "2022-08-31",
                                     "budget_sek": 500_000, "spent_sek": 420_000, "status": "completed",
                                     "goal_ids": [g["id"]],
                                     "outputs": [{"name": "summer jobs offered", "value": 252}]})
    assert a["goal_ids"] == [g["id"]] and a["outputs"][0]["value"] == 252
    a = patch(api_client, f"/activities/{a['id']}", {"goal_ids": []}, version=1)
    assert a["goal_ids"] == [] and a["version"] == 2
    bad = api_client.post(API + "/activities", json={"partnership_id": p["id"], "title": "x", "start_date": "2024-01-02",
                                                "end_date": "2024-01-01"})
    assert bad.status_code == 422
    outsider = post(api_client, "/organisations", {"name": "Volvo", "type": "company"})
    r = api_client.post(API + "/contributions", json={"partnership_id": p["id"], "organisation_id": outsider["id"],
                                                  "kind": "money", "amount": 10, "date": "2024-01-01"})
    assert r.status_code == 422 and "not a member" in r.text
    post(api_client, "/contributions", {"partnership_id": p["id"], "organisation_id": setup["saab"]["id"],
                                    "kind": "money", "amount": 1_500_000, "date": "2023-06-01"})
    post(api_client, "/contributions", {"partnership_id": p["id"], "organisation_id": setup["saab"]["id"],
                                    "kind": "staff_hours", "amount": 100, "value_sek": 60_000, "date": "2024-06-01",
                                    "activity_id": a["id"]})
    c = post(api_client, "/contributions", {"partnership_id": p["id"], "organisation_id": setup["fb"]["id"],
                                        "kind": "in_kind", "amount": 200_000, "date": "2024-02-01"})
    assert c["unit"] == "SEK" and c["value_sek"] is None
    ledger = api_client.get(API + "/contributions", params={"partnership_id": p["id"], "date_from": "2024-01-01"}).json()
    assert ledger["total"] == 2
    summary = api_client.get(API + "/contributions/summary", params={"partnership_id": p["id"]}).json()
    saab = {s["kind"]: s for s in summary if s["organisation_name"] == "Saab"}
    assert saab["money"]["amount"] == 1_500_000 and saab["money"]["value_sek"] == 1_500_000
    assert saab["staff_hours"]["unit"] == "hours" and saab["staff_hours"]["value_sek"] == 60_000
    dash = api_client.get(f"{API}/partnerships/{p['id']}/dashboard").json()
    assert dash["contributions"]["total_value_sek"] == 1_560_000
    assert dash["activities"]["spent_sek"] == 420_000
    # a member that has contributions cannot be removed from the partnership
    r = api_client.patch(f"{API}/partnerships/{p['id']}", json={"members": [{"organisation_id": setup["fb"]["id"]}]},
                     headers={"If-Match": '"1"'})
    assert r.status_code == 422 and "cannot leave" in r.text


# ---- statistics: gap and statistic-linked goals ----------------------------------------------------------------

def _statistics(api_client, rows):
    db = api_client.app.state.db
    with db.session() as s:
        for code, indicator, year, value in rows:
            s.add(Observation(area_code=code, division="DeSO2025", indicator=indicator, year=year, value=value,
                              source="SCB TAB6680" if "employment" in indicator else "SCB TAB6574"))


BASE = [("1480C0010", "employment_20_64", 2024, 60.0), ("1480C0010", "population_20_64", 2025, 1000),
        ("1480C0020", "employment_20_64", 2024, 70.0), ("1480C0020", "population_20_64", 2025, 1000),
        ("1480C0030", "employment_20_64", 2024, 80.0), ("1480C0030", "population_20_64", 2025, 2000)]


def test_gap_endpoint(api_client, setup):
    _statistics(api_client, BASE)
    r = api_client.get(API + "/gap", params={"indicator": "employment_20_64", "partnership_id": setup["p"]["id"],
                                         "as_of_year": 2026})
    assert r.status_code == 200, r.text
    gap = r.json()
    # area (600 + 700) / 2000 = 65 %; Göteborg derived (600 + 700 + 1600) / 4000 = 72.5 % → 7.5 pp × 2000 = 150
    assert gap["area"]["rate"] == pytest.approx(65.0) and gap["reference"]["rate"] == pytest.approx(72.5)
    assert gap["persons"] == pytest.approx(150.0) and gap["persons_rounded"] == 150
    assert gap["reference"]["derived"] is True and gap["area"]["label"] == "Handslag Test"
    assert gap["lags"]["data_age_years"] == 1 and gap["lags"]["denominator_minus_rate_year"] == 1
    assert [s["label"] for s in gap["steps"]][-1] == "Gap in persons"
    assert len(gap["areas"]) == 2
    r = api_client.get(API + "/gap", params={"indicator": "employment_20_64", "areas": "1480C0010",
                                         "division": "DeSO2025", "reference": "areas:1480C0030",
                                         "project_to": 2027, "growth": 10})
    assert r.json()["persons"] == pytest.approx(200.0)
    assert r.json()["projection"]["persons"] == pytest.approx(200 * 1.21)
    assert api_client.get(API + "/gap", params={"indicator": "employment_20_64"}).status_code == 422
    assert api_client.get(API + "/gap", params={"indicator": "employment_20_64", "areas": "1480C0010",
                                            "division": "DeSO2025", "reference": "lan:03"}).status_code == 404
    assert api_client.get(API + "/gap", params={"indicator": "employment_20_64", "areas": "1480C0010",
                                            "division": "DeSO2025", "reference": "stad"}).status_code == 400


def test_statistic_goal_fills_its_actuals_from_the_store(api_client, setup):
    _statistics(api_client, BASE)
    g = post(api_client, "/goals", _goal(setup, title="Fler i arbete", kind="statistic", unit="persons",
                                     indicator="employment_20_64", baseline_year=2024, target_value=575))
    ms = api_client.get(API + "/measurements", params={"goal_id": g["id"]}).json()["items"]
    assert [(m["period"], m["value"], m["state"], m["from_statistics"]) for m in ms] == [("2024", 0.0, "approved",
                                                                                         True)]
    assert ms[0]["provenance"]["aggregated_value"] == pytest.approx(1300)  # 600 + 700 employed
    assert ms[0]["source"] == "scb" and ms[0]["approved_by"] == "system:statistics"
    # new statistics are imported: the hook fills the new year; running it again changes nothing
    _statistics(api_client, [("1480C0010", "employment_20_64", 2025, 65.0), ("1480C0020", "employment_20_64", 2025, 72.0)])
    db = api_client.app.state.db
    with db.session() as s:
        first = repo.on_statistics_imported(s, ["employment_20_64"])
        again = repo.on_statistics_imported(s, ["employment_20_64"])
    assert (first[0]["created"], again[0]["created"], again[0]["updated"]) == (1, 0, 0)
    prog = api_client.get(f"{API}/goals/{g['id']}/progress").json()
    # 2025: 650 + 720 employed (denominators of 2025) vs 1300 in 2024 → +70
    assert [(m["period"], m["actual"]) for m in prog["measurements"]] == [("2024", 0.0), ("2025", pytest.approx(70))]
    assert prog["status"] == "off_track"  # 70 of 575 at the deadline
    level = post(api_client, "/goals", _goal(setup, title="Sysselsättningsgrad", kind="statistic", unit="share",
                                         measure="level", indicator="employment_20_64", baseline_value=65,
                                         baseline_year=2024, target_value=70))
    prog = api_client.get(f"{API}/goals/{level['id']}/progress").json()
    assert [m["actual"] for m in prog["measurements"]] == pytest.approx([65.0, 68.5])
    assert api_client.post(f"{API}/goals/{level['id']}/refresh").json()[0]["created"] == 0


# ---- Excel round trip ----------------------------------------------------------------------------------------

def _workbook(api_client, pid) -> bytes:
    r = api_client.get(f"{API}/partnerships/{pid}/workbook")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    return r.content


def _upload(api_client, pid, data: bytes, name="plan.xlsx", **params):
    return api_client.post(f"{API}/partnerships/{pid}/workbook", params=params,
                       files={"file": (name, data, "application/octet-stream")})


def _edit(data: bytes, edit) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    edit(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _counts(api_client) -> tuple[int, int, int]:
    with api_client.app.state.db.session() as s:
        return (s.query(Measurement).count(), len(repo.list_goals(s).items), s.query(AuditEntry).count())


def test_excel_round_trip(api_client, setup):
    pid, g = setup["p"]["id"], setup["g"]
    m = post(api_client, "/measurements", {"goal_id": g["id"], "period": "2023", "value": 300})
    data = _workbook(api_client, pid)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Info", "Goals", "Measurements", "Activities"]
    goals_ws = wb["Goals"]
    header = [c.value for c in goals_ws[1]]
    row = dict(zip(header, [c.value for c in goals_ws[2]], strict=True))
    assert row["title"] == "1 000 sommarjobb" and row["responsible_organisation"] == "Saab" and row["version"] == 1
    # uploading what was downloaded changes nothing
    before = _counts(api_client)
    r = _upload(api_client, pid, data)
    assert r.status_code == 200 and r.json()["counts"] == {} and r.json()["unchanged"] == 2
    assert _counts(api_client) == before

    def fill(wb):
        ws = wb["Goals"]
        ws.cell(2, header.index("target_value") + 1, 1200)
        ws.append([None, None, "75 nya företag", None, "partner_reported", "companies", "change", 0, 2022, 75, 2025,
                   None, None, None, "Familjebostäder", None, None, "exempel"])
        ms = wb["Measurements"]
        mh = [c.value for c in ms[1]]
        ms.cell(2, mh.index("value") + 1, 320)
        ms.append([None, None, None, "75 nya företag", "2024-Q2", 12, "manual", "från Excel"])
        acts = wb["Activities"]
        acts.append([None, None, "Företagslots", "Familjebostäder", None, "2023-03-01", None, 100000, 20000,
                     "ongoing", "75 nya företag; " + str(g["id"]), "entrepreneurs coached: 63; lokaler: 2 st"])

    r = _upload(api_client, pid, _edit(data, fill))
    assert r.status_code == 200, r.text
    assert r.json()["counts"] == {"goal": {"create": 1, "update": 1}, "measurement": {"create": 1, "update": 1},
                                  "activity": {"create": 1, "update": 0}}
    goals = {x["title"]: x for x in api_client.get(API + "/goals", params={"partnership_id": pid}).json()["items"]}
    assert goals["1 000 sommarjobb"]["target_value"] == 1200 and goals["1 000 sommarjobb"]["version"] == 2
    new = goals["75 nya företag"]
    assert new["responsible_organisation_id"] == setup["fb"]["id"] and new["source_note"] == "exempel"
    ms = api_client.get(API + "/measurements", params={"partnership_id": pid}).json()["items"]
    assert {(x["goal_id"], x["period"], x["value"], x["state"]) for x in ms} == {
        (g["id"], "2023", 320.0, "draft"), (new["id"], "2024-Q2", 12.0, "draft")}
    act = api_client.get(API + "/activities", params={"partnership_id": pid}).json()["items"][0]
    assert sorted(act["goal_ids"]) == sorted([g["id"], new["id"]])
    assert act["outputs"] == [{"name": "entrepreneurs coached", "value": 63.0, "unit": None},
                              {"name": "lokaler", "value": 2.0, "unit": "st"}]
    excel_audit = [e for e in audit(api_client, limit=200)["items"] if (e["context"] or {}).get("via") == "excel"]
    assert {(e["entity"], e["action"]) for e in excel_audit} == {("goal", "create"), ("goal", "update"),
                                                                 ("measurement", "create"),
                                                                 ("measurement", "update"), ("activity", "create")}
    assert all(e["context"]["file"] == "plan.xlsx" and e["context"]["row"] >= 2 for e in excel_audit)
    assert m["id"] in {x["id"] for x in ms}


def test_excel_upload_with_errors_writes_nothing(api_client, approver_client, setup):
    pid, g = setup["p"]["id"], setup["g"]
    m = post(api_client, "/measurements", {"goal_id": g["id"], "period": "2023", "value": 300})
    api_client.post(f"{API}/measurements/{m['id']}/submit")
    assert approver_client.post(f"{API}/measurements/{m['id']}/approve").status_code == 200
    data = _workbook(api_client, pid)
    patch(api_client, f"/goals/{g['id']}", {"description": "ändrad efter nedladdning"}, version=1)

    def break_rows(wb):
        ws = wb["Goals"]
        ws.cell(2, 10, 2000)  # target_value of the goal that changed since the download → stale version
        ws.append([None, None, "Nytt mål", None, "partner_reported", "persons", None, 0, 2022, 10, 2025])  # fine
        ws.append([None, None, "Dåligt mål", None, "wishful", "persons", None, 0, "tjugo", 10, 2025])
        ms = wb["Measurements"]
        ms.cell(2, 6, 999)  # change an approved measurement
        ms.append([None, None, None, "Nytt mål", "2024", 5])  # fine, refers to a goal created in the same file
        ms.append([None, None, 999999, None, "2024", 5])  # unknown goal
        ms.append([None, None, g["id"], None, "våren", "många"])  # bad period and value
        acts = wb["Activities"]
        acts.append([None, None, "Aktivitet", "Volvo", None, "2024-13-01"])  # unknown org, bad date

    before = _counts(api_client)
    r = _upload(api_client, pid, _edit(data, break_rows), name="trasig.xlsx")
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_failed" and "nothing was written" in err["message"]
    got = {(p["sheet"], p["row"], p["column"]) for p in err["details"]}
    assert got == {("Goals", 2, "version"), ("Goals", 4, "kind"), ("Goals", 4, "baseline_year"),
                   ("Measurements", 2, "value"), ("Measurements", 4, "goal_id"), ("Measurements", 5, "period"),
                   ("Measurements", 5, "value"), ("Activities", 2, "organisation"),
                   ("Activities", 2, "start_date")}
    assert all(p["file"] == "trasig.xlsx" for p in err["details"])
    assert _counts(api_client) == before
    assert api_client.get(f"{API}/goals/{g['id']}").json()["target_value"] == 1000


def test_excel_upload_of_broken_files(api_client, setup):
    from openpyxl import Workbook

    before = _counts(api_client)
    for content in (b"not a workbook at all", b"PK\x03\x04broken zip", b""):
        r = _upload(api_client, setup["p"]["id"], content, name="x.xlsx")
        assert r.status_code == 422
        problem = r.json()["error"]["details"][0]
        assert problem["file"] == "x.xlsx" and "not an Excel workbook" in problem["reason"]
    wb = Workbook()
    wb.active.title = "Goals"
    wb.active.append(["id", "titel"])
    buf = io.BytesIO()
    wb.save(buf)
    r = _upload(api_client, setup["p"]["id"], buf.getvalue(), name="fel.xlsx")
    assert r.status_code == 422
    got = {(p["sheet"], p["column"], p["reason"]) for p in r.json()["error"]["details"]}
    assert ("Measurements", None, "sheet 'Measurements' is missing") in got
    assert ("Goals", "title", "required column is missing") in got
    assert ("Goals", "baseline_year", "required column is missing") in got
    assert _counts(api_client) == before


def test_dry_run_and_wrong_partnership(api_client, setup):
    pid = setup["p"]["id"]
    other = post(api_client, "/partnerships", {"name": "Annat", "period_start": "2024-01-01", "period_end": "2025-01-01"})
    data = _workbook(api_client, pid)
    r = _upload(api_client, other["id"], data)
    assert r.status_code == 422
    assert "belongs to partnership" in r.json()["error"]["details"][0]["reason"]

    def add(wb):
        wb["Measurements"].append([None, None, setup["g"]["id"], None, "2024", 5])

    before = _counts(api_client)
    r = _upload(api_client, pid, _edit(data, add), dry_run="true")
    assert r.status_code == 200 and r.json()["counts"] == {"measurement": {"create": 1, "update": 0}}
    assert _counts(api_client) == before


# ---- OpenAPI and permissions -----------------------------------------------------------------------------------

def test_openapi_documents_the_goals_api(sqlite_client):
    spec = sqlite_client.get("/openapi.json").json()
    for path in ("/api/v1/partnerships", "/api/v1/goals/{goal_id}/progress",
                 "/api/v1/measurements/{measurement_id}/approve", "/api/v1/activities", "/api/v1/contributions",
                 "/api/v1/gap", "/api/v1/audit", "/api/v1/partnerships/{partnership_id}/workbook"):
        assert path in spec["paths"], path
    params = {p["name"] for p in spec["paths"]["/api/v1/goals/{goal_id}"]["patch"]["parameters"]}
    assert "If-Match" in params


def test_roles_on_the_goals_api(api_client, db, setup):
    from fastapi.testclient import TestClient

    from conftest import login_client

    # not logged in: 401 for reads and writes
    with TestClient(api_client.app) as anon:
        assert anon.get(f"{API}/partnerships").status_code == 401
        assert anon.post(f"{API}/organisations", json={"name": "X", "type": "company"}).status_code == 401
    # a viewer reads but cannot write; a partner contributor enters but cannot approve
    with TestClient(api_client.app) as viewer:
        login_client(viewer, db, "vera", "viewer")
        assert viewer.get(f"{API}/partnerships").status_code == 200
        r = viewer.post(f"{API}/organisations", json={"name": "X", "type": "company"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    with TestClient(api_client.app) as partner:
        login_client(partner, db, "pia", "partner_contributor", organisation_id=setup["saab"]["id"])
        m = post(partner, "/measurements", {"goal_id": setup["g"]["id"], "period": "2023", "value": 1})
        assert partner.post(f"{API}/measurements/{m['id']}/submit").status_code == 200
        assert partner.post(f"{API}/measurements/{m['id']}/approve").status_code == 403
        # a write without the CSRF header is refused even for a logged-in user
        del partner.headers["X-CSRF-Token"]
        assert partner.post(f"{API}/measurements", json={"goal_id": setup["g"]["id"], "period": "2024",
                                                         "value": 2}).status_code == 403


def test_partner_contributor_sees_only_partnerships_of_their_organisation(api_client, db, setup):
    from fastapi.testclient import TestClient

    from conftest import login_client

    # a second partnership without Saab, with a goal, a measurement, an activity and a contribution
    other_org = post(api_client, "/organisations", {"name": "Bostadsbolaget", "type": "public_housing"})
    other = post(api_client, "/partnerships", {
        "name": "Handslag Annat", "period_start": "2023-01-01", "period_end": "2026-12-31",
        "members": [{"organisation_id": other_org["id"], "role": "lead"}, {"organisation_id": setup["fb"]["id"]}]})
    og = post(api_client, "/goals", {"partnership_id": other["id"], "title": "50 nya jobb", "kind": "partner_reported",
                                     "unit": "persons", "measure": "change", "baseline_value": 0,
                                     "baseline_year": 2023, "target_value": 50, "target_year": 2026})
    om = post(api_client, "/measurements", {"goal_id": og["id"], "period": "2024", "value": 10})
    oa = post(api_client, "/activities", {"partnership_id": other["id"], "title": "Praktik", "start_date": "2024-01-01"})
    oc = post(api_client, "/contributions", {"partnership_id": other["id"], "organisation_id": other_org["id"],
                                             "kind": "money", "amount": 1000, "date": "2024-01-01"})
    own_m = post(api_client, "/measurements", {"goal_id": setup["g"]["id"], "period": "2023", "value": 100})
    own_a = post(api_client, "/activities", {"partnership_id": setup["p"]["id"], "title": "Sommarjobb",
                                             "start_date": "2023-06-01", "organisation_id": setup["saab"]["id"]})
    post(api_client, "/contributions", {"partnership_id": setup["p"]["id"], "organisation_id": setup["saab"]["id"],
                                        "kind": "money", "amount": 5000, "date": "2023-06-01"})
    # the administrator sees both
    assert api_client.get(f"{API}/partnerships").json()["total"] == 2
    assert api_client.get(f"{API}/goals").json()["total"] == 2

    with TestClient(api_client.app) as saab:
        login_client(saab, db, "sara", "partner_contributor", organisation_id=setup["saab"]["id"])
        listed = saab.get(f"{API}/partnerships").json()
        assert listed["total"] == 1 and [p["name"] for p in listed["items"]] == ["Handslag Test"]
        assert saab.get(f"{API}/partnerships", params={"q": "Annat"}).json()["total"] == 0
        assert saab.get(f"{API}/partnerships/{setup['p']['id']}").status_code == 200
        assert saab.get(f"{API}/partnerships/{setup['p']['id']}/dashboard").json()["goals"][0]["goal"]["title"] \
            == "1 000 sommarjobb"
        assert [g["id"] for g in saab.get(f"{API}/goals").json()["items"]] == [setup["g"]["id"]]
        assert [m["id"] for m in saab.get(f"{API}/measurements").json()["items"]] == [own_m["id"]]
        assert [a["id"] for a in saab.get(f"{API}/activities").json()["items"]] == [own_a["id"]]
        assert [c["amount"] for c in saab.get(f"{API}/contributions").json()["items"]] == [5000]
        assert saab.get(f"{API}/contributions/summary", params={"partnership_id": setup["p"]["id"]}).json()[0][
            "amount"] == 5000
        # everything of the other partnership does not exist for this user
        for path in (f"/partnerships/{other['id']}", f"/partnerships/{other['id']}/dashboard",
                     f"/partnerships/{other['id']}/workbook", f"/goals/{og['id']}", f"/goals/{og['id']}/progress",
                     f"/measurements/{om['id']}", f"/activities/{oa['id']}", f"/contributions/{oc['id']}",
                     f"/contributions/summary?partnership_id={other['id']}",
                     f"/gap?indicator=employment_20_64&partnership_id={other['id']}"):
            r = saab.get(API + path)
            assert r.status_code == 404, (path, r.text)
            assert r.json()["error"]["code"] == "not_found"
        assert saab.get(f"{API}/measurements", params={"goal_id": og["id"]}).json()["total"] == 0
        assert saab.get(f"{API}/goals", params={"partnership_id": other["id"]}).json()["items"] == []
        # nor can they write to it: entering, submitting or editing a measurement there
        r = saab.post(f"{API}/measurements", json={"goal_id": og["id"], "period": "2025", "value": 1})
        assert r.status_code == 422 and "does not exist" in r.json()["error"]["details"][0]["reason"]
        assert saab.post(f"{API}/measurements/{om['id']}/submit").status_code == 404
        assert saab.patch(f"{API}/measurements/{om['id']}", json={"value": 2},
                          headers={"If-Match": '"1"'}).status_code == 404
        # … but they work in their own partnership
        mine = post(saab, "/measurements", {"goal_id": setup["g"]["id"], "period": "2024", "value": 300})
        assert saab.post(f"{API}/measurements/{mine['id']}/submit").json()["state"] == "submitted"
    assert api_client.get(f"{API}/measurements/{om['id']}").json()["state"] == "draft"

    # a partner contributor without an organisation sees nothing; viewers and editors see everything
    with TestClient(api_client.app) as lone:
        login_client(lone, db, "ensam", "partner_contributor")
        assert lone.get(f"{API}/partnerships").json()["total"] == 0
        assert lone.get(f"{API}/partnerships/{setup['p']['id']}").status_code == 404
    with TestClient(api_client.app) as viewer:
        login_client(viewer, db, "vilma", "viewer", organisation_id=setup["saab"]["id"])
        assert viewer.get(f"{API}/partnerships").json()["total"] == 2


def test_visibility_in_the_store():
    assert repo.visibility_for("partner_contributor", 7) == repo.Visibility(7)
    assert repo.visibility_for("viewer", 7) is None
    assert repo.visibility_for("admin", None) is None
    assert repo.visibility_for(None, None) is None


def test_demo_through_the_store_and_api(sqlite_client):
    api_client = sqlite_client
    db = api_client.app.state.db
    with db.session() as s:
        s.add(Area(code="1480R011", division="RegSO2025", level="regso", name="Bergsjön Rymdtorget",
                   kommun_code="1480"))
        s.add(Area(code="1480C3530", division="DeSO2025", level="deso", parent_code="1480R011", kommun_code="1480"))
    with db.session() as s:
        out = repo.create_demo(s)
        assert out["created"] and out["area_source"] == "store" and out["areas"] == 1
        assert repo.create_demo(s)["created"] is False
    p = api_client.get(f"{API}/partnerships/{out['partnership_id']}").json()
    assert p["name"] == "Handslag Bergsjön (exempel)" and p["is_example"] is True
    assert "EXEMPELDATA" in p["description"]
    assert {m["organisation_name"] for m in p["members"]} == {"Familjebostäder", "Balder", "Saab"}
    dash = api_client.get(f"{API}/partnerships/{out['partnership_id']}/dashboard").json()
    titles = [g["goal"]["title"] for g in dash["goals"]]
    assert titles == ["575 fler personer i arbete", "75 nya företag", "125 fler elever behöriga till gymnasiet",
                      "1 000 sommarjobb"]
    assert [g["goal"]["target_value"] for g in dash["goals"]] == [575, 75, 125, 1000]
    assert all(g["goal"]["is_example"] and "Exempelmål" in g["goal"]["source_note"] for g in dash["goals"])
    assert [g["status"] for g in dash["goals"]] == ["no_data", "at_risk", "off_track", "on_track"]
    assert dash["awaiting_approval"] == 1
    assert {"name": "summer jobs offered", "unit": "jobs", "value": 432.0} in dash["activities"]["outputs"]


def test_concurrent_writers_on_the_same_version_one_gets_a_conflict(db):
    from handslag.errors import Conflict

    with db.session() as s:
        org = repo.create_organisation(s, {"name": "A", "type": "company"}, actor="t")
    a, b = db.sessions(), db.sessions()
    try:
        repo.get_organisation(a, org["id"]), repo.get_organisation(b, org["id"])  # both read version 1
        repo.update_organisation(a, org["id"], {"name": "A1"}, expected_version=1, actor="anna")
        a.commit()
        with pytest.raises(Conflict):
            repo.update_organisation(b, org["id"], {"name": "A2"}, expected_version=1, actor="bo")
        b.rollback()
    finally:
        a.close()
        b.close()
    with db.session() as s:
        assert repo.get_organisation(s, org["id"])["name"] == "A1"
        assert s.query(AuditEntry).filter_by(entity="organisation", action="update").count() == 1


def test_a_failure_while_writing_an_upload_rolls_everything_back(api_client, setup, monkeypatch):
    from handslag.errors import Problem, ValidationFailed

    def refuse(*args, **kwargs):
        raise ValidationFailed([Problem("request", None, "title", "refused for the test")])

    pid = setup["p"]["id"]
    data = _workbook(api_client, pid)

    def add(wb):
        wb["Goals"].append([None, None, "Nytt mål", None, "partner_reported", "persons", None, 0, 2022, 10, 2025])
        wb["Activities"].append([None, None, "Aktivitet", None, None, "2024-01-01"])

    monkeypatch.setattr(repo, "create_activity", refuse)
    before = _counts(api_client)
    r = _upload(api_client, pid, _edit(data, add))
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [{"file": "plan.xlsx", "sheet": "Activities", "row": 2, "column": "title",
                                             "reason": "refused for the test"}]
    assert _counts(api_client) == before  # the goal created before the failure is gone too
    assert api_client.get(API + "/partnerships", params={"is_example": False}).json()["total"] == 1
