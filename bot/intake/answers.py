"""Reading a typed reply as the answer to the question the dialogue asked (quantity, price, supplier, ...).

Each reader fills the one field it was asked about and says whether the words were an answer at all;
when they were not, the dialogue reads them as a new message instead.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process

from approvals.directory import Directory
from bot.intake import intents
from bot.intake.draft import DraftLine, DraftState, Question, catalog_price, settle_prices
from bot.intake.extract import DATE, parse_date
from bot.intake.understand import Understanding

UNIT_WORDS = re.compile(r"\bunit|each|per|apiece|a piece\b", re.I)
TOTAL_WORDS = re.compile(r"\btotal|all|altogether\b", re.I)
NEW_SUPPLIER = re.compile(r"\b(?:ask procurement|add (?:it|them|the new one)|new supplier)\b", re.I)
SOMETHING_ELSE = re.compile(r"^\s*(?:something else|other|neither|none of (?:them|those)|no)\b", re.I)
BARE_PRICE = re.compile(r"[$€£]?\s?(\d[\d,]*(?:\.\d+)?)\s*(?:each|ea|per \w+|a \w+|/\w+)?", re.I)


def read_answer(
    draft: DraftState,
    field: str,
    asked: Question | None,
    text: str,
    *,
    understanding: Understanding,
    directory: Directory,
    now: datetime,
    timezone: str,
) -> bool:
    """Read `text` as the answer to the question about `field`. False when it is not one."""
    value = text.strip()
    line = (
        draft.lines[asked.line]
        if asked and asked.line is not None and asked.line < len(draft.lines)
        else (draft.lines[-1] if draft.lines else None)
    )
    if field in ("quantity", "price_kind", "price"):
        return line is not None and _line_answer(draft, line, field, value)
    if field == "item_choice":
        return line is not None and _item_choice(draft, line, value, directory)
    if field == "supplier":
        if draft.unknown_supplier and (value == "new" or NEW_SUPPLIER.search(value)):
            draft.new_supplier = draft.unknown_supplier  # kept on the request for the buyer
            return True
        ids = understanding.suppliers(value)
        if len(ids) == 1:
            draft.supplier, draft.supplier_choices, draft.unknown_supplier = ids[0], [], None
            draft.new_supplier = None
            return True
        return False
    if field == "site_or_cost_center":
        return _cost_center(draft, value, directory) or _site(draft, value, understanding)
    if field == "site":
        return _site(draft, value, understanding)
    if field == "cost_center":
        return _cost_center(draft, value, directory)
    if field == "category":
        return _category(draft, value, directory)
    if field == "need_by":
        return _need_by(draft, value, now, timezone)
    return False


def _site(draft: DraftState, value: str, understanding: Understanding) -> bool:
    codes = understanding.sites(value)
    if len(codes) != 1:
        return False
    draft.site, draft.site_source, draft.site_choices, draft.unknown_site = codes[0], "said", [], None
    if draft.cost_center_source != "said":
        draft.cost_center = draft.cost_center_source = None
    return True


def _cost_center(draft: DraftState, value: str, directory: Directory) -> bool:
    code = value.strip().upper()
    if code not in directory.cost_center_by_code:
        names = {c.name.lower(): c.code for c in directory.cost_centers}
        hit = process.extractOne(value.lower(), list(names), scorer=fuzz.ratio, score_cutoff=85)
        code = names[hit[0]] if hit else ""
    if not code:
        return False
    center = directory.cost_center_by_code[code]
    draft.cost_center, draft.cost_center_source, draft.unknown_cost_center = code, "said", None
    if center.site and draft.site != center.site and draft.site_source != "said":
        draft.site, draft.site_source = center.site, "cost_center"
    return True


def _item_choice(draft: DraftState, line: DraftLine, value: str, directory: Directory) -> bool:
    """A loose catalog match answered: the catalog item (its sku and category; its price only if none was said),
    or "something else" (the person's own description stays, with no catalog facts)."""
    if not line.item_choices:
        return False
    if value == "other" or SOMETHING_ELSE.search(value):
        line.item_choices = []
        return True
    sku = value if value in line.item_choices else None
    if sku is None:
        names = {directory.item_by_sku[s].name.lower(): s for s in line.item_choices if s in directory.item_by_sku}
        hit = process.extractOne(value.lower(), list(names), scorer=fuzz.partial_ratio, score_cutoff=80)
        sku = names[hit[0]] if hit else None
    if sku is None:
        return False
    item = directory.item_by_sku[sku]
    line.sku, line.category, line.category_source, line.item_choices = sku, item.category, "catalog", []
    catalog_price(draft, line, directory)
    return True


def _line_answer(draft: DraftState, line: DraftLine, field: str, value: str) -> bool:
    if field == "quantity":
        qty, _ = intents.quantity_fix("make it " + value.split()[0] if value else "")
        if qty is not None and qty > 0:
            line.quantity, line.quantity_source = qty, "said"
            return True
        return False
    if field == "price_kind":
        kind = "total" if TOTAL_WORDS.search(value) else ("unit" if UNIT_WORDS.search(value) else None)
        if kind is None:
            return False
        if draft.unsure_price is None:
            return _price_conflict(line, kind)
        amount = draft.unsure_price.amount
        draft.currency = draft.unsure_price.currency
        if kind == "total":
            # the total is what was said: kept, and the unit price follows from it once the quantity is known
            line.stated_total, line.unit_price, line.price_source = amount, None, None
            settle_prices(draft)
        else:
            line.unit_price, line.price_source, line.stated_total = amount, "said", None
        draft.unsure_price = None
        return True
    bare = BARE_PRICE.fullmatch(value)
    if not bare:
        return False
    try:
        price = Decimal(bare.group(1).replace(",", ""))
    except InvalidOperation:
        return False
    if price <= 0:
        return False
    line.unit_price, line.price_source, line.stated_total = price, "said", None
    if value.startswith("\u20ac"):
        draft.currency = "EUR"
    return True


def _price_conflict(line: DraftLine, kind: str) -> bool:
    if not line.price_conflict:
        return False
    if kind == "unit":
        line.stated_total = None
    else:
        line.unit_price, line.price_source = None, None
    return True


def _category(draft: DraftState, value: str, directory: Directory) -> bool:
    code = value.lower()
    if code not in directory.category_by_code:
        names = {c.name.lower(): c.code for c in directory.categories}
        hit = process.extractOne(code, list(names), scorer=fuzz.partial_ratio, score_cutoff=80)
        code = names[hit[0]] if hit else ""
    if not code:
        return False
    confirming = draft.confirm_category is not None
    draft.category, draft.confirm_category = code, None
    for ln in draft.lines:
        if ln.category is None or (
            confirming and ln.category_source in ("keyword", "model", "llm", "said", "supplier_main")
        ):
            ln.category, ln.category_source = code, "said"
    return True


def _need_by(draft: DraftState, value: str, now: datetime, timezone: str) -> bool:
    if intents.NO_DATE.match(value):
        draft.need_by, draft.need_by_past, draft.no_need_by = None, None, True
        return True
    m = DATE.search(value.lower())
    when = parse_date(m.group("d"), now=now, timezone=timezone) if m else None
    if m is None or when is None:
        return False
    if when >= now.astimezone(ZoneInfo(timezone)).date():
        draft.need_by, draft.need_by_past = when, None
    else:
        draft.need_by_past = m.group("d")
    return True
