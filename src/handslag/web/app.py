"""Application factory."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI

from handslag import __version__
from handslag.config import Settings, get_settings
from handslag.store.db import Database

from . import api as api_pkg
from .errors import install_error_handlers


def _api_routers():
    for info in sorted(pkgutil.iter_modules(api_pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{api_pkg.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if router is not None:
            yield router


def create_app(db: Database | None = None, settings: Settings | None = None) -> FastAPI:
    """Build the app. ``db`` defaults to the configured database, upgraded to the newest schema."""
    settings = settings or get_settings()
    db = db or Database(settings.database_url)
    app = FastAPI(title="Handslag", version=__version__,
                  description="Uppföljning av sociala investeringar i utsatta områden mot officiell statistik.")
    app.state.db = db
    app.state.settings = settings
    install_error_handlers(app)
    for router in _api_routers():
        app.include_router(router, prefix="/api/v1")
    try:
        pages = importlib.import_module("handslag.web.pages")
    except ModuleNotFoundError:
        pages = None
    if pages is not None:
        pages.install(app)
    return app
