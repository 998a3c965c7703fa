"""Where things stand, asked in chat: one requisition ("status PR-1042", "has PR-1005 been approved yet?"),
an order found by what was asked for ("where are my boxes?"), the person's open requisitions ("where is my
order?"), their own requests and approvals queue, and a buyer's retry of a purchase order the ERP would not
take. The ERP side is read from the outbox; chat never calls an ERP.

A requisition is shown only to someone who may see it (bot/intake/lookup.py); anyone else hears the same
"there is no requisition" as for a number that does not exist, so a guess never learns that one does.
"""

from __future__ import annotations

from approvals.directory import Person
from approvals.errors import NotFound, ProcurebotError
from approvals.outbox import retry_dead
from approvals.views import RequisitionView
from approvals.visibility import active_windows
from bot.intake import intent_texts, lookup, texts
from bot.intake.cards import queue_card
from bot.intake.context import Chat
from bot.intake.orders import status_card
from bot.intake.reply import Reply


class Status:
    def __init__(self, chat: Chat) -> None:
        self.chat = chat

    def one(self, person: Person, number: str) -> list[Reply]:
        try:
            view = self.chat.service.get(number)
        except NotFound:
            return [Reply(texts.status_missing(number))]
        service = self.chat.service
        if not lookup.may_see(
            person, view, self.chat.directory, active_windows(service.delegations(), self.chat.now())
        ):
            return [Reply(texts.status_missing(number))]
        return [Reply(card=status_card(self.chat.service.engine, view, person.id, self.chat.directory))]

    def where_is(self, person: Person, words: str) -> list[Reply]:
        """'where are my boxes?': the asker's own requisitions whose lines look like the item."""
        found = lookup.by_item(words, self.chat.service.list(requester=person.id, limit=100), self.chat.directory)
        if not found:
            return [Reply(intent_texts.no_item_found(words))]
        return self._answer(person, found, intent_texts.which_order(words), "")

    def open(self, person: Person) -> list[Reply]:
        """'where is my order?': the asker's requisitions still on their way."""
        found = lookup.open_ones(self.chat.service.list(requester=person.id, limit=100), self.chat.now())
        if not found:
            return [Reply(intent_texts.NO_OPEN)]
        return self._answer(person, found, intent_texts.OPEN_TITLE, intent_texts.NO_OPEN)

    def _answer(self, person: Person, found: list[RequisitionView], title: str, empty: str) -> list[Reply]:
        if len(found) == 1:
            return [Reply(card=status_card(self.chat.service.engine, found[0], person.id, self.chat.directory))]
        return [Reply(card=queue_card(title, found, self.chat.directory, empty))]

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
