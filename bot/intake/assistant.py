"""The chat assistant: what a person says or taps in, replies and cards out, through the core's commands.

Channel-agnostic: the web chat calls it now, Slack and Teams adapters later, each only
translating their payloads. Every requisition change goes through ApprovalService (submit,
approve, reject, request_info, answer_info, withdraw, set/cancel delegation), exactly as the
HTTP API does; nothing here decides who approves.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from rapidfuzz import fuzz, process

from approvals.classify import Classifier
from approvals.commands import (
    AnswerInfo,
    Approve,
    CancelDelegation,
    Reject,
    RequestInfo,
    SetDelegation,
    SubmitRequisition,
    Withdraw,
)
from approvals.conversation import ChatConversation
from approvals.directory import Directory, Person
from approvals.errors import NotFound, ProcurebotError, StaleAction
from approvals.outbox import retry_dead
from approvals.scheduling.actions import SetDigest, Snooze, set_digest, snooze
from approvals.scheduling.calendar import Calendars
from approvals.suggestions import CategorySuggestion, record_suggestions
from approvals.views import RequisitionView
from approvals.workflow import ApprovalService
from bot.cards.model import Card
from bot.intake import intents, stats, texts
from bot.intake.cards import delegation_card, question_card, queue_card, requisition_card, summary_card
from bot.intake.draft import DraftState, Question, fill_defaults, merge, next_question, to_requisition
from bot.intake.duplicates import find_duplicate
from bot.intake.extract import DATE, ExtractedLine, Extractor, parse_date
from bot.intake.orders import match_orders, status_card, viewer_card
from bot.intake.store import ConversationStore, Crossed
from bot.intake.suggest import CategorySuggester

if TYPE_CHECKING:
    from bot.exception_summary import ExceptionSummaries

log = logging.getLogger("procurebot.intake")
DECISIONS = ("approve", "reject", "request_info", "answer_info", "withdraw")


@dataclass
class Reply:
    """One bot message: words, a card, or both."""

    text: str = ""
    card: Card | None = None


class UnknownPerson(ProcurebotError):
    code = "unknown_person"


class Assistant:
    def __init__(self, service: ApprovalService, directory: Directory, *, surface: str = "web",
                 classifier: Classifier | None = None, draft_ttl: timedelta = timedelta(hours=24),
                 calendars: Calendars | None = None, suggester: CategorySuggester | None = None,
                 summaries: ExceptionSummaries | None = None) -> None:
        self.service = service
        # optional: LLM category suggestions (off the reply path) and the approver's "what is unusual" note
        self.suggester = suggester
        self.summaries = summaries
        self.directory = directory
        self.surface = surface
        self.extractor = Extractor(directory, classifier)
        self.store = ConversationStore(service.engine, surface)
        self.draft_ttl = draft_ttl
        self.calendars = calendars or Calendars(directory)
        self._first_names: dict[str, list[str]] = {}
        for p in directory.people:
            self._first_names.setdefault(p.name.split()[0].lower(), []).append(p.id)

    # ------------------------------------------------------------------ entry points
    def person(self, person_id: str) -> Person:
        p = self.directory.person(person_id)
        if p is None:
            raise UnknownPerson(f"There is nobody called {person_id!r} in the company directory.")
        return p

    def greet(self, person_id: str) -> list[Reply]:
        """What a person sees on arrival: a pending notice, what waits for them, the draft in progress."""
        person = self.person(person_id)
        row = self._load(person_id)
        replies = self._take_notice(row)
        replies.append(Reply(texts.GREETING.format(first_name=person.name.split()[0])))
        waiting = self.service.list(waiting_on=person_id, limit=20)
        for view in waiting[:5]:
            replies.append(Reply(card=self._approver_card(view, person_id)))
        mine = [v for v in self.service.list(requester=person_id, limit=10)
                if v.state in ("pending_approval", "needs_info")]
        for view in mine[:3]:
            replies.append(Reply(card=requisition_card(view, person_id, self.directory)))
        if row.state != "idle":
            replies.extend(self._prompt(row, DraftState.model_validate(row.draft), person))
        return replies

    def handle_message(self, person_id: str, text: str) -> list[Reply]:
        """A message typed by `person_id`."""
        person = self.person(person_id)
        problem = self._bad_input(text)
        if problem:
            return [Reply(problem)]
        text = unicodedata.normalize("NFKC", text).strip()
        if intents.HELP.match(text):
            return [Reply(texts.HELP)]
        if intents.STATS.match(text):
            return [Reply(stats.answer(self.service.engine, self.directory, person, text, self.service.clock()))]
        if intents.CANCEL_DELEGATION.search(text):
            return self._cancel_delegations(person)
        if intents.DELEGATE.match(text):
            return self._delegate(person, text)
        if intents.MINE.match(text):
            views = self.service.list(requester=person.id, limit=50)
            return [Reply(card=queue_card("Your requests", views, self.directory, texts.queue_empty_mine()))]
        if intents.PENDING.match(text):
            return self._pending(person)
        if intents.SNOOZE.match(text):
            return self._snooze(person, text)
        if intents.DIGEST_OFF.search(text) or intents.DIGEST_ON.search(text):
            return self._digest(person, enabled=not intents.DIGEST_OFF.search(text))
        number = intents.status_number(text)
        if number:
            return self._status(person, number)
        order = intents.order_words(text)
        if order:
            return self._where_is(person, order)
        row = self._load(person.id)
        replies = self._take_notice(row)
        if intents.INJECTION.search(text):
            return replies + [Reply(texts.INSTRUCTIONS)]
        if intents.CANCEL.match(text):
            return replies + self._cancel(row, person)
        draft = DraftState.model_validate(row.draft) if row.state != "idle" else DraftState()
        if row.state == "confirming" and intents.CONFIRM.match(text):
            return replies + self._submit(row, draft, person)
        if row.state != "idle" and intents.EDIT.match(text):
            return replies + [Reply(texts.EDIT)]
        return replies + self._understand(row, draft, person, text)

    def _snooze(self, person: Person, text: str) -> list[Reply]:
        """"Remind me in 2 hours about PR-1042": the next reminder moves, never past the SLA."""
        hours = intents.snooze_hours(text)
        if hours is None or hours <= 0:
            return [Reply(texts.SNOOZE_HOW)]
        number = intents.STATUS.search(text)
        if number:
            target = f"PR-{int(re.sub(r'[^0-9]', '', number.group('number')))}"
        else:
            waiting = self.service.list(waiting_on=person.id, limit=3)
            if len(waiting) != 1:
                return [Reply(texts.SNOOZE_WHICH if waiting else texts.SNOOZE_NOTHING)]
            target = waiting[0].number
        try:
            return [Reply(snooze(self.service.engine, self.calendars,
                                 Snooze(actor=person.id, number=target, hours=min(hours, Decimal(72)),
                                        surface=self.surface), clock=self.service.clock))]
        except ProcurebotError as exc:
            return [Reply(exc.message)]

    def _digest(self, person: Person, *, enabled: bool) -> list[Reply]:
        set_digest(self.service.engine, self.directory, SetDigest(actor=person.id, enabled=enabled,
                                                                   surface=self.surface), clock=self.service.clock)
        return [Reply(texts.DIGEST_ON if enabled else texts.DIGEST_OFF)]

    def handle_action(self, person_id: str, action: str, value: dict[str, str], text: str | None = None
                      ) -> list[Reply]:
        """A button tapped by `person_id` on a card (with the words it asked for, if any)."""
        person = self.person(person_id)
        if action in DECISIONS:
            return self._decide(person, action, value, text)
        if action == "status":
            return self._status(person, value.get("number", ""))
        if action == "erp.retry":
            return self._erp_retry(person, value.get("number", ""))
        if action == "cancel_delegation":
            return self._cancel_delegations(person, value.get("delegation_id"))
        row = self._load(person.id)
        replies = self._take_notice(row)
        draft = DraftState.model_validate(row.draft) if row.state != "idle" else DraftState()
        if action in ("submit", "edit", "cancel") and (row.state == "idle" or value.get("draft_id") != draft.draft_id):
            if row.state == "idle":
                return replies + [Reply(texts.NO_DRAFT_TO_SUBMIT)]
            return replies + [Reply(texts.STALE_DRAFT)] + self._prompt(row, draft, person)
        if action == "change_category":
            if row.state == "idle" or value.get("draft_id") != draft.draft_id:
                return replies + [Reply(texts.NO_DRAFT_TO_SUBMIT if row.state == "idle" else texts.STALE_DRAFT)]
            shown = next((ln.category for ln in draft.lines if ln.category), None)
            draft.confirm_category, draft.category = shown or "", None
            row.state = "collecting"
            return replies + self._prompt(row, draft, person, save=True)
        if action == "submit":
            return replies + self._submit(row, draft, person)
        if action == "edit":
            return replies + [Reply(texts.EDIT)]
        if action == "cancel":
            return replies + self._cancel(row, person)
        if action == "choose":
            if row.state == "idle":
                return replies + [Reply(texts.NO_DRAFT_TO_SUBMIT)]
            return replies + self._understand(row, draft, person, value.get("value", ""), field=value.get("field"))
        return replies + [Reply(f"I don't know the action {action!r}.")]

    def card_for(self, number: str, viewer: str) -> Card:
        """The requisition card as `viewer` should see it now (every copy re-renders from this)."""
        self.person(viewer)
        return viewer_card(self.service.engine, self.service.view(number), viewer, self.directory, self.summaries)

    def _approver_card(self, view: RequisitionView, viewer: str) -> Card:
        """The card with the "what is unusual" note when `viewer` is one of the approvers it waits on."""
        return viewer_card(self.service.engine, view, viewer, self.directory, self.summaries)

    def expire_drafts(self) -> list[tuple[str, Reply]]:
        """Discard drafts idle longer than the time limit; each person gets a notice."""
        hours = self.draft_ttl.total_seconds() / 3600

        def notice(row: ChatConversation) -> str:
            draft = DraftState.model_validate(row.draft)
            title = draft.lines[0].description if draft.lines and draft.lines[0].description else "no items yet"
            return texts.expired(title, hours)

        return [(p, Reply(t)) for p, t in self.store.expire_due(self.service.clock(), notice)]

    # ------------------------------------------------------------------ input and state
    @staticmethod
    def _bad_input(text: str) -> str | None:
        if text is None or not text.strip():
            return texts.EMPTY
        if len(text) > texts.MAX_MESSAGE:
            return texts.too_long(len(text))
        controls = sum(1 for c in text if unicodedata.category(c) in ("Cc", "Cs", "Co") and c not in "\n\r\t")
        if "\x00" in text or "\ufffd" in text or controls > max(2, len(text) // 20):
            return texts.BINARY
        if not any(c.isalnum() for c in text):
            return texts.EMOJI_ONLY if any(ord(c) > 0x2000 for c in text) else texts.NOT_UNDERSTOOD
        return None

    def _load(self, person: str) -> ChatConversation:
        row = self.store.load(person)
        if self.store.is_expired(row, self.service.clock()):
            draft = DraftState.model_validate(row.draft)
            title = draft.lines[0].description if draft.lines and draft.lines[0].description else "no items yet"
            row.notice = texts.expired(title, self.draft_ttl.total_seconds() / 3600)
            row.state, row.draft, row.question = "idle", {}, None
        return row

    def _take_notice(self, row: ChatConversation) -> list[Reply]:
        if not row.notice:
            return []
        text, row.notice = row.notice, None
        self._save(row)
        return [Reply(text)]

    def _save(self, row: ChatConversation) -> None:
        self.store.save(row, now=self.service.clock(), ttl=self.draft_ttl)

    def _tz(self, person: Person) -> str:
        site = self.directory.site_by_code.get(person.site or "")
        return person.timezone or (site.timezone if site else "America/Chicago")

    # ------------------------------------------------------------------ building a request
    def _understand(self, row: ChatConversation, draft: DraftState, person: Person, text: str,
                    field: str | None = None) -> list[Reply]:
        notes: list[str] = []
        asked = Question.model_validate(row.question) if row.question else None
        field = field or (asked.field if asked else None)
        answered = self._answer(draft, field, asked, text, person) if field else False
        if not answered:
            qty, rest = intents.quantity_fix(text) if draft.lines else (None, text)
            ex = self.extractor.extract(rest, now=self.service.clock(), timezone=self._tz(person))
            if qty is not None:
                ex.lines.append(ExtractedLine("", qty))
            if not ex.found_anything():
                if row.state == "idle":
                    return [Reply(texts.NOT_UNDERSTOOD)]
                question = next_question(draft, self.directory)
                return [Reply(texts.didnt_catch(question.text if question else texts.EDIT))] + \
                    ([Reply(card=question_card(question.text, question.field, [(c.label, c.value)
                                                                                for c in question.choices]))]
                     if question and question.choices else [])
            merge(draft, ex, append=bool(intents.APPEND.match(text)) and row.state != "idle")
            notes.extend(ex.problems)
        if not draft.draft_id:
            draft.draft_id = uuid.uuid4().hex
        fill_defaults(draft, person, self.directory)
        self._ask_suggestions(draft)
        row.state = "collecting"
        replies = [Reply(n) for n in notes]
        return replies + self._prompt(row, draft, person, save=True)

    def _answer(self, draft: DraftState, field: str, asked: Question | None, text: str, person: Person) -> bool:
        """Read `text` as the answer to the question about `field`. False when it is not one."""
        value = text.strip()
        line = draft.lines[asked.line] if asked and asked.line is not None and asked.line < len(draft.lines) else (
            draft.lines[-1] if draft.lines else None)
        if field == "quantity" and line is not None:
            qty, _ = intents.quantity_fix("make it " + value.split()[0] if value else "")
            if qty is not None and qty > 0:
                line.quantity = qty
                return True
            return False
        if field == "price_kind" and draft.unsure_price is not None and line is not None:
            kind = "total" if re.search(r"\btotal|all|altogether\b", value, re.I) else (
                "unit" if re.search(r"\bunit|each|per|apiece|a piece\b", value, re.I) else None)
            if kind is None:
                return False
            amount = draft.unsure_price.amount
            draft.currency = draft.unsure_price.currency
            if kind == "total" and line.quantity:
                amount = (amount / line.quantity).quantize(Decimal("0.0001"))
            line.unit_price, line.price_source = amount, ("said" if kind == "unit" else "total")
            draft.unsure_price = None
            return True
        if field == "price" and line is not None:
            bare = re.fullmatch(r"[$€£]?\s?(\d[\d,]*(?:\.\d+)?)\s*(?:each|ea|per \w+|a \w+|/\w+)?", value, re.I)
            if bare:
                try:
                    line.unit_price, line.price_source = Decimal(bare.group(1).replace(",", "")), "said"
                except InvalidOperation:
                    return False
                if value.startswith("\u20ac"):
                    draft.currency = "EUR"
                return line.unit_price > 0
            return False
        if field == "supplier":
            ids = self.extractor.match_supplier(value)
            if len(ids) == 1:
                draft.supplier, draft.supplier_choices, draft.unknown_supplier = ids[0], [], None
                return True
            return False
        if field == "site":
            codes = self.extractor.match_site(value)
            if len(codes) == 1:
                draft.site, draft.site_source, draft.site_choices = codes[0], "said", []
                if draft.cost_center_source != "said":
                    draft.cost_center = draft.cost_center_source = None
                return True
            return False
        if field == "cost_center":
            code = value.upper()
            if code in self.directory.cost_center_by_code:
                draft.cost_center, draft.cost_center_source = code, "said"
                return True
            return False
        if field == "category":
            code = value.lower()
            if code not in self.directory.category_by_code:
                names = {c.name.lower(): c.code for c in self.directory.categories}
                hit = process.extractOne(code, list(names), scorer=fuzz.partial_ratio, score_cutoff=80)
                code = names[hit[0]] if hit else ""
            if code:
                confirming = draft.confirm_category is not None
                draft.category, draft.confirm_category = code, None
                for ln in draft.lines:
                    if ln.category is None or (confirming and ln.category_source in ("keyword", "llm", "said")):
                        ln.category, ln.category_source = code, "said"
                return True
            return False
        if field == "need_by":
            if intents.NO_DATE.match(value):
                draft.need_by, draft.need_by_past, draft.no_need_by = None, None, True
                return True
            m = DATE.search(value.lower())
            when = parse_date(m.group("d"), now=self.service.clock(), timezone=self._tz(person)) if m else None
            if when is not None:
                today = self.service.clock().astimezone(ZoneInfo(self._tz(person))).date()
                if when >= today:
                    draft.need_by, draft.need_by_past = when, None
                else:
                    draft.need_by_past = m.group("d")  # type: ignore[union-attr]
                return True
            return False
        return False

    def _prompt(self, row: ChatConversation, draft: DraftState, person: Person, save: bool = False) -> list[Reply]:
        """Ask the next question, or show the summary. Saves the conversation when asked to."""
        self._take_suggestions(draft)
        question = next_question(draft, self.directory)
        replies: list[Reply] = []
        if question is not None:
            row.state, row.question = "collecting", question.model_dump(mode="json")
            if question.choices:
                replies.append(Reply(card=question_card(question.text, question.field,
                                                        [(c.label, c.value) for c in question.choices])))
            else:
                replies.append(Reply(question.text))
        else:
            duplicate = None
            if not draft.duplicate_checked or draft.duplicate_of:
                dup = find_duplicate(self.service, draft, now=self.service.clock())
                draft.duplicate_of, draft.duplicate_checked = (dup.number if dup else None), True
                duplicate = dup
            row.state, row.question = "confirming", None
            replies.append(Reply(card=summary_card(draft, self.directory, duplicate)))
        row.draft = draft.model_dump(mode="json")
        if save:
            try:
                self._save(row)
            except Crossed:
                fresh = self._load(person.id)
                again = DraftState.model_validate(fresh.draft) if fresh.state != "idle" else None
                return [Reply(texts.CROSSED)] + (self._prompt(fresh, again, person) if again else [])
        return replies

    def _cancel(self, row: ChatConversation, person: Person) -> list[Reply]:
        if row.state == "idle":
            return [Reply(texts.NOTHING_TO_CANCEL)]
        row.state, row.draft, row.question = "idle", {}, None
        self._save(row)
        return [Reply(texts.CANCELLED)]

    def _submit(self, row: ChatConversation, draft: DraftState, person: Person) -> list[Reply]:
        if next_question(draft, self.directory) is not None:
            return [Reply(texts.NOT_COMPLETE)] + self._prompt(row, draft, person, save=True)
        if self._take_suggestions(draft):
            # the suggestion arrived after the summary was shown and says something else: the person confirms first
            return [Reply(texts.CATEGORY_RECHECKED)] + self._prompt(row, draft, person, save=True)
        try:
            req = to_requisition(draft, person.id)
            # one key per draft: a double tap on Submit, or a retry, never makes two requisitions
            result = self.service.submit(SubmitRequisition(actor=person.id, draft=req, surface=self.surface,
                                                           idempotency_key=f"{self.surface}:{person.id}:{draft.draft_id}"))
        except ValidationError as exc:
            return [Reply("I can't submit that yet: " + "; ".join(e["msg"] for e in exc.errors()))]
        except ProcurebotError as exc:
            return [Reply(exc.message)]
        row.state, row.draft, row.question = "idle", {}, None
        self._save(row)
        if not result.replayed:
            self._record_suggestions(draft, result.requisition)
        return [Reply(result.message, card=requisition_card(result.requisition, person.id, self.directory))]

    # ------------------------------------------------------------------ category suggestions
    def _ask_suggestions(self, draft: DraftState) -> None:
        """Start an LLM suggestion for each line the catalog and the supplier could not place. Never waits."""
        if self.suggester is None:
            return
        for line in draft.lines:
            if line.description and line.suggestion is None and line.category_source in (None, "keyword"):
                self.suggester.start(line.description)

    def _take_suggestions(self, draft: DraftState) -> bool:
        """Use the suggestions that have arrived. True when the category shown changed or needs confirming."""
        if self.suggester is None:
            return False
        changed = False
        supplier = self.directory.supplier_by_id.get(draft.supplier or "")
        if supplier is not None and supplier.categories:
            for line in draft.lines:  # a suggestion taken before the supplier was known must still fit it
                if line.category_source == "llm" and line.category not in supplier.categories:
                    one = supplier.categories[0] if len(supplier.categories) == 1 else None
                    line.category, line.category_source = one, ("supplier" if one else None)
                    changed = True
        for line in draft.lines:
            if line.suggestion is not None or not line.description or line.category_source not in (None, "keyword"):
                continue
            found = self.suggester.ready(line.description)
            if found is None:
                continue  # still on its way: the deterministic answer stands for now
            guess = found.classification
            line.suggestion = {"category": guess.category if guess else None,
                               "confidence": guess.confidence if guess else 0.0,
                               "source": guess.source if guess else "none", "outcome": found.outcome,
                               "prompt_version": found.prompt_version, "model": found.model}
            if guess is None or guess.source != "llm":
                continue  # the LLM gave nothing usable: what the keywords said (or the usual question) stands
            if supplier is not None and supplier.categories and guess.category not in supplier.categories:
                continue  # this supplier does not sell that category: not a suggestion worth showing
            if found.outcome == "ok":
                changed = changed or line.category != guess.category
                line.category, line.category_source = guess.category, "llm"
            else:  # low confidence: the requester picks, the suggestion first
                draft.confirm_category, draft.category = guess.category, None
                changed = True
        return changed

    def _record_suggestions(self, draft: DraftState, view: RequisitionView) -> None:
        """Keep each suggestion beside the category the requester confirmed (the one routing used)."""
        rows, now = [], self.service.clock()
        for i, (line, saved) in enumerate(zip(draft.lines, view.lines)):
            hint = line.suggestion
            if hint is None and line.category_source == "keyword":
                guess = self.extractor.classifier.classify(line.description)
                hint = {"category": guess.category, "confidence": guess.confidence, "source": "keyword"} if guess \
                    else None
            if not hint or not hint.get("category"):
                continue
            rows.append(CategorySuggestion(
                requisition_number=view.number, line_no=saved.line_no, description=line.description[:300],
                suggested=hint["category"], confidence=float(hint.get("confidence") or 0.0),
                source=hint.get("source") or "llm", prompt_version=hint.get("prompt_version") or "",
                model=(hint.get("model") or "")[:80], confirmed=saved.category,
                accepted=hint["category"] == saved.category, created_at=now))
        try:
            record_suggestions(self.service.engine, rows)
        except Exception:  # noqa: BLE001 - the requisition is submitted; losing the record must not say otherwise
            log.exception("recording category suggestions for %s failed", view.number)

    # ------------------------------------------------------------------ everything else people say
    def _status(self, person: Person, number: str) -> list[Reply]:
        try:
            view = self.service.get(number)
        except NotFound:
            return [Reply(texts.status_missing(number))]
        return [Reply(card=status_card(self.service.engine, view, person.id, self.directory))]

    def _where_is(self, person: Person, words: str) -> list[Reply]:
        """'where is my stretch wrap order?': the asker's own recent requisitions, matched by title and lines."""
        found = match_orders(words, self.service.list(requester=person.id, limit=50))
        if not found:
            return [Reply(texts.no_order_found(words))]
        if len(found) == 1:
            return [Reply(card=status_card(self.service.engine, found[0], person.id, self.directory))]
        return [Reply(card=queue_card(texts.which_order(words), found, self.directory, ""))]

    def _erp_retry(self, person: Person, number: str) -> list[Reply]:
        try:
            message = retry_dead(self.service.engine, self.directory, number, actor=person.id,
                                 now=self.service.clock())
        except ProcurebotError as exc:
            return self._with_card(exc.message, number, person)
        return self._with_card(message, number, person)

    def _pending(self, person: Person) -> list[Reply]:
        views = self.service.list(waiting_on=person.id, limit=50)
        replies = [Reply(card=queue_card("Waiting for your approval", views, self.directory,
                                         texts.queue_empty_pending()))]
        replies += [Reply(card=self._approver_card(v, person.id)) for v in views[:5]]
        return replies

    def _decide(self, person: Person, action: str, value: dict[str, str], text: str | None) -> list[Reply]:
        number = value.get("number", "")
        key = value.get("key") or None
        words = (text or "").strip()
        common = {"actor": person.id, "surface": self.surface, "number": number, "idempotency_key": key}
        try:
            if action == "approve":
                result = self.service.approve(Approve(**common, comment=words or None))
            elif action == "reject":
                if not words:
                    return [Reply(texts.need_reason("reject"))]
                result = self.service.reject(Reject(**common, reason=words))
            elif action == "request_info":
                if not words:
                    return [Reply("Write the question you want the requester to answer.")]
                result = self.service.request_info(RequestInfo(**common, question=words))
            elif action == "answer_info":
                if not words:
                    return [Reply("Write your answer first.")]
                result = self.service.answer_info(AnswerInfo(**common, answer=words))
            else:
                result = self.service.withdraw(Withdraw(**common, reason=words or None))
        except ValidationError as exc:
            return [Reply("; ".join(e["msg"] for e in exc.errors()))]
        except StaleAction as exc:
            return self._with_card(exc.message, number, person)
        except ProcurebotError as exc:
            return self._with_card(exc.message, number, person)
        return [Reply(result.message, card=requisition_card(result.requisition, person.id, self.directory))]

    def _with_card(self, message: str, number: str, person: Person) -> list[Reply]:
        try:
            return [Reply(message, card=self.card_for(number, person.id))]
        except NotFound:
            return [Reply(message)]

    def _find_person(self, name: str) -> list[str]:
        low = name.lower().strip(" .")
        exact = [p.id for p in self.directory.people if p.name.lower() == low or p.id == low]
        if exact:
            return exact
        if low in self._first_names:
            return self._first_names[low]
        hits = process.extract(low, [p.name.lower() for p in self.directory.people], scorer=fuzz.WRatio,
                               limit=3, score_cutoff=85)
        return [self.directory.people[i].id for _, _, i in hits]

    def _delegate(self, person: Person, text: str) -> list[Reply]:
        m = intents.DELEGATE_PARTS.search(text)
        if not m:
            return [Reply(texts.delegation_help())]
        ids = self._find_person(m.group("who"))
        if not ids:
            return [Reply(texts.unknown_person(m.group("who").strip()))]
        if len(ids) > 1:
            return [Reply(texts.which_person([self.directory.person_by_id[i].name for i in ids]))]
        tz = self._tz(person)
        now = self.service.clock()
        local_today = now.astimezone(ZoneInfo(tz)).date()
        start_text, end_text = m.group("start"), m.group("end") or m.group("until")
        start = parse_date(start_text, now=now, timezone=tz) if start_text else local_today
        end = parse_date(end_text, now=now, timezone=tz) if end_text else None
        if start is None or end is None:
            return [Reply(texts.delegation_help())]
        if end < start:
            end = end.replace(year=end.year + 1) if (start - end).days > 180 else end
        if end < local_today:
            return [Reply(f"{end:%b %d} is in the past; give a last day from today on.")]
        zone = ZoneInfo(tz)
        starts_at = max(datetime.combine(start, time(0), zone), now.astimezone(zone)) if start <= local_today else \
            datetime.combine(start, time(0), zone)
        ends_at = datetime.combine(end + timedelta(days=1), time(0), zone)  # through the whole last day
        try:
            row = self.service.set_delegation(SetDelegation(actor=person.id, delegator=person.id, delegate=ids[0],
                                                            starts_at=starts_at, ends_at=ends_at,
                                                            surface=self.surface))
        except ValidationError as exc:
            return [Reply("; ".join(e["msg"] for e in exc.errors()))]
        except ProcurebotError as exc:
            return [Reply(exc.message)]
        card = delegation_card(row, self.directory, f"{start:%a %b %d}", f"{end:%a %b %d} (end of day)")
        return [Reply(card=card)]

    def _cancel_delegations(self, person: Person, delegation_id: str | None = None) -> list[Reply]:
        rows = [d for d in self.service.delegations(person=person.id) if d.delegator == person.id
                and (delegation_id is None or str(d.id) == delegation_id)]
        if not rows:
            return [Reply(texts.NO_DELEGATION)]
        replies = []
        for row in rows:
            try:
                self.service.cancel_delegation(CancelDelegation(actor=person.id, delegation_id=row.id,  # type: ignore[arg-type]
                                                                surface=self.surface))
            except ProcurebotError as exc:
                replies.append(Reply(exc.message))
                continue
            replies.append(Reply(texts.delegation_cancelled(self.directory.person_by_id[row.delegate].name)))
        return replies
