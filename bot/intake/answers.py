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
from bot.intake.draft import DraftLine, DraftState, Question
from bot.intake.extract import DATE, parse_date
from bot.intake.understand import Understanding

UNIT_WORDS = re.compile(r"\bunit|each|per|apiece|a piece\b", re.I)
TOTAL_WORDS = re.compile(r"\btotal|all|altogether\b", re.I)
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
    if field == "supplier":
        ids = understanding.suppliers(value)
        if len(ids) == 1:
            draft.supplier, draft.supplier_choices, draft.unknown_supplier = ids[0], [], None
            return True
        return False
    if field == "site":
        codes = understanding.sites(value)
        if len(codes) == 1:
            draft.site, draft.site_source, draft.site_choices = codes[0], "said", []
            if draft.cost_center_source != "said":
                draft.cost_center = draft.cost_center_source = None
            return True
        return False
    if field == "cost_center":
        code = value.upper()
        if code in directory.cost_center_by_code:
            draft.cost_center, draft.cost_center_source = code, "said"
            return True
        return False
    if field == "category":
        return _category(draft, value, directory)
    if field == "need_by":
        return _need_by(draft, value, now, timezone)
    return False


def _line_answer(draft: DraftState, line: DraftLine, field: str, value: str) -> bool:
    if field == "quantity":
        qty, _ = intents.quantity_fix("make it " + value.split()[0] if value else "")
        if qty is not None and qty > 0:
            line.quantity = qty
            return True
        return False
    if field == "price_kind":
        if draft.unsure_price is None:
            return False
        kind = "total" if TOTAL_WORDS.search(value) else ("unit" if UNIT_WORDS.search(value) else None)
        if kind is None:
            return False
        amount = draft.unsure_price.amount
        draft.currency = draft.unsure_price.currency
        if kind == "total" and line.quantity:
            amount = (amount / line.quantity).quantize(Decimal("0.0001"))
        line.unit_price, line.price_source = amount, ("said" if kind == "unit" else "total")
        draft.unsure_price = None
        return True
    bare = BARE_PRICE.fullmatch(value)
    if not bare:
        return False
    try:
        line.unit_price, line.price_source = Decimal(bare.group(1).replace(",", "")), "said"
    except InvalidOperation:
        return False
    if value.startswith("\u20ac"):
        draft.currency = "EUR"
    return line.unit_price > 0


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
        if ln.category is None or (confirming and ln.category_source in ("keyword", "llm", "said")):
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
