"""The areas/observations/Police-list API contract on real data (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.realdata


def test_list_goteborg_deso2025(loaded_client):
    r = loaded_client.get("/api/v1/areas", params={"kommun": "1480", "level": "deso", "division": "DeSO2025",
                                                   "limit": 50, "offset": 300})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 320
    assert len(body["items"]) == 20  # 300..319
    item = body["items"][0]
    assert set(item) >= {"code", "name", "level", "division", "parent"}
    assert item["level"] == "deso" and item["division"] == "DeSO2025" and item["parent"].startswith("1480R")


def test_area_with_geometry_in_wgs84(loaded_client):
    body = loaded_client.get("/api/v1/areas/1480C3390", params={"division": "DeSO2025"}).json()
    assert body["parent"] == "1480R012"
    assert body["geometry"]["type"] in ("Polygon", "MultiPolygon")
    lon, lat = body["geometry"]["coordinates"][0][0][:2] if body["geometry"]["type"] == "Polygon" else \
        body["geometry"]["coordinates"][0][0][0][:2]
    assert 11.5 < lon < 12.5 and 57.5 < lat < 58.0
    regso = loaded_client.get("/api/v1/areas/1480R012", params={"division": "RegSO2025"}).json()
    assert regso["name"].startswith("Bergsjön")
    assert "1480C3390" in [c["code"] for c in regso["children"]]


def test_area_not_found_is_json_404(loaded_client):
    r = loaded_client.get("/api/v1/areas/9999C9999")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_bad_query_is_422_not_500(loaded_client):
    r = loaded_client.get("/api/v1/areas", params={"kommun": "göteborg", "limit": -1})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"


def test_observations_with_provenance(loaded_client):
    body = loaded_client.get("/api/v1/areas/1480C3390/observations",
                             params={"indicator": "employment_20_64", "year": 2024}).json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["provenance"] == {"source": "SCB TAB6680", "division": "DeSO2025", "year": 2024,
                                  "import_id": item["provenance"]["import_id"]}
    assert item["unit"] == "percent" and 0 < item["value"] < 100
    regso = loaded_client.get("/api/v1/areas/0114R001/observations", params={"indicator": "foreign_born_share",
                                                                            "year": 2020}).json()
    assert regso["items"][0]["numerator"] == 1060 and regso["items"][0]["denominator"] == 6062


def test_police_list_contract(loaded_client):
    body = loaded_client.get("/api/v1/police-list", params={"edition": 2023}).json()
    assert body["edition"] == 2023
    assert len(body["areas"]) == 59
    levels = {a["level"] for a in body["areas"]}
    assert levels == {"utsatt", "risk", "sarskilt_utsatt"}
    gbg = {a["name"]: a["level"] for a in body["areas"] if a["municipality"] == "Göteborg"}
    assert gbg["Bergsjön"] == "sarskilt_utsatt"
    assert gbg["Biskopsgården"] == "risk"
    assert loaded_client.get("/api/v1/police-list", params={"edition": 2016}).status_code == 404


def test_police_timeline_events(loaded_client):
    body = loaded_client.get("/api/v1/police-list/timeline", params={"name": "Tynnered"}).json()
    (area,) = body["areas"]
    levels = {e["edition"]: e["level"] for e in area["editions"]}
    assert levels == {2015: "utsatt", 2017: "sarskilt_utsatt", 2019: "sarskilt_utsatt", 2021: "risk",
                      2023: "risk", 2025: "utsatt"}
    assert {"edition": 2021, "event": "moved_down", "from": "sarskilt_utsatt", "to": "risk"} in area["events"]
    ranne = loaded_client.get("/api/v1/police-list/timeline", params={"name": "Rannebergen"}).json()["areas"][0]
    assert {"edition": 2021, "event": "left_list", "from": "utsatt"} in ranne["events"]


def test_openapi_lists_the_routes(loaded_client):
    paths = loaded_client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/areas", "/api/v1/areas/{code}", "/api/v1/areas/{code}/observations",
                 "/api/v1/police-list", "/api/v1/police-list/timeline"):
        assert path in paths


def test_police_timeline_follows_a_split_area(loaded_client):
    body = loaded_client.get("/api/v1/police-list/timeline", params={"name": "Rinkeby"}).json()
    (area,) = body["areas"]
    last = area["editions"][-1]
    assert last["edition"] == 2025
    assert sorted(p["name"] for p in last["parts"]) == ["Rinkeby", "Tensta"]
    assert area["editions"][-2]["name"] == "Rinkeby / Tensta"


def test_police_cli(loaded_db, monkeypatch):
    from typer.testing import CliRunner

    from handslag.cli import app

    monkeypatch.setenv("HANDSLAG_DATABASE_URL", loaded_db.url)
    out = CliRunner().invoke(app, ["police", "timeline", "Bergsjön", "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines()[1] == "Bergsjön," + ",".join(["sarskilt_utsatt"] * 6)
    out = CliRunner().invoke(app, ["police", "list", "--edition", "2021", "--kommun", "1480", "--format", "json"])
    names = {row["name"]: row["level"] for row in json.loads(out.stdout)}
    assert "Rannebergen" not in names and names["Bergsjön"] == "sarskilt_utsatt"
    missing = CliRunner().invoke(app, ["police", "timeline", "Atlantis"])
    assert missing.exit_code != 0


def test_search_with_control_characters_is_not_a_500(loaded_client):
    r = loaded_client.get("/api/v1/areas", params={"q": "Berg\x00sjön"})
    assert r.status_code == 200
    r = loaded_client.get("/api/v1/areas", params={"q": "Bergsjön", "level": "regso"})
    assert {i["code"] for i in r.json()["items"]} >= {"1480R012", "1480R013"}


def test_police_list_exports(loaded_client):
    import io

    import pandas as pd

    csv = loaded_client.get("/api/v1/police-list", params={"edition": 2023, "kommun": "1480", "format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig")
    assert dict(zip(frame["name"], frame["level"], strict=True))["Biskopsgården"] == "risk" and len(frame) == 8
    xlsx = loaded_client.get("/api/v1/police-list/timeline", params={"name": "Bergsjön", "format": "xlsx"})
    sheet = pd.read_excel(io.BytesIO(xlsx.content))
    assert sheet.loc[0, "2015"] == "sarskilt_utsatt" and sheet.loc[0, "2025"] == "sarskilt_utsatt"
