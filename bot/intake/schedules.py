"""A recurring requisition's Pause, Resume and End buttons (on every card that shows its releases).

The tap goes to the core as a `ChangeSchedule` (approvals/workflow/recurring.py), which checks that the person is
the requester or a buyer, changes the schedule and audits it; the answer is the core's sentence over the card as
it is now. A refusal is only words.
"""

from __future__ import annotations

from typing import Any, Protocol

from approvals.commands import ChangeSchedule
from approvals.directory import Directory, Person
from approvals.errors import ProcurebotError
from approvals.views import RequisitionView
from bot.cards.model import CardAction
from bot.intake.reply import Reply


class Chat(Protocol):
    """What a tap needs of the chat context (bot/intake/context.py's Chat, which draws cards with these buttons)."""

    service: Any
    surface: str

    def with_card(self, message: str, number: str, person: Person) -> list[Reply]: ...


PREFIX = "recurring."
_LABELS = {"pause": "Pause releases", "resume": "Resume releases", "end": "End releases"}


def actions(view: RequisitionView, viewer: str, directory: Directory, key: str) -> list[CardAction]:
    """The buttons for the requester or a buyer: Pause or Resume, and End, while releases are still to come."""
    person = directory.person(viewer)
    if view.schedule_state not in ("active", "paused"):
        return []
    if viewer != view.requester and (person is None or not person.has_role("buyer")):
        return []
    first = "pause" if view.schedule_state == "active" else "resume"
    return [
        CardAction(
            id=PREFIX + what, label=_LABELS[what], style=style, value={"number": view.number, "key": f"{key}:{what}"}
        )
        for what, style in ((first, "default"), ("end", "danger"))
    ]


def change(chat: Chat, person: Person, action: str, value: dict[str, str]) -> list[Reply]:
    """`person` tapped Pause, Resume or End on requisition `value["number"]`."""
    what = action.removeprefix(PREFIX)
    if what not in _LABELS:
        return [Reply("That button is not one I know; open the requisition again for its current card.")]
    number = value.get("number", "")
    try:
        result = chat.service.change_schedule(
            ChangeSchedule(
                actor=person.id,
                surface=chat.surface,
                number=number,
                action=what,
                idempotency_key=value.get("key") or None,
            )
        )
    except ProcurebotError as exc:
        return [Reply(exc.message)]
    return chat.with_card(result.message, result.number, person)
