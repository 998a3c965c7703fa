"""Near-identical requisitions: same supplier and site, similar items, a close amount, recent."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from rapidfuzz import fuzz

from approvals.clock import as_utc
from approvals.views import RequisitionView
from approvals.workflow import ApprovalService
from bot.intake.draft import DraftState

RECENT = timedelta(days=30)
CLOSE = Decimal("0.25")  # amounts within 25% of each other
DEAD = ("rejected", "withdrawn", "stopped")


def find_duplicate(service: ApprovalService, draft: DraftState, *, now: datetime) -> RequisitionView | None:
    """The most recent requisition this draft looks like a repeat of, or None."""
    total = draft.grand_total
    if not draft.supplier or total is None or total <= 0:
        return None
    skus = {ln.sku for ln in draft.lines if ln.sku}
    words = " ".join(ln.description for ln in draft.lines).lower()
    for view in service.list(supplier=draft.supplier, site=draft.site, limit=50):
        if view.state in DEAD or now - as_utc(view.created_at) > RECENT:  # type: ignore[operator]
            continue
        if abs(view.total - total) > CLOSE * max(view.total, total):
            continue
        same_items = (
            bool(skus & {ln.sku for ln in view.lines if ln.sku})
            or fuzz.token_set_ratio(words, " ".join(ln.description for ln in view.lines).lower()) >= 80
        )
        if same_items:
            return view
    return None
