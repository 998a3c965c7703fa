"""Teams as a chat platform of the delivery layer: proactive cards in each person's personal chat.

`reach` uses the conversation reference remembered from the person's last activity (a person
who never opened procurebot in Teams is not reachable here; another platform or the fallback
notifier tells them). `post` sends a new message through the connector and returns its activity
id; `update` replaces that message with the card as it is now (safe to repeat). A message Teams refuses
for its size (cards are cut to fit, so this should not happen) is logged and raised as `Refused`: the
delivery layer skips it rather than retrying what can never go through.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from approvals.directory import Person
from bot.cards.model import Card
from bot.chat.delivery import Refused
from bot.chat.surface import Address
from bot.teams import cards
from bot.teams.adapter import MessageTooLarge, TeamsAdapter
from bot.teams.handlers import SURFACE, TeamsBot

log = logging.getLogger("procurebot.teams")


class TeamsSurface:
    name = SURFACE

    def __init__(self, adapter: TeamsAdapter, bot: TeamsBot) -> None:
        self.adapter = adapter
        self.bot = bot

    def reach(self, person: Person) -> Address | None:
        return self.bot.addresses.get(SURFACE, person.id)

    def post(self, address: Address, card: Card | None, text: str, *, thread: str | None = None) -> str:
        activity: dict[str, Any] = {"type": "message"}
        if card is not None:
            activity |= self._card(address, card, text)
        else:
            activity["text"] = text
        if thread:
            activity["replyToId"] = thread  # personal chats have no threads; clients show it as a reply
        return _refused_for_size(lambda: self.adapter.send(address, activity), activity, card)

    def update(self, address: Address, ref: str, card: Card, text: str) -> None:
        activity = {"type": "message", **self._card(address, card, text)}
        _refused_for_size(lambda: self.adapter.update(address, ref, activity), activity, card)

    def _card(self, address: Address, card: Card, text: str) -> dict[str, Any]:
        users = self.bot.refresh_users(card, "") + [str(address.get("user_id") or "")]
        content = cards.render(card, secret=self.bot.secret, refresh_user_ids=users)
        return {"summary": text, "attachments": [cards.attachment(content)]}  # summary: the notification line


def _refused_for_size(call: Callable[[], Any], activity: dict[str, Any], card: Card | None) -> Any:
    try:
        return call()
    except MessageTooLarge as exc:
        what = f"the card of {card.number or card.kind}" if card is not None else "a message"
        size = cards.message_bytes(activity)
        log.error(
            "Teams refused %s as too large (413 MessageSizeTooBig: %s); it is %d bytes in UTF-16, Teams takes about "
            "100000. Not retried: the same message cannot go through.",
            what,
            exc,
            size,
        )
        raise Refused(f"Teams refused {what} as too large ({size} bytes in UTF-16)") from exc
