"""``handslag survey …``, ``handslag operations …`` and ``handslag properties …``."""

from __future__ import annotations

import functools
import json
import os
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path

import pandas as pd
import typer

from handslag.errors import HandslagError, ValidationFailed
from handslag.operations import read_kpi_definitions
from handslag.store import operations_repo as ops_repo
from handslag.store import surveys_repo as survey_repo
from handslag.surveys import DEFAULT_MIN_GROUP_SIZE, METHODS, check_min_group_size, read_instrument, write_table
from handslag.surveys.tables import frames_to_xlsx

from ._common import OutputFormat, open_database, print_frame

survey_app = typer.Typer(help="Hyresgäst- och trygghetsenkäter: instrument, vågor, import, index.",
                         no_args_is_help=True)
operations_app = typer.Typer(help="Superförvaltning: felanmälningar, bemanning, nyckeltal.", no_args_is_help=True)
properties_app = typer.Typer(help="Fastighetsregister: fastigheter placerade i DeSO/RegSO.", no_args_is_help=True)

DB_OPTION = typer.Option(None, "--database-url", envvar="HANDSLAG_DATABASE_URL", help="SQLAlchemy URL")
OUTPUT_OPTION = typer.Option(None, "--output", "-o", help="Write the result to a .csv or .xlsx file")


class FileFormat(StrEnum):
    auto = "auto"
    long = "long"
    wide = "wide"
    limesurvey = "limesurvey"
    kobo = "kobo"
    aggregated = "aggregated"


class Method(StrEnum):
    both = "both"
    share_positive = "share_positive"
    linear_mean = "linear_mean"


class OpsKind(StrEnum):
    work_orders = "work-orders"
    rosters = "rosters"
    kpi_values = "kpi-values"


class OpsTable(StrEnum):
    work_orders = "work_orders"
    rosters = "rosters"
    kpis = "kpis"


def register(app: typer.Typer) -> None:
    app.add_typer(survey_app, name="survey")
    app.add_typer(operations_app, name="operations")
    app.add_typer(properties_app, name="properties")


def _errors(fn):
    """One clear line (or the problem list) on stderr and a non-zero exit instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValidationFailed as exc:
            print(exc.format(50), file=sys.stderr)
            raise typer.Exit(2) from None
        except (HandslagError, ValueError, FileNotFoundError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            print(f"error: {message}", file=sys.stderr)
            raise typer.Exit(1) from None

    return wrapper


def _min_group(requested: int | None) -> int:
    raw = os.environ.get("HANDSLAG_SURVEY_MIN_GROUP")
    base = check_min_group_size(int(raw)) if raw else DEFAULT_MIN_GROUP_SIZE
    return max(base, check_min_group_size(requested)) if requested is not None else base


def _methods(method: Method) -> tuple[str, ...]:
    return METHODS if method == Method.both else (method.value,)


def _emit(frame: pd.DataFrame, fmt: OutputFormat, output: Path | None) -> None:
    if output is not None:
        write_table(frame, output)
        print(f"wrote {len(frame)} rows to {output}", file=sys.stderr)
        return
    print_frame(frame, fmt, json_records=survey_repo.records(frame) if fmt == OutputFormat.json else None)


def _print_report(report: survey_repo.ImportReport, fmt: OutputFormat) -> None:
    if fmt == OutputFormat.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
        return
    verb = "imported" if report.status == "ok" else "unchanged"
    print(f"{verb}: {report.kind} (import {report.import_id})")
    for key, value in report.counts.items():
        print(f"  {key}: {value}")
    for note in report.notes:
        print(f"  note: {note}")


# --- survey -----------------------------------------------------------------------------------------------


@survey_app.command("instrument")
@_errors
def instrument_cmd(path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, Excel, JSON or TOML"),
                   name: str | None = typer.Option(None, "--name", help="Instrument name (default: file name)"),
                   replace: bool = typer.Option(False, "--replace", help="Replace an instrument without data"),
                   database_url: str | None = DB_OPTION) -> None:
    """Define a survey instrument: questions, scales, direction, indices, don't-know codes."""
    instrument = read_instrument(path, name=name)
    db = open_database(database_url)
    with db.session() as session:
        survey_repo.save_instrument(session, instrument, replace=replace)
    indices = ", ".join(f"{k} ({len(v)})" for k, v in instrument.indices.items()) or "none"
    print(f"instrument {instrument.name}: {len(instrument.questions)} questions; indices: {indices}")


