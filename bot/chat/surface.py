"""The port a chat platform implements so the delivery layer can reach people on it."""

from __future__ import annotations

from typing import Any, Protocol

from approvals.directory import Person
from bot.cards.model import Card

Address = dict[str, Any]


class ChatSurface(Protocol):
    """One chat platform as the delivery layer sees it. Calls are synchronous and may raise
    (a platform error); the delivery job is then retried, and every call must be safe to repeat
    except `post`, which the delivery layer never repeats for a message it recorded."""

    name: str  # "slack", "teams": the value stored in every table row about this platform

    def reach(self, person: Person) -> Address | None:
        """The address of a direct conversation with `person`, or None when they are not on this platform."""
        ...

    def post(self, address: Address, card: Card | None, text: str, *, thread: str | None = None) -> str:
        """Send a new message (a card, or text alone); return the platform's message reference.
        `thread` is the reference of a root message to reply under, where the platform has threads."""
        ...

    def update(self, address: Address, ref: str, card: Card, text: str) -> None:
        """Replace the message `ref` with the card as it is now."""
        ...
