"""Excel round trip of a partnership's goals, measurements and activities (pure: bytes in, bytes out).

:func:`write_workbook` makes a workbook with an ``Info`` sheet (which partnership, when, how to fill it in,
what each column means) and the sheets ``Goals``, ``Measurements`` and ``Activities``; row 1 holds the
column keys, data starts on row 2. :func:`read_workbook` reads such a workbook back, coercing every cell
and reporting problems as (file, sheet, row, column, reason). :func:`plan_upload` turns the rows into
create/update operations, validated with the same pydantic models as the API and checked against the
current state (passed in as :class:`UploadContext`), so a caller writes nothing unless there is no problem.

Upload rules: a row with an ``id`` updates that entity (its ``version`` must be the current one; an
unchanged row is skipped, so uploading a downloaded workbook changes nothing); a row without ``id``
creates one. Rows are never deleted by an upload. Measurements are created as drafts; approved and
statistics-filled measurements cannot be changed. Grey columns are read-only and ignored on upload.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from handslag.errors import Problem

from .schemas import ActivityIn, GoalIn, MeasurementIn
from .vocab import (
    ActivityStatus,
    Aggregation,
    Direction,
    GoalKind,
    Measure,
    MeasurementSource,
    TrajectoryShape,
    Unit,
)

INFO = "Info"
GOALS = "Goals"
MEASUREMENTS = "Measurements"
ACTIVITIES = "Activities"


@dataclass(frozen=True)
class Column:
    key: str
    kind: str = "str"  # str, int, float, date, enum
    required: bool = False
    readonly: bool = False
    choices: tuple[str, ...] = ()
    help_sv: str = ""
    width: int = 14


def _enum(e) -> tuple[str, ...]:
    return tuple(m.value for m in e)


SHEETS: dict[str, list[Column]] = {
    GOALS: [
        Column("id", "int", help_sv="Målets id (tomt för ett nytt mål)", width=6),
        Column("version", "int", help_sv="Version vid nedladdning; ändra inte", width=8),
        Column("title", required=True, help_sv="Målets namn", width=40),
        Column("description", help_sv="Beskrivning", width=30),
        Column("kind", "enum", True, choices=_enum(GoalKind),
               help_sv="statistic = följs med statistik, partner_reported = parterna rapporterar", width=16),
        Column("unit", "enum", True, choices=_enum(Unit), help_sv="persons, companies, percentage_points, share"),
        Column("measure", "enum", choices=_enum(Measure), help_sv="level = nivå, change = förändring sedan basåret"),
        Column("baseline_value", "float", True, help_sv="Utgångsvärde"),
        Column("baseline_year", "int", True, help_sv="Basår"),
        Column("target_value", "float", True, help_sv="Målvärde"),
        Column("target_year", "int", True, help_sv="Målår"),
        Column("direction", "enum", choices=_enum(Direction), help_sv="increase/decrease (härleds om tomt)"),
        Column("indicator", help_sv="Indikator-id för statistikmål, t.ex. employment_20_64", width=20),
        Column("aggregation", "enum", choices=_enum(Aggregation), help_sv="Hur områdenas värden läggs ihop"),
        Column("responsible_organisation", help_sv="Ansvarig part (namn eller id)", width=22),
        Column("trajectory", "enum", choices=_enum(TrajectoryShape), help_sv="Förväntad bana (linear …)"),
        Column("areas", help_sv="Områden, t.ex. '1480C3390 DeSO2025; 1480C3400 DeSO2025'; tomt = partnerskapets",
               width=30),
        Column("source_note", help_sv="Källa/kommentar", width=30),
    ],
    MEASUREMENTS: [
        Column("id", "int", help_sv="Mätningens id (tomt för en ny)", width=6),
        Column("version", "int", help_sv="Version vid nedladdning; ändra inte", width=8),
        Column("goal_id", "int", help_sv="Målets id (eller ange goal_title)", width=8),
        Column("goal_title", help_sv="Målets namn (används om goal_id är tomt)", width=36),
        Column("period", "str", True, help_sv="2024, 2024-Q3, 2024-H1, 2024-06 eller 2024-06-30", width=10),
        Column("value", "float", True, help_sv="Uppmätt värde"),
        Column("source", "enum", choices=_enum(MeasurementSource), help_sv="scb, kolada, survey, manual"),
        Column("evidence_note", help_sv="Underlag/kommentar", width=36),
        Column("state", readonly=True, help_sv="Status (skrivskyddad)"),
        Column("entered_by", readonly=True, help_sv="Registrerad av (skrivskyddad)"),
        Column("approved_by", readonly=True, help_sv="Godkänd av (skrivskyddad)"),
    ],
    ACTIVITIES: [
        Column("id", "int", help_sv="Aktivitetens id (tomt för en ny)", width=6),
        Column("version", "int", help_sv="Version vid nedladdning; ändra inte", width=8),
        Column("title", required=True, help_sv="Aktivitet", width=36),
        Column("organisation", help_sv="Ansvarig part (namn eller id)", width=22),
        Column("description", help_sv="Beskrivning", width=30),
        Column("start_date", "date", True, help_sv="Startdatum (ÅÅÅÅ-MM-DD)", width=12),
        Column("end_date", "date", help_sv="Slutdatum", width=12),
        Column("budget_sek", "float", help_sv="Budget, kr"),
        Column("spent_sek", "float", help_sv="Förbrukat, kr"),
        Column("status", "enum", choices=_enum(ActivityStatus), help_sv="planned, ongoing, completed, cancelled"),
        Column("goals", help_sv="Mål som aktiviteten bidrar till: id eller namn, separerade med ;", width=24),
        Column("outputs", help_sv="Prestationer, t.ex. 'summer jobs offered: 252; trainee places: 15'", width=36),
    ],
}


# ---- writing -------------------------------------------------------------------------------------------

def _cell_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, list | dict):
        return str(value)
    if hasattr(value, "value") and not isinstance(value, str | int | float):  # enums
        return value.value
    return value


def write_workbook(info: dict[str, Any], rows: dict[str, list[dict]]) -> bytes:
    """A workbook with the Info sheet and one sheet per entry of :data:`SHEETS` (rows keyed by column)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = INFO
    bold = Font(bold=True)
    grey = PatternFill("solid", fgColor="DDDDDD")
    ws.append(["key", "value"])
    for key, value in info.items():
        ws.append([key, _cell_value(value)])
    ws.append([])
    ws.append(["Instruktioner"])
    ws.cell(ws.max_row, 1).font = bold
    for line in (
        "Fyll i eller ändra rader i flikarna Goals, Measurements och Activities och ladda upp filen igen.",
        "En rad med id uppdaterar, en rad utan id skapar en ny. Rader tas aldrig bort via uppladdning.",
        "Ändra inte id eller version. Grå kolumner är skrivskyddade och läses inte vid uppladdning.",
        "Nya mätningar sparas som utkast och måste skickas in och godkännas. Godkända mätningar kan inte ändras.",
        "Om någon rad är fel sparas ingenting; felen listas med flik, rad, kolumn och orsak.",
    ):
        ws.append([line])
    ws.append([])
    ws.append(["sheet", "column", "required", "read-only", "allowed values", "beskrivning"])
    for c in ws[ws.max_row]:
        c.font = bold
    for sheet, cols in SHEETS.items():
        for col in cols:
            ws.append([sheet, col.key, "yes" if col.required else "", "yes" if col.readonly else "",
                       ", ".join(col.choices), col.help_sv])
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["F"].width = 60
    ws["A1"].font = ws["B1"].font = bold

    for sheet, cols in SHEETS.items():
        ws = wb.create_sheet(sheet)
        ws.append([c.key for c in cols])
        for i, col in enumerate(cols, start=1):
            cell = ws.cell(1, i)
            cell.font = bold
            cell.comment = Comment(col.help_sv + (" (obligatorisk)" if col.required else ""), "Handslag")
            if col.readonly:
                cell.fill = grey
            ws.column_dimensions[get_column_letter(i)].width = col.width
        for row in rows.get(sheet, []):
            ws.append([_cell_value(row.get(c.key)) for c in cols])
        last = max(ws.max_row, 2) + 500
        for i, col in enumerate(cols, start=1):
            letter = get_column_letter(i)
            if col.kind == "enum":
                dv = DataValidation(type="list", formula1='"' + ",".join(col.choices) + '"', allow_blank=True)
                dv.error = f"{col.key}: {', '.join(col.choices)}"
                ws.add_data_validation(dv)
                dv.add(f"{letter}2:{letter}{last}")
            if col.kind == "date":
                for r in range(2, ws.max_row + 1):
                    ws.cell(r, i).number_format = "yyyy-mm-dd"
            if col.readonly:
                for r in range(2, ws.max_row + 1):
                    ws.cell(r, i).fill = grey
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---- reading -------------------------------------------------------------------------------------------