@survey_app.command("instruments")
@_errors
def instruments_cmd(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
                    database_url: str | None = DB_OPTION) -> None:
    """List survey instruments."""
    with open_database(database_url).session() as session:
        items = survey_repo.list_instruments(session)
    frame = pd.DataFrame([{**i, "indices": ", ".join(i["indices"])} for i in items],
                         columns=["id", "name", "title", "questions", "indices", "waves"])
    print_frame(frame, fmt, json_records=items if fmt == OutputFormat.json else None)


@survey_app.command("waves")
@_errors
def waves_cmd(instrument: str | None = typer.Option(None, "--instrument"),
              fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
              database_url: str | None = DB_OPTION) -> None:
    """List survey waves with sample size, respondents and response rate."""
    with open_database(database_url).session() as session:
        items = survey_repo.list_waves(session, instrument=instrument, min_group_size=_min_group(None))
    frame = pd.DataFrame([{k: v for k, v in w.items() if k != "areas"} | {"areas": len(w["areas"])} for w in items],
                         columns=["id", "name", "instrument", "fielded_on", "kind", "sample_size", "respondents",
                                  "response_rate", "areas"])
    print_frame(frame, fmt, json_records=items if fmt == OutputFormat.json else None)


def _parse_areas(values: list[str] | None) -> dict[str, int | None] | None:
    if not values:
        return None
    out: dict[str, int | None] = {}
    for item in values:
        for part in item.split(","):
            code, _, size = part.strip().partition(":")
            if code:
                out[code] = int(size) if size else None
    return out


@survey_app.command("import")
@_errors
def import_cmd(path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or Excel file"),
               wave: str = typer.Option(..., "--wave", "-w", help="Wave name (created when --instrument and --date "
                                                                  "are given and it does not exist)"),
               file_format: FileFormat = typer.Option(FileFormat.auto, "--file-format", "-t",
                                                      help="long, wide, limesurvey, kobo or aggregated"),
               instrument: str | None = typer.Option(None, "--instrument", "-i"),
               fielded_on: str | None = typer.Option(None, "--date", help="Fieldwork start, YYYY-MM-DD"),
               fielded_to: str | None = typer.Option(None, "--date-to", help="Fieldwork end, YYYY-MM-DD"),
               sample_size: int | None = typer.Option(None, "--sample-size", min=1),
               area: list[str] | None = typer.Option(None, "--area", help="CODE or CODE:SAMPLE_SIZE (repeatable)"),
               population: Path | None = typer.Option(None, "--population", exists=True, dir_okay=False,
                                                      help="area_code, sex, age_group, population → weights"),
               area_column: str | None = typer.Option(None, "--area-column"),
               respondent_column: str | None = typer.Option(None, "--respondent-column"),
               division: str | None = typer.Option(None, "--division", help="e.g. DeSO2025 (default: newest)"),
               sheet: str | None = typer.Option(None, "--sheet", help="Excel sheet (default: the first)"),
               fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
               database_url: str | None = DB_OPTION) -> None:
    """Import survey answers (or aggregated results) into a wave; all or nothing."""
    new_wave = None
    if instrument and fielded_on:
        new_wave = survey_repo.NewWave(
            instrument=instrument, fielded_on=date.fromisoformat(fielded_on),
            fielded_to=date.fromisoformat(fielded_to) if fielded_to else None, sample_size=sample_size,
            areas=_parse_areas(area))
    db = open_database(database_url)
    report = survey_repo.import_survey_file(db, path, wave=wave, fmt=file_format.value, population=population,
                                            area_column=area_column, respondent_column=respondent_column,
                                            division=division, new_wave=new_wave, sheet=sheet)
    _print_report(report, fmt)


@survey_app.command("results")
@_errors
def results_cmd(wave: str = typer.Option(..., "--wave", "-w"), area: str | None = typer.Option(None, "--area"),
                division: str | None = typer.Option(None, "--division"),
                method: Method = typer.Option(Method.both, "--method"),
                indices_only: bool = typer.Option(False, "--indices-only"),
                min_group: int | None = typer.Option(None, "--min-group", help="Raise the suppression threshold"),
                fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
                output: Path | None = OUTPUT_OPTION, database_url: str | None = DB_OPTION) -> None:
    """Indices 0–100 with confidence intervals per area (suppressed below the minimum group size)."""
    with open_database(database_url).session() as session:
        frame = survey_repo.wave_results(session, wave, area_code=area, division=division, methods=_methods(method),
                                         min_group_size=_min_group(min_group), include_questions=not indices_only)
    _emit(frame, fmt, output)


