"""``handslag gap``, ``handslag demo`` and ``handslag goals …`` (refresh, status, export, import)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer

from handslag.errors import NotFound
from handslag.goals.gap import Projection
from handslag.goals.vocab import STATUS_LABELS_SV, Status
from handslag.store import goals_repo as repo

from ._common import OutputFormat, console, open_database, print_frame

goals_app = typer.Typer(help="Handslag: mål, mätningar och uppföljning.", no_args_is_help=True)

DB_OPTION = typer.Option(None, "--database-url", envvar="HANDSLAG_DATABASE_URL", help="SQLAlchemy URL")


def register(app: typer.Typer) -> None:
    app.command("gap")(gap_cmd)
    app.command("demo")(demo_cmd)
    app.add_typer(goals_app, name="goals")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def gap_cmd(
    indicator: str = typer.Option("employment_20_64", "--indicator", "-i", help="Indikator (rate in percent)"),
    areas: str | None = typer.Option(None, "--areas", help="Kommaseparerade områdeskoder (DeSO/RegSO)"),
    division: str = typer.Option("DeSO2025", "--division", help="Indelning för --areas"),
    regso_name: str | None = typer.Option(None, "--regso-name",
                                          help="DeSO 2025 vars RegSO-namn börjar så (t.ex. Bergsjön)"),
    partnership: int | None = typer.Option(None, "--partnership", help="Ett partnerskaps områden"),
    reference: str = typer.Option("kommun", "--reference", "-r",
                                  help="kommun, kommun:1480, lan:14, riket eller areas:KOD,KOD"),
    year: int | None = typer.Option(None, "--year", help="År för områdets andel (standard: senaste)"),
    denominator_indicator: str | None = typer.Option(None, "--denominator-indicator",
                                                     help="Indikator för nämnaren (standard: ur katalogen)"),
    exclude_area: bool = typer.Option(False, "--exclude-area", help="Jämför med referensen utan området"),
    project_to: int | None = typer.Option(None, "--project-to", help="Befolkningsprojektion till år"),
    growth: float | None = typer.Option(None, "--growth", help="Årlig förändring av nämnaren, %"),
    projected_denominator: float | None = typer.Option(None, "--projected-denominator",
                                                       help="Projicerad nämnare (i stället för --growth)"),
    label: str | None = typer.Option(None, "--label", help="Namn på området i texten"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
    database_url: str | None = DB_OPTION,
) -> None:
    """Gap to parity: how many persons the area must change by to reach the reference rate.

    Without an area set, Bergsjön's DeSO (RegSO 2025 names starting "Bergsjön") are used.
    """
    projection = None
    if project_to is not None:
        try:
            projection = Projection(project_to, denominator=projected_denominator, annual_growth_pct=growth)
        except ValueError as exc:
            _fail(str(exc))
    elif growth is not None or projected_denominator is not None:
        _fail("--growth and --projected-denominator need --project-to")
    db = open_database(database_url)
    try:
        with db.session() as session:
            codes = None
            if areas:
                codes = [c.strip() for c in areas.split(",") if c.strip()]
            elif partnership is None:
                name = regso_name or "Bergsjön"
                found = repo.areas_by_regso_name(session, name)
                if not found:
                    _fail(f"no DeSO 2025 with a RegSO 2025 name starting {name!r} in the store; "
                          "run `handslag data import-snapshot` first or give --areas")
                codes, division = [a["code"] for a in found], found[0]["division"]
                label = label or name
            try:
                result, details = repo.compute_gap(
                    session, indicator=indicator, division=division, codes=codes, partnership_id=partnership,
                    reference=reference, year=year, denominator_indicator=denominator_indicator, label=label,
                    exclude_area=exclude_area, projection=projection)
            except (ValueError, NotFound) as exc:
                _fail(str(exc))
    finally:
        db.dispose()
    if fmt == OutputFormat.json:
        print(json.dumps({**result.as_dict(), "areas": details["areas"]}, ensure_ascii=False, indent=2, default=str))
    elif fmt == OutputFormat.csv:
        print_frame(result.steps_frame(), fmt)
    else:
        print(result.explain())
        print()
        frame = pd.DataFrame(details["areas"])[["area_code", "year", "value", "denominator", "den_year", "source",
                                                "den_source"]]
        frame.columns = ["area", "year", "rate", "denominator", "denominator_year", "source", "denominator_source"]
        print_frame(frame, fmt)


def demo_cmd(replace: bool = typer.Option(False, "--replace", help="Skapa om exemplet om det finns"),
             fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
             database_url: str | None = DB_OPTION) -> None:
    """Create the example partnership "Handslag Bergsjön (exempel)" (clearly marked as example data)."""
    db = open_database(database_url)
    try:
        with db.session() as session:
            out = repo.create_demo(session, replace=replace)
            dashboard = repo.partnership_dashboard(session, out["partnership_id"])
            gap_text = None
            try:
                result, _ = repo.compute_gap(session, indicator="employment_20_64",
                                             partnership_id=out["partnership_id"], reference="kommun",
                                             label="Bergsjön")
                gap_text = result.headline("sv")
            except (ValueError, NotFound):
                gap_text = None
    finally:
        db.dispose()
    rows = [{"goal_id": g["goal"]["id"], "goal": g["goal"]["title"], "kind": g["goal"]["kind"],
             "target": f"{g['target']['value']:g} ({g['target']['year']})",
             "latest": None if g["latest"] is None else g["latest"]["actual"],
             "status": STATUS_LABELS_SV[Status(g["status"])]} for g in dashboard["goals"]]
    if fmt == OutputFormat.json:
        print(json.dumps({**out, "goals_status": rows, "gap": gap_text}, ensure_ascii=False, indent=2, default=str))
        return
    verb = "skapat" if out["created"] else "finns redan"
    console.print(f"[bold]Exempelpartnerskap {verb}:[/bold] id {out['partnership_id']} – EXEMPELDATA")
    print_frame(pd.DataFrame(rows), fmt)
    if gap_text:
        print(f"\nGap till staden: {gap_text}")
    elif out.get("created"):
        print("\nIngen statistik i databasen ännu: kör `handslag data import-snapshot <mapp>` och sedan "
              "`handslag goals refresh` för att fylla statistikmålet.")


@goals_app.command("refresh")
def refresh_cmd(indicator: list[str] = typer.Option(None, "--indicator", help="Bara mål med dessa indikatorer"),
                fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
                database_url: str | None = DB_OPTION) -> None:
    """Fill the actuals of statistic-linked goals from the statistics in the store."""
    db = open_database(database_url)
    try:
        with db.session() as session:
            summary = repo.refresh_statistic_goals(session, indicators=indicator or None)
    finally:
        db.dispose()
    frame = pd.DataFrame(summary, columns=["goal_id", "title", "indicator", "division", "areas", "created",
                                           "updated", "warnings"])
    frame["warnings"] = frame["warnings"].map(lambda w: "; ".join(w))
    print_frame(frame, fmt, json_records=summary)


@goals_app.command("status")
def status_cmd(partnership_id: int = typer.Argument(..., help="Partnerskapets id"),
               fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f"),
               database_url: str | None = DB_OPTION) -> None:
    """Status per goal: baseline → target, latest actual vs expected, status and forecast."""
    db = open_database(database_url)
    try:
        with db.session() as session:
            try:
                dashboard = repo.partnership_dashboard(session, partnership_id)
            except NotFound as exc:
                _fail(str(exc))
    finally:
        db.dispose()
    rows = []
    for g in dashboard["goals"]:
        latest, fc = g["latest"], g["forecast"]
        rows.append({"goal_id": g["goal"]["id"], "goal": g["goal"]["title"],
                     "baseline": f"{g['baseline']['value']:g} ({g['baseline']['year']})",
                     "target": f"{g['target']['value']:g} ({g['target']['year']})",
                     "actual": None if latest is None else round(latest["actual"], 3),
                     "expected": None if latest is None else round(latest["expected"], 3),
                     "status": g["status"],
                     "forecast": None if fc is None or fc["value"] is None else round(fc["value"], 1),
                     "reaches_target": None if fc is None else fc["reaches_target"]})
    print_frame(pd.DataFrame(rows), fmt, json_records=dashboard if fmt == OutputFormat.json else None)


@goals_app.command("export")
def export_cmd(partnership_id: int = typer.Argument(...), file: Path = typer.Argument(..., help="Ny .xlsx-fil"),
               database_url: str | None = DB_OPTION) -> None:
    """Write a partnership's goals, measurements and activities to an Excel workbook."""
    db = open_database(database_url)
    try:
        with db.session() as session:
            try:
                data = repo.export_workbook(session, partnership_id)
            except NotFound as exc:
                _fail(str(exc))
    finally:
        db.dispose()
    file.write_bytes(data)
    console.print(f"wrote {file}")


@goals_app.command("import")
def import_cmd(partnership_id: int = typer.Argument(...), file: Path = typer.Argument(..., exists=True),
               dry_run: bool = typer.Option(False, "--dry-run", help="Kontrollera bara, skriv inget"),
               actor: str = typer.Option("cli", "--user", help="Vem som gör ändringen (audit)"),
               database_url: str | None = DB_OPTION) -> None:
    """Apply a filled-in workbook: all rows or nothing; problems are listed by sheet, row and column."""
    db = open_database(database_url)
    try:
        with db.session() as session:
            try:
                summary = repo.import_workbook(session, partnership_id, file.read_bytes(), filename=file.name,
                                               actor=actor, dry_run=dry_run)
            except NotFound as exc:
                _fail(str(exc))
    finally:
        db.dispose()
    console.print(f"{'checked' if dry_run else 'imported'} {file.name}: {summary['counts'] or 'no changes'}, "
                  f"{summary['unchanged']} unchanged row(s)")
