"""One typed `Decide` for approve / reject / ask / answer / withdraw, from every surface, to one service call."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from approvals.commands import DECISIONS, AnswerInfo, Approve, Decide, Reject, RequestInfo, Withdraw
from approvals.decide import decide
from approvals.errors import NotAllowed
from tests.factories import boxes, submit


@pytest.mark.parametrize(
    "action, command, field",
    [
        ("approve", Approve, "comment"),
        ("reject", Reject, "reason"),
        ("request_info", RequestInfo, "question"),
        ("answer_info", AnswerInfo, "answer"),
        ("withdraw", Withdraw, "reason"),
    ],
)
def test_each_action_becomes_the_services_own_command_with_its_words_in_place(action, command, field):
    """Each decision turns into the command its service call takes, the words in the field that command names."""
    typed = Decide(
        action=action,
        actor="maria.lopez",
        surface="slack",
        number="PR-7",
        idempotency_key="k1",
        comment="see the quote",
    ).command()
    assert type(typed) is command and getattr(typed, field) == "see the quote"
    assert (typed.actor, typed.surface, typed.number, typed.idempotency_key) == ("maria.lopez", "slack", "PR-7", "k1")
    assert action in DECISIONS


@pytest.mark.parametrize(
    "action, field", [("reject", "reason"), ("request_info", "question"), ("answer_info", "answer")]
)
def test_missing_words_are_refused_by_the_commands_own_field(action, field):
    """A rejection, question or answer without words fails on the typed command's field, as the API reports it."""
    with pytest.raises(ValidationError) as failed:
        Decide(action=action, actor="maria.lopez", number="PR-7").command()
    assert [e["loc"] for e in failed.value.errors()] == [(field,)]


def test_an_unknown_action_is_not_a_decision():
    """Reassign is an administrator's command, not a decision: Decide refuses it."""
    with pytest.raises(ValidationError):
        Decide(action="reassign", actor="maria.lopez", number="PR-7")  # type: ignore[arg-type]


def test_decide_runs_the_decision_once_per_key(service):
    """Maria approves through Decide; the same key again is a replay that records nothing twice."""
    number = service.submit(submit(lines=[boxes(80)])).requisition.number
    cmd = Decide(action="approve", actor="maria.lopez", number=number, idempotency_key="card-1", comment="ok")
    first = decide(service, cmd)
    again = decide(service, cmd)
    assert first.requisition.state == "approved" and not first.replayed
    assert again.replayed and [d.action for d in again.requisition.decisions].count("approve") == 1


def test_only_an_admin_withdraws_someone_elses_request(service):
    """Withdraw through Decide keeps the admin rule: Maria may not withdraw Jake's request, an admin may."""
    number = service.submit(submit(lines=[boxes(80)])).requisition.number
    cmd = Decide(action="withdraw", actor="maria.lopez", number=number, comment="duplicate")
    with pytest.raises(NotAllowed):
        decide(service, cmd)
    assert decide(service, cmd, as_admin=True).requisition.state == "withdrawn"
