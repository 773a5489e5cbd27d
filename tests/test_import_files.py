"""Importing users' own observation and area files: good files, broken files, idempotence, the CLI."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon, box
from sqlalchemy import func, select

from handslag.errors import ValidationFailed
from handslag.ingest import import_areas, import_observations
from handslag.store import areas_repo
from handslag.store.models import Area, ImportLog, Observation


@pytest.fixture
def registry(db):
    """A tiny registry: one DeSO in both divisions, one RegSO, one kommun."""
    rows = pd.DataFrame({"code": ["1480C3390", "1480C3390", "1480R012", "1480", "1480C3400"],
                         "division": ["DeSO2018", "DeSO2025", "RegSO2020", "kommun", "DeSO2025"],
                         "level": ["deso", "deso", "regso", "kommun", "deso"],
                         "kommun_code": ["1480"] * 5})
    with db.session() as s:
        areas_repo.upsert_areas(s, rows)
    return db


def _write(tmp_path, text, name="obs.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_infers_division_and_derives_rates(registry, tmp_path):
    path = _write(tmp_path, "area_code,indicator,year,value,division,numerator,denominator\n"
                            "1480C3400,employment_20_64,2024,,,450,900\n"
                            "1480R012,population,2023,5123,,,\n"
                            "1480,population,2023,604616,,,\n"
                            "1480C3390,population,2023,1700,DeSO2018,,\n")
    result = import_observations(registry, path)
    assert result.status == "ok" and result.counts == {"observations": 4}
    with registry.session() as s:
        rows = {(o.area_code, o.division, o.indicator): o for o in s.scalars(select(Observation))}
    emp = rows[("1480C3400", "DeSO2025", "employment_20_64")]
    assert emp.value == pytest.approx(50.0) and emp.numerator == 450 and emp.denominator == 900
    assert rows[("1480R012", "RegSO2020", "population")].value == 5123
    assert rows[("1480", "kommun", "population")].value == 604616


def test_reimport_identical_file_changes_nothing(registry, tmp_path):
    path = _write(tmp_path, "area_code,indicator,year,value\n1480R012,population,2023,5123\n")
    first = import_observations(registry, path)
    second = import_observations(registry, path)
    assert first.status == "ok" and second.status == "unchanged"
    with registry.session() as s:
        assert s.scalar(select(func.count()).select_from(Observation)) == 1
        assert s.scalar(select(func.count()).select_from(ImportLog)) == 1


def test_changed_file_updates_values_in_place(registry, tmp_path):
    import_observations(registry, _write(tmp_path, "area_code,indicator,year,value\n1480R012,population,2023,5123\n"))
    import_observations(registry, _write(tmp_path, "area_code,indicator,year,value\n1480R012,population,2023,5200\n",
                                         "obs2.csv"), source="file obs.csv")
    with registry.session() as s:
        values = sorted(o.value for o in s.scalars(select(Observation)))
    assert values == [5200]  # same area, indicator, year and source → updated in place


BROKEN = [
    ("area_code,indicator,year\n1480R012,population,2023\n", 1, "value", "required column"),
    ("area_code,indicator,year,value\n1480Q012,population,2023,5\n", 2, "area_code", "not a DeSO"),
    ("area_code,indicator,year,value\n1480R999,population,2023,5\n", 2, "area_code", "unknown area code"),
    ("area_code,indicator,year,value\n1480C3390,population,2023,5\n", 2, "division", "several divisions"),
    ("area_code,indicator,year,value,division\n1480R012,population,2023,5,DeSO2025\n", 2, "division", "not a deso"),
    ("area_code,indicator,year,value\n1480R012,population,2023,många\n", 2, "value", "not a number"),
    ("area_code,indicator,year,value\n1480R012,population,tjugo,5\n", 2, "year", "not a year"),
    ("area_code,indicator,year,value\n1480R012,happiness,2023,5\n", 2, "indicator", "unknown indicator"),
    ("area_code,indicator,year,value\n1480R012,population,2023,5\n1480R012,population,2023,6\n", 3, "area_code",
     "duplicate of row 2"),
    ("area_code,indicator,year,value,numerator,denominator\n1480R012,employment_20_64,2023,,950,900\n", 2,
     "numerator", "larger than the denominator"),
    ("area_code,indicator,year,value,numerator,denominator\n1480R012,employment_20_64,2023,70,450,900\n", 2,
     "value", "does not match"),
]


@pytest.mark.parametrize(("text", "row", "column", "reason"), BROKEN)
def test_broken_files_are_rejected_with_row_and_column(registry, tmp_path, text, row, column, reason):
    path = _write(tmp_path, "area_code,indicator,year,value\n1480R012,population,2022,5000\n")
    import_observations(registry, path)  # something already there must stay untouched
    bad = _write(tmp_path, text, "bad.csv")
    with pytest.raises(ValidationFailed) as err:
        import_observations(registry, bad)
    problem = err.value.problems[0]
    assert (problem.file, problem.row, problem.column) == ("bad.csv", row, column)
    assert reason in problem.reason
    with registry.session() as s:
        assert [o.value for o in s.scalars(select(Observation))] == [5000]
        assert [log.status for log in s.scalars(select(ImportLog).order_by(ImportLog.id))] == ["ok", "failed"]


def test_suppressed_marker_and_excel(registry, tmp_path):
    frame = pd.DataFrame({"area_code": ["1480R012", "1480"], "indicator": ["population", "population"],
                          "year": [2023, 2023], "value": ["..", "604616"]})
    path = tmp_path / "obs.xlsx"
    frame.to_excel(path, index=False)
    import_observations(registry, path)
    with registry.session() as s:
        rows = {o.area_code: o for o in s.scalars(select(Observation))}
    assert rows["1480R012"].suppressed and rows["1480R012"].value is None
    assert rows["1480"].value == 604616 and not rows["1480"].suppressed


def test_area_file_any_crs(db, tmp_path):
    gdf = gpd.GeoDataFrame({"kod": ["A1", "A2"], "namn": ["Norr", "Söder"]},
                           geometry=[box(11.95, 57.70, 11.96, 57.71), box(11.96, 57.70, 11.97, 57.71)],
                           crs="EPSG:4326").to_crs("EPSG:3006")
    path = tmp_path / "egna.gpkg"
    gdf.to_file(path, driver="GPKG")
    result = import_areas(db, path, code_column="kod", name_column="namn", division="Fokusområden")
    assert result.counts == {"areas": 2}
    with db.session() as s:
        area = s.scalars(select(Area).where(Area.code == "A1")).one()
    assert area.name == "Norr" and area.level == "custom"
    # 0.01° lon × cos(57.705°) × 111.32 km = 0.595 km; 0.01° lat ≈ 1.115 km at 57.7° N → ≈ 0.663 km²
    assert area.area_km2 == pytest.approx(0.663, rel=0.005)


def test_area_file_invalid_geometry_and_duplicates(db, tmp_path):
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    gdf = gpd.GeoDataFrame({"code": ["1480C3390", "1480C3390", "1480C34"]},
                           geometry=[box(11.95, 57.70, 11.96, 57.71),
                                     Polygon([(11.95 + x / 100, 57.7 + y / 100) for x, y in bowtie.exterior.coords]),
                                     box(11.96, 57.70, 11.97, 57.71)], crs="EPSG:4326")
    path = tmp_path / "bad.geojson"
    path.write_text(gdf.to_json())
    with pytest.raises(ValidationFailed) as err:
        import_areas(db, path, division="DeSO2025")
    found = {(p.row, p.column) for p in err.value.problems}
    assert (3, "code") in found  # duplicate
    assert (3, "geometry") in found  # self-intersection
    assert (4, "code") in found  # not a DeSO code
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Area).where(Area.level != "kommun",
                                                                     Area.level != "lan", Area.level != "riket")) == 0


def test_cli_rejects_with_nonzero_exit_and_row_numbers(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    path = _write(tmp_path, "area_code,indicator,year,value\n1480,population,2023,604616\n1480,population,2023,x\n")
    proc = subprocess.run([sys.executable, "-m", "handslag", "data", "import-observations", str(path)],
                          capture_output=True, text=True, env={"HANDSLAG_DATABASE_URL": url, "PATH": ""}, timeout=120)
    assert proc.returncode == 2
    assert "obs.csv, row 3, column value: 'x' is not a number" in proc.stderr
    assert "nothing was written" in proc.stderr
    ok = _write(tmp_path, "area_code,indicator,year,value\n1480,population,2023,604616\n", "ok.csv")
    proc = subprocess.run([sys.executable, "-m", "handslag", "data", "import-observations", str(ok)],
                          capture_output=True, text=True, env={"HANDSLAG_DATABASE_URL": url, "PATH": ""}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "observations 1" in proc.stderr


def test_area_file_geoparquet_and_no_crs(db, tmp_path):
    gdf = gpd.GeoDataFrame({"code": ["X1"]}, geometry=[box(320000, 6400000, 321000, 6401000)], crs="EPSG:3006")
    path = tmp_path / "areas.parquet"
    gdf.to_parquet(path)
    assert import_areas(db, path, division="Egna").counts == {"areas": 1}
    with db.session() as s:
        area = s.scalars(select(Area).where(Area.code == "X1")).one()
    assert area.area_km2 == pytest.approx(1.0)
    nocrs = tmp_path / "nocrs.parquet"
    gdf.set_crs(None, allow_override=True).to_parquet(nocrs)
    with pytest.raises(ValidationFailed) as err:
        import_areas(db, nocrs, division="Egna")
    assert "no coordinate reference system" in err.value.problems[0].reason
