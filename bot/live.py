"""Live updates for every process on one database: what one process commits, the browsers of every replica hear.

`Live` sits between what commits (the service's after-commit list, ERP changes of a dispatcher in any process) and
what shows it (the web chat's hub). A change is told at once to this process's own listeners and, on PostgreSQL,
sent with `NOTIFY` on `CHANNEL` right after the commit. A process with listeners keeps one thread holding one
autocommit connection on `LISTEN CHANNEL`; it tells its listeners what the other processes sent and skips its own
(told at once already), so nobody sees a change twice. If the database goes away, the thread connects again with
a growing pause and then tells its listeners that they may have missed changes (`on_gap`): the browsers redraw
the cards they show. On SQLite (one process) the in-process path is all there is. The thread stops when the
engine is disposed of (the server's last step as it stops) or at `close`.

A notification carries the requisition number and what changed (state, command, outcome, the actor's and, for a
notice, the addressee's directory id, the surface, the time): what the hub already sends browsers, never a
notice's words.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import uuid
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import Engine, event, text

from approvals.workflow.base import Change
from bot.erp_dispatcher import ErpChange, ErpListener

log = logging.getLogger("procurebot.live")
CHANNEL = "procurebot_live"
APP_NAME = "procurebot live updates"  # how the listening connection shows in pg_stat_activity
RETRY_FIRST_SECONDS = 0.5  # the first pause before listening again after the database went away...
RETRY_MAX_SECONDS = 10.0  # ...doubling up to this
LOOK_UP_SECONDS = 0.5  # how often the listening thread looks up from its wait to see whether it should stop
FIRST_LISTEN_SECONDS = 2.0  # how long the first subscriber waits for the LISTEN to be in place
STOP_SECONDS = 2.0  # how long `close` at exit waits for the thread


class Live:
    """One per process (the runtime's `live`): `publish_*` after a commit, `listen` to hear every process's."""

    def __init__(self, engine: Engine, *, between_processes: bool = True) -> None:
        """`between_processes=False` keeps changes in this process even on PostgreSQL (production, where the only
        page that listens, the dev web chat, is off: no process would hear a NOTIFY, so none is sent)."""
        self.engine = engine
        # other processes may share the database, and hear
        self.shared = between_processes and engine.dialect.name == "postgresql"
        self.origin = uuid.uuid4().hex  # tells this process's own notifications apart
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT") if self.shared else engine
        self._changes: list[Callable[[Change], None]] = []
        self._erp: list[ErpListener] = []
        self._gaps: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None
        if self.shared:
            # the server disposes of its engine as it stops (bot/api/app.py's lifespan): the listening ends with it
            event.listen(engine, "engine_disposed", lambda _engine: self._stop.set())

    # ------------------------------------------------------------------ what shows changes
    def listen(
        self,
        on_change: Callable[[Change], None],
        on_erp: ErpListener | None = None,
        on_gap: Callable[[], None] | None = None,
    ) -> None:
        """Tell these of every change any process commits from now on; on PostgreSQL the first call starts the
        listening thread and waits (a few seconds at most) until it listens."""
        with self._lock:
            self._changes.append(on_change)
            if on_erp is not None:
                self._erp.append(on_erp)
            if on_gap is not None:
                self._gaps.append(on_gap)
            start = self.shared and self._thread is None and not self._stop.is_set()
            if start:
                self._thread = threading.Thread(target=self._run, name="live-listen", daemon=True)
                self._thread.start()
                atexit.register(self.close)
        if start and not self._listening.wait(FIRST_LISTEN_SECONDS):
            log.warning("live updates: not listening yet; other processes' changes show once the database answers")

    @property
    def wanted(self) -> bool:
        """Whether anyone may hear a change: a listener here, or other processes on a shared database."""
        return self.shared or bool(self._changes)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def close(self, timeout: float = STOP_SECONDS) -> None:
        """Stop the listening thread (at shutdown); waits at most `timeout` seconds for it."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # ------------------------------------------------------------------ what commits
    def publish_change(self, change: Change) -> None:
        """After-commit listener: tell this process's listeners, then the other processes."""
        self._tell(self._changes, change)
        if self.shared:
            self._notify(
                {
                    "t": "change",
                    "number": change.number,
                    "id": change.requisition_id,
                    "command": change.command,
                    "outcome": change.outcome,
                    "actor": change.actor,
                    "surface": change.surface,
                    "state": change.state,
                    "at": change.at.isoformat(),
                }
            )

    def publish_erp(self, change: ErpChange) -> None:
        """ERP listener: the same for what a dispatcher committed (a PO, its status, a notice kept for a person)."""
        self._tell(self._erp, change)
        if self.shared:
            self._notify({"t": "erp", "number": change.number, "kind": change.kind, "person": change.person})

    def _notify(self, event: dict[str, Any]) -> None:
        body = json.dumps({"o": self.origin, **event}, separators=(",", ":"))
        try:
            with self._autocommit.connect() as conn:
                conn.execute(text("SELECT pg_notify(:channel, :body)"), {"channel": CHANNEL, "body": body})
        except Exception as exc:  # noqa: BLE001 - the change is committed; other replicas show it on their next redraw
            log.warning("live updates: could not tell other processes about %s (%s)", event["number"], exc)

    # ------------------------------------------------------------------ hearing the others
    def received(self, body: str) -> None:
        """One notification's payload: tell this process's listeners, unless this process sent it."""
        try:
            event = json.loads(body)
            if event.get("o") == self.origin:
                return
            if event["t"] == "change":
                at = datetime.fromisoformat(event["at"])
                change = Change(
                    event["number"],
                    int(event["id"]),
                    event["command"],
                    event["outcome"],
                    event["actor"],
                    event["surface"],
                    event["state"],
                    at,
                )
                self._tell(self._changes, change)
            elif event["t"] == "erp":
                self._tell(self._erp, ErpChange(event["number"], event["kind"], event.get("person")))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("live updates: a notification on %s was not understood (%s)", CHANNEL, exc)

    def _run(self) -> None:
        import psycopg

        args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
        pause, lost = RETRY_FIRST_SECONDS, False
        while not self._stop.is_set():
            try:
                with psycopg.connect(*args, **{**kwargs, "autocommit": True, "application_name": APP_NAME}) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    if lost:
                        log.info("live updates: listening again")
                        self._tell(self._gaps, None)
                    pause, lost = RETRY_FIRST_SECONDS, False
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=LOOK_UP_SECONDS):
                            self.received(note.payload)
            except Exception as exc:  # noqa: BLE001 - the database restarted or is unreachable: listen again later
                self._listening.clear()
                if self._stop.is_set():
                    break
                lost = True
                log.warning("live updates: lost the database (%s); listening again in %.1f s", exc, pause)
                self._stop.wait(pause)
                pause = min(pause * 2, RETRY_MAX_SECONDS)
        self._listening.clear()

    @staticmethod
    def _tell(listeners: list[Any], event: Any) -> None:
        for listener in list(listeners):
            try:
                listener() if event is None else listener(event)
            except Exception:  # noqa: BLE001 - one broken listener must not silence the others
                log.exception("live listener %r failed", listener)
