"""Where an order stands: our state plus the ERP's, and finding a person's order by what they asked for.

"status PR-1042" and "where is my stretch wrap order?" both end in `status_card`; the ERP side
comes from the outbox's read model (approvals.outbox.erp_view), so chat never calls an ERP.
"""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from approvals.directory import Directory
from approvals.outbox import BUYER_ROLE, erp_view
from approvals.views import RequisitionView
from bot.cards.model import Card, CardAction
from bot.intake import texts
from bot.intake.cards import requisition_card

ERP_STATES = ("po_pending", "po_created")
MATCH_CUTOFF = 80  # below this "wrap" starts matching "tape"
NEAR_BEST = 10  # matches this close to the best are all offered, not silently dropped


def viewer_card(bind: Any, view: RequisitionView, viewer: str, directory: Directory, summaries: Any = None) -> Card:
    """The requisition card as `viewer` should see it now, on any surface: an approver it waits on gets
    the "what is unusual" note (when `summaries` is given); everyone else the status card. `bind` (an
    engine, or a connection in use) reads the ERP's side."""
    if view.state == "pending_approval" and viewer in view.waiting_on:
        note = summaries.note_for(view) if summaries is not None else None
        return requisition_card(view, viewer, directory, summary=note)
    return status_card(bind, view, viewer, directory)


def status_card(bind: Any, view: RequisitionView, viewer: str, directory: Directory) -> Card:
    """The requisition card with the ERP's side: PO number and status, or why it is not there yet."""
    erp = erp_view(bind, view.number) if view.state in ERP_STATES else None
    if erp is None:
        return requisition_card(view, viewer, directory)
    line = texts.erp_line(erp.state, erp.po_number, erp.po_status, erp.last_error)
    card = requisition_card(view, viewer, directory, erp_line=line)
    if erp.state == "failed" and not erp.po_number:
        card.tone = "warn"
        person = directory.person(viewer)
        if person is not None and person.has_role(BUYER_ROLE):
            # the same action id the dead-letter notice carries, so either button works
            card.actions.append(
                CardAction(id="erp.retry", label="Retry", style="primary", value={"number": view.number})
            )
    return card


def _score(words: str, view: RequisitionView) -> float:
    texts_ = [view.title] + [ln.description for ln in view.lines]
    return max(
        max(
            fuzz.partial_ratio(words, t, processor=default_process),
            fuzz.token_set_ratio(words, t, processor=default_process),
        )
        for t in texts_
        if t
    )


def match_orders(words: str, views: list[RequisitionView]) -> list[RequisitionView]:
    """The person's requisitions whose title or lines look like `words`, best first (close seconds kept)."""
    scored = sorted(((_score(words, v), i, v) for i, v in enumerate(views)), key=lambda x: (-x[0], x[1]))
    hits = [(s, v) for s, _, v in scored if s >= MATCH_CUTOFF]
    if not hits:
        return []
    best = hits[0][0]
    return [v for s, v in hits if s >= best - NEAR_BEST]