@dataclass
class SheetRow:
    sheet: str
    row: int  # 1-based as in Excel; the header is row 1
    values: dict[str, Any]  # editable columns present in the sheet, coerced; None for empty cells
    bad: set[str] = field(default_factory=set)  # columns already reported by read_workbook


@dataclass
class Workbook:
    info: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, list[SheetRow]] = field(default_factory=dict)
    columns: dict[str, set[str]] = field(default_factory=dict)  # editable columns present per sheet


def _coerce(col: Column, value: Any) -> Any:
    """Convert one cell; raises ``ValueError`` with the reason."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if col.kind == "str":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, datetime | date):
            return value.strftime("%Y-%m-%d")
        return str(value).strip()
    if col.kind == "int":
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        text = str(value).strip().replace("\u00a0", "").replace(" ", "")
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        raise ValueError(f"expected a whole number, got {value!r}")
    if col.kind == "float":
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        if isinstance(value, int | float):
            return float(value)
        text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
    if col.kind == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise ValueError(f"expected a date (YYYY-MM-DD), got {value!r}") from None
    if col.kind == "enum":
        text = str(value).strip()
        if text not in col.choices:
            raise ValueError(f"{text!r} is not one of {', '.join(col.choices)}")
        return text
    raise ValueError(f"unknown column type {col.kind}")  # pragma: no cover


def read_workbook(data: bytes, filename: str = "upload.xlsx") -> tuple[Workbook, list[Problem]]:
    """Read an uploaded workbook; every problem is reported, nothing is raised for bad content."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    problems: list[Problem] = []
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        reason = "the file is not an Excel workbook (.xlsx)"
        if not isinstance(exc, zipfile.BadZipFile):
            reason += f": {exc}"
        return Workbook(), [Problem(filename, None, None, reason)]
    out = Workbook()
    try:
        if INFO in wb.sheetnames:
            for row in wb[INFO].iter_rows(min_row=2, max_col=2, values_only=True):
                if row and row[0] is not None and len(row) > 1 and row[1] is not None:
                    out.info[str(row[0]).strip()] = row[1]
        for sheet, cols in SHEETS.items():
            if sheet not in wb.sheetnames:
                problems.append(Problem(filename, None, None, f"sheet {sheet!r} is missing", sheet=sheet))
                continue
            ws = wb[sheet]
            rows = ws.iter_rows(values_only=True)
            header = next(rows, None) or ()
            names = [None if h is None else str(h).strip() for h in header]
            by_key = {c.key: c for c in cols}
            positions: dict[str, int] = {}
            for i, name in enumerate(names):
                if name is None or name not in by_key:
                    continue
                if name in positions:
                    problems.append(Problem(filename, 1, name, "column appears twice", sheet=sheet))
                positions[name] = i
            for col in cols:
                if col.required and col.key not in positions:
                    problems.append(Problem(filename, 1, col.key, "required column is missing", sheet=sheet))
            editable = [c for c in cols if c.key in positions and not c.readonly]
            out.columns[sheet] = {c.key for c in editable}
            out.rows[sheet] = []
            for r, raw in enumerate(rows, start=2):
                cells = {c.key: (raw[positions[c.key]] if positions[c.key] < len(raw) else None) for c in editable}
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells.values()):
                    continue
                values: dict[str, Any] = {}
                bad: set[str] = set()
                for col in editable:
                    try:
                        values[col.key] = _coerce(col, cells[col.key])
                    except ValueError as exc:
                        problems.append(Problem(filename, r, col.key, str(exc), sheet=sheet))
                        values[col.key] = None
                        bad.add(col.key)
                    if col.required and values[col.key] is None and col.key not in bad:
                        problems.append(Problem(filename, r, col.key, "a value is required", sheet=sheet))
                        bad.add(col.key)
                out.rows[sheet].append(SheetRow(sheet, r, values, bad))
    finally:
        wb.close()
    return out, problems


