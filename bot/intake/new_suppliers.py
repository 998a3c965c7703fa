"""New suppliers from chat: the requester's "Ask procurement to add it" form, the buyer's Approve / Reject / Ask for
info, the requester's answer, and "Continue my request" once the supplier exists.

Every step is the core's (approvals/new_suppliers.py): who may decide, joining a second request for the same name,
a double tap, the ERP job, the audit. Here the words and fields of a tap become its call, and its answer becomes
replies; the waiting draft is this surface's chat draft, kept on the request and continued from it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Protocol

from sqlalchemy import Engine

from approvals import new_suppliers
from approvals.attachments import megabytes
from approvals.directory_store import LiveDirectory
from approvals.errors import ProcurebotError, ValidationFailed
from approvals.new_suppliers import SupplierRequest
from approvals.notices import Notice, Notifier
from bot.cards.model import Card, CardAction, Fact
from bot.intake import texts
from bot.intake.context import Chat
from bot.intake.draft import DraftState
from bot.intake.reply import Reply

if TYPE_CHECKING:
    from approvals.directory import Person
    from bot.intake.dialogue import Dialogue

ACTIONS = ("supplier.request", "supplier.approve", "supplier.reject", "supplier.ask", "supplier.answer")
CONTINUE = "supplier.continue"
_DECISIONS: dict[str, new_suppliers.Decision] = {
    "supplier.approve": "approve",
    "supplier.reject": "reject",
    "supplier.ask": "ask",
}
_EMAIL = re.compile(r"[^\s,;<>]+@[^\s,;<>]+")
_TAX = re.compile(r"\b(?:tax(?:\s*id)?|ein|vat|tin)\b\s*[:#]?\s*(?P<id>[A-Za-z0-9][A-Za-z0-9 ./-]{2,39})", re.I)
STATE_WORDS = {
    "pending": "waiting for a buyer",
    "needs_info": "a buyer asked the requester something",
    "approved": "approved; being created in the ERP",
    "created": "added",
    "rejected": "not added",
}


def fields_from_text(text: str) -> dict[str, str]:
    """E-mail, website and tax id from typed words ("sales@acme.com, acme.com, tax id 12-3456789"), for a surface
    that sends one text field rather than the form's fields."""
    words = text or ""
    out: dict[str, str] = {}
    tax = _TAX.search(words)
    if tax:
        out["tax_id"] = tax.group("id").strip()
        words = words[: tax.start()] + " " + words[tax.end() :]
    email = _EMAIL.search(words)
    if email:
        out["email"] = email.group(0)
        words = words[: email.start()] + " " + words[email.end() :]
    site = next((w for w in re.split(r"[\s,;]+", words) if "." in w and new_suppliers.clean_website(w)), None)
    if site:
        out["website"] = site
    return out


