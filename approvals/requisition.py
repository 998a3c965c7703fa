"""What a requester asks for, validated against the directory and policy, and the routing facts.

Pure: no database. The workflow calls `validate_draft` before writing anything, then
`build_facts` to hand routing exactly what the policy may test.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from approvals.directory import Directory, ItemType
from approvals.errors import FieldError
from approvals.policy.loader import LoadedPolicy, rate_to_policy_currency
from approvals.validation import refuse_nul

MAX_LINES = 200
MAX_TEXT = 4000
MAX_DESCRIPTION = 300
MAX_QUANTITY = Decimal("1000000")
MAX_UNIT_PRICE = Decimal("100000000")
CENT = Decimal("0.01")
Urgency = Literal["standard", "urgent", "emergency"]
Period = Literal["week", "month", "quarter", "year"]
MAX_RELEASES = 520  # ten years of weekly orders

_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_ITEM_TYPE_WEIGHT = {"capex": 4, "services": 3, "non_stock": 2, "mro": 1, "stock": 0}


class LineDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    quantity: Decimal = Field(gt=0, le=MAX_QUANTITY)
    unit_price: Decimal = Field(gt=0, le=MAX_UNIT_PRICE)
    unit: str = Field(default="each", max_length=20)
    sku: str | None = Field(default=None, max_length=60)
    category: str | None = Field(default=None, max_length=40)
    item_type: ItemType | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return refuse_nul(value)

    @field_validator("quantity", "unit_price", mode="before")
    @classmethod
    def _plain_number(cls, value: Any) -> Any:
        # bool is an int in Python; "true" units of stretch wrap is a typo, not a quantity
        if isinstance(value, bool):
            raise ValueError("must be a number")
        if isinstance(value, str):
            text = value.strip()
            if _THOUSANDS.match(text):
                text = text.replace(",", "")
            elif "," in text:
                # "1,5" could mean one and a half or fifteen: ask rather than guess
                raise ValueError(f"{value!r} is ambiguous; write it like 1500 or 1,500.00 (a dot for decimals)")
            if not text:
                raise ValueError("must be a number")
            return text
        return value

    @field_validator("quantity", "unit_price")
    @classmethod
    def _four_decimals(cls, value: Decimal) -> Decimal:
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int), "the bounds (gt, le) refused NaN and infinity before this runs"
        if exponent < -4:
            raise ValueError("use at most 4 decimal places")
        return value

    @property
    def total(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(CENT, ROUND_HALF_UP)


class ScheduleDraft(BaseModel):
    """A recurring purchase's schedule: one release (its own PO) every `period`, `releases` times, or until `end`
    (the last release on or before it); the first on `first_release` (default: the day it is approved).
    Each release orders the lines' quantities divided by the number of releases."""

    model_config = ConfigDict(extra="forbid")

    period: Period
    releases: int | None = Field(default=None, ge=1, le=MAX_RELEASES)
    end: date | None = None
    first_release: date | None = None

    @model_validator(mode="after")
    def _has_an_end(self) -> "ScheduleDraft":
        if self.releases is None and self.end is None:
            raise ValueError(
                f"a recurring purchase needs an end: say how many releases (e.g. 12 for a year of {self.period}s) "
                "or the date of the last one"
            )
        if self.releases is not None and self.end is not None:
            raise ValueError("give either the number of releases or the end date, not both")
        if self.end is not None and self.first_release is not None and self.end < self.first_release:
            raise ValueError(f"the end {self.end} is before the first release {self.first_release}")
        return self


class RequisitionDraft(BaseModel):
    """The request as typed by the requester, before routing."""

    model_config = ConfigDict(extra="forbid")

    requester: str = Field(min_length=1, max_length=80)
    site: str = Field(min_length=1, max_length=20)
    cost_center: str = Field(min_length=1, max_length=40)
    supplier: str = Field(min_length=1, max_length=80)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    lines: list[LineDraft] = Field(min_length=1, max_length=MAX_LINES)
    urgency: Urgency = "standard"
    recurring: bool = False
    schedule: ScheduleDraft | None = None  # a recurring purchase released on schedule (approvals/recurring.py)
    need_by: date | None = None
    justification: str = Field(default="", max_length=MAX_TEXT)
    category: str | None = Field(default=None, max_length=40)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return refuse_nul(value)

    @model_validator(mode="after")
    def _worth_something(self) -> "RequisitionDraft":
        if self.total < CENT:
            raise ValueError("the total is under one cent; check the quantities and prices")
        if self.schedule is not None:
            self.recurring = True
        return self

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal(0))


