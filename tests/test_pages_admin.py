"""The import page (/importer) and the administration page (/admin): uploads, row-level rejection reports,
the import log, users and organisations, self-protection, role checks, CSRF and the audit log."""

from __future__ import annotations

import html
import io
import json
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import login_client
from handslag.store import accounts_repo, audit, imports_repo
from handslag.store.models import Observation
from handslag.web import pages_admin

ADMIN_PW = "admin-lösenord-123"
GOOD_CSV = ("area_code,indicator,year,value\n"
            "1480,population,2023,604616\n"
            "0180,population,2023,984748\n"
            "1280,population,2023,362133\n")
BAD_CSV = ("area_code;indicator;year;value\n"
           "1480;population;2023;604616\n"
           "0180;population;20x3;984748\n"
           "9999;population;2023;100\n"
           "1280;folkmangd;2023;362133\n"
           "1281;population;2023;tusen\n")


def _token(text: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert match, "no CSRF token in the page"
    return match.group(1)


def _flash(text: str) -> str:
    match = re.search(r'data-testid="flash">([^<]*)<', text)
    assert match, "no confirmation message on the page"
    return html.unescape(match.group(1))


def _error(text: str) -> str:
    match = re.search(r'data-testid="admin-error">(.*?)</div>', text, re.S)
    assert match, "no error message on the page"
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def _problem_rows(text: str) -> list[tuple[str, ...]]:
    section = re.search(r'data-testid="import-rejected">(.*?)</section>', text, re.S)
    assert section, "no rejection report on the page"
    rows = re.findall(r"<tr>(<td>.*?)</tr>", section.group(1))
    return [tuple(html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)) for row in rows]


def _n_observations(db) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Observation)) or 0)


@pytest.fixture
def admin(client, db):
    return login_client(client, db, "ada", "admin", password=ADMIN_PW)


def _upload(client: TestClient, name: str, content: bytes, **fields: str):
    token = _token(client.get("/importer").text)
    return client.post("/importer", data={"csrf_token": token, **fields},
                       files={"file": (name, content, "application/octet-stream")})


# --- /importer ----------------------------------------------------------------------------------------------


def test_import_success_shows_counts_and_log(admin, db):
    r = _upload(admin, "folkmängd 2023.csv", GOOD_CSV.encode(), source="SCB folkmängd 2023")
    assert r.status_code == 200, r.text
    result = re.search(r'data-testid="import-result">(.*?)</section>', r.text, re.S).group(1)
    assert "Importen är klar" in result and "folkmängd 2023.csv" in result
    assert '<dd data-count="observationer">3</dd>' in result
    assert _n_observations(db) == 3
    with db.session() as session:
        values = dict(session.execute(select(Observation.area_code, Observation.value)).all())
        sources = set(session.scalars(select(Observation.source)))
        log = imports_repo.recent_imports(session)
    assert values == {"1480": 604616.0, "0180": 984748.0, "1280": 362133.0}
    assert sources == {"SCB folkmängd 2023"}
    assert log[0].status == "ok" and log[0].user == "ada" and log[0].counts["observations"] == 3
    table = re.search(r'<table class="imports">.*?</table>', r.text, re.S).group(0)
    assert "folkmängd 2023.csv" in table and ">Klar<" in table and "3 observationer" in table
    assert "/tmp" not in table  # the temporary folder is not shown

    again = _upload(admin, "folkmängd 2023.csv", GOOD_CSV.encode(), source="SCB folkmängd 2023")
    assert again.status_code == 200 and "Ingen ändring" in again.text and "identisk" in again.text
    assert _n_observations(db) == 3


def test_import_excel(admin, db):
    buffer = io.BytesIO()
    pd.DataFrame({"area_code": ["1480", "0180"], "indicator": ["unemployment_20_64"] * 2, "year": [2023, 2023],
                  "value": [6.1, 5.4]}).to_excel(buffer, index=False)
    r = _upload(admin, "arbetslöshet.xlsx", buffer.getvalue())
    assert r.status_code == 200, r.text
    assert '<dd data-count="observationer">2</dd>' in r.text
    with db.session() as session:
        assert dict(session.execute(select(Observation.area_code, Observation.value)).all()) == {
            "1480": 6.1, "0180": 5.4}


