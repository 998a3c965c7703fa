"""Building cards (bot/cards/model.py) from the core's read models and the conversation's drafts.

A requisition card depends on who looks at it: the approver it waits on gets Approve / Reject / Ask;
the requester asked a question gets Answer; everyone else gets the status. Every copy is rebuilt from
`service.view(number)` after a change.
"""

from __future__ import annotations

from datetime import datetime

from approvals import chain, states
from approvals.attachments import megabytes
from approvals.clock import as_utc
from approvals.directory import Directory
from approvals.models import Delegation
from approvals.states import StepState
from approvals.views import RequisitionView
from bot.cards.model import Card, CardAction, CardField, CardFile, Fact
from bot.intake import checks, schedules, texts
from bot.intake.draft import DraftLine, DraftState, schedule_of

FINAL = {
    "approved": "ok",
    "po_pending": "ok",
    "po_created": "ok",
    "rejected": "bad",
    "withdrawn": "warn",
    "stopped": "bad",
}


def _when(at: datetime | None) -> str:
    at = as_utc(at)
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else ""


def _line_text(
    description: str, quantity: object, unit: str | None, price: object, total: object, currency: str
) -> str:
    unit_word = f" {unit}" if unit and unit != "each" else ""
    return (
        f"{texts.qty(quantity)}{unit_word} \u00d7 {description or 'item'} @ "  # type: ignore[arg-type]
        f"{texts.money(price, currency)} = {texts.money(total, currency)}"
    )  # type: ignore[arg-type]


def _marks(line: DraftLine) -> str:
    """Where a value came from when it was not the person's words, so they can see it and change it."""
    marks = []
    if line.quantity_source == "implied":
        marks.append(texts.MARK_ASSUMED)
    if line.price_source == "catalog":
        marks.append(texts.MARK_CATALOG)
    elif line.price_source == "total":
        marks.append(texts.MARK_TOTAL)
    if line.estimate:
        marks.append(texts.MARK_ESTIMATE)
    if line.conversion:
        marks.append(line.conversion)
    return f" ({', '.join(marks)})" if marks else ""


def _summary_line(line: DraftLine, currency: str) -> str:
    if line.period and line.quantity is not None:
        text = texts.recurring_line(
            line.description or "item",
            texts.qty(line.quantity),
            line.period,
            texts.amount(line.unit_price, currency),
            texts.amount(line.total, currency),
        )
    else:
        text = _line_text(line.description, line.quantity, line.unit, line.unit_price, line.total, currency)
    return text + _marks(line)


