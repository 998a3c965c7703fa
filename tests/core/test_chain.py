"""The approval chain in words, as every card shows it: stages in order, who decided and said what, whom the
current stage waits on since when, what is to come, and who is informed."""

from __future__ import annotations

from approvals import chain
from approvals.commands import Approve, Reject
from tests.factories import boxes, submit


def test_a_two_stage_request_shows_both_stages_before_anyone_acts(service):
    """$12,000 of boxes: stage one waits on Maria since the submit, with its SLA; stage two is to come."""
    view = service.submit(submit(lines=[boxes(250)])).requisition
    shown = chain.lines(chain.stages(view, view.informed))
    assert len(shown) == len({s.stage_index for s in view.steps}) >= 2
    assert shown[0].startswith("\u25cf 1. ") and "waiting on Maria Lopez since 2026-11-23 15:00 UTC (SLA" in shown[0]
    assert shown[1].startswith("\u25cb 2. ") and "to come: " in shown[1]


def test_the_second_approver_sees_what_the_first_decided_and_said(service):
    """Maria approves with a note; the chain the next approver reads says she approved, when, and her words."""
    number = service.submit(submit(lines=[boxes(250)])).number
    service.approve(Approve(actor="maria.lopez", number=number, comment="Peak season stock, agreed"))
    view = service.get(number)
    shown = chain.lines(chain.stages(view, view.informed))
    assert shown[0] == (
        "\u2713 1. " + view.steps[0].stage_name + ": approved by Maria Lopez at 2026-11-23 15:00 UTC"
        " \u2014 \u201cPeak season stock, agreed\u201d"
    )
    assert shown[1].startswith("\u25cf 2. ") and "waiting on" in shown[1]


def test_a_rejection_closes_its_stage_and_says_why(service):
    """Maria rejects: her stage reads rejected with the reason; nothing waits any more."""
    number = service.submit(submit(lines=[boxes(80)])).number
    service.reject(Reject(actor="maria.lopez", number=number, reason="Use the contract supplier"))
    view = service.get(number)
    shown = chain.lines(chain.stages(view, view.informed))
    assert shown[0].startswith("\u2715 1. ") and "rejected by Maria Lopez" in shown[0]
    assert "Use the contract supplier" in shown[0] and not any("waiting on" in line for line in shown)


def test_a_delegate_is_named_with_the_person_they_act_for(service, clock):
    """Zoe approves for Maria under a delegation: the chain says 'approved by Zoe Martin for Maria Lopez'."""
    from datetime import timedelta

    from approvals.commands import SetDelegation

    service.set_delegation(
        SetDelegation(
            actor="maria.lopez",
            delegator="maria.lopez",
            delegate="james.carter",
            starts_at=clock() - timedelta(hours=1),
            ends_at=clock() + timedelta(days=2),
        )
    )
    number = service.submit(submit(lines=[boxes(80)])).number
    service.approve(Approve(actor="james.carter", number=number))
    view = service.get(number)
    assert "approved by James Carter for Maria Lopez" in chain.lines(chain.stages(view, view.informed))[0]


def test_informed_people_are_named_on_their_stage():
    """A stage that informs the regional director says so beside what it waits on."""
    stage = chain.Stage(0, "Manager approval", chain.CURRENT, "waiting on Maria Lopez", ("James Carter",))
    assert chain.lines([stage]) == ["\u25cf 1. Manager approval: waiting on Maria Lopez (informed: James Carter)"]