def test_import_rejection_shows_rows_and_writes_nothing(admin, db):
    r = _upload(admin, "fel.csv", BAD_CSV.encode())
    assert r.status_code == 422
    assert "Filen avvisades – ingenting skrevs" in r.text
    assert "4 problem hittades. Ingenting skrevs till databasen" in r.text
    assert _problem_rows(r.text) == [
        ("fel.csv", "3", "year", "'20x3' is not a year"),
        ("fel.csv", "4", "area_code", "unknown area code 9999"),
        ("fel.csv", "5", "indicator", "unknown indicator 'folkmangd' (not in the catalogue)"),
        ("fel.csv", "6", "value", "'tusen' is not a number"),
    ]
    assert _n_observations(db) == 0  # row 2 was valid, but nothing is written
    with db.session() as session:
        log = imports_repo.recent_imports(session)
    assert [e.status for e in log] == ["failed"] and "row 3, column year" in log[0].message
    table = re.search(r'<table class="imports">.*?</table>', r.text, re.S).group(0)
    assert ">Avvisad<" in table and "fel.csv rejected: 4 problems; nothing was written" in table


def test_import_report_shows_first_200_of_many(admin, db):
    codes = ["1480", "0180", "1280"]
    lines = ["area_code,indicator,year,value"] + [f"{codes[i % 3]},population,{2000 + i // 3},x{i}" for i in range(250)]
    r = _upload(admin, "många.csv", "\n".join(lines).encode())
    assert r.status_code == 422
    assert "250 problem hittades" in r.text and "Visar de första 200 av 250 problem." in r.text
    rows = _problem_rows(r.text)
    assert len(rows) == 200
    assert rows[0] == ("många.csv", "2", "value", "'x0' is not a number")
    assert rows[-1] == ("många.csv", "201", "value", "'x199' is not a number")
    assert _n_observations(db) == 0


@pytest.mark.parametrize(("name", "content", "message"), [
    ("rapport.pdf", b"%PDF-1.4", "rapport.pdf: filtypen stöds inte"),
    ("tom.csv", b"", "tom.csv är tom."),
    ("inte.xlsx", b"inte en arbetsbok", "Filen avvisades – ingenting skrevs"),
    ("trasig.xlsx", b"PK\x03\x04" + bytes(100), "trasig.xlsx kunde inte importeras (BadZipFile: File is not a zip "
                                                 "file). Ingenting skrevs till databasen."),
])
def test_import_bad_files_are_refused_without_500(admin, db, name, content, message):
    r = _upload(admin, name, content)
    assert r.status_code in (400, 422)
    assert message in html.unescape(r.text)
    assert _n_observations(db) == 0


def test_import_without_file_or_csrf(admin):
    token = _token(admin.get("/importer").text)
    r = admin.post("/importer", data={"csrf_token": token})
    assert r.status_code == 400 and "Välj en fil att importera." in r.text
    admin.headers.pop("X-CSRF-Token")
    r = admin.post("/importer", data={"csrf_token": "fel"}, files={"file": ("a.csv", GOOD_CSV.encode())})
    assert r.status_code == 403


