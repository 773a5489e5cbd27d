"""Bad input and write races answer 4xx with the JSON error shape, never 500 (regressions from a
schemathesis run against the OpenAPI spec)."""

from __future__ import annotations

import sqlite3

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from handslag.config import get_settings
from handslag.web.app import create_app


def test_huge_offset_is_400(api_client):
    r = api_client.get("/api/v1/organisations", params={"offset": 36199597276702064640, "limit": 69})
    assert r.status_code in (400, 422)
    assert r.json()["error"]["code"] in ("bad_request", "invalid_input")


def test_write_races_are_409(sqlite_db):
    app = create_app(db=sqlite_db, settings=get_settings())
    router = APIRouter()

    @router.get("/api/v1/_race/stale")
    def stale():
        raise StaleDataError("UPDATE statement on table 'organisations' expected to update 1 row(s); 0 were matched.")

    @router.get("/api/v1/_race/unique")
    def unique():
        raise IntegrityError("INSERT …", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/api/v1/_race/stale", "/api/v1/_race/unique"):
            r = client.get(path)
            assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
