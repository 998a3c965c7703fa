"""Live updates across processes (bot/live.py): a change committed by one process reaches every process's browsers
once, over PostgreSQL's NOTIFY; SQLite keeps the in-process path."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from conftest import new_postgres_database
from sqlalchemy import text

from approvals.db import make_engine
from approvals.workflow.base import Change
from bot.erp_dispatcher import ErpChange
from bot.live import Live
from bot.web.hub import LiveHub

AT = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
WAIT = 10.0  # generous: another thread, a database round trip


def _change(number: str = "PR-1001", state: str = "approved") -> Change:
    return Change(number, 7, "approve", "approved", "zoe.martin", "web", state, AT)


class Heard:
    """What one process's listeners were told, in order, with a way to wait for more."""

    def __init__(self) -> None:
        self.events: queue.Queue[Any] = queue.Queue()
        self.gaps = threading.Event()

    def attach(self, live: Live) -> None:
        live.listen(self.events.put, self.events.put, self.gaps.set)

    def next(self, limit: float = WAIT) -> Any:
        return self.events.get(timeout=limit)

    def nothing_more(self, within: float = 0.5) -> bool:
        try:
            self.events.get(timeout=within)
        except queue.Empty:
            return True
        return False


@pytest.fixture
def pg_engines():  # type: ignore[no-untyped-def]
    """Two engines on a PostgreSQL database of their own (no other test's listener on it), for two processes."""
    with new_postgres_database("procurebot_live") as url:
        engines = [make_engine(url), make_engine(url)]
        yield engines
        for e in engines:
            e.dispose()


def test_sqlite_tells_this_process_only_and_starts_no_thread(tmp_path):
    """On SQLite a committed change reaches this process's listener once, with no listening thread."""
    engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    live, heard = Live(engine), Heard()
    heard.attach(live)
    live.publish_change(_change())
    assert heard.next(1) == _change()
    assert heard.nothing_more()
    assert not live.shared and not live.listening and live._thread is None
    engine.dispose()


def test_a_change_committed_by_one_process_reaches_the_other_once(pg_engines):
    """Replica B publishes an approval; replica A's listener hears the same change, and B's own listener hears it
    once (at once, not again through NOTIFY)."""
    a, b = Live(pg_engines[0]), Live(pg_engines[1])
    heard_a, heard_b = Heard(), Heard()
    try:
        heard_a.attach(a)
        heard_b.attach(b)
        assert a.listening and b.listening
        b.publish_change(_change())
        assert heard_b.next(1) == _change()
        assert heard_a.next() == _change()
        assert heard_a.nothing_more() and heard_b.nothing_more()
    finally:
        a.close()
        b.close()


def test_an_erp_change_travels_without_the_notice_words(pg_engines):
    """A worker records a PO and keeps a notice for Jake: the replica hears both, the notice without its text."""
    worker, replica = Live(pg_engines[0]), Live(pg_engines[1])  # the worker only publishes: it never listens
    heard = Heard()
    try:
        heard.attach(replica)
        worker.publish_erp(ErpChange("PR-1001", "po_created"))
        worker.publish_erp(ErpChange("PR-1001", "po_created", "jake.miller", "PO 4500 was created for your order"))
        assert heard.next() == ErpChange("PR-1001", "po_created")
        assert heard.next() == ErpChange("PR-1001", "po_created", "jake.miller", None)
        assert worker._thread is None
    finally:
        worker.close()
        replica.close()


def test_listening_again_after_the_database_drops_the_connection(pg_engines):
    """The database ends the listening connection (a restart): the thread connects again, tells its listeners
    they may have missed changes, and hears the next change."""
    a, b = Live(pg_engines[0]), Live(pg_engines[1])
    heard = Heard()
    try:
        heard.attach(a)
        with pg_engines[1].connect() as conn:
            ended = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND application_name = 'procurebot live updates'"
                )
            ).scalar()
        assert ended == 1
        assert heard.gaps.wait(WAIT), "never listened again"
        b.publish_change(_change(state="po_pending"))
        assert heard.next() == _change(state="po_pending")
    finally:
        a.close()
        b.close()


def test_close_stops_the_listening_thread_quickly(pg_engines):
    """At shutdown the listening thread ends within the bounded wait, and no later change is heard."""
    a = Live(pg_engines[0])
    heard = Heard()
    heard.attach(a)
    thread = a._thread
    assert thread is not None and thread.is_alive()
    started = time.monotonic()
    a.close(timeout=5)
    assert not thread.is_alive(), f"still running {time.monotonic() - started:.1f} s after close"
    Live(pg_engines[1]).publish_change(_change())
    assert heard.nothing_more()


def test_a_notification_it_cannot_read_is_skipped(pg_engines):
    """Junk on the channel (another version, a hand-typed NOTIFY) is logged and skipped; the next change arrives."""
    a, heard = Live(pg_engines[0]), Heard()
    try:
        heard.attach(a)
        with pg_engines[1].connect() as conn:
            conn.execute(text("SELECT pg_notify('procurebot_live', 'not json')"))
            conn.execute(text("""SELECT pg_notify('procurebot_live', '{"t": "change", "number": "PR-1"}')"""))
            conn.commit()
        Live(pg_engines[1]).publish_change(_change())
        assert heard.next() == _change()
        assert heard.nothing_more()
    finally:
        a.close()


def test_disposing_of_the_engine_stops_the_listening(pg_engines):
    """The server's last step as it stops (disposing of its engine) ends the listening thread too."""
    a = Live(pg_engines[0])
    Heard().attach(a)
    thread = a._thread
    assert thread is not None and thread.is_alive()
    pg_engines[0].dispose()
    thread.join(5)
    assert not thread.is_alive()


def test_production_keeps_changes_in_the_process(pg_engines):
    """With nobody to hear them (production: the web chat is off), changes send no NOTIFY and nothing listens."""
    quiet, other = Live(pg_engines[0], between_processes=False), Live(pg_engines[1])
    heard_quiet, heard_other = Heard(), Heard()
    try:
        heard_quiet.attach(quiet)
        heard_other.attach(other)
        quiet.publish_change(_change())
        assert heard_quiet.next(1) == _change()
        assert heard_other.nothing_more()
        assert quiet._thread is None and not quiet.shared
    finally:
        quiet.close()
        other.close()


def test_a_gap_has_every_browser_redraw_its_cards():
    """After the listening connection came back, each open stream is told to redraw the cards it shows."""
    hub = LiveHub(lambda number: [])

    async def one_stream() -> Any:
        queue = hub.subscribe("jake.miller")
        hub.on_gap()
        return await asyncio.wait_for(queue.get(), 1)

    assert asyncio.run(one_stream()) == {"type": "resync"}