def test_import_size_limit(admin, db, monkeypatch):
    monkeypatch.setattr(pages_admin, "MAX_UPLOAD_BYTES", 100)
    big = GOOD_CSV.encode()  # 130 bytes
    assert len(big) > 100
    # declared length over the limit: refused before the body is read
    monkeypatch.setattr(pages_admin, "FORM_OVERHEAD", 0)
    r = _upload(admin, "stor.csv", big)
    assert r.status_code == 413 and "Filen är för stor: högst 0 MB" in r.text
    # a body without Content-Length (chunked): reading stops at the limit
    token = _token(admin.get("/importer").text)
    body = (f'--grans-4711\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n--grans-4711\r\n'
            'Content-Disposition: form-data; name="file"; filename="stor.csv"\r\n'
            'Content-Type: text/csv\r\n\r\n').encode() + big * 10 + b"\r\n--grans-4711--\r\n"

    def chunks():
        for i in range(0, len(body), 256):
            yield body[i:i + 256]

    r = admin.post("/importer", content=chunks(), headers={"content-type": "multipart/form-data; boundary=grans-4711"})
    assert r.status_code == 413 and "Filen är för stor" in r.text
    # the form field overhead is allowed, but the file itself is still limited
    monkeypatch.setattr(pages_admin, "FORM_OVERHEAD", 64 * 1024)
    r = _upload(admin, "stor.csv", big)
    assert r.status_code == 413 and "Filen är för stor" in r.text
    assert _n_observations(db) == 0


def test_partnership_editor_may_import(client, db):
    editor = login_client(client, db, "erik", "partnership_editor")
    assert editor.get("/importer").status_code == 200
    r = _upload(editor, "folk.csv", GOOD_CSV.encode())
    assert r.status_code == 200 and _n_observations(db) == 3
    assert "allow_new_indicators" not in r.text  # admin-only option
    assert editor.get("/admin").status_code == 403


# --- role checks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "partner_contributor"])
def test_wrong_role_gets_403(client, db, role):
    user = login_client(client, db, f"u_{role}", role)
    for path in ("/importer", "/admin"):
        assert user.get(path).status_code == 403
    page = user.get("/importer", headers={"accept": "text/html"})
    assert page.status_code == 403 and "Åtkomst nekad" in page.text
    token = user.headers["X-CSRF-Token"]
    assert user.post("/importer", data={"csrf_token": token},
                     files={"file": ("a.csv", GOOD_CSV.encode())}).status_code == 403
    assert user.post("/admin/anvandare", data={"csrf_token": token, "username": "smygare",
                                               "password": "lösenord-12345", "password2": "lösenord-12345",
                                               "role": "admin"}).status_code == 403
    with db.session() as session:
        assert accounts_repo.get_user(session, "smygare") is None
    assert _n_observations(db) == 0


