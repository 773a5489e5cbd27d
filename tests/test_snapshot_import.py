"""Importing ../shared/data: areas, official types, statistics and the Police list; broken copies."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from sqlalchemy import func, select

from handslag.errors import ValidationFailed
from handslag.ingest import import_snapshot
from handslag.store import police_repo
from handslag.store.models import Area, ImportLog, Observation, PoliceArea

pytestmark = pytest.mark.realdata


def test_goteborg_deso2025_all_with_geometry(loaded_db):
    with loaded_db.session() as s:
        rows = s.execute(select(Area.code, Area.geometry_wgs84.is_not(None), Area.parent_code).where(
            Area.kommun_code == "1480", Area.division == "DeSO2025")).all()
    assert len(rows) == 320
    assert all(has_geom for _, has_geom, _ in rows)
    assert all(parent.startswith("1480R") for _, _, parent in rows)


def test_all_regso2020_with_official_2022_type(loaded_db):
    with loaded_db.session() as s:
        n_regso = s.scalar(select(func.count()).select_from(Area).where(Area.division == "RegSO2020"))
        types = s.execute(select(Observation.area_code, Observation.value).where(
            Observation.indicator == "area_type", Observation.year == 2022,
            Observation.division == "RegSO2020")).all()
    assert n_regso == 3363
    assert len(types) == 3363
    counts = pd.Series([int(v) for _, v in types]).value_counts().sort_index().tolist()
    assert counts == [160, 289, 855, 1770, 289]
    gbg = pd.Series([int(v) for c, v in types if c.startswith("1480")]).value_counts().sort_index().tolist()
    assert gbg == [15, 19, 19, 73, 21]


def test_municipalities_and_counties(loaded_db):
    with loaded_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Area).where(Area.level == "kommun")) == 290
        assert s.scalar(select(func.count()).select_from(Area).where(Area.level == "lan")) == 21
        gbg = s.scalars(select(Area).where(Area.code == "1480", Area.division == "kommun")).one()
    assert gbg.name == "Göteborg" and gbg.parent_code == "14"


def test_regso_statistics_sum_to_the_national_population(loaded_db):
    with loaded_db.session() as s:
        total_2020 = s.scalar(select(func.sum(Observation.value)).where(
            Observation.indicator == "population", Observation.year == 2020, Observation.division == "RegSO2020"))
        total_2023 = s.scalar(select(func.sum(Observation.value)).where(
            Observation.indicator == "population", Observation.year == 2023, Observation.division == "RegSO2020"))
        share = s.scalars(select(Observation).where(
            Observation.indicator == "foreign_born_share", Observation.area_code == "0114R001",
            Observation.year == 2020)).one()
    assert total_2020 == 10_379_295
    assert total_2023 == 10_551_707
    # Bollstanäs 2020: 1,060 foreign-born of 6,062 → derived from the counts
    assert share.numerator == 1060 and share.denominator == 6062
    assert share.value == pytest.approx(100 * 1060 / 6062)


def test_police_list_editions(loaded_db):
    with loaded_db.session() as s:
        counts = police_repo.counts(s).set_index("edition")
        bergsjon = police_repo.timeline(s, "Bergsjön")
        ranne = {a.edition for a in police_repo.timeline(s, "Rannebergen")}
    assert counts.loc[2015, ["utsatt", "risk", "sarskilt_utsatt"]].tolist() == [31, 7, 15]
    assert counts.loc[2023, ["utsatt", "risk", "sarskilt_utsatt"]].tolist() == [27, 15, 17]
    assert counts.loc[2025, ["utsatt", "risk", "sarskilt_utsatt"]].tolist() == [46, 0, 19]
    assert [(a.edition, a.level) for a in bergsjon] == [(e, "sarskilt_utsatt") for e in (2015, 2017, 2019, 2021,
                                                                                          2023, 2025)]
    assert all(a.municipality == "Göteborg" for a in bergsjon)
    assert ranne == {2015, 2017, 2019}


def test_police_overlay_shares(loaded_db):
    with loaded_db.session() as s:
        overl = police_repo.areas_overlapping(s, "1480C3500", "DeSO2025")
    editions = {p.edition: share for p, share in overl if p.name == "Bergsjön"}
    assert set(editions) == {2015, 2017, 2019, 2021, 2023, 2025}
    assert editions[2023] == pytest.approx(1.0, abs=1e-6)


def test_reimport_changes_nothing(loaded_db, shared_data):
    with loaded_db.session() as s:
        before = (s.scalar(select(func.count()).select_from(Observation)),
                  s.scalar(select(func.count()).select_from(ImportLog)),
                  s.scalar(select(func.count()).select_from(PoliceArea)))
    result = import_snapshot(loaded_db, shared_data)
    assert result.status == "unchanged"
    with loaded_db.session() as s:
        after = (s.scalar(select(func.count()).select_from(Observation)),
                 s.scalar(select(func.count()).select_from(ImportLog)),
                 s.scalar(select(func.count()).select_from(PoliceArea)))
    assert after == before


def _copy(shared_data, tmp_path):
    dest = tmp_path / "snap"
    shutil.copytree(shared_data, dest)
    return dest


@pytest.mark.parametrize("breakage", ["missing_column", "bad_code", "non_numeric", "bad_type", "wrong_crs"])
def test_broken_snapshot_writes_nothing(sqlite_db, shared_data, tmp_path, breakage):
    snap = _copy(shared_data, tmp_path)
    tidy = snap / "stats/regso2020_befolkning_upplatelseform_loneinkomst_2020_2023_tidy.csv"
    if breakage == "missing_column":
        frame = pd.read_csv(tidy, dtype=str).drop(columns=["utrikes_fodda"])
        frame.to_csv(tidy, index=False)
        expect = ("utrikes_fodda", 1)
    elif breakage == "bad_code":
        frame = pd.read_csv(tidy, dtype=str)
        frame.loc[4, "regsokod_2020"] = "0114X001"
        frame.to_csv(tidy, index=False)
        expect = ("regsokod_2020", 6)
    elif breakage == "non_numeric":
        frame = pd.read_csv(tidy, dtype=str)
        frame.loc[9, "folkmangd_totalt"] = "sex tusen"
        frame.to_csv(tidy, index=False)
        expect = ("folkmangd_totalt", 11)
    elif breakage == "bad_type":
        types = snap / "classification/regso2020_omradestyp_2022.csv"
        frame = pd.read_csv(types, dtype=str)
        frame.loc[0, "omradestyp_2022"] = "7"
        frame.to_csv(types, index=False)
        expect = ("omradestyp_2022", 2)
    else:
        import geopandas as gpd

        # SWEREF 99 TM metres declared as WGS84 degrees: the coordinates fall outside Sweden
        path = snap / "geometry/regso2025_goteborgsregionen_sweref99tm.gpkg"
        gdf = gpd.read_file(path).set_crs("EPSG:4326", allow_override=True)
        path.unlink()
        gdf.to_file(path, driver="GPKG")
        expect = ("geometry", None)
    with pytest.raises(ValidationFailed) as err:
        import_snapshot(sqlite_db, snap)
    problems = err.value.problems
    assert any(p.column == expect[0] and (expect[1] is None or p.row == expect[1]) for p in problems), problems[:5]
    with sqlite_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Area).where(Area.level.in_(["deso", "regso"]))) == 0
        assert s.scalar(select(func.count()).select_from(Area)) == 312  # the shipped registry: riket, län, kommuner
        assert s.scalar(select(func.count()).select_from(Observation)) == 0
        log = s.scalars(select(ImportLog)).all()
    assert [entry.status for entry in log] == ["failed"]
    assert "rejected" in log[0].message


def test_snapshot_without_police_folder(sqlite_db, shared_data, tmp_path):
    """Regression: an absent police folder is skipped and reported, not a KeyError."""
    snap = tmp_path / "snap"
    (snap / "classification").mkdir(parents=True)
    shutil.copy(shared_data / "SOURCES.md", snap)
    shutil.copy(shared_data / "classification/regso2020_omradestyp_2022.csv", snap / "classification")
    result = import_snapshot(sqlite_db, snap)
    assert result.status == "ok" and result.counts["observations"] == 3363
    assert "police_utsatta_omraden/: not in the snapshot, skipped" in result.counts["notes"]
    with sqlite_db.session() as s:
        est = s.scalar(select(func.count()).select_from(PoliceArea))
    assert est == 0


def test_age_band_denominators_are_flagged_estimated(loaded_db):
    with loaded_db.session() as s:
        flags = set(s.scalars(select(Observation.estimated).where(Observation.indicator == "population_20_64",
                                                                  Observation.division == "DeSO2025")))
    assert flags == {True}
