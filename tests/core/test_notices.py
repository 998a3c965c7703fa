"""The one notice type and its port: what the scheduler and the ERP outbox say to people, and where it is kept."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from approvals import inbox
from approvals.db import make_engine
from approvals.notices import Notice


def test_a_notice_with_buttons_survives_its_job_payload():
    """A buyer's 'ERP refused PR-1042' notice, written as a job, comes back with its Retry button."""
    notice = Notice(
        "erp_failed",
        "PR-1042 is approved but the ERP would not take its purchase order",
        "erp_failed:PR-1042:0",
        "PR-1042",
        actions=({"id": "erp.retry", "label": "Retry", "value": "PR-1042"},),
    )
    payload = {"to": "dana.kim", "request_id": "r-1", **notice.payload()}
    assert Notice.from_payload(payload) == notice
    assert set(notice.payload()) == {"kind", "text", "key", "number", "actions"}  # the ERP jobs' shape, as before


def test_a_digest_keeps_every_requisition_it_lists():
    """Maria's morning digest names three requisitions; all three survive the trip through a payload."""
    digest = Notice(
        "digest", "3 requisitions wait for you", "digest:maria:2026-11-23", numbers=("PR-1", "PR-2", "PR-3")
    )
    assert Notice.from_payload(digest.payload()) == digest


PO_CREATED = Notice(
    "po_created", "PR-1042 is now purchase order PO-000001 in the ERP.", "po_created:PR-1042", "PR-1042"
)
REMINDER = Notice("reminder", "PR-1042 still waits for your approval.", "scheduler.remind:PR-1042:1", "PR-1042")


def test_a_notice_written_twice_is_kept_once(engine, clock):
    """A dispatcher dies after keeping Jake's 'PO created' and before finishing the job; the retry keeps nothing new."""
    first = inbox.deliver(engine, person_id="jake.miller", notice=PO_CREATED, now=clock())
    clock.advance(minutes=5)
    again = inbox.deliver(engine, person_id="jake.miller", notice=PO_CREATED, now=clock())
    assert again == first
    assert [n.key for n in inbox.kept_for(engine, person_id="jake.miller")] == ["po_created:PR-1042"]


def test_the_same_notice_to_two_people_is_kept_for_each(engine, clock):
    """A dead-lettered PO tells both buyers: one notice key, one row for each of them."""
    for buyer in ("dana.kim", "sam.ortiz"):
        inbox.deliver(engine, person_id=buyer, notice=PO_CREATED, now=clock())
    assert len(inbox.kept_for(engine, person_id="dana.kim")) == len(inbox.kept_for(engine, person_id="sam.ortiz")) == 1


def test_unshown_notices_are_taken_once_in_order(engine, clock):
    """Maria gets a reminder, then a PO notice; her web chat shows both, oldest first, and never again."""
    inbox.deliver(engine, person_id="maria.lopez", notice=REMINDER, now=clock())
    inbox.deliver(engine, person_id="maria.lopez", notice=PO_CREATED, now=clock())
    inbox.deliver(engine, person_id="jake.miller", notice=PO_CREATED, now=clock())
    assert inbox.take_unshown(engine, person_id="maria.lopez", now=clock()) == [REMINDER, PO_CREATED]
    assert inbox.take_unshown(engine, person_id="maria.lopez", now=clock()) == []
    [kept, _] = inbox.kept_for(engine, person_id="maria.lopez")
    assert kept.shown_at is not None and kept.created_at is not None
    assert inbox.take_unshown(engine, person_id="jake.miller", now=clock()) == [PO_CREATED]  # his own, untouched


def test_two_processes_keep_and_show_a_notice_once(db_url, clock):
    """Two replicas' engines on one database both deliver Jake's notice: one row; the replica he reconnects to
    shows it, and the other, asked a moment later, has nothing left to show."""
    a, b = make_engine(db_url), make_engine(db_url)
    try:
        inbox.deliver(a, person_id="jake.miller", notice=PO_CREATED, now=clock())
        inbox.deliver(b, person_id="jake.miller", notice=PO_CREATED, now=clock())
        assert len(inbox.kept_for(a, person_id="jake.miller")) == 1
        assert inbox.take_unshown(b, person_id="jake.miller", now=clock()) == [PO_CREATED]
        assert inbox.take_unshown(a, person_id="jake.miller", now=clock()) == []
    finally:
        a.dispose()
        b.dispose()


def test_two_replicas_taking_at_once_show_each_notice_once(db_url, clock):
    """Maria's browser reconnects to two replicas at the same moment: between them they show her five notices,
    each exactly once."""
    notices = [Notice("reminder", f"PR-{i} waits for you.", f"remind:PR-{i}", f"PR-{i}") for i in range(5)]
    a, b = make_engine(db_url), make_engine(db_url)
    try:
        for n in notices:
            inbox.deliver(a, person_id="maria.lopez", notice=n, now=clock())
        start = threading.Barrier(2)

        def take(engine):  # type: ignore[no-untyped-def]
            start.wait()
            return inbox.take_unshown(engine, person_id="maria.lopez", now=clock())

        with ThreadPoolExecutor(2) as pool:
            shown = [n for taken in pool.map(take, (a, b)) for n in taken]
        assert sorted(n.key for n in shown) == sorted(n.key for n in notices)
    finally:
        a.dispose()
        b.dispose()
