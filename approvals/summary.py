"""The exception summary on an approver's card: the facts, a deterministic summary, and the check
that a written summary states only numbers we gave it.

Pure. `exception_facts` collects what leaves the happy path (a hard stop, over budget, a risky or
non-contracted supplier, an emergency, and the history signals) into `SummaryFacts`; the
deterministic summary is the first sentences of those findings; `check_summary` accepts a
summary written by anyone else (the LLM) only if every number in it is one of the facts'
numbers, it is short, and it does not speak of approving or rejecting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Sequence

from approvals.directory import Directory
from approvals.signals import Signal, money
from approvals.views import RequisitionView

MAX_CHARS = 600
MAX_SENTENCES = 3
# a number as people write it: $1,234.50, 28%, 3.5, 1,500 (a trailing sentence dot is not a decimal point)
_NUMBER = re.compile(r"(?<![\w.])[$\u20ac\u00a3]?\s?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\d,]*\d)")
_DECISION = re.compile(
    r"\b(?:approv(?:e|ed|es|ing)|reject(?:ed|s|ing)?|auto-?approv\w*|deny|denied|"
    r"sign(?:ed)? off)\b",
    re.I,
)
_LINKS = re.compile(r"https?://|www\.|@\w+\.\w+")


@dataclass(frozen=True)
class Finding:
    kind: str
    text: str  # one sentence


@dataclass(frozen=True)
class SummaryFacts:
    """Everything a summary may say, with no person's name or address in it."""

    number: str
    total: str
    category: str
    item_type: str
    urgency: str
    supplier: str
    supplier_risk: str
    lines: tuple[dict[str, str], ...]
    findings: tuple[Finding, ...]
    extra_numbers: tuple[Decimal, ...] = field(default=())

    @property
    def exceptional(self) -> bool:
        return bool(self.findings)

    def to_prompt(self) -> dict[str, Any]:
        """The JSON the summary prompt receives."""
        return {
            "requisition": {
                "total": self.total,
                "category": self.category,
                "item_type": self.item_type,
                "urgency": self.urgency,
                "supplier": self.supplier,
                "supplier_risk_tier": self.supplier_risk,
                "lines": list(self.lines),
            },
            "exceptions": [{"kind": f.kind, "text": f.text} for f in self.findings],
        }

    def numbers(self) -> set[Decimal]:
        """Every number the facts state, as the check compares them."""
        found = set(self.extra_numbers)
        texts = [self.total, *(f.text for f in self.findings)]
        texts += [v for line in self.lines for v in line.values()]
        for text in texts:
            found |= numbers_in(text)
        return found


def _decimal(raw: str) -> Decimal | None:
    try:
        return Decimal(raw.replace(",", "")).normalize()
    except InvalidOperation:
        return None


def numbers_in(text: str) -> set[Decimal]:
    """The numbers a text states, normalised so "$2,500.00", "2500" and "2,500" are one number."""
    out: set[Decimal] = set()
    for m in _NUMBER.finditer(text):
        value = _decimal(m.group(1) + (m.group(2) or ""))
        if value is not None:
            out.add(value)
    return out


def exception_facts(
    view: RequisitionView, directory: Directory, signals: Sequence[Signal], routing_facts: dict[str, Any] | None = None
) -> SummaryFacts:
    """What is unusual about this requisition, most important first."""
    facts = routing_facts or {}
    supplier = directory.supplier_by_id.get(view.supplier)
    findings: list[Finding] = []
    if view.stop_reason:
        findings.append(Finding("hard_stop", f"Stopped by policy: {view.stop_reason.rstrip('.')}."))
    over = str(facts.get("budget.over", "")).lower() in ("true", "1")
    if over:
        remaining = _decimal(str(facts.get("budget.remaining", "")))
        if remaining is not None:
            findings.append(
                Finding(
                    "over_budget",
                    f"Over budget: cost center {view.cost_center} had "
                    f"{money(remaining, view.policy_currency)} left before this "
                    f"{money(view.amount, view.policy_currency)} request.",
                )
            )
        else:
            findings.append(Finding("over_budget", f"Over budget on cost center {view.cost_center}."))
    if view.urgency == "emergency":
        findings.append(Finding("emergency", "Marked as an emergency."))
    if supplier is not None:
        if supplier.blocked:
            findings.append(Finding("blocked_supplier", f"{supplier.name} is blocked."))
        elif supplier.risk_tier == "high" or not supplier.contracted or supplier.contract_status in ("none", "expired"):
            what = [f"risk tier {supplier.risk_tier}"]
            if not supplier.contracted or supplier.contract_status == "none":
                what.append("no contract")
            elif supplier.contract_status == "expired":
                what.append("contract expired")
            findings.append(Finding("supplier", f"{supplier.name}: {', '.join(what)}."))
    findings.extend(Finding(s.kind, s.text) for s in signals)
    return SummaryFacts(
        number=view.number,
        total=money(view.total, view.currency),
        category=view.category,
        item_type=view.item_type,
        urgency=view.urgency,
        supplier=view.supplier_name,
        supplier_risk=supplier.risk_tier if supplier else "unknown",
        lines=tuple(
            {
                "item": ln.description,
                "quantity": f"{ln.quantity.normalize():f}",
                "unit": ln.unit,
                "unit_price": money(ln.unit_price, view.currency),
            }
            for ln in view.lines[:10]
        ),
        findings=tuple(findings),
        extra_numbers=tuple(n for s in signals for n in s.numbers),
    )


def deterministic_summary(facts: SummaryFacts) -> str | None:
    """The first findings, as written; None when nothing is unusual."""
    if not facts.findings:
        return None
    return " ".join(f.text for f in facts.findings[:MAX_SENTENCES])


def check_summary(text: str, facts: SummaryFacts) -> str | None:
    """Why a written summary may not be shown (None: it may). Every number must be one of ours."""
    text = (text or "").strip()
    if not text:
        return "empty"
    if len(text) > MAX_CHARS:
        return f"longer than {MAX_CHARS} characters"
    if len(re.findall(r"[.!?](?:\s|$)", text)) > MAX_SENTENCES + 1:
        return f"more than {MAX_SENTENCES} sentences"
    if _DECISION.search(text):
        return "speaks of approving or rejecting"
    if _LINKS.search(text):
        return "contains a link or an address"
    unknown = numbers_in(text) - facts.numbers()
    if unknown:
        return "states numbers that are not in the facts: " + ", ".join(sorted(f"{n:f}" for n in unknown))
    return None
