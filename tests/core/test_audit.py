"""The audit trail: every change is an event; any edit, deletion or reordering is detected."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import text
from sqlmodel import Session

from approvals import audit
from approvals.commands import Approve, Reject
from approvals.errors import NotAllowed
from tests.factories import boxes, submit


def _story(service) -> str:
    number = service.submit(submit(requester="maria.lopez", lines=[boxes(180)])).number
    service.approve(Approve(actor="james.carter", number=number))
    service.reject(Reject(actor="marcus.bell", number=number, reason="Use Chicago's surplus"))
    return number


def _verify(service) -> audit.VerifyReport:
    with Session(service.engine) as session:
        return audit.verify_chain(session)


def _sql(service, statement: str, **params) -> None:
    with service.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_every_step_of_a_story_is_audited_with_actor_and_policy(service):
    """Submit, route, approve and reject each leave an event naming who did it under which policy version."""
    number = _story(service)
    with Session(service.engine) as session:
        events = [e for e in audit.iter_events(session, requisition_number=number)]
    kinds = [e.kind for e in events]
    assert kinds == ["created", "submitted", "routed", "approved_step", "stage_completed", "rejected"]
    assert events[-1].actor == "marcus.bell" and events[-1].after["reason"] == "Use Chicago's surplus"
    assert all(e.policy_version and e.policy_version.startswith("2026.11.1") for e in events[2:])
    assert _verify(service).ok


def test_edited_event_is_detected(service):
    """Changing who rejected a request in the database breaks the chain at that event."""
    _story(service)
    _sql(service, "UPDATE audit_event SET actor = 'someone.else' WHERE kind = 'rejected'")
    report = _verify(service)
    assert not report.ok
    assert any("was edited" in p for p in report.problems)


def test_deleted_event_in_the_middle_is_detected(service):
    """Deleting one event from the middle of the chain is reported as missing."""
    _story(service)
    _sql(service, "DELETE FROM audit_event WHERE seq = 3")
    report = _verify(service)
    assert any("missing" in p for p in report.problems)


def test_deleted_tail_is_detected(service):
    """Deleting the most recent events is caught by the chain head."""
    _story(service)
    _sql(service, "DELETE FROM audit_event WHERE seq >= (SELECT MAX(seq) - 1 FROM audit_event)")
    report = _verify(service)
    assert any("were deleted" in p for p in report.problems)


def test_reordered_events_are_detected(service):
    """Swapping the contents of two events (keeping their numbers) breaks the chain."""
    _story(service)
    with Session(service.engine) as session:
        a, b = [e for e in audit.iter_events(session)][3:5]
        swap = {"a": a.seq, "b": b.seq, "ka": a.kind, "kb": b.kind}
    _sql(service, "UPDATE audit_event SET kind = :kb WHERE seq = :a", **swap)
    _sql(service, "UPDATE audit_event SET kind = :ka WHERE seq = :b", **swap)
    assert not _verify(service).ok


def test_export_jsonl_and_csv_carry_the_chain(service):
    """Exports list every event with its hashes, in order, as JSON Lines and as CSV."""
    _story(service)
    with Session(service.engine) as session:
        lines = list(audit.export_jsonl(audit.iter_events(session)))
        rows = list(csv.DictReader(io.StringIO("".join(audit.export_csv(audit.iter_events(session))))))
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert records[1]["prev_hash"] == records[0]["hash"]
    assert len(rows) == len(records) and rows[-1]["hash"] == records[-1]["hash"]
    assert json.loads(rows[-1]["after"])["reason"] == "Use Chicago's surplus"


def test_deleting_the_head_and_tail_is_detected(service):
    """Deleting the last events and the chain head together is still reported."""
    _story(service)
    _sql(service, "DELETE FROM audit_event WHERE seq >= (SELECT MAX(seq) - 1 FROM audit_event)")
    _sql(service, "DELETE FROM audit_head")
    report = _verify(service)
    assert any("head is missing" in p for p in report.problems)


def test_with_the_head_deleted_a_tap_is_still_decided_on_the_steps(service):
    """With the chain head row gone, a tap by someone who is not the approver is still told who it waits for."""
    number = service.submit(submit(lines=[boxes(80)])).number
    _sql(service, "DELETE FROM audit_head")
    with pytest.raises(NotAllowed, match=f"not an approver of {number} at this stage; it waits for Maria Lopez"):
        service.approve(Approve(actor="james.carter", number=number))
    assert service.get(number).state == "pending_approval"


def test_export_since_means_the_same_instant_on_every_database(service, clock):
    """`since` with a time-zone offset selects the same events on SQLite and PostgreSQL."""
    from datetime import timedelta

    _story(service)  # every event at 15:00 UTC
    with Session(service.engine) as session:
        earlier = list(
            audit.iter_events(
                session,
                since=(clock.now - timedelta(minutes=30)).astimezone(
                    __import__("zoneinfo").ZoneInfo("America/New_York")
                ),
            )
        )
        later = list(
            audit.iter_events(
                session,
                since=(clock.now + timedelta(minutes=30)).astimezone(
                    __import__("zoneinfo").ZoneInfo("America/New_York")
                ),
            )
        )
    assert len(earlier) >= 6 and later == []
