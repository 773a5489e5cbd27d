"""Server-rendered partnership and goal pages (``handslag.web.pages_goals``), SQLite and PostgreSQL.

Hand-made data on the empty ``db``: two partnerships, a partner-reported goal with an approved value, an
activity and a contribution. Covers login and role rules (anonymous → login, viewer without the entry form,
partner_contributor only sees their organisation's partnerships), real values on the dashboard and goal page,
enter → submit → approve by a second user changing the status, the four-eyes message, bad input (never a
500), and the Excel upload that lists its row errors and writes nothing. The demo partnership on a fresh
database with the real snapshot checks the gap to parity and the EXEMPELDATA banner.
"""

from __future__ import annotations

import html
import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from conftest import login_client
from handslag.store import goals_repo as repo
from handslag.store.models.goals import AuditEntry, Measurement
from handslag.web.pages_goals import build_chart, fmt_number, parse_value

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---- data and helpers -------------------------------------------------------------------------------------

@pytest.fixture
def data(db) -> dict:
    """Familjebostäder + Saab in "Handslag Test", Bostadsbolaget alone in "Handslag Annat"."""
    with db.session() as s:
        fb = repo.create_organisation(s, {"name": "Familjebostäder", "type": "public_housing"}, actor="setup")
        saab = repo.create_organisation(s, {"name": "Saab", "type": "company"}, actor="setup")
        other = repo.create_organisation(s, {"name": "Bostadsbolaget", "type": "public_housing"}, actor="setup")
        p = repo.create_partnership(s, {
            "name": "Handslag Test", "period_start": "2022-12-01", "period_end": "2025-12-31",
            "budget_sek": 2_000_000,
            "members": [{"organisation_id": fb["id"], "role": "lead"}, {"organisation_id": saab["id"]}]},
            actor="setup")
        p2 = repo.create_partnership(s, {
            "name": "Handslag Annat", "period_start": "2023-01-01", "period_end": "2026-12-31",
            "members": [{"organisation_id": other["id"], "role": "lead"}]}, actor="setup")
        g = repo.create_goal(s, {
            "partnership_id": p["id"], "title": "1 000 sommarjobb", "kind": "partner_reported", "unit": "persons",
            "measure": "change", "baseline_value": 0, "baseline_year": 2022, "target_value": 1000,
            "target_year": 2025, "responsible_organisation_id": saab["id"]}, actor="setup")
        g2 = repo.create_goal(s, {
            "partnership_id": p2["id"], "title": "50 lärlingsplatser", "kind": "partner_reported",
            "unit": "persons", "measure": "change", "baseline_value": 0, "baseline_year": 2023,
            "target_value": 50, "target_year": 2026}, actor="setup")
        # 2023: 50 of 1 000 where 333 were expected → 28 % of the change behind the path → off track
        m = repo.create_measurement(s, {"goal_id": g["id"], "period": "2023", "value": 50,
                                        "evidence_note": "Lista från HR"}, actor="anna")
        repo.decide_measurement(s, m["id"], "submit", actor="anna")
        repo.decide_measurement(s, m["id"], "approve", actor="bo")
        repo.create_activity(s, {"partnership_id": p["id"], "organisation_id": saab["id"],
                                 "title": "Lovjobb hos Saab", "start_date": "2023-06-01", "status": "ongoing",
                                 "budget_sek": 100_000, "spent_sek": 40_000, "goal_ids": [g["id"]],
                                 "outputs": [{"name": "summer jobs offered", "value": 180, "unit": "jobs"}]},
                             actor="setup")
        repo.create_contribution(s, {"partnership_id": p["id"], "organisation_id": saab["id"], "kind": "money",
                                     "amount": 1_500_000, "date": "2023-06-01"}, actor="setup")
        repo.create_contribution(s, {"partnership_id": p["id"], "organisation_id": fb["id"],
                                     "kind": "staff_hours", "amount": 2_400, "value_sek": 1_440_000,
                                     "date": "2024-08-31"}, actor="setup")
    return {"fb": fb, "saab": saab, "other": other, "p": p, "p2": p2, "g": g, "g2": g2, "m": m}


def as_user(app, db, username: str, role: str, organisation_id: int | None = None) -> TestClient:
    """A second browser on the same app, logged in as ``username``."""
    c = TestClient(app)
    c.__enter__()
    return login_client(c, db, username, role, organisation_id=organisation_id)