@dataclass(frozen=True)
class ResolvedLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    unit: str
    sku: str | None
    category: str
    item_type: str
    total: Decimal


def validate_draft(draft: RequisitionDraft, directory: Directory, policy: LoadedPolicy) -> list[FieldError]:
    """Reference checks the schema cannot do: every name must exist in the directory/policy."""
    errors: list[FieldError] = []
    if draft.requester not in directory.person_by_id:
        errors.append(FieldError("requester", f"unknown person {draft.requester!r}"))
    if draft.site not in directory.site_by_code:
        errors.append(
            FieldError("site", f"unknown site {draft.site!r}; sites are " + ", ".join(directory.site_by_code))
        )
    cc = directory.cost_center_by_code.get(draft.cost_center)
    if cc is None:
        errors.append(FieldError("cost_center", f"unknown cost center {draft.cost_center!r}"))
    elif cc.site and cc.site != draft.site and draft.site in directory.site_by_code:
        errors.append(FieldError("cost_center", f"cost center {cc.code} belongs to {cc.site}, not {draft.site}"))
    if draft.supplier not in directory.supplier_by_id:
        errors.append(
            FieldError(
                "supplier",
                f"unknown supplier {draft.supplier!r}; ask procurement to add it to the supplier master first",
            )
        )
    if rate_to_policy_currency(policy, draft.currency) is None:
        known = ", ".join(sorted({policy.currency, *policy.spec.rates}))
        errors.append(FieldError("currency", f"no exchange rate for {draft.currency}; use one of {known}"))
    if draft.category and draft.category not in directory.category_by_code:
        errors.append(FieldError("category", f"unknown category {draft.category!r}"))
    errors.extend(schedule_errors(draft))
    for i, line in enumerate(draft.lines):
        if line.sku and line.sku not in directory.item_by_sku:
            errors.append(FieldError(f"lines[{i}].sku", f"unknown catalog item {line.sku!r}"))
        if line.category and line.category not in directory.category_by_code:
            errors.append(FieldError(f"lines[{i}].category", f"unknown category {line.category!r}"))
    return errors


def release_count(schedule: ScheduleDraft, first: date) -> int:
    """How many releases a schedule makes when its first is on `first` (an end date counts those on or before it)."""
    if schedule.releases is not None:
        return schedule.releases
    assert schedule.end is not None, "a schedule has releases or an end (ScheduleDraft._has_an_end)"
    n = 0
    while n < MAX_RELEASES and nth_release(first, schedule.period, n) <= schedule.end:
        n += 1
    return n


def nth_release(first: date, period: str, n: int) -> date:
    """The date of release `n` (0 is the first): weeks add 7 days; months, quarters and years count months from the
    first date and keep its day, or the month's last when it has fewer (Jan 31 monthly: Feb 28, Mar 31, Apr 30)."""
    if period == "week":
        return date.fromordinal(first.toordinal() + 7 * n)
    months = n * {"month": 1, "quarter": 3, "year": 12}[period]
    year, month = divmod(first.month - 1 + months, 12)
    year += first.year
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(first.day, last))


def schedule_errors(draft: RequisitionDraft) -> list[FieldError]:
    """A schedule's releases must split every line evenly (to four decimals), each release worth a cent or more."""
    schedule = draft.schedule
    if schedule is None:
        return []
    count = release_count(schedule, schedule.first_release or schedule.end or date.min)
    if count < 1:
        return [FieldError("schedule.end", "the end date leaves no release; give a later end")]
    errors = []
    for i, line in enumerate(draft.lines):
        share = line.quantity / count
        if share != share.quantize(Decimal("0.0001")) or share <= 0:
            errors.append(
                FieldError(
                    f"lines[{i}].quantity",
                    f"{line.quantity} {line.unit} does not split into {count} equal releases; give a quantity that "
                    f"is {count} times what each release orders",
                )
            )
    if not errors and (draft.total / count).quantize(CENT, ROUND_HALF_UP) < CENT:
        errors.append(FieldError("schedule.releases", f"{count} releases would each be worth under one cent"))
    return errors


def resolve_lines(draft: RequisitionDraft, directory: Directory) -> list[ResolvedLine]:
    """Give every line a category and item type: catalog first, then what was typed, then the supplier."""
    supplier = directory.supplier_by_id.get(draft.supplier)
    fallback_category = draft.category or (supplier.categories[0] if supplier and supplier.categories else "general")
    out = []
    for line in draft.lines:
        item = directory.item_by_sku.get(line.sku) if line.sku else None
        category = (item.category if item else None) or line.category or fallback_category
        item_type = (item.item_type if item else None) or line.item_type or "non_stock"
        out.append(
            ResolvedLine(
                line.description, line.quantity, line.unit_price, line.unit, line.sku, category, item_type, line.total
            )
        )
    return out


