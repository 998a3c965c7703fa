"""The database drops a pooled connection (a restart, an idle timeout): the next action still lands, once."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, pool, text
from sqlmodel import Session, select

import approvals.db as db
from approvals.commands import Approve
from approvals.models import Decision, Requisition
from tests.factories import boxes, submit

pytestmark = pytest.mark.server_database  # SQLite has no server to drop a connection


def _drop_pooled_connection(service) -> None:  # type: ignore[no-untyped-def]
    """End, from another connection, the server side of the one connection in the service's pool."""
    with service.engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    assert service.engine.pool.checkedin() == 1, "the test drops the pool's only connection"
    killer = create_engine(service.engine.url, poolclass=pool.NullPool)
    try:
        with killer.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    finally:
        killer.dispose()


def _approvals(service, number: str) -> int:  # type: ignore[no-untyped-def]
    with Session(service.engine) as s:
        req = s.exec(select(Requisition).where(Requisition.number == number)).one()
        return len(s.exec(select(Decision).where(Decision.requisition_id == req.id)).all())


def test_approve_lands_on_a_new_connection_when_the_pooled_one_was_dropped(service, monkeypatch):
    """Maria taps Approve just after the database dropped the pool's connection: the approval lands once, no error."""
    # the connection was used a moment ago, so it is handed out unpinged: the dead one is met by the action itself
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)
    first = service.submit(submit(lines=[boxes(80)])).number
    second = service.submit(submit(lines=[boxes(75)])).number
    service.approve(Approve(actor="maria.lopez", number=first))
    _drop_pooled_connection(service)
    result = service.approve(Approve(actor="maria.lopez", number=second, idempotency_key="tap-after-drop"))
    assert result.outcome == "approved" and not result.replayed
    assert _approvals(service, second) == 1
    assert service.view(second).state == "approved"  # and the pool serves reads again


def test_a_connection_idle_past_the_window_is_pinged_and_replaced(service, monkeypatch):
    """After a quiet spell the database has dropped the pool's connection: a plain read finds a live one."""
    number = service.submit(submit(lines=[boxes(80)])).number
    _drop_pooled_connection(service)
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # every pooled connection counts as idle: it is pinged
    assert service.view(number).state == "pending_approval"