@pytest.fixture
def users(client, db, data):
    """editor (partnership_editor), granskare (a second editor), saab-pia (partner_contributor of Saab),
    vera (viewer)."""
    made = {"editor": login_client(client, db, "redaktor", "partnership_editor"),
            "approver": as_user(client.app, db, "granskare", "partnership_editor"),
            "partner": as_user(client.app, db, "saab-pia", "partner_contributor", data["saab"]["id"]),
            "viewer": as_user(client.app, db, "vera", "viewer")}
    yield made
    for name in ("approver", "partner", "viewer"):
        made[name].__exit__(None, None, None)


def text_of(page: str) -> str:
    """The visible text of a page: tags dropped, entities decoded, whitespace collapsed."""
    body = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    body = html.unescape(re.sub(r"<[^>]+>", " ", body))
    return re.sub(r"\s+", " ", body.replace("\u00a0", " ")).strip()


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "no CSRF token in the page"
    return m.group(1)


def goal_card(page: str, goal_id: int) -> str:
    m = re.search(rf'<article class="goal-card" data-testid="goal-{goal_id}".*?</article>', page, flags=re.S)
    assert m, f"no card for goal {goal_id}"
    return m.group(0)


def status_of(page: str, goal_id: int) -> str:
    return re.search(r'data-status="(\w+)"', goal_card(page, goal_id)).group(1)


def measurement_counts(db) -> tuple[int, int]:
    with db.session() as s:
        return s.query(Measurement).count(), s.query(AuditEntry).count()


# ---- login and roles ------------------------------------------------------------------------------------

