"""In a real browser (Playwright + Debian's Chromium, same skip rules as test_browser.py): the municipality
overview's ECharts diagrams, the map's year slider driven from the keyboard, and the area profile's charts.

Screenshots: ``test-artifacts/kommun-*.png`` (git-ignored).
"""

from __future__ import annotations

import pytest

from browserkit import ARTIFACTS, chromium, new_page, serve, skip_without_browser

playwright_api = skip_without_browser()
pytestmark = [pytest.mark.realdata, pytest.mark.browser]


@pytest.fixture(scope="module")
def server(loaded_db):
    if loaded_db.engine.url.get_backend_name() != "sqlite":
        pytest.skip("browser test runs once, on SQLite")
    with serve(loaded_db) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium(playwright_api) as b:
        yield b


@pytest.fixture
def page(browser, server):
    with new_page(browser) as pg:
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.js_errors = errors
        yield pg


CHART_STATE = """(id) => {
    const el = document.getElementById(id);
    const chart = el && window.echarts && echarts.getInstanceByDom(el);
    return {canvas: !!(el && el.querySelector('canvas')), instance: !!chart,
            series: chart ? chart.getOption().series.length : 0,
            width: el ? el.getBoundingClientRect().width : 0};
}"""


def test_overview_charts_render(page, server):
    page.goto(f"{server}/kommun/1480")
    page.wait_for_function("window.handslagCharts && window.handslagCharts.ready === true")
    for chart_id, n_series in (("chart-types", 5), ("chart-segregation", 8), ("chart-share", 1)):
        got = page.evaluate(CHART_STATE, chart_id)
        assert got["canvas"] and got["instance"], chart_id
        assert got["series"] == n_series and got["width"] > 300, (chart_id, got)
    stacked = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-types')).getOption()"
                            ".series.map(s => s.data)")
    assert [year[0] for year in stacked] == [15, 19, 19, 73, 21]  # 2022, types 1–5, same as the table
    assert page.evaluate("window.handslagCharts.errors.length") == 0 and not page.js_errors
    assert "14" in page.inner_text('[data-testid="types-table"] tr[data-year="2023"]')
    page.screenshot(path=str(ARTIFACTS / "kommun-oversikt.png"), full_page=True)
    page.locator("#segregation").screenshot(path=str(ARTIFACTS / "kommun-segregation.png"))


def test_map_year_slider_by_keyboard(page, server):
    page.goto(f"{server}/kommun/1480/karta")
    page.wait_for_function("window.handslagMapState && window.handslagMapState.loaded === true")
    assert "Områdestyp 2023" in page.inner_text("#legend")
    slider = page.locator("#year")
    assert page.inner_text("#year-label") == "2023" and slider.get_attribute("aria-valuetext") == "2023"
    assert page.get_by_label("År").count() == 1  # the slider has a visible label

    # an area whose official type changed 2022 → 2023 (through its RegSO2020 link)
    changed = page.evaluate("""async () => {
        const ts = await (await fetch('/api/v1/kommuner/1480/type-series')).json();
        const feats = window.handslagMap.querySourceFeatures('areas');
        for (const f of feats) {
            const m = /^RegSO2020 (\\S+)/.exec(f.properties.type_via || '');
            if (m && ts.types['2022'][m[1]] !== ts.types['2023'][m[1]])
                return {code: f.properties.code, t2022: ts.types['2022'][m[1]], t2023: ts.types['2023'][m[1]]};
        }
        return null;
    }""")
    assert changed is not None and changed["t2022"] != changed["t2023"]

    slider.focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("document.getElementById('legend').innerText.includes('Områdestyp 2022')")
    assert page.inner_text("#year-label") == "2022" and slider.get_attribute("aria-valuetext") == "2022"
    page.wait_for_function("window.handslagMap.loaded()")
    type_now = page.evaluate("(code) => window.handslagMap.querySourceFeatures('areas')"
                             ".find(f => f.properties.code === code).properties.type", changed["code"])
    assert type_now == changed["t2022"]
    page.screenshot(path=str(ARTIFACTS / "kommun-karta-2022.png"))

    # an indicator with two years: the slider changes the GeoJSON request's year
    page.select_option("#indicator", "rental_share")
    page.wait_for_function("window.handslagMapState.meta.indicator === 'rental_share'")
    assert page.inner_text("#year-label") == "2025"
    with page.expect_response(lambda r: "/map?" in r.url and "year=2024" in r.url and r.status == 200):
        slider.focus()
        page.keyboard.press("Home")
    page.wait_for_function("window.handslagMapState.meta.year === 2024")
    assert "Andel hyresrätter 2024" in page.inner_text("#legend")
    assert "år 2024" in page.inner_text("#map-meta")
    assert not page.js_errors
    page.screenshot(path=str(ARTIFACTS / "kommun-karta-hyresratter-2024.png"))


def test_area_profile_charts(page, server):
    page.goto(f"{server}/omrade/1480R012?division=RegSO2020")
    page.wait_for_function("window.handslagCharts && window.handslagCharts.ready === true")
    for indicator in ("population", "foreign_born_share", "rental_share", "mean_wage_income"):
        got = page.evaluate(CHART_STATE, f"area-chart-{indicator}")
        assert got["canvas"] and got["instance"] and got["series"] == 3, (indicator, got)
    figure = page.locator('figure[data-indicator="foreign_born_share"]')
    figure.locator("summary").click()
    row = figure.locator('tr[data-year="2023"]')
    assert row.locator('td[data-scope="area"]').inner_text() == "67,4 %"
    assert row.locator('td[data-scope="kommun"]').inner_text() == "29,6 %"
    assert "beräknat från RegSO" in figure.locator(".chart-prov").inner_text()
    assert page.evaluate("window.handslagCharts.errors.length") == 0 and not page.js_errors
    page.locator('[data-testid="area-charts"]').screenshot(path=str(ARTIFACTS / "kommun-omrade-diagram.png"))