def test_anonymous_is_sent_to_login_or_gets_401(client):
    for path in ("/importer", "/admin"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/logga-in?next={path}"
    assert client.post("/importer", files={"file": ("a.csv", GOOD_CSV.encode())}).status_code == 401
    assert client.post("/admin/anvandare", data={"username": "x"}).status_code == 401
    assert client.post("/admin/anvandare/1/aktiv", data={"active": "0"}).status_code == 401


# --- /admin: users ------------------------------------------------------------------------------------------


def _create_org(admin: TestClient, name: str, type_: str) -> int:
    r = admin.post("/admin/organisationer", data={"csrf_token": _token(admin.get("/admin").text), "name": name,
                                                  "type": type_})
    assert r.status_code == 200, r.text
    return int(re.search(r'id="o(\d+)"[^>]*>\s*<th scope="row">' + re.escape(name), r.text).group(1))


def test_admin_creates_user_who_can_log_in(admin, db):
    org = _create_org(admin, "Familjebostäder", "public_housing")
    page = admin.get("/admin")
    r = admin.post("/admin/anvandare", data={
        "csrf_token": _token(page.text), "username": "Anna", "password": "bergsjön-2030!",
        "password2": "bergsjön-2030!", "role": "partnership_editor", "organisation_id": str(org)})
    assert r.status_code == 200
    assert _flash(r.text) == ("Användaren anna skapades med rollen Partnerskapsredaktör, organisation "
                              "Familjebostäder. Hen kan nu logga in med det angivna lösenordet.")
    assert admin.get("/admin").text.count('data-testid="flash"') == 0  # shown once
    with db.session() as session:
        anna = accounts_repo.get_user(session, "anna")
        assert anna.role == "partnership_editor" and anna.organisation_id == org and anna.active
    with TestClient(admin.app) as other:
        logged_in = login_client(other, db, "anna", password="bergsjön-2030!")
        home = logged_in.get("/")
        assert '<strong data-testid="username">anna</strong>' in home.text
        assert logged_in.get("/importer").status_code == 200
        assert logged_in.get("/admin").status_code == 403


def test_create_user_bad_input_is_reported(admin, db):
    token = _token(admin.get("/admin").text)
    base = {"csrf_token": token, "username": "bo", "password": "tillräckligt-långt", "password2": "tillräckligt-långt",
            "role": "viewer"}
    cases = [
        ({"password": "kort", "password2": "kort"}, 400, "lösenordet måste vara minst 10 tecken"),
        ({"password2": "något-annat-123"}, 400, "Lösenorden stämmer inte överens."),
        ({"username": "b o"}, 400, "användarnamnet måste vara 1–100 tecken utan blanksteg"),
        ({"role": "kung"}, 400, "okänd roll 'kung'"),
        ({"organisation_id": "abc"}, 400, "Välj en organisation i listan."),
        ({"organisation_id": "99999999999999999999"}, 400, "Välj en organisation i listan."),
        ({"organisation_id": "4711"}, 400, "organisation 4711 finns inte"),
        ({"username": "ada"}, 409, "användaren 'ada' finns redan"),
    ]
    for change, status, message in cases:
        r = admin.post("/admin/anvandare", data={**base, **change})
        assert r.status_code == status, (change, r.text)
        assert message in _error(r.text), change
    with db.session() as session:
        assert [u.username for u in accounts_repo.list_users(session)] == ["ada"]


def test_change_role_deactivate_reactivate_reset_password(admin, db):
    org = _create_org(admin, "Bergsjöns företagarförening", "civil_society")
    with db.session() as session:
        uid = accounts_repo.create_user(session, "cecilia", "första-lösenordet", role="viewer").id
    token = _token(admin.get("/admin").text)

    r = admin.post(f"/admin/anvandare/{uid}/roll", data={"csrf_token": token, "role": "partner_contributor",
                                                         "organisation_id": str(org)})
    assert _flash(r.text) == ("Användaren cecilia: roll Läsare → Partnerbidragsgivare; organisation – → "
                              "Bergsjöns företagarförening.")
    r = admin.post(f"/admin/anvandare/{uid}/roll", data={"csrf_token": token, "role": "partner_contributor",
                                                         "organisation_id": str(org)})
    assert _flash(r.text) == "Ingen ändring för cecilia."

    with TestClient(admin.app) as other:
        cecilia = login_client(other, db, "cecilia", password="första-lösenordet")
        assert cecilia.get("/importer").status_code == 403
        r = admin.post(f"/admin/anvandare/{uid}/aktiv", data={"csrf_token": token, "active": "0"})
        assert _flash(r.text).startswith("Användaren cecilia inaktiverades")
        # the open session ends at the next request
        assert cecilia.get("/importer", follow_redirects=False).status_code == 303
    with TestClient(admin.app) as other:
        other.get("/logga-in")
        bad = other.post("/logga-in", data={"username": "cecilia", "password": "första-lösenordet",
                                            "csrf_token": _token(other.get("/logga-in").text)},
                         follow_redirects=False)
        assert bad.status_code == 401
    r = admin.post(f"/admin/anvandare/{uid}/aktiv", data={"csrf_token": token, "active": "1"})
    assert _flash(r.text) == "Användaren cecilia återaktiverades och kan logga in igen."

    r = admin.post(f"/admin/anvandare/{uid}/losenord", data={"csrf_token": token, "password": "andra-lösenordet",
                                                             "password2": "andra-lösenordet"})
    assert _flash(r.text) == ("Lösenordet för cecilia byttes; en eventuell spärr efter felaktiga inloggningar "
                              "hävdes.")
    r = admin.post(f"/admin/anvandare/{uid}/losenord", data={"csrf_token": token, "password": "kort",
                                                             "password2": "kort"})
    assert r.status_code == 400 and "lösenordet måste vara minst 10 tecken" in _error(r.text)
    with db.session() as session:
        assert not accounts_repo.authenticate(session, "cecilia", "första-lösenordet").ok
        assert accounts_repo.authenticate(session, "cecilia", "andra-lösenordet").ok
        user = accounts_repo.get_user(session, "cecilia")
        assert user.role == "partner_contributor" and user.organisation_id == org and user.active


def test_admin_cannot_demote_or_deactivate_themselves(admin, db):
    with db.session() as session:
        me = accounts_repo.get_user(session, "ada").id
    page = admin.get("/admin").text
    assert "Du kan inte inaktivera ditt eget konto." in page
    assert f'action="/admin/anvandare/{me}/aktiv"' not in page
    token = _token(page)
    r = admin.post(f"/admin/anvandare/{me}/roll", data={"csrf_token": token, "role": "viewer"})
    assert r.status_code == 403
    assert "du kan inte ta bort din egen administratörsroll" in _error(r.text)
    r = admin.post(f"/admin/anvandare/{me}/aktiv", data={"csrf_token": token, "active": "0"})
    assert r.status_code == 403 and "du kan inte inaktivera ditt eget konto" in _error(r.text)
    with db.session() as session:
        user = accounts_repo.get_user(session, "ada")
        assert user.role == "admin" and user.active
        assert audit.list_entries(session, entity="user")[1] == 0
    assert admin.get("/admin").status_code == 200  # still an admin


def test_repository_keeps_one_active_admin(db):
    with db.session() as session:
        only = accounts_repo.create_user(session, "ensam", "ensam-admin-123", role="admin")
        with pytest.raises(accounts_repo.SelfLockout, match="minst en aktiv administratör"):
            accounts_repo.update_user(session, only.id, actor="cli", role="viewer")
        with pytest.raises(accounts_repo.SelfLockout, match="minst en aktiv administratör"):
            accounts_repo.set_active(session, only.id, False, actor="cli")


def test_bad_ids_and_values_are_4xx(admin):
    token = _token(admin.get("/admin").text)
    for path, data in [("/admin/anvandare/abc/roll", {"role": "viewer"}),
                       ("/admin/anvandare/99999999999999999999/aktiv", {"active": "0"}),
                       ("/admin/anvandare/4711/losenord", {"password": "långt-nog-123", "password2": "långt-nog-123"}),
                       ("/admin/anvandare/4711/roll", {"role": "viewer"}),
                       ("/admin/organisationer/xyz", {"type": "company"}),
                       ("/admin/organisationer/4711", {"type": "company"})]:
        r = admin.post(path, data={"csrf_token": token, **data})
        assert r.status_code == 404, (path, r.status_code, r.text)
    r = admin.post("/admin/anvandare/1/aktiv", data={"csrf_token": token, "active": "kanske"})
    assert r.status_code == 400
    r = admin.post("/admin/anvandare", data={"username": "utan-token", "password": "x" * 12, "password2": "x" * 12},
                   headers={"X-CSRF-Token": ""})
    assert r.status_code == 403


# --- /admin: organisations -----------------------------------------------------------------------------------


def test_organisations_create_and_edit_type(admin, db):
    token = _token(admin.get("/admin").text)
    r = admin.post("/admin/organisationer", data={"csrf_token": token, "name": "Göteborgs Stad",
                                                  "type": "municipality", "org_number": "212000-1355"})
    assert _flash(r.text) == "Organisationen Göteborgs Stad skapades (typ Kommun/förvaltning)."
    oid = int(re.search(r'id="o(\d+)"', r.text).group(1))
    version = re.search(rf'action="/admin/organisationer/{oid}".*?name="version" value="(\d+)"', r.text, re.S).group(1)
    r = admin.post(f"/admin/organisationer/{oid}", data={"csrf_token": token, "type": "other", "version": version})
    assert _flash(r.text) == "Organisationen Göteborgs Stad: typ Kommun/förvaltning → Annan."
    # a form based on the old version is refused
    r = admin.post(f"/admin/organisationer/{oid}", data={"csrf_token": token, "type": "company", "version": version})
    assert r.status_code == 409 and "har ändrats av någon annan" in _error(r.text)
    r = admin.post(f"/admin/organisationer/{oid}", data={"csrf_token": token, "type": "kyrka"})
    assert r.status_code == 422 and "type:" in _error(r.text)
    r = admin.post("/admin/organisationer", data={"csrf_token": token, "name": "", "type": "company"})
    assert r.status_code == 422 and "Organisationen skapades inte." in _error(r.text)
    r = admin.post("/admin/organisationer", data={"csrf_token": token, "name": "Fel nummer AB", "type": "company",
                                                  "org_number": "12"})
    assert r.status_code == 422 and "org_number" in _error(r.text)
    with db.session() as session:
        from handslag.store import goals_repo

        orgs = goals_repo.list_organisations(session).items
    assert [(o["name"], o["type"], o["org_number"]) for o in orgs] == [("Göteborgs Stad", "other", "212000-1355")]


# --- audit -------------------------------------------------------------------------------------------------


def test_admin_changes_are_audited(admin, db):
    org = _create_org(admin, "Stena Fastigheter", "private_landlord")
    token = _token(admin.get("/admin").text)
    admin.post("/admin/anvandare", data={"csrf_token": token, "username": "dan", "password": "dans-lösenord-1",
                                         "password2": "dans-lösenord-1", "role": "viewer"})
    with db.session() as session:
        uid = accounts_repo.get_user(session, "dan").id
    admin.post(f"/admin/anvandare/{uid}/roll", data={"csrf_token": token, "role": "partnership_editor",
                                                     "organisation_id": str(org)})
    admin.post(f"/admin/anvandare/{uid}/aktiv", data={"csrf_token": token, "active": "0"})
    admin.post(f"/admin/anvandare/{uid}/aktiv", data={"csrf_token": token, "active": "1"})
    admin.post(f"/admin/anvandare/{uid}/losenord", data={"csrf_token": token, "password": "nytt-lösenord-2",
                                                         "password2": "nytt-lösenord-2"})
    with db.session() as session:
        entries, total = audit.list_entries(session, entity="user", entity_id=uid)
        org_entries, _ = audit.list_entries(session, entity="organisation", entity_id=org)
    assert total == 5
    assert [e["action"] for e in reversed(entries)] == ["create", "update", "deactivate", "reactivate",
                                                       "reset_password"]
    assert all(e["actor"] == "ada" for e in entries)
    create, update, deactivate = entries[4], entries[3], entries[2]
    assert create["before"] is None and create["after"]["username"] == "dan" and create["after"]["role"] == "viewer"
    assert audit.changed_fields(update["before"], update["after"]) == ["organisation_id", "role"]
    assert update["before"]["role"] == "viewer" and update["after"]["role"] == "partnership_editor"
    assert update["after"]["organisation_id"] == org
    assert deactivate["before"]["active"] is True and deactivate["after"]["active"] is False
    assert entries[0]["context"] == {"password": "changed"}
    dumped = json.dumps([e["before"] for e in entries] + [e["after"] for e in entries])
    assert "password_hash" not in dumped and "$argon2" not in dumped and "dans-lösenord" not in dumped
    assert [e["action"] for e in org_entries] == ["create"] and org_entries[0]["actor"] == "ada"
    page = admin.get("/admin").text
    changes = re.search(r'<h2 id="andringar">.*?</table>', page, re.S).group(0)
    assert "Användare dan: reset_password" in changes and "Organisation Stena Fastigheter: create" in changes
