"""``handslag data …``: imports and fetches."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import typer

from handslag.ingest import import_areas, import_observations, import_snapshot, store_observations
from handslag.store import areas_repo, observations_repo, police_repo

from ._common import console, open_database, progress_bar

data_app = typer.Typer(help="Importera och hämta data (SCB, Kolada, ögonblicksbilder, egna filer).",
                       no_args_is_help=True)
fetch_app = typer.Typer(help="Hämta statistik från SCB eller Kolada (kräver nätverk).", no_args_is_help=True)
data_app.add_typer(fetch_app, name="fetch")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


def _print_result(result, seconds: float) -> None:
    if result.status == "unchanged":
        console.print(f"[yellow]{result.message}[/yellow]")
        return
    counts = {k: v for k, v in result.counts.items() if k not in ("files", "notes")}
    console.print(f"[green]import #{result.import_id} done in {seconds:.1f} s:[/green] "
                  + ", ".join(f"{k} {v}" for k, v in counts.items()))


@data_app.command("import-snapshot")
def import_snapshot_cmd(folder: Path = typer.Argument(..., help="Mapp med samma struktur som shared/data"),
                        database_url: str | None = typer.Option(None, "--database-url", envvar="HANDSLAG_DATABASE_URL")):
    """Import a snapshot folder: boundaries, links, area types, statistics and the Police list."""
    db = open_database(database_url)
    t0 = time.perf_counter()
    with progress_bar("Läser ögonblicksbild", total=9) as advance:
        result = import_snapshot(db, folder, progress=lambda d, t, label: advance(d, t, label))
    seconds = time.perf_counter() - t0
    _print_result(result, seconds)
    with db.session() as session:
        by_level = areas_repo.counts_by_level(session)
        by_source = observations_repo.counts_by_source(session)
        police = police_repo.counts(session)
    print("Areas per level and division:")
    print(by_level.to_string(index=False))
    print("\nObservations per source and division:")
    print(by_source.to_string(index=False))
    if not police.empty:
        print("\nPolice list, areas per edition and level:")
        print(police.to_string(index=False))
    for note in result.counts.get("notes", []):
        print(f"note: {note}")
    print(f"\nfinished in {seconds:.1f} s")


@data_app.command("import-observations")
def import_observations_cmd(file: Path, allow_new_indicators: bool = typer.Option(False, help="Tillåt indikatorer "
                            "som inte finns i katalogen"),
                            source: str | None = typer.Option(None, help="Källa för rader utan källkolumn"),
                            database_url: str | None = typer.Option(None, "--database-url", envvar="HANDSLAG_DATABASE_URL")):
    """Import a tidy CSV/Excel file: area_code, indicator, year, value[, division, numerator, denominator, unit, source]."""
    db = open_database(database_url)
    t0 = time.perf_counter()
    result = import_observations(db, file, allow_new_indicators=allow_new_indicators, source=source)
    _print_result(result, time.perf_counter() - t0)


@data_app.command("import-areas")
def import_areas_cmd(file: Path, code_column: str = typer.Option("code", help="Kolumn med områdeskod"),
                     name_column: str | None = typer.Option(None, help="Kolumn med namn"),
                     division: str = typer.Option("Custom", help="Indelning, t.ex. DeSO2025 eller Custom"),
                     layer: str | None = typer.Option(None, help="Lager i en GeoPackage"),
                     database_url: str | None = typer.Option(None, "--database-url", envvar="HANDSLAG_DATABASE_URL")):
    """Import areas with geometry from GeoPackage/GeoJSON/GeoParquet (any CRS)."""
    db = open_database(database_url)
    t0 = time.perf_counter()
    result = import_areas(db, file, code_column=code_column, name_column=name_column, division=division, layer=layer)
    _print_result(result, time.perf_counter() - t0)


def _years(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-", 1)
        return list(range(int(a), int(b) + 1))
    return [int(y) for y in text.split(",")]


@fetch_app.command("scb")
def fetch_scb(table: list[str] = typer.Option(..., "--table", help="SCB-tabell, t.ex. TAB6574 (kan upprepas)"),
              region: str = typer.Option(..., help="Kommunkod, t.ex. 1480"),
              years: str = typer.Option(..., help="År, t.ex. 2019-2024"),
              database_url: str | None = typer.Option(None, "--database-url", envvar="HANDSLAG_DATABASE_URL")):
    """Fetch DeSO/RegSO statistics from SCB's PxWeb API and store them as observations."""
    from handslag.config import get_settings
    from handslag.sources.pxweb import fetch_scb_observations

    db = open_database(database_url)
    settings = get_settings()
    with progress_bar("Hämtar från SCB") as advance:
        frame = fetch_scb_observations(table, region, _years(years), cache_dir=settings.cache_dir,
                                       progress=lambda d, t: advance(d, t), **settings.scb_options)
    _store(db, frame, kind="scb", source=f"SCB {','.join(table)} region {region} years {years}")


@fetch_app.command("kolada")
def fetch_kolada(kpi: list[str] = typer.Option(..., "--kpi", help="Kolada-KPI, t.ex. N00914 (kan upprepas)"),
                 municipality: list[str] = typer.Option(..., "--municipality", help="Kommunkod (kan upprepas)"),
                 years: str = typer.Option(..., help="År, t.ex. 2019-2024"),
                 database_url: str | None = typer.Option(None, "--database-url", envvar="HANDSLAG_DATABASE_URL")):
    """Fetch municipal KPIs from Kolada and store them as observations."""
    from handslag.config import get_settings
    from handslag.sources.kolada import fetch_kolada_observations

    db = open_database(database_url)
    settings = get_settings()
    frame = fetch_kolada_observations(kpi, municipality, _years(years), cache_dir=settings.cache_dir,
                                      **settings.kolada_options)
    _store(db, frame, kind="kolada", source=f"Kolada {','.join(kpi)}")


def _store(db, frame: pd.DataFrame, *, kind: str, source: str) -> None:
    if frame.empty:
        console.print("[yellow]the service returned no values; nothing stored[/yellow]")
        return
    t0 = time.perf_counter()
    result = store_observations(db, frame, kind=kind, source=source)
    _print_result(result, time.perf_counter() - t0)
