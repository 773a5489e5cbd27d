"""English as a selectable language (``handslag.web.i18n``): the catalogue is complete, ``?lang=`` / the cookie /
``Accept-Language`` choose the language, Swedish stays the default, and the main pages in English carry no
known Swedish labels."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from conftest import login_client
from handslag.web import i18n

PO = Path(i18n.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "messages.po"
SWEDISH_LABELS = ["Välj kommun", "Logga in", "Områdestyp", "Polisens lista", "Inloggad som", "Logga ut",
                  "Sök på kommunnamn", "Partnerskap", "Användarnamn", "Lösenord", "Hittades inte", "Importera",
                  "Statistik: SCB"]


def text_of(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    body = html.unescape(re.sub(r"<[^>]+>", " ", body))
    return re.sub(r"\s+", " ", body.replace("\u00a0", " ")).strip()


def test_every_msgid_has_an_english_translation():
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    messages = [m for m in catalog if m.id]
    assert len(messages) > 300
    for m in messages:
        assert not m.fuzzy, m.id
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(s and s.strip() for s in strings), f"no translation for {m.id!r}"
        # placeholders survive translation
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        assert set(re.findall(r"%\((\w+)\)s", "".join(ids))) == set(re.findall(r"%\((\w+)\)s", "".join(strings)))
    assert i18n.translate("en", "Välj kommun") == "Choose municipality"
    assert i18n.translate("sv", "Välj kommun") == "Välj kommun"
    assert i18n.translate("en", "en sträng som inte finns") == "en sträng som inte finns"


def test_accept_language_parsing():
    assert i18n.parse_accept_language("en-GB,en;q=0.9,sv;q=0.8") == "en"
    assert i18n.parse_accept_language("sv-SE,sv;q=0.9,en;q=0.5") == "sv"
    assert i18n.parse_accept_language("de-DE, fr;q=0.5") is None
    assert i18n.parse_accept_language("en;q=0.2, sv;q=0.7") == "sv"
    assert i18n.parse_accept_language("en;q=bad") is None
    assert i18n.parse_accept_language(None) is None


def test_same_page_in_swedish_and_english(client):
    sv = client.get("/")
    assert sv.status_code == 200 and '<html lang="sv">' in sv.text
    assert "Välj kommun" in sv.text and "Choose municipality" not in sv.text
    assert "lang" not in client.cookies  # no choice made: nothing stored
    en = client.get("/", params={"lang": "en"})
    assert '<html lang="en">' in en.text and en.headers["content-language"] == "en"
    assert "Choose municipality" in en.text and "Search by municipality name or code" in en.text
    assert "Välj kommun" not in text_of(en.text)
    assert text_of(sv.text) != text_of(en.text)
    # the language switch links to the same page in the other language, keeping other parameters
    assert 'data-testid="lang-switch"' in en.text and 'href="/?lang=sv"' in en.text
    assert 'href="/polisens-lista?edition=2023&amp;lang=sv"' in client.get("/polisens-lista?edition=2023").text


def test_cookie_persists_the_choice(client):
    r = client.get("/logga-in", params={"lang": "en"})
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("lang="))
    assert cookie.startswith("lang=en;") and "SameSite=lax" in cookie and "Path=/" in cookie
    again = client.get("/logga-in")  # no parameter: the cookie decides
    assert '<html lang="en">' in again.text and "Username" in again.text and "Användarnamn" not in again.text
    assert "Choose municipality" in client.get("/polisens-lista").text
    back = client.get("/", params={"lang": "sv"})
    assert any(c.startswith("lang=sv;") for c in back.headers.get_list("set-cookie")) and "Välj kommun" in client.get("/logga-in").text


def test_accept_language_without_cookie(client):
    r = client.get("/logga-in", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in r.text and "Log in" in r.text and "lang" not in client.cookies
    r = client.get("/logga-in", headers={"Accept-Language": "de-DE,sv;q=0.5"})
    assert '<html lang="sv">' in r.text and "Logga in" in r.text
    r = client.get("/logga-in", headers={"Accept-Language": "de-DE"})
    assert '<html lang="sv">' in r.text  # default
    r = client.get("/logga-in", params={"lang": "xx"}, headers={"Accept-Language": "en"})
    assert '<html lang="en">' in r.text and "lang" not in client.cookies  # unknown ?lang is ignored


def test_error_pages_are_translated(client):
    r = client.get("/kommun/9999/karta", params={"lang": "en"}, headers={"accept": "text/html"})
    assert r.status_code == 404 and "<h1>Not found</h1>" in r.text and "To the start page" in r.text
    r = client.get("/kommun/9999/karta", params={"lang": "sv"}, headers={"accept": "text/html"})
    assert "<h1>Hittades inte</h1>" in r.text


@pytest.mark.parametrize("url", ["/", "/logga-in", "/polisens-lista", "/kommun/1480", "/kommun/1480/karta",
                                 "/kommun/9999/karta"])
def test_main_public_pages_in_english_have_no_swedish_labels(client, url):
    page = client.get(url, params={"lang": "en"}, headers={"accept": "text/html"})
    text = text_of(page.text)
    left = [w for w in SWEDISH_LABELS if w in text]
    assert not left, f"{url}: Swedish left in the English page: {left}"


def test_logged_in_pages_in_english(client, db):
    from handslag.store import goals_repo
    from handslag.store.models import Area

    with db.session() as s:
        s.add(Area(code="1480C3390", division="DeSO2025", level="deso", name="Bergsjön sydöstra", kommun_code="1480"))
        demo = goals_repo.create_demo(s)
    admin = login_client(client, db, "admin1", "admin")
    admin.get("/", params={"lang": "en"})
    urls = ["/partnerskap", f"/partnerskap/{demo['partnership_id']}", f"/mal/{demo['goals']['companies']}",
            "/granskning", "/importer", "/admin", "/omrade/1480C3390?division=DeSO2025"]
    for url in urls:
        page = admin.get(url)
        assert page.status_code == 200, url
        text = text_of(page.text)
        assert "Log out" in text and "Logged in as" in text
        left = [w for w in SWEDISH_LABELS if w in text]
        assert not left, f"{url}: Swedish left in the English page: {left}"
    area = text_of(admin.get("/omrade/1480C3390?division=DeSO2025").text)
    assert "Surveys: indices with uncertainty" in area and "Partnerships and goals in the area" in area
    assert "Handslag Bergsjön (exempel)" in area  # data (names) stay as entered
