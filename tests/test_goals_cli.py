"""``handslag gap``, ``handslag demo`` and ``handslag goals …`` on a SQLite file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from handslag.cli import app
from handslag.errors import ValidationFailed
from handslag.store.models import Area, Observation

runner = CliRunner()

BERGSJON = [("1480C3390", "1480R012", "Bergsjön sydöstra", 60.0, 1000),
            ("1480C3400", "1480R013", "Bergsjön södra", 70.0, 1000)]
OTHER = [("1480C1010", "1480R100", "Centrum", 80.0, 2000)]


@pytest.fixture
def url(sqlite_db):
    with sqlite_db.session() as s:
        for deso, regso, name, rate, pop in BERGSJON + OTHER:
            s.add(Area(code=regso, division="RegSO2025", level="regso", name=name, kommun_code="1480"))
            s.add(Area(code=deso, division="DeSO2025", level="deso", parent_code=regso, kommun_code="1480"))
            s.add(Observation(area_code=deso, division="DeSO2025", indicator="employment_20_64", year=2024,
                              value=rate, source="SCB TAB6680", unit="percent"))
            s.add(Observation(area_code=deso, division="DeSO2025", indicator="population_20_64", year=2025,
                              value=pop, source="SCB TAB6574", unit="persons"))
    return sqlite_db.url


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_gap_defaults_to_bergsjon_and_shows_the_computation(url):
    r = run("gap", "--database-url", url)
    assert r.exit_code == 0, r.output
    # Bergsjön (600 + 700) / 2000 = 65 %; Göteborg (600 + 700 + 1600) / 4000 = 72.5 % → 7.5 pp × 2000 = 150
    assert "Bergsjön needs 150 more employed to reach the rate of Göteborg (72.5 %)" in r.output
    assert "Gap in persons: 7.500 / 100 × 2 000 = 150 persons" in r.output
    assert "the denominator is from 2025, the rate from 2024" in r.output
    assert "1480C3400" in r.output and "1480C1010" not in r.output  # the area table lists the area set only
    j = json.loads(run("gap", "--database-url", url, "--format", "json", "--project-to", 2030,
                       "--projected-denominator", 2400).output)
    assert j["persons"] == pytest.approx(150) and j["projection"]["persons"] == pytest.approx(180)
    csv = run("gap", "--database-url", url, "--areas", "1480C3390", "--reference", "areas:1480C1010", "-f", "csv")
    assert csv.exit_code == 0 and csv.output.splitlines()[-1].startswith("Gap in persons,")
    assert float(csv.output.splitlines()[-1].split(",")[-2]) == pytest.approx(200)


def test_gap_errors_exit_non_zero_with_one_line(url):
    r = run("gap", "--database-url", url, "--regso-name", "Hammarkullen")
    assert r.exit_code == 1 and "no DeSO 2025 with a RegSO 2025 name starting 'Hammarkullen'" in r.output
    r = run("gap", "--database-url", url, "--reference", "lan:03")
    assert r.exit_code == 1 and r.output.startswith("error: no employment_20_64 for the reference lan:03")
    r = run("gap", "--database-url", url, "--growth", "1")
    assert r.exit_code == 1 and "--project-to" in r.output


def test_demo_status_export_import(url, tmp_path):
    r = run("demo", "--database-url", url)
    assert r.exit_code == 0, r.output
    assert "EXEMPELDATA" in r.output and "575 fler personer i arbete" in r.output
    assert "Gap till staden: Bergsjön behöver 150 fler förvärvsarbetande" in r.output
    again = run("demo", "--database-url", url, "--format", "json")
    out = json.loads(again.output)
    assert out["created"] is False and [g["status"] for g in out["goals_status"]] == ["I fas", "Risk", "Ej i fas",
                                                                                     "I fas"]
    pid = out["partnership_id"]
    status = json.loads(run("goals", "status", pid, "--database-url", url, "-f", "json").output)
    assert status["goals"][0]["latest"]["actual"] == 0.0  # statistics: change since the 2024 baseline
    table = run("goals", "status", pid, "--database-url", url)
    assert "off_track" in table.output and "1 000 sommarjobb" in table.output
    refresh = run("goals", "refresh", "--database-url", url, "-f", "json")
    assert json.loads(refresh.output)[0]["created"] == 0
    book = tmp_path / "plan.xlsx"
    assert run("goals", "export", pid, book, "--database-url", url).exit_code == 0
    r = run("goals", "import", pid, book, "--database-url", url, "--dry-run")
    assert r.exit_code == 0 and "no changes" in r.output
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"nope")
    r = run("goals", "import", pid, broken, "--database-url", url)
    assert isinstance(r.exception, ValidationFailed)  # main() prints it and exits with 2
    assert "broken.xlsx: the file is not an Excel workbook" in r.exception.format()
    assert run("goals", "status", 999, "--database-url", url).exit_code == 1
    replaced = json.loads(run("demo", "--database-url", url, "--replace", "-f", "json").output)
    assert replaced["created"] is True and replaced["partnership_id"] != pid