class NewSuppliers:
    def __init__(self, chat: Chat, dialogue: Dialogue) -> None:
        self.chat = chat
        self.dialogue = dialogue

    def action(self, person: Person, action: str, value: dict[str, str], text: str | None) -> list[Reply]:
        if action == "supplier.request":
            return self.request(person, value, text)
        if action == "supplier.answer":
            return self.answer(person, value.get("request", ""), text)
        if action == CONTINUE:
            return self.resume(person, value.get("request", ""))
        decision = _DECISIONS.get(action)
        if decision is None:
            return [Reply(f"I don't know the action {action!r}.")]
        return self.decide(person, value.get("request", ""), decision, text)

    # ------------------------------------------------------------------ the requester
    def request(self, person: Person, value: dict[str, str], text: str | None) -> list[Reply]:
        """The form on the summary: ask procurement to add the supplier the draft names."""
        row = self.chat.load(person.id)
        draft = DraftState.model_validate(row.draft) if row.state != "idle" else None
        if draft is None or value.get("draft_id") != draft.draft_id or not draft.new_supplier:
            return [Reply("That form belongs to a request that is no longer open; start the request again.")]
        given = {**fields_from_text(text or ""), **{k: v for k, v in value.items() if v}}
        service = self.chat.service
        document = None
        if given.get("tax_document"):  # a file the surface held first (the web chat's upload): its bytes by key
            data = service.held(given["tax_document"])
            if data is None:
                return [Reply("The tax document is no longer kept; attach it again, or ask without it.")]
            document = (given.get("tax_document_name") or "tax-document", data)
        try:
            asked = new_suppliers.ask(
                self.chat.service.engine,
                self.chat.directory,
                actor=person.id,
                name=given.get("name") or draft.new_supplier,
                email=given.get("email", ""),
                website=given.get("website", ""),
                tax_id=given.get("tax_id"),
                currency=draft.currency,
                draft={"surface": self.chat.surface, "draft_id": draft.draft_id, "draft": row.draft},
                document=document,
                store=service.attachment_store,
                limits=service.attachment_limits,
                surface=self.chat.surface,
                now=self.chat.now(),
            )
        except ValidationFailed as exc:
            return [Reply("Procurement needs a little more: " + "; ".join(e.message for e in exc.errors) + ".")]
        except ProcurebotError as exc:
            return [Reply(exc.message)]
        draft.supplier_request = asked.request.number
        draft.new_supplier = asked.request.name
        return [Reply(asked.message)] + self.dialogue.prompt(row, draft, person, save=True)

    def answer(self, person: Person, number: str, text: str | None) -> list[Reply]:
        try:
            row = new_suppliers.answer(
                self.chat.service.engine,
                self.chat.directory,
                number,
                actor=person.id,
                text=text or "",
                surface=self.chat.surface,
                now=self.chat.now(),
            )
        except ValidationFailed as exc:
            return [Reply("; ".join(e.message for e in exc.errors))]
        except ProcurebotError as exc:
            return [Reply(exc.message)]
        return [Reply(f"Thanks: the buyers have your answer about {row.name} ({row.number}).")]

    def resume(self, person: Person, number: str) -> list[Reply]:
        """The supplier exists now: the waiting draft takes it and shows its summary (Submit routes it).

        The one way a waiting request goes on, whether the requester taps Continue or the supplier's creation
        continues it (`ContinueWaiting`): a second time shows the summary again and changes nothing. Only the draft
        the person still has open goes on; one they sent, cancelled or let time out, or moved to another supplier,
        is never brought back from the copy kept on the request: they are told so instead."""
        directory = self.chat.directory
        if isinstance(directory, LiveDirectory):
            directory.refresh(force=True)  # the new directory version the dispatcher just installed
        try:
            req = new_suppliers.get(self.chat.service.engine, number)
        except ProcurebotError as exc:
            return [Reply(exc.message)]
        waiting = new_suppliers.waiting_draft(req, person.id)
        if waiting is None:
            return [Reply(f"There is no supplier request {number} of yours.")]
        if req.state != new_suppliers.CREATED:
            return [Reply(f"{req.name} ({req.number}) is {STATE_WORDS.get(req.state, req.state)}, not added yet.")]
        if req.supplier_id not in self.chat.directory.supplier_by_id:
            return [Reply(f"{req.name} is added but not in this server's supplier list yet; press Continue again.")]
        if not waiting.get("draft_id"):  # asked without a chat draft (the HTTP API)
            return [Reply(f"{req.name} is added as a supplier; name it in a new request.")]
        row = self.chat.load(person.id)
        draft = DraftState.model_validate(row.draft) if row.state != "idle" else None
        if draft is None:
            return [Reply(texts.supplier_added_draft_gone(req.name))]
        if draft.draft_id != waiting.get("draft_id"):
            return [Reply(texts.supplier_added_other_open(req.name))]
        if draft.supplier != req.supplier_id:  # not continued yet
            asked_for = draft.supplier is None and new_suppliers.fold(draft.new_supplier or "") == req.name_key
            if draft.supplier_request != req.number and not asked_for:
                return [Reply(texts.supplier_added_draft_changed(req.name))] + self.dialogue.prompt(row, draft, person)
            draft.supplier, draft.new_supplier, draft.unknown_supplier, draft.supplier_request = (
                req.supplier_id,
                None,
                None,
                None,
            )
            draft.supplier_choices = []
            draft.duplicate_checked = False
            row.state = "collecting"
        # the summary is drawn anew: the supplier's facts (new, not contracted) and the policy's check as they are now
        return [Reply(texts.supplier_added_going_on(req.name))] + self.dialogue.prompt(row, draft, person, save=True)

    # ------------------------------------------------------------------ the buyer
    def decide(self, person: Person, number: str, decision: new_suppliers.Decision, text: str | None) -> list[Reply]:
        try:
            row = new_suppliers.decide(
                self.chat.service.engine,
                self.chat.directory,
                number,
                actor=person.id,
                decision=decision,
                note=text,
                surface=self.chat.surface,
                now=self.chat.now(),
            )
        except ValidationFailed as exc:
            return [Reply("; ".join(e.message for e in exc.errors).capitalize() + ".")]
        except ProcurebotError as exc:
            return [Reply(exc.message)]
        said = {
            "approve": f"Approved: {row.name} is being created in the ERP; the requesters will be told.",
            "reject": f"Rejected: the requesters are told {row.name} will not be added.",
            "ask": "Asked: the requester will answer here.",
        }[decision]
        return [Reply(said, card=review_card(row, self.chat))]