# ---- planning ------------------------------------------------------------------------------------------

@dataclass
class UploadContext:
    """The current state an upload is checked against (filled by the store adapter)."""

    partnership_id: int
    organisations: dict[int, str]  # member organisation id → name
    goals: dict[int, dict]  # id → {"version", "data": GoalIn fields}
    measurements: dict[int, dict]  # id → {"version", "state", "from_statistics", "data": MeasurementIn fields}
    activities: dict[int, dict]  # id → {"version", "data": ActivityIn fields}


@dataclass
class Operation:
    sheet: str
    row: int
    entity: str  # goal, measurement, activity
    action: str  # create, update
    entity_id: int | None
    version: int | None
    data: dict  # validated In fields; goal references still unresolved where noted in refs
    refs: dict = field(default_factory=dict)  # goal_title / goals: titles of goals created in this upload


@dataclass
class Plan:
    operations: list[Operation] = field(default_factory=list)
    unchanged: int = 0

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for op in self.operations:
            out.setdefault(op.entity, {"create": 0, "update": 0})[op.action] += 1
        return out


AREA_ITEM = re.compile(r"^\s*(\S+)\s*(?:\(|\s)\s*([A-Za-z]+\d{0,4})\)?\s*$")
OUTPUT_ITEM = re.compile(r"^\s*(.+?)\s*:\s*(-?[\d\s\u00a0]*[\d][\d\s\u00a0]*(?:[.,]\d+)?)\s*(.*?)\s*$")


