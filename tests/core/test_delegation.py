"""Delegation windows at routing and at action time, recorded as "X on behalf of Y"."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from approvals.commands import Approve, CancelDelegation, SetDelegation
from approvals.errors import NotAllowed, ValidationFailed
from tests.factories import boxes, submit


def delegate(service, clock, delegator, to, days=14, start_in_days=0, **extra):
    start = clock.now + timedelta(days=start_in_days)
    return service.set_delegation(
        SetDelegation(
            actor=delegator,
            delegator=delegator,
            delegate=to,
            starts_at=start,
            ends_at=start + timedelta(days=days),
            **extra,
        )
    )


def test_delegate_receives_and_approves_on_behalf(service, clock):
    """Maria is out and Frank approves for her: the step shows Frank, the decision says on behalf of Maria."""
    delegate(service, clock, "maria.lopez", "frank.novak")
    result = service.submit(submit(lines=[boxes(80)]))
    step = result.requisition.steps[0]
    assert step.approver == "maria.lopez" and step.acting == "frank.novak"
    approved = service.approve(Approve(actor="frank.novak", number=result.number))
    decision = approved.requisition.decisions[-1]
    assert (decision.actor, decision.on_behalf_of) == ("frank.novak", "maria.lopez")
    assert approved.requisition.steps[0].on_behalf_of == "maria.lopez"


def test_delegation_that_starts_after_routing_is_honoured_at_action_time(service, clock):
    """A delegation set after the request was routed still lets the delegate act while it is active."""
    number = service.submit(submit(lines=[boxes(80)])).number
    delegate(service, clock, "maria.lopez", "priya.nair")
    result = service.approve(Approve(actor="priya.nair", number=number))
    assert result.requisition.state == "approved"
    assert result.requisition.decisions[-1].on_behalf_of == "maria.lopez"


def test_delegation_outside_its_window_gives_no_power(service, clock):
    """Before the window opens and after it ends, the delegate cannot act."""
    number = service.submit(submit(lines=[boxes(80)])).number
    delegate(service, clock, "maria.lopez", "priya.nair", days=2, start_in_days=3)
    with pytest.raises(NotAllowed):
        service.approve(Approve(actor="priya.nair", number=number))
    clock.advance(days=6)
    with pytest.raises(NotAllowed):
        service.approve(Approve(actor="priya.nair", number=number))


def test_delegate_can_never_be_the_requester(service, clock):
    """Maria delegates to Jake, then Jake's own request still goes to Maria, not to Jake."""
    delegate(service, clock, "maria.lopez", "jake.miller")
    result = service.submit(submit(lines=[boxes(80)]))
    step = result.requisition.steps[0]
    assert step.acting == "maria.lopez"
    with pytest.raises(NotAllowed, match="You requested"):
        service.approve(Approve(actor="jake.miller", number=result.number))


def test_chain_is_followed_and_loop_refused(service, clock):
    """Maria -> Frank -> Priya is followed; Priya -> Maria would close a loop and is refused."""
    delegate(service, clock, "maria.lopez", "frank.novak")
    delegate(service, clock, "frank.novak", "priya.nair")
    result = service.submit(submit(lines=[boxes(80)]))
    assert result.requisition.steps[0].acting == "priya.nair"
    with pytest.raises(ValidationFailed, match="loop"):
        delegate(service, clock, "priya.nair", "maria.lopez")


def test_scoped_delegation_respects_amount_limit(service, clock):
    """A delegation limited to $1,000 does not cover a $3,840 request."""
    delegate(service, clock, "maria.lopez", "frank.novak", max_amount=Decimal(1000))
    result = service.submit(submit(lines=[boxes(80)]))
    assert result.requisition.steps[0].acting == "maria.lopez"
    with pytest.raises(NotAllowed):
        service.approve(Approve(actor="frank.novak", number=result.number))


def test_only_self_or_admin_sets_delegation_and_cancel_ends_it(service, clock):
    """Nobody sets a delegation for someone else; cancelling ends the delegate's power at once."""
    with pytest.raises(NotAllowed):
        service.set_delegation(
            SetDelegation(
                actor="frank.novak",
                delegator="maria.lopez",
                delegate="frank.novak",
                starts_at=clock.now,
                ends_at=clock.now + timedelta(days=1),
            )
        )
    row = delegate(service, clock, "maria.lopez", "frank.novak")
    number = service.submit(submit(lines=[boxes(80)])).number
    service.cancel_delegation(CancelDelegation(actor="maria.lopez", delegation_id=row.id))
    with pytest.raises(NotAllowed):
        service.approve(Approve(actor="frank.novak", number=number))


def test_bad_delegation_input(service, clock):
    """Delegating to yourself, to an unknown person, or backwards in time gets a clear message."""
    with pytest.raises(ValidationFailed, match="yourself"):
        delegate(service, clock, "maria.lopez", "maria.lopez")
    with pytest.raises(ValidationFailed, match="unknown person"):
        delegate(service, clock, "maria.lopez", "nobody.here")
    with pytest.raises(ValueError, match="end after it starts"):
        SetDelegation(
            actor="maria.lopez",
            delegator="maria.lopez",
            delegate="frank.novak",
            starts_at=clock.now,
            ends_at=clock.now - timedelta(hours=1),
        )