def test_anonymous_users_are_sent_to_the_login(client, data):
    gid, pid = data["g"]["id"], data["p"]["id"]
    for path in ("/partnerskap", f"/partnerskap/{pid}", f"/mal/{gid}", "/granskning", f"/partnerskap/{pid}/arbetsbok"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"] == f"/logga-in?next={path}"
    r = client.post(f"/mal/{gid}/matvarden", data={"period": "2024", "value": "1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/logga-in?next=/mal/{gid}"
    r = client.post(f"/matvarden/{data['m']['id']}/godkann", data={}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/logga-in")
    assert measurement_counts(client.app.state.db)[0] == 1


def test_partnership_list_for_an_editor(users, data):
    r = users["editor"].get("/partnerskap")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<link rel="stylesheet" href="/static/goals.css">' in r.text
    text = text_of(r.text)
    assert "Handslag Test" in text and "Handslag Annat" in text
    assert f'href="/partnerskap/{data["p"]["id"]}"' in r.text and f'href="/partnerskap/{data["p2"]["id"]}"' in r.text
    assert "Familjebostäder (sammankallande), Saab" in text
    assert "Granskning: 0 mätvärden väntar på godkännande" in text
    assert users["editor"].get("/static/goals.css").status_code == 200


def test_partner_contributor_sees_only_their_organisations_partnerships(users, data):
    partner = users["partner"]
    r = partner.get("/partnerskap")
    text = text_of(r.text)
    assert "Handslag Test" in text and "Handslag Annat" not in text
    assert "Du ser de partnerskap där din organisation Saab är part." in text
    assert partner.get(f"/partnerskap/{data['p']['id']}").status_code == 200
    assert partner.get(f"/mal/{data['g']['id']}").status_code == 200
    for path in (f"/partnerskap/{data['p2']['id']}", f"/mal/{data['g2']['id']}",
                 f"/partnerskap/{data['p2']['id']}/arbetsbok"):
        hidden = partner.get(path)
        assert hidden.status_code == 404, path
        assert "Handslag Annat" not in hidden.text and "50 lärlingsplatser" not in hidden.text
    # entering a value on the other partnership's goal is refused and writes nothing
    before = measurement_counts(partner.app.state.db)
    r = partner.post(f"/mal/{data['g2']['id']}/matvarden", data={"period": "2024", "value": "5", "action": "skicka",
                                                               "csrf_token": csrf_of(partner.get("/partnerskap").text)})
    assert r.status_code == 404
    assert measurement_counts(partner.app.state.db) == before
    # no approvals for this role, and the partnership page has no upload form
    assert partner.get("/granskning").status_code == 403
    dash = partner.get(f"/partnerskap/{data['p']['id']}").text
    assert 'data-testid="upload-form"' not in dash and 'data-testid="workbook-link"' in dash


def test_partner_contributor_without_organisation_sees_nothing(client, db, data):
    lone = as_user(client.app, db, "ensam", "partner_contributor")
    try:
        text = text_of(lone.get("/partnerskap").text)
        assert "Det finns inga partnerskap att visa." in text and "inte kopplat till någon organisation" in text
        assert lone.get(f"/partnerskap/{data['p']['id']}").status_code == 404
    finally:
        lone.__exit__(None, None, None)


def test_viewer_reads_but_gets_no_entry_form(users, data):
    viewer = users["viewer"]
    r = viewer.get(f"/mal/{data['g']['id']}")
    assert r.status_code == 200
    assert 'data-testid="entry-form"' not in r.text and f'action="/mal/{data["g"]["id"]}/matvarden"' not in r.text
    text = text_of(r.text)
    assert "Din roll (läsare) kan läsa men inte mata in mätvärden." in text
    assert "Ändringsloggen visas för redaktörer och administratörer." in text  # no audit:read
    assert "50 personer" in text
    r = viewer.post(f"/mal/{data['g']['id']}/matvarden",
                    data={"period": "2024", "value": "5", "csrf_token": csrf_of(r.text)})
    assert r.status_code == 403 and "Åtkomst nekad" in r.text
    assert viewer.get("/granskning").status_code == 403
    dash = viewer.get(f"/partnerskap/{data['p']['id']}").text
    assert 'data-testid="upload-form"' not in dash
    assert viewer.post(f"/partnerskap/{data['p']['id']}/arbetsbok", data={"csrf_token": csrf_of(dash)},
                       files={"file": ("a.xlsx", b"x", XLSX)}).status_code == 403


# ---- dashboard and goal page ------------------------------------------------------------------------------

def test_dashboard_shows_real_values(users, data):
    r = users["editor"].get(f"/partnerskap/{data['p']['id']}")
    assert r.status_code == 200
    page, gid = r.text, data["g"]["id"]
    text = text_of(page)
    assert "EXEMPELDATA" not in text  # not the demo
    card = text_of(goal_card(page, gid))
    assert status_of(page, gid) == "off_track" and "■ Ur kurs" in card
    assert "0 personer (2022) → 1 000 personer (2025)" in card
    assert "Senaste utfall 50 personer (2023), förväntat 333 personer – 5 % av den planerade förändringen mot " \
           "förväntat 33 %" in card
    assert "ansvarig: Saab" in card
    # two points (baseline + 2023): a line without an interval
    assert "Prognos 2025: 150 personer (två punkter: ingen osäkerhet kan skattas) – målet nås troligen inte." in card
    # accessible chart with its table alternative
    assert 'role="img"' in goal_card(page, gid) and f'aria-labelledby="chart-{gid}-title chart-{gid}-desc"' in page
    assert "Förväntad bana (linjär) från 0 personer år 2022 till 1 000 personer år 2025." in page.replace("\u00a0", " ")
    assert "2023 50 333 −283 5 % 33 % Ur kurs" in card
    assert "Ur kurs : 1 mål" in text and "På väg : 0 mål" in text
    # activities, budget, contributions
    assert "Aktiviteternas budget 100 000 kr , förbrukat 40 000 kr (40 % av budgeten); partnerskapets " \
           "gemensamma budget 2 000 000 kr." in text
    assert "Lovjobb hos Saab Saab Pågår" in text and "summer jobs offered: 180 jobs" in text
    assert "Insatser per part och slag – totalt värde 2 940 000 kr" in text
    assert "Familjebostäder Arbetstid 2 400 timmar 1 440 000 kr 1" in text
    assert "Saab Pengar 1 500 000 kr 1 500 000 kr 1" in text
    assert f'href="/partnerskap/{data["p"]["id"]}/arbetsbok"' in page and 'data-testid="upload-form"' in page


def test_goal_page_history_forecast_and_audit(users, data):
    r = users["editor"].get(f"/mal/{data['g']['id']}")
    assert r.status_code == 200
    text = text_of(r.text)
    assert "Handslag Test › 1 000 sommarjobb" in text
    assert "Status: ■ Ur kurs" in text
    assert "Senaste godkända utfall 50 personer (2023); förväntat enligt banan 333 personer, skillnad −283 personer." \
        in text
    assert "efter banan med 28 % av förändringen" in text
    assert "Prognos 2025: 150 personer" in text
    assert "2023 50 personer Godkänt Inrapporterat: Lista från HR anna, inskickat" in text
    assert "godkänt av bo" in text
    assert 'data-testid="entry-form"' in r.text and '<label for="period">Period</label>' in r.text
    assert 'name="csrf_token"' in r.text
    # the audit trail: goal creation and the measurement's three steps, newest first
    assert "bo godkände mätvärdet 2023" in text and "anna skickade in mätvärdet 2023" in text
    assert "anna skapade mätvärdet 2023" in text and "setup skapade målet 1 000 sommarjobb" in text
    assert text.index("bo godkände") < text.index("anna skickade in") < text.index("setup skapade målet")
    assert "Lovjobb hos Saab (Saab, pågår): summer jobs offered 180 jobs" in text


# ---- enter → submit → approve ----------------------------------------------------------------------------

def test_enter_submit_and_approve_by_a_second_user_changes_the_status(users, data):
    partner, approver, editor = users["partner"], users["approver"], users["editor"]
    gid, pid = data["g"]["id"], data["p"]["id"]
    assert status_of(editor.get(f"/partnerskap/{pid}").text, gid) == "off_track"

    page = partner.get(f"/mal/{gid}").text
    r = partner.post(f"/mal/{gid}/matvarden", data={"period": "2024", "value": "700", "action": "skicka",
                                                  "evidence_note": "Avtal med 12 arbetsgivare",
                                                  "csrf_token": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/mal/{gid}?klart=inskickat#matvarden"
    page = partner.get(f"/mal/{gid}?klart=inskickat").text
    text = text_of(page)
    assert "Mätvärdet skickades in för granskning." in text
    assert "2024 700 personer Inskickat Inrapporterat: Avtal med 12 arbetsgivare saab-pia, inskickat" in text
    # still off track: only approved values count
    assert status_of(editor.get(f"/partnerskap/{pid}").text, gid) == "off_track"
    with partner.app.state.db.session() as s:
        new = repo.list_measurements(s, goal_id=gid, state="submitted").items[0]
    assert new["value"] == 700 and new["entered_by"] == "saab-pia" and new["submitted_by"] == "saab-pia"
    # the partner may not approve (no permission)
    r = partner.post(f"/matvarden/{new['id']}/godkann", data={"csrf_token": csrf_of(page), "tillbaka": "granskning"})
    assert r.status_code == 403

    queue = approver.get("/granskning")
    assert queue.status_code == 200
    qtext = text_of(queue.text)
    assert "1 000 sommarjobb – Handslag Test" in qtext and "Värde 700 personer (förändring sedan 2022)" in qtext
    assert "Inmatat av saab-pia" in qtext and 'data-testid="own-note"' not in queue.text
    r = approver.post(f"/matvarden/{new['id']}/godkann",
                      data={"csrf_token": csrf_of(queue.text), "version": str(new["version"]),
                            "tillbaka": "granskning"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/granskning?klart=godkant"
    after = approver.get("/granskning?klart=godkant").text
    assert "Mätvärdet godkändes och räknas nu in i målets status." in text_of(after)
    assert "Inga mätvärden väntar på granskning." in text_of(after)

    dash = editor.get(f"/partnerskap/{pid}").text
    assert status_of(dash, gid) == "on_track"
    card = text_of(goal_card(dash, gid))
    assert "● På väg" in card and "Senaste utfall 700 personer (2024), förväntat 667 personer" in card
    goal_text = text_of(editor.get(f"/mal/{gid}").text)
    assert "granskare godkände mätvärdet 2024" in goal_text and "saab-pia skickade in mätvärdet 2024" in goal_text
    assert "godkänt av granskare" in goal_text


def test_four_eyes_rule_gives_a_friendly_message(users, data):
    editor, gid = users["editor"], data["g"]["id"]
    page = editor.get(f"/mal/{gid}").text
    r = editor.post(f"/mal/{gid}/matvarden", data={"period": "2024-Q2", "value": "400", "action": "skicka",
                                                 "csrf_token": csrf_of(page)})
    assert r.status_code == 200  # followed the redirect
    queue = editor.get("/granskning").text
    assert 'data-testid="own-note"' in queue
    assert "Du matade själv in det här värdet." in text_of(queue)
    with editor.app.state.db.session() as s:
        mine = repo.list_measurements(s, goal_id=gid, state="submitted").items[0]
    r = editor.post(f"/matvarden/{mine['id']}/godkann", data={"csrf_token": csrf_of(queue), "tillbaka": "granskning"})
    assert r.status_code == 409
    assert "Du kan inte godkänna ett värde som du själv har matat in (fyraögonprincipen)." in text_of(r.text)
    with editor.app.state.db.session() as s:
        assert repo.get_measurement(s, mine["id"])["state"] == "submitted"
    # rejecting needs a reason; with one, the value goes back with it
    approver = users["approver"]
    token = csrf_of(approver.get("/granskning").text)
    r = approver.post(f"/matvarden/{mine['id']}/avvisa", data={"csrf_token": token, "reason": "  ",
                                                               "tillbaka": "granskning"})
    assert r.status_code == 409 and "Skriv en motivering när du avvisar ett värde" in text_of(r.text)
    r = approver.post(f"/matvarden/{mine['id']}/avvisa", data={"csrf_token": token, "reason": "Saknar underlag",
                                                               "tillbaka": "granskning"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/granskning?klart=avvisat"
    goal_text = text_of(editor.get(f"/mal/{gid}").text)
    assert "2024-Q2 400 personer Avvisat Motivering: Saknar underlag" in goal_text
    assert "granskare avvisade mätvärdet 2024-Q2" in goal_text and "motivering: Saknar underlag" in goal_text
    # reopen from the goal page → a draft again; submit it from there
    page = editor.get(f"/mal/{gid}").text
    r = editor.post(f"/matvarden/{mine['id']}/oppna-igen", data={"csrf_token": csrf_of(page), "tillbaka": "mal"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/mal/{gid}?klart=oppnat#matvarden"
    with editor.app.state.db.session() as s:
        assert repo.get_measurement(s, mine["id"])["state"] == "draft"


def test_draft_then_submit_and_stale_version(users, data):
    editor, gid = users["editor"], data["g"]["id"]
    page = editor.get(f"/mal/{gid}").text
    r = editor.post(f"/mal/{gid}/matvarden", data={"period": "2024", "value": "1 000,5", "action": "utkast",
                                                 "csrf_token": csrf_of(page)}, follow_redirects=False)
    assert r.headers["location"] == f"/mal/{gid}?klart=sparat#matvarden"
    with editor.app.state.db.session() as s:
        draft = repo.list_measurements(s, goal_id=gid, state="draft").items[0]
    assert draft["value"] == 1000.5 and draft["period"] == "2024"
    page = editor.get(f"/mal/{gid}").text
    assert f'action="/matvarden/{draft["id"]}/skicka-in"' in page
    # a stale version (someone changed it since the page was loaded) → friendly 409, nothing changes
    r = editor.post(f"/matvarden/{draft['id']}/skicka-in", data={"csrf_token": csrf_of(page), "version": "99"})
    assert r.status_code == 409 and "har ändrats av någon annan" in text_of(r.text)
    r = editor.post(f"/matvarden/{draft['id']}/skicka-in",
                    data={"csrf_token": csrf_of(page), "version": str(draft["version"])}, follow_redirects=False)
    assert r.status_code == 303
    # submitting again is refused kindly (already submitted)
    r = editor.post(f"/matvarden/{draft['id']}/skicka-in", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 409 and "Det går inte längre: värdet är inskickat." in text_of(r.text)
    # withdraw it
    r = editor.post(f"/matvarden/{draft['id']}/dra-tillbaka", data={"csrf_token": csrf_of(page)},
                    follow_redirects=False)
    assert r.headers["location"] == f"/mal/{gid}?klart=tillbakadraget#matvarden"


# ---- bad input: messages, never a 500 -------------------------------------------------------------------

@pytest.mark.parametrize(("form", "message"), [
    ({"period": "2024-Q5", "value": "10"}, "Perioden ”2024-Q5” känns inte igen."),
    ({"period": "", "value": "10"}, "Ange perioden, till exempel 2025"),
    ({"period": "2024", "value": "många"}, "Ange värdet som ett tal"),
    ({"period": "2024", "value": ""}, "Ange värdet som ett tal"),
    ({"period": "2024", "value": "1e400"}, "Ange värdet som ett tal"),
    ({"period": "2024", "value": "nan"}, "Ange värdet som ett tal"),
    ({"period": "20\x0024", "value": "1"}, "känns inte igen"),
    ({"period": "2024", "value": "1", "evidence_note": "x" * 10_001}, "Underlaget får vara högst 10 000 tecken."),
])
def test_bad_measurement_input_shows_the_form_again(users, data, form, message):
    editor, gid = users["editor"], data["g"]["id"]
    before = measurement_counts(editor.app.state.db)
    r = editor.post(f"/mal/{gid}/matvarden", data={**form, "action": "skicka",
                                                 "csrf_token": csrf_of(editor.get(f"/mal/{gid}").text)})
    assert r.status_code == 422
    assert message in text_of(r.text) and "Mätvärdet sparades inte:" in text_of(r.text)
    assert 'data-testid="entry-form"' in r.text
    if form["value"] and "\x00" not in form["period"]:
        assert f'value="{html.escape(form["value"])}"' in r.text  # what was typed is kept
    assert measurement_counts(editor.app.state.db) == before


def test_odd_urls_and_missing_tokens_are_4xx(users, data):
    editor = users["editor"]
    for path in ("/mal/abc", "/mal/0", "/mal/-1", "/mal/99999999999999999999", "/mal/999999",
                 "/partnerskap/x", "/partnerskap/99999999999", "/partnerskap/999999/arbetsbok"):
        r = editor.get(path)
        assert r.status_code == 404, path
        assert "Hittades inte" in r.text
    token = csrf_of(editor.get("/granskning").text)
    assert editor.post("/matvarden/1/flyga", data={"csrf_token": token}).status_code == 404
    assert editor.post("/matvarden/999999/godkann", data={"csrf_token": token}).status_code == 404
    assert editor.post("/matvarden/abc/godkann", data={"csrf_token": token}).status_code == 404
    assert editor.post("/mal/abc/matvarden", data={"csrf_token": token}).status_code == 404
    # a form without the CSRF token (and no header) is refused
    del editor.headers["X-CSRF-Token"]
    before = measurement_counts(editor.app.state.db)
    r = editor.post(f"/mal/{data['g']['id']}/matvarden", data={"period": "2024", "value": "1"})
    assert r.status_code == 403
    r = editor.post(f"/mal/{data['g']['id']}/matvarden", data={"period": "2024", "value": "1", "csrf_token": "fel"})
    assert r.status_code == 403
    assert measurement_counts(editor.app.state.db) == before
    # over-long fields are refused by the form parser, not with a 500
    r = editor.post(f"/mal/{data['g']['id']}/matvarden", data={"period": "2" * 500, "value": "1", "csrf_token": token})
    assert r.status_code == 422


def test_statistic_goals_take_no_manual_entry(users, data, db):
    with db.session() as s:
        sg = repo.create_goal(s, {"partnership_id": data["p"]["id"], "title": "Sysselsättning", "kind": "statistic",
                                  "unit": "share", "baseline_value": 60, "baseline_year": 2022, "target_value": 70,
                                  "target_year": 2025, "indicator": "employment_20_64"}, actor="setup")
    editor = users["editor"]
    page = editor.get(f"/mal/{sg['id']}")
    assert page.status_code == 200 and 'data-testid="entry-form"' not in page.text
    assert "utfallen hämtas automatiskt från SCB:s statistik" in text_of(page.text)
    assert "Gapet till stadens nivå kan inte beräknas" in text_of(page.text)  # no statistics in this store
    r = editor.post(f"/mal/{sg['id']}/matvarden", data={"period": "2024", "value": "65",
                                                      "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422 and "Målet följs med statistik" in text_of(r.text)


# ---- Excel -----------------------------------------------------------------------------------------------

def _edit(book: bytes, edit) -> bytes:
    wb = load_workbook(io.BytesIO(book))
    edit(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_excel_download_and_upload_with_a_broken_row_writes_nothing(users, data):
    editor, pid, gid = users["editor"], data["p"]["id"], data["g"]["id"]
    r = editor.get(f"/partnerskap/{pid}/arbetsbok")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert f'filename="handslag_{pid}_' in r.headers["content-disposition"]
    book = r.content
    assert load_workbook(io.BytesIO(book)).sheetnames == ["Info", "Goals", "Measurements", "Activities"]

    def broken(wb):
        ms = wb["Measurements"]
        ms.append([None, None, gid, None, "2024", 600])  # fine
        ms.append([None, None, gid, None, "våren", "många"])  # bad period and value

    token = csrf_of(editor.get(f"/partnerskap/{pid}").text)
    before = measurement_counts(editor.app.state.db)
    r = editor.post(f"/partnerskap/{pid}/arbetsbok", data={"csrf_token": token},
                    files={"file": ("plan.xlsx", _edit(book, broken), XLSX)})
    assert r.status_code == 422
    assert 'data-testid="upload-errors"' in r.text
    text = text_of(r.text)
    assert "plan.xlsx: 2 fel – ingenting sparades." in text
    rows = re.findall(r"<tr><td>plan\.xlsx</td><td>(\w+)</td><td class=\"num\">(\d+)</td><td>(\w+)</td><td>([^<]+)</td>",
                      r.text)
    assert [(sheet, row, col) for sheet, row, col, _ in rows] == [("Measurements", "4", "period"),
                                                                  ("Measurements", "4", "value")]
    assert all(reason.strip() for *_, reason in rows)
    assert measurement_counts(editor.app.state.db) == before  # nothing written, not even the good row

    # a good upload creates the row as a draft; a dry run only checks
    def good(wb):
        wb["Measurements"].append([None, None, gid, None, "2024", 600, "manual", "Från Excel"])

    r = editor.post(f"/partnerskap/{pid}/arbetsbok", data={"csrf_token": token, "dry_run": "1"},
                    files={"file": ("plan.xlsx", _edit(book, good), XLSX)})
    assert r.status_code == 200 and "inga fel hittades, men ingenting sparades" in text_of(r.text)
    assert measurement_counts(editor.app.state.db) == before
    r = editor.post(f"/partnerskap/{pid}/arbetsbok", data={"csrf_token": token},
                    files={"file": ("plan.xlsx", _edit(book, good), XLSX)})
    assert r.status_code == 200 and "plan.xlsx : inläst. Mätvärden: 1 nya, 0 ändrade." in text_of(r.text)
    with editor.app.state.db.session() as s:
        created = repo.list_measurements(s, goal_id=gid, period="2024").items
    assert [(m["value"], m["state"], m["entered_by"]) for m in created] == [(600.0, "draft", "redaktor")]


def test_excel_upload_of_junk_and_nothing(users, data):
    editor, pid = users["editor"], data["p"]["id"]
    token = csrf_of(editor.get(f"/partnerskap/{pid}").text)
    before = measurement_counts(editor.app.state.db)
    r = editor.post(f"/partnerskap/{pid}/arbetsbok", data={"csrf_token": token},
                    files={"file": ("inte.xlsx", b"this is not a workbook", XLSX)})
    assert r.status_code == 422 and 'data-testid="upload-errors"' in r.text and "inte.xlsx" in r.text
    r = editor.post(f"/partnerskap/{pid}/arbetsbok", data={"csrf_token": token})
    assert r.status_code == 422 and "Välj en ifylld arbetsbok (.xlsx) att ladda upp." in text_of(r.text)
    r = editor.post(f"/partnerskap/{pid}/arbetsbok", data={"csrf_token": token},
                    files={"file": ("tom.xlsx", b"", XLSX)})
    assert r.status_code == 422
    r = editor.post("/partnerskap/999999/arbetsbok", data={"csrf_token": token},
                    files={"file": ("a.xlsx", b"x", XLSX)})
    assert r.status_code == 404
    assert measurement_counts(editor.app.state.db) == before


# ---- pure helpers ------------------------------------------------------------------------------------------

def test_number_parsing_and_formatting():
    assert parse_value("1 000,5") == 1000.5 and parse_value("−3") == -3 and parse_value("+7") == 7
    assert parse_value("12.25") == 12.25 and parse_value("1\u00a0200") == 1200
    for bad in ("", "abc", "1,2,3", "1e5", "inf", "--1"):
        assert parse_value(bad) is None, bad
    assert fmt_number(1402.135, 0) == "1\u00a0402" and fmt_number(65.446, 3) == "65,446"
    assert fmt_number(-26.666) == "−26,7" and fmt_number(None) == "–" and fmt_number(0.5) == "0,5"


def test_chart_coordinates():
    progress = {"trajectory": [{"t": 2022.0, "expected": 0.0}, {"t": 2025.0, "expected": 75.0}],
                "measurements": [{"period": "2024", "t": 2024.0, "actual": 40.0, "expected": 50.0,
                                  "status": "at_risk"}],
                "forecast": {"at": 2025.0, "value": 58.0, "lower": 30.5, "upper": 85.5},
                "baseline": {"year": 2022, "value": 0.0}, "target": {"year": 2025, "value": 75.0},
                "shape": "linear"}
    c = build_chart(progress, {"unit": "companies"})
    assert [t["label"] for t in c["x_ticks"]] == ["2022", "2023", "2024", "2025"]
    assert [t["label"] for t in c["y_ticks"]] == ["0", "20", "40", "60", "80", "100"]
    assert c["expected_path"] == "M 64.0,220.0 L 620.0,67.0"
    assert c["actual_points"][0] == {"x": 434.7, "y": 138.4, "status": "at_risk",
                                     "label": "2024: 40\u00a0företag (förväntat 50\u00a0företag)"}
    assert c["forecast"]["low"] == 157.8 and c["forecast"]["high"] == 45.6
    assert "Prognos 2025: 58 företag, intervall 30,5 företag–85,5 företag." in c["description"].replace("\u00a0", " ")


# ---- the demo on real data ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_db(shared_data, tmp_path_factory):
    """A fresh SQLite database with the real snapshot and "Handslag Bergsjön (exempel)"."""
    from conftest import make_database
    from handslag.ingest import import_snapshot

    database = make_database(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite'}")
    import_snapshot(database, shared_data)
    with database.session() as s:
        out = repo.create_demo(s)
    yield database, out
    database.dispose()


@pytest.mark.realdata
def test_demo_dashboard_on_real_data(demo_db):
    from handslag.config import get_settings
    from handslag.web.app import create_app

    database, demo = demo_db
    with TestClient(create_app(db=database, settings=get_settings())) as c:
        login_client(c, database, "redaktor", "partnership_editor")
        listing = text_of(c.get("/partnerskap").text)
        assert "Handslag Bergsjön (exempel) EXEMPELDATA" in listing
        r = c.get(f"/partnerskap/{demo['partnership_id']}")
        assert r.status_code == 200
        page, text = r.text, text_of(r.text)
        assert 'data-testid="example-banner"' in page and text.count("EXEMPELDATA") >= 2
        goals = demo["goals"]
        assert [status_of(page, goals[k]) for k in ("companies", "eligible", "summer")] == \
               ["at_risk", "off_track", "on_track"]
        jobs = text_of(goal_card(page, goals["jobs"]))
        # the gap to parity of the employment goal, with its computation (docs/goals.md §2)
        assert ("Handslag Bergsjön (exempel) behöver 1 402 fler förvärvsarbetande för att nå Göteborgs nivå "
                "(77,7 %).") in jobs
        assert "Områdets andel (Handslag Bergsjön (exempel), 2024) nämnarvägt medelvärde av 10 DeSO2025-områden " \
               "65,446 %" in jobs
        assert "Skillnad i andel 77,720 − 65,446 12,275 procentenheter" in jobs
        assert "Gap i personer 12,275 / 100 × 11 423 1 402,1 personer" in jobs
        assert "Nämnaren är från 2025, andelen från 2024." in jobs
        companies = text_of(goal_card(page, goals["companies"]))
        assert "Senaste utfall 40 företag (2024), förväntat 50 företag" in companies
        assert "Prognos 2025: 58 företag (80 % prognosintervall 30,5 företag – 85,5 företag) – målet kan nås." \
            in companies
        assert "1 mätvärde väntar på granskning" in text
        assert "summer jobs offered 432 jobs" in text  # 252 (2022) + 180
        assert "Aktiviteternas budget 10 700 000 kr , förbrukat 6 550 000 kr (61 % av budgeten)" in text
        goal = c.get(f"/mal/{goals['jobs']}")
        assert goal.status_code == 200 and "1 402 fler förvärvsarbetande" in text_of(goal.text)
