"""``handslag serve``: the web app (loads data on first start)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from ._common import console, progress_bar


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(host: str = typer.Option("127.0.0.1", help="Adress att lyssna på"),
          port: int = typer.Option(8000, help="Port"),
          data_dir: Path | None = typer.Option(None, "--data-dir", envvar="HANDSLAG_DATA_DIR",
                                               help="Ögonblicksbild att läsa in vid första start"),
          demo: bool = typer.Option(False, "--demo", help="Skapa exempelpartnerskapet om det saknas"),
          database_url: str | None = typer.Option(None, "--database-url", envvar="HANDSLAG_DATABASE_URL"),
          workers: int = typer.Option(1, min=1, max=16, help="Antal serverprocesser (2 på en 2-kärnig maskin i drift)"),
          reload: bool = typer.Option(False, help="Ladda om vid kodändring (utveckling)")):
    """Start the web app. On an empty database, data is loaded from --data-dir / HANDSLAG_DATA_DIR first."""
    import uvicorn

    from handslag.config import get_settings
    from handslag.ingest import database_is_empty, import_snapshot
    from handslag.store.db import Database
    from handslag.web.app import create_app

    settings = get_settings()
    url = database_url or settings.database_url
    db = Database(url)  # upgrades the schema
    if database_is_empty(db):
        if data_dir and Path(data_dir).is_dir():
            console.print(f"Tom databas: läser in data från {data_dir} …")
            with progress_bar("Läser ögonblicksbild", total=9) as advance:
                import_snapshot(db, data_dir, progress=lambda d, t, label: advance(d, t, label))
        else:
            console.print("[yellow]Tom databas och ingen datamapp: startsidan visar hur du läser in data.[/yellow]")
    if demo:
        from handslag.store.goals_repo import create_demo

        with db.session() as session:
            out = create_demo(session)
        console.print("Exempelpartnerskapet " + ("skapat" if out["created"] else "finns redan")
                      + f" (id {out['partnership_id']}, EXEMPELDATA).")
    os.environ["HANDSLAG_DATABASE_URL"] = url
    console.print(f"Handslag kör på http://{host}:{port}")
    if workers > 1 or reload:
        # several processes: each builds its own app from the environment (same database URL)
        db.dispose()
        uvicorn.run("handslag.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                    reload=reload, log_level="info", proxy_headers=True)
        return
    uvicorn.run(create_app(db=db, settings=settings), host=host, port=port, log_level="info", proxy_headers=True)
