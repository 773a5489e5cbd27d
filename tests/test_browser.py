"""End-to-end in a real browser: Playwright driving Debian's Chromium against a uvicorn server on real data.

Covers: start page search → Göteborg map (MapLibre choropleth rendered from the GeoJSON endpoint) →
click Bergsjön → area profile with its type and Police-list status; login as a user created here.
Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import pytest

from browserkit import ARTIFACTS, chromium, new_page, serve, skip_without_browser

PASSWORD = "webbläsare-lösen-1"
playwright_api = skip_without_browser()
pytestmark = [pytest.mark.realdata, pytest.mark.browser]


@pytest.fixture(scope="module")
def server(loaded_db):
    if loaded_db.engine.url.get_backend_name() != "sqlite":
        pytest.skip("browser test runs once, on SQLite")
    from handslag.store import accounts_repo

    with loaded_db.session() as session:
        if accounts_repo.get_user(session, "webbtest") is None:
            accounts_repo.create_user(session, "webbtest", PASSWORD, role="viewer")
    with serve(loaded_db) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium(playwright_api) as b:
        yield b


@pytest.fixture
def page(browser, server):
    with new_page(browser) as pg:
        yield pg


def test_search_map_and_area_profile(page, server):
    page.goto(server + "/")
    assert "Välj kommun" in page.content()
    page.fill("#q", "Göteborg")
    page.wait_for_selector('#kommun-list a[href="/kommun/1480/karta"]')
    page.wait_for_function("document.querySelectorAll('#kommun-list a').length === 1")
    page.screenshot(path=str(ARTIFACTS / "01-start-search.png"))

    with page.expect_response(lambda r: "/api/v1/kommuner/1480/map" in r.url and r.status == 200) as resp:
        page.click('#kommun-list a[href="/kommun/1480/karta"]')
    geojson = resp.value.json()
    assert len(geojson["features"]) == 320
    page.wait_for_function("window.handslagMapState && window.handslagMapState.loaded === true")
    rendered = page.evaluate("window.handslagMap.queryRenderedFeatures({layers: ['areas-fill']}).length")
    assert rendered > 100  # the choropleth is drawn
    assert page.evaluate("window.handslagMap.queryRenderedFeatures({layers: ['police-line']}).length") > 0
    assert "Områdestyp 2023" in page.inner_text("#legend")
    assert "Särskilt utsatt område" in page.inner_text("#legend")
    page.screenshot(path=str(ARTIFACTS / "02-goteborg-karta.png"))

    # Bergsjön (DeSO 1480C3390): find a point inside it and click there
    point = page.evaluate("""() => {
        const m = window.handslagMap;
        const f = m.querySourceFeatures('areas').find(f => f.properties.code === '1480C3390');
        const ring = (f.geometry.type === 'Polygon' ? f.geometry.coordinates : f.geometry.coordinates[0])[0];
        m.jumpTo({center: ring.reduce((a, c) => [a[0] + c[0] / ring.length, a[1] + c[1] / ring.length], [0, 0]), zoom: 14});
        return null;
    }""")
    assert point is None
    page.wait_for_function("window.handslagMap.loaded() && !window.handslagMap.isMoving()")
    xy = page.evaluate("""() => {
        const m = window.handslagMap, c = m.getCanvas().getBoundingClientRect();
        for (let dx = -150; dx <= 150; dx += 10) for (let dy = -150; dy <= 150; dy += 10) {
            const x = c.width / 2 + dx, y = c.height / 2 + dy;
            const hit = m.queryRenderedFeatures([x, y], {layers: ['areas-fill']});
            if (hit.length && hit[0].properties.code === '1480C3390') return [c.left + x, c.top + y];
        }
        return null;
    }""")
    assert xy is not None, "Bergsjön is not under the map centre"
    page.mouse.move(xy[0], xy[1])
    page.wait_for_selector(".hs-tooltip")
    assert "Särskilt utsatt område" in page.inner_text(".hs-tooltip")
    page.screenshot(path=str(ARTIFACTS / "03-bergsjon-tooltip.png"))
    with page.expect_navigation():
        page.mouse.click(xy[0], xy[1])
    assert "/omrade/1480C3390" in page.url
    text = page.inner_text("main")
    assert "Bergsjön sydöstra" in text
    assert "Särskilt utsatt område" in page.inner_text('[data-testid="police-status"]')
    assert "DeSO2025-områden har ingen officiell områdestyp" in page.inner_text('[data-testid="area-type"]')
    page.screenshot(path=str(ARTIFACTS / "04-omrade-bergsjon.png"), full_page=True)


def test_login(page, server):
    page.goto(server + "/logga-in")
    page.fill("#username", "webbtest")
    page.fill("#password", "fel-lösenord-999")
    page.click("form.login button[type=submit]")
    assert "Fel användarnamn eller lösenord." in page.inner_text("main")
    page.fill("#username", "webbtest")
    page.fill("#password", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_selector('[data-testid="username"]')
    assert page.inner_text('[data-testid="username"]') == "webbtest"
    page.screenshot(path=str(ARTIFACTS / "05-inloggad.png"))
    page.click("header button.link")  # logga ut
    page.wait_for_selector('a[href="/logga-in"]')


@pytest.mark.parametrize("width", [390, 768, 1280])
def test_public_pages_fit_the_screen(browser, server, width):
    """From a phone to a laptop: no page is wider than the window (wide tables scroll in their own box)."""
    with new_page(browser, width=width) as pg:
        for path in ("/", "/kommun/1480", "/kommun/1480/karta", "/omrade/1480C3390", "/polisens-lista",
                     "/logga-in"):
            pg.goto(server + path)
            assert pg.evaluate("document.documentElement.scrollWidth") <= width, path
        if width == 390:
            pg.goto(server + "/omrade/1480C3390")
            pg.screenshot(path=str(ARTIFACTS / "06-omrade-mobil.png"), full_page=True)
