"""Reading survey files into validated respondents and answers (or aggregated results).

Formats (``fmt``):

- ``long``: one row per answer: ``respondent_id, area_code, question_id, answer`` (+ optional ``weight``,
  ``sex``, ``age_group``, repeated on each of the respondent's rows).
- ``wide``: one row per respondent: ``respondent_id, area_code`` (+ optional ``weight``, ``sex``,
  ``age_group``) and one column per question id. A column that is not a question of the instrument is an
  error.
- ``limesurvey``: LimeSurvey's "Export responses" (CSV or Excel, headings "question code", answers as
  answer codes such as ``1``, ``A1`` or ``AO01``, or as full answer text matching the instrument labels).
  The response ``id`` is the respondent id; responses without ``submitdate`` (not completed) are skipped;
  columns that are not questions of the instrument (``token``, ``ipaddr``, timings, free text…) are ignored
  and never stored. Array sub-questions ``Q1[SQ001]`` match question id ``Q1[SQ001]`` or ``Q1_SQ001``.
- ``kobo``: KoboToolbox data export (CSV, ``;`` or ``,``; or Excel) with "XML values and headers";
  group prefixes (``group_x/q1``) are removed; ``_uuid`` is the respondent id; meta columns are ignored.
- ``aggregated``: ``area_code, question_id, share_positive, n`` (+ optional ``n_positive``) with the share
  in percent (0–100).

``auto`` picks the format from the header. The area column is ``area_code`` (aliases ``area``, ``omrade``,
``område``, ``deso``, ``regso``) unless ``area_column`` is given.

Everything is checked before anything is returned; problems carry file, row (header = row 1), column and
reason, and are raised together as :class:`~handslag.errors.ValidationFailed`. Validation works on the
distinct values of each column (categories), so a million answers need no per-row Python. Problem reasons
never quote respondent ids or free text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from handslag.errors import Problem, ValidationFailed

from .instrument import Instrument, Question
from .tables import Table, pick_column, read_table

FORMATS = ("auto", "long", "wide", "limesurvey", "kobo", "aggregated")
AreaCheck = Callable[[list[str]], dict[str, str]]
"""Given distinct area codes, return ``{code: reason}`` for the codes that are not acceptable."""

RESPONDENT_ALIASES = ("respondent_id", "respondent", "resp_id", "respondent_ref", "svarande", "svarande_id",
                      "respondentid", "id")
AREA_ALIASES = ("area_code", "area", "areacode", "omrade", "område", "omradeskod", "områdeskod", "deso",
                "deso_code", "desokod", "regso", "regso_code", "regsokod")
QUESTION_ALIASES = ("question_id", "question", "fraga", "fråga", "fragekod", "frågekod", "item")
ANSWER_ALIASES = ("answer", "value", "svar", "varde", "värde", "response")
WEIGHT_ALIASES = ("weight", "vikt", "weights")
SEX_ALIASES = ("sex", "kon", "kön", "gender")
AGE_ALIASES = ("age_group", "aldersgrupp", "åldersgrupp", "age_band", "alder_grupp", "ålder_grupp")
SHARE_ALIASES = ("share_positive", "andel_positiva", "share", "andel", "percent_positive", "procent_positiva",
                 "positive_share")
N_ALIASES = ("n", "antal", "antal_svar", "n_valid", "respondents")
NPOS_ALIASES = ("n_positive", "antal_positiva", "positive")
LIMESURVEY_META = ("submitdate", "lastpage", "startlanguage")
KOBO_META = ("_uuid", "_submission_time", "_id", "_index", "_validation_status")


@dataclass
class ParsedResponses:
    """Validated respondent-level data of one file."""

    respondents: pd.DataFrame  # respondent_id, area_code, weight, sex, age_group, row
    answers: pd.DataFrame  # respondent (position in respondents), question_id, value
    format: str
    file: str
    counts: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)


@dataclass
class ParsedAggregates:
    frame: pd.DataFrame  # area_code, question_id, n, share_positive, n_positive, row
    file: str
    counts: dict[str, int] = field(default_factory=dict)


class ProblemCollector:
    """Collects problems; at most ``cap`` rows per kind, then one summary line."""

    def __init__(self, file: str, sheet: str | None, cap: int = 200) -> None:
        self.file, self.sheet, self.cap = file, sheet, cap
        self.items: list[Problem] = []

    def add(self, row: int | None, column: str | None, reason: str) -> None:
        self.items.append(Problem(self.file, row, column, reason, self.sheet))

    def rows(self, rows: np.ndarray, column: str | None, reason: str | Callable[[int], str],
             summary: str | None = None) -> None:
        rows = np.asarray(rows)
        if not len(rows):
            return
        for i in range(min(len(rows), self.cap)):
            text = reason(i) if callable(reason) else reason
            self.add(int(rows[i]), column, text)
        if len(rows) > self.cap:
            what = summary or (reason if isinstance(reason, str) else "the same problem")
            self.add(None, column, f"… and {len(rows) - self.cap} more rows with {what}")

    def raise_if_any(self, what: str) -> None:
        if self.items:
            raise ValidationFailed(self.items, what=what)


def detect_format(columns: Sequence[str]) -> str:
    """Guess the file format from its header."""
    lowered = {str(c).strip().lower().replace(" ", "_") for c in columns}
    if any(a in lowered for a in QUESTION_ALIASES) and any(a in lowered for a in ANSWER_ALIASES):
        return "long"
    if any(a in lowered for a in SHARE_ALIASES) and any(a in lowered for a in N_ALIASES):
        return "aggregated"
    if sum(m in lowered for m in LIMESURVEY_META) >= 2:
        return "limesurvey"
    if "_uuid" in lowered or "_submission_time" in lowered:
        return "kobo"
    return "wide"


def _category_numbers(categories: pd.Index, *, limesurvey: bool = False) -> np.ndarray:
    text = pd.Series(np.asarray(categories, dtype=object), dtype="string").str.strip()
    if limesurvey:
        text = text.str.replace(r"^(?:AO|A)0*(\d)", r"\1", regex=True)
    text = text.str.replace(",", ".", regex=False).str.replace("\u2212", "-", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)


def _label_lookup(question: Question) -> dict[str, int]:
    out: dict[str, int] = {}
    for code, label in question.labels.items():
        key = label.strip().lower()
        out[key] = code
        out[key.replace(" ", "_")] = code
    return out


def _codes(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    return series.cat.codes.to_numpy(), series.cat.categories


def _scale_text(q: Question) -> str:
    dk = f"; don't know: {', '.join(map(str, q.dont_know))}" if q.dont_know else ""
    return f"{q.scale_min}–{q.scale_max}{dk}"


def _check_answers(values: np.ndarray, question: Question) -> np.ndarray:
    """Mask of values (non-NaN) that are neither a whole number on the scale nor a don't-know code."""
    assert question.scale_min is not None and question.scale_max is not None
    present = ~np.isnan(values)
    on_scale = (values >= question.scale_min) & (values <= question.scale_max) & (values == np.floor(values))
    dk = np.isin(values, question.dont_know) if question.dont_know else np.zeros(len(values), bool)
    return present & ~on_scale & ~dk