def summary_card(
    draft: DraftState,
    directory: Directory,
    duplicate: RequisitionView | None = None,
    *,
    stop: str | None = None,
    budget: str | None = None,
) -> Card:
    """The request as understood, before anything is submitted: Submit / Edit / Cancel. Every value that did
    not come from the person's words is marked; an unusual amount, a policy stop, a duplicate are shown here."""
    cur = draft.currency or directory.currency
    supplier = directory.supplier_by_id.get(draft.supplier or "")
    lines = [_summary_line(ln, cur) for ln in draft.lines]
    site = directory.site_by_code.get(draft.site or "")
    site_mark = {"home": texts.MARK_HOME, "cost_center": texts.MARK_CC_SITE, "record": texts.MARK_RECORD_SITE}.get(
        draft.site_source or ""
    )
    if supplier is not None:
        supplier_text = supplier.name
    elif draft.new_supplier:
        supplier_text = texts.new_supplier_fact(draft.new_supplier)
    else:
        supplier_text = "?"
    facts = [
        Fact(label="Total", value=texts.money(draft.grand_total, cur)),
        Fact(label="Supplier", value=supplier_text),
        Fact(
            label="Site",
            value=(f"{site.code} ({site.name})" if site else "?") + (f" \u2014 {site_mark}" if site_mark else ""),
        ),
        Fact(
            label="Cost center",
            value=(draft.cost_center or "?")
            + (f" \u2014 {texts.MARK_DEFAULT_CC}" if draft.cost_center_source == "default" else ""),
        ),
    ]
    schedule = schedule_of(draft)
    if schedule is not None and draft.grand_total is not None:  # a recurring purchase: one PO per release
        each = texts.money(draft.grand_total / schedule["releases"], cur)
        facts.insert(1, Fact(label="Releases", value=texts.releases(schedule["period"], schedule["releases"], each)))
    categories = sorted(
        {ln.category for ln in draft.lines if ln.category} | ({draft.category} if draft.category else set())
    )
    suggested = any(ln.category_source in ("llm", "model", "supplier_main") for ln in draft.lines)
    if categories:
        facts.append(
            Fact(
                label="Category",
                value=", ".join(
                    directory.category_by_code[c].name for c in categories if c in directory.category_by_code
                )
                + (
                    texts.SUPPLIER_MAIN_CATEGORY
                    if any(ln.category_source == "supplier_main" for ln in draft.lines)
                    else texts.SUGGESTED_CATEGORY
                    if suggested
                    else ""
                ),
            )
        )
    if draft.item_type:
        facts.append(Fact(label="Item type", value=draft.item_type.replace("_", " ")))
    if budget:
        facts.append(Fact(label="Budget", value=budget))
    if draft.need_by:
        facts.append(Fact(label="Need by", value=draft.need_by.strftime("%a %b %d, %Y")))
    if draft.urgency != "standard":
        facts.append(Fact(label="Urgency", value=draft.urgency))
    if draft.justification:
        facts.append(Fact(label="Why", value=draft.justification))
    if draft.quoted:
        facts.append(Fact(label=texts.QUOTED_LABEL, value="; ".join(f"\u201c{w}\u201d" for w in draft.quoted)))
    exceptions = []
    flags = checks.amount_flags(draft, directory)
    confirm = bool(flags) and draft.confirmed_total != draft.grand_total
    exceptions.extend(flags if confirm else [])
    empty = checks.nothing_to_pay(draft)
    if empty:
        exceptions.append(texts.NOTHING_TO_PAY)
    if stop:
        exceptions.append(texts.policy_stop(stop))
    if supplier is not None and (not supplier.contracted or supplier.contract_status in ("expired", "none")):
        exceptions.append(f"{supplier.name} has no active contract (risk: {supplier.risk_tier}).")
    if supplier is None and draft.new_supplier:
        exceptions.append(
            texts.new_supplier_asked(draft.new_supplier, draft.supplier_request)
            if draft.supplier_request
            else texts.new_supplier_first(draft.new_supplier)
        )
    if duplicate is not None:
        exceptions.append(
            texts.duplicate_warning(duplicate.number, duplicate.title, duplicate.requester_name, duplicate.state)
        )
    key = {"draft_id": draft.draft_id}
    if supplier is None or empty or stop:
        # nothing that could be submitted, or the policy would stop it (a number spent on nothing): Edit or Cancel
        first: list[CardAction] = []
    elif confirm:
        first = [CardAction(id="confirm_amount", label=texts.AMOUNT_IS_RIGHT, style="primary", value=key)]
    else:
        first = [CardAction(id="submit", label="Submit", style="primary", value=key)]
    return Card(
        kind="requisition_summary",
        title="Ready to submit?",
        facts=facts,
        lines=lines,
        exceptions=exceptions,
        tone="warn" if (duplicate or confirm or stop or empty or supplier is None) else "info",
        status="Not submitted yet. Nothing happens until you tap Submit.",
        # files sent while writing it: listed, kept, attached at Submit (no download: there is no requisition yet)
        attachments=[CardFile(id=0, filename=f.name, note=texts.held_note(megabytes(f.size))) for f in draft.files],
        actions=[
            *first,
            *(
                [ask_supplier_action(draft)]
                if supplier is None and draft.new_supplier and not draft.supplier_request
                else []
            ),
            CardAction(id="edit", label="Edit", value=key),
            *([CardAction(id="change_category", label="Change category", value=key)] if suggested else []),
            CardAction(id="cancel", label="Cancel", style="danger", value=key),
        ],
    )