def dominant(lines: list[ResolvedLine]) -> tuple[str, str]:
    """The requisition's category (largest spend) and item type (capex wins, else largest spend)."""
    by_category: dict[str, Decimal] = {}
    by_type: dict[str, Decimal] = {}
    for line in lines:
        by_category[line.category] = by_category.get(line.category, Decimal(0)) + line.total
        by_type[line.item_type] = by_type.get(line.item_type, Decimal(0)) + line.total
    category = max(by_category.items(), key=lambda kv: (kv[1], kv[0]))[0]
    item_type = max(by_type.items(), key=lambda kv: (kv[0] == "capex", kv[1], _ITEM_TYPE_WEIGHT.get(kv[0], 0)))[0]
    return category, item_type


def to_policy_currency(amount: Decimal, currency: str, policy: LoadedPolicy) -> Decimal:
    rate = rate_to_policy_currency(policy, currency)
    if rate is None:
        raise ValueError(f"no rate for {currency}")
    return (amount * rate).quantize(CENT, ROUND_HALF_UP)


def build_facts(
    draft: RequisitionDraft,
    directory: Directory,
    policy: LoadedPolicy,
    committed: Decimal = Decimal(0),
    lines: list[ResolvedLine] | None = None,
    history: dict[str, Decimal] | None = None,
) -> dict[str, Any]:
    """The routing facts for a validated draft. `committed` is spend already approved on the cost center;
    `lines` are the draft's lines already resolved (resolve_lines), when the caller has them; `history`
    is what is known of the requester's recent orders (`avg_qty`, `avg_amount`); unknown ones are left out."""
    # the catalog decides a line's category; the requisition's own category only fills in
    # lines the catalog does not know (resolve_lines), so routing and storage always agree
    if lines is None:
        lines = resolve_lines(draft, directory)
    category, item_type = dominant(lines)
    amount = to_policy_currency(draft.total, draft.currency, policy)
    cc = directory.cost_center_by_code[draft.cost_center]
    supplier = directory.supplier_by_id[draft.supplier]
    site = directory.site_by_code[draft.site]
    requester = directory.person_by_id[draft.requester]
    remaining = cc.budget - cc.spent - committed
    return {
        "amount": amount,
        "currency": draft.currency,
        "amount_original": draft.total,
        "category": category,
        "site": site.code,
        "region": site.region,
        "cost_center": cc.code,
        "budget.remaining": remaining,
        "budget.remaining_after": remaining - amount,
        "budget.over": remaining - amount < 0,
        "budget.hard_stop": cc.hard_stop,
        "budget.owner": cc.owner,
        "supplier": supplier.id,
        "supplier.name": supplier.name,
        "supplier.risk_tier": supplier.risk_tier,
        "supplier.contracted": supplier.contracted,
        "supplier.blocked": supplier.blocked,
        "supplier.new": supplier.new,
        "supplier.block_reason": supplier.block_reason or "",
        "contract_status": supplier.contract_status,
        "urgency": draft.urgency,
        "item_type": item_type,
        "requester": requester.id,
        "requester.name": requester.name,
        "requester.role": frozenset(g.role for g in requester.roles if g.covers(site.code)),
        "requester.limit": requester.approval_limit,
        "recurring": draft.recurring,
        **_recurring_facts(draft, amount),
        "line_count": Decimal(len(lines)),
        "quantity": sum((line.quantity for line in lines), Decimal(0)),
        **{f"history.{k}": Decimal(v) for k, v in (history or {}).items() if k in ("avg_qty", "avg_amount")},
    }


def _recurring_facts(draft: RequisitionDraft, amount: Decimal) -> dict[str, Any]:
    """The schedule as the policy sees it: the period, how many releases, what each is worth (policy currency).
    Without a schedule: no period, one release worth the whole amount."""
    schedule = draft.schedule
    if schedule is None:
        return {"recurring.period": "none", "recurring.releases": Decimal(1), "recurring.per_release": amount}
    count = max(1, release_count(schedule, schedule.first_release or schedule.end or date.min))
    return {
        "recurring.period": schedule.period,
        "recurring.releases": Decimal(count),
        "recurring.per_release": (amount / count).quantize(CENT, ROUND_HALF_UP),
    }
