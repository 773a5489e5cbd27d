"""Municipality overview /kommun/{code}, the series endpoints behind the charts, the map's year slider markup.

Real data (../shared/data): every expected number is either SCB's published figure (Göteborg's type
counts) or recomputed here straight from the store.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
from sqlalchemy import and_, select

from handslag import analysis as an
from handslag.store.models import Area, Observation

GBG = "1480"


def _cell(html: str, pattern: str) -> str:
    match = re.search(pattern, html, re.S)
    assert match, f"not found: {pattern}"
    return match.group(1)


def _rows(html: str, table_testid: str) -> str:
    start = html.index(f'data-testid="{table_testid}"')
    return html[start:html.index("</table>", start)]


def _store_values(db, indicator: str, kommun: str | None = None) -> dict[int, float]:
    """Σ value per year over the RegSO2020 areas (of ``kommun``) straight from the observations table."""
    stmt = select(Observation.year, Observation.value).join(
        Area, and_(Area.code == Observation.area_code, Area.division == Observation.division)).where(
        Observation.division == "RegSO2020", Observation.indicator == indicator)
    if kommun:
        stmt = stmt.where(Area.kommun_code == kommun)
    sums: dict[int, float] = {}
    with db.session() as session:
        for year, value in session.execute(stmt).all():
            sums[int(year)] = sums.get(int(year), 0.0) + float(value)
    return sums


@pytest.fixture(scope="module")
def overview(loaded_client) -> str:
    r = loaded_client.get(f"/kommun/{GBG}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    return r.text


@pytest.mark.realdata
def test_type_counts_per_year(overview):
    table = _rows(overview, "types-table")
    expected = {2022: [15, 19, 19, 73, 21], 2023: [14, 21, 21, 71, 20]}
    for year, counts in expected.items():
        row = _cell(table, rf'<tr data-year="{year}">(.*?)</tr>')
        got = [int(_cell(row, rf'data-type="{t}">(\d+)<')) for t in range(1, 6)]
        assert got == counts
        assert int(_cell(row, r'data-type="total">(\d+)<')) == 147
    assert "Göteborg" in overview and 'id="chart-types"' in overview
    assert "/static/vendor/echarts/echarts.min.js" in overview and "/static/charts.js" in overview
    assert 'href="/kommun/1480/karta"' in overview and 'href="#polisens-lista"' in overview


@pytest.mark.realdata
def test_transition_table_sums_to_147(overview, loaded_db):
    table = _rows(overview, "transition-table")
    assert 'data-from="2022" data-to="2023"' in overview
    counts = [int(n) for n in re.findall(r'data-count="(\d+)"', table)]
    assert len(counts) == 25 and sum(counts) == 147
    assert int(_cell(table, r'data-testid="transition-total">(\d+)<')) == 147
    with loaded_db.session() as session:
        matrix = an.transitions_for(session, GBG, 2022, 2023)
    diagonal = int(matrix.loc[matrix["type_from"] == matrix["type_to"], "count"].sum())
    assert diagonal == 147 - matrix.attrs["n_changed"] == 137
    # row shares: type 1 in 2022 → 12 stayed of 15 (80 %)
    assert re.search(r'data-count="12">12 <span class="share">\(80\s%\)', table)


@pytest.mark.realdata
def test_segregation_2023_matches_service(overview, loaded_db):
    with loaded_db.session() as session:
        result = an.segregation_for(session, GBG, 2023, ["foreign_born", "born_in_sweden"])
    row = result.iloc[0]
    table = _rows(overview, "segregation-table")
    for index in ("dissimilarity", "theil_h", "isolation", "exposure"):
        shown = _cell(table, rf'data-year="2023" data-index="{index}">.*?data-value>([^<]+)<')
        assert shown == f"{row[index]:.3f}".replace(".", ","), index
    assert _cell(table, r'data-year="2023" data-index="dissimilarity">.*?data-value>([^<]+)<') == "0,353"
    # the interval contains the point estimate, the note names the bootstrap and the null
    ci = _cell(table, r'data-year="2023" data-index="dissimilarity">.*?data-value>[^<]+</td><td class="num">([^<]+)<')
    low, high = (float(x.replace(",", ".")) for x in ci.split("–"))
    assert low <= row["dissimilarity"] <= high
    note = _cell(overview, r'data-testid="inference-note">(.*?)</p>')
    assert "95 % percentil-bootstrap" in note and "199 replikat" in note and "permutationstest" in note
    assert "slumpmässigt fördelade" in note


@pytest.mark.realdata
def test_share_in_types_1_2_equals_hand_computation(overview, loaded_db):
    with loaded_db.session() as session:
        rows = session.execute(select(Observation.area_code, Observation.year, Observation.indicator,
                                      Observation.value).join(
            Area, and_(Area.code == Observation.area_code, Area.division == Observation.division)).where(
            Observation.division == "RegSO2020", Area.kommun_code == GBG,
            Observation.indicator.in_(["population", "area_type"]))).all()
        seg = an.segregation_for(session, GBG, 2023, ["foreign_born", "born_in_sweden"])
    table = _rows(overview, "share-table")
    for year in (2022, 2023):
        pop = {code: v for code, y, ind, v in rows if y == year and ind == "population"}
        typ = {code: int(v) for code, y, ind, v in rows if y == year and ind == "area_type"}
        inside = sum(pop[c] for c, t in typ.items() if t in (1, 2))
        total = sum(pop[c] for c in typ)
        expected = inside / total
        shown = float(_cell(table, rf'<tr data-year="{year}">.*?data-share="([0-9.]+)"'))
        assert shown == pytest.approx(expected, abs=1e-6)
        text = _cell(table, rf'<tr data-year="{year}">.*?data-share="[0-9.]+">([^<]+)<')
        assert text == f"{100 * expected:.1f}".replace(".", ",") + "\u00a0%"
        if year == 2023 and "share_types_1_2" in seg.columns:  # the segregation core agrees
            assert seg["share_types_1_2"].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert _cell(table, r'<tr data-year="2023">.*?data-share="[0-9.]+">([^<]+)<') != "–"


@pytest.mark.realdata
def test_police_section_lists_kommun_areas(overview):
    section = _cell(overview, r'data-testid="police"(.*?)</section>')
    assert "Bergsjön" in section and "Särskilt utsatt område" in section
    assert 'href="/polisens-lista?edition=' in section


@pytest.mark.realdata
def test_render_is_cached_and_fast(loaded_client):
    loaded_client.get(f"/kommun/{GBG}")  # warm (the module fixture may run on another backend)
    cache = loaded_client.app.state.caches["kommun"]
    hits = cache.hits
    started = time.perf_counter()
    r = loaded_client.get(f"/kommun/{GBG}")
    elapsed = time.perf_counter() - started
    assert r.status_code == 200 and cache.hits > hits
    assert elapsed < 1.0, f"cached render took {elapsed:.2f} s"


@pytest.mark.realdata
def test_series_endpoint_kommun_and_riket_are_sums_of_regso(loaded_client, loaded_db):
    r = loaded_client.get("/api/v1/areas/1480R012/series", params={"indicator": "population",
                                                                    "division": "RegSO2020"})
    assert r.status_code == 200
    body = r.json()
    assert body["area"]["code"] == "1480R012" and body["kommun"]["code"] == GBG
    assert [p["year"] for p in body["area"]["series"]] == [2020, 2021, 2022, 2023]
    assert body["area"]["series"][-1]["value"] == 2562
    kommun_sum = _store_values(loaded_db, "population", GBG)
    riket_sum = _store_values(loaded_db, "population")
    assert {p["year"]: p["value"] for p in body["kommun"]["series"]} == kommun_sum
    assert {p["year"]: p["value"] for p in body["riket"]["series"]} == riket_sum
    assert kommun_sum[2023] == 604_616
    assert body["kommun"]["flag"] == "beräknat från RegSO" and body["provenance"]["method"] == "sum"
    assert all(p["n_areas"] == 147 and p["complete"] for p in body["kommun"]["series"])

    share = loaded_client.get("/api/v1/areas/1480R012/series", params={"indicator": "foreign_born_share",
                                                                        "division": "RegSO2020"}).json()
    born_abroad = _store_values(loaded_db, "foreign_born", GBG)
    for point in share["kommun"]["series"]:
        year = point["year"]
        assert point["numerator"] == born_abroad[year] and point["denominator"] == kommun_sum[year]
        assert point["value"] == pytest.approx(100 * born_abroad[year] / kommun_sum[year], rel=1e-12)
    assert share["provenance"]["method"] == "ratio" and not share["provenance"]["approximation"]

    wage = loaded_client.get("/api/v1/areas/1480R012/series", params={"indicator": "mean_wage_income",
                                                                       "division": "RegSO2020"}).json()
    assert wage["provenance"]["approximation"] is True and "ungefärligt" in wage["provenance"]["derived"]


@pytest.mark.realdata
def test_type_series_for_the_map_slider(loaded_client):
    body = loaded_client.get(f"/api/v1/kommuner/{GBG}/type-series").json()
    assert body["years"] == [2022, 2023] and body["division"] == "RegSO2020"
    assert Counter(body["types"]["2022"].values()) == {1: 15, 2: 19, 3: 19, 4: 73, 5: 21}
    assert Counter(body["types"]["2023"].values()) == {1: 14, 2: 21, 3: 21, 4: 71, 5: 20}
    assert body["types"]["2023"]["1480R012"] == 2


@pytest.mark.realdata
def test_map_page_has_year_slider_and_area_profile_has_charts(loaded_client):
    page = loaded_client.get(f"/kommun/{GBG}/karta").text
    assert '<label for="year">' in page and '<input type="range" id="year" name="year"' in page
    assert f'href="/kommun/{GBG}"' in page
    profile = loaded_client.get("/omrade/1480R012", params={"division": "RegSO2020"}).text
    assert 'data-testid="area-charts"' in profile
    for indicator in ("population", "foreign_born_share", "rental_share", "mean_wage_income"):
        assert f'id="area-chart-{indicator}"' in profile
    assert 'data-testid="indicators"' in profile  # the table alternative stays
    assert loaded_client.get("/static/vendor/echarts/echarts.min.js").status_code == 200
    assert loaded_client.get("/static/charts.js").status_code == 200


@pytest.mark.realdata
def test_unknown_kommun_is_an_html_404(loaded_client):
    for path in ("/kommun/9999", "/kommun/abc", "/kommun/14800"):
        r = loaded_client.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path
        assert "Det finns ingen kommun med koden" in r.text


@pytest.mark.realdata
@pytest.mark.parametrize("url", [
    "/kommun/1480?year=abc&n_boot=-1",
    "/kommun/1480?%00=%00",
    "/kommun/%00",
    "/kommun/1480?" + "x" * 5000,
    "/api/v1/areas/1480R012/series",
    "/api/v1/areas/1480R012/series?indicator=../../etc",
    "/api/v1/areas/1480R012/series?indicator=population&division=%00",
    "/api/v1/areas/1480R012/series?indicator=population&division=RegSO1999",
    "/api/v1/areas/1480R012/series?indicator=no_such_indicator&division=RegSO2020",
    "/api/v1/areas/%3Cscript%3E/series?indicator=population",
    "/api/v1/kommuner/14x0/type-series",
    "/api/v1/kommuner/9999/type-series",
])
def test_bad_query_strings_never_give_500(loaded_client, url):
    r = loaded_client.get(url)
    assert r.status_code < 500, (url, r.status_code, r.text[:200])
    if url.startswith("/api/"):
        assert r.status_code in (404, 422) and "error" in r.json()


def test_overview_on_an_empty_database_explains_what_is_missing(client):
    r = client.get(f"/kommun/{GBG}")
    assert r.status_code == 200
    assert "Inga officiella områdestyper finns inlästa för Göteborg" in r.text
    assert "finns inte inlästa för Göteborg" in r.text
    assert client.get("/kommun/9999").status_code == 404
