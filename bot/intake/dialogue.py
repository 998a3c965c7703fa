"""The draft dialogue: collect what a person needs, ask everything missing at once, show the summary, submit.

A message is read through `Understanding` (bot/intake/understand.py) and merged into the person's draft,
or read as the answer to the first open question (bot/intake/answers.py), and the rest of what it says is
merged too, so several questions can be answered in one message. Every open question goes back in
one reply, or the summary with its checks (duplicate, unusual amount, a policy stop). Words never
decide anything: instruction-like text is kept as the person's own, quoted; the request goes ahead.
The draft lives in the stored conversation between messages, with an optimistic version check: two
messages that cross are told so, never merged blind.
"""

from __future__ import annotations

import uuid

from pydantic import ValidationError

from approvals.attachments import megabytes
from approvals.commands import SubmitRequisition
from approvals.conversation import ChatConversation
from approvals.directory import Person
from approvals.errors import NotFound, ProcurebotError, ValidationFailed
from approvals.workflow.attachments import attach_command
from bot.cards.model import Card
from bot.intake import checks, intents, texts
from bot.intake.answers import read_answer
from bot.intake.cards import question_card, requisition_card, summary_card
from bot.intake.categories import CategoryHints
from bot.intake.context import Chat, draft_title
from bot.intake.draft import (
    DraftState,
    HeldFile,
    Question,
    fill_defaults,
    merge,
    questions,
    refuse_non_positive,
    to_requisition,
)
from bot.intake.duplicates import find_duplicate
from bot.intake.extract import Extraction
from bot.intake.reply import Reply
from bot.intake.store import Crossed
from bot.intake.understand import Understanding

DRAFT_ACTIONS = ("submit", "edit", "cancel", "confirm_amount")
LINE_WORDS = ("quantity", "price", "price_kind", "item_choice")


