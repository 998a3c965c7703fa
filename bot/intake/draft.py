"""The requisition a conversation is building: what was said, what was filled in and why, what is missing.

It is stored as JSON on the conversation row, so a restart loses nothing. `next_question`
decides the one thing to ask next (or None: show the summary); `to_requisition` turns a
complete draft into the core's typed `RequisitionDraft`.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, Field

from approvals.directory import Directory, Person
from approvals.requisition import RequisitionDraft
from bot.intake import texts
from bot.intake.extract import ExtractedLine, Extraction

CENT = Decimal("0.01")


class DraftLine(BaseModel):
    description: str
    quantity: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None
    price_source: str | None = None
    sku: str | None = None
    category: str | None = None
    category_source: str | None = None
    # the classifier's suggestion, shown to the requester and recorded at submit beside what they confirmed
    suggestion: dict[str, Any] | None = None

    @property
    def total(self) -> Decimal | None:
        if self.quantity is None or self.unit_price is None:
            return None
        return (self.quantity * self.unit_price).quantize(CENT, ROUND_HALF_UP)


class UnsurePrice(BaseModel):
    amount: Decimal
    currency: str
    text: str


class Choice(BaseModel):
    label: str
    value: str


class Question(BaseModel):
    field: str
    text: str
    choices: list[Choice] = Field(default_factory=list)
    line: int | None = None


class DraftState(BaseModel):
    draft_id: str = ""
    lines: list[DraftLine] = Field(default_factory=list)
    supplier: str | None = None
    supplier_choices: list[str] = Field(default_factory=list)
    unknown_supplier: str | None = None
    site: str | None = None
    site_source: str | None = None  # "said" | "home"
    site_choices: list[str] = Field(default_factory=list)
    cost_center: str | None = None
    cost_center_source: str | None = None  # "said" | "default"
    currency: str | None = None
    total: Decimal | None = None
    unsure_price: UnsurePrice | None = None
    need_by: date | None = None
    need_by_past: str | None = None
    no_need_by: bool = False
    urgency: str = "standard"
    justification: str = ""
    category: str | None = None  # chosen by the person when the items did not say
    duplicate_of: str | None = None
    duplicate_checked: bool = False
    confirm_category: str | None = None  # a suggested category code the requester is asked to confirm

    @property
    def grand_total(self) -> Decimal | None:
        totals = [ln.total for ln in self.lines]
        if not totals or any(t is None for t in totals):
            return None
        return sum(totals, Decimal(0))  # type: ignore[arg-type]


def _line(ex: ExtractedLine) -> DraftLine:
    return DraftLine(
        description=ex.description,
        quantity=ex.quantity,
        unit=ex.unit,
        unit_price=ex.unit_price,
        price_source=ex.price_source,
        sku=ex.sku,
        category=ex.category,
        category_source=ex.category_source,
    )


def merge(draft: DraftState, ex: Extraction, *, append: bool = False) -> list[str]:
    """Apply what a message said to the draft (a first message or a correction). Returns what changed."""
    changed: list[str] = []
    new_lines = [ln for ln in ex.lines if ln.description]
    bare = [ln for ln in ex.lines if not ln.description]
    if new_lines:
        if append or not draft.lines:
            draft.lines.extend(_line(ln) for ln in new_lines)
        else:
            for ln in new_lines:
                same = next(
                    (
                        d
                        for d in draft.lines
                        if (ln.sku and d.sku == ln.sku) or d.description.lower() == ln.description.lower()
                    ),
                    None,
                )
                if same is not None:
                    for name in ("quantity", "unit", "unit_price", "price_source"):
                        if getattr(ln, name) is not None:
                            setattr(same, name, getattr(ln, name))
                else:
                    draft.lines = [_line(x) for x in new_lines]
                    break
        draft.duplicate_checked = False
        changed.append("items")
    for ln in bare:
        # "make it 50" / "$30 each" with no item: it is about the line the person is looking at
        target = draft.lines[-1] if draft.lines else None
        if target is None:
            continue
        if ln.quantity is not None:
            target.quantity = ln.quantity
            changed.append("quantity")
        if ln.unit_price is not None:
            target.unit_price, target.price_source = ln.unit_price, "said"
            changed.append("price")
    if ex.supplier:
        draft.supplier, draft.supplier_choices, draft.unknown_supplier = ex.supplier, [], None
        changed.append("supplier")
    elif ex.supplier_choices:
        draft.supplier, draft.supplier_choices, draft.unknown_supplier = None, ex.supplier_choices, None
        changed.append("supplier")
    elif ex.unknown_supplier:
        draft.supplier, draft.supplier_choices, draft.unknown_supplier = None, [], ex.unknown_supplier
        changed.append("supplier")
    if ex.site:
        draft.site, draft.site_source, draft.site_choices = ex.site, "said", []
        if draft.cost_center_source != "said":
            draft.cost_center = draft.cost_center_source = None
        changed.append("site")
    elif ex.site_choices:
        draft.site, draft.site_source, draft.site_choices = None, None, ex.site_choices
        changed.append("site")
    if ex.cost_center:
        draft.cost_center, draft.cost_center_source = ex.cost_center, "said"
        changed.append("cost_center")
    if ex.currency:
        draft.currency = ex.currency
    if ex.total is not None:
        draft.total = ex.total
        changed.append("price")
    if ex.unsure_price is not None:
        draft.unsure_price = UnsurePrice(
            amount=ex.unsure_price.amount, currency=ex.unsure_price.currency, text=ex.unsure_price.text
        )
        changed.append("price")
    if ex.need_by is not None:
        draft.need_by, draft.need_by_past, draft.no_need_by = ex.need_by, None, False
        changed.append("need_by")
    elif ex.need_by_past:
        draft.need_by, draft.need_by_past = None, ex.need_by_text
        changed.append("need_by")
    if ex.urgency:
        draft.urgency = ex.urgency
        changed.append("urgency")
    if ex.justification:
        draft.justification = ex.justification
        changed.append("justification")
    if draft.total is not None and len(draft.lines) == 1 and draft.lines[0].quantity:
        line = draft.lines[0]
        line.unit_price, line.price_source = (draft.total / line.quantity).quantize(Decimal("0.0001")), "total"
        draft.total = None
    return changed


def fill_defaults(draft: DraftState, person: Person | None, directory: Directory) -> None:
    """Fill what the company already knows: the person's own site, the site's operations cost center,
    the category a single-category supplier sells. Each is marked so the summary says where it came from."""
    if draft.site is None and not draft.site_choices and person is not None and person.site:
        draft.site, draft.site_source = person.site, "home"
    if draft.site and draft.cost_center is None:
        centers = [c.code for c in directory.cost_centers if c.site == draft.site]
        preferred = f"{draft.site}-OPS"
        if len(centers) == 1 or preferred in centers:
            draft.cost_center = centers[0] if len(centers) == 1 else preferred
            draft.cost_center_source = "default"
    supplier = directory.supplier_by_id.get(draft.supplier or "")
    for line in draft.lines:
        if line.category is None and supplier is not None and len(supplier.categories) == 1:
            line.category, line.category_source = supplier.categories[0], "supplier"
        if line.unit_price is None and line.sku and not draft.unsure_price:
            item = directory.item_by_sku[line.sku]
            if item.unit_price is not None and line.unit in (None, item.unit):
                line.unit_price, line.price_source = item.unit_price, "catalog"
        if line.unit is None and line.sku:
            line.unit = directory.item_by_sku[line.sku].unit


def _names(ids: list[str], directory: Directory, kind: str) -> list[Choice]:
    if kind == "supplier":
        return [Choice(label=directory.supplier_by_id[i].name, value=i) for i in ids if i in directory.supplier_by_id]
    return [
        Choice(label=f"{i} ({directory.site_by_code[i].name})", value=i) for i in ids if i in directory.site_by_code
    ]


def questions(draft: DraftState, directory: Directory) -> list[Question]:
    """Everything still to ask about the draft, in the order it is asked; empty when it can be summarised."""
    question = next_question(draft, directory)
    return [] if question is None else [question]


def next_question(draft: DraftState, directory: Directory) -> Question | None:
    """The one thing to ask next, with buttons when there are few answers; None when it can be summarised."""
    if not draft.lines:
        return Question(field="items", text=texts.ASK_ITEMS)
    for i, line in enumerate(draft.lines):
        if not line.description:
            return Question(field="items", text=texts.ASK_ITEMS)
        if line.quantity is None:
            return Question(field="quantity", line=i, text=texts.ask_quantity(line.description, line.unit))
    if draft.unsure_price is not None:
        line = draft.lines[-1]
        p = draft.unsure_price
        return Question(
            field="price_kind",
            line=len(draft.lines) - 1,
            text=texts.ask_price_kind(p.text, line.unit, line.quantity),
            choices=[
                Choice(label=texts.price_each(p.text, line.unit), value="unit"),
                Choice(label=texts.price_total(p.text, line.quantity), value="total"),
            ],
        )
    for i, line in enumerate(draft.lines):
        if line.unit_price is None:
            return Question(field="price", line=i, text=texts.ask_price(line.description, line.unit, line.quantity))
    if draft.supplier_choices:
        return Question(
            field="supplier",
            text=texts.ask_supplier_which(),
            choices=_names(draft.supplier_choices, directory, "supplier"),
        )
    if draft.supplier is None:
        return Question(
            field="supplier",
            text=texts.ask_supplier(draft.unknown_supplier),
            choices=_names(suggest_suppliers(draft, directory), directory, "supplier"),
        )
    if directory.supplier_by_id[draft.supplier].blocked:
        s = directory.supplier_by_id[draft.supplier]
        return Question(
            field="supplier",
            text=texts.supplier_blocked(s.name, s.block_reason or ""),
            choices=_names(suggest_suppliers(draft, directory), directory, "supplier"),
        )
    if draft.site_choices:
        return Question(
            field="site",
            text=texts.ask_site_which(draft.site_choices, directory),
            choices=_names(draft.site_choices, directory, "site"),
        )
    if draft.site is None:
        return Question(
            field="site", text=texts.ASK_SITE, choices=_names([s.code for s in directory.sites], directory, "site")
        )
    if draft.cost_center is None:
        centers = [c for c in directory.cost_centers if c.site in (draft.site, None)]
        return Question(
            field="cost_center",
            text=texts.ask_cost_center(draft.site),
            choices=[Choice(label=f"{c.code} ({c.name})", value=c.code) for c in centers][:6],
        )
    if draft.need_by_past:
        return Question(
            field="need_by",
            text=texts.need_by_past(draft.need_by_past),
            choices=[Choice(label=texts.NO_DATE, value="none")],
        )
    if draft.confirm_category is not None:  # a suggestion to confirm replaces the plain category question
        return confirm_category_question(draft, directory)
    supplier = directory.supplier_by_id[draft.supplier]
    if draft.category is None and any(ln.category is None for ln in draft.lines) and len(supplier.categories) > 1:
        return Question(
            field="category",
            text=texts.ask_category(supplier.name),
            choices=[Choice(label=directory.category_by_code[c].name, value=c) for c in supplier.categories],
        )
    return None


def confirm_category_question(draft: DraftState, directory: Directory) -> Question:
    """ "Please confirm the category": the suggestion first, then the others this supplier sells (or all)."""
    supplier = directory.supplier_by_id.get(draft.supplier or "")
    codes = list(supplier.categories) if supplier and supplier.categories else [c.code for c in directory.categories]
    suggested = draft.confirm_category if draft.confirm_category in directory.category_by_code else None
    ordered = ([suggested] if suggested else []) + [c for c in codes if c != suggested]
    item = next((ln.description for ln in draft.lines if ln.suggestion), draft.lines[0].description)
    name = directory.category_by_code[suggested].name if suggested else None
    return Question(
        field="category",
        text=texts.confirm_category(item, name),
        choices=[Choice(label=directory.category_by_code[c].name, value=c) for c in ordered[:8]],
    )


def suggest_suppliers(draft: DraftState, directory: Directory) -> list[str]:
    """Suppliers worth offering as buttons: the catalog's for these items, then those selling the category."""
    out: list[str] = []
    for line in draft.lines:
        item = directory.item_by_sku.get(line.sku or "")
        if item and item.supplier and item.supplier not in out:
            out.append(item.supplier)
    categories = {ln.category for ln in draft.lines if ln.category}
    for s in directory.suppliers:
        if not s.blocked and s.id not in out and categories & set(s.categories):
            out.append(s.id)
    return out[:4]


def to_requisition(draft: DraftState, requester: str) -> RequisitionDraft:
    """The core's typed draft (validated by pydantic; the service checks references again)."""
    return RequisitionDraft.model_validate(
        {
            "requester": requester,
            "site": draft.site,
            "cost_center": draft.cost_center,
            "supplier": draft.supplier,
            "currency": draft.currency or "USD",
            "urgency": draft.urgency,
            "need_by": draft.need_by,
            "justification": draft.justification,
            "category": draft.category,
            "lines": [
                {
                    "description": (ln.description or "item")[:300],
                    "quantity": ln.quantity,
                    "unit_price": ln.unit_price,
                    "unit": (ln.unit or "each")[:20],
                    "sku": ln.sku,
                    "category": ln.category,
                }
                for ln in draft.lines
            ],
        }
    )