@survey_app.command("compare")
@_errors
def compare_cmd(wave_a: str = typer.Argument(..., help="Earlier wave"), wave_b: str = typer.Argument(...),
                area: str | None = typer.Option(None, "--area"), division: str | None = typer.Option(None, "--division"),
                method: Method = typer.Option(Method.both, "--method"),
                min_group: int | None = typer.Option(None, "--min-group"),
                fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
                output: Path | None = OUTPUT_OPTION, database_url: str | None = DB_OPTION) -> None:
    """Change from one wave to another (value_b − value_a) with its confidence interval."""
    with open_database(database_url).session() as session:
        frame = survey_repo.compare_wave_results(session, wave_a, wave_b, area_code=area, division=division,
                                                 methods=_methods(method), min_group_size=_min_group(min_group))
    _emit(frame, fmt, output)


@survey_app.command("area")
@_errors
def area_cmd(code: str = typer.Argument(..., help="Area code (a RegSO includes its DeSO)"),
             division: str | None = typer.Option(None, "--division"),
             method: Method = typer.Option(Method.both, "--method"),
             indices_only: bool = typer.Option(False, "--indices-only"),
             min_group: int | None = typer.Option(None, "--min-group"),
             fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
             output: Path | None = OUTPUT_OPTION, database_url: str | None = DB_OPTION) -> None:
    """All survey results of one area over every wave."""
    with open_database(database_url).session() as session:
        frame = survey_repo.area_survey_table(session, code, division=division, methods=_methods(method),
                                              min_group_size=_min_group(min_group),
                                              include_questions=not indices_only)
    _emit(frame, fmt, output)


# --- operations -------------------------------------------------------------------------------------------


@operations_app.command("import")
@_errors
def ops_import_cmd(path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or Excel file"),
                   kind: OpsKind = typer.Option(..., "--kind", "-k", help="work-orders, rosters or kpi-values"),
                   source: str = typer.Option("default", "--source", help="System the work orders come from"),
                   crs: str | None = typer.Option(None, "--crs", help="sweref99tm or wgs84 (default: from columns)"),
                   division: str | None = typer.Option(None, "--division"),
                   sheet: str | None = typer.Option(None, "--sheet"),
                   fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
                   database_url: str | None = DB_OPTION) -> None:
    """Import work orders, duty rosters or manual KPI values; all or nothing."""
    db = open_database(database_url)
    if kind == OpsKind.work_orders:
        report = ops_repo.import_work_orders(db, path, source=source, crs=crs, division=division, sheet=sheet)
    elif kind == OpsKind.rosters:
        report = ops_repo.import_rosters(db, path, division=division, sheet=sheet)
    else:
        report = ops_repo.import_kpi_values(db, path, division=division, sheet=sheet)
    _print_report(report, fmt)


@operations_app.command("report")
@_errors
def ops_report_cmd(area: str = typer.Argument(..., help="Area code (a RegSO includes its DeSO)"),
                   division: str | None = typer.Option(None, "--division"),
                   start: str | None = typer.Option(None, "--from", help="First month, YYYY-MM"),
                   end: str | None = typer.Option(None, "--to", help="Last month, YYYY-MM"),
                   by_category: bool = typer.Option(False, "--by-category"),
                   table: OpsTable = typer.Option(OpsTable.work_orders, "--table", help="Which table to print"),
                   fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
                   output: Path | None = typer.Option(None, "--output", "-o",
                                                      help=".xlsx (all tables) or .csv (the --table)"),
                   database_url: str | None = DB_OPTION) -> None:
    """Work-order KPIs per month, roster coverage and the superförvaltning KPIs of an area."""
    with open_database(database_url).session() as session:
        tables = ops_repo.area_operations_tables(session, area, division=division, start=start, end=end,
                                                 by_category=by_category)
    tables["kpis"] = tables["kpis"].assign(goal_ids=[",".join(map(str, g)) for g in tables["kpis"]["goal_ids"]])
    if output is not None and output.suffix.lower() in (".xlsx", ".xlsm"):
        output.write_bytes(frames_to_xlsx(tables))
        print(f"wrote {', '.join(tables)} to {output}", file=sys.stderr)
        return
    _emit(tables[table.value], fmt, output)


