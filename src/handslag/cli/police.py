"""``handslag police …``: the Police's list of vulnerable areas."""

from __future__ import annotations

import pandas as pd
import typer

from handslag.errors import NotFound
from handslag.sources.police import LEVEL_LABELS_SV
from handslag.store import police_repo

from ._common import OutputFormat, open_database, print_frame

police_app = typer.Typer(help="Polisens lista över utsatta områden.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(police_app, name="police")


@police_app.command("list")
def list_cmd(edition: int | None = typer.Option(None, help="Utgåva, t.ex. 2023 (standard: senaste)"),
             kommun: str | None = typer.Option(None, help="Kommunkod"),
             format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
             database_url: str | None = typer.Option(None, "--database-url", envvar="HANDSLAG_DATABASE_URL")):
    """The areas of one edition with their level and municipality."""
    db = open_database(database_url)
    with db.session() as s:
        eds = police_repo.editions(s)
        if not eds:
            raise NotFound("the Police list is not loaded (run handslag data import-snapshot)")
        edition = edition or eds[-1]
        if edition not in eds:
            raise NotFound(f"no edition {edition} (known: {', '.join(map(str, eds))})")
        rows = police_repo.police_list(s, edition, kommun)
        frame = pd.DataFrame({"edition": [r.edition for r in rows], "name": [r.name for r in rows],
                              "level": [r.level for r in rows],
                              "level_label": [LEVEL_LABELS_SV[r.level] for r in rows],
                              "municipality": [r.municipality for r in rows]})
    print_frame(frame, format)


@police_app.command("timeline")
def timeline_cmd(name: str = typer.Argument(..., help="Områdesnamn, t.ex. Bergsjön"),
                 format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
                 database_url: str | None = typer.Option(None, "--database-url", envvar="HANDSLAG_DATABASE_URL")):
    """An area's level in every edition."""
    db = open_database(database_url)
    with db.session() as s:
        eds = police_repo.editions(s)
        rows = police_repo.timeline(s, name)
    if not rows:
        raise NotFound(f"no area named like {name!r} on any edition of the Police list")
    records = []
    for panel in dict.fromkeys((r.panel_id, r.panel_name or r.name) for r in rows if r.panel_id) or \
            [(None, rows[0].name)]:
        levels = {r.edition: r.level for r in rows if r.panel_id == panel[0]}
        records.append({"name": panel[1], **{str(e): levels.get(e, "–") for e in eds}})
    print_frame(pd.DataFrame(records), format)
