"""Notifiers: how notices leave the core (reminders, escalations, delegation windows, digests, ERP notices).

`Notifier` is the core's one port (approvals.notices). Here are its plain edge implementations: an
in-memory recorder (tests), the inbox (the database, shown by the web chat: where a notice goes when no chat
platform reaches the person) and a small HTTP client for a chat API that takes one JSON message per call and
answers with a message reference. Chat platforms deliver through `ChatNotifier` (bot/chat/delivery.py).
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine

from approvals import inbox
from approvals.clock import Clock, utcnow
from approvals.notices import Notice

__all__ = ["RecordingNotifier", "InboxNotifier", "HttpNotifier"]
log = logging.getLogger("procurebot.notify")


@dataclass
class RecordingNotifier:
    """Keeps every notice in memory, in order; `fail_for` makes sends to those people raise."""

    sent: list[tuple[str, Notice]] = field(default_factory=list)
    fail_for: set[str] = field(default_factory=set)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send(self, person_id: str, notice: Notice) -> str:
        if person_id in self.fail_for:
            raise ConnectionError(f"chat platform unavailable for {person_id}")
        with self._lock:
            self.sent.append((person_id, notice))
            return f"mem-{next(self._ids)}"

    def to(self, person_id: str, kind: str | None = None) -> list[Notice]:
        return [n for p, n in self.sent if p == person_id and (kind is None or n.kind == kind)]

    def kinds(self) -> list[tuple[str, str]]:
        return [(p, n.kind) for p, n in self.sent]


@dataclass
class InboxNotifier:
    """Keeps each notice in the database's inbox (approvals/inbox.py), once per person and notice key, for the
    web chat to show when the person next connects or on their open stream, whichever replica serves them."""

    engine: Engine
    clock: Clock = utcnow

    def send(self, person_id: str, notice: Notice) -> str:
        row = inbox.deliver(self.engine, person_id=person_id, notice=notice, now=self.clock())
        log.info("notice %s to %s about %s", notice.kind, person_id, notice.number or ", ".join(notice.numbers))
        return f"inbox:{row}"


class HttpNotifier:
    """POSTs each notice to ``{base_url}/messages`` and returns the reference the chat API answers with.

    The notice key goes in an Idempotency-Key header, so a chat API that honours it drops a
    duplicate; a non-2xx answer raises, and the scheduler retries the row later.
    """

    def __init__(
        self, base_url: str, *, token: str | None = None, timeout: float = 10.0, client: httpx.Client | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = client or httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    def send(self, person_id: str, notice: Notice) -> str:
        response = self.client.post(
            "/messages",
            headers={"Idempotency-Key": notice.key},
            json={
                "to": person_id,
                "kind": notice.kind,
                "text": notice.text,
                "number": notice.number,
                "numbers": list(notice.numbers),
            },
        )
        response.raise_for_status()
        return str(response.json()["ref"])

    def close(self) -> None:
        self.client.close()
