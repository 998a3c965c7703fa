"""The requisition a conversation is building: what was said, what was filled in and why, what is missing.

It is stored as JSON on the conversation row, so a restart loses nothing. What the person said wins:
a value the company fills in (a catalog price, the home site, the default cost center, an assumed
quantity of one) is marked with where it came from, and a catalog price never replaces a said price
or total. `questions` lists everything still to ask, each once (empty: show the summary);
`to_requisition` turns a complete draft into the core's typed `RequisitionDraft`.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, Field
from rapidfuzz import fuzz, process

from approvals.directory import CostCenter, Directory, Person
from approvals.requisition import MAX_RELEASES, RequisitionDraft
from bot.intake import texts
from bot.intake.extract import ExtractedLine, Extraction

CENT = Decimal("0.01")
STEP = Decimal("0.0001")  # the core keeps unit prices to four decimals
ITEM_TYPES = ("stock", "non_stock", "mro", "capex", "services")
_UNIT_SYNONYMS = {
    "cs": "case",
    "cases": "case",
    "pk": "pack",
    "packs": "pack",
    "ea": "each",
    "pc": "each",
    "pcs": "each",
    "piece": "each",
    "pieces": "each",
    "bx": "box",
    "boxes": "box",
    "rolls": "roll",
    "gal": "gallon",
    "gallons": "gallon",
    "dz": "dozen",
    "mo": "month",
    "months": "month",
    "yr": "year",
    "years": "year",
}


def same_unit(a: str | None, b: str | None) -> bool:
    """ "cs" and "case" are one unit; used before a catalog price (per its own unit) may fill a line."""

    def norm(u: str) -> str:
        u = u.strip().lower()
        return _UNIT_SYNONYMS.get(u, u)

    return a is None or b is None or norm(a) == norm(b)


def unit_price_from_total(total: Decimal, quantity: Decimal) -> Decimal:
    """The four-decimal unit price whose quantity x price rounds to `total` to the cent (the core's rounding),
    so a stated total is what gets submitted; the nearest one when no four-decimal price can."""
    first = (total / quantity).quantize(STEP, ROUND_HALF_UP)
    for k in range(0, 200):
        for candidate in (first + k * STEP, first - k * STEP):
            if candidate > 0 and (quantity * candidate).quantize(CENT, ROUND_HALF_UP) == total:
                return candidate
    return first


class DraftLine(BaseModel):
    description: str
    quantity: Decimal | None = None
    quantity_source: str | None = None  # "said" | "implied" (one repair, one service): marked "assumed 1"
    unit: str | None = None
    unit_price: Decimal | None = None
    price_source: str | None = None  # "said" | "catalog" | "total" (the person's total over the quantity)
    stated_total: Decimal | None = None  # the line total the person said: it wins, and must match a said price
    estimate: bool = False
    period: str | None = None  # a recurring line: the quantity counts periods ("12 months x $980")
    conversion: str | None = None  # the same quantity in another unit, shown as information
    item_choices: list[str] = Field(default_factory=list)  # a loose catalog match: asked, never assumed
    sku: str | None = None
    category: str | None = None
    category_source: str | None = None
    # the classifier's suggestion, shown to the requester and recorded at submit beside what they confirmed
    suggestion: dict[str, Any] | None = None
    # the two or three categories the learned classifier found too close to call: asked, most likely first
    category_choices: list[str] = Field(default_factory=list)

    @property
    def total(self) -> Decimal | None:
        if self.quantity is None or self.unit_price is None:
            return None
        return (self.quantity * self.unit_price).quantize(CENT, ROUND_HALF_UP)

    @property
    def price_conflict(self) -> bool:
        """A said unit price and a said total that disagree by more than a cent: the person is asked which."""
        return (
            self.price_source == "said"
            and self.stated_total is not None
            and self.total is not None
            and abs(self.total - self.stated_total) > CENT
        )


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


class HeldFile(BaseModel):
    """A file sent in the chat while the request was being written: checked when it came, its bytes kept in the
    attachment store under `key`, attached to the requisition at Submit, discarded with the draft."""

    name: str
    content_type: str
    size: int
    sha256: str
    key: str
    source: str = ""  # the platform's id of the file, so a retried event holds it once


class DraftState(BaseModel):
    draft_id: str = ""
    lines: list[DraftLine] = Field(default_factory=list)
    supplier: str | None = None
    supplier_choices: list[str] = Field(default_factory=list)
    unknown_supplier: str | None = None
    new_supplier: str | None = None  # a supplier the person asked procurement to add: kept for the buyer
    supplier_request: str | None = None  # the request procurement got for it (SUP-7, approvals/new_suppliers.py)
    site: str | None = None
    site_source: str | None = None  # "said" | "home" | "cost_center" (the cost center's own site)
    site_choices: list[str] = Field(default_factory=list)
    cost_center: str | None = None
    cost_center_source: str | None = None  # "said" | "default"
    unknown_cost_center: str | None = None  # named, but not in the directory: named back with the nearest
    unknown_site: str | None = None  # a place named as the site that the directory lacks ("ship to reno"): asked
    corporate: bool = False  # "for all sites", "corporate IT": a corporate cost center, asked when not said
    sites_named: bool = False  # the site choices were named one by one ("Dallas to Chicago"), not as a region
    item_type: str | None = None  # "capex" when the person says so
    quoted: list[str] = Field(default_factory=list)  # instruction-like words: shown as the person's own, in quotes
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
    confirmed_total: Decimal | None = None  # the unusual total the person confirmed (a new total asks again)
    files: list[HeldFile] = Field(default_factory=list)  # sent before Submit, attached when it is submitted

    @property
    def grand_total(self) -> Decimal | None:
        totals = [ln.total for ln in self.lines]
        if not totals or any(t is None for t in totals):
            return None
        return sum(totals, Decimal(0))  # type: ignore[arg-type]

    @property
    def recurring(self) -> bool:
        return any(ln.period for ln in self.lines)


def _line(ex: ExtractedLine) -> DraftLine:
    said_price = ex.price_source != "catalog"  # a catalog price is the draft's to give, under its own rules
    return DraftLine(
        description=ex.description,
        quantity=ex.quantity,
        quantity_source=ex.quantity_source or ("said" if ex.quantity is not None else None),
        unit=ex.unit or ex.period,
        unit_price=ex.unit_price if said_price else None,
        price_source=(
            ex.price_source if (said_price and ex.unit_price is not None) or ex.price_source == "asked" else None
        ),
        stated_total=ex.total,
        estimate=ex.estimate,
        period=ex.period,
        conversion=ex.conversion,
        item_choices=list(ex.item_choices),
        sku=ex.sku,
        category=ex.category,
        category_source=ex.category_source,
        category_choices=list(ex.category_choices),
    )


def refuse_non_positive(ex: Extraction) -> list[str]:
    """Zero and negative quantities, prices and totals are never taken: each is dropped (so it is asked again)
    and named back. Returns what to tell the person."""
    said: list[str] = []
    for ln in ex.lines:
        if ln.quantity is not None and ln.quantity <= 0:
            said.append(texts.not_positive("quantity", ln.quantity))
            ln.quantity, ln.quantity_source = None, None
        if ln.unit_price is not None and ln.unit_price <= 0:
            said.append(texts.not_positive("price", ln.unit_price))
            ln.unit_price, ln.price_source = None, None
        if ln.total is not None and ln.total <= 0:
            said.append(texts.not_positive("total", ln.total))
            ln.total = None
    if ex.total is not None and ex.total <= 0:
        said.append(texts.not_positive("total", ex.total))
        ex.total = None
    if ex.unsure_price is not None and ex.unsure_price.amount <= 0:
        said.append(texts.not_positive("price", ex.unsure_price.amount))
        ex.unsure_price = None
    # the reader may have said it already ("a quantity of 0"): say it once
    return [s for s in said if not any(s.split(":")[0].lower() in p.lower() for p in ex.problems)]


LINE_FIELDS = (
    "quantity",
    "quantity_source",
    "unit",
    "unit_price",
    "price_source",
    "stated_total",
    "estimate",
    "period",
)


def merge(draft: DraftState, ex: Extraction, *, append: bool = False, line: int | None = None) -> list[str]:
    """Apply what a message said to the draft (a first message or a correction). Returns what changed.
    `line`: the line a bare number or price is about (the one asked about), else the last."""
    changed: list[str] = []
    new_lines = [ln for ln in ex.lines if ln.description]
    bare = [ln for ln in ex.lines if not ln.description]
    if new_lines:
        waiting = draft.lines and all(not d.description for d in draft.lines)
        if waiting:
            # "same as last order but 15", then "tape": the count (or price) said before the item was named
            fresh, said = [_line(ln) for ln in new_lines], draft.lines[0]
            if len(fresh) == 1 and fresh[0].quantity is None and said.quantity is not None:
                fresh[0].quantity, fresh[0].quantity_source = said.quantity, said.quantity_source
                fresh[0].unit = fresh[0].unit or said.unit
            if len(fresh) == 1 and fresh[0].unit_price is None and said.unit_price is not None:
                fresh[0].unit_price, fresh[0].price_source = said.unit_price, said.price_source
            draft.lines = fresh
        elif append or not draft.lines:
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
                    fresh = _line(ln)
                    for name in LINE_FIELDS:
                        if getattr(fresh, name) not in (None, False):
                            setattr(same, name, getattr(fresh, name))
                else:
                    draft.lines = [_line(x) for x in new_lines]
                    break
        draft.duplicate_checked = False
        changed.append("items")
    for ln in bare:
        # "make it 50" / "$30 each" with no item: it is about the line the person is looking at
        target = draft.lines[line] if line is not None and line < len(draft.lines) else None
        target = target or (draft.lines[-1] if draft.lines else None)
        if target is None:
            if ln.quantity is None and ln.unit_price is None:
                continue
            # nothing named yet: kept on a line without an item, so it is not asked again once the item is
            target = DraftLine(description="", unit=ln.unit)
            draft.lines.append(target)
        if ln.quantity is not None:
            target.quantity, target.quantity_source = ln.quantity, "said"
            changed.append("quantity")
        if ln.unit_price is not None and ln.price_source != "catalog":
            # a new price is a correction: it replaces an earlier total as well
            target.unit_price, target.price_source, target.stated_total = ln.unit_price, "said", None
            target.estimate = ln.estimate
            changed.append("price")
        if ln.total is not None:
            target.stated_total = ln.total
            if target.price_source != "said":
                target.unit_price = target.price_source = None
            changed.append("price")
    if ex.supplier:
        draft.supplier, draft.supplier_choices, draft.unknown_supplier = ex.supplier, [], None
        draft.new_supplier = None
        changed.append("supplier")
    elif ex.supplier_choices:
        draft.supplier, draft.supplier_choices, draft.unknown_supplier = None, ex.supplier_choices, None
        changed.append("supplier")
    elif ex.unknown_supplier:
        draft.supplier, draft.supplier_choices, draft.unknown_supplier = None, [], ex.unknown_supplier
        draft.new_supplier = None
        changed.append("supplier")
    if ex.site:
        draft.site, draft.site_source, draft.site_choices, draft.unknown_site = ex.site, "said", [], None
        if draft.cost_center_source != "said":
            draft.cost_center = draft.cost_center_source = None
        changed.append("site")
    elif ex.site_choices:
        draft.site, draft.site_source, draft.site_choices = None, None, ex.site_choices
        draft.sites_named = ex.sites_named
        changed.append("site")
    elif ex.unknown_site:
        draft.unknown_site = ex.unknown_site
        if draft.site_source != "said":
            draft.site = draft.site_source = None
            if draft.cost_center_source != "said":
                draft.cost_center = draft.cost_center_source = None
        changed.append("site")
    if ex.cost_center:
        draft.cost_center, draft.cost_center_source, draft.unknown_cost_center = ex.cost_center, "said", None
        if draft.site_source in ("home", "cost_center"):
            draft.site = draft.site_source = None  # the cost center's own site, filled again below
        changed.append("cost_center")
    elif ex.unknown_cost_center:
        draft.unknown_cost_center = ex.unknown_cost_center
        if draft.cost_center_source != "said":
            draft.cost_center = draft.cost_center_source = None
        changed.append("cost_center")
    if ex.corporate:
        draft.corporate = True
        if draft.site_source == "home" and draft.cost_center_source != "said":
            draft.site = draft.site_source = draft.cost_center = draft.cost_center_source = None
    if ex.item_type in ITEM_TYPES:
        draft.item_type = ex.item_type
    for words in ex.quoted:
        if words and words not in draft.quoted:
            draft.quoted.append(words)
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
    if draft.total is not None and len(draft.lines) == 1:
        # a total for the whole request with one line is that line's total
        draft.lines[0].stated_total, draft.total = draft.total, None
        if draft.lines[0].price_source != "said":
            draft.lines[0].unit_price = draft.lines[0].price_source = None
    settle_prices(draft)
    return changed


def settle_prices(draft: DraftState) -> None:
    """A stated total with a known quantity gives the unit price (so the submitted total is the said one)."""
    for line in draft.lines:
        if line.stated_total is None or not line.quantity:
            continue
        if line.unit_price is None or line.price_source in ("total", "catalog"):
            line.unit_price = unit_price_from_total(line.stated_total, line.quantity)
            line.price_source = "total"


def fill_defaults(draft: DraftState, person: Person | None, directory: Directory) -> None:
    """Fill what the company already knows: the person's own site, the site's operations cost center,
    the category a single-category supplier sells, a catalog price for an unmistakable item the person gave
    no price for. Each is marked so the summary says where it came from."""
    settle_prices(draft)
    home = person.site if person is not None else None
    center = directory.cost_center_by_code.get(draft.cost_center or "")
    if draft.site is None and not (draft.unknown_site and center is None):
        _fill_site(draft, center, home, directory)
    if draft.site and draft.cost_center is None and not draft.unknown_cost_center and not draft.corporate:
        centers = [c.code for c in directory.cost_centers if c.site == draft.site]
        preferred = f"{draft.site}-OPS"
        if len(centers) == 1 or preferred in centers:
            draft.cost_center = centers[0] if len(centers) == 1 else preferred
            draft.cost_center_source = "default"
    supplier = directory.supplier_by_id.get(draft.supplier or "")
    for line in draft.lines:
        if line.category is None and supplier is not None and len(supplier.categories) == 1:
            line.category, line.category_source = supplier.categories[0], "supplier"
        catalog_price(draft, line, directory)


def _fill_site(draft: DraftState, center: CostCenter | None, home: str | None, directory: Directory) -> None:
    """The site when the person named none, or several. A cost center's own site wins; among several sites named
    ("Phoenix to Seattle", "for Dallas and Chicago") the person's own; a corporate cost center pays for the
    whole purchase, so the site is only the core's site of record (the first named, the home site, else the
    company's first) and never asked."""
    choices = draft.site_choices
    if center is not None and center.site:
        if not choices or center.site in choices:
            draft.site, draft.site_source, draft.site_choices = center.site, "cost_center", []
        return
    if choices:
        if home in choices and draft.sites_named:
            draft.site, draft.site_source, draft.site_choices = home, "home", []
        elif center is not None:
            draft.site, draft.site_source, draft.site_choices = choices[0], "record", []
        return
    if home and (center is not None or not draft.corporate):
        draft.site, draft.site_source = home, "home"
    elif center is not None and directory.sites:
        draft.site, draft.site_source = directory.sites[0].code, "record"


def supplier_main_category(draft: DraftState, directory: Directory) -> None:
    """Without a category suggester: a line of a supplier that sells several categories takes the supplier's
    main one, marked on the summary with Change category, instead of a question people rarely can answer."""
    supplier = directory.supplier_by_id.get(draft.supplier or "")
    if supplier is None or not supplier.categories or draft.category is not None:
        return
    for line in draft.lines:
        if line.category is None and line.description and not line.category_choices:
            line.category, line.category_source = supplier.categories[0], "supplier_main"


def catalog_price(draft: DraftState, line: DraftLine, directory: Directory) -> None:
    """The catalog's price, only for a strong match (a sku, no open choice) in the catalog's own unit, and only
    when the person said no price and no total for it."""
    item = directory.item_by_sku.get(line.sku or "")
    if item is None or line.item_choices:
        return
    if line.unit is None:
        line.unit = item.unit
    said = line.unit_price is not None and line.price_source != "catalog"
    if line.price_source == "asked":
        return  # the person said two prices: they choose, the catalog never decides for them
    if said or line.stated_total is not None or draft.unsure_price is not None or draft.total is not None:
        return
    if item.unit_price is not None and same_unit(line.unit, item.unit):
        line.unit_price, line.price_source = item.unit_price, "catalog"
    elif line.price_source == "catalog":
        line.unit_price = line.price_source = None  # the unit changed: that price was for another unit


def _names(ids: list[str], directory: Directory, kind: str) -> list[Choice]:
    if kind == "supplier":
        return [Choice(label=directory.supplier_by_id[i].name, value=i) for i in ids if i in directory.supplier_by_id]
    return [
        Choice(label=f"{i} ({directory.site_by_code[i].name})", value=i) for i in ids if i in directory.site_by_code
    ]


def questions(draft: DraftState, directory: Directory) -> list[Question]:
    """Everything still to ask about the draft, each once, in the order it is asked; empty when it can be
    summarised. A question that depends on another's answer (the category a supplier sells) waits for it."""
    out: list[Question] = []
    if not draft.lines or any(not ln.description for ln in draft.lines):
        out.append(Question(field="items", text=texts.ASK_ITEMS))
        if not any(ln.description for ln in draft.lines):
            # "same as last order", "order from grainger": nothing named, so how many and how much are open too,
            # asked in the same message (a bare answer still goes to the item)
            if not any(ln.quantity for ln in draft.lines):
                out.append(Question(field="quantity", text=texts.ASK_HOW_MANY))
            if not any(ln.unit_price or ln.stated_total for ln in draft.lines) and draft.unsure_price is None:
                out.append(Question(field="price", text=texts.ASK_HOW_MUCH))
    for i, line in enumerate(draft.lines):
        if line.description and line.quantity is None:
            # a recurring line's quantity is how many periods it runs: a schedule with no end is asked for one
            ask = texts.ask_recurring_end if line.period else texts.ask_quantity
            out.append(Question(field="quantity", line=i, text=ask(line.description, line.period or line.unit)))
    for i, line in enumerate(draft.lines):
        if line.item_choices:
            out.append(item_choice_question(i, line, directory))
    unsure_line = len(draft.lines) - 1 if draft.unsure_price is not None else None
    if draft.unsure_price is not None and draft.lines:
        line = draft.lines[-1]
        p = draft.unsure_price
        out.append(
            Question(
                field="price_kind",
                line=unsure_line,
                text=texts.ask_price_kind(p.text, line.unit, line.quantity),
                choices=[
                    Choice(label=texts.price_each(p.text, line.unit), value="unit"),
                    Choice(label=texts.price_total(p.text, line.quantity), value="total"),
                ],
            )
        )
    cur = draft.currency or directory.currency
    for i, line in enumerate(draft.lines):
        if line.price_conflict:
            assert line.unit_price is not None and line.stated_total is not None and line.quantity is not None
            from_total = unit_price_from_total(line.stated_total, line.quantity)
            out.append(
                Question(
                    field="price_kind",
                    line=i,
                    text=texts.ask_price_conflict(line.description, line.unit_price, line.stated_total, cur),
                    choices=[
                        Choice(label=texts.conflict_unit(line.unit_price, line.total, line.unit, cur), value="unit"),
                        Choice(
                            label=texts.conflict_total(line.stated_total, from_total, line.unit, cur), value="total"
                        ),
                    ],
                )
            )
    for i, line in enumerate(draft.lines):
        # a total waiting for its quantity, or a price that could be either, is not asked again
        # a catalog choice still open may bring the price: asked after it, only if the person picks "other"
        waiting = line.stated_total is not None or i == unsure_line or bool(line.item_choices)
        if line.description and line.unit_price is None and not waiting:
            out.append(
                Question(field="price", line=i, text=texts.ask_price(line.description, line.unit, line.quantity))
            )
    supplier_question = _supplier_question(draft, directory)
    if supplier_question is not None:
        out.append(supplier_question)
    out.extend(_place_questions(draft, directory))
    if draft.need_by_past:
        out.append(
            Question(
                field="need_by",
                text=texts.need_by_past(draft.need_by_past),
                choices=[Choice(label=texts.NO_DATE, value="none")],
            )
        )
    if draft.confirm_category is not None and draft.lines:  # a suggestion to confirm replaces the plain question
        out.append(confirm_category_question(draft, directory))
    elif draft.supplier in directory.supplier_by_id and supplier_question is None:
        supplier = directory.supplier_by_id[draft.supplier]
        uncategorised = any(ln.category is None and ln.description for ln in draft.lines)  # an unnamed item waits
        if draft.category is None and uncategorised and len(supplier.categories) > 1:
            close = _close_categories(draft, directory, supplier.categories)
            out.append(
                Question(
                    field="category",
                    text=texts.ask_close_category(close[1]) if close else texts.ask_category(supplier.name),
                    choices=[
                        Choice(label=directory.category_by_code[c].name, value=c)
                        for c in (close[0] if close else supplier.categories)
                    ],
                )
            )
    return out


def _close_categories(draft: DraftState, directory: Directory, sold: tuple[str, ...]) -> tuple[list[str], str] | None:
    """The two or three categories the classifier could not choose between, for the first line without a category
    (only those the supplier sells), and that line's item; None when there are not two to offer."""
    for line in draft.lines:
        if line.category is None and line.category_choices:
            codes = [c for c in line.category_choices if c in sold and c in directory.category_by_code]
            return (codes[:3], line.description) if len(codes) >= 2 else None
    return None


def next_question(draft: DraftState, directory: Directory) -> Question | None:
    """The first open question (the one a bare answer goes to); None when the draft can be summarised."""
    found = questions(draft, directory)
    return found[0] if found else None


def item_choice_question(i: int, line: DraftLine, directory: Directory) -> Question:
    """ "Did you mean the Stretch wrap 18in x 1500ft (PKG-SW-18, $32.00/roll) or something else?" """
    items = [directory.item_by_sku[s] for s in line.item_choices if s in directory.item_by_sku]
    named = [texts.catalog_item(it.name, it.sku, it.unit_price, it.unit, directory.currency) for it in items]
    return Question(
        field="item_choice",
        line=i,
        text=texts.ask_item_choice(line.description, named),
        choices=[Choice(label=f"{it.name} ({it.sku})", value=it.sku) for it in items]
        + [Choice(label=texts.SOMETHING_ELSE, value="other")],
    )


def _supplier_question(draft: DraftState, directory: Directory) -> Question | None:
    if draft.supplier_choices:
        return Question(
            field="supplier",
            text=texts.ask_supplier_which(),
            choices=_names(draft.supplier_choices, directory, "supplier"),
        )
    if draft.supplier is None and draft.new_supplier:
        return None  # procurement adds it; the summary says so and Submit waits for it
    if draft.supplier is None:
        choices = _names(suggest_suppliers(draft, directory), directory, "supplier")
        if draft.unknown_supplier:
            choices.append(Choice(label=texts.ask_procurement_to_add(draft.unknown_supplier), value="new"))
        return Question(field="supplier", text=texts.ask_supplier(draft.unknown_supplier), choices=choices)
    supplier = directory.supplier_by_id.get(draft.supplier)
    if supplier is not None and supplier.blocked:
        return Question(
            field="supplier",
            text=texts.supplier_blocked(supplier.name, supplier.block_reason or ""),
            choices=_names(suggest_suppliers(draft, directory), directory, "supplier"),
        )
    return None


def corporate_centers(directory: Directory) -> list[str]:
    """Cost centers that belong to no site (CORP-IT, CORP-FAC, ...): where corporate purchases are charged."""
    return [c.code for c in directory.cost_centers if c.site is None]


def nearest_cost_centers(code: str, directory: Directory, site: str | None = None) -> list[str]:
    """The valid codes closest to a code the directory does not have ("DAL-IT" -> DAL-OPS, DAL-MAINT)."""
    codes = [c.code for c in directory.cost_centers]
    prefix = code.split("-")[0].upper()
    same_prefix = [c for c in codes if c.split("-")[0] == prefix]
    scored = process.extract(code.upper(), codes, scorer=fuzz.ratio, limit=len(codes))
    ranked = same_prefix + [c for c, _, _ in scored if c not in same_prefix]
    if site:
        ranked = [c for c in ranked if directory.cost_center_by_code[c].site in (site, None)] or ranked
    return ranked[:3]


def _place_questions(draft: DraftState, directory: Directory) -> list[Question]:
    out: list[Question] = []
    if draft.site_choices:
        out.append(
            Question(
                field="site",
                text=texts.ask_site_which(draft.site_choices, directory),
                choices=_names(draft.site_choices, directory, "site"),
            )
        )
    if draft.unknown_cost_center and draft.cost_center is None:
        near = nearest_cost_centers(draft.unknown_cost_center, directory, draft.site if draft.site_source else None)
        out.append(
            Question(
                field="cost_center",
                text=texts.unknown_cost_center(draft.unknown_cost_center, near),
                choices=_centers(near, directory),
            )
        )
        return out
    if draft.site_choices:
        return out
    if draft.unknown_site and draft.site is None:
        out.append(
            Question(
                field="site",
                text=texts.unknown_site(draft.unknown_site),
                choices=_names([s.code for s in directory.sites], directory, "site"),
            )
        )
        return out
    if draft.site is None and draft.cost_center is None:
        corp = corporate_centers(directory)
        sites = [s.code for s in directory.sites]
        out.append(
            Question(
                field="site_or_cost_center",
                text=texts.ask_site_or_cost_center(draft.corporate),
                choices=_centers(corp, directory) + ([] if draft.corporate else _names(sites, directory, "site")),
            )
        )
    elif draft.site is None:
        out.append(
            Question(
                field="site", text=texts.ASK_SITE, choices=_names([s.code for s in directory.sites], directory, "site")
            )
        )
    elif draft.cost_center is None:
        centers = [c.code for c in directory.cost_centers if c.site in (draft.site, None)]
        if draft.corporate:
            centers = [c for c in centers if directory.cost_center_by_code[c].site is None] or centers
        out.append(
            Question(
                field="cost_center", text=texts.ask_cost_center(draft.site), choices=_centers(centers, directory)[:6]
            )
        )
    return out


def _centers(codes: list[str], directory: Directory) -> list[Choice]:
    return [
        Choice(label=f"{c} ({directory.cost_center_by_code[c].name})", value=c)
        for c in codes
        if c in directory.cost_center_by_code
    ]


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


def schedule_of(draft: DraftState) -> dict[str, Any] | None:
    """A recurring draft's schedule for the core: every line runs the same whole number of the same period
    ("$980 a month for a year": 12 monthly releases, one PO each). Otherwise none: one PO for the whole, as before."""
    periods = {ln.period for ln in draft.lines}
    counts = {ln.quantity for ln in draft.lines}
    if len(periods) != 1 or len(counts) != 1:
        return None
    period, count = periods.pop(), counts.pop()
    if period not in ("week", "month", "quarter", "year") or count is None or count != count.to_integral_value():
        return None
    if not 1 <= count <= MAX_RELEASES:
        return None
    return {"period": period, "releases": int(count)}


def to_requisition(draft: DraftState, requester: str) -> RequisitionDraft:
    """The core's typed draft (validated by pydantic; the service checks references again). The person's own
    quoted words go into the justification in quotes, as theirs, never as a field an approver reads as fact."""
    justification = draft.justification
    if draft.quoted:
        justification = (justification + " " if justification else "") + texts.quoted_words(draft.quoted)
    return RequisitionDraft.model_validate(
        {
            "requester": requester,
            "site": draft.site,
            "cost_center": draft.cost_center,
            "supplier": draft.supplier,
            "currency": draft.currency or "USD",
            "urgency": draft.urgency,
            "recurring": draft.recurring,
            "schedule": schedule_of(draft),
            "need_by": draft.need_by,
            "justification": justification[:4000],
            "category": draft.category,
            "lines": [
                {
                    "description": (ln.description or "item")[:300],
                    "quantity": ln.quantity,
                    "unit_price": ln.unit_price,
                    "unit": (ln.unit or ln.period or "each")[:20],
                    "sku": ln.sku,
                    "category": ln.category,
                    **({"item_type": draft.item_type} if draft.item_type in ITEM_TYPES else {}),
                }
                for ln in draft.lines
            ],
        }
    )