def ask_supplier_action(draft: DraftState) -> CardAction:
    """The "Ask procurement to add it" action: a small form of what a buyer needs to add the supplier."""
    return CardAction(
        id="supplier.request",
        label=texts.ASK_PROCUREMENT,
        style="primary",
        value={"draft_id": draft.draft_id, "name": draft.new_supplier or ""},
        fields=[
            CardField(name="name", label=texts.SUPPLIER_NAME, value=draft.new_supplier or ""),
            CardField(name="email", label=texts.SUPPLIER_EMAIL, kind="email"),
            CardField(name="website", label=texts.SUPPLIER_WEBSITE, kind="url"),
            CardField(name="tax_id", label=texts.SUPPLIER_TAX_ID, required=False),
            CardField(name="tax_document", label=texts.SUPPLIER_TAX_DOCUMENT, kind="file", required=False),
        ],
    )


def question_card(text: str, field: str, choices: list[tuple[str, str]]) -> Card:
    return Card(
        kind="question",
        title=text,
        actions=[
            CardAction(id="choose", label=label, value={"field": field, "value": value}) for label, value in choices
        ],
    )


def _status_line(view: RequisitionView, directory: Directory, erp_line: str | None = None) -> str:
    names = ", ".join(_name(directory, p) for p in view.waiting_on)
    stage = next((s.stage_name for s in view.steps if s.state == StepState.PENDING), "")
    last = view.decisions[-1] if view.decisions else None
    by = (
        f" by {last.actor_name}"
        + (f" for {_name(directory, last.on_behalf_of)}" if last and last.on_behalf_of else "")
        + f" at {_when(last.at)}"
        if last
        else ""
    )
    match view.state:
        case "pending_approval":
            # a stage of groups says what it still needs ("one of: Sofia Alvarez or Lucy Chen"), not everyone asked
            later = "".join(f" Provisionally: {line}." for line in view.provisional)
            return f"Waiting on {view.still_needed or names} ({stage}).{later}"
        case "needs_info":
            info = next((i for i in reversed(view.info_requests) if i.state == "open"), None)
            asked = _name(directory, info.asked_by) if info else "a question"
            return f"Waiting on {view.requester_name} to answer {asked}."
        case "approved" | "po_pending" | "po_created":
            ok = next((d for d in reversed(view.decisions) if d.action in ("approve", "auto_approve")), None)
            text = (
                "Approved automatically by policy."
                if ok is None or ok.action == "auto_approve"
                else f"Approved by {ok.actor_name}"
                + (f" for {_name(directory, ok.on_behalf_of)}" if ok.on_behalf_of else "")
                + f" at {_when(ok.at)}."
            )
            if erp_line and view.state != "approved":  # what the ERP side knows beats the generic words
                return f"{text} {erp_line}"
            return (
                text
                + {
                    "approved": "",
                    "po_pending": " The purchase order is being created in the ERP.",
                    "po_created": " The purchase order exists in the ERP.",
                }[view.state]
            )
        case "rejected":
            return f"Rejected{by}: {last.comment if last else ''}"
        case "withdrawn":
            return f"Withdrawn{by}."
        case "stopped":
            return f"Stopped by policy: {view.stop_reason}"
        case "draft":
            return "Saved as a draft."
    return states.label(view.state).capitalize() + "."


def _category_name(directory: Directory, code: str) -> str:
    """A category as people read it ("Capital equipment"), its code only when the directory no longer has it."""
    found = directory.category_by_code.get(code)
    return found.name if found else code


