"""The facts a policy may test, and their types.

One table, so the loader can refuse a misspelt fact and the checker knows how to reason
about each one (ranges for numbers, sets for names).
"""

from __future__ import annotations

from typing import Literal

FactKind = Literal["number", "text", "bool"]

# fact name -> (kind, what it means)
FACTS: dict[str, tuple[FactKind, str]] = {
    "amount": ("number", "total in the policy currency, converted with the rates table"),
    "currency": ("text", "currency the requester priced in (ISO 4217)"),
    "category": ("text", "spend category (mro, safety_ppe, packaging, it_hardware, software, fleet, ...)"),
    "site": ("text", "site / warehouse code"),
    "region": ("text", "region of the site"),
    "cost_center": ("text", "cost center code"),
    "budget.remaining": ("number", "cost center budget left before this request"),
    "budget.remaining_after": ("number", "cost center budget left if this request is approved"),
    "budget.over": ("bool", "true when this request would take the cost center over budget"),
    "budget.hard_stop": ("bool", "true when the cost center refuses spending over budget"),
    "supplier": ("text", "supplier id"),
    "supplier.risk_tier": ("text", "low, medium or high"),
    "supplier.contracted": ("bool", "supplier has a contract with us"),
    "supplier.blocked": ("bool", "supplier is blocked"),
    "supplier.new": ("bool", "supplier was added through a new-supplier request (approvals/new_suppliers.py)"),
    "contract_status": ("text", "active, expiring, expired or none"),
    "urgency": ("text", "standard, urgent or emergency"),
    "item_type": ("text", "stock, non_stock, mro, capex or services"),
    "requester": ("text", "person id of the requester"),
    "requester.role": ("text", "any role the requester holds at the site"),
    "requester.limit": ("number", "the requester's own approval limit (policy currency)"),
    "recurring": ("bool", "a repeat purchase"),
    "recurring.period": (
        "text",
        "how often a scheduled repeat purchase is released: week, month, quarter, year, or none",
    ),
    "recurring.releases": ("number", "how many releases (purchase orders) the request makes; 1 when not scheduled"),
    "recurring.per_release": ("number", "what each release is worth (policy currency); `amount` is the whole"),
    "line_count": ("number", "number of lines"),
    "quantity": ("number", "total quantity over all lines"),
    "history.avg_qty": ("number", "average total quantity of the requester's recent orders (when known)"),
    "history.avg_amount": ("number", "average amount of the requester's recent orders (when known)"),
}

ENUMS: dict[str, tuple[str, ...]] = {
    "supplier.risk_tier": ("low", "medium", "high"),
    "contract_status": ("active", "expiring", "expired", "none"),
    "urgency": ("standard", "urgent", "emergency"),
    "item_type": ("stock", "non_stock", "mro", "capex", "services"),
    "recurring.period": ("none", "week", "month", "quarter", "year"),
}

# Facts whose value may be several at once (a requester holds many roles): a test
# matches when any of the values satisfies it.
MULTI_VALUED = {"requester.role"}