class HasSuppliers(Protocol):
    """What `ContinueWaiting` needs of a surface's assistant (bot/intake/assistant.py): its supplier requests."""

    @property
    def suppliers(self) -> NewSuppliers: ...


class ContinueWaiting:
    """A `Notifier` in front of another (approvals.notices): a requester's "the supplier is added" notice first
    continues the request that waited for it (`NewSuppliers.resume`, the same code as their Continue, on the surface
    the draft was written on), then carries what that says, with the request's summary ready to submit, to that
    surface alone. A notice delivered again (a retry) continues nothing twice: `resume` shows the same summary.
    Every other notice goes through unchanged. `assistants` gives the assistant of a surface by its name."""

    def __init__(self, inner: Notifier, engine: Engine, assistants: Callable[[str], HasSuppliers]) -> None:
        self.inner = inner
        self.engine = engine
        self.assistants = assistants

    def send(self, person_id: str, notice: Notice) -> str:
        return self.inner.send(person_id, self.continued(person_id, notice))

    def continued(self, person_id: str, notice: Notice) -> Notice:
        """`notice` as the requester should get it: their continued request when it is the supplier's creation."""
        number = next((a.get("value", "") for a in notice.actions if a.get("id") == CONTINUE), None)
        if notice.kind != "supplier_created" or not number:
            return notice
        try:
            waiting = new_suppliers.waiting_draft(new_suppliers.get(self.engine, number), person_id)
        except ProcurebotError:
            return notice
        if waiting is None or not waiting.get("draft_id") or not waiting.get("surface"):
            return notice  # asked without a chat draft (the HTTP API): the notice and its Continue, as they are
        surface = str(waiting["surface"])
        chat = self.assistants(surface).suppliers
        person = chat.chat.directory.person(person_id)
        if person is None:
            return notice
        replies = chat.resume(person, number)
        card = next((r.card for r in reversed(replies) if r.card is not None), None)
        words = " ".join(r.text for r in replies if r.text)
        if card is None:  # nothing to submit: Continue stays for later while another request of theirs is open
            later = notice.actions if chat.chat.load(person_id).state != "idle" else ()
            return Notice(notice.kind, words, notice.key, actions=later, surface=surface)
        return Notice("supplier_continued", words, notice.key, surface=surface, card=card.model_dump(mode="json"))


def review_card(row: SupplierRequest, chat: Chat) -> Card:
    """A supplier request as a buyer reviews it: what was asked, by whom, and the decision buttons while open."""
    directory = chat.directory
    names = [(p.name if (p := directory.person(str(w.get("person")))) else str(w.get("person"))) for w in row.waiting]
    facts = [
        Fact(label="Supplier", value=row.name),
        Fact(label="Contact e-mail", value=row.email),
        Fact(label="Website", value=row.website),
        *([Fact(label="Tax id", value=row.tax_id)] if row.tax_id else []),
        *(
            [
                Fact(
                    label="Tax document",
                    value=f"{row.tax_document['filename']} ({megabytes(row.tax_document['size'])})",
                )
            ]
            if row.tax_document
            else []
        ),
        Fact(label="Asked by", value=", ".join(dict.fromkeys(names))),
        Fact(label="State", value=STATE_WORDS.get(row.state, row.state)),
    ]
    if row.note:
        facts.append(Fact(label="Note", value=row.note))
    actions: list[CardAction] = []
    if row.state in new_suppliers.OPEN_STATES:
        value = {"request": row.number}
        actions = [
            CardAction(id="supplier.approve", label="Approve", style="primary", value=value),
            CardAction(id="supplier.reject", label="Reject", style="danger", value=value, input_label="Why not?"),
            CardAction(id="supplier.ask", label="Ask for info", value=value, input_label="Your question"),
        ]
    return Card(
        kind="status_answer",
        title=f"New supplier {row.name} ({row.number})",
        facts=facts,
        tone="ok" if row.state == "created" else "bad" if row.state == "rejected" else "info",
        status=STATE_WORDS.get(row.state, row.state).capitalize() + ".",
        actions=actions,
    )