def _name(directory: Directory, person: str | None) -> str:
    p = directory.person(person or "")
    return p.name if p else (person or "")


def requisition_card(
    view: RequisitionView, viewer: str, directory: Directory, erp_line: str | None = None, summary: str | None = None
) -> Card:
    """The requisition as `viewer` should see it now, with the actions they may take (and its PO, if known).
    `summary`, the "what is unusual" note, is shown to the approver it waits on, first among the exceptions."""
    supplier = directory.supplier_by_id.get(view.supplier)
    facts = [
        Fact(label="Requested by", value=view.requester_name),
        Fact(
            label="Total",
            value=texts.money(view.total, view.currency)
            + (f" ({texts.money(view.amount, view.policy_currency)})" if view.currency != view.policy_currency else ""),
        ),
        Fact(label="Supplier", value=view.supplier_name),
        Fact(label="Site / cost center", value=f"{view.site} / {view.cost_center}"),
        Fact(label="Category", value=f"{_category_name(directory, view.category)}, {view.item_type.replace('_', ' ')}"),
    ]
    if view.need_by:
        facts.append(Fact(label="Need by", value=view.need_by.strftime("%a %b %d, %Y")))
    if view.urgency != "standard":
        facts.append(Fact(label="Urgency", value=view.urgency))
    if view.justification:
        facts.append(Fact(label="Why", value=view.justification))
    lines = [
        _line_text(ln.description, ln.quantity, ln.unit, ln.unit_price, ln.total, view.currency) for ln in view.lines
    ]
    exceptions = []
    if view.stop_reason:
        exceptions.append(view.stop_reason)
    if supplier is not None and supplier.risk_tier == "high":
        exceptions.append(
            f"{supplier.name} is a high-risk supplier" + ("" if supplier.contracted else " with no contract") + "."
        )
    elif supplier is not None and supplier.contract_status in ("expired", "expiring"):
        exceptions.append(f"{supplier.name}'s contract is {supplier.contract_status}.")
    if view.urgency == "emergency":
        exceptions.append("Marked as an emergency.")
    for info in view.info_requests:
        exceptions.append(
            f"{_name(directory, info.asked_by)} asked: {info.question}"
            + (f" \u2014 {view.requester_name} answered: {info.answer}" if info.answer else "")
        )
    mine = [s for s in view.steps if s.state == StepState.PENDING and s.acting == viewer]
    base_key = f"{view.number}:{view.round}:{len(view.decisions)}:{viewer}"
    actions: list[CardAction] = []
    why_you = None
    kind = "status_answer"
    if view.state == "pending_approval" and mine and viewer != view.requester:
        kind = "approval_request"
        step = mine[0]
        why_you = step.explanation + (f" (you act for {step.approver_name})" if step.approver != viewer else "")
        if summary:
            exceptions.insert(0, texts.unusual(summary))
        value = {"number": view.number}
        actions = [
            CardAction(id="approve", label="Approve", style="primary", value={**value, "key": base_key + ":a"}),
            CardAction(
                id="reject",
                label="Reject",
                style="danger",
                value={**value, "key": base_key + ":r"},
                input_label="Reason (required)",
            ),
            CardAction(
                id="request_info",
                label="Ask for info",
                value={**value, "key": base_key + ":q"},
                input_label="Your question",
            ),
        ]
    elif view.state == "needs_info" and viewer == view.requester:
        kind = "info_request"
        actions = [
            CardAction(
                id="answer_info",
                label="Answer",
                style="primary",
                value={"number": view.number, "key": base_key + ":ans"},
                input_label="Your answer",
            )
        ]
    elif view.state in FINAL:
        kind = "decision_result"
    if viewer == view.requester and view.state in ("pending_approval", "needs_info", "draft", "approved"):
        actions.append(
            CardAction(
                id="withdraw", label="Withdraw", style="danger", value={"number": view.number, "key": base_key + ":w"}
            )
        )
    if view.state != "draft":
        # anyone shown the card may see the requisition, so anyone may comment (the core checks again)
        actions.append(
            CardAction(
                id="comment",
                label="Comment",
                value={"number": view.number, "key": base_key + ":c"},
                input_label="Your comment (@name tells that person)",
            )
        )
    if view.schedule is not None:  # a recurring requisition: its releases, and Pause/Resume/End for who may
        facts.append(Fact(label="Releases", value=view.schedule))
        actions.extend(schedules.actions(view, viewer, directory, base_key))
    tone = FINAL.get(view.state, "warn" if view.state == "needs_info" else "info")
    return Card(
        kind=kind,
        title=f"{view.number}: {view.title}",
        number=view.number,
        facts=facts,  # type: ignore[arg-type]
        lines=lines,
        why_you=why_you,
        chain=_chain(view, directory),
        comments=_comments(view),
        attachments=_files(view),
        can_attach=view.state != "draft",
        exceptions=exceptions,
        status=_status_line(view, directory, erp_line),
        tone=tone,
        actions=actions,
    )  # type: ignore[arg-type]


