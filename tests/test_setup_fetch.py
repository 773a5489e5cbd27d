"""First start without a snapshot: the set-up page fetches SCB statistics (local replay server) with progress."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from fakeservers import scb_server, tab6574, tab6680
from handslag.store.models import Observation


def test_setup_fetch_with_progress(client, db, monkeypatch):
    page = client.get("/api/v1/installera")
    assert page.status_code == 200 and "Läs in statistik från SCB" in page.text and "Göteborg (1480)" in page.text
    pop = tab6574(["1480C3390"], ["1480C3390", "1480C3400"], ["2023", "2024"])
    with scb_server({"TAB6574": pop, "TAB6680": tab6680()}) as server:
        monkeypatch.setenv("HANDSLAG_SCB_API_V2", f"{server.url}/api/v2")
        monkeypatch.setenv("HANDSLAG_SCB_API_V1", f"{server.url}/OV0104/v1/doris/sv/ssd")
        r = client.post("/api/v1/setup/fetch", json={"kommuner": ["1480"], "years": [2023, 2024],
                                                     "tables": ["TAB6574", "TAB6680"]})
        assert r.status_code == 202 and r.json()["state"] == "running"
        for _ in range(200):
            status = client.get("/api/v1/setup/status").json()
            if status["state"] != "running":
                break
            time.sleep(0.05)
    assert status["state"] == "done", status
    assert (status["done"], status["total"], status["errors"]) == (1, 1, [])
    with db.session() as s:
        n = s.scalar(select(func.count()).select_from(Observation).where(Observation.indicator == "population"))
        emp = s.scalars(select(Observation).where(Observation.indicator == "employment_20_64",
                                                  Observation.area_code == "1480C3390", Observation.year == 2024)).one()
        total = s.scalar(select(func.count()).select_from(Observation))
    assert n == 1 + 2  # DeSO2018 2023 (one area) + DeSO2025 2024 (two areas)
    assert (emp.numerator, emp.denominator) == (840, 1280)
    assert status["stored"] == total
    # now the database has areas: set-up is closed to anyone but administrators
    assert client.post("/api/v1/setup/fetch", json={"kommuner": ["1480"]}).status_code == 403


def test_setup_rejects_unknown_municipality(client):
    r = client.post("/api/v1/setup/fetch", json={"kommuner": ["9999"]})
    assert r.status_code == 422
    assert "9999" in r.json()["error"]["message"]
