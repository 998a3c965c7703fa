"""Where things stand, asked in chat: one requisition ("status PR-1042"), an order found by what was asked
for ("where is my stretch wrap order?"), the person's own requests and approvals queue, and a buyer's
retry of a purchase order the ERP would not take. The ERP side is read from the outbox; chat never calls an ERP.
"""

from __future__ import annotations

from approvals.directory import Person
from approvals.errors import NotFound, ProcurebotError
from approvals.outbox import retry_dead
from bot.intake import texts
from bot.intake.cards import queue_card
from bot.intake.context import Chat
from bot.intake.orders import match_orders, status_card
from bot.intake.reply import Reply


class Status:
    def __init__(self, chat: Chat) -> None:
        self.chat = chat

    def one(self, person: Person, number: str) -> list[Reply]:
        try:
            view = self.chat.service.get(number)
        except NotFound:
            return [Reply(texts.status_missing(number))]
        return [Reply(card=status_card(self.chat.service.engine, view, person.id, self.chat.directory))]

    def where_is(self, person: Person, words: str) -> list[Reply]:
        """'where is my stretch wrap order?': the asker's own recent requisitions, matched by title and lines."""
        found = match_orders(words, self.chat.service.list(requester=person.id, limit=50))
        if not found:
            return [Reply(texts.no_order_found(words))]
        if len(found) == 1:
            return [Reply(card=status_card(self.chat.service.engine, found[0], person.id, self.chat.directory))]
        return [Reply(card=queue_card(texts.which_order(words), found, self.chat.directory, ""))]

    def mine(self, person: Person) -> list[Reply]:
        views = self.chat.service.list(requester=person.id, limit=50)
        return [Reply(card=queue_card("Your requests", views, self.chat.directory, texts.queue_empty_mine()))]

    def pending(self, person: Person) -> list[Reply]:
        views = self.chat.service.list(waiting_on=person.id, limit=50)
        replies = [
            Reply(card=queue_card("Waiting for your approval", views, self.chat.directory, texts.queue_empty_pending()))
        ]
        return replies + [Reply(card=self.chat.approver_card(v, person.id)) for v in views[:5]]

    def erp_retry(self, person: Person, number: str) -> list[Reply]:
        """A buyer's Retry on a purchase order the ERP refused for good: it is queued again."""
        try:
            message = retry_dead(
                self.chat.service.engine, self.chat.directory, number, actor=person.id, now=self.chat.now()
            )
        except ProcurebotError as exc:
            message = exc.message
        return self.chat.with_card(message, number, person)