class Dialogue:
    def __init__(self, chat: Chat, understanding: Understanding, hints: CategoryHints) -> None:
        self.chat = chat
        self.understanding = understanding
        self.hints = hints

    # ------------------------------------------------------------------ entry points
    def message(self, person: Person, text: str) -> list[Reply]:
        """A message that is none of the short commands: about the draft, or the start of one."""
        row = self.chat.load(person.id)
        replies = self.chat.take_notice(row)
        if intents.CANCEL.match(text):
            return replies + self._cancel(row)
        draft = _draft(row)
        if row.state == "confirming" and intents.CONFIRM.match(text):
            return replies + self._submit(row, draft, person)
        if row.state != "idle" and intents.EDIT.match(text):
            return replies + [Reply(texts.EDIT)]
        return replies + self._collect(row, draft, person, text)

    def action(self, person: Person, action: str, value: dict[str, str]) -> list[Reply]:
        """A button on a draft's card: Submit, Edit, Cancel, Change category, or one of a question's choices."""
        row = self.chat.load(person.id)
        replies = self.chat.take_notice(row)
        draft = _draft(row)
        current = row.state != "idle" and value.get("draft_id") == draft.draft_id
        if action in DRAFT_ACTIONS and not current:
            if row.state == "idle":
                return replies + [Reply(texts.NO_DRAFT_TO_SUBMIT)]
            return replies + [Reply(texts.STALE_DRAFT)] + self.prompt(row, draft, person)
        if action == "change_category":
            if not current:
                return replies + [Reply(texts.NO_DRAFT_TO_SUBMIT if row.state == "idle" else texts.STALE_DRAFT)]
            shown = next((ln.category for ln in draft.lines if ln.category), None)
            draft.confirm_category, draft.category = shown or "", None
            row.state = "collecting"
            return replies + self.prompt(row, draft, person, save=True)
        if action == "confirm_amount":
            draft.confirmed_total = draft.grand_total
            return replies + self.prompt(row, draft, person, save=True)
        if action == "submit":
            return replies + self._submit(row, draft, person)
        if action == "edit":
            return replies + [Reply(texts.EDIT)]
        if action == "cancel":
            return replies + self._cancel(row)
        if action == "choose":
            if row.state == "idle":
                return replies + [Reply(texts.NO_DRAFT_TO_SUBMIT)]
            return replies + self._collect(row, draft, person, value.get("value", ""), field=value.get("field"))
        return replies + [Reply(f"I don't know the action {action!r}.")]

    def hold(self, person: Person, held: HeldFile) -> list[Reply] | None:
        """A file sent while the person's request is being written (checked and stored already): kept on the draft,
        listed on its summary, attached when it is submitted. None when no request is in progress."""
        for _ in range(3):  # another message of theirs crossing this one: read the draft again
            row = self.chat.load(person.id)
            if row.state == "idle":
                return None
            draft = _draft(row)
            if held.source and any(f.source == held.source for f in draft.files):
                return [Reply(texts.FILE_HELD_ALREADY.format(name=held.name))]
            draft.files.append(held)
            row.draft = draft.model_dump(mode="json")
            try:
                self.chat.save(row)
            except Crossed:
                continue
            return [Reply(texts.FILE_HELD.format(name=held.name, size=megabytes(held.size)))]
        return [Reply(texts.CROSSED)]

    def resume(self, row: ChatConversation, person: Person) -> list[Reply]:
        """The draft in progress, where it stands (the question it waits on, or its summary)."""
        return self.prompt(row, DraftState.model_validate(row.draft), person) if row.state != "idle" else []

    def expire(self) -> list[tuple[str, Reply]]:
        """Discard drafts idle longer than the time limit; each person gets a notice."""
        hours = self.chat.draft_ttl.total_seconds() / 3600
        held: list[str] = []

        def notice(row: ChatConversation) -> str:
            # the files kept with an expiring draft go with it, as they do on Cancel
            held.extend(
                str(f["key"]) for f in (row.draft or {}).get("files") or () if isinstance(f, dict) and "key" in f
            )
            return texts.expired(draft_title(row), hours)

        due = self.chat.store.expire_due(self.chat.now(), notice)
        if held:
            self.chat.service.discard_held(held)
        return [(p, Reply(t)) for p, t in due]

    # ------------------------------------------------------------------ collecting
    def _collect(
        self, row: ChatConversation, draft: DraftState, person: Person, text: str, field: str | None = None
    ) -> list[Reply]:
        notes: list[str] = []
        asked = Question.model_validate(row.question) if row.question else None
        tapped = field is not None  # a button: its value answers its own question, nothing else
        field = field or (asked.field if asked else None)
        if tapped and asked is not None and asked.field != field:
            asked = next((q for q in questions(draft, self.chat.directory) if q.field == field), None)
        now, timezone = self.chat.now(), self.chat.timezone(person)
        answered = (
            read_answer(
                draft,
                field,
                asked,
                text,
                understanding=self.understanding,
                directory=self.chat.directory,
                now=now,
                timezone=timezone,
            )
            if field
            else False
        )
        if not tapped:
            found = self.understanding.read(text, editing=bool(draft.lines), now=now, timezone=timezone)
            if answered:
                # the rest of the message may answer the other open questions ("40, from Uline, by Friday")
                _keep_the_rest(found, field or "")
            elif not _about_the_request(found, draft):
                if row.state == "idle":
                    return [Reply(texts.INSTRUCTIONS if found.quoted else texts.NOT_UNDERSTOOD)]
                open_now = questions(draft, self.chat.directory)
                question = open_now[0] if open_now else None
                return [Reply(texts.didnt_catch(question.text if question else texts.EDIT))] + (
                    [Reply(card=_question_card(question))] if question and question.choices else []
                )
            notes.extend(refuse_non_positive(found))
            line = asked.line if asked is not None and asked.field in LINE_WORDS else None
            merge(draft, found, append=bool(intents.APPEND.match(text)) and row.state != "idle", line=line)
            notes.extend(found.problems)
        if not draft.draft_id:
            draft.draft_id = uuid.uuid4().hex
        fill_defaults(draft, person, self.chat.directory)
        self.hints.ask(draft)
        row.state = "collecting"
        return [Reply(n) for n in notes] + self.prompt(row, draft, person, save=True)

    def prompt(self, row: ChatConversation, draft: DraftState, person: Person, save: bool = False) -> list[Reply]:
        """Ask every open question in one reply, or show the summary. Saves the conversation when asked to."""
        self.hints.take(draft)
        open_now = questions(draft, self.chat.directory)
        replies: list[Reply] = []
        if open_now:
            # a bare answer goes to the first; buttons for the first that has choices
            row.state, row.question = "collecting", open_now[0].model_dump(mode="json")
            with_buttons = next((q for q in open_now if q.choices), None)
            if len(open_now) == 1:
                replies.append(Reply(card=_question_card(with_buttons)) if with_buttons else Reply(open_now[0].text))
            else:
                replies.append(Reply(texts.several_questions([q.text for q in open_now])))
                if with_buttons is not None:
                    replies.append(Reply(card=_question_card(with_buttons)))
        else:
            duplicate = None
            if not draft.duplicate_checked or draft.duplicate_of:
                duplicate = find_duplicate(self.chat.service, draft, now=self.chat.now())
                draft.duplicate_of, draft.duplicate_checked = (duplicate.number if duplicate else None), True
            seen = checks.preview(self.chat.service, draft, person.id, self.chat.now())
            row.state, row.question = "confirming", None
            card = summary_card(draft, self.chat.directory, duplicate, stop=seen.stop, budget=seen.budget)
            replies.append(Reply(card=card))
        row.draft = draft.model_dump(mode="json")
        if save:
            try:
                self.chat.save(row)
            except Crossed:
                fresh = self.chat.load(person.id)
                return [Reply(texts.CROSSED)] + self.resume(fresh, person)
        return replies

    # ------------------------------------------------------------------ ending
    def _cancel(self, row: ChatConversation) -> list[Reply]:
        if row.state == "idle":
            return [Reply(texts.NOTHING_TO_CANCEL)]
        held = _draft(row).files
        row.state, row.draft, row.question = "idle", {}, None
        self.chat.save(row)
        if not held:
            return [Reply(texts.CANCELLED)]
        self.chat.service.discard_held([f.key for f in held])
        return [Reply(texts.CANCELLED + " " + texts.files_discarded(len(held)))]

    def _submit(self, row: ChatConversation, draft: DraftState, person: Person) -> list[Reply]:
        if questions(draft, self.chat.directory):
            return [Reply(texts.NOT_COMPLETE)] + self.prompt(row, draft, person, save=True)
        if draft.supplier is None and draft.new_supplier:
            # no supplier id is ever invented: the draft stays until procurement adds the new one
            return [Reply(texts.new_supplier_first(draft.new_supplier))]
        if checks.nothing_to_pay(draft):
            return [Reply(texts.NOTHING_TO_PAY)]
        if checks.needs_amount_confirmation(draft, self.chat.directory):
            return [Reply(texts.CONFIRM_AMOUNT_FIRST)] + self.prompt(row, draft, person, save=True)
        if self.hints.take(draft):
            # the suggestion arrived after the summary was shown and says something else: the person confirms first
            return [Reply(texts.CATEGORY_RECHECKED)] + self.prompt(row, draft, person, save=True)
        stop = checks.policy_stop(self.chat.service, draft, person.id, self.chat.now())
        if stop:
            # the policy would stop it: no requisition number is spent; the summary offers Edit and Cancel
            return [Reply(texts.policy_stop(stop))] + self.prompt(row, draft, person, save=True)
        surface = self.chat.surface
        try:
            req = to_requisition(draft, person.id)
            # one key per draft: a double tap on Submit, or a retry, never makes two requisitions
            result = self.chat.service.submit(
                SubmitRequisition(
                    actor=person.id,
                    draft=req,
                    surface=surface,
                    idempotency_key=f"{surface}:{person.id}:{draft.draft_id}",
                )
            )
        except ValidationError as exc:
            return [Reply("I can't submit that yet: " + "; ".join(e["msg"] for e in exc.errors()))]
        except ProcurebotError as exc:
            return [Reply(exc.message)]
        said = [Reply(text) for text in self._attach_held(draft, person, result.number)]
        row.state, row.draft, row.question = "idle", {}, None
        self.chat.save(row)
        if not result.replayed:
            self.hints.record(draft, result.requisition)
        card = requisition_card(result.requisition, person.id, self.chat.directory)
        return [Reply(result.message, card=card)] + said

    def _attach_held(self, draft: DraftState, person: Person, number: str) -> list[str]:
        """The files sent while the request was written, attached to it now it has a number (each checked again,
        once: a retried Submit attaches nothing twice); what to tell the person about each."""
        said = []
        for i, held in enumerate(draft.files):
            data = self.chat.service.held(held.key)
            if data is None:
                said.append(texts.FILE_LOST.format(name=held.name))
                continue
            cmd = attach_command(
                actor=person.id,
                surface=self.chat.surface,
                number=number,
                filename=held.name,
                data=data,
                idempotency_key=f"{self.chat.surface}:{person.id}:{draft.draft_id}:file:{i}",
            )
            try:
                said.append(self.chat.service.attach(cmd, data).message)
            except ValidationFailed as exc:
                said.append(" ".join(e.message for e in exc.errors))
            except NotFound as exc:
                said.append(exc.message)
        return said