def parse_areas(text: str | None) -> list[dict] | None:
    if text is None or not str(text).strip():
        return None
    out = []
    for item in re.split(r"[;\n]", str(text)):
        if not item.strip():
            continue
        m = AREA_ITEM.match(item)
        if not m:
            raise ValueError(f"{item.strip()!r} is not 'CODE DIVISION' (e.g. '1480C3390 DeSO2025')")
        out.append({"code": m[1], "division": m[2]})
    return out


def format_areas(areas: list[dict] | None) -> str | None:
    if not areas:
        return None
    return "; ".join(f"{a['code']} {a['division']}" for a in areas)


def parse_outputs(text: str | None) -> list[dict]:
    if text is None or not str(text).strip():
        return []
    out = []
    for item in re.split(r"[;\n]", str(text)):
        if not item.strip():
            continue
        m = OUTPUT_ITEM.match(item)
        if not m:
            raise ValueError(f"{item.strip()!r} is not 'name: number [unit]' (e.g. 'summer jobs offered: 252')")
        number = float(re.sub(r"[\s\u00a0]", "", m[2]).replace(",", "."))
        out.append({"name": m[1], "value": number, "unit": m[3] or None})
    return out


def format_outputs(outputs: list[dict] | None) -> str | None:
    if not outputs:
        return None
    parts = []
    for o in outputs:
        v = o["value"]
        v = int(v) if float(v).is_integer() else v
        parts.append(f"{o['name']}: {v}{(' ' + o['unit']) if o.get('unit') else ''}")
    return "; ".join(parts)


