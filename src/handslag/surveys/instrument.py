"""Survey instruments: questions with their scale, labels, direction, index membership and "don't know" codes.

An instrument is defined in a small table (CSV/Excel) or a JSON/TOML document:

``question_id, text, scale_min, scale_max, direction, index, positive, dont_know, labels, type``

- ``direction``: ``up`` (a higher answer is better, the default) or ``down`` (a lower answer is better,
  e.g. "how worried are you…"); also accepted: ``+``/``-``, ``1``/``-1``, ``higher_better``/``lower_better``.
- ``index``: the index (or indices, separated by ``|``) the question belongs to, e.g. ``trygghet``.
- ``positive``: the answer codes counted as positive for the share-positive index (``3|4`` or ``3-4``);
  default: the codes above the midpoint of the scale after orientation (1–4 → 3, 4; 1–5 → 4, 5).
- ``dont_know``: codes meaning "don't know"/"no opinion" (``9|99``); they are counted but left out of
  every index.
- ``labels``: ``1=Mycket dåligt|2=Ganska dåligt|3=Ganska bra|4=Mycket bra``; answers given as label text
  are mapped to their codes.
- ``type``: ``scale`` (default) or ``text``; free-text questions are accepted in files and dropped at import
  (they are never stored).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from handslag.errors import Problem, ValidationFailed

QUESTION_KINDS = ("scale", "text")
_UP = {"up", "+", "1", "+1", "higher_better", "higher", "hogre", "högre", "positive", "normal"}
_DOWN = {"down", "-", "-1", "lower_better", "lower", "lagre", "lägre", "negative", "reversed", "reverse", "omvand",
         "omvänd"}
_ID_RE = re.compile(r"^[A-Za-z0-9_.\-\[\]/:]{1,100}$")


def _split(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in re.split(r"[|;]", str(value)) if part.strip()]


def _codes(value: Any) -> tuple[int, ...]:
    """Parse ``3|4``, ``3-5``, ``[9, 99]`` into integer codes."""
    out: list[int] = []
    for part in _split(value) if not isinstance(value, int | float) else [str(value)]:
        m = re.fullmatch(r"(-?\d+)\s*-\s*(-?\d+)", part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            out.extend(range(lo, hi + 1))
            continue
        number = float(part.replace(",", "."))
        if number != int(number):
            raise ValueError(f"code {part!r} is not a whole number")
        out.append(int(number))
    return tuple(sorted(set(out)))


def _labels(value: Any) -> dict[int, str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    if isinstance(value, Mapping):
        return {int(k): str(v) for k, v in value.items()}
    out: dict[int, str] = {}
    for part in _split(value):
        code, sep, label = part.partition("=")
        if not sep:
            raise ValueError(f"label {part!r} is not of the form code=text")
        out[int(code.strip())] = label.strip()
    return out


def parse_direction(value: Any) -> int:
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return 1
    text = str(value).strip().lower()
    if text in _UP:
        return 1
    if text in _DOWN:
        return -1
    raise ValueError(f"direction {value!r} is neither 'up' nor 'down'")


@dataclass(frozen=True)
class Question:
    """One question of an instrument."""

    id: str
    text: str = ""
    scale_min: int | None = 1
    scale_max: int | None = 5
    direction: int = 1
    indices: tuple[str, ...] = ()
    positive: tuple[int, ...] | None = None
    dont_know: tuple[int, ...] = ()
    labels: Mapping[int, str] = field(default_factory=dict)
    kind: str = "scale"

    def __post_init__(self) -> None:
        if not _ID_RE.match(self.id):
            raise ValueError(f"question id {self.id!r} must be 1–100 letters, digits or _.-[]/:")
        if self.kind not in QUESTION_KINDS:
            raise ValueError(f"question {self.id}: type must be one of {', '.join(QUESTION_KINDS)}")
        if self.direction not in (1, -1):
            raise ValueError(f"question {self.id}: direction must be 1 (up) or -1 (down)")
        if self.kind == "scale":
            if self.scale_min is None or self.scale_max is None:
                raise ValueError(f"question {self.id}: a scale question needs scale_min and scale_max")
            if self.scale_min >= self.scale_max:
                raise ValueError(f"question {self.id}: scale_min must be below scale_max")
            clash = [c for c in self.dont_know if self.scale_min <= c <= self.scale_max]
            if clash:
                raise ValueError(f"question {self.id}: don't-know code {clash[0]} lies inside the scale")
            if self.positive is not None:
                if not self.positive:
                    raise ValueError(f"question {self.id}: positive codes are empty")
                bad = [c for c in self.positive if not self.scale_min <= c <= self.scale_max]
                if bad:
                    raise ValueError(f"question {self.id}: positive code {bad[0]} is outside the scale")
            bad_labels = [c for c in self.labels if c not in self.dont_know
                          and not self.scale_min <= c <= self.scale_max]
            if bad_labels:
                raise ValueError(f"question {self.id}: label code {bad_labels[0]} is neither on the scale "
                                 "nor a don't-know code")

    @property
    def is_scale(self) -> bool:
        return self.kind == "scale"

    def positive_codes(self) -> tuple[int, ...]:
        """Codes counted as positive; default: above the midpoint after orientation."""
        if self.positive is not None:
            return self.positive
        assert self.scale_min is not None and self.scale_max is not None
        mid = (self.scale_min + self.scale_max) / 2
        codes = range(self.scale_min, self.scale_max + 1)
        if self.direction == 1:
            return tuple(c for c in codes if c > mid)
        return tuple(c for c in codes if c < mid)

    def rescale(self, values: np.ndarray) -> np.ndarray:
        """Linear 0–100 (SKR/SCB style): ``100 × (x − min) / (max − min)``, reversed for direction down."""
        assert self.scale_min is not None and self.scale_max is not None
        span = self.scale_max - self.scale_min
        values = np.asarray(values, dtype=float)
        if self.direction == 1:
            return 100.0 * (values - self.scale_min) / span
        return 100.0 * (self.scale_max - values) / span

    def as_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.id, "text": self.text, "type": self.kind,
            "scale_min": self.scale_min, "scale_max": self.scale_max,
            "direction": "up" if self.direction == 1 else "down",
            "indices": list(self.indices),
            "positive": list(self.positive_codes()) if self.is_scale else None,
            "dont_know": list(self.dont_know),
            "labels": {str(k): v for k, v in sorted(self.labels.items())},
        }


def _normalise_column(name: str) -> str:
    """Canonical form used to match file columns to question ids (LimeSurvey, Kobo, case)."""
    text = name.strip()
    if "/" in text:  # KoboToolbox group prefix: group_a/q1
        text = text.rsplit("/", 1)[1]
    text = text.replace("[", "_").replace("]", "").replace(".", "_").replace("-", "_")
    return text.lower()


@dataclass(frozen=True)
class Instrument:
    """A named, ordered set of questions."""

    name: str
    questions: tuple[Question, ...]
    title: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 100:
            raise ValueError("an instrument needs a name of at most 100 characters")
        seen: set[str] = set()
        for q in self.questions:
            if q.id in seen:
                raise ValueError(f"question id {q.id!r} appears twice in instrument {self.name!r}")
            seen.add(q.id)
        if not any(q.is_scale for q in self.questions):
            raise ValueError(f"instrument {self.name!r} has no scale questions")
        normalised: dict[str, str] = {}
        for q in self.questions:
            key = _normalise_column(q.id)
            if key in normalised:
                raise ValueError(f"question ids {normalised[key]!r} and {q.id!r} are too alike to tell apart")
            normalised[key] = q.id

    @property
    def scale_questions(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.is_scale)

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    @property
    def indices(self) -> dict[str, tuple[str, ...]]:
        """Index name → ids of its (scale) questions, in instrument order."""
        out: dict[str, list[str]] = {}
        for q in self.scale_questions:
            for name in q.indices:
                out.setdefault(name, []).append(q.id)
        return {k: tuple(v) for k, v in out.items()}

    def match_column(self, column: str) -> str | None:
        """The question id a file column refers to (exact, then LimeSurvey/Kobo-normalised), or None."""
        if column in self.question_ids:
            return column
        key = _normalise_column(column)
        for q in self.questions:
            if _normalise_column(q.id) == key:
                return q.id
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "description": self.description,
                "questions": [q.as_dict() for q in self.questions], "indices": {k: list(v) for k, v in
                                                                                self.indices.items()}}


_COLUMN_ALIASES = {
    "question_id": ("question_id", "question", "id", "code", "fraga", "fråga", "fragekod", "frågekod"),
    "text": ("text", "question_text", "wording", "fragetext", "frågetext", "lydelse"),
    "scale_min": ("scale_min", "min", "skala_min"),
    "scale_max": ("scale_max", "max", "skala_max"),
    "direction": ("direction", "riktning"),
    "index": ("index", "indices", "index_name"),
    "positive": ("positive", "positiva", "positive_codes"),
    "dont_know": ("dont_know", "don't_know", "vet_ej", "dont_know_codes"),
    "labels": ("labels", "etiketter", "svarsalternativ"),
    "type": ("type", "kind", "typ"),
}


def _record_value(record: Mapping[str, Any], key: str) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    for alias in _COLUMN_ALIASES[key]:
        if alias in lowered:
            value = lowered[alias]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return None
            if isinstance(value, str) and not value.strip():
                return None
            return value
    return None


def question_from_record(record: Mapping[str, Any]) -> Question:
    """Build a :class:`Question` from one row/dict of a definition (see module doc for the columns)."""
    qid = _record_value(record, "question_id")
    if qid is None:
        raise ValueError("question_id is missing")
    kind = str(_record_value(record, "type") or "scale").strip().lower()
    if kind in ("fritext", "free_text", "freetext", "open"):
        kind = "text"
    scale_min = _record_value(record, "scale_min")
    scale_max = _record_value(record, "scale_max")
    positive = _record_value(record, "positive")
    return Question(
        id=str(qid).strip(),
        text=str(_record_value(record, "text") or ""),
        scale_min=None if kind == "text" else int(float(scale_min if scale_min is not None else 1)),
        scale_max=None if kind == "text" else int(float(scale_max if scale_max is not None else 5)),
        direction=parse_direction(_record_value(record, "direction")),
        indices=tuple(_split(_record_value(record, "index"))),
        positive=_codes(positive) if positive is not None else None,
        dont_know=_codes(_record_value(record, "dont_know")),
        labels=_labels(_record_value(record, "labels")),
        kind=kind,
    )


def instrument_from_records(name: str, records: Iterable[Mapping[str, Any]], *, title: str = "",
                            description: str = "", file: str = "instrument") -> Instrument:
    """Build an instrument from rows; every bad row is reported (row 2 = first data row)."""
    questions: list[Question] = []
    problems: list[Problem] = []
    for i, record in enumerate(records):
        try:
            questions.append(question_from_record(record))
        except (ValueError, TypeError) as exc:
            problems.append(Problem(file, i + 2, None, str(exc)))
    if problems:
        raise ValidationFailed(problems, what=f"instrument {name!r}")
    try:
        return Instrument(name=name, questions=tuple(questions), title=title, description=description)
    except ValueError as exc:
        raise ValidationFailed([Problem(file, None, None, str(exc))], what=f"instrument {name!r}") from exc


def instrument_from_dict(data: Mapping[str, Any], *, name: str | None = None, file: str = "instrument") -> Instrument:
    """Build an instrument from ``{"name", "title", "description", "questions": [...]}``."""
    final = name or data.get("name")
    if not final:
        raise ValidationFailed([Problem(file, None, "name", "the instrument has no name")], what="instrument")
    questions = data.get("questions") or []
    if not isinstance(questions, list):
        raise ValidationFailed([Problem(file, None, "questions", "questions must be a list")], what="instrument")
    return instrument_from_records(str(final), questions, title=str(data.get("title") or ""),
                                   description=str(data.get("description") or ""), file=file)


def read_instrument(path: str | Path, *, name: str | None = None) -> Instrument:
    """Read an instrument definition from CSV, Excel (first sheet), JSON or TOML."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return instrument_from_dict(json.loads(path.read_text(encoding="utf-8")), name=name, file=path.name)
    if suffix == ".toml":
        return instrument_from_dict(tomllib.loads(path.read_text(encoding="utf-8")), name=name, file=path.name)
    if suffix in (".xlsx", ".xlsm", ".xls"):
        frame = pd.read_excel(path, dtype=str)
    else:
        from .tables import sniff_delimiter

        frame = pd.read_csv(path, dtype=str, sep=sniff_delimiter(path), encoding="utf-8-sig")
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return instrument_from_records(name or path.stem, records, file=path.name)
