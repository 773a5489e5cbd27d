"""Surveys in the store (SQLite and PostgreSQL): imports are all or nothing, idempotent, never keep
respondent ids or free text; results per wave and area; the API and the CLI."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select, text

from handslag.errors import Conflict, ValidationFailed
from handslag.store import surveys_repo as repo
from handslag.store.models import Area, ImportLog
from handslag.store.models.surveys import SurveyAggregate, SurveyAnswer, SurveyRespondent, SurveyWave
from handslag.surveys import instrument_from_records

INSTRUMENT = instrument_from_records("trygghet", [
    {"question_id": "q1", "scale_min": 1, "scale_max": 4, "index": "trygghet", "dont_know": "9"},
    {"question_id": "q2", "scale_min": 1, "scale_max": 4, "index": "trygghet", "direction": "down"},
    {"question_id": "q3", "scale_min": 1, "scale_max": 5, "index": "service"},
    {"question_id": "fritext", "type": "text"},
])
REGSO, DESO_A, DESO_B = "1480R001", "1480C1010", "1480C1020"


def add_areas(db) -> None:
    with db.session() as s:
        s.add_all([Area(code=REGSO, division="RegSO2025", level="regso", name="Bergsjön"),
                   Area(code=DESO_A, division="DeSO2025", level="deso", parent_code=REGSO, parent_division="RegSO2025"),
                   Area(code=DESO_B, division="DeSO2025", level="deso", parent_code=REGSO, parent_division="RegSO2025"),
                   Area(code=DESO_A, division="DeSO2018", level="deso")])
        repo.save_instrument(s, INSTRUMENT)


def long_file(path, n_a: int = 30, n_b: int = 8, seed: int = 0, prefix: str = "r"):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_a + n_b):
        area = DESO_A if i < n_a else DESO_B
        for q in ("q1", "q2", "q3"):
            rows.append((f"{prefix}{i}", area, q, int(rng.integers(1, 5))))
        rows.append((f"{prefix}{i}", area, "fritext", f"hemligt {i}"))
    pd.DataFrame(rows, columns=["respondent_id", "area_code", "question_id", "answer"]).to_csv(path, index=False)
    return path


def counts(db) -> tuple[int, int, int]:
    with db.session() as s:
        return (s.scalar(select(func.count()).select_from(SurveyRespondent)),
                s.scalar(select(func.count()).select_from(SurveyAnswer)),
                s.scalar(select(func.count()).select_from(SurveyWave)))


def test_import_results_and_idempotency(db, tmp_path):
    add_areas(db)
    path = long_file(tmp_path / "svar.csv")
    report = repo.import_survey_file(db, path, wave="Bergsjön 2024", user="anna",
                                     new_wave=repo.NewWave("trygghet", date(2024, 10, 1), sample_size=100))
    assert report.status == "ok"
    assert report.counts["respondents"] == 38 and report.counts["answers"] == 114
    assert report.counts["divisions"] == ["DeSO2025"]  # the newest division of 1480C1010
    assert counts(db) == (38, 114, 1)
    again = repo.import_survey_file(db, path, wave="Bergsjön 2024")
    assert again.status == "unchanged" and again.import_id == report.import_id
    assert counts(db) == (38, 114, 1)
    with db.session() as s:
        # neither respondent ids nor free text are stored anywhere
        keys = s.scalars(select(SurveyRespondent.respondent_key)).all()
        assert not any(k.startswith("r") for k in keys) and all(len(k) == 32 for k in keys)
        dump = " ".join(str(v) for row in s.execute(text("SELECT * FROM survey_answers")).all() for v in row)
        assert "hemligt" not in dump
        res = repo.wave_results(s, "Bergsjön 2024", n_boot=200)
        info = repo.wave_info(s, "Bergsjön 2024")
        log = s.scalar(select(ImportLog).where(ImportLog.id == report.import_id))
        assert (log.status, log.user, log.kind) == ("ok", "anna", "survey_responses")
    a = res[res["area_code"] == DESO_A]
    b = res[res["area_code"] == DESO_B]
    assert not a["suppressed"].any() and b["suppressed"].all() and b["value"].isna().all()
    assert info["respondents"] == 38 and info["response_rate"] == 38.0
    by_area = {x["area_code"]: x for x in info["areas"]}
    assert by_area[DESO_A]["respondents"] == 30
    assert by_area[DESO_B]["respondents"] is None and by_area[DESO_B]["suppressed"]


def test_results_match_the_pure_core(db, tmp_path):
    add_areas(db)
    path = long_file(tmp_path / "svar.csv", n_a=40, n_b=0)
    repo.import_survey_file(db, path, wave="W", new_wave=repo.NewWave("trygghet", date(2024, 1, 1)))
    raw = pd.read_csv(path)
    q1 = raw[raw["question_id"] == "q1"]["answer"].astype(int)
    with db.session() as s:
        res = repo.wave_results(s, "W", methods=["share_positive"], n_boot=100)
    row = res[(res["item"] == "q1") & (res["method"] == "share_positive")].iloc[0]
    assert row["n"] == 40 and row["value"] == pytest.approx(100 * (q1 >= 3).mean())


def test_failed_import_leaves_nothing_but_a_log_row(db, tmp_path):
    add_areas(db)
    with db.session() as s:
        repo.create_wave(s, instrument="trygghet", name="W", fielded_on=date(2024, 1, 1))
    good = long_file(tmp_path / "svar.csv")
    frame = pd.read_csv(good)
    frame.loc[5, "answer"] = "7"
    frame.loc[9, "area_code"] = "0000C0000"
    bad = tmp_path / "fel.csv"
    frame.to_csv(bad, index=False)
    with pytest.raises(ValidationFailed) as info:
        repo.import_survey_file(db, bad, wave="W")
    got = {(p.row, p.column) for p in info.value.problems}
    assert (7, "answer") in got and (11, "area_code") in got
    assert counts(db) == (0, 0, 1)
    with db.session() as s:
        logs = s.scalars(select(ImportLog)).all()
    assert [(log.status, log.kind) for log in logs] == [("failed", "survey_responses")]
    assert "nothing was written" in logs[0].message


def test_duplicate_respondents_across_files_and_wrong_kind(db, tmp_path):
    add_areas(db)
    repo.import_survey_file(db, long_file(tmp_path / "a.csv"), wave="W",
                            new_wave=repo.NewWave("trygghet", date(2024, 1, 1)))
    second = long_file(tmp_path / "b.csv", n_a=3, n_b=0, seed=2)  # same ids r0–r2
    with pytest.raises(ValidationFailed) as info:
        repo.import_survey_file(db, second, wave="W")
    assert info.value.problems[0].reason == "duplicate respondent id: already imported into wave 'W'"
    assert info.value.problems[0].row == 2
    agg = tmp_path / "agg.csv"
    agg.write_text("area_code,question_id,share_positive,n\n1480C1010,q1,50,20\n")
    with pytest.raises(ValidationFailed, match="rejected"):
        repo.import_survey_file(db, agg, wave="W")
    assert counts(db)[0] == 38


def test_aggregated_wave_results_and_comparison(db, tmp_path):
    add_areas(db)
    agg = tmp_path / "agg.csv"
    agg.write_text("area_code,question_id,share_positive,n\n"
                   f"{DESO_A},q1,60,80\n{DESO_A},q2,40,80\n{DESO_B},q1,50,20\n{DESO_B},q2,50,20\n")
    repo.import_survey_file(db, agg, wave="2023", new_wave=repo.NewWave("trygghet", date(2023, 10, 1)))
    later = tmp_path / "agg2.csv"
    later.write_text("area_code,question_id,share_positive,n_positive,n\n"
                     f"{DESO_A},q1,80,56,70\n{DESO_A},q2,50,35,70\n")
    repo.import_survey_file(db, later, wave="2024", new_wave=repo.NewWave("trygghet", date(2024, 10, 1)))
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SurveyAggregate)) == 6
        res = repo.wave_results(s, "2023", area_code=REGSO)  # pooled over the RegSO's DeSO
        diff = repo.compare_wave_results(s, "2023", "2024", area_code=DESO_A)
        overview = repo.area_survey_overview(s, REGSO, include_questions=False)
    q1 = res[(res["item"] == "q1")].iloc[0]
    assert q1["area_code"] == REGSO and q1["n"] == 100 and q1["value"] == pytest.approx(58.0)
    row = diff[(diff["item"] == "q1")].iloc[0]
    from handslag.surveys import newcombe_interval

    _, lo, hi = newcombe_interval(0.8, 70, 0.6, 80)
    assert row["difference"] == pytest.approx(20.0)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((100 * float(lo), 100 * float(hi)))
    assert [w["name"] for w in overview["waves"]] == ["2023", "2024"]
    assert overview["waves"][0]["area_respondents"] == 100
    assert {c["item"] for c in overview["changes"]} == {"trygghet"}


def test_weights_from_a_population_table(db, tmp_path):
    add_areas(db)
    rows = []
    for i in range(20):
        sex = "f" if i < 15 else "m"
        for q, v in (("q1", 4 if sex == "f" else 1), ("q2", 1), ("q3", 3)):
            rows.append((f"p{i}", DESO_A, q, v, sex, "20-64"))
    path = tmp_path / "svar.csv"
    pd.DataFrame(rows, columns=["respondent_id", "area_code", "question_id", "answer", "sex", "age_group"]).to_csv(
        path, index=False)
    pop = tmp_path / "pop.csv"
    pop.write_text(f"area_code,sex,age_group,population\n{DESO_A},f,20-64,500\n{DESO_A},m,20-64,500\n")
    report = repo.import_survey_file(db, path, wave="W", population=pop,
                                     new_wave=repo.NewWave("trygghet", date(2024, 1, 1)))
    assert report.counts["weighted"]
    with db.session() as s:
        res = repo.wave_results(s, "W", methods=["share_positive"], n_boot=100)
    row = res[res["item"] == "q1"].iloc[0]
    # women are 75 % of respondents but 50 % of the population: weighted share positive = 50 %
    assert row["value"] == pytest.approx(50.0) and row["weighted"]
    w_f, w_m = 0.5 / 0.75, 0.5 / 0.25
    assert row["n_effective"] == pytest.approx(20 ** 2 / (15 * w_f ** 2 + 5 * w_m ** 2))


def test_instrument_cannot_change_once_it_has_data(db, tmp_path):
    add_areas(db)
    repo.import_survey_file(db, long_file(tmp_path / "a.csv"), wave="W",
                            new_wave=repo.NewWave("trygghet", date(2024, 1, 1)))
    with db.session() as s, pytest.raises(Conflict):
        repo.save_instrument(s, INSTRUMENT, replace=True)


# --- API --------------------------------------------------------------------------------------------------

def test_api_survey_flow(api_client, db, tmp_path):
    add_areas(db)
    body = {"name": "ntu", "questions": [
        {"question_id": "otrygg", "scale_min": 1, "scale_max": 4, "direction": "down", "index": ["otrygghet"],
         "dont_know": [9]}, {"question_id": "kommentar", "type": "text", "scale_min": None, "scale_max": None}]}
    r = api_client.post("/api/v1/surveys/instruments", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["indices"] == {"otrygghet": ["otrygg"]}
    r = api_client.post("/api/v1/surveys/waves", json={"instrument": "ntu", "name": "NTU 2024", "fielded_on": "2024-03-01",
                                                   "sample_size": 50, "areas": {DESO_A: 40}})
    assert r.status_code == 201, r.text
    csv = "respondent_id,area_code,otrygg,kommentar\n" + "".join(
        f"x{i},{DESO_A},{1 + i % 4},text {i}\n" for i in range(12))
    r = api_client.post("/api/v1/surveys/waves/NTU 2024/import", files={"file": ("ntu.csv", csv, "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["respondents"] == 12
    r = api_client.get(f"/api/v1/areas/{DESO_A}/surveys", params={"method": "share_positive"})
    assert r.status_code == 200
    data = r.json()
    assert data["area"]["division"] == "DeSO2025" and data["min_group_size"] == 10
    wave = data["waves"][0]
    assert wave["area_sample_size"] == 40 and wave["area_response_rate"] == 30.0
    row = next(x for x in wave["results"] if x["item"] == "otrygg")
    assert row["n"] == 12 and row["value"] == pytest.approx(50.0) and row["ci_method"] == "wilson"
    for secret in ("respondent_key", "respondent_id", "text 1", '"x1"'):
        assert secret not in r.text
    # a higher threshold may be asked for, a lower one is ignored
    r = api_client.get(f"/api/v1/areas/{DESO_A}/surveys", params={"min_group": 20})
    assert all(x["suppressed"] for x in r.json()["waves"][0]["results"])
    r = api_client.get(f"/api/v1/areas/{DESO_A}/surveys", params={"min_group": 5})
    assert r.json()["min_group_size"] == 10
    assert api_client.get(f"/api/v1/areas/{DESO_A}/surveys", params={"min_group": 4}).status_code == 422
    r = api_client.get(f"/api/v1/areas/{DESO_A}/surveys", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(r.content.decode("utf-8-sig")))
    assert {"wave", "item", "method", "value", "ci_low", "ci_high", "suppressed"} <= set(table.columns)
    r = api_client.get("/api/v1/surveys/waves/NTU 2024/results", params={"format": "xlsx"})
    assert r.status_code == 200
    assert len(pd.read_excel(io.BytesIO(r.content))) > 0


def test_api_errors(api_client, db):
    add_areas(db)
    assert api_client.get("/api/v1/areas/0000C0000/surveys").status_code == 404
    assert api_client.get("/api/v1/surveys/waves/nope").json()["error"]["code"] == "not_found"
    api_client.post("/api/v1/surveys/waves", json={"instrument": "trygghet", "name": "W", "fielded_on": "2024-01-01"})
    bad = "respondent_id,area_code,question_id,answer\nr1,1480C1010,q1,8\n"
    r = api_client.post("/api/v1/surveys/waves/W/import", files={"file": ("fel.csv", bad, "text/csv")})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_failed"
    assert err["details"][0] == {"file": "fel.csv", "row": 2, "column": "answer", "sheet": None,
                                 "reason": "answer 8 is outside the scale 1–4; don't know: 9 of question q1"}
    r = api_client.post("/api/v1/surveys/waves/W/import", files={"file": ("x.pdf", b"%PDF", "application/pdf")})
    assert r.status_code == 400
    r = api_client.post("/api/v1/surveys/waves/W/import", files={"file": ("x.xlsx", b"not a zip", "application/zip")})
    assert r.status_code == 400
    r = api_client.post("/api/v1/surveys/waves", json={"instrument": "trygghet", "name": "W", "fielded_on": "2024-01-01"})
    assert r.status_code == 409


# --- CLI --------------------------------------------------------------------------------------------------

def test_cli_survey_commands(sqlite_db, tmp_path):
    from typer.testing import CliRunner

    from handslag.cli import app

    add_areas(sqlite_db)
    url = sqlite_db.url
    runner = CliRunner()
    inst = tmp_path / "aktivbo.csv"
    inst.write_text("question_id,scale_min,scale_max,index\nservice1,1,4,service\nservice2,1,4,service\n")
    r = runner.invoke(app, ["survey", "instrument", str(inst), "--database-url", url])
    assert r.exit_code == 0, r.output
    assert "instrument aktivbo: 2 questions; indices: service (2)" in r.output
    wide = tmp_path / "svar.csv"
    wide.write_text("respondent_id,area_code,service1,service2\n" + "".join(
        f"{i},{DESO_A},{1 + i % 4},{4 - i % 4}\n" for i in range(16)))
    r = runner.invoke(app, ["survey", "import", str(wide), "--wave", "AktivBo 2024", "--instrument", "aktivbo",
                            "--date", "2024-11-01", "--area", f"{DESO_A}:60", "--database-url", url])
    assert r.exit_code == 0, r.output
    assert "imported: survey_responses" in r.output and "respondents: 16" in r.output
    r = runner.invoke(app, ["survey", "results", "--wave", "AktivBo 2024", "--indices-only", "--format", "csv",
                            "--database-url", url])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(io.StringIO(r.stdout))
    assert set(table["method"]) == {"share_positive", "linear_mean"} and (table["item"] == "service").all()
    out = tmp_path / "export.xlsx"
    r = runner.invoke(app, ["survey", "area", DESO_A, "--output", str(out), "--database-url", url])
    assert r.exit_code == 0 and len(pd.read_excel(out)) == 6
    bad = tmp_path / "fel.csv"
    bad.write_text("respondent_id,area_code,service1\n1,1480C1010,5\n")
    r = runner.invoke(app, ["survey", "import", str(bad), "--wave", "AktivBo 2024", "--database-url", url])
    assert r.exit_code == 2
    assert "fel.csv, row 2, column service1: answer 5 is outside the scale 1–4 of question service1" in r.stderr
    r = runner.invoke(app, ["survey", "results", "--wave", "nope", "--database-url", url])
    assert r.exit_code == 1 and r.stderr.strip() == "error: survey wave 'nope' does not exist"


def test_api_routes_ask_the_auth_layer(client, db):
    add_areas(db)
    asked: list[str] = []

    def authorize(request, actor, permission):
        asked.append(permission)
        return permission.endswith(":read")

    original = getattr(client.app.state, "authorize", None)
    if original is not None:  # the real auth layer: no login, no data
        assert client.get(f"/api/v1/areas/{DESO_A}/surveys").status_code == 401
        assert client.post("/api/v1/properties/import", files={"file": ("r.csv", "x", "text/csv")}).status_code == 401
    client.app.state.authorize = authorize
    try:
        assert client.get(f"/api/v1/areas/{DESO_A}/surveys").status_code == 200
        assert client.get(f"/api/v1/areas/{DESO_A}/operations").status_code == 200
        r = client.post("/api/v1/surveys/waves", json={"instrument": "trygghet", "name": "W",
                                                       "fielded_on": "2024-01-01"})
        assert r.status_code == 403
        assert client.put("/api/v1/operations/categories/graffiti", json={"sla_hours": 8}).status_code == 403
    finally:
        client.app.state.authorize = original
    assert asked == ["surveys:read", "operations:read", "surveys:write", "operations:write"]


def test_survey_and_operations_roles(client, db):
    from conftest import login_client

    assert client.get("/api/v1/surveys/waves").status_code == 401
    login_client(client, db, "vera", "viewer")
    assert client.get("/api/v1/surveys/waves").status_code == 200
    assert client.get("/api/v1/operations/kpis").status_code == 200
    r = client.post("/api/v1/surveys/instruments", json={"name": "x"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