def _respondent_columns(frame: pd.DataFrame, fmt: str, area_column: str | None, respondent_column: str | None,
                        problems: ProblemCollector) -> dict[str, str | None]:
    cols: dict[str, str | None] = {}
    if respondent_column:
        cols["respondent"] = respondent_column if respondent_column in frame.columns else None
    elif fmt == "kobo":
        cols["respondent"] = pick_column(frame, ("_uuid", "_id", "_index", *RESPONDENT_ALIASES))
    else:
        cols["respondent"] = pick_column(frame, RESPONDENT_ALIASES)
    if area_column:
        cols["area"] = area_column if area_column in frame.columns else None
    else:
        stripped = {str(c).rsplit("/", 1)[-1]: c for c in frame.columns} if fmt == "kobo" else None
        found = pick_column(frame, AREA_ALIASES)
        if found is None and stripped:
            key = pick_column(pd.DataFrame(columns=list(stripped)), AREA_ALIASES)
            found = stripped.get(key) if key else None
        cols["area"] = found
    cols["weight"] = pick_column(frame, WEIGHT_ALIASES)
    cols["sex"] = pick_column(frame, SEX_ALIASES)
    cols["age_group"] = pick_column(frame, AGE_ALIASES)
    names = {"respondent": respondent_column or "respondent_id", "area": area_column or "area_code"}
    for key in ("respondent", "area"):
        if cols[key] is None:
            problems.add(1, names[key], "required column is missing")
    return cols


