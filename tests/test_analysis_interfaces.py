"""Area types, transitions and segregation through the service, the CLI and the API (issue 3, item 5)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from handslag import analysis as an
from handslag.classify import V1_ID, V2_ID, V3_ID
from handslag.cli import app as cli_app
from handslag.reports import export_frame
from handslag.segregation import compute_indices
from handslag.store import areas_repo
from handslag.store.observations_repo import observations_frame, upsert_observations

GROUPS = ["foreign_born", "born_in_sweden"]
GBG_2022 = {"1": 15, "2": 19, "3": 19, "4": 73, "5": 21}


@pytest.fixture
def cli(monkeypatch):
    """Run ``handslag …`` against a database: ``cli(db, *args)`` → click Result."""
    runner = CliRunner()

    def run(db, *args: str):
        monkeypatch.setenv("HANDSLAG_DATABASE_URL", db.url)
        return runner.invoke(cli_app, list(args))

    return run


def _error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# --- official types, history, transitions (real data) -----------------------------------------------------


@pytest.mark.realdata
def test_goteborg_official_counts_2022_api_and_cli(loaded_client, loaded_db, cli):
    r = loaded_client.get("/api/v1/kommuner/1480/area-types", params={"year": 2022})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["counts"] == GBG_2022
    assert (body["kommun"], body["year"], body["source"], body["division"]) == ("1480", 2022, "official",
                                                                                 "RegSO2020")
    assert len(body["areas"]) == 147 and set(body["areas"][0]) == {"code", "name", "type"}
    bergsjon = next(a for a in body["areas"] if a["code"] == "1480R012")
    assert bergsjon["type"] == 1 and bergsjon["name"].startswith("Bergsjön")

    res = cli(loaded_db, "types", "--kommun", "1480", "--year", "2022", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["counts"] == GBG_2022
    res = cli(loaded_db, "types", "--kommun", "1480", "--year", "2023")
    assert res.exit_code == 0 and "typ 1: 14  typ 2: 21  typ 3: 21  typ 4: 71  typ 5: 20" in res.stdout


@pytest.mark.realdata
def test_type_history_and_transitions(loaded_client, loaded_db, cli):
    hist = loaded_client.get("/api/v1/areas/1480R012/type-history").json()
    assert [(h["year"], h["type"]) for h in hist] == [(2022, 1), (2023, 2)]
    assert set(hist[0]) == {"year", "type", "source", "division"} and hist[0]["division"] == "RegSO2020"
    assert loaded_client.get("/api/v1/areas/9999R999/type-history").status_code == 404

    body = loaded_client.get("/api/v1/kommuner/1480/transitions", params={"from": 2022, "to": 2023}).json()
    assert sum(sum(row.values()) for row in body["counts"].values()) == 147 == body["n_areas"]
    assert sum(m["count"] for m in body["matrix"]) == 147 and len(body["matrix"]) == 25
    assert body["counts"]["1"]["2"] == 3  # Bergsjön sydöstra among them
    assert body["n_changed"] == 147 - sum(body["counts"][k][k] for k in body["counts"])
    # the rows of the matrix are the 2022 counts
    assert {k: sum(v.values()) for k, v in body["counts"].items()} == GBG_2022

    res = cli(loaded_db, "types", "--kommun", "1480", "--from", "2022", "--to", "2023", "-f", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["counts"] == body["counts"]


@pytest.mark.realdata
def test_computed_types_missing_components_is_a_clear_error(loaded_client, loaded_db, cli):
    r = loaded_client.get("/api/v1/kommuner/1480/area-types", params={"year": 2023, "source": "computed"})
    assert r.status_code == 422
    assert "pre_upper_secondary_20_64" in r.json()["error"]["message"]
    r = loaded_client.get("/api/v1/kommuner/1480/area-types",
                          params={"year": 2024, "source": "computed", "level": "deso"})
    assert r.status_code == 422 and "pre_upper_secondary_20_64" in r.json()["error"]["message"]
    res = cli(loaded_db, "types", "--kommun", "1480", "--year", "2023", "--source", "computed")
    assert res.exit_code == 1
    assert "pre_upper_secondary_20_64" in _error_line(res)
    # unknown kommun / year without types
    assert loaded_client.get("/api/v1/kommuner/9999/area-types", params={"year": 2022}).status_code == 404
    r = loaded_client.get("/api/v1/kommuner/1480/area-types", params={"year": 2019})
    assert r.status_code == 422 and "2022, 2023" in r.json()["error"]["message"]
    res = cli(loaded_db, "types", "--kommun", "9999", "--year", "2022")
    assert res.exit_code == 1 and "9999" in _error_line(res)


# --- segregation on the store (real data) -----------------------------------------------------------------


@pytest.mark.realdata
def test_segregation_goteborg_equals_core(loaded_client, loaded_db, cli):
    with loaded_db.session() as session:
        obs = observations_frame(session, kommun="1480", division="RegSO2020", indicators=GROUPS, years=[2023])
    wide = obs.pivot(index="area_code", columns="indicator", values="value").reset_index()
    expected = compute_indices(wide, "area_code", GROUPS).iloc[0]

    r = loaded_client.get("/api/v1/kommuner/1480/segregation",
                          params={"year": 2023, "groups": ",".join(GROUPS), "n_boot": 19, "n_perm": 19})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n_units"] == 147 and body["population"] == pytest.approx(expected["population"])
    d = body["indices"]["dissimilarity"]
    assert set(d) == {"value", "ci_low", "ci_high", "p_value"}
    assert 0 < d["value"] < 1 and d["ci_low"] <= d["ci_high"] and 0 < d["p_value"] <= 1
    for name in ("dissimilarity", "theil_h", "isolation", "exposure", "segregation_vs_total",
                 "mutual_information"):
        assert body["indices"][name]["value"] == pytest.approx(expected[name], rel=1e-12)
    assert loaded_client.get("/api/v1/kommuner/1480/segregation",
                             params={"year": 2023, "n_boot": 5000}).status_code == 422
    r = loaded_client.get("/api/v1/kommuner/1480/segregation", params={"year": 2023, "groups": "foo,born_in_sweden"})
    assert r.status_code == 422 and "foo" in r.json()["error"]["message"]

    res = cli(loaded_db, "segregation", "--kommun", "1480", "--year", "2023", "--groups", ",".join(GROUPS),
              "--n-boot", "0", "--n-perm", "0", "--format", "json")
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)
    assert rec[0]["key"]["kommun"] == "1480"
    assert rec[0]["indices"]["dissimilarity"]["value"] == pytest.approx(expected["dissimilarity"], rel=1e-12)
    assert rec[0]["indices"]["dissimilarity"]["p_value"] is None


# --- segregation on an analyst's own file -----------------------------------------------------------------


def _own_file(tmp_path):
    # region A: x=(10, 0), y=(0, 10) -> D = 1; region B: x=(10, 10), y=(0, 10) -> D = ½(|½-0| + |½-1|) = 0.5
    frame = pd.DataFrame({"omrade": ["a1", "a2", "b1", "b2"], "region": ["A", "A", "B", "B"],
                          "x": [10, 0, 10, 10], "y": [0, 10, 0, 10]})
    path = tmp_path / "own.csv"
    frame.to_csv(path, index=False)
    return path


def test_segregation_input_file_hand_computed(tmp_path, cli, sqlite_db):
    path = _own_file(tmp_path)
    res = cli(sqlite_db, "segregation", "--input", str(path), "--unit", "omrade", "--groups", "x,y",
              "--by", "region", "--n-boot", "0", "--n-perm", "0", "-f", "json")
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)
    assert [r["key"] for r in rec] == [{"region": "A"}, {"region": "B"}]
    assert rec[0]["indices"]["dissimilarity"]["value"] == pytest.approx(1.0)
    assert rec[1]["indices"]["dissimilarity"]["value"] == pytest.approx(0.5)
    assert rec[1]["population"] == 30 and rec[1]["n_units"] == 2

    # with inference, and the table output
    res = cli(sqlite_db, "segregation", "--input", str(path), "--unit", "omrade", "--groups", "x,y",
              "--by", "region", "--n-boot", "19", "--n-perm", "19", "-f", "csv")
    assert res.exit_code == 0, res.output
    out = pd.read_csv(pd.io.common.StringIO(res.stdout))
    assert list(out["region"]) == ["A", "B"] and "dissimilarity_p_value" in out.columns
    assert out["dissimilarity"].tolist() == pytest.approx([1.0, 0.5])
    res = cli(sqlite_db, "segregation", "--input", str(path), "--unit", "omrade", "--groups", "x,y")
    assert res.exit_code == 0 and "dissimilarity" in res.stdout


@pytest.mark.parametrize(("args", "fragment"), [
    (["--input", "nope.csv", "--unit", "omrade", "--groups", "x,y"], "no such file"),
    (["--input", "{f}", "--unit", "omrade", "--groups", "x,z"], "unknown column(s) z"),
    (["--input", "{f}", "--unit", "omrade", "--groups", "x,y", "--by", "kommun"], "unknown column(s) kommun"),
    (["--input", "{bad}", "--unit", "omrade", "--groups", "x,y"], "column y must hold numbers; row 3"),
    (["--input", "{f}", "--groups", "x,y"], "--unit"),
    (["--input", "{f}", "--unit", "omrade", "--groups", "x"], "at least two groups"),
    (["--kommun", "9999", "--year", "2023"], "unknown kommun"),
])
def test_segregation_bad_input_is_one_line(tmp_path, cli, sqlite_db, args, fragment):
    good = _own_file(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("omrade,x,y\na1,10,0\na2,0,tio\n", encoding="utf-8")
    args = [a.format(f=good, bad=bad) for a in args]
    res = cli(sqlite_db, "segregation", *args)
    assert res.exit_code == 1, res.output
    assert fragment in _error_line(res)


# --- computed types with components in the store ----------------------------------------------------------


def _insert_components(db) -> None:
    """Three RegSO areas in 0114 with SEI 10, 20, 30 → μ = 20, σ = 10, z = −1, 0, 1 → types 4, 3, 2."""
    components = {"0114R901": (5, 10, 15), "0114R902": (20, 20, 20), "0114R903": (30, 25, 35)}
    with db.session() as session:
        areas_repo.ensure_regions(session)
        areas_repo.upsert_areas(session, pd.DataFrame({
            "code": list(components), "division": "RegSO2020", "level": "regso",
            "name": ["Norra", "Mitten", "Södra"], "parent_code": "0114", "parent_division": "kommun",
            "kommun_code": "0114", "lan_code": "01"}))
        rows = [{"area_code": code, "division": "RegSO2020", "indicator": ind, "year": 2023, "value": float(v),
                 "unit": "percent", "source": "test"}
                for code, vals in components.items()
                for ind, v in zip((V1_ID, V2_ID, V3_ID), vals, strict=True)]
        upsert_observations(session, pd.DataFrame(rows))


def test_computed_types_from_inserted_components(db, cli):
    _insert_components(db)
    with db.session() as session:
        types = an.area_types_for(session, "0114", 2023, source="computed")
    assert types["type"].tolist() == [4, 3, 2]
    assert types["z"].tolist() == pytest.approx([-1.0, 0.0, 1.0])
    assert types.attrs["mean"] == pytest.approx(20.0) and types.attrs["sd"] == pytest.approx(10.0)

    from fastapi.testclient import TestClient

    from handslag.config import get_settings
    from handslag.web.app import create_app

    with TestClient(create_app(db=db, settings=get_settings())) as client:
        body = client.get("/api/v1/kommuner/0114/area-types", params={"year": 2023, "source": "computed"}).json()
    assert body["counts"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 0}
    assert [(a["code"], a["type"], a["sei"]) for a in body["areas"]] == [
        ("0114R901", 4, pytest.approx(10.0)), ("0114R902", 3, pytest.approx(20.0)),
        ("0114R903", 2, pytest.approx(30.0))]
    assert body["source"] == "computed" and body["division"] == "RegSO2020"

    res = cli(db, "types", "--kommun", "0114", "--year", "2023", "--source", "computed", "-f", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["counts"] == body["counts"]
    # another year has no components: a clear error, not a crash
    res = cli(db, "types", "--kommun", "0114", "--year", "2022", "--source", "computed")
    assert res.exit_code == 1 and "low_economic_standard" in _error_line(res)


# --- export -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".parquet"])
def test_export_round_trip(tmp_path, suffix):
    frame = pd.DataFrame({"code": ["0114R001", "1480R012"], "name": ["Upplands Väsby", "Bergsjön"],
                          "type": pd.array([1, None], dtype="Int64"), "value": [0.25, np.nan]})
    frame.attrs["kommun"] = "1480"
    path = export_frame(frame, tmp_path / f"out{suffix}")
    back = {".xlsx": pd.read_excel, ".csv": pd.read_csv, ".parquet": pd.read_parquet}[suffix](path)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    with pytest.raises(ValueError, match="suffix"):
        export_frame(frame, tmp_path / "out.txt")


@pytest.mark.realdata
@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".parquet"])
def test_cli_output_files(loaded_db, cli, tmp_path, suffix):
    path = tmp_path / f"types{suffix}"
    res = cli(loaded_db, "types", "--kommun", "1480", "--year", "2022", "--output", str(path))
    assert res.exit_code == 0, res.output
    back = {".xlsx": pd.read_excel, ".csv": pd.read_csv, ".parquet": pd.read_parquet}[suffix](path)
    with loaded_db.session() as session:
        expected = an.area_types_for(session, "1480", 2022)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert back["type"].value_counts().sort_index().tolist() == list(GBG_2022.values())

    seg = tmp_path / f"seg{suffix}"
    res = cli(loaded_db, "segregation", "--kommun", "1480", "--year", "2023", "--n-boot", "9", "--n-perm", "9",
              "--output", str(seg))
    assert res.exit_code == 0, res.output
    back = {".xlsx": pd.read_excel, ".csv": pd.read_csv, ".parquet": pd.read_parquet}[suffix](seg)
    assert len(back) == 1 and 0 < back["dissimilarity"].iloc[0] < 1 and "dissimilarity_ci_low" in back.columns


def test_computed_types_report_agreement_with_official(db):
    """With both computed and official types for the same areas and year, the confusion matrix is reported."""
    _insert_components(db)  # computed types 4, 3, 2 for 0114R901..903 in 2023
    with db.session() as session:
        upsert_observations(session, pd.DataFrame([
            {"area_code": code, "division": "RegSO2020", "indicator": "area_type", "year": 2023, "value": t,
             "unit": "type", "source": "SCB IntGr5Socio (official)"}
            for code, t in (("0114R901", 4), ("0114R902", 2), ("0114R903", 2))]))
        types = an.area_types_for(session, "0114", 2023, source="computed")
    agree = an.area_types_payload(types)["agreement_with_official"]
    assert agree["n"] == 3 and agree["share_equal"] == pytest.approx(2 / 3)
    assert agree["confusion"]["3"]["2"] == 1 and agree["confusion"]["4"]["4"] == 1 and agree["confusion"]["2"]["2"] == 1
    # Cohen's kappa by hand: p_o = 2/3; computed margins (0,1,1,1,0)/3, official (0,2,0,1,0)/3
    # p_e = (1*2 + 1*0 + 1*1)/9 = 1/3 → kappa = (2/3 - 1/3) / (1 - 1/3) = 0.5
    assert agree["kappa"] == pytest.approx(0.5)


@pytest.mark.realdata
def test_segregation_adds_income_gini_and_share_in_types_1_2(loaded_db):
    from handslag.store.observations_repo import observations_frame

    with loaded_db.session() as session:
        res = an.segregation_for(session, "1480", 2023, ["foreign_born", "born_in_sweden"])
        obs = observations_frame(session, kommun="1480", division="RegSO2020", years=[2023],
                                 indicators=["population", "mean_wage_income", "area_type"])
    wide = obs.pivot_table(index="area_code", columns="indicator", values="value")
    pop, inc, typ = wide["population"].to_numpy(), wide["mean_wage_income"].to_numpy(), wide["area_type"].to_numpy()
    share = pop[typ <= 2].sum() / pop.sum()
    # G = Σ_i Σ_j t_i t_j |y_i − y_j| / (2 T² ȳ), ȳ the population-weighted mean
    mean = (pop * inc).sum() / pop.sum()
    gini = (pop[:, None] * pop[None, :] * np.abs(inc[:, None] - inc[None, :])).sum() / (2 * pop.sum() ** 2 * mean)
    row = res.iloc[0]
    assert row["share_types_1_2"] == pytest.approx(share, abs=1e-12)
    assert row["gini"] == pytest.approx(gini, abs=1e-12)
    assert res.attrs["gini_of"] == "mean_wage_income" and res.attrs["types_from"] == "area_type"
    assert 0.2 < share < 0.25  # 35 of Göteborg's 147 RegSO (14 + 21) were types 1–2 in 2023


def test_computed_types_carry_distance_to_thresholds(db):
    """0114R902 has SEI 20 = μ (type 3). Up to type 2 needs SEI 30 = μ + σ: 10 points = 10 × 3 / 100 × 1,000
    = 300 more residents with low economic standard (denominators fixed); down to type 4 needs SEI < 20:
    one person fewer."""
    _insert_components(db)
    with db.session() as session:
        upsert_observations(session, pd.DataFrame([{
            "area_code": "0114R902", "division": "RegSO2020", "indicator": V1_ID, "year": 2023, "value": 20.0,
            "numerator": 200.0, "denominator": 1000.0, "unit": "percent", "source": "test"}]))
        types = an.area_types_for(session, "0114", 2023, source="computed")
    payload = an.area_types_payload(types)
    mid = next(a for a in payload["areas"] if a["code"] == "0114R902")
    assert mid["type"] == 3
    assert mid["distance"]["points_up"] == pytest.approx(10.0)
    assert mid["distance"]["persons_up_v1"] == 300
    assert mid["distance"]["persons_down_v1"] == 1
