"""Log lines: JSON in production (one object per line, for a log shipper), readable text in dev; each carries the
id of the request it belongs to (approvals.correlation), so one tap can be followed through every process."""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from approvals import correlation

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
# the fields each JSON line starts with; anything a call passes in `extra` follows
JSON_FIELDS = ("asctime", "levelname", "name", "request_id", "message")


class RequestIdFilter(logging.Filter):
    """Puts the bound request id (or "-") on every record, whichever logger made it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = correlation.current() or "-"
        return True


def formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        return JsonFormatter(
            list(JSON_FIELDS),
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False,
        )
    return logging.Formatter(TEXT_FORMAT)


def configure(level: str, kind: str, *, stream: Any = None) -> None:
    """Send every logger's lines (uvicorn's too) through one handler on the root logger, in `kind` ("json" or
    "text") at `level`. Called once per process, before anything logs."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(kind))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