@operations_app.command("kpis")
@_errors
def kpis_cmd(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
             database_url: str | None = DB_OPTION) -> None:
    """KPI definitions (the eight superförvaltning factors by default)."""
    with open_database(database_url).session() as session:
        items = [d.as_dict() for d in ops_repo.list_kpis(session)]
    frame = pd.DataFrame([{**i, "categories": ",".join(i["categories"])} for i in items])
    cols = ["factor", "code", "name_sv", "measure", "unit", "direction", "target", "categories", "role"]
    print_frame(frame[cols] if len(frame) else frame, fmt, json_records=items if fmt == OutputFormat.json else None)


@operations_app.command("define-kpis")
@_errors
def define_kpis_cmd(path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, Excel, JSON or TOML"),
                    database_url: str | None = DB_OPTION) -> None:
    """Create or change KPI definitions (by code)."""
    definitions = read_kpi_definitions(path)
    with open_database(database_url).session() as session:
        ops_repo.ensure_default_kpis(session)
        for d in definitions:
            ops_repo.save_kpi(session, d)
    print(f"saved {len(definitions)} KPI definitions")


@operations_app.command("sla")
@_errors
def sla_cmd(category: str = typer.Argument(...), hours: float = typer.Argument(..., help="Promised hours"),
            name: str | None = typer.Option(None, "--name", help="Swedish name"),
            database_url: str | None = DB_OPTION) -> None:
    """Set the promised time to resolve for a work-order category (default 24 h)."""
    with open_database(database_url).session() as session:
        item = ops_repo.set_sla(session, category, hours, name_sv=name)
    print(f"{item['category']}: {item['sla_hours']:g} h")


@operations_app.command("categories")
@_errors
def categories_cmd(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
                   database_url: str | None = DB_OPTION) -> None:
    """Work-order categories and their promised time to resolve."""
    with open_database(database_url).session() as session:
        items = ops_repo.list_categories(session)
    print_frame(pd.DataFrame(items, columns=["category", "name_sv", "sla_hours", "configured"]), fmt)


@operations_app.command("link-goal")
@_errors
def link_goal_cmd(kpi: str = typer.Argument(...), goal_id: int = typer.Argument(..., min=1),
                  area: str | None = typer.Option(None, "--area"), division: str | None = typer.Option(None, "--division"),
                  note: str | None = typer.Option(None, "--note"), database_url: str | None = DB_OPTION) -> None:
    """Link a KPI (optionally for one area) to a partnership goal."""
    with open_database(database_url).session() as session:
        link = ops_repo.link_kpi_to_goal(session, kpi, goal_id, area_code=area, division=division, note=note)
    print(f"linked {link['kpi']} → goal {link['goal_id']}" + (f" for {link['area_code']}" if link["area_code"] else ""))


# --- properties -------------------------------------------------------------------------------------------


@properties_app.command("import")
@_errors
def properties_import_cmd(path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or Excel file"),
                          crs: str | None = typer.Option(None, "--crs", help="sweref99tm or wgs84"),
                          allow_unassigned: bool = typer.Option(False, "--allow-unassigned",
                                                                help="Import properties outside every area"),
                          sheet: str | None = typer.Option(None, "--sheet"),
                          fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
                          database_url: str | None = DB_OPTION) -> None:
    """Import a property register and place every property in DeSO/RegSO (point in polygon)."""
    report = ops_repo.import_properties(open_database(database_url), path, crs=crs,
                                        allow_unassigned=allow_unassigned, sheet=sheet)
    _print_report(report, fmt)


@properties_app.command("list")
@_errors
def properties_list_cmd(area: str | None = typer.Option(None, "--area"),
                        division: str | None = typer.Option(None, "--division"),
                        fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
                        output: Path | None = OUTPUT_OPTION, database_url: str | None = DB_OPTION) -> None:
    """The property register (optionally for one area)."""
    with open_database(database_url).session() as session:
        frame = ops_repo.list_properties(session, area_code=area, division=division)
    _emit(frame, fmt, output)
