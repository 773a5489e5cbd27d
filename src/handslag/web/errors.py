"""JSON error format for the API: ``{"error": {"code", "message", "details"}}``; 4xx, never 500 for bad input."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, PendingRollbackError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from handslag.errors import Conflict, NotFound, ValidationFailed

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, details=None, headers=None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": details}}, status_code=status,
                        headers=headers)


PAGE_TITLES = {400: "Felaktig begäran", 401: "Inloggning krävs", 403: "Åtkomst nekad", 404: "Hittades inte",
               405: "Metoden stöds inte", 409: "Konflikt", 422: "Ogiltiga uppgifter", 429: "För många försök"}


def _wants_html(request: Request) -> bool:
    """Page routes (not /api/…) asked for by a browser get an HTML error page instead of JSON."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _html_error(request: Request, status: int, message: str):
    try:
        from handslag.web.pages import render
    except ImportError:  # pages not installed
        return None
    return render(request, "error.html", {"title": PAGE_TITLES.get(status, "Fel"), "message": message},
                  status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if _wants_html(request):
            page = _html_error(request, exc.status_code, exc.detail if isinstance(exc.detail, str) else "")
            if page is not None:
                return page
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 412: "precondition_failed",
                422: "invalid_input", 428: "precondition_required", 429: "too_many_requests"}.get(
            exc.status_code, "error")
        detail = exc.detail
        message = detail if isinstance(detail, str) else code
        details = None if isinstance(detail, str) else detail
        return error_response(exc.status_code, code, message, details, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = [{"loc": list(e.get("loc", [])), "msg": e.get("msg"), "type": e.get("type")}
                   for e in exc.errors()]
        return error_response(422, "invalid_input", "The request did not validate", details)

    @app.exception_handler(ValidationFailed)
    async def _failed(request: Request, exc: ValidationFailed):
        return error_response(422, "validation_failed", exc.summary(), [p.as_dict() for p in exc.problems[:200]])

    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: NotFound):
        return error_response(404, "not_found", str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict):
        return error_response(409, "conflict", str(exc))

    # Races between concurrent writers end as 409, never 500: an update that matched no row (another
    # writer got there first) or a unique key that appeared between our check and our insert.
    @app.exception_handler(StaleDataError)
    @app.exception_handler(PendingRollbackError)  # only ever follows a failed flush of a raced update
    async def _stale(request: Request, exc: Exception):
        return error_response(409, "conflict", "the record was changed by someone else at the same time; "
                                               "reload it and try again")

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError):
        log.info("integrity error answered as 409: %s", type(exc.orig).__name__)
        return error_response(409, "conflict", "the change conflicts with existing data (a duplicate or a "
                                               "missing reference); reload and try again")

    @app.exception_handler(OverflowError)  # SQLite: an integer beyond 64 bits
    @app.exception_handler(DataError)  # PostgreSQL: numeric value out of range and the like
    async def _overflow(request: Request, exc: Exception):
        return error_response(400, "bad_request", "a number in the request is out of range")

    @app.exception_handler(ValueError)
    async def _value(request: Request, exc: ValueError):
        return error_response(400, "bad_request", str(exc))
