"""Teams as a chat platform of the delivery layer: proactive cards in each person's personal chat.

`reach` uses the conversation reference remembered from the person's last activity (a person
who never opened procurebot in Teams is not reachable here; another platform or the fallback
notifier tells them). `post` sends a new message through the connector and returns its activity
id; `update` replaces that message with the card as it is now (safe to repeat).
"""

from __future__ import annotations

from typing import Any

from approvals.directory import Person
from bot.cards.model import Card
from bot.chat.surface import Address
from bot.teams import cards
from bot.teams.adapter import TeamsAdapter
from bot.teams.handlers import SURFACE, TeamsBot


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
        return self.adapter.send(address, activity)

    def update(self, address: Address, ref: str, card: Card, text: str) -> None:
        self.adapter.update(address, ref, {"type": "message", **self._card(address, card, text)})

    def _card(self, address: Address, card: Card, text: str) -> dict[str, Any]:
        users = self.bot.refresh_users(card, "") + [str(address.get("user_id") or "")]
        content = cards.render(card, secret=self.bot.secret, refresh_user_ids=users)
        return {"summary": text, "attachments": [cards.attachment(content)]}  # summary: the notification line