def _same(a: dict, b: dict) -> bool:
    return to_jsonable_python(a) == to_jsonable_python(b)


def _pydantic_problems(exc: ValidationError, filename: str, sheet: str, row: int, rename: dict[str, str]) -> list:
    out = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ())]
        column = rename.get(loc[0], loc[0]) if loc else None
        out.append(Problem(filename, row, column, err.get("msg", "invalid").removeprefix("Value error, "),
                           sheet=sheet))
    return out


def _org_ref(value: Any, ctx: UploadContext) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    if text.isdigit() and int(text) in ctx.organisations:
        return int(text)
    for oid, name in ctx.organisations.items():
        if name.strip().lower() == text.lower():
            return oid
    raise ValueError(f"{text!r} is not a member organisation of the partnership "
                     f"({', '.join(sorted(ctx.organisations.values())) or 'none'})")


def _validated(model: type[BaseModel], data: dict, filename: str, r: SheetRow, rename: dict[str, str],
               problems: list[Problem]) -> BaseModel | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:  # cells already reported by read_workbook are not reported twice
        problems.extend(p for p in _pydantic_problems(exc, filename, r.sheet, r.row, rename) if p.column not in r.bad)
        return None


def _check_update(sheet: str, r: SheetRow, current: dict | None, entity: str, filename: str,
                  problems: list[Problem]) -> bool:
    """True when the row refers to an existing entity that can be compared; adds problems otherwise."""
    if current is None:
        problems.append(Problem(filename, r.row, "id", f"{entity} {r.values['id']} is not a {entity} of this "
                                f"partnership", sheet=sheet))
        return False
    return True


def _version_problem(r: SheetRow, current: dict, entity: str, filename: str, sheet: str) -> Problem | None:
    version = r.values.get("version")
    if version is None:
        return Problem(filename, r.row, "version", f"the version is needed to change {entity} {r.values['id']}",
                       sheet=sheet)
    if version != current["version"]:
        return Problem(filename, r.row, "version", f"{entity} {r.values['id']} was changed by someone else since "
                       f"this file was downloaded (version {version}, now {current['version']}); download it again",
                       sheet=sheet)
    return None


