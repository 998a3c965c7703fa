"""What every part of the conversation shares: the core service, the directory, this surface's stored
conversations, and the few helpers they all use (who someone is, their time zone, loading and saving
their conversation, a requisition's card as they should see it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from approvals.conversation import ChatConversation
from approvals.directory import Directory, Person
from approvals.errors import NotFound
from approvals.views import RequisitionView
from approvals.visibility import active_windows, can_see
from approvals.workflow import ApprovalService
from bot.cards.model import Card
from bot.intake import texts
from bot.intake.draft import DraftState
from bot.intake.orders import viewer_card
from bot.intake.reply import Reply, UnknownPerson
from bot.intake.store import ConversationStore

if TYPE_CHECKING:
    from bot.exception_summary import ExceptionSummaries

DEFAULT_TIMEZONE = "America/Chicago"


class Chat:
    def __init__(
        self,
        service: ApprovalService,
        directory: Directory,
        *,
        surface: str,
        draft_ttl: timedelta,
        summaries: ExceptionSummaries | None = None,
    ) -> None:
        self.service = service
        self._directory = directory
        self.surface = surface
        self.draft_ttl = draft_ttl
        self.summaries = summaries  # optional: the approver's "what is unusual" note on their cards
        self.store = ConversationStore(service.engine, surface)

    @property
    def directory(self) -> Directory:
        """The service's directory as it is now: an ERP master-data refresh replaces it (bot/erp_dispatcher.py), and
        a supplier the request form offers from it must be one the summary knows."""
        return getattr(self.service, "directory", None) or self._directory

    def now(self) -> datetime:
        return self.service.clock()

    def person(self, person_id: str) -> Person:
        p = self.directory.person(person_id)
        if p is None:
            raise UnknownPerson(f"There is nobody called {person_id!r} in the company directory.")
        return p

    def timezone(self, person: Person) -> str:
        site = self.directory.site_by_code.get(person.site or "")
        return person.timezone or (site.timezone if site else DEFAULT_TIMEZONE)

    # ------------------------------------------------------------------ the stored conversation
    def load(self, person_id: str) -> ChatConversation:
        """The person's conversation; a draft past its time limit is dropped, with a notice for them."""
        row = self.store.load(person_id)
        if self.store.is_expired(row, self.now()):
            row.notice = texts.expired(draft_title(row), self.draft_ttl.total_seconds() / 3600)
            row.state, row.draft, row.question = "idle", {}, None
        return row

    def save(self, row: ChatConversation) -> None:
        self.store.save(row, now=self.now(), ttl=self.draft_ttl)

    def take_notice(self, row: ChatConversation) -> list[Reply]:
        if not row.notice:
            return []
        text, row.notice = row.notice, None
        self.save(row)
        return [Reply(text)]

    # ------------------------------------------------------------------ cards
    def card_for(self, number: str, viewer: str) -> Card:
        """The requisition card as `viewer` should see it now (every copy re-renders from this)."""
        self.person(viewer)
        view = self.service.view(number)
        if not self.may_see(viewer, view):
            # the very words of a number that does not exist, so a guess learns nothing
            raise NotFound(f"There is no requisition {number}. Check the number (it looks like PR-1042).")
        return self.approver_card(view, viewer)

    def may_see(self, person_id: str, view: RequisitionView) -> bool:
        """The one visibility check (approvals.visibility), with the delegations active now."""
        return can_see(person_id, view, self.directory, active_windows(self.service.delegations(), self.now()))

    def approver_card(self, view: RequisitionView, viewer: str) -> Card:
        """The card with the "what is unusual" note when `viewer` is one of the approvers it waits on."""
        return viewer_card(self.service.engine, view, viewer, self.directory, self.summaries)

    def with_card(self, message: str, number: str, person: Person) -> list[Reply]:
        """`message` over the requisition's card as it is now (just the words when there is no such requisition)."""
        try:
            return [Reply(message, card=self.card_for(number, person.id))]
        except NotFound:
            return [Reply(message)]


def draft_title(row: ChatConversation) -> str:
    draft = DraftState.model_validate(row.draft)
    return draft.lines[0].description if draft.lines and draft.lines[0].description else "no items yet"
