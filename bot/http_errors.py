"""The JSON error body every HTTP endpoint of ours answers with: {"error": {"code", "message", ...}}.

The API's error handlers (bot/api/errors.py) and the Teams messaging endpoint both use it."""

from __future__ import annotations

from typing import Any


def error_body(
    code: str, message: str, fields: list[dict[str, str]] | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    if extra:
        body.update(extra)
    return {"error": body}