def _values_for_column(series: pd.Series, question: Question, *, limesurvey: bool, problems: ProblemCollector,
                       rows: np.ndarray, column: str) -> np.ndarray:
    """Numeric answer per row for one question column (NaN = blank); out-of-scale answers reported."""
    codes, cats = _codes(series)
    numbers = _category_numbers(cats, limesurvey=limesurvey)
    if len(cats) and np.isnan(numbers).any():
        lookup = _label_lookup(question)
        for i in np.flatnonzero(np.isnan(numbers)):
            key = str(cats[i]).strip().lower()
            if key in lookup:
                numbers[i] = lookup[key]
    values = np.where(codes >= 0, numbers[np.maximum(codes, 0)] if len(numbers) else np.nan, np.nan)
    not_number = (codes >= 0) & np.isnan(values)
    if not_number.any():
        bad = np.flatnonzero(not_number)
        problems.rows(rows[bad], column, lambda i: f"answer {str(cats[codes[bad[i]]])[:40]!r} is not a code or "
                      f"label of question {question.id} (scale {_scale_text(question)})",
                      summary=f"answers that are not codes of question {question.id}")
    bad = np.flatnonzero(_check_answers(values, question))
    if len(bad):
        problems.rows(rows[bad], column, lambda i: f"answer {values[bad[i]]:g} is outside the scale "
                      f"{_scale_text(question)} of question {question.id}",
                      summary=f"answers outside the scale of question {question.id}")
    return values


def _attr_series(frame: pd.DataFrame, column: str | None, n: int) -> pd.Series:
    if column is None:
        return pd.Series([None] * n, dtype="object")
    return frame[column].astype("string").astype(object).where(frame[column].notna(), None).reset_index(drop=True)


def _weights(frame: pd.DataFrame, column: str | None, rows: np.ndarray, problems: ProblemCollector) -> np.ndarray:
    if column is None:
        return np.full(len(frame), np.nan)
    codes, cats = _codes(frame[column])
    numbers = _category_numbers(cats)
    values = np.where(codes >= 0, numbers[np.maximum(codes, 0)] if len(numbers) else np.nan, np.nan)
    bad = np.flatnonzero((codes >= 0) & ~(values > 0))
    problems.rows(rows[bad], column, "weight must be a number above 0")
    return values


def _check_areas(area_codes: np.ndarray, area_cats: pd.Index, rows: np.ndarray, column: str,
                 area_check: AreaCheck | None, problems: ProblemCollector) -> None:
    blank = np.flatnonzero(area_codes < 0)
    problems.rows(rows[blank], column, "area code is blank")
    if area_check is None or not len(area_cats):
        return
    used = np.unique(area_codes[area_codes >= 0])
    bad = area_check([str(area_cats[i]) for i in used])
    if not bad:
        return
    bad_idx = [i for i in used if str(area_cats[i]) in bad]
    mask = np.isin(area_codes, bad_idx)
    hit = np.flatnonzero(mask)
    problems.rows(rows[hit], column, lambda i: f"{bad[str(area_cats[area_codes[hit[i]]])]}: "
                  f"{str(area_cats[area_codes[hit[i]]])}", summary="unknown area codes")


