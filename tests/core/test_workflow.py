"""The approval workflow end to end on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from approvals.commands import AnswerInfo, Approve, Escalate, Reassign, Reject, RequestInfo, SubmitDraft, Withdraw
from approvals.errors import IllegalTransition, NotAllowed, NotFound, StaleAction, ValidationFailed
from approvals.models import Decision, Requisition
from tests.factories import boxes, submit


def decisions(service, number: str) -> list[Decision]:
    with Session(service.engine) as s:
        req = s.exec(select(Requisition).where(Requisition.number == number)).one()
        return list(s.exec(select(Decision).where(Decision.requisition_id == req.id)).all())


def test_small_request_routes_to_manager_with_limit_note(service):
    """A $3,840 box order from a technician skips the shift supervisor (limit $2,500) and goes to Maria, saying why."""
    result = service.submit(submit(lines=[boxes(80)]))
    assert result.outcome == "routed"
    view = result.requisition
    assert view.state == "pending_approval"
    assert view.waiting_on == ["maria.lopez"]
    assert "approval limit $2,500 is below $3,840" in view.steps[0].explanation
    assert view.number.startswith("PR-")


def test_contracted_stock_under_limit_is_touchless(service):
    """Twenty rolls of contracted stretch wrap ($640) are approved straight through by the policy."""
    result = service.submit(submit(lines=[{**boxes(1), "quantity": 20, "unit_price": 32, "sku": "PKG-SW-18"}]))
    assert result.outcome == "auto_approved"
    assert result.requisition.state == "approved"
    assert result.requisition.steps == []
    assert [d.action for d in result.requisition.decisions] == ["auto_approve"]


def test_blocked_supplier_is_stopped_with_reason(service):
    """Buying from a blocked supplier stops at once and tells the requester why and what to do."""
    result = service.submit(submit(supplier="shady-surplus", lines=[boxes(2, sku=None)]))
    assert result.outcome == "stopped"
    assert result.requisition.state == "stopped"
    assert "blocked" in result.message and "Pick another supplier" in result.message


def test_two_stage_route_to_approval(service):
    """Maria's $8,640 order skips herself, goes to James then Marcus, and is approved after both."""
    result = service.submit(submit(requester="maria.lopez", lines=[boxes(180)]))
    number = result.number
    assert result.requisition.waiting_on == ["james.carter"]
    step1 = service.approve(Approve(actor="james.carter", number=number))
    assert step1.outcome == "advanced"
    assert step1.requisition.waiting_on == ["marcus.bell"]
    final = service.approve(Approve(actor="marcus.bell", number=number, comment="peak season"))
    assert final.outcome == "approved"
    assert final.requisition.state == "approved"
    assert [d.actor for d in decisions(service, number)] == ["james.carter", "marcus.bell"]


def test_requester_cannot_approve_own_request(service):
    """A requester tapping Approve on their own request is refused and nothing is recorded."""
    number = service.submit(submit(lines=[boxes(80)])).number
    with pytest.raises(NotAllowed, match="You requested"):
        service.approve(Approve(actor="jake.miller", number=number))
    assert decisions(service, number) == []


def test_stranger_cannot_approve(service):
    """Someone who is not an approver of the current stage is told who it waits for."""
    number = service.submit(submit(lines=[boxes(80)])).number
    with pytest.raises(NotAllowed, match="waits for Maria Lopez"):
        service.approve(Approve(actor="hannah.berg", number=number))


def test_reject_needs_reason_and_ends_request(service):
    """Rejecting requires a reason; the requisition becomes rejected and later taps are stale."""
    number = service.submit(submit(lines=[boxes(80)])).number
    with pytest.raises(ValueError):
        Reject(actor="maria.lopez", number=number, reason="   ")
    result = service.reject(Reject(actor="maria.lopez", number=number, reason="use the Chicago stock"))
    assert result.requisition.state == "rejected"
    with pytest.raises(StaleAction, match="already rejected by Maria Lopez"):
        service.approve(Approve(actor="maria.lopez", number=number))


