"""Small builders for requisitions in tests, with sample-company defaults."""

from __future__ import annotations

from typing import Any

from approvals.commands import SubmitRequisition
from approvals.requisition import RequisitionDraft

STRETCH_WRAP = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 40, "unit_price": 32}


def draft(**overrides: Any) -> RequisitionDraft:
    data: dict[str, Any] = {
        "requester": "jake.miller",
        "site": "DAL",
        "cost_center": "DAL-OPS",
        "supplier": "uline",
        "lines": [STRETCH_WRAP],
    }
    data.update(overrides)
    return RequisitionDraft.model_validate(data)


def submit(requester: str = "jake.miller", key: str | None = None, **overrides: Any) -> SubmitRequisition:
    d = draft(requester=requester, **overrides)
    return SubmitRequisition(actor=requester, draft=d, idempotency_key=key)


def boxes(quantity: int, **extra: Any) -> dict[str, Any]:
    """Corrugated boxes at $48 a bundle: quantity sets the amount."""
    return {"description": "Corrugated boxes", "sku": "PKG-BOX-2012", "quantity": quantity, "unit_price": 48, **extra}


ONE_ROLL = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 1, "unit_price": 32}
REQUESTERS = ["jake.miller", "maria.lopez", "ben.turner", "grace.kim"]


def auto_approved(service: Any, count: int) -> list[str]:
    """`count` one-roll orders from four requesters in turn, each approved automatically (for the ERP fault tests)."""
    numbers = []
    for i in range(count):
        result = service.submit(submit(REQUESTERS[i % len(REQUESTERS)], lines=[ONE_ROLL]))
        assert result.outcome == "auto_approved", result.message
        numbers.append(result.number)
    return numbers
