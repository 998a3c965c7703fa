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