def test_ask_for_info_returns_to_the_same_step(service, clock):
    """An approver asks a question; approving waits for the answer; the answer brings it back to them."""
    number = service.submit(submit(lines=[boxes(80)])).number
    asked = service.request_info(RequestInfo(actor="maria.lopez", number=number, question="Why 80 bundles?"))
    assert asked.requisition.state == "needs_info"
    with pytest.raises(StaleAction, match="waiting for the requester's answer"):
        service.approve(Approve(actor="maria.lopez", number=number))
    with pytest.raises(NotAllowed, match="Only the requester"):
        service.answer_info(AnswerInfo(actor="maria.lopez", number=number, answer="x"))
    clock.advance(hours=1)
    answered = service.answer_info(AnswerInfo(actor="jake.miller", number=number, answer="Peak season"))
    assert answered.requisition.state == "pending_approval"
    assert answered.requisition.waiting_on == ["maria.lopez"]
    assert answered.requisition.info_requests[0].answer == "Peak season"
    assert service.approve(Approve(actor="maria.lopez", number=number)).requisition.state == "approved"


def test_withdraw_only_by_requester_and_illegal_after(service):
    """Only the requester withdraws; a withdrawn request refuses approval, saying what is allowed."""
    number = service.submit(submit(lines=[boxes(80)])).number
    with pytest.raises(NotAllowed):
        service.withdraw(Withdraw(actor="maria.lopez", number=number))
    assert service.withdraw(Withdraw(actor="jake.miller", number=number)).requisition.state == "withdrawn"
    with pytest.raises(IllegalTransition, match="nothing"):
        service.withdraw(Withdraw(actor="jake.miller", number=number))
    assert service.get(number).state == "withdrawn"


def test_illegal_transition_changes_nothing(service):
    """Answering a question nobody asked is refused and the requisition is untouched."""
    number = service.submit(submit(lines=[boxes(80)])).number
    before = service.get(number)
    with pytest.raises(StaleAction, match="no open question"):
        service.answer_info(AnswerInfo(actor="jake.miller", number=number, answer="hello"))
    after = service.get(number)
    assert after.model_dump() == before.model_dump()


def test_draft_then_submit(service):
    """A saved draft is routed only when its requester submits it."""
    from approvals.commands import SubmitRequisition
    from tests.factories import draft

    saved = service.submit(SubmitRequisition(actor="jake.miller", draft=draft(lines=[boxes(80)]), as_draft=True))
    assert saved.requisition.state == "draft"
    with pytest.raises(NotAllowed):
        service.submit_draft(SubmitDraft(actor="maria.lopez", number=saved.number))
    routed = service.submit_draft(SubmitDraft(actor="jake.miller", number=saved.number))
    assert routed.requisition.state == "pending_approval"


def test_same_idempotency_key_gives_same_result_once(service):
    """A double tap with the same key returns the first result and records one decision."""
    number = service.submit(submit(lines=[boxes(80)])).number
    first = service.approve(Approve(actor="maria.lopez", number=number, idempotency_key="tap-1"))
    again = service.approve(Approve(actor="maria.lopez", number=number, idempotency_key="tap-1"))
    assert again.replayed and not first.replayed
    assert again.outcome == first.outcome == "approved"
    assert len(decisions(service, number)) == 1