SHOWN_COMMENTS = 3  # the card shows the newest few; the console and the API have them all
COMMENT_CHARS = 280


def _comments(view: RequisitionView) -> list[str]:
    """The newest comments as card lines, with how many earlier ones there are."""
    shown = view.comments[-SHOWN_COMMENTS:]
    out = [texts.earlier_comments(len(view.comments) - len(shown))] if len(view.comments) > len(shown) else []
    for c in shown:
        words = " ".join(c.text.split())
        if len(words) > COMMENT_CHARS:
            words = words[: COMMENT_CHARS - 1].rstrip() + "\u2026"
        out.append(f"{c.author_name} at {c.at.strftime('%Y-%m-%d %H:%M UTC')}: {words}")
    return out


def _files(view: RequisitionView) -> list[CardFile]:
    """The files the requisition carries, each with its size and who attached it."""
    return [
        CardFile(id=a.id, filename=a.filename, note=texts.file_note(megabytes(a.size), a.uploaded_by_name))
        for a in view.attachments
    ]


def _chain(view: RequisitionView, directory: Directory) -> list[str]:
    """The approval chain's lines (approvals/chain.py), with the directory's names for everyone on it."""
    people = {p for s in view.steps for p in (s.acting, s.decided_by, s.on_behalf_of) if p}
    people.update(p for told in view.informed for p in told)
    return chain.lines(chain.stages(view, view.informed, {p: _name(directory, p) for p in people}))


def queue_card(title: str, views: list[RequisitionView], directory: Directory, empty: str) -> Card:
    """A short list (an approver's queue, a requester's requests); each row opens the full card."""
    facts = [
        Fact(
            label=v.number,
            value=f"{v.title} \u2014 {texts.money(v.total, v.currency)} \u2014 " + _status_line(v, directory),
        )
        for v in views[:10]
    ]
    more = f" ({len(views) - 10} more not shown)" if len(views) > 10 else ""
    return Card(
        kind="queue",
        title=title,
        facts=facts,
        status=(f"{len(views)} in all{more}." if views else empty),
        actions=[CardAction(id="status", label=f"Open {v.number}", value={"number": v.number}) for v in views[:10]],
    )


def delegation_card(row: Delegation, directory: Directory, start: str, end: str) -> Card:
    return Card(
        kind="delegation_confirmation",
        title="Delegation set",
        tone="ok",
        facts=[
            Fact(label="Approves for you", value=_name(directory, row.delegate)),
            Fact(label="From", value=start),
            Fact(label="Until", value=end),
        ],
        status=texts.delegation_set(_name(directory, row.delegate), start, end),
        actions=[
            CardAction(
                id="cancel_delegation", label="Cancel delegation", style="danger", value={"delegation_id": str(row.id)}
            )
        ],
    )