def _draft(row: ChatConversation) -> DraftState:
    return DraftState.model_validate(row.draft) if row.state != "idle" else DraftState()


def _about_the_request(found: Extraction, draft: DraftState) -> bool:
    """Whether a message says anything about a request: a bare number with no draft to apply it to does not."""
    if not draft.lines and found.lines and all(not ln.description for ln in found.lines):
        lines, found.lines = found.lines, []
        if found.found_anything():
            found.lines = lines  # "same as last order but 15", "Staples, $12 each": kept until the item is named
    return found.found_anything()


def _keep_the_rest(found: Extraction, field: str) -> None:
    """After a typed answer to `field`, what else the message says still counts, except what the answer already
    took: a bare "32" answering the price must not also become a quantity of 32."""
    found.lines = [ln for ln in found.lines if not ln.description]  # the item was the answer's context
    if field == "quantity":
        for ln in found.lines:
            ln.quantity = None  # "40, $32 a roll": the 40 was the answer, the price still counts
        found.lines = [ln for ln in found.lines if ln.unit_price is not None or ln.total is not None]
    elif field in ("price", "price_kind"):
        found.lines, found.total, found.unsure_price = [], None, None
    elif field == "supplier":
        found.supplier, found.supplier_choices, found.unknown_supplier = None, [], None
    elif field in ("site", "site_or_cost_center", "cost_center"):
        found.site, found.site_choices, found.cost_center, found.unknown_cost_center = None, [], None, None
    elif field == "need_by":
        found.need_by, found.need_by_past = None, False


def _question_card(question: Question) -> Card:
    return question_card(question.text, question.field, [(c.label, c.value) for c in question.choices])
