"""Property register → DeSO/RegSO by point-in-polygon, on the real DeSO 2025 polygons of Göteborgsregionen."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Transformer
from sqlalchemy import func, select

from handslag.errors import ValidationFailed
from handslag.operations import assign_points_to_areas, read_properties
from handslag.store import operations_repo as repo
from handslag.store.models import Area
from handslag.store.models.operations import Property

pytestmark = pytest.mark.realdata
REGSOS = ["1480R072", "1480R002"]


@pytest.fixture(scope="module")
def geometry(shared_data):
    deso = gpd.read_file(shared_data / "geometry" / "deso2025_goteborgsregionen_sweref99tm.gpkg")
    regso = gpd.read_file(shared_data / "geometry" / "regso2025_goteborgsregionen_sweref99tm.gpkg")
    return deso, regso


@pytest.fixture(scope="module")
def areas(geometry) -> gpd.GeoDataFrame:
    deso, regso = geometry
    frame = pd.concat([
        pd.DataFrame({"code": deso["desokod"], "division": "DeSO2025", "level": "deso", "geometry": deso.geometry}),
        pd.DataFrame({"code": regso["regsokod"], "division": "RegSO2025", "level": "regso",
                      "geometry": regso.geometry})], ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=deso.crs)


def test_every_deso_point_lands_in_its_own_deso_and_regso(geometry, areas):
    deso, _ = geometry
    got = deso[deso["kommunkod"] == "1480"]
    points = got.geometry.representative_point()
    placed = assign_points_to_areas(points.x.to_numpy(), points.y.to_numpy(), areas)
    assert len(placed) == 320
    assert (placed["deso_code"].to_numpy() == got["desokod"].to_numpy()).all()
    assert (placed["regso_code"].to_numpy() == got["regsokod"].to_numpy()).all()
    assert set(placed["deso_division"]) == {"DeSO2025"}


def test_point_on_a_shared_boundary_goes_to_the_smaller_code(geometry, areas):
    deso, _ = geometry
    a = deso[deso["desokod"] == "1480C1622"].geometry.iloc[0]
    neighbours = deso[deso.geometry.touches(a)]
    b = neighbours.iloc[0]
    shared = a.intersection(b.geometry)
    point = shared.interpolate(0.5, normalized=True) if shared.length > 0 else shared.representative_point()
    placed = assign_points_to_areas([point.x], [point.y], areas, levels=["deso"])
    assert placed["deso_code"].iloc[0] == min("1480C1622", b["desokod"])


def test_register_in_sweref_and_wgs84(tmp_path, geometry, areas):
    deso, _ = geometry
    sample = deso[deso["desokod"].isin(["1480C1622", "1480C2020", "1481C1070"])].sort_values("desokod")
    pts = sample.geometry.representative_point()
    sweref = pd.DataFrame({"fastighet": ["F1", "F2", "F3"], "adress": ["A 1", "B 2", "C 3"],
                           "x": pts.x.round(2), "y": pts.y.round(2), "lagenheter": [120, 40, ""],
                           "agare": "Familjebostäder"})
    path = tmp_path / "register.csv"
    sweref.to_csv(path, index=False, sep=";")
    parsed = read_properties(path, areas=areas)
    assert parsed.frame["deso_code"].tolist() == sample["desokod"].tolist()
    assert parsed.frame["regso_code"].tolist() == sample["regsokod"].tolist()
    assert parsed.frame["flats"].tolist()[:2] == [120, 40] and pd.isna(parsed.frame["flats"].iloc[2])
    lon, lat = Transformer.from_crs(3006, 4326, always_xy=True).transform(pts.x.to_numpy(), pts.y.to_numpy())
    wgs = pd.DataFrame({"property_id": ["F1", "F2", "F3"], "lon": lon.round(7), "lat": lat.round(7)})
    xlsx = tmp_path / "register.xlsx"
    wgs.to_excel(xlsx, index=False)
    parsed = read_properties(xlsx, areas=areas)
    assert parsed.frame["deso_code"].tolist() == sample["desokod"].tolist()
    assert parsed.frame["x_sweref"].to_numpy() == pytest.approx(pts.x.to_numpy(), abs=0.05)


def test_register_problems_and_unassigned_rows(tmp_path, areas):
    path = tmp_path / "register.csv"
    path.write_text("property_id,x,y,flats\n"
                    "P1,320000,6400000,10\n"  # Göteborg
                    "P2,674000,6580000,10\n"  # Stockholm: in Sweden, outside the loaded polygons
                    "P3,900000,5000000,10\n"  # outside Sweden
                    "P1,320000,6400000,x\n"  # duplicate id, bad flats
                    "P5,,,3\n")  # no coordinates
    with pytest.raises(ValidationFailed) as info:
        read_properties(path, areas=areas)
    got = {(p.row, p.column): p.reason for p in info.value.problems}
    assert got[(4, "x")].startswith("coordinates outside Sweden")
    assert got[(5, "property_id")] == "duplicate property id (first in row 2)"
    assert got[(5, "flats")] == "number of flats must be a whole number ≥ 0"
    assert got[(6, "x")] == "coordinates are missing"
    path.write_text("property_id,x,y\nP1,320000,6400000\nP2,674000,6580000\n")
    with pytest.raises(ValidationFailed) as info:
        read_properties(path, areas=areas)
    assert [(p.row, p.column) for p in info.value.problems] == [(3, "x")]
    assert info.value.problems[0].reason.startswith("not inside any deso of the loaded areas (18.")
    parsed = read_properties(path, areas=areas, allow_unassigned=True)
    assert parsed.unassigned["property_ref"].tolist() == ["P2"]
    assert parsed.frame["deso_code"].tolist()[0].startswith("1480")


def add_areas(db, geometry) -> None:
    deso, regso = geometry
    with db.session() as s:
        for r in deso[deso["regsokod"].isin(REGSOS)].itertuples():
            s.add(Area(code=r.desokod, division="DeSO2025", level="deso", parent_code=r.regsokod,
                       parent_division="RegSO2025", kommun_code="1480", geometry_sweref=r.geometry.wkb))
        for r in regso[regso["regsokod"].isin(REGSOS)].itertuples():
            s.add(Area(code=r.regsokod, division="RegSO2025", level="regso", name=r.regsonamn, kommun_code="1480",
                       geometry_sweref=r.geometry.wkb))


def test_store_import_update_and_api(db, api_client, tmp_path, geometry):
    deso, _ = geometry
    add_areas(db, geometry)
    sub = deso[deso["regsokod"] == "1480R072"].sort_values("desokod")
    pts = sub.geometry.representative_point()
    frame = pd.DataFrame({"property_id": [f"FB-{i}" for i in range(len(sub))], "x": pts.x.round(1).to_numpy(),
                          "y": pts.y.round(1).to_numpy(), "flats": 100, "owner": "Familjebostäder"})
    path = tmp_path / "register.csv"
    frame.to_csv(path, index=False)
    report = repo.import_properties(db, path, user="anna")
    assert report.counts["inserted"] == len(sub) and report.counts["assigned"] == len(sub)
    frame.loc[0, "flats"] = 150
    frame.to_csv(path, index=False)
    report = repo.import_properties(db, path)
    assert (report.counts["inserted"], report.counts["updated"]) == (0, len(sub))
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Property)) == len(sub)
        listed = repo.list_properties(s, area_code="1480R072")
        assert repo.flats_in_area(s, repo.get_area(s, "1480R072")) == 100 * len(sub) + 50
        polygons = repo.areas_geodataframe(s)
    assert listed["deso_code"].tolist() == sub["desokod"].tolist()
    assert set(polygons["level"]) == {"deso", "regso"} and polygons.crs.to_epsg() == 3006
    r = api_client.get("/api/v1/properties", params={"area": sub["desokod"].iloc[0]})
    assert r.status_code == 200 and r.json()["total"] == 1
    bad = "property_id,lon,lat\nX1,2.35,48.86\n"
    r = api_client.post("/api/v1/properties/import", files={"file": ("reg.csv", bad, "text/csv")})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["reason"] == "coordinates outside Sweden (2.3500 °E, 48.8600 °N)"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Property)) == len(sub)


def test_cli_properties(sqlite_db, tmp_path, geometry):
    from typer.testing import CliRunner

    from handslag.cli import app

    add_areas(sqlite_db, geometry)
    path = tmp_path / "reg.csv"
    path.write_text("property_id,x,y,flats\nP1,320000,6400000,10\nP2,674000,6580000,5\n")
    runner = CliRunner()
    r = runner.invoke(app, ["properties", "import", str(path), "--database-url", sqlite_db.url])
    assert r.exit_code == 2 and "reg.csv, row 2, column x: not inside any deso" in r.stderr
    r = runner.invoke(app, ["properties", "import", str(path), "--allow-unassigned", "--database-url",
                            sqlite_db.url])
    assert r.exit_code == 0, r.output
    assert "unassigned: 2" in r.stdout and "note: 2 properties lie outside every loaded area" in r.stdout
