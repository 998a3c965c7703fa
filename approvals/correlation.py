"""The id of the request an action came from, so one tap can be followed from the server through the jobs it
created (chat delivery, the ERP outbox, reminders) and into the audit trail.

The edge binds it (bot/api/request_ids.py, a job runner from the job's payload); the core only reads it: a job
written while one is bound carries it in its payload, and an audit event records it beside the credential.
"""

from __future__ import annotations

import functools
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator, TypeVar

T = TypeVar("T")

_request_id: ContextVar[str | None] = ContextVar("procurebot_request_id", default=None)
# what a caller's own X-Request-ID may look like to be kept (anything else is replaced, never logged as given)
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{8,64}")
PAYLOAD_KEY = "request_id"


def current() -> str | None:
    return _request_id.get()


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Everything the block does (its log lines, jobs and audit events) carries `request_id`."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


def accept(given: str | None) -> str:
    """The caller's request id when it is a plain token (a load balancer's, say), else a new one."""
    if given and _ACCEPTABLE.fullmatch(given):
        return given
    return uuid.uuid4().hex


def with_request(payload: dict[str, Any] | None) -> dict[str, Any]:
    """A job's payload with the bound request id added (unchanged when none is bound or it names its own)."""
    request_id = _request_id.get()
    payload = dict(payload or {})
    if request_id is not None and PAYLOAD_KEY not in payload:
        payload[PAYLOAD_KEY] = request_id
    return payload


def of_job(payload: dict[str, Any] | None) -> str | None:
    value = (payload or {}).get(PAYLOAD_KEY)
    return value if isinstance(value, str) else None


def for_job(method: Callable[..., T]) -> Callable[..., T]:
    """A job handler (`self, job, ...`) that runs under the id of the request that made the job."""

    @functools.wraps(method)
    def run(self: Any, job: Any, *args: Any, **kwargs: Any) -> T:
        with bound(of_job(job.payload)):
            return method(self, job, *args, **kwargs)

    return run
