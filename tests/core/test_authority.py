"""Nobody gains approval power they should not have: escalation, reassignment, stages, amendments, budgets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from approvals.commands import Amend, Approve, Escalate, Reassign, SetDelegation
from approvals.errors import NotAllowed, StaleAction
from tests.factories import boxes, submit

JANITORIAL = {"description": "Janitorial service", "sku": "SVC-JAN-MO", "quantity": 6, "unit_price": 2200}


def test_escalation_is_for_admins_and_targets_must_be_eligible(service):
    """A requester cannot escalate; an admin escalating to a planner with no limit reaches someone who may."""
    number = service.submit(submit(lines=[boxes(80)])).number
    with pytest.raises(NotAllowed):
        service.escalate(Escalate(actor="jake.miller", number=number, to_person="emily.davis"))
    result = service.escalate(Escalate(actor="admin", number=number, to_person="emily.davis"), as_admin=True)
    new_step = [s for s in result.requisition.steps if s.state == "pending" and s.approver != "maria.lopez"][0]
    assert new_step.approver != "emily.davis"
    assert "Emily Davis's approval limit $0 is below $3,840" in new_step.explanation


def test_reassign_refuses_someone_below_the_limit(service):
    """An admin cannot hand a $3,840 approval to a buyer whose approval limit is $0."""
    number = service.submit(submit(lines=[boxes(80)])).number
    with pytest.raises(NotAllowed, match="approval limit"):
        service.reassign(
            Reassign(actor="admin", number=number, from_person="maria.lopez", to_person="ben.turner", reason="cover")
        )


def test_one_person_counts_once_in_an_all_of_stage(service, clock):
    """Maria delegates to Nina, who is also the other approver of the all-of stage: Nina cannot pass it alone."""
    service.set_delegation(
        SetDelegation(
            actor="maria.lopez",
            delegator="maria.lopez",
            delegate="nina.kowalski",
            starts_at=clock.now,
            ends_at=clock.now + timedelta(days=7),
        )
    )
    result = service.submit(submit(cost_center="DAL-OPS", supplier="cintas", lines=[JANITORIAL]))
    stage = [s for s in result.requisition.steps if s.stage_index == 0]
    assert {s.approver for s in stage} == {"maria.lopez", "nina.kowalski"}
    assert all(s.acting == s.approver for s in stage)  # the delegation is not used inside this stage
    first = service.approve(Approve(actor="nina.kowalski", number=result.number))
    assert first.outcome == "recorded"
    with pytest.raises(StaleAction, match="already approved"):
        service.approve(Approve(actor="nina.kowalski", number=result.number))
    assert service.approve(Approve(actor="maria.lopez", number=result.number)).outcome == "advanced"


def test_delegate_and_principal_cannot_split_two_stages(service, clock):
    """Frank approves stage one for James; James himself may not then approve a later stage."""
    number = service.submit(submit(requester="maria.lopez", lines=[boxes(180)])).number  # James, then Marcus
    service.set_delegation(
        SetDelegation(
            actor="james.carter",
            delegator="james.carter",
            delegate="frank.novak",
            starts_at=clock.now,
            ends_at=clock.now + timedelta(days=7),
        )
    )
    service.approve(Approve(actor="frank.novak", number=number))
    service.reassign(
        Reassign(
            actor="admin",
            number=number,
            from_person="marcus.bell",
            to_person="angela.brooks",
            reason="Marcus is travelling",
        )
    )
    with pytest.raises(NotAllowed):
        service.reassign(
            Reassign(
                actor="admin",
                number=number,
                from_person="angela.brooks",
                to_person="james.carter",
                reason="try to reuse James",
            )
        )


def test_small_amendments_cannot_add_up_past_the_tolerance(service):
    """Three +5% amendments on an approved order: the third crosses 10% of the approved amount and goes back."""
    number = service.submit(submit(lines=[boxes(80)])).number  # $3,840
    service.approve(Approve(actor="maria.lopez", number=number))
    assert service.amend(Amend(actor="jake.miller", number=number, lines=[boxes(84)])).outcome == "amended"
    assert service.amend(Amend(actor="jake.miller", number=number, lines=[boxes(87)])).outcome == "amended"
    third = service.amend(Amend(actor="jake.miller", number=number, lines=[boxes(90)]))  # +12.5% on $3,840
    assert third.outcome.startswith("reapproval")


def test_amending_into_another_item_type_goes_back_for_approval(service):
    """Turning an approved box order into capital racking of the same value is routed again as capex."""
    number = service.submit(submit(lines=[boxes(100)])).number  # $4,800
    service.approve(Approve(actor="maria.lopez", number=number))
    racking = {"description": "Racking bay", "sku": "CAP-RACK-BAY", "quantity": 2, "unit_price": 2400}
    result = service.amend(Amend(actor="jake.miller", number=number, lines=[racking]))
    assert result.outcome.startswith("reapproval")
    assert result.requisition.item_type == "capex"
    assert "category or item type changed" in result.message


def test_hard_budget_stop_counts_requests_in_flight(service):
    """Phoenix has $4,000 left with a hard stop: two $2,880 requests cannot both get through."""
    first = service.submit(submit(requester="rosa.silva", site="PHX", cost_center="PHX-OPS", lines=[boxes(60)]))
    assert first.outcome == "routed"
    second = service.submit(submit(requester="rosa.silva", site="PHX", cost_center="PHX-OPS", lines=[boxes(60)]))
    assert second.outcome == "stopped"
    assert "PHX-OPS" in second.message


def test_category_comes_from_the_catalog(service):
    """Laptops typed as 'packaging' are stored and routed as IT, so category-scoped rules and delegations agree."""
    laptops = {"description": "Laptops", "sku": "IT-LAP-14", "quantity": 2, "unit_price": 1400}
    result = service.submit(submit(requester="emily.davis", supplier="cdw", category="packaging", lines=[laptops]))
    assert result.requisition.category == "it_hardware"
    assert result.requisition.steps[0].rule_id == "it-small"
