"""``handslag data fetch scb|kolada`` end to end: CLI → client → local replay server → store."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fakeservers import scb_server, tab6574, tab6680
from handslag.cli import app
from handslag.store.models import ImportLog, Observation


@pytest.fixture
def env(monkeypatch, sqlite_db, tmp_path):
    monkeypatch.setenv("HANDSLAG_DATABASE_URL", sqlite_db.url)
    monkeypatch.setenv("HANDSLAG_CACHE_DIR", str(tmp_path / "cache"))
    return sqlite_db


def test_fetch_scb_stores_observations(env, monkeypatch):
    pop = tab6574(["1480C3390"], ["1480C3390", "1480C3400"], ["2022", "2023", "2024"])
    with scb_server({"TAB6574": pop, "TAB6680": tab6680()}) as server:
        monkeypatch.setenv("HANDSLAG_SCB_API_V2", f"{server.url}/api/v2")
        monkeypatch.setenv("HANDSLAG_SCB_API_V1", f"{server.url}/OV0104/v1/doris/sv/ssd")
        result = CliRunner().invoke(app, ["data", "fetch", "scb", "--table", "TAB6574", "--table", "TAB6680",
                                          "--region", "1480", "--years", "2022-2024"])
        assert result.exit_code == 0, result.output
        second = CliRunner().invoke(app, ["data", "fetch", "scb", "--table", "TAB6574", "--region", "1480",
                                          "--years", "2022-2024"])
        assert second.exit_code == 0
    with env.session() as s:
        rows = s.scalars(select(Observation).where(Observation.indicator == "population")).all()
        emp = s.scalars(select(Observation).where(Observation.indicator == "employment_20_64",
                                                  Observation.area_code == "1480C3390",
                                                  Observation.year == 2024)).one()
        logs = s.scalars(select(ImportLog)).all()
    by_key = {(o.area_code, o.division, o.year): o.value for o in rows}
    assert by_key[("1480C3390", "DeSO2018", 2022)] == pop.value_fn({"Region": "1480C3390", "Tid": "2022"})
    assert by_key[("1480C3400", "DeSO2025", 2024)] == pop.value_fn({"Region": "1480C3400_DeSO2025", "Tid": "2024"})
    assert len(rows) == 2 + 2  # DeSO2018: one area × 2022–2023; DeSO2025: two areas × 2024
    # employment is computed from the counts: 840 employed of 1,280 → 65.625 %
    assert (emp.numerator, emp.denominator, emp.value) == (840, 1280, pytest.approx(65.625))
    assert [log.kind for log in logs] == ["scb", "scb"] and all(log.status == "ok" for log in logs)


def test_fetch_kolada_stores_kommun_observations(env, monkeypatch):
    from fakeservers import ReplayServer, add_kolada, kolada_record

    records = [kolada_record("N00914", "1480", 2022, 76.4, 74.9, 77.8),
               kolada_record("N00914", "1480", 2023, 77.0),
               kolada_record("N00914", "0581", 2023, 73.1)]
    with ReplayServer() as server:
        add_kolada(server, records, page_size=2)
        monkeypatch.setenv("HANDSLAG_KOLADA_API", f"{server.url}/v3")
        result = CliRunner().invoke(app, ["data", "fetch", "kolada", "--kpi", "N00914", "--municipality", "1480",
                                          "--municipality", "0581", "--years", "2022-2023"])
        assert result.exit_code == 0, result.output
    with env.session() as s:
        rows = {(o.area_code, o.year): (o.value, o.division, o.source) for o in s.scalars(select(Observation))}
    assert rows == {("1480", 2022): (76.4, "kommun", "Kolada N00914"), ("1480", 2023): (77.0, "kommun", "Kolada N00914"),
                    ("0581", 2023): (73.1, "kommun", "Kolada N00914")}