def plan_upload(book: Workbook, ctx: UploadContext, filename: str = "upload.xlsx") -> tuple[Plan, list[Problem]]:
    """Validate every row and turn the workbook into operations (see the module text)."""
    problems: list[Problem] = []
    plan = Plan()
    pid = ctx.partnership_id
    info_pid = book.info.get("partnership_id")
    if info_pid is not None and str(info_pid).strip() not in ("", str(pid)):
        problems.append(Problem(filename, None, "partnership_id", f"this workbook belongs to partnership {info_pid}, "
                                f"not {pid}", sheet=INFO))

    # --- goals
    existing_titles = {g["data"]["title"].strip().lower(): gid for gid, g in ctx.goals.items()}
    sheet_titles: dict[str, int] = {}
    new_goal_titles: set[str] = set()
    goal_cols = book.columns.get(GOALS, set())
    for r in book.rows.get(GOALS, []):
        v = dict(r.values)
        title = (v.get("title") or "").strip().lower()
        if title:
            clash = v.get("id") is None and existing_titles.get(title) is not None
            if title in sheet_titles and not clash:
                problems.append(Problem(filename, r.row, "title",
                                        f"the title is also used on row {sheet_titles[title]}", sheet=GOALS))
            sheet_titles[title] = r.row
        current = None
        if v.get("id") is not None:
            current = ctx.goals.get(v["id"])
            if not _check_update(GOALS, r, current, "goal", filename, problems):
                continue
        data = dict(current["data"]) if current else {"partnership_id": pid}
        data["partnership_id"] = pid
        for key in goal_cols - {"id", "version", "responsible_organisation", "areas"}:
            data[key] = v.get(key)
        try:
            if "responsible_organisation" in goal_cols:
                data["responsible_organisation_id"] = _org_ref(v.get("responsible_organisation"), ctx)
        except ValueError as exc:
            problems.append(Problem(filename, r.row, "responsible_organisation", str(exc), sheet=GOALS))
        try:
            if "areas" in goal_cols:
                data["areas"] = parse_areas(v.get("areas"))
        except ValueError as exc:
            problems.append(Problem(filename, r.row, "areas", str(exc), sheet=GOALS))
        for key in ("measure", "trajectory"):  # blank: keep the current value, or the default for a new goal
            if data.get(key) is None:
                if current:
                    data[key] = current["data"][key]
                else:
                    data.pop(key, None)
        model = _validated(GoalIn, data, filename, r, {"responsible_organisation_id": "responsible_organisation"},
                           problems)
        if model is None:
            continue
        dumped = model.model_dump()
        if current:
            if _same(dumped, GoalIn.model_validate(current["data"]).model_dump()):
                plan.unchanged += 1
                continue
            if (p := _version_problem(r, current, "goal", filename, GOALS)) is not None:
                problems.append(p)
                continue
            plan.operations.append(Operation(GOALS, r.row, "goal", "update", v["id"], current["version"], dumped))
        else:
            if title in existing_titles:
                problems.append(Problem(filename, r.row, "title", f"a goal with this title exists (id "
                                        f"{existing_titles[title]}); give its id to change it", sheet=GOALS))
                continue
            new_goal_titles.add(title)
            plan.operations.append(Operation(GOALS, r.row, "goal", "create", None, None, dumped))

    def goal_ref(value: Any) -> tuple[int | None, str | None]:
        """(existing goal id, or None and the title of a goal created in this upload)."""
        text = str(value).strip()
        if text.isdigit() and int(text) in ctx.goals:
            return int(text), None
        key = text.lower()
        if key in existing_titles:
            return existing_titles[key], None
        if key in new_goal_titles:
            return None, key
        raise ValueError(f"{text!r} is not a goal of this partnership (give its id or exact title)")

    # --- measurements
    for r in book.rows.get(MEASUREMENTS, []):
        v = dict(r.values)
        current = None
        if v.get("id") is not None:
            current = ctx.measurements.get(v["id"])
            if not _check_update(MEASUREMENTS, r, current, "measurement", filename, problems):
                continue
        gid, new_title = None, None
        try:
            if v.get("goal_id") is not None:
                if v["goal_id"] not in ctx.goals:
                    raise ValueError(f"goal {v['goal_id']} is not a goal of this partnership")
                gid = v["goal_id"]
            elif v.get("goal_title"):
                gid, new_title = goal_ref(v["goal_title"])
            elif current:
                gid = current["data"]["goal_id"]
            else:
                raise ValueError("give goal_id or goal_title")
        except ValueError as exc:
            problems.append(Problem(filename, r.row, "goal_id" if v.get("goal_id") is not None else "goal_title",
                                    str(exc), sheet=MEASUREMENTS))
            continue
        data = dict(current["data"]) if current else {}
        data["goal_id"] = gid if gid is not None else 0
        for key in book.columns.get(MEASUREMENTS, set()) - {"id", "version", "goal_id", "goal_title"}:
            if key == "source" and v.get(key) is None:
                continue
            data[key] = v.get(key)
        model = _validated(MeasurementIn, data, filename, r, {}, problems)
        if model is None:
            continue
        dumped = model.model_dump()
        if current:
            if current["data"]["goal_id"] != gid:
                problems.append(Problem(filename, r.row, "goal_id", "a measurement cannot move to another goal",
                                        sheet=MEASUREMENTS))
                continue
            if _same(dumped, MeasurementIn.model_validate(current["data"]).model_dump()):
                plan.unchanged += 1
                continue
            if current.get("from_statistics"):
                problems.append(Problem(filename, r.row, "value", "this measurement comes from official statistics "
                                        "and cannot be changed", sheet=MEASUREMENTS))
                continue
            if current["state"] not in ("draft", "rejected"):
                problems.append(Problem(filename, r.row, "value", f"the measurement is {current['state']} and cannot "
                                        "be changed; add a new row instead", sheet=MEASUREMENTS))
                continue
            if (p := _version_problem(r, current, "measurement", filename, MEASUREMENTS)) is not None:
                problems.append(p)
                continue
            plan.operations.append(Operation(MEASUREMENTS, r.row, "measurement", "update", v["id"],
                                             current["version"], dumped))
        else:
            plan.operations.append(Operation(MEASUREMENTS, r.row, "measurement", "create", None, None, dumped,
                                             refs={"goal_title": new_title} if new_title else {}))

    # --- activities
    act_cols = book.columns.get(ACTIVITIES, set())
    for r in book.rows.get(ACTIVITIES, []):
        v = dict(r.values)
        current = None
        if v.get("id") is not None:
            current = ctx.activities.get(v["id"])
            if not _check_update(ACTIVITIES, r, current, "activity", filename, problems):
                continue
        data = dict(current["data"]) if current else {}
        data["partnership_id"] = pid
        for key in act_cols - {"id", "version", "organisation", "goals", "outputs"}:
            if key == "status" and v.get(key) is None and not current:
                continue
            data[key] = v.get(key)
        new_titles: list[str] = []
        try:
            if "organisation" in act_cols:
                data["organisation_id"] = _org_ref(v.get("organisation"), ctx)
        except ValueError as exc:
            problems.append(Problem(filename, r.row, "organisation", str(exc), sheet=ACTIVITIES))
        try:
            if "outputs" in act_cols:
                data["outputs"] = parse_outputs(v.get("outputs"))
        except ValueError as exc:
            problems.append(Problem(filename, r.row, "outputs", str(exc), sheet=ACTIVITIES))
        try:
            if "goals" in act_cols:
                ids = []
                for item in re.split(r"[;\n]", v.get("goals") or ""):
                    if item.strip():
                        gid, title = goal_ref(item)
                        if gid is not None:
                            ids.append(gid)
                        else:
                            new_titles.append(title)
                data["goal_ids"] = ids
        except ValueError as exc:
            problems.append(Problem(filename, r.row, "goals", str(exc), sheet=ACTIVITIES))
        model = _validated(ActivityIn, data, filename, r, {"organisation_id": "organisation", "goal_ids": "goals"},
                           problems)
        if model is None:
            continue
        dumped = model.model_dump()
        if current:
            if not new_titles and _same(dumped, ActivityIn.model_validate(current["data"]).model_dump()):
                plan.unchanged += 1
                continue
            if (p := _version_problem(r, current, "activity", filename, ACTIVITIES)) is not None:
                problems.append(p)
                continue
            plan.operations.append(Operation(ACTIVITIES, r.row, "activity", "update", v["id"], current["version"],
                                             dumped, refs={"goals": new_titles}))
        else:
            plan.operations.append(Operation(ACTIVITIES, r.row, "activity", "create", None, None, dumped,
                                             refs={"goals": new_titles}))
    return plan, sort_problems(problems)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """File-level problems first, then by sheet (in workbook order), row and column order."""
    order = {sheet: i for i, sheet in enumerate(SHEETS)}
    columns = {(sheet, c.key): i for sheet, cols in SHEETS.items() for i, c in enumerate(cols)}
    return sorted(problems, key=lambda p: (order.get(p.sheet, -1), p.row or 0,
                                           columns.get((p.sheet, p.column), -1 if p.column is None else 99)))
