"""Live updates for connected browsers: committed changes fan out to every open event stream.

The runtime's `Live` (bot/live.py) tells the hub of this process's changes and, on PostgreSQL, of every other
process's.

The service calls `on_change` after commit, from whatever thread ran the action; each browser's
queue lives on the server's event loop, so events cross over with call_soon_threadsafe.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Callable

from approvals.workflow.base import Change

log = logging.getLogger("procurebot.web")
MAX_QUEUED = 200  # a browser that stopped reading loses old events, never the server's memory
# not sent to browsers: tells a person's streams that a notice was just kept for them (approvals/inbox.py)
LOOK_IN_INBOX: dict[str, Any] = {"type": "inbox"}
# sent to browsers: the person read items in another tab; their unread list is drawn again
UNREAD_CHANGED: dict[str, Any] = {"type": "unread"}
# sent to browsers: redraw every card shown, changes may have been missed
RESYNC: dict[str, Any] = {"type": "resync"}
# sent to browsers when this server stops: the stream ends now and the browser connects again (to another replica
# behind the proxy, or to this one once it is back), instead of hanging until the shutdown timeout cuts it
RECONNECT: dict[str, Any] = {"type": "reconnect"}


class LiveHub:
    def __init__(self, audience: Callable[[str], list[str]]) -> None:
        self._audience = audience
        self._lock = threading.Lock()
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]], str]] = []

    def subscribe(self, person: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_QUEUED)
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), queue, person))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s[1] is not queue]

    @property
    def connected(self) -> int:
        return len(self._subscribers)

    def publish(self, event: dict[str, Any], only: str | None = None) -> None:
        with self._lock:
            targets = [s for s in self._subscribers if only is None or s[2] == only]
        for loop, queue, _ in targets:
            try:
                loop.call_soon_threadsafe(self._put, queue, event)
            except RuntimeError:  # the loop is closed: that browser is gone
                self.unsubscribe(queue)

    @staticmethod
    def _put(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(event)

    def closing(self) -> None:
        """The server is stopping: every open stream says "reconnect" and ends."""
        self.publish(RECONNECT)

    def on_erp(self, change: Any) -> None:
        """ERP listener (bot.erp_dispatcher.ErpChange): a notice delivered to a person has their open streams look
        in the inbox now (the inbox shows it, once); a PO change re-renders cards."""
        if change.person is not None:
            self.publish(LOOK_IN_INBOX, only=change.person)
            return
        audience = self._audience(change.number) if self._subscribers else []
        self.publish(
            {
                "type": "change",
                "number": change.number,
                "state": change.kind,
                "command": f"erp.{change.kind}",
                "actor": "erp",
                "audience": audience,
            }
        )

    def on_gap(self) -> None:
        """Changes may have been missed (the database restarted): every browser redraws the cards it shows."""
        self.publish(RESYNC)

    def on_change(self, change: Change) -> None:
        """After-commit listener: tell every browser which requisition changed and whom it concerns."""
        audience = self._audience(change.number) if self._subscribers else []
        self.publish(
            {
                "type": "change",
                "number": change.number,
                "state": change.state,
                "command": change.command,
                "actor": change.actor,
                "audience": audience,
            }
        )
