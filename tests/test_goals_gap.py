"""Gap to parity: hand-computed cases (pure), the store adapter on hand-made observations (SQLite and
PostgreSQL), and Bergsjön vs Göteborg on the real snapshot, cross-checked against the raw files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from handslag.errors import NotFound
from handslag.goals.gap import (
    AreaValue,
    Projection,
    RateInput,
    Reference,
    aggregate,
    default_denominator,
    gap_to_parity,
    parse_reference,
    rest_of_reference,
)
from handslag.store import goals_repo as repo
from handslag.store.models import Area, Observation

AREA = RateInput("Område", rate=60.0, year=2024, source="SCB TAB6680", denominator=1000, denominator_year=2025,
                 denominator_source="SCB TAB6574")
CITY = RateInput("Staden", rate=75.0, year=2024, source="SCB TAB6680", denominator=10_000, denominator_year=2025)


# ---- pure ------------------------------------------------------------------------------------------------

def test_gap_hand_computed_with_every_step_and_the_data_lag():
    r = gap_to_parity(AREA, CITY, indicator="employment_20_64", as_of_year=2026)
    assert r.rate_gap == pytest.approx(15.0)
    assert r.persons == pytest.approx(150.0)  # (75 − 60) / 100 × 1000
    assert r.persons_rounded == 150 and not r.at_parity
    assert r.headline() == "Område needs 150 more employed to reach the rate of Staden (75.0 %)"
    assert r.headline("sv").startswith("Område behöver 150 fler förvärvsarbetande")
    assert [s.value for s in r.steps] == pytest.approx([60.0, 75.0, 1000, 15.0, 150.0])
    assert r.steps[-1].expression == "15.000 / 100 × 1 000"
    assert r.lags == {"area_rate_year": 2024, "reference_rate_year": 2024, "denominator_year": 2025,
                      "newest_input_year": 2025, "oldest_input_year": 2024, "data_age_years": 1,
                      "denominator_minus_rate_year": 1, "reference_minus_area_year": 0}
    assert "the denominator is from 2025, the rate from 2024" in r.warnings
    d = r.as_dict()
    assert d["formula"] == "(reference_rate − area_rate) / scale × area_denominator"
    assert d["area"]["denominator_source"] == "SCB TAB6574"
    assert "Gap in persons" in r.explain()


def test_gap_for_a_lower_is_better_indicator_counts_fewer():
    area = RateInput("A", rate=12.0, year=2024, source="s", denominator=2000)
    ref = RateInput("R", rate=6.0, year=2023, source="s")
    r = gap_to_parity(area, ref, indicator="unemployment_20_64", direction="lower_is_better", as_of_year=2025)
    assert r.persons == pytest.approx(-120.0)
    assert r.headline().startswith("A needs 120 fewer unemployed")
    assert not r.at_parity
    assert "area rate (2024) and reference rate (2023) are from different years" in r.warnings
    better = gap_to_parity(RateInput("B", 4.0, 2024, "s", 1000), ref, indicator="unemployment_20_64",
                           direction="lower_is_better")
    assert better.persons == pytest.approx(20.0) and better.at_parity


def test_aggregate_weights_by_denominator_and_uses_counts_when_given():
    rate, den, num = aggregate([AreaValue("a", 60.0, 1000, 2024, 2025), AreaValue("b", 80.0, 3000, 2024, 2025)])
    assert (rate, den, num) == pytest.approx((75.0, 4000, 3000))  # (600 + 2400) / 4000
    rate, _, num = aggregate([AreaValue("a", 60.0, 1000, 2024, 2024, numerator=610)])
    assert (rate, num) == pytest.approx((61.0, 610))
    with pytest.raises(ValueError):
        aggregate([AreaValue("a", 60.0, 0, 2024, 2024)])


def test_rest_of_reference_removes_the_area():
    rest = rest_of_reference(CITY, AREA)
    assert rest.rate == pytest.approx((7500 - 600) / 9000 * 100)  # 76.667 %
    assert rest.denominator == 9000 and rest.derived
    r = gap_to_parity(AREA, rest, indicator="employment_20_64")
    assert r.persons == pytest.approx((76.6666667 - 60) * 10, rel=1e-6)


def test_projection_scales_the_denominator():
    r = gap_to_parity(AREA, CITY, indicator="employment_20_64", projection=Projection(2027, annual_growth_pct=10))
    assert r.projection["denominator"] == pytest.approx(1000 * 1.1 ** 2)  # 2025 → 2027
    assert r.projection["persons"] == pytest.approx(181.5)
    assert r.projection["persons_rounded"] == 182
    r = gap_to_parity(AREA, CITY, indicator="employment_20_64", projection=Projection(2030, denominator=1200))
    assert r.projection["persons"] == pytest.approx(180.0)
    with pytest.raises(ValueError):
        Projection(2030)
    with pytest.raises(ValueError):
        Projection(2030, denominator=5, annual_growth_pct=1)


def test_gap_input_errors():
    with pytest.raises(ValueError, match="denominator"):
        gap_to_parity(RateInput("A", 60, 2024, "s"), CITY, indicator="x")
    with pytest.raises(ValueError, match="outside"):
        gap_to_parity(RateInput("A", 160, 2024, "s", 10), CITY, indicator="x")


def test_parse_reference():
    assert parse_reference("kommun") == Reference("kommun")
    assert parse_reference("municipality:1480") == Reference("kommun", "1480")
    assert parse_reference("county:14") == Reference("lan", "14")
    assert parse_reference("nation") == Reference("riket")
    assert parse_reference("areas:1480C1010, 1480C1020") == Reference("areas", areas=("1480C1010", "1480C1020"))
    assert str(parse_reference("areas:a,b")) == "areas:a,b"
    for bad in ("kommun:14", "lan:1480", "city", "areas:"):
        with pytest.raises(ValueError):
            parse_reference(bad)


def test_default_denominator_rule():
    assert default_denominator("employment_20_64") == "population_20_64"
    assert default_denominator("unemployment_16_64") == "population_16_64"
    assert default_denominator("low_economic_standard") == "population"


# ---- store adapter on hand-made observations ---------------------------------------------------------------

def add_statistics(db, rows: list[tuple], areas: list[tuple] = ()) -> None:
    """rows: (code, division, indicator, year, value[, denominator]); areas: (code, division, level, name, parent)."""
    with db.session() as s:
        for code, division, level, name, parent in areas:
            s.add(Area(code=code, division=division, level=level, name=name, parent_code=parent,
                       kommun_code=code[:4]))
        for row in rows:
            code, division, indicator, year, value, *rest = row
            s.add(Observation(area_code=code, division=division, indicator=indicator, year=year, value=value,
                              denominator=rest[0] if rest else None, source="test SCB", unit="percent"))


EMP, POP = "employment_20_64", "population_20_64"
TOWN = [  # four DeSO in "1480": employment 2024 (%), population 20–64 2025
    ("1480C0010", "DeSO2025", EMP, 2024, 60.0), ("1480C0010", "DeSO2025", POP, 2025, 1000),
    ("1480C0020", "DeSO2025", EMP, 2024, 70.0), ("1480C0020", "DeSO2025", POP, 2025, 1000),
    ("1480C0030", "DeSO2025", EMP, 2024, 80.0), ("1480C0030", "DeSO2025", POP, 2025, 2000),
    ("1480C0040", "DeSO2025", EMP, 2024, 90.0), ("1480C0040", "DeSO2025", POP, 2025, 1000),
    ("1480C0010", "DeSO2025", EMP, 2023, 50.0),  # an older year: the latest is used by default
    ("0180C0010", "DeSO2025", EMP, 2024, 10.0), ("0180C0010", "DeSO2025", POP, 2025, 99),  # Stockholm
]


def test_store_gap_with_a_derived_municipal_reference(db):
    add_statistics(db, TOWN)
    with db.session() as s:
        r, details = repo.compute_gap(s, indicator="employment_20_64", division="DeSO2025",
                                      codes=["1480C0010", "1480C0020"], reference="kommun", label="Norr",
                                      as_of_year=2026)
    # area: (600 + 700) / 2000 = 65 %; Göteborg derived from its four DeSO: 3800 / 5000 = 76 %
    assert r.area.rate == pytest.approx(65.0) and r.area.denominator == 2000 and r.area.year == 2024
    assert r.area.denominator_year == 2025
    assert r.reference.rate == pytest.approx(76.0) and r.reference.derived and r.reference.n_areas == 4
    assert r.reference.label == "Göteborg"
    assert r.persons == pytest.approx(220.0)  # 11 pp × 2000
    assert any("derived, not published" in w for w in r.warnings)
    assert [a["area_code"] for a in details["areas"]] == ["1480C0010", "1480C0020"]
    assert details["denominator_indicator"] == "population_20_64"


def test_store_gap_prefers_a_published_reference_and_can_exclude_the_area(db):
    add_statistics(db, [*TOWN, ("1480", "kommun", "employment_20_64", 2024, 78.0),
                        ("1480", "kommun", "population_20_64", 2025, 5000)])
    with db.session() as s:
        r, _ = repo.compute_gap(s, indicator="employment_20_64", division="DeSO2025",
                                codes=["1480C0010", "1480C0020"], reference="kommun:1480")
        assert not r.reference.derived and r.reference.rate == 78.0
        assert r.persons == pytest.approx(260.0)  # 13 pp × 2000
        rest, _ = repo.compute_gap(s, indicator="employment_20_64", division="DeSO2025",
                                   codes=["1480C0010", "1480C0020"], reference="kommun", exclude_area=True)
        # rest of the town: (0.78·5000 − 0.65·2000) / 3000 = 86.667 %
        assert rest.reference.rate == pytest.approx(260 / 3)
        assert rest.persons == pytest.approx((260 / 3 - 65) * 20)
        other, _ = repo.compute_gap(s, indicator="employment_20_64", division="DeSO2025", codes=["1480C0010"],
                                    reference="areas:1480C0030,1480C0040", year=2024)
        assert other.reference.rate == pytest.approx((1600 + 900) / 3000 * 100)
        assert other.persons == pytest.approx((250 / 3 - 60) * 10)
        older, _ = repo.compute_gap(s, indicator="employment_20_64", division="DeSO2025", codes=["1480C0010"],
                                    reference="kommun", year=2023)
        assert older.area.rate == 50.0 and older.reference.year == 2024
        assert any("different years" in w for w in older.warnings)


def test_store_gap_errors(db):
    add_statistics(db, TOWN)
    with db.session() as s:
        with pytest.raises(NotFound):
            repo.compute_gap(s, indicator="employment_20_64", division="DeSO2025", codes=["1480C9999"])
        with pytest.raises(NotFound):
            repo.compute_gap(s, indicator="employment_20_64", division="DeSO2025", codes=["1480C0010"],
                             reference="lan:03")  # no area of län 03 in the store
        with pytest.raises(ValueError, match="several"):
            repo.compute_gap(s, indicator="employment_20_64", division="DeSO2025",
                             codes=["1480C0010", "0180C0010"])


def test_police_list_areas_are_measured_on_the_deso_mostly_inside_them(db):
    from handslag.store.models import PoliceArea, PoliceAreaOverlap

    add_statistics(db, TOWN)
    with db.session() as s:
        police = PoliceArea(edition=2023, panel_id=4, name="Norr", level="sarskilt_utsatt", source="test")
        s.add(police)
        s.flush()
        for code, share in (("1480C0010", 0.9), ("1480C0020", 0.5), ("1480C0030", 0.2)):
            s.add(PoliceAreaOverlap(police_area_id=police.id, area_code=code, division="DeSO2025",
                                    share_of_area=share, share_of_police_area=0.3))
        org = repo.create_organisation(s, {"name": "Bolaget", "type": "public_housing"}, actor="t")
        p = repo.create_partnership(s, {"name": "Polisområde", "period_start": "2023-01-01", "period_end": "2025-12-31",
                                        "areas": [{"code": "4", "division": "Police2023"}],
                                        "members": [{"organisation_id": org["id"]}]}, actor="t")
        assert repo.police_area_members(s, "norr", "Police2023") == [("1480C0010", "DeSO2025"),
                                                                      ("1480C0020", "DeSO2025")]
        r, _ = repo.compute_gap(s, indicator="employment_20_64", partnership_id=p["id"])
        assert r.area.area_codes == ("1480C0010", "1480C0020") and r.persons == pytest.approx(220.0)
        assert any("Police-list area 4 (Police2023) measured on the 2 DeSO/RegSO" in w for w in r.warnings)


# ---- real data: Bergsjön vs Göteborg ---------------------------------------------------------------------

BERGSJON_REGSO = {"1480R009", "1480R010", "1480R011", "1480R012", "1480R013"}  # RegSO 2025 "Bergsjön …"


def _independent_gap(shared_data) -> dict:
    """The same calculation straight from the raw files, without the store."""
    stats = pd.read_csv(shared_data / "stats" / "deso2025_1480_indikatorer_2024_2025.csv", dtype={"kommunkod": str})
    emp = stats[(stats["indicator"] == "employment") & (stats["year"] == 2024)].set_index("desokod")
    cards = json.loads((shared_data / "stats" / "deso2025_1480_fordelningar.json").read_text(encoding="utf-8"))
    pop = {code: sum(c["age"]["m"][4:13]) + sum(c["age"]["f"][4:13]) for code, c in cards["deso"].items()}
    emp = emp.assign(pop=emp.index.map(pop))
    berg = emp[emp["regsokod"].isin(BERGSJON_REGSO)]
    area_rate = (berg["value"] * berg["pop"]).sum() / berg["pop"].sum()
    city_rate = (emp["value"] * emp["pop"]).sum() / emp["pop"].sum()
    return {"codes": sorted(berg.index), "area_rate": area_rate, "city_rate": city_rate,
            "denominator": berg["pop"].sum(), "persons": (city_rate - area_rate) / 100 * berg["pop"].sum()}


@pytest.fixture(scope="module")
def real_db(shared_data, tmp_path_factory):
    from handslag.ingest import import_snapshot
    from handslag.store.db import Database

    # Only the files this test needs (Göteborg's DeSO 2025 statistics and boundaries, the Police list):
    # the importer skips absent files, and this is four times faster than the whole folder.
    tmp = tmp_path_factory.mktemp("real")
    snap = tmp / "snapshot"
    for rel in ("SOURCES.md", "stats/deso2025_1480_indikatorer_2024_2025.csv", "stats/deso2025_1480_fordelningar.json",
                "geometry/deso2025_goteborgsregionen_sweref99tm.gpkg",
                "geometry/regso2025_goteborgsregionen_sweref99tm.gpkg", "police_utsatta_omraden"):
        (snap / rel).parent.mkdir(parents=True, exist_ok=True)
        (snap / rel).symlink_to(shared_data / rel)
    db = Database(f"sqlite:///{tmp / 'real.sqlite'}")
    try:
        import_snapshot(db, snap)
    except Exception:  # noqa: BLE001 - an importer that needs more files: use the whole folder
        db.dispose()
        db = Database(f"sqlite:///{tmp / 'real_full.sqlite'}")
        import_snapshot(db, shared_data)
    yield db
    db.dispose()


@pytest.mark.realdata
def test_bergsjon_employment_gap_to_goteborg_on_real_data(real_db, shared_data):
    expected = _independent_gap(shared_data)
    with real_db.session() as s:
        areas = repo.areas_by_regso_name(s, "Bergsjön")
        assert [a["code"] for a in areas] == expected["codes"]
        assert len(areas) == 10
        r, details = repo.compute_gap(s, indicator="employment_20_64", division="DeSO2025",
                                      codes=[a["code"] for a in areas], reference="kommun", label="Bergsjön",
                                      as_of_year=2026)
    assert r.area.rate == pytest.approx(expected["area_rate"], abs=1e-9)
    assert r.reference.rate == pytest.approx(expected["city_rate"], abs=1e-9)
    assert r.area.denominator == expected["denominator"] == 11_423
    assert r.persons == pytest.approx(expected["persons"], abs=1e-6)
    # the numbers themselves: 65.446 % vs 77.720 % of 11,423 residents 20–64 → 1,402 more employed
    assert round(r.area.rate, 3) == 65.446 and round(r.reference.rate, 3) == 77.720
    assert r.persons_rounded == 1402
    assert r.reference.derived and r.reference.n_areas == 320
    assert r.lags["denominator_minus_rate_year"] == 1 and r.lags["area_rate_year"] == 2024
    assert r.headline() == "Bergsjön needs 1,402 more employed to reach the rate of Göteborg (77.7 %)"
    assert {a["den_year"] for a in details["areas"]} == {2025}


@pytest.mark.realdata
def test_demo_on_real_data_fills_the_statistic_goal(real_db):
    with real_db.session() as s:
        out = repo.create_demo(s)
        assert out["area_source"] == "store" and out["areas"] == 10
        progress = repo.goal_progress(s, out["goals"]["jobs"])
        assert [m["period"] for m in progress["measurements"]] == ["2024"]
        assert progress["measurements"][0]["actual"] == 0  # change since the 2024 baseline
        gap, _ = repo.compute_gap(s, indicator="employment_20_64", partnership_id=out["partnership_id"])
        assert gap.persons_rounded == 1402
        repo.delete_partnership(s, out["partnership_id"], actor="test")
