"""Checks shown on the summary, before Submit: an amount that looks absurd for the item, and a policy stop.

The absurd-amount check is pure (the catalog is the yardstick); the stop check asks the core's public
functions what routing would say, reading only. Neither changes the draft: the summary shows them and the
person confirms or changes the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from statistics import median

from sqlmodel import Session

from approvals.directory import Directory
from approvals.errors import ProcurebotError
from approvals.policy.routing import route
from approvals.policy_store import active_policy
from approvals.requisition import build_facts, validate_draft
from approvals.workflow import ApprovalService
from bot.intake import texts
from bot.intake.draft import DraftLine, DraftState, same_unit, to_requisition

CATALOG_FACTOR = Decimal(20)  # over 20x or under 1/20 of the catalog price x quantity
CATEGORY_FACTOR = Decimal(100)  # over 100x a typical line of the category


def typical_line(category: str, directory: Directory) -> Decimal | None:
    """A typical line of a category: the median catalog price of its items (capital items left out)."""
    prices = [
        it.unit_price
        for it in directory.items
        if it.category == category and it.unit_price is not None and it.item_type != "capex"
    ]
    return Decimal(str(median(prices))) if prices else None


def _line_flag(line: DraftLine, directory: Directory, currency: str) -> str | None:
    total = line.total
    if total is None or total <= 0 or line.price_source == "catalog":
        return None
    item = directory.item_by_sku.get(line.sku or "")
    if item is not None and item.unit_price and line.quantity and same_unit(line.unit, item.unit):
        expected = item.unit_price * line.quantity
        if total > expected * CATALOG_FACTOR:
            reason = texts.vs_catalog(f"{(total / expected):.0f} times", texts.money(expected, currency))
            return texts.unusual_amount(line.description, texts.money(total, currency), reason)
        if total * CATALOG_FACTOR < expected:
            reason = texts.vs_catalog(f"1/{(expected / total):.0f} of", texts.money(expected, currency))
            return texts.unusual_amount(line.description, texts.money(total, currency), reason)
        return None
    typical = typical_line(line.category, directory) if line.category else None
    if typical and total > typical * CATEGORY_FACTOR:
        name = directory.category_by_code[line.category].name if line.category in directory.category_by_code else ""
        return texts.unusual_amount(line.description, texts.money(total, currency), texts.vs_category(name))
    return None


def amount_flags(draft: DraftState, directory: Directory) -> list[str]:
    """What looks absurd for the item: each needs the person's confirmation before Submit."""
    cur = draft.currency or directory.currency
    return [flag for line in draft.lines if (flag := _line_flag(line, directory, cur))]


def needs_amount_confirmation(draft: DraftState, directory: Directory) -> bool:
    return bool(amount_flags(draft, directory)) and draft.confirmed_total != draft.grand_total


def nothing_to_pay(draft: DraftState) -> bool:
    total = draft.grand_total
    return total is not None and total <= 0


@dataclass(frozen=True)
class Preview:
    """What the requester sees before Submit: the budget the request uses, and why the policy would stop it."""

    stop: str | None = None  # the policy's reason (a budget hard stop, a blocked supplier, ...)
    budget: str | None = None  # "uses $3,840.00 of DAL-OPS's $54,240.00 remaining"


def preview(service: ApprovalService, draft: DraftState, requester: str, now: datetime) -> Preview:
    """The same facts and route the core computes at submit, read only, so a request the policy would stop never
    spends a requisition number. An empty Preview when the draft cannot be routed yet."""
    try:
        req = to_requisition(draft, requester)
    except ValueError:
        return Preview()
    try:
        with Session(service.engine) as session:
            _, policy = active_policy(session)
            if validate_draft(req, service.directory, policy):
                return Preview()
            committed = service.committed_spend(session, req.cost_center)
            facts = build_facts(req, service.directory, policy, committed)
            plan = route(facts, policy, service.directory, (), now)
    except (ProcurebotError, ValueError, KeyError):
        return Preview()
    budget = texts.budget_use(facts["amount"], req.cost_center, facts["budget.remaining"], policy.currency)
    return Preview(plan.stop_reason if plan.outcome == "stop" else None, budget)


def policy_stop(service: ApprovalService, draft: DraftState, requester: str, now: datetime) -> str | None:
    """The reason the active policy would stop this request, or None (`preview`'s stop)."""
    return preview(service, draft, requester, now).stop
