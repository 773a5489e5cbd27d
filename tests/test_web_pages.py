"""Server-rendered pages and the map GeoJSON endpoint (real data; empty database for the start notice)."""

from __future__ import annotations

import pytest


def test_start_page_on_empty_database_says_how_to_load_data(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    text = r.text
    assert "Ingen områdesstatistik är inläst" in text
    assert "handslag data import-snapshot PATH" in text
    assert "HANDSLAG_DATA_DIR" in text and "--data-dir" in text and "handslag data fetch scb" in text
    assert "Göteborg" in text  # the 290 municipalities are always there
    assert client.get("/static/vendor/maplibre-gl/maplibre-gl.js").status_code == 200
    assert client.get("/static/vendor/htmx/htmx.min.js").status_code == 200


@pytest.mark.realdata
def test_start_page_search(loaded_client):
    r = loaded_client.get("/")
    assert r.status_code == 200 and "Ingen områdesstatistik" not in r.text
    assert r.text.count('href="/kommun/') == 290
    frag = loaded_client.get("/kommuner", params={"q": "göteborg"}).text
    assert '<a href="/kommun/1480/karta">Göteborg</a>' in frag and frag.count('href="/kommun/') == 1
    by_code = loaded_client.get("/kommuner", params={"q": "1480"}).text
    assert "Göteborg" in by_code and by_code.count('href="/kommun/') == 1
    assert "Ingen kommun matchar" in loaded_client.get("/kommuner", params={"q": "zzzz"}).text


@pytest.mark.realdata
def test_map_page(loaded_client):
    r = loaded_client.get("/kommun/1480/karta")
    assert r.status_code == 200
    assert "Göteborg" in r.text and "/static/vendor/maplibre-gl/maplibre-gl.js" in r.text
    assert 'value="DeSO2025"' in r.text and 'value="RegSO2025"' in r.text
    assert "(320 områden)" in r.text
    older = loaded_client.get("/kommun/0114/karta")  # Upplands Väsby: only DeSO2018 polygons
    assert 'value="DeSO2018" data-level="deso" checked' in older.text and "(23 områden)" in older.text
    empty = loaded_client.get("/kommun/2523/karta")  # Gällivare: no polygons at all
    assert empty.status_code == 200 and "inga DeSO- eller RegSO-geometrier" in empty.text


@pytest.mark.realdata
def test_map_geojson_goteborg_deso2025(loaded_client):
    r = loaded_client.get("/api/v1/kommuner/1480/map", params={"level": "deso", "division": "DeSO2025"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 320
    assert body["meta"]["features"] == 320 and body["meta"]["indicator"] == "area_type"
    assert body["meta"]["type_division"] == "RegSO2020" and body["meta"]["type_year"] == 2023
    west, south, east, north = body["bbox"]
    assert 11.0 < west < east < 12.5 and 57.4 < south < north < 58.0
    by_code = {f["properties"]["code"]: f["properties"] for f in body["features"]}
    bergsjon = by_code["1480C3390"]
    assert bergsjon["parent"] == "1480R012" and bergsjon["type"] == 2
    assert bergsjon["type_via"] == "RegSO2020 1480R012 (code+name)"
    assert bergsjon["police_level"] == "sarskilt_utsatt" and bergsjon["police_label"] == "Särskilt utsatt område"
    assert bergsjon["police_name"] == "Bergsjön"
    assert {p["type"] for p in by_code.values()} <= {1, 2, 3, 4, 5, None}
    # ETag and 304
    etag = r.headers["etag"]
    again = loaded_client.get("/api/v1/kommuner/1480/map", params={"level": "deso", "division": "DeSO2025"},
                              headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    other = loaded_client.get("/api/v1/kommuner/1480/map", params={"level": "deso"},
                              headers={"If-None-Match": '"nope"'})
    assert other.status_code == 200 and other.headers["etag"] == etag


@pytest.mark.realdata
def test_map_geojson_indicator_and_simplification(loaded_client):
    body = loaded_client.get("/api/v1/kommuner/1480/map", params={"indicator": "employment_20_64"}).json()
    assert body["meta"]["year"] == 2024 and body["meta"]["source"] == "SCB TAB6680"
    by_code = {f["properties"]["code"]: f["properties"] for f in body["features"]}
    direct = loaded_client.get("/api/v1/areas/1480C3390/observations",
                               params={"indicator": "employment_20_64", "year": 2024}).json()["items"][0]["value"]
    assert by_code["1480C3390"]["value"] == pytest.approx(direct)
    assert body["meta"]["min"] < by_code["1480C3390"]["value"] < body["meta"]["max"]

    def n_points(fc: dict) -> int:
        total = 0
        for f in fc["features"]:
            g = f["geometry"]
            polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
            total += sum(len(ring) for poly in polys for ring in poly)
        return total

    coarse = loaded_client.get("/api/v1/kommuner/1480/map", params={"zoom": 8}).json()
    fine = loaded_client.get("/api/v1/kommuner/1480/map", params={"zoom": 15}).json()
    assert coarse["meta"]["tolerance_m"] > fine["meta"]["tolerance_m"]
    assert n_points(coarse) < n_points(fine)
    regso = loaded_client.get("/api/v1/kommuner/1480/map", params={"level": "regso"}).json()
    props = {f["properties"]["code"]: f["properties"] for f in regso["features"]}
    assert regso["meta"]["division"] == "RegSO2025" and props["1480R012"]["name"] == "Bergsjön sydöstra"


@pytest.mark.realdata
def test_police_map_geojson(loaded_client):
    body = loaded_client.get("/api/v1/kommuner/1480/police-map", params={"edition": 2023}).json()
    names = {f["properties"]["name"]: f["properties"]["level"] for f in body["features"]}
    assert names["Bergsjön"] == "sarskilt_utsatt" and body["meta"]["edition"] == 2023
    assert loaded_client.get("/api/v1/kommuner/1480/police-map", params={"edition": 2016}).status_code == 404


@pytest.mark.realdata
@pytest.mark.parametrize(("url", "status"), [
    ("/api/v1/kommuner/14x0/map", 422), ("/api/v1/kommuner/9999/map", 404),
    ("/api/v1/kommuner/1480/map?level=lan", 422), ("/api/v1/kommuner/1480/map?level=regso&division=DeSO2025", 400),
    ("/api/v1/kommuner/1480/map?indicator=finns_inte", 404), ("/api/v1/kommuner/1480/map?indicator=%3Cscript%3E", 422),
    ("/api/v1/kommuner/1480/map?zoom=99", 422), ("/kommun/abcd/karta", 404), ("/kommun/9999/karta", 404),
    ("/omrade/finns-inte", 404), ("/omrade/1480%00C3390", 404), ("/kommun/14%0080/karta", 404), ("/omrade/1480C3390?division=" + "x" * 40, 422), ("/omrade/1480C3390?division=De%00SO", 404),
    ("/polisens-lista?edition=abc", 200), ("/polisens-lista?edition=1999", 404), ("/kommuner?q=%00%27", 200),
    ("/?q=" + "ö" * 100, 200), ("/logga-in?next=//evil.example", 200),
])
def test_bad_input_never_500(loaded_client, url, status):
    assert loaded_client.get(url).status_code == status


@pytest.mark.realdata
def test_area_profile_deso(loaded_client):
    r = loaded_client.get("/omrade/1480C3390")
    assert r.status_code == 200
    text = r.text
    assert "DeSO2025-områden har ingen officiell områdestyp" in text
    assert "typ 2: Områden med socioekonomiska utmaningar" in text
    assert "Bergsjön" in text and "Särskilt utsatt område" in text
    assert "Förvärvsarbetande 20–64 år" in text and "SCB TAB6680" in text  # provenance: source …
    assert "<td>2024</td>" in text  # … year
    assert 'href="/kommun/1480/karta">Göteborg</a>' in text
    assert 'href="/omrade/1480R012?division=RegSO2025"' in text  # parent RegSO


@pytest.mark.realdata
def test_area_profile_regso2020_has_official_type(loaded_client):
    r = loaded_client.get("/omrade/1480R012", params={"division": "RegSO2020"})
    assert r.status_code == 200
    assert "Typ 2: Områden med socioekonomiska utmaningar" in r.text
    assert "SCB IntGr5Socio (official)" in r.text and "År 2023" in r.text
    assert "Särskilt utsatt område" in r.text  # overlay taken from RegSO2025 with the same code
    assert "beräknat för RegSO2025 med samma kod" in r.text


@pytest.mark.realdata
def test_police_list_page(loaded_client):
    r = loaded_client.get("/polisens-lista", params={"edition": 2023})
    assert r.status_code == 200
    assert "Polisens lista över utsatta områden 2023" in r.text
    api = loaded_client.get("/api/v1/police-list", params={"edition": 2023}).json()
    assert f"{len(api['areas'])} områden: {api['counts']['sarskilt_utsatt']} särskilt utsatta områden" in r.text
    assert r.text.count("<tr><td>") == len(api["areas"])
    assert "<td>Göteborg</td><td>Bergsjön</td>" in r.text


def test_page_errors_are_html_for_browsers(client):
    r = client.post("/logga-in", data={"username": "x", "password": "y"}, headers={"Accept": "text/html"})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html") and "Åtkomst nekad" in r.text
    api = client.get("/api/v1/areas/9999C9999", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


@pytest.mark.realdata
def test_map_area_types_follow_the_requested_year(loaded_client):
    def bergsjon(params):
        body = loaded_client.get("/api/v1/kommuner/1480/map", params={"level": "deso", **params}).json()
        return body["meta"]["type_year"], {f["properties"]["code"]: f["properties"]["type"]
                                            for f in body["features"]}["1480C3390"]

    assert bergsjon({"year": 2022}) == (2022, 1)  # Bergsjön sydöstra: type 1 in 2022 …
    assert bergsjon({}) == (2023, 2)  # … and type 2 in 2023 (the newest)
    assert bergsjon({"year": 1999}) == (2023, 2)  # a year without types falls back to the newest


def test_area_page_cache_follows_new_imports(client, db, tmp_path):
    """The area profile is cached per data stamp: a new import shows at once."""
    import pandas as pd

    from handslag.ingest import import_observations
    from handslag.store import areas_repo

    with db.session() as s:
        areas_repo.upsert_areas(s, pd.DataFrame({"code": ["1480R012"], "division": ["RegSO2020"], "level": ["regso"],
                                                 "name": ["Bergsjön sydöstra"], "kommun_code": ["1480"]}))
    first = tmp_path / "a.csv"
    first.write_text("area_code,indicator,year,value\n1480R012,population,2023,4321\n")
    import_observations(db, first)
    assert "4\u00a0321" in client.get("/omrade/1480R012").text
    second = tmp_path / "b.csv"
    second.write_text("area_code,indicator,year,value,source\n1480R012,population,2023,4999,file a.csv\n")
    import_observations(db, second)
    page = client.get("/omrade/1480R012").text
    assert "4\u00a0999" in page and "4\u00a0321" not in page


def test_page_cache_is_per_app_and_database(tmp_path):
    """Regression: two apps in one process on two databases with equal data stamps must not share pages."""
    import pandas as pd
    from fastapi.testclient import TestClient

    from handslag.config import get_settings
    from handslag.ingest import import_observations
    from handslag.store import areas_repo
    from handslag.store.db import Database
    from handslag.web.app import create_app

    pages = []
    for n, value in ((1, 1111), (2, 2222)):
        database = Database(f"sqlite:///{tmp_path / f'db{n}.sqlite'}")
        with database.session() as s:
            areas_repo.upsert_areas(s, pd.DataFrame({"code": ["1480R012"], "division": ["RegSO2020"],
                                                     "level": ["regso"], "kommun_code": ["1480"]}))
        path = tmp_path / f"v{n}.csv"
        path.write_text(f"area_code,indicator,year,value\n1480R012,population,2023,{value}\n")
        import_observations(database, path)  # import id 1 in both databases
        with TestClient(create_app(db=database, settings=get_settings())) as client:
            pages.append(client.get("/omrade/1480R012").text)
        database.dispose()
    assert "1\u00a0111" in pages[0] and "2\u00a0222" in pages[1]
