"""Before Submit, the requester sees the budget the request uses, and a request the policy would stop spends no
requisition number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from approvals.models import Requisition
from bot.intake.assistant import Assistant
from tests.edges.test_intake_conversation import WRAP, cards, words


@pytest.fixture
def bot(service, directory):  # type: ignore[no-untyped-def]
    return Assistant(service, directory, surface="web", draft_ttl=timedelta(hours=24))


def count(service) -> int:  # type: ignore[no-untyped-def]
    with Session(service.engine) as s:
        return s.exec(select(func.count()).select_from(Requisition)).one()


def test_the_summary_says_how_much_budget_the_request_uses(bot):
    """Jake's $1,280 of stretch wrap on DAL-OPS ($70,000 left of its budget): the summary says so before Submit."""
    summary = cards(bot.handle_message("jake.miller", WRAP), "requisition_summary")[0]
    facts = {f.label: f.value for f in summary.facts}
    assert facts["Budget"] == "uses $1,280.00 of DAL-OPS's $70,000.00 remaining"


def test_budget_already_reserved_by_requests_in_flight_is_counted(bot, service):
    """A first request submitted and waiting reserves its amount: the second summary shows what is left after it."""
    first = cards(bot.handle_message("jake.miller", WRAP), "requisition_summary")[0]
    bot.handle_action("jake.miller", "submit", first.actions[0].value)
    second = cards(bot.handle_message("emily.davis", WRAP), "requisition_summary")[0]
    assert {f.label: f.value for f in second.facts}["Budget"] == "uses $1,280.00 of DAL-OPS's $68,720.00 remaining"


def test_a_hard_stop_offers_no_submit_and_spends_no_number(bot, service):
    """Rosa's $6,000 on PHX-OPS (hard stop, $4,000 left): the summary says it would be stopped and how much is
    short, offers only Edit and Cancel, and a Submit tapped from an older card is refused with nothing stored."""
    summary = cards(
        bot.handle_message("rosa.silva", "30 LED high-bay lights from grainger at 200 each"),
        "requisition_summary",
    )[0]
    facts = {f.label: f.value for f in summary.facts}
    assert facts["Budget"] == "needs $6,000.00; PHX-OPS has $4,000.00 left ($2,000.00 short)"
    assert [a.id for a in summary.actions] == ["edit", "cancel"]
    assert any("would stop this request" in e for e in summary.exceptions)
    replies = bot.handle_action("rosa.silva", "submit", {"draft_id": summary.actions[0].value["draft_id"]})
    assert "Nothing is submitted" in words(replies)
    assert count(service) == 0