# ---------------------------------------------------------------- a delegation never skips a control

LAPTOPS = {"description": "Laptop 14in", "sku": "IT-LAP-14", "quantity": 5, "unit_price": 1400}


def _laptops(service):
    """$7,000 of IT for Emily: Raj (IT) first, then finance (any of Priya, Olivia)."""
    return service.submit(submit(requester="emily.davis", cost_center="CORP-IT", supplier="cdw", lines=[LAPTOPS]))


def _audit_after(service, number: str, kind: str) -> dict:
    from sqlmodel import Session, select

    from approvals.models import AuditEvent

    with Session(service.engine) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.requisition_number == number, AuditEvent.kind == kind)).all()
    assert len(rows) == 1, [r.kind for r in rows]
    return rows[0].after or {}


def test_delegate_without_the_limit_does_not_receive_the_step(service, clock):
    """Maria delegates to Ben, a buyer with a $0 limit: her $3,840 step stays with her and the plan says why."""
    delegate(service, clock, "maria.lopez", "ben.turner")
    result = service.submit(submit(lines=[boxes(80)]))
    step = result.requisition.steps[0]
    assert (step.approver, step.acting) == ("maria.lopez", "maria.lopez")
    assert (
        "Ben Turner's approval limit $0 is below $3,840, so it stays with Maria Lopez" in result.requisition.route_notes
    )


def test_delegate_without_the_limit_cannot_approve_as_delegate(service, clock):
    """A delegation set after routing reaches Ben, but his $0 limit stops his tap; Maria still approves."""
    number = service.submit(submit(lines=[boxes(80)])).number
    delegate(service, clock, "maria.lopez", "ben.turner")
    with pytest.raises(NotAllowed, match=r"Ben Turner's approval limit \$0 is below \$3,840. It stays with Maria"):
        service.approve(Approve(actor="ben.turner", number=number))
    assert service.approve(Approve(actor="maria.lopez", number=number)).outcome == "approved"


def test_delegate_who_is_on_a_later_stage_cannot_approve_an_earlier_one(service, clock):
    """Raj delegates to Olivia, who already waits on the finance stage: her tap for Raj is refused, naming it."""
    number = _laptops(service).number
    delegate(service, clock, "raj.patel", "olivia.grant")
    with pytest.raises(NotAllowed, match="Olivia Grant is already an approver at stage"):
        service.approve(Approve(actor="olivia.grant", number=number))
    assert service.approve(Approve(actor="raj.patel", number=number)).outcome == "advanced"


def test_a_later_stage_goes_past_a_delegate_who_acts_on_an_earlier_one(service, clock):
    """Raj is out and Priya acts for him on the IT stage: finance leaves her out, so the request never sticks."""
    delegate(service, clock, "raj.patel", "priya.nair")
    view = _laptops(service).requisition
    first, *finance = view.steps
    assert first.acting == "priya.nair"
    assert "priya.nair" not in {s.approver for s in finance} and finance
    assert service.approve(Approve(actor="priya.nair", number=view.number)).outcome == "advanced"
    last = service.approve(Approve(actor=finance[0].approver, number=view.number))
    assert last.outcome == "approved"


def test_overlapping_windows_resolve_to_the_newest_and_the_audit_names_it(service, clock):
    """Maria sets two delegations for the same days: the one set last decides, and the approval names that one."""
    delegate(service, clock, "maria.lopez", "frank.novak")
    newer = delegate(service, clock, "maria.lopez", "denise.washington")
    number = service.submit(submit(lines=[boxes(80)])).number
    with pytest.raises(NotAllowed):
        service.approve(Approve(actor="frank.novak", number=number))
    service.approve(Approve(actor="denise.washington", number=number))
    assert _audit_after(service, number, "approved_step")["delegations"] == [newer.id]


def test_reassign_refuses_someone_who_holds_another_stage(service, clock):
    """An admin moving Raj's IT step to Olivia, who waits on the finance stage, is refused, naming the stage."""
    from approvals.commands import Reassign

    number = _laptops(service).number
    with pytest.raises(NotAllowed, match="Olivia Grant is already an approver at stage"):
        service.reassign(
            Reassign(
                actor="sofia.alvarez", number=number, from_person="raj.patel", to_person="olivia.grant", reason="out"
            )
        )


def test_in_force_prefers_the_later_start_then_the_newer_window():
    """Two windows of one delegator: the later start wins; on the same start, the one made last."""
    from datetime import datetime, timezone

    from approvals.delegation import DelegationWindow, in_force

    t0 = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    older = DelegationWindow("maria.lopez", "frank.novak", t0, t0 + timedelta(days=5), id=1)
    newer = DelegationWindow("maria.lopez", "denise.washington", t0, t0 + timedelta(days=5), id=2)
    later = DelegationWindow("maria.lopez", "priya.nair", t0 + timedelta(days=1), t0 + timedelta(days=3), id=0)
    assert in_force([newer, older], t0 + timedelta(hours=1))["maria.lopez"] is newer
    assert in_force([older, newer, later], t0 + timedelta(days=2))["maria.lopez"] is later
