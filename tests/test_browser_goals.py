"""End to end in a real browser: the partnership pages with the demo "Handslag Bergsjön (exempel)".

Playwright drives Debian's Chromium (same launch flags as ``test_browser.py``) against uvicorn on a fresh
SQLite database with the real snapshot imported and the demo created. An editor opens the demo dashboard,
enters a measurement for a partner-reported goal with the keyboard and submits it; the four-eyes note shows
in their approval list; a second editor logs in and approves it; the goal's status on the dashboard changes
from "Ur kurs" to "På väg". Screenshots: ``test-artifacts/goals-*.png``.
"""

from __future__ import annotations

import re

import pytest

from browserkit import ARTIFACTS, chromium, new_page, serve, skip_without_browser

PASSWORD = "handslag-lösen-42"
playwright_api = skip_without_browser()
pytestmark = [pytest.mark.realdata, pytest.mark.browser]


@pytest.fixture(scope="module")
def demo(shared_data, tmp_path_factory):
    """A fresh SQLite database with the snapshot, the demo partnership and two editors."""
    from conftest import make_database
    from handslag.ingest import import_snapshot
    from handslag.store import accounts_repo
    from handslag.store import goals_repo as repo

    database = make_database(f"sqlite:///{tmp_path_factory.mktemp('goals-browser') / 'demo.sqlite'}")
    import_snapshot(database, shared_data)
    with database.session() as session:
        out = repo.create_demo(session)
        for name in ("redaktor", "granskare"):
            accounts_repo.create_user(session, name, PASSWORD, role="partnership_editor")
    yield database, out
    database.dispose()


@pytest.fixture(scope="module")
def server(demo):
    database, _ = demo
    with serve(database) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium(playwright_api) as b:
        yield b


@pytest.fixture
def page(browser, server):
    with new_page(browser) as pg:
        yield pg


def _login(page, server: str, username: str) -> None:
    page.goto(server + "/logga-in?next=/partnerskap")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_selector('[data-testid="partnerships"]')
    assert page.inner_text('[data-testid="username"]') == username


def _status(page, goal_id: int) -> str:
    return page.get_attribute(f'[data-testid="goal-{goal_id}"] [data-testid="goal-status"] .status-light',
                              "data-status")


def test_enter_submit_approve_changes_the_dashboard(page, server, demo):
    _, out = demo
    pid, eligible = out["partnership_id"], out["goals"]["eligible"]

    # an editor opens the demo partnership from the list
    _login(page, server, "redaktor")
    page.click("text=Handslag Bergsjön (exempel)")
    page.wait_for_url(f"**/partnerskap/{pid}")
    assert "EXEMPELDATA" in page.inner_text('[data-testid="example-banner"]')
    assert _status(page, eligible) == "off_track"
    assert "Ur kurs" in page.inner_text(f'[data-testid="goal-{eligible}"] [data-testid="goal-status"]')
    jobs = page.inner_text(f'[data-testid="goal-{out["goals"]["jobs"]}"] [data-testid="gap"]')
    assert "behöver 1 402 fler förvärvsarbetande" in jobs.replace("\u00a0", " ")
    assert page.locator(f'[data-testid="goal-{eligible}"] svg[role="img"]').count() == 1
    page.screenshot(path=str(ARTIFACTS / "goals-01-dashboard.png"), full_page=True)

    # … goes to the goal and enters a value with the keyboard: 100 pupils by 2025-Q1 (93.6 expected)
    page.click(f'[data-testid="goal-{eligible}"] h3 a')
    page.wait_for_url(f"**/mal/{eligible}")
    page.focus("#period")
    page.keyboard.type("2025-Q1")
    page.keyboard.press("Tab")
    page.keyboard.type("100")
    page.keyboard.press("Tab")
    page.keyboard.type("Skolans sammanställning, vårterminen")
    page.screenshot(path=str(ARTIFACTS / "goals-02-inmatning.png"), full_page=True)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Spara och skicka in för granskning"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Mätvärdet skickades in för granskning." in page.inner_text('[data-testid="message"]')
    row = page.locator('[data-testid="measurements"] tr[data-state="submitted"]', has_text="2025-Q1")
    assert row.count() == 1 and "100 personer" in row.inner_text().replace("\u00a0", " ")

    # the four-eyes rule: the editor's own value is marked in the approval list
    page.goto(server + "/granskning")
    own = page.locator("li.approval", has_text="2025-Q1")
    assert "Du matade själv in det här värdet." in own.inner_text()
    page.screenshot(path=str(ARTIFACTS / "goals-03-egen-granskning.png"), full_page=True)
    with page.expect_navigation():
        own.locator('[data-testid="approve"]').click()
    assert "fyraögonprincipen" in page.inner_text('[data-testid="error"]')
    page.click("header button.link")  # logga ut
    page.wait_for_selector('a[href="/logga-in"]')

    # a second editor approves it
    _login(page, server, "granskare")
    page.goto(server + "/granskning")
    item = page.locator("li.approval", has_text="2025-Q1")
    assert "125 fler elever behöriga till gymnasiet" in item.inner_text()
    assert re.search(r"Inmatat av\s+redaktor, inskickat", item.inner_text())
    page.screenshot(path=str(ARTIFACTS / "goals-04-granskning.png"), full_page=True)
    with page.expect_navigation():
        item.locator('[data-testid="approve"]').click()
    assert "Mätvärdet godkändes" in page.inner_text('[data-testid="message"]')
    assert page.locator("li.approval", has_text="2025-Q1").count() == 0

    # the dashboard now shows the goal on track
    page.goto(server + f"/partnerskap/{pid}")
    assert _status(page, eligible) == "on_track"
    card = page.inner_text(f'[data-testid="goal-{eligible}"]')
    assert "På väg" in card and "100 personer (2025-Q1)" in card.replace("\u00a0", " ")
    page.locator(f'[data-testid="goal-{eligible}"]').scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "goals-05-dashboard-efter.png"), full_page=True)
