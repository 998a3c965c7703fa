"""The chat assistant: what a person says or taps in, replies and cards out, through the core's commands.

Channel-agnostic: the web chat, Slack and Teams call it, each only translating their payloads. It routes
(bot/intake/routing.py) each message or tap to the part of the conversation that handles it:

* the draft dialogue (bot/intake/dialogue.py): collect, ask, summarize, submit;
* decisions (bot/intake/decisions.py): approve, reject, ask, answer, withdraw, the same typed command the
  HTTP API sends;
* delegation (bot/intake/delegation.py) and reminders (bot/intake/reminders.py);
* status, queues and ERP retry (bot/intake/status.py), and stats (bot/intake/stats.py).

Every requisition change goes through ApprovalService, exactly as the HTTP API does; nothing here decides
who approves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from approvals.classify import Classifier
from approvals.commands import DECISIONS
from approvals.directory import Directory, Person
from approvals.scheduling.calendar import Calendars
from approvals.workflow import ApprovalService
from bot.cards.model import Card
from bot.intake import comments, decisions, intent_texts, routing, schedules, stats, texts
from bot.intake.cards import requisition_card
from bot.intake.categories import CategoryHints
from bot.intake.context import Chat
from bot.intake.delegation import Delegations
from bot.intake.dialogue import Dialogue
from bot.intake.extract import Extractor
from bot.intake.new_suppliers import NewSuppliers
from bot.intake.reminders import Reminders
from bot.intake.reply import Reply, UnknownPerson
from bot.intake.status import Status
from bot.intake.store import ConversationStore
from bot.intake.suggest import CategorySuggester
from bot.intake.understand import RuleBased, Understanding

if TYPE_CHECKING:
    from bot.exception_summary import ExceptionSummaries

__all__ = ["DECISIONS", "Assistant", "Reply", "UnknownPerson"]


class Assistant:
    def __init__(
        self,
        service: ApprovalService,
        directory: Directory,
        *,
        surface: str = "web",
        classifier: Classifier | None = None,
        draft_ttl: timedelta = timedelta(hours=24),
        calendars: Calendars | None = None,
        suggester: CategorySuggester | None = None,
        summaries: ExceptionSummaries | None = None,
        understanding: Understanding | None = None,
    ) -> None:
        # optional: LLM category suggestions (off the reply path) and the approver's "what is unusual" note
        self.chat = Chat(service, directory, surface=surface, draft_ttl=draft_ttl, summaries=summaries)
        self.extractor = Extractor(directory, classifier)
        self.understanding: Understanding = understanding or RuleBased(self.extractor)
        self.dialogue = Dialogue(
            self.chat, self.understanding, CategoryHints(service, directory, self.extractor.classifier, suggester)
        )
        self.delegations = Delegations(self.chat)
        self.reminders = Reminders(self.chat, calendars or Calendars(directory))
        self.status = Status(self.chat)
        self.suppliers = NewSuppliers(self.chat, self.dialogue)

    @property
    def service(self) -> ApprovalService:
        return self.chat.service

    @property
    def directory(self) -> Directory:
        return self.chat.directory

    @property
    def surface(self) -> str:
        return self.chat.surface

    @property
    def store(self) -> ConversationStore:
        return self.chat.store

    @property
    def draft_ttl(self) -> timedelta:
        return self.chat.draft_ttl

    # ------------------------------------------------------------------ entry points
    def person(self, person_id: str) -> Person:
        return self.chat.person(person_id)

    def greet(self, person_id: str) -> list[Reply]:
        """What a person sees on arrival: a pending notice, what waits for them, the draft in progress."""
        person = self.person(person_id)
        row = self.chat.load(person_id)
        replies = self.chat.take_notice(row)
        replies.append(Reply(texts.GREETING.format(first_name=person.name.split()[0])))
        waiting = self.service.list(waiting_on=person_id, limit=20)
        replies += [Reply(card=self.chat.approver_card(view, person_id)) for view in waiting[:5]]
        mine = [
            v for v in self.service.list(requester=person_id, limit=10) if v.state in ("pending_approval", "needs_info")
        ]
        replies += [Reply(card=requisition_card(view, person_id, self.directory)) for view in mine[:3]]
        return replies + self.dialogue.resume(row, person)

    def handle_message(self, person_id: str, text: str) -> list[Reply]:
        """A message typed by `person_id`."""
        person = self.person(person_id)
        problem = routing.problem(text)
        if problem:
            return [Reply(problem)]
        text = routing.normalise(text)
        to = routing.route(text)
        match to.handler:
            case "help":
                return [Reply(texts.HELP)]
            case "stats":
                return [Reply(stats.answer(self.service.engine, self.directory, person, text, self.service.clock()))]
            case "cancel_delegation":
                return self.delegations.cancel(person)
            case "delegate":
                return self.delegations.delegate(person, text)
            case "delegations":
                return self.delegations.listing(person)
            case "out_of_office":
                return self.delegations.out_of_office(person, text)
            case "mine":
                return self.status.mine(person)
            case "pending":
                return self.status.pending(person)
            case "snooze":
                return self.reminders.snooze(person, text)
            case "digest_on" | "digest_off":
                return self.reminders.digest(person, enabled=to.handler == "digest_on")
            case "status":
                return self.status.one(person, to.words)
            case "where_is":
                return self.status.where_is(person, to.words)
            case "open":
                return self.status.open(person)
            case "comment":
                number, words = routing.typed_comment(to.words) or ("", "")
                return comments.comment(self.chat, person, number, words)
            case "question" if self.chat.load(person.id).state == "idle":
                # a question never starts a purchase; one asked during a draft is the draft's to read
                return [Reply(intent_texts.QUESTION)]
        return self.dialogue.message(person, text)

    def handle_action(self, person_id: str, action: str, value: dict[str, str], text: str | None = None) -> list[Reply]:
        """A button tapped by `person_id` on a card (with the words it asked for, if any)."""
        person = self.person(person_id)
        number = value.get("number", "")
        if action.startswith(schedules.PREFIX):  # a recurring requisition's Pause, Resume or End
            return schedules.change(self.chat, person, action, value)
        match routing.route_action(action, value):
            case "decision":
                decided = decisions.decide(self.chat, person.id, action, value, text)  # type: ignore[arg-type]
                return decisions.replies(self.chat, person, decided)
            case "status":
                return self.status.one(person, number)
            case "erp.retry":
                return self.status.erp_retry(person, number)
            case "cancel_delegation":
                return self.delegations.cancel(person, value.get("delegation_id"))
            case "comment":
                return comments.comment(self.chat, person, number, text, value.get("key"))
            case "delegation":
                return self.delegations.action(person, value)
            case "supplier":
                return self.suppliers.action(person, action, value, text)
        return self.dialogue.action(person, action, value)

    def card_for(self, number: str, viewer: str) -> Card:
        """The requisition card as `viewer` should see it now (every copy re-renders from this)."""
        return self.chat.card_for(number, viewer)

    def expire_drafts(self) -> list[tuple[str, Reply]]:
        """Discard drafts idle longer than the time limit; each person gets a notice."""
        return self.dialogue.expire()
