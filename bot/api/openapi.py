"""The OpenAPI document as the API behaves: its error body, every error status, operation ids and roles.

Every error the API answers has one shape, `{"error": {"code", "message", "fields"?, ...}}` (bot/http_errors.py,
bot/api/errors.py); `ErrorResponse` declares it. Each route names the errors of its own logic with
`errors(404, 409)`; `document` adds the ones that follow from how a route is built, so none is forgotten:

* a route behind `require(...)`: 401 (no or bad token), 403 (a role or an actor the token may not use) and
  429 (too many failed sign-ins), and the roles it accepts in its description;
* a route with parameters or a body: 422 (invalid fields); with a body: 413 (over PROCUREBOT_MAX_BODY_BYTES);
* every route: 500 (an unexpected error; nothing was changed unless the response said so).

Operation ids are the route functions' names (`create_requisition`), which a generated client shows.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

BEARER = "HTTPBearer"  # the security scheme FastAPI names after fastapi.security.HTTPBearer (bot/api/auth.py)


class ErrorField(BaseModel):
    field: str = Field(description="Where in the request, e.g. `lines[0].quantity`; `file:line` for a policy")
    message: str
    hint: str | None = Field(default=None, description="How to fix it (policy findings)")


class ErrorDetail(BaseModel):
    code: str = Field(
        description="For programs: unauthorized, forbidden, not_allowed, not_found, illegal_transition, stale_action, "
        "idempotency_conflict, too_large, validation_failed, policy_invalid, http_error, internal"
    )
    message: str = Field(description="For people: what happened and what to do next")
    fields: list[ErrorField] | None = Field(default=None, description="Field by field, when the request was invalid")
    decided_by: str | None = Field(default=None, description="stale_action: who decided the step first")
    decided_at: str | None = Field(default=None, description="stale_action: when (ISO 8601)")
    state: str | None = Field(default=None, description="illegal_transition: the requisition's state")
    allowed: list[str] | None = Field(default=None, description="illegal_transition: what may happen from there")


class ErrorResponse(BaseModel):
    """The body of every error the API answers."""

    error: ErrorDetail


class Readiness(BaseModel):
    """Readiness: `ready`, or `unavailable` with what is missing (a load balancer takes the replica out)."""

    status: str = Field(examples=["ready", "unavailable"])
    database: str | None = Field(
        default=None,
        description="With a valid token: the database type; when unavailable: why",
        examples=["postgresql"],
    )
    policy: str | None = Field(
        default=None,
        description="With a valid token: the active policy; when unavailable: why",
        examples=["none active"],
    )


def _example(code: str, message: str, **more: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **more}}


ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    401: (
        "No API token, or one that is not valid or was revoked (with `WWW-Authenticate: Bearer`).",
        _example("unauthorized", "This API token is not valid or has been revoked."),
    ),
    403: (
        "The token's role may not call this, or it may not act as the `actor` named (the refusal is audited).",
        _example("forbidden", "A auditor token cannot do this; it needs one of: admin, service."),
    ),
    404: (
        "No such resource, or one this token may not see (the two answers are the same).",
        _example("not_found", "There is no requisition PR-1042. Check the number (it looks like PR-1042)."),
    ),
    409: (
        "The state does not allow it now: already decided by someone else (`stale_action`), a move the workflow "
        "does not permit (`illegal_transition`), or an Idempotency-Key reused for another request.",
        _example(
            "stale_action",
            "Maria Lopez already approved this step at 09:14.",
            decided_by="maria.lopez",
            decided_at="2026-11-03T09:14:00+00:00",
        ),
    ),
    413: (
        "The request body is over the server's limit (PROCUREBOT_MAX_BODY_BYTES).",
        _example("too_large", "The request body is larger than 1000000 bytes; send less text or fewer lines."),
    ),
    422: (
        "Invalid fields, each named in `fields`.",
        _example(
            "validation_failed",
            "The request has invalid fields; see `fields`.",
            fields=[{"field": "lines[0].quantity", "message": "Input should be greater than 0"}],
        ),
    ),
    429: (
        "Too many failed sign-ins from this address (with `Retry-After`).",
        _example("http_error", "Too many failed sign-ins from this address; try again in 60 seconds."),
    ),
    500: (
        "An unexpected error; nothing was changed unless the response said so.",
        _example("internal", "Something went wrong on our side; nothing was changed unless the response said so."),
    ),
}
_REF = {"$ref": "#/components/schemas/ErrorResponse"}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route for the errors its own logic raises (404, 409, ...)."""
    return {status: _response(status) for status in statuses}


def _response(status: int) -> dict[str, Any]:
    why, example = ERRORS[status]
    return {"description": why, "content": {"application/json": {"schema": _REF, "example": example}}}


def operation_id(route: APIRoute) -> str:
    """The route function's name: `create_requisition`, not `create_requisition_api_v1_requisitions_post`."""
    return route.name


def roles_of(route: APIRoute) -> tuple[str, ...]:
    """The roles a route admits, from its `require(...)` dependency (none: it is open)."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        roles = getattr(dependency.call, "roles", None)
        if roles:
            return tuple(roles)
        pending.extend(dependency.dependencies)
    return ()


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every APIRoute under `routes`, also inside included routers (which newer FastAPI keeps wrapped)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes)


def _inferred(route: APIRoute) -> set[int]:
    dependant = route.dependant
    statuses = {500}
    if roles_of(route):
        statuses |= {401, 403, 429}
    params = dependant.query_params or dependant.path_params or dependant.header_params or dependant.cookie_params
    if params or route.body_field is not None:
        statuses.add(422)
    if route.body_field is not None:
        statuses.add(413)
    return statuses


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document (built once, then cached on the app, as FastAPI does)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    defs = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(defs.pop("$defs", {}))
    schemas["ErrorResponse"] = defs
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        for method in route.methods:
            operation = doc["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(_inferred(route)):
                if str(status) not in responses or status == 422:  # FastAPI's own 422 shape is not what we answer
                    responses[str(status)] = _response(status)
            roles = roles_of(route)
            if roles:
                needs = "Needs an API token (`Authorization: Bearer pb_...`) with one of the roles: " + ", ".join(
                    f"`{r}`" for r in roles
                )
                operation["description"] = f"{operation.get('description', '').strip()}\n\n{needs}.".strip()
                operation["security"] = [{BEARER: []}]
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused not in str(doc["paths"]):
            schemas.pop(unused, None)
    schemes = doc["components"].setdefault("securitySchemes", {})
    schemes[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token made with `procurebot token create --role admin|auditor|service`. Each "
        "operation says which roles it admits: `admin` (everything), `service` (read and act, as its own person "
        "or as the people its --act-as grant names), `auditor` (read everything, export and verify the audit log).",
    }
    app.openapi_schema = doc
    return doc


def install(app: FastAPI) -> None:
    """Serve `document(app)` as the app's /openapi.json."""
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