def test_retry_that_waited_for_the_lock_replays_instead_of_refusing(service, monkeypatch):
    """A retried tap that took the row lock after its twin committed, on a lock read that could not yet see the twin's
    logged key, answers with the twin's result, not "already approved"."""
    import approvals.workflow.base as base

    number = service.submit(submit(lines=[boxes(80)])).number
    first = service.approve(Approve(actor="maria.lopez", number=number, idempotency_key="tap-9"))
    real_fetch = base.fetch
    # the lock statement's view of the command log is older than the row it locked (read committed, waited on the lock)
    monkeypatch.setattr(base, "fetch", lambda w, n, *, key=None, **kw: real_fetch(w, n, key=None, **kw))
    monkeypatch.setattr(service, "_replay_before_lock", lambda name: False)  # SQLite too takes PostgreSQL's path
    again = service.approve(Approve(actor="maria.lopez", number=number, idempotency_key="tap-9"))
    assert again.replayed and again.outcome == first.outcome == "approved"
    assert len(decisions(service, number)) == 1
    with pytest.raises(StaleAction):  # without a key the refusal stands: someone acting on a decided step
        service.approve(Approve(actor="maria.lopez", number=number))


def test_submit_retry_with_same_key_creates_one_requisition(service):
    """A chat retry of the same submission (same key) never creates a second requisition."""
    a = service.submit(submit(lines=[boxes(80)], key="msg-77"))
    b = service.submit(submit(lines=[boxes(80)], key="msg-77"))
    assert a.number == b.number and b.replayed
    with Session(service.engine) as s:
        assert s.exec(select(func.count()).select_from(Requisition)).one() == 1


def test_reused_key_for_other_command_is_refused(service):
    """Reusing an idempotency key for a different action is refused instead of silently replaying."""
    from approvals.errors import ConflictingRetry

    number = service.submit(submit(lines=[boxes(80)])).number
    service.request_info(RequestInfo(actor="maria.lopez", number=number, question="why?", idempotency_key="k"))
    with pytest.raises(ConflictingRetry):
        service.approve(Approve(actor="maria.lopez", number=number, idempotency_key="k"))


def test_stale_tap_after_stage_moved_on_says_who_and_when(service):
    """James taps Approve again after his stage is done: he is told he already approved and who has it now."""
    number = service.submit(submit(requester="maria.lopez", lines=[boxes(180)])).number
    service.approve(Approve(actor="james.carter", number=number))
    with pytest.raises(StaleAction, match="You already approved .* it now waits for Marcus Bell"):
        service.approve(Approve(actor="james.carter", number=number))


def test_unknown_requisition_number(service):
    """Asking about a number that does not exist says how numbers look."""
    with pytest.raises(NotFound, match="PR-1042"):
        service.get("PR-999999")


def test_invalid_request_writes_nothing(service):
    """An unknown supplier, site and currency are all reported by field and no row is written."""
    bad = submit(lines=[boxes(2)])
    bad = bad.model_copy(
        update={"draft": bad.draft.model_copy(update={"supplier": "nobody-inc", "site": "XYZ", "currency": "JPY"})}
    )
    with pytest.raises(ValidationFailed) as err:
        service.submit(bad)
    fields = {e.field for e in err.value.errors}
    assert {"supplier", "site", "currency"} <= fields
    with Session(service.engine) as s:
        assert s.exec(select(func.count()).select_from(Requisition)).one() == 0


def test_reassign_and_escalate(service):
    """An admin reassigns a step; a stuck step escalates to the approver's manager per policy."""
    number = service.submit(submit(lines=[boxes(80)])).number
    moved = service.reassign(
        Reassign(
            actor="admin",
            number=number,
            from_person="maria.lopez",
            to_person="frank.novak",
            reason="Maria is at the Chicago DC this week",
        )
    )
    assert moved.requisition.waiting_on == ["frank.novak"]
    with pytest.raises(NotAllowed):
        service.reassign(
            Reassign(
                actor="admin", number=number, from_person="frank.novak", to_person="jake.miller", reason="requester"
            )
        )
    with pytest.raises(NotAllowed):
        service.escalate(Escalate(actor="jake.miller", number=number))
    escalated = service.escalate(Escalate(actor="scheduler", surface="scheduler", number=number), as_admin=True)
    # standard-small escalates to the approver's manager: Frank reports to James
    assert "james.carter" in escalated.requisition.waiting_on
    assert service.approve(Approve(actor="james.carter", number=number)).requisition.state == "approved"
