"""JSON errors with field-level messages; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError as PydanticValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from approvals.errors import (
    ConflictingRetry,
    IllegalTransition,
    NotAllowed,
    NotFound,
    PolicyInvalid,
    ProcurebotError,
    StaleAction,
    ValidationFailed,
)
from bot.http_errors import error_body

log = logging.getLogger("procurebot.api")

STATUS = {
    ValidationFailed: 422,
    PolicyInvalid: 422,
    NotFound: 404,
    NotAllowed: 403,
    IllegalTransition: 409,
    StaleAction: 409,
    ConflictingRetry: 409,
}


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProcurebotError)
    async def _domain(_: Request, exc: ProcurebotError) -> JSONResponse:
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        fields = None
        extra: dict[str, Any] = {}
        if isinstance(exc, ValidationFailed):
            fields = [{"field": e.field, "message": e.message} for e in exc.errors]
        if isinstance(exc, PolicyInvalid):
            fields = [
                {"field": f"{i.file}:{i.line}" if i.line else i.file, "message": i.message, "hint": i.hint}
                for i in exc.issues
            ]
        if isinstance(exc, StaleAction):
            extra = {"decided_by": exc.decided_by, "decided_at": exc.decided_at}
        if isinstance(exc, IllegalTransition):
            extra = {"state": exc.current, "allowed": exc.allowed}
        return JSONResponse(error_body(exc.code, exc.message, fields, extra), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": _field_path(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")} for e in exc.errors()
        ]
        return JSONResponse(
            error_body("validation_failed", "The request has invalid fields; see `fields`.", fields), status_code=422
        )

    @app.exception_handler(PydanticValidationError)
    async def _command_invalid(_: Request, exc: PydanticValidationError) -> JSONResponse:
        # raised when a typed command is built from an otherwise well-formed request
        fields = [
            {
                "field": _field_path(tuple(e.get("loc", ()))),
                "message": e.get("msg", "invalid").removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
        return JSONResponse(
            error_body("validation_failed", "The request has invalid fields; see `fields`.", fields), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
        }.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body(
                "internal",
                "Something went wrong on our side; nothing was changed "
                "unless the response said so. Try again, and tell an admin if it persists.",
            ),
            status_code=500,
        )
