"""Which part of the conversation a message or a tap goes to. Pure: no database, no service.

A typed message is checked (empty, too long, binary, emoji only), normalised, and matched against the short
commands in a fixed order; anything else belongs to the draft dialogue. A tapped action is a decision,
a status or ERP retry, the end of a delegation, or something about the draft.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from approvals.commands import DECISIONS
from bot.intake import intents, texts

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
    "dialogue",
]
ActionHandler = Literal["decision", "status", "erp.retry", "cancel_delegation", "dialogue"]


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
    if intents.HELP.match(text):
        return Route("help")
    if intents.STATS.match(text):
        return Route("stats")
    if intents.CANCEL_DELEGATION.search(text):
        return Route("cancel_delegation")
    if intents.DELEGATE.match(text):
        return Route("delegate")
    if intents.MINE.match(text):
        return Route("mine")
    if intents.PENDING.match(text):
        return Route("pending")
    if intents.SNOOZE.match(text):
        return Route("snooze")
    if intents.DIGEST_OFF.search(text):
        return Route("digest_off")
    if intents.DIGEST_ON.search(text):
        return Route("digest_on")
    number = intents.status_number(text)
    if number:
        return Route("status", number)
    order = intents.order_words(text)
    if order:
        return Route("where_is", order)
    return Route("dialogue")


def route_action(action: str) -> ActionHandler:
    """The handler for a tapped action."""
    return "decision" if action in DECISIONS else _ACTIONS.get(action, "dialogue")


_ACTIONS: dict[str, ActionHandler] = {
    "status": "status",
    "erp.retry": "erp.retry",
    "cancel_delegation": "cancel_delegation",
}
