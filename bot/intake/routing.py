"""Which part of the conversation a message or a tap goes to. Pure: no database, no service.

A typed message is checked (empty, too long, binary, emoji only), normalised, and matched against the short
commands in a fixed order, read the way people write them (bot/intake/intents.py: padding, shorthand, close
misspellings): help, stats, delegations, out-of-office sentences, queues, snooze, the digest, status
questions with a number, an item or neither. A question that is not a purchase (bot/intake/questions.py) is
answered, never drafted; anything else belongs to the draft dialogue. A tapped action is a decision, a status
or ERP retry, the end of a delegation, a delegation proposal's buttons, or something about the draft.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from approvals.commands import DECISIONS
from bot.intake import absence, intents, questions, texts

Handler = Literal[
    "help",
    "stats",
    "cancel_delegation",
    "delegate",
    "mine",
    "pending",
    "snooze",
    "digest_on",
    "digest_off",
    "status",
    "where_is",
    "open",
    "delegations",
    "out_of_office",
    "question",
    "comment",
    "dialogue",
]
ActionHandler = Literal[
    "decision", "status", "erp.retry", "cancel_delegation", "delegation", "comment", "supplier", "dialogue"
]


@dataclass(frozen=True)
class Route:
    handler: Handler
    words: str = ""  # what the handler needs from the message: a requisition number, an order's words


def problem(text: str | None) -> str | None:
    """Why a message cannot be read at all (what to say instead), or None."""
    if text is None or not text.strip():
        return texts.EMPTY
    if len(text) > texts.MAX_MESSAGE:
        return texts.too_long(len(text))
    controls = sum(1 for c in text if unicodedata.category(c) in ("Cc", "Cs", "Co") and c not in "\n\r\t")
    if "\x00" in text or "\ufffd" in text or controls > max(2, len(text) // 20):
        return texts.BINARY
    if not any(c.isalnum() for c in text):
        return texts.EMOJI_ONLY if any(ord(c) > 0x2000 for c in text) else texts.NOT_UNDERSTOOD
    return None


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def route(text: str) -> Route:
    """The handler for a normalised message; the order matters ("cancel my delegation" is not "cancel")."""
    said = intents.form(text)
    if intents.HELP.match(text) or intents.HELP.match(said):
        return Route("help")
    if intents.STATS.match(text):
        return Route("stats")
    if intents.CANCEL_DELEGATION.search(text):
        return Route("cancel_delegation")
    if intents.DELEGATIONS.match(said):
        return Route("delegations")
    if intents.DELEGATE.match(said):
        return Route("delegate")
    if out_of_office(said):
        return Route("out_of_office")
    if intents.MINE.match(text):
        return Route("mine")
    if intents.PENDING.match(text):
        return Route("pending")
    if intents.SNOOZE.match(text):
        return Route("snooze")
    digest = intents.digest_switch(said)
    if digest is not None:
        return Route("digest_on" if digest else "digest_off")
    if typed_comment(text) is not None:
        return Route("comment", text)
    ask = intents.status_ask(said)
    if ask is not None:
        if ask.number:
            return Route("status", ask.number)
        return Route("where_is", ask.words) if ask.words else Route("open")
    if questions.not_a_purchase(text):
        return Route("question")
    return Route("dialogue")


# "comment PR-1042: text", "comment on pr 1042 - text", "note PR-1042 text"
_COMMENT = re.compile(
    r"^\s*(?:comment|note)\s+(?:on\s+)?(?P<number>PR-?\s?\d{1,9})\b\s*[:,\-–]?\s*(?P<text>.*)$", re.I | re.S
)


def typed_comment(text: str) -> tuple[str, str] | None:
    """(number, words) of a typed comment, or None when the message is something else."""
    m = _COMMENT.match(text)
    if m is None:
        return None
    return f"PR-{int(re.sub(r'[^0-9]', '', m.group('number')))}", m.group("text").strip()


def out_of_office(said: str) -> bool:
    """Away, and who covers or when ("ooo dec 21-jan 3, priya will approve for me"); never a purchase that
    only mentions being away ("I'm out of boxes, need 20 by friday")."""
    if not intents.OUT_OF_OFFICE.search(said):
        return False
    if intents.COVER.search(said):
        return True
    return absence.mentions_days(said) and not questions.is_purchase(said)


def route_action(action: str, value: dict[str, str] | None = None) -> ActionHandler:
    """The handler for a tapped action (a "choose" on a delegation proposal is the proposal's, not the draft's)."""
    if action == "choose" and (value or {}).get("field", "").startswith("delegation."):
        return "delegation"
    if action.startswith("supplier."):
        return "supplier"  # a new supplier's request, review and continuation (bot/intake/new_suppliers.py)
    return "decision" if action in DECISIONS else _ACTIONS.get(action, "dialogue")


_ACTIONS: dict[str, ActionHandler] = {
    "status": "status",
    "erp.retry": "erp.retry",
    "cancel_delegation": "cancel_delegation",
    "comment": "comment",
}
