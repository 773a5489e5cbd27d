"""Reading survey files: long/wide CSV and Excel, LimeSurvey and KoboToolbox exports, aggregated results;
broken files are reported per file, row, column and reason."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from handslag.errors import ValidationFailed
from handslag.surveys import detect_format, instrument_from_records, read_aggregated, read_instrument, read_responses

INSTRUMENT = instrument_from_records("trygghet", [
    {"question_id": "q1", "text": "Hur trygg känner du dig ute på kvällen?", "scale_min": 1, "scale_max": 4,
     "index": "trygghet", "dont_know": "9", "labels": "1=Mycket otrygg|2=Ganska otrygg|3=Ganska trygg|4=Mycket trygg"},
    {"question_id": "q2", "scale_min": 1, "scale_max": 5, "index": "service"},
    {"question_id": "Q3[SQ001]", "scale_min": 1, "scale_max": 5, "index": "service"},
    {"question_id": "kommentar", "type": "text"},
])
KNOWN = {"1480C1010", "1480C1020"}


def area_check(codes):
    return {c: "unknown area code" for c in codes if c not in KNOWN}


def write(path, text: str, encoding: str = "utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def problems(exc: pytest.ExceptionInfo) -> list[tuple]:
    return [(p.file, p.row, p.column, p.reason) for p in exc.value.problems]


# --- long ---------------------------------------------------------------------------------------------------

def test_long_csv_good(tmp_path):
    path = write(tmp_path / "svar.csv", "respondent_id,area_code,question_id,answer\n"
                 "r1,1480C1010,q1,4\nr1,1480C1010,q2,5\nr1,1480C1010,kommentar,Hej där\n"
                 "r2,1480C1020,q1,Ganska trygg\nr2,1480C1020,q2,\nr2,1480C1020,q1_x,\n"
                 "r3,1480C1020,Q3_SQ001,2\nr3,1480C1020,q1,9\n".replace("r2,1480C1020,q1_x,\n", ""))
    parsed = read_responses(path, INSTRUMENT, area_check=area_check)
    assert parsed.format == "long"
    assert parsed.respondents["respondent_id"].tolist() == ["r1", "r2", "r3"]
    assert parsed.respondents["area_code"].tolist() == ["1480C1010", "1480C1020", "1480C1020"]
    assert parsed.respondents["row"].tolist() == [2, 5, 7]
    got = sorted(zip(parsed.answers["respondent"], parsed.answers["question_id"].astype(str),
                     parsed.answers["value"], strict=True))
    assert got == [(0, "q1", 4.0), (0, "q2", 5.0), (1, "q1", 3.0), (2, "Q3[SQ001]", 2.0), (2, "q1", 9.0)]
    assert parsed.counts["free_text_dropped"] == 1 and parsed.counts["blank_answers"] == 1
    assert parsed.counts["dont_know"] == 1
    assert "Hej" not in parsed.answers.to_string()


def test_long_csv_broken_reports_every_problem(tmp_path):
    path = write(tmp_path / "fel.csv", "respondent_id;area_code;question_id;answer\n"
                 "r1;1480C1010;q1;7\n"  # row 2: outside the scale
                 "r1;1480C1010;q9;1\n"  # row 3: unknown question
                 "r2;9999C9999;q1;2\n"  # row 4: unknown area
                 "r1;1480C1010;q1;3\n"  # row 5: duplicate answer
                 ";1480C1010;q2;3\n"  # row 6: blank respondent
                 "r3;1480C1020;q2;mycket\n"  # row 7: not a code or label
                 "r3;1480C1010;q1;2.5\n")  # row 8: another area for r3, and not a whole number
    with pytest.raises(ValidationFailed) as info:
        read_responses(path, INSTRUMENT, area_check=area_check)
    got = problems(info)
    assert ("fel.csv", 2, "answer", "answer 7 is outside the scale 1–4; don't know: 9 of question q1") in got
    assert ("fel.csv", 3, "question_id", "unknown question id 'q9' (not in instrument trygghet)") in got
    assert ("fel.csv", 4, "area_code", "unknown area code: 9999C9999") in got
    assert ("fel.csv", 5, "question_id",
            "duplicate respondent id: this respondent already answered question q1 in row 2") in got
    assert ("fel.csv", 6, "respondent_id", "respondent id is blank") in got
    assert ("fel.csv", 7, "answer", "answer 'mycket' is not a code or label of question q2") in got
    assert ("fel.csv", 8, "area_code", "respondent has another area in row 7") in got
    assert ("fel.csv", 8, "answer", "answer 2.5 is outside the scale 1–4; don't know: 9 of question q1") in got
    assert "rejected" in info.value.summary() and "nothing was written" in info.value.summary()


def test_long_missing_columns(tmp_path):
    path = write(tmp_path / "x.csv", "respondent_id,question_id,answer\nr1,q1,1\n")
    with pytest.raises(ValidationFailed) as info:
        read_responses(path, INSTRUMENT, fmt="long")
    assert problems(info) == [("x.csv", 1, "area_code", "required column is missing")]


def test_ragged_rows_are_reported_with_their_row(tmp_path):
    path = write(tmp_path / "x.csv", "respondent_id,area_code,question_id,answer\nr1,1480C1010,q1,1\nr2,1480C1010\n")
    with pytest.raises(ValidationFailed) as info:
        read_responses(path, INSTRUMENT)
    assert problems(info) == [("x.csv", 3, None, "expected 4 fields, found 2")]


def test_windows_1252_file_is_read(tmp_path):
    path = write(tmp_path / "x.csv", "respondent_id;område;question_id;answer\nr1;1480C1010;q1;Mycket trygg\n",
                 encoding="cp1252")
    parsed = read_responses(path, INSTRUMENT, area_check=area_check)
    assert parsed.answers["value"].tolist() == [4.0]


# --- wide (CSV and Excel) ---------------------------------------------------------------------------------

def test_wide_excel_good(tmp_path):
    frame = pd.DataFrame({"respondent_id": ["a", "b", "c"], "area_code": ["1480C1010", "1480C1010", "1480C1020"],
                          "weight": [1.2, 0.8, 1.0], "q1": [4, None, 9], "q2": [1, 5, 3],
                          "Q3[SQ001]": [None, None, 2], "kommentar": ["bra", None, "Anna Andersson, 070-1234567"]})
    path = tmp_path / "svar.xlsx"
    frame.to_excel(path, index=False, sheet_name="Svar")
    parsed = read_responses(path, INSTRUMENT, area_check=area_check)
    assert parsed.format == "wide"
    assert parsed.respondents["weight"].tolist() == [1.2, 0.8, 1.0]
    assert len(parsed.answers) == 6
    assert parsed.counts["free_text_columns_dropped"] == 1
    assert "Anna" not in parsed.answers.to_string() + parsed.respondents.to_string()


def test_wide_excel_broken(tmp_path):
    frame = pd.DataFrame({"respondent_id": ["a", "a", "c"], "area_code": ["1480C1010", "1480C1010", "X"],
                          "weight": ["1", "-2", "1"], "q1": [4, 0, 1], "extra": [1, 2, 3]})
    path = tmp_path / "svar.xlsx"
    frame.to_excel(path, index=False, sheet_name="Svar")
    with pytest.raises(ValidationFailed) as info:
        read_responses(path, INSTRUMENT, area_check=area_check)
    got = [(p.sheet, p.row, p.column, p.reason) for p in info.value.problems]
    assert ("Svar", 1, "extra", "column is not a question of instrument trygghet") in got
    assert ("Svar", 3, "respondent_id", "duplicate respondent id (first in row 2)") in got
    assert ("Svar", 4, "area_code", "unknown area code: X") in got
    assert ("Svar", 3, "weight", "weight must be a number above 0") in got
    assert ("Svar", 3, "q1", "answer 0 is outside the scale 1–4; don't know: 9 of question q1") in got


# --- LimeSurvey -------------------------------------------------------------------------------------------

LIMESURVEY = (
    '"id","submitdate","lastpage","startlanguage","seed","token","startdate","datestamp","ipaddr","area",'
    '"q1","q2","Q3[SQ001]","Q3[other]","kommentar","interviewtime","q1Time"\n'
    '"1","2024-10-02 10:00:00","3","sv","123","tok1","2024-10-02 09:50:00","2024-10-02 10:00:00","10.0.0.1",'
    '"1480C1010","A4","A5","AO02","annat","Fint, tack","600","12"\n'
    '"2","","1","sv","124","tok2","2024-10-02 09:50:00","2024-10-02 09:51:00","10.0.0.2","1480C1010","A1","","","",'
    '"","60","3"\n'
    '"3","2024-10-03 11:00:00","3","sv","125","tok3","2024-10-03 10:55:00","2024-10-03 11:00:00","10.0.0.3",'
    '"1480C1020","Ganska trygg","3","","","","300","5"\n'
)


def test_limesurvey_export(tmp_path):
    path = write(tmp_path / "results-survey123456.csv", LIMESURVEY)
    assert detect_format(pd.read_csv(path, nrows=0).columns) == "limesurvey"
    parsed = read_responses(path, INSTRUMENT, area_check=area_check)
    assert parsed.format == "limesurvey"
    assert parsed.respondents["respondent_id"].tolist() == ["1", "3"]  # incomplete response 2 skipped
    assert parsed.counts["skipped_incomplete"] == 1
    got = sorted(zip(parsed.answers["respondent"], parsed.answers["question_id"].astype(str),
                     parsed.answers["value"], strict=True))
    assert got == [(0, "Q3[SQ001]", 2.0), (0, "q1", 4.0), (0, "q2", 5.0), (1, "q1", 3.0), (1, "q2", 3.0)]
    assert {"token", "ipaddr", "Q3[other]", "seed"} <= set(parsed.ignored_columns)


def test_limesurvey_broken(tmp_path):
    text = LIMESURVEY.replace('"A5"', '"A7"').replace('"1480C1020"', '"1480C9999"')
    path = write(tmp_path / "ls.csv", text)
    with pytest.raises(ValidationFailed) as info:
        read_responses(path, INSTRUMENT, area_check=area_check)
    got = problems(info)
    assert ("ls.csv", 2, "q2", "answer 7 is outside the scale 1–5 of question q2") in got
    assert ("ls.csv", 4, "area", "unknown area code: 1480C9999") in got


# --- KoboToolbox ------------------------------------------------------------------------------------------

KOBO = (
    "start;end;today;grp_bakgrund/omrade;grp_trygghet/q1;grp_trygghet/q2;grp_service/Q3_SQ001;"
    "grp_service/kommentar;_id;_uuid;_submission_time;_validation_status;_index\n"
    "2024-05-01T10:00:00;2024-05-01T10:05:00;2024-05-01;1480C1010;3;4;5;;101;"
    "6f1c0b0e-0001;2024-05-01T10:05:10;;1\n"
    "2024-05-01T11:00:00;2024-05-01T11:05:00;2024-05-01;1480C1020;mycket_trygg;2;;Trevligt;102;"
    "6f1c0b0e-0002;2024-05-01T11:05:10;;2\n"
)


def test_kobo_export(tmp_path):
    path = write(tmp_path / "kobo.csv", KOBO)
    parsed = read_responses(path, INSTRUMENT, area_check=area_check)
    assert parsed.format == "kobo"
    assert parsed.respondents["respondent_id"].tolist() == ["6f1c0b0e-0001", "6f1c0b0e-0002"]
    assert parsed.respondents["area_code"].tolist() == ["1480C1010", "1480C1020"]
    got = sorted(zip(parsed.answers["respondent"], parsed.answers["question_id"].astype(str),
                     parsed.answers["value"], strict=True))
    assert got == [(0, "Q3[SQ001]", 5.0), (0, "q1", 3.0), (0, "q2", 4.0), (1, "q1", 4.0), (1, "q2", 2.0)]
    assert "_submission_time" in parsed.ignored_columns


def test_kobo_duplicate_submission_is_reported(tmp_path):
    text = KOBO + KOBO.splitlines()[1] + "\n"
    path = write(tmp_path / "kobo.csv", text)
    with pytest.raises(ValidationFailed) as info:
        read_responses(path, INSTRUMENT, area_check=area_check)
    assert ("kobo.csv", 4, "_uuid", "duplicate respondent id (first in row 2)") in problems(info)


# --- aggregated -------------------------------------------------------------------------------------------

def test_aggregated_good_and_broken(tmp_path):
    good = write(tmp_path / "agg.csv", "area_code;question_id;share_positive;n;n_positive\n"
                 "1480C1010;q1;80,0;10;8\n1480C1010;q2;62.5;40;\n1480C1020;q1;;20;5\n")
    parsed = read_aggregated(good, INSTRUMENT, area_check=area_check)
    assert parsed.frame["share_positive"].tolist() == [80.0, 62.5, 25.0]
    assert parsed.frame["n"].tolist() == [10, 40, 20]
    bad = write(tmp_path / "bad.csv", "area_code,question_id,share_positive,n,n_positive\n"
                "1480C1010,q1,120,10,\n"
                "1480C1010,qx,50,10,\n"
                "1480C1010,q2,50,0,\n"
                "1480C1010,q2,30,10,8\n"
                "1480C1010,kommentar,30,10,\n"
                "1480C1010,q1,50,10,\n")
    with pytest.raises(ValidationFailed) as info:
        read_aggregated(bad, INSTRUMENT, area_check=area_check)
    got = problems(info)
    assert ("bad.csv", 2, "share_positive", "share_positive must be a percentage between 0 and 100") in got
    assert ("bad.csv", 3, "question_id", "unknown question id 'qx' (instrument trygghet)") in got
    assert ("bad.csv", 4, "n", "n must be a whole number of respondents ≥ 1") in got
    assert ("bad.csv", 5, "share_positive", "share_positive 30 does not match 100 × n_positive / n = 80.0") in got
    assert ("bad.csv", 6, "question_id",
            "question is free text, not a scale question 'kommentar' (instrument trygghet)") in got
    assert ("bad.csv", 7, "question_id", "this area and question appear twice") in got


def test_instrument_files(tmp_path):
    csv = write(tmp_path / "aktivbo.csv", "question_id;text;scale_min;scale_max;direction;index;dont_know;labels\n"
                "t1;Trygg på kvällen;1;4;up;trygghet;9;1=Dåligt|2=Inte så bra|3=Ganska bra|4=Mycket bra\n"
                "t2;Oro för inbrott;1;4;down;trygghet;;\n")
    inst = read_instrument(csv)
    assert inst.name == "aktivbo"
    assert inst.question("t2").positive_codes() == (1, 2)
    assert inst.question("t1").labels[3] == "Ganska bra"
    toml = write(tmp_path / "i.toml", 'name = "ntu"\n[[questions]]\nquestion_id = "otrygg"\nscale_min = 1\n'
                 'scale_max = 4\ndirection = "down"\nindex = "otrygghet"\n')
    assert read_instrument(toml).indices == {"otrygghet": ("otrygg",)}


def test_limesurvey_excel_export(tmp_path):
    frame = pd.read_csv(io.StringIO(LIMESURVEY), dtype=str)
    path = tmp_path / "results-survey123456.xlsx"
    frame.to_excel(path, index=False)
    parsed = read_responses(path, INSTRUMENT, area_check=area_check)
    assert parsed.format == "limesurvey" and parsed.counts["respondents"] == 2 and parsed.counts["answers"] == 5
