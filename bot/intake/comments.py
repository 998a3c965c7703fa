"""Comments from chat: "comment PR-1042 can we use the contract price?", or the Comment button on any card.

The words go to the core as an `AddComment` (approvals/workflow/comments.py), which checks that the person may
see the requisition and that everyone they mention may too, keeps the comment, and tells the people involved.
The answer is the core's sentence over the card as it is now; a refusal is only words, so a person who may not
see a requisition learns nothing of it.
"""

from __future__ import annotations

import hashlib

from pydantic import ValidationError

from approvals.commands import AddComment
from approvals.directory import Person
from approvals.errors import ProcurebotError, ValidationFailed
from bot.intake import texts
from bot.intake.context import Chat
from bot.intake.reply import Reply


def comment(chat: Chat, person: Person, number: str, words: str | None, card_key: str | None = None) -> list[Reply]:
    """`person` says `words` about requisition `number`. A card's key plus the words make the idempotency key, so a
    double tap of the same comment keeps one, and a second, different comment from the same card is its own."""
    text = (words or "").strip()
    if not text:
        return [Reply(texts.NEED_COMMENT)]
    key = None
    if card_key:
        key = f"{card_key}:c:{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    try:
        result = chat.service.comment(
            AddComment(actor=person.id, surface=chat.surface, number=number, text=text, idempotency_key=key)  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        return [Reply("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))]
    except ValidationFailed as exc:
        return [Reply(" ".join(e.message for e in exc.errors))]
    except ProcurebotError as exc:
        return [Reply(exc.message)]
    return chat.with_card(result.message, result.number, person)
