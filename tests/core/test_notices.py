"""The one notice type and its port: what the scheduler and the ERP outbox say to people, and where it is kept."""

from __future__ import annotations

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
