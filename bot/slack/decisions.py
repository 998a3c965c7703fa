"""Approve / Reject / Ask for info / Answer / Withdraw from Slack: one typed command to the core, words back.

The same commands the assistant sends (bot/intake/assistant.py), without building a reply card:
in Slack the card a person tapped is redrawn by the delivery layer (every copy, from the core's
view), so the tap's answer waits only for the decision. The service re-checks everything: that the
person is the approver the step waits on (or their active delegate), that the step is still open,
and the card's idempotency key, so a double tap or a replayed payload records nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from approvals.commands import AnswerInfo, Approve, Reject, RequestInfo, Withdraw
from approvals.errors import ProcurebotError
from approvals.workflow import ApprovalService
from bot.intake import texts as intake_texts
from bot.slack import texts

# action -> (command, the field its words go in, required?)
COMMANDS = {"approve": (Approve, "comment", False), "reject": (Reject, "reason", True),
            "request_info": (RequestInfo, "question", True), "answer_info": (AnswerInfo, "answer", True),
            "withdraw": (Withdraw, "reason", False)}


@dataclass
class Outcome:
    message: str
    number: str
    recorded: bool  # a decision was recorded by this tap (not a refusal, not a replay)


def missing_words(action: str) -> str:
    return {"reject": intake_texts.need_reason("reject"), "request_info": texts.NEED_QUESTION,
            "answer_info": texts.NEED_ANSWER}.get(action, texts.NEED_WORDS)


def decide(service: ApprovalService, person_id: str, action: str, value: dict[str, str], words: str | None,
           *, surface: str = "slack") -> Outcome:
    """Send the action to the core as `person_id`; the outcome's message is what to tell them."""
    number = value.get("number", "")
    command, field, required = COMMANDS[action]
    text = (words or "").strip()
    if required and not text:
        return Outcome(missing_words(action), number, False)
    try:
        cmd = command(actor=person_id, surface=surface, number=number, idempotency_key=value.get("key") or None,
                      **{field: text or None})
        result = getattr(service, action)(cmd)
    except ValidationError as exc:
        return Outcome("; ".join(e["msg"] for e in exc.errors()), number, False)
    except ProcurebotError as exc:  # not yours to act on, already decided (by whom, when), not found
        return Outcome(exc.message, number, False)
    return Outcome(result.message, number, not result.replayed)
