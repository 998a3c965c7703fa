"""What the conversation answers with, and the one refusal every entry point shares."""

from __future__ import annotations

from dataclasses import dataclass

from approvals.errors import ProcurebotError
from bot.cards.model import Card


@dataclass
class Reply:
    """One bot message: words, a card, or both."""

    text: str = ""
    card: Card | None = None


class UnknownPerson(ProcurebotError):
    code = "unknown_person"
