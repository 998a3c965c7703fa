"""Approve / Reject / Ask for info / Answer / Withdraw from chat: what a person tapped or typed, one typed
`Decide` to the core (approvals/decide.py, the same call the HTTP API makes), and what to tell them.

The conversation (web chat, Teams, an answer typed in a Slack thread) replies with the requisition's card;
Slack's card buttons use `decide` alone, because there the delivery layer redraws every copy of the card
from the core's view, so a tap's answer waits only for the decision. The service re-checks everything:
that the person is the approver the step waits on (or their active delegate), that the step is still
open, and the card's idempotency key, so a double tap or a replayed payload records nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from approvals.commands import NEEDS_WORDS, Decide, DecisionAction
from approvals.decide import decide as decide_in_core
from approvals.directory import Directory, Person
from approvals.errors import ProcurebotError
from approvals.workflow import ActionResult
from bot.intake import texts
from bot.intake.cards import requisition_card
from bot.intake.context import Chat
from bot.intake.reply import Reply

MISSING_WORDS = {
    "reject": texts.need_reason("reject"),
    "request_info": texts.NEED_QUESTION,
    "answer_info": texts.NEED_ANSWER,
}


@dataclass
class Decided:
    """What one decision came to: the words for the person and, when the core ran it, its result."""

    message: str
    number: str
    result: ActionResult | None = None
    refused: bool = False  # the core refused it: not theirs to take, already decided (by whom, when), not found

    @property
    def recorded(self) -> bool:
        """A decision was recorded by this action (not a refusal, not a replay)."""
        return self.result is not None and not self.result.replayed


def decide(chat: Chat, person_id: str, action: DecisionAction, value: dict[str, str], words: str | None) -> Decided:
    """`action` on the card's requisition (`value`: its number and idempotency key) as `person_id`."""
    number = value.get("number", "")
    text = (words or "").strip()
    if action in NEEDS_WORDS and not text:
        return Decided(MISSING_WORDS[action], number)
    try:
        result = decide_in_core(
            chat.service,
            Decide(
                action=action,
                actor=person_id,
                surface=chat.surface,
                number=number,
                idempotency_key=value.get("key") or None,
                comment=text or None,
            ),
        )
    except ValidationError as exc:
        return Decided("; ".join(e["msg"] for e in exc.errors()), number)
    except ProcurebotError as exc:
        return Decided(exc.message, number, refused=True)
    if result.replayed and result.first_at is not None:
        zone = _zone(chat.directory, person_id)
        return Decided(
            texts.already_did(action, result.number, result.first_at, result.first_surface, zone), number, result
        )
    return Decided(result.message, number, result)


def _zone(directory: Directory, person_id: str) -> ZoneInfo:
    """The person's own time zone, else their site's, else UTC: times they read are in their day."""
    person = directory.person(person_id)
    site = directory.site_by_code.get(person.site or "") if person else None
    name = (person.timezone if person else None) or (site.timezone if site else None) or "UTC"
    return ZoneInfo(name)


def replies(chat: Chat, person: Person, decided: Decided) -> list[Reply]:
    """The conversation's answer: the words over the requisition's card as it is now (none for a typing slip)."""
    if decided.result is not None:
        return [Reply(decided.message, card=requisition_card(decided.result.requisition, person.id, chat.directory))]
    if decided.refused:
        return chat.with_card(decided.message, decided.number, person)
    return [Reply(decided.message)]
