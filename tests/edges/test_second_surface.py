"""The same person acting on the same card from a second surface: told what they did, when and where, in their
own time zone, never an idempotency error."""

from __future__ import annotations

from datetime import timedelta

from approvals.commands import Approve
from bot.intake.context import Chat
from bot.intake.decisions import decide
from tests.factories import submit


def test_approving_again_in_slack_after_teams_says_when_and_where(service, directory, clock):
    """Zoe approved in Teams; the Slack copy of the card still has its button: her tap there is told it is done."""
    number = service.submit(submit()).number
    key = f"{number}:0:0:zoe.martin:a"
    service.approve(Approve(actor="zoe.martin", number=number, surface="teams", idempotency_key=key))
    chat = Chat(service, directory, surface="slack", draft_ttl=timedelta(hours=24))
    decided = decide(chat, "zoe.martin", "approve", {"number": number, "key": key}, None)
    assert not decided.refused and decided.result is not None and decided.result.replayed
    assert decided.message.startswith(f"You already approved {number} at ")
    assert decided.message.endswith(" in Teams; nothing more was recorded.")
    assert "CST" in decided.message or "CDT" in decided.message  # Zoe works in Dallas: her clock, not UTC
    assert sum(1 for d in service.get(number).decisions if d.action == "approve") == 1
