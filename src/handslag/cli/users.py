"""``handslag user …``: manage accounts (the password is prompted for or read from stdin, never an argument)."""

from __future__ import annotations

import sys

import typer

from ._common import console, open_database

user_app = typer.Typer(help="Användarkonton.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")


@user_app.command("add")
def add(username: str = typer.Argument(..., help="Användarnamn"),
        role: str = typer.Option("viewer", "--role",
                                 help="admin, partnership_editor, partner_contributor eller viewer"),
        organisation: int | None = typer.Option(None, "--organisation", help="Organisationens id"),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="Läs lösenordet från stdin"),
        database_url: str | None = typer.Option(None, "--database-url", envvar="HANDSLAG_DATABASE_URL")) -> None:
    """Create a user with an argon2-hashed password."""
    from handslag.store import accounts_repo

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Lösenord", hide_input=True, confirmation_prompt=True)
    db = open_database(database_url)
    try:
        with db.session() as session:
            user = accounts_repo.create_user(session, username, password, role=role, organisation_id=organisation)
            name, user_role = user.username, user.role
    except ValueError as exc:
        console.print(f"[red]Fel:[/red] {exc}")
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    console.print(f"Användaren {name} skapades med rollen {user_role}.")
