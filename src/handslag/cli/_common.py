"""Helpers shared by the command modules: database access, output formats, progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from handslag.config import get_settings
from handslag.store.db import Database

console = Console(stderr=True)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def open_database(url: str | None = None) -> Database:
    return Database(url or get_settings().database_url)


def print_frame(frame: pd.DataFrame, fmt: OutputFormat, *, json_records: list | dict | None = None) -> None:
    """Print a result table as an aligned table, CSV or JSON (records unless ``json_records`` given)."""
    if fmt == OutputFormat.csv:
        frame.to_csv(sys.stdout, index=False)
    elif fmt == OutputFormat.json:
        payload = json_records if json_records is not None else json.loads(frame.to_json(orient="records"))
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        with pd.option_context("display.max_rows", 500, "display.max_columns", 50, "display.width", 200):
            print(frame.to_string(index=False))


@contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator[callable]:
    """Yield ``advance(done, total)``; shows a rich progress bar on stderr (quiet when not a terminal)."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False,
                  disable=not console.is_terminal) as progress:
        task = progress.add_task(description, total=total)

        def advance(done: int, total_: int | None = None, label: str | None = None) -> None:
            progress.update(task, completed=done, total=total_ if total_ is not None else total,
                            description=label or description)

        yield advance
