"""A manager acts for the people who report to them (at any level), and for nobody else: delegations set, moved
and ended for them, their waiting steps moved; the same for anyone outside their team is refused before anything
changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from approvals.commands import CancelDelegation, ChangeDelegation, Reassign, SetDelegation
from approvals.errors import NotAllowed
from tests.factories import submit


def _away(clock, actor: str, delegator: str, delegate: str = "frank.novak") -> SetDelegation:  # type: ignore[no-untyped-def]
    return SetDelegation(
        actor=actor, delegator=delegator, delegate=delegate, starts_at=clock.now, ends_at=clock.now + timedelta(days=5)
    )


def test_a_manager_and_the_managers_above_them_may_delegate_for_a_report(service, clock):
    """Maria sets Zoe's delegation; James, Maria's own manager, may move its end; Maria ends it."""
    row = service.set_delegation(_away(clock, "maria.lopez", "zoe.martin"))
    assert row.created_by == "maria.lopez"
    moved = service.change_delegation(
        ChangeDelegation(actor="james.carter", delegation_id=row.id, ends_at=clock.now + timedelta(days=2))
    )
    assert moved.ends_at is not None
    ended = service.cancel_delegation(CancelDelegation(actor="maria.lopez", delegation_id=row.id))
    assert ended.cancelled_at is not None


def test_nobody_delegates_for_someone_outside_their_team(service, clock):
    """Maria cannot set Luis's delegation (he reports to Frank), nor can Zoe set her own manager's; Frank cannot end
    the one Maria set for Zoe."""
    with pytest.raises(NotAllowed, match="someone who reports to you"):
        service.set_delegation(_away(clock, "maria.lopez", "luis.garcia", "zoe.martin"))
    with pytest.raises(NotAllowed):
        service.set_delegation(_away(clock, "zoe.martin", "maria.lopez", "emily.davis"))
    row = service.set_delegation(_away(clock, "maria.lopez", "zoe.martin", "emily.davis"))
    with pytest.raises(NotAllowed, match="their manager"):
        service.cancel_delegation(CancelDelegation(actor="frank.novak", delegation_id=row.id))
    assert service.delegations(person="luis.garcia") == []


def test_a_manager_moves_only_their_own_teams_steps(service):
    """Maria moves the step waiting on Zoe to herself; she cannot move the step waiting on Frank in Chicago, which
    stays with him."""
    zoe = service.submit(submit()).number
    frank = service.submit(submit(requester="luis.garcia", site="CHI", cost_center="CHI-OPS")).number
    moved = service.reassign(
        Reassign(actor="maria.lopez", number=zoe, from_person="zoe.martin", to_person="maria.lopez", reason="sick"),
        as_manager=True,
    )
    assert moved.message == f"{zoe} is now with Maria Lopez."
    with pytest.raises(NotAllowed, match="Frank Novak does not report to Maria Lopez"):
        service.reassign(
            Reassign(actor="maria.lopez", number=frank, from_person="frank.novak", to_person="maria.lopez", reason="x"),
            as_manager=True,
        )
    assert service.get(frank).waiting_on == ["frank.novak"]


def test_a_manager_who_has_left_manages_nobody(service, directory):
    """Someone marked as left keeps their place in the reporting lines for history, but acts for nobody."""
    data = directory.model_dump()
    data["people"] = [{**p, "active": p["id"] != "maria.lopez"} for p in data["people"]]
    gone = type(directory).model_validate(data)
    assert directory.manages("maria.lopez", "zoe.martin") and directory.manages("james.carter", "jake.miller")
    assert not gone.manages("maria.lopez", "zoe.martin")
    assert not directory.manages("zoe.martin", "zoe.martin") and not directory.manages("jake.miller", "zoe.martin")
    assert [p.id for p in directory.team_of("zoe.martin")] == ["jake.miller"]