def read_responses(path: str | Path, instrument: Instrument, *, fmt: str = "auto",
                   area_check: AreaCheck | None = None, area_column: str | None = None,
                   respondent_column: str | None = None, display_name: str | None = None,
                   sheet: str | int | None = None, table: Table | None = None) -> ParsedResponses:
    """Read and validate a respondent-level survey file (long, wide, LimeSurvey or KoboToolbox)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown survey file format {fmt!r}; use one of {', '.join(FORMATS)}")
    table = table or read_table(path, sheet=sheet, display_name=display_name)
    if fmt == "auto":
        fmt = detect_format(list(table.frame.columns))
    if fmt == "aggregated":
        raise ValueError("this file holds aggregated results; import it as aggregated")
    if fmt == "long":
        return _read_long(table, instrument, area_check, area_column, respondent_column)
    return _read_wide(table, instrument, fmt, area_check, area_column, respondent_column)


def _read_long(table: Table, instrument: Instrument, area_check: AreaCheck | None, area_column: str | None,
               respondent_column: str | None) -> ParsedResponses:
    frame = table.frame
    problems = ProblemCollector(table.file, table.sheet)
    cols = _respondent_columns(frame, "long", area_column, respondent_column, problems)
    qcol = pick_column(frame, QUESTION_ALIASES)
    acol = pick_column(frame, ANSWER_ALIASES)
    if qcol is None:
        problems.add(1, "question_id", "required column is missing")
    if acol is None:
        problems.add(1, "answer", "required column is missing")
    problems.raise_if_any("survey file")
    assert qcol and acol and cols["respondent"] and cols["area"]
    n = len(frame)
    rows = np.arange(2, n + 2, dtype=np.int64)

    r_codes, r_cats = _codes(frame[cols["respondent"]])
    problems.rows(rows[r_codes < 0], cols["respondent"], "respondent id is blank")
    a_codes, a_cats = _codes(frame[cols["area"]])
    _check_areas(a_codes, a_cats, rows, cols["area"], area_check, problems)

    # questions: map the distinct ids onto the instrument
    q_codes, q_cats = _codes(frame[qcol])
    scale_qs = list(instrument.scale_questions)
    scale_pos = {q.id: j for j, q in enumerate(scale_qs)}
    text_ids = {q.id for q in instrument.questions if not q.is_scale}
    cat_to_q = np.full(len(q_cats) + 1, -1, dtype=np.int64)  # last slot: blank question id
    cat_is_text = np.zeros(len(q_cats) + 1, dtype=bool)
    for i, name in enumerate(q_cats):
        match = instrument.match_column(str(name))
        if match in scale_pos:
            cat_to_q[i] = scale_pos[match]
        elif match in text_ids:
            cat_is_text[i] = True
    q_idx = cat_to_q[np.where(q_codes >= 0, q_codes, len(q_cats))]
    is_text = cat_is_text[np.where(q_codes >= 0, q_codes, len(q_cats))]
    problems.rows(rows[q_codes < 0], qcol, "question id is blank")
    unknown = np.flatnonzero((q_codes >= 0) & (q_idx < 0) & ~is_text)
    problems.rows(rows[unknown], qcol, lambda i: f"unknown question id {str(q_cats[q_codes[unknown[i]]])[:60]!r} "
                  f"(not in instrument {instrument.name})", summary="unknown question ids")

    # answers: numbers from the distinct values; labels per (question, text) pair where needed
    ans_codes, ans_cats = _codes(frame[acol])
    numbers = _category_numbers(ans_cats)
    values = np.where(ans_codes >= 0, numbers[np.maximum(ans_codes, 0)] if len(numbers) else np.nan, np.nan)
    scored = q_idx >= 0
    non_numeric = np.flatnonzero(scored & (ans_codes >= 0) & np.isnan(values))
    if len(non_numeric):
        pairs = pd.DataFrame({"q": q_idx[non_numeric], "a": ans_codes[non_numeric]})
        mapped = {}
        for qj, aj in pairs.drop_duplicates().itertuples(index=False):
            code = _label_lookup(scale_qs[qj]).get(str(ans_cats[aj]).strip().lower())
            mapped[(qj, aj)] = np.nan if code is None else float(code)
        values[non_numeric] = [mapped[(q, a)] for q, a in zip(pairs["q"], pairs["a"], strict=True)]
        still = non_numeric[np.isnan(values[non_numeric])]
        problems.rows(rows[still], acol, lambda i: f"answer {str(ans_cats[ans_codes[still[i]]])[:40]!r} is not a "
                      f"code or label of question {scale_qs[q_idx[still[i]]].id}",
                      summary="answers that are not codes of their question")
    if scored.any():
        qmin = np.array([q.scale_min for q in scale_qs], dtype=float)[np.maximum(q_idx, 0)]
        qmax = np.array([q.scale_max for q in scale_qs], dtype=float)[np.maximum(q_idx, 0)]
        present = scored & ~np.isnan(values)
        on_scale = (values >= qmin) & (values <= qmax) & (values == np.floor(values))
        dk = np.zeros(n, dtype=bool)
        for j, q in enumerate(scale_qs):
            if q.dont_know:
                dk |= (q_idx == j) & np.isin(values, q.dont_know)
        bad = np.flatnonzero(present & ~on_scale & ~dk)
        problems.rows(rows[bad], acol, lambda i: f"answer {values[bad[i]]:g} is outside the scale "
                      f"{_scale_text(scale_qs[q_idx[bad[i]]])} of question {scale_qs[q_idx[bad[i]]].id}",
                      summary="answers outside the scale")

    # duplicates: the same respondent answering the same question twice
    keep = scored & (r_codes >= 0)
    key = r_codes.astype(np.int64) * (len(scale_qs) + 1) + q_idx
    dup = np.zeros(n, dtype=bool)
    dup[keep] = pd.Series(key[keep]).duplicated().to_numpy()
    if dup.any():
        first = pd.Series(rows[keep & ~dup], index=key[keep & ~dup])
        hit = np.flatnonzero(dup)
        first_rows = first.reindex(key[hit]).to_numpy()
        problems.rows(rows[hit], qcol, lambda i: f"duplicate respondent id: this respondent already answered "
                      f"question {scale_qs[q_idx[hit[i]]].id} in row {int(first_rows[i])}",
                      summary="duplicate answers")

    # respondent attributes must agree on every row of the respondent
    valid_r = r_codes >= 0
    uniq, first_idx = np.unique(r_codes[valid_r], return_index=True)
    first_idx = np.flatnonzero(valid_r)[first_idx]
    pos_of_code = np.full(len(r_cats) + 1, -1, dtype=np.int64)
    pos_of_code[uniq] = np.arange(len(uniq))
    resp_pos = np.where(valid_r, pos_of_code[np.maximum(r_codes, 0)], -1)
    for label, col in (("area", cols["area"]), ("weight", cols["weight"]), ("sex", cols["sex"]),
                       ("age group", cols["age_group"])):
        if col is None:
            continue
        c_codes, _ = _codes(frame[col])
        ref = c_codes[first_idx]
        differs = np.flatnonzero(valid_r & (c_codes != ref[np.maximum(resp_pos, 0)]))
        problems.rows(rows[differs], col, lambda i, label=label, differs=differs: f"respondent has another {label} "
                      f"in row {int(rows[first_idx[resp_pos[differs[i]]]])}",
                      summary=f"respondents with two values for {label}")
    weights = _weights(frame, cols["weight"], rows, problems)
    problems.raise_if_any("survey file")

    respondents = pd.DataFrame({
        "respondent_id": pd.Series(np.asarray(r_cats, dtype=object)[uniq], dtype="string"),
        "area_code": pd.Series(np.asarray(a_cats, dtype=object)[a_codes[first_idx]], dtype="string"),
        "weight": weights[first_idx],
        "sex": _attr_series(frame, cols["sex"], n).iloc[first_idx].reset_index(drop=True),
        "age_group": _attr_series(frame, cols["age_group"], n).iloc[first_idx].reset_index(drop=True),
        "row": rows[first_idx],
    })
    take = scored & ~np.isnan(values)
    answers = pd.DataFrame({
        "respondent": resp_pos[take],
        "question_id": pd.Categorical.from_codes(q_idx[take], categories=[q.id for q in scale_qs]),
        "value": values[take],
    })
    dk_count = sum(int(np.isin(answers["value"].to_numpy()[answers["question_id"].cat.codes.to_numpy() == j],
                               q.dont_know).sum()) for j, q in enumerate(scale_qs) if q.dont_know)
    counts = {"rows": n, "respondents": len(respondents), "answers": len(answers),
              "blank_answers": int((scored & np.isnan(values)).sum()), "dont_know": dk_count,
              "free_text_dropped": int(is_text.sum())}
    return ParsedResponses(respondents, answers, "long", table.file, counts, [])


def _read_wide(table: Table, instrument: Instrument, fmt: str, area_check: AreaCheck | None,
               area_column: str | None, respondent_column: str | None) -> ParsedResponses:
    frame = table.frame
    problems = ProblemCollector(table.file, table.sheet)
    if fmt == "limesurvey" and respondent_column is None and "id" in frame.columns:
        respondent_column = "id"
    cols = _respondent_columns(frame, fmt, area_column, respondent_column, problems)
    problems.raise_if_any("survey file")
    assert cols["respondent"] and cols["area"]
    skipped = {"incomplete": 0}
    if fmt == "limesurvey" and "submitdate" in frame.columns:
        complete = frame["submitdate"].notna().to_numpy()
        skipped["incomplete"] = int((~complete).sum())
        keep_rows = np.flatnonzero(complete)
    else:
        keep_rows = np.arange(len(frame))
    rows = keep_rows.astype(np.int64) + 2
    frame = frame.iloc[keep_rows].reset_index(drop=True)
    n = len(frame)

    meta = {c for c in cols.values() if c}
    question_cols: dict[str, str] = {}
    text_cols: list[str] = []
    ignored: list[str] = []
    for column in frame.columns:
        if column in meta:
            continue
        match = instrument.match_column(str(column))
        if match is None:
            if fmt == "wide":
                problems.add(1, str(column), f"column is not a question of instrument {instrument.name}")
            else:
                ignored.append(str(column))
            continue
        if not instrument.question(match).is_scale:
            text_cols.append(str(column))
            continue
        if match in question_cols:
            problems.add(1, str(column), f"question {match} already read from column {question_cols[match]}")
            continue
        question_cols[match] = str(column)
    if not question_cols:
        problems.add(1, None, f"no column matches a scale question of instrument {instrument.name}")

    r_codes, r_cats = _codes(frame[cols["respondent"]])
    problems.rows(rows[r_codes < 0], cols["respondent"], "respondent id is blank")
    present = r_codes >= 0
    dup = np.zeros(n, dtype=bool)
    dup[present] = pd.Series(r_codes[present]).duplicated().to_numpy()
    if dup.any():
        first = pd.Series(rows[present & ~dup], index=r_codes[present & ~dup])
        hit = np.flatnonzero(dup)
        first_rows = first.reindex(r_codes[hit]).to_numpy()
        problems.rows(rows[hit], cols["respondent"], lambda i: f"duplicate respondent id (first in row "
                      f"{int(first_rows[i])})", summary="duplicate respondent ids")
    a_codes, a_cats = _codes(frame[cols["area"]])
    _check_areas(a_codes, a_cats, rows, cols["area"], area_check, problems)
    weights = _weights(frame, cols["weight"], rows, problems)

    scale_qs = list(instrument.scale_questions)
    ids = [q.id for q in scale_qs]
    parts_r, parts_q, parts_v = [], [], []
    dk_count = blank = 0
    for j, q in enumerate(scale_qs):
        column = question_cols.get(q.id)
        if column is None:
            continue
        values = _values_for_column(frame[column], q, limesurvey=fmt == "limesurvey", problems=problems,
                                    rows=rows, column=column)
        have = np.flatnonzero(~np.isnan(values))
        blank += n - len(have)
        if q.dont_know:
            dk_count += int(np.isin(values[have], q.dont_know).sum())
        parts_r.append(have)
        parts_q.append(np.full(len(have), j, dtype=np.int64))
        parts_v.append(values[have])
    problems.raise_if_any("survey file")

    respondents = pd.DataFrame({
        "respondent_id": pd.Series(np.asarray(r_cats, dtype=object)[r_codes], dtype="string"),
        "area_code": pd.Series(np.asarray(a_cats, dtype=object)[a_codes], dtype="string"),
        "weight": weights,
        "sex": _attr_series(frame, cols["sex"], n),
        "age_group": _attr_series(frame, cols["age_group"], n),
        "row": rows,
    })
    answers = pd.DataFrame({
        "respondent": np.concatenate(parts_r) if parts_r else np.array([], dtype=np.int64),
        "question_id": pd.Categorical.from_codes(np.concatenate(parts_q) if parts_q else np.array([], int),
                                                 categories=ids),
        "value": np.concatenate(parts_v) if parts_v else np.array([], dtype=float),
    })
    counts = {"rows": n + skipped["incomplete"], "respondents": n, "answers": len(answers), "blank_answers": blank,
              "dont_know": dk_count, "free_text_columns_dropped": len(text_cols),
              "skipped_incomplete": skipped["incomplete"], "ignored_columns": len(ignored)}
    return ParsedResponses(respondents, answers, fmt, table.file, counts, ignored)


def read_aggregated(path: str | Path, instrument: Instrument, *, area_check: AreaCheck | None = None,
                    area_column: str | None = None, display_name: str | None = None,
                    sheet: str | int | None = None, table: Table | None = None) -> ParsedAggregates:
    """Read and validate aggregated results: share positive (0–100) and n per area and question."""
    table = table or read_table(path, sheet=sheet, display_name=display_name)
    frame = table.frame
    problems = ProblemCollector(table.file, table.sheet)
    acol = area_column if area_column in frame.columns else pick_column(frame, AREA_ALIASES)
    qcol = pick_column(frame, QUESTION_ALIASES)
    scol = pick_column(frame, SHARE_ALIASES)
    ncol = pick_column(frame, N_ALIASES)
    pcol = pick_column(frame, NPOS_ALIASES)
    for name, col in (("area_code", acol), ("question_id", qcol), ("n", ncol)):
        if col is None:
            problems.add(1, name, "required column is missing")
    if scol is None and pcol is None:
        problems.add(1, "share_positive", "required column is missing (or give n_positive)")
    problems.raise_if_any("aggregated survey file")
    assert acol and qcol and ncol
    n_rows = len(frame)
    rows = np.arange(2, n_rows + 2, dtype=np.int64)
    a_codes, a_cats = _codes(frame[acol])
    _check_areas(a_codes, a_cats, rows, acol, area_check, problems)
    q_codes, q_cats = _codes(frame[qcol])
    qids: list[str | None] = []
    for i, name in enumerate(q_cats):
        match = instrument.match_column(str(name))
        if match is None or not instrument.question(match).is_scale:
            hit = np.flatnonzero(q_codes == i)
            reason = ("unknown question id" if match is None else "question is free text, not a scale question")
            problems.rows(rows[hit], qcol, f"{reason} {str(name)[:60]!r} (instrument {instrument.name})")
        qids.append(match)
    problems.rows(rows[q_codes < 0], qcol, "question id is blank")

    def numbers(col: str | None) -> np.ndarray:
        if col is None:
            return np.full(n_rows, np.nan)
        codes, cats = _codes(frame[col])
        nums = _category_numbers(cats)
        return np.where(codes >= 0, nums[np.maximum(codes, 0)] if len(nums) else np.nan, np.nan)

    n = numbers(ncol)
    share = numbers(scol)
    npos = numbers(pcol)
    bad_n = np.flatnonzero(~((n >= 1) & (n == np.floor(n))))
    problems.rows(rows[bad_n], ncol, "n must be a whole number of respondents ≥ 1")
    if pcol is not None:
        has = ~np.isnan(npos)
        bad_p = np.flatnonzero(has & ~((npos >= 0) & (npos == np.floor(npos)) & ~(npos > n)))
        problems.rows(rows[bad_p], pcol, "n_positive must be a whole number between 0 and n")
    if scol is not None:
        missing = np.isnan(share) & (np.isnan(npos) if pcol else True)
        problems.rows(rows[np.flatnonzero(missing)], scol, "share_positive is blank or not a number")
        bad_s = np.flatnonzero(~np.isnan(share) & ((share < 0) | (share > 100)))
        problems.rows(rows[bad_s], scol, "share_positive must be a percentage between 0 and 100")
        if pcol is not None:
            with np.errstate(all="ignore"):
                implied = 100 * npos / n
            clash = np.flatnonzero(~np.isnan(share) & ~np.isnan(implied) & (np.abs(implied - share) > 0.5))
            problems.rows(rows[clash], scol, lambda i: f"share_positive {share[clash[i]]:g} does not match "
                          f"100 × n_positive / n = {implied[clash[i]]:.1f}")
    share = np.where(np.isnan(share), 100 * npos / np.where(n > 0, n, np.nan), share)
    key = pd.DataFrame({"a": a_codes, "q": q_codes})
    dup = key.duplicated().to_numpy() & (a_codes >= 0) & (q_codes >= 0)
    problems.rows(rows[np.flatnonzero(dup)], qcol, "this area and question appear twice")
    problems.raise_if_any("aggregated survey file")
    out = pd.DataFrame({
        "area_code": pd.Series(np.asarray(a_cats, dtype=object)[a_codes], dtype="string"),
        "question_id": pd.Series([qids[c] for c in q_codes], dtype="string"),
        "n": n.astype(np.int64),
        "share_positive": share,
        "n_positive": npos,
        "row": rows,
    })
    return ParsedAggregates(out, table.file, {"rows": n_rows, "results": len(out)})

