"""The ``handslag`` command. Each module in this package registers its commands via ``register(app)``."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from handslag.errors import HandslagError, ValidationFailed

app = typer.Typer(name="handslag", help="Handslag – uppföljning av sociala investeringar mot officiell statistik.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()


def main() -> None:
    try:
        app()
    except ValidationFailed as exc:
        print(exc.format(50), file=sys.stderr)
        sys.exit(2)
    except HandslagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
