"""The approval chain in words: every stage in order, what it decided and who said what, whom it waits on and
since when, and the stages still to come, with the people each informs.

One model for every surface: the cards (Slack, Teams, the web chat) and the console render these lines as
they are. Times are written the way cards write them (`2026-11-23 15:00 UTC`), so each surface shows them in
the reader's own zone. Pure: it reads a requisition's view and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import groupby

from approvals.states import StepState
from approvals.views import RequisitionView, StepView

DONE, CURRENT, UPCOMING, CLOSED = "done", "current", "upcoming", "closed"
MARK = {DONE: "\u2713", CURRENT: "\u25cf", UPCOMING: "\u25cb", CLOSED: "\u2715"}
_NOTE = 120  # an approver's note, quoted on the chain, is cut here (the card's history has it whole)


@dataclass(frozen=True)
class Stage:
    index: int
    name: str
    state: str  # done | current | upcoming | closed (rejected, withdrawn or cancelled there)
    words: str  # what happened or happens there, in a sentence
    informed: tuple[str, ...] = ()


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "earlier"


def _quote(text: str | None) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    if len(flat) > _NOTE:
        flat = flat[: _NOTE - 1].rstrip() + "\u2026"
    return f" \u2014 \u201c{flat}\u201d"


def _hours(sla: Decimal) -> str:
    return f"{sla.normalize():f} h"


def _stage_state(steps: list[StepView], current: bool) -> str:
    states = {s.state for s in steps}
    if StepState.REJECTED in states:
        return CLOSED
    if current:
        return CURRENT
    if StepState.APPROVED in states and not states & {StepState.PENDING, StepState.WAITING}:
        return DONE
    if states <= {StepState.CANCELLED, StepState.NOT_NEEDED}:
        return CLOSED
    return UPCOMING


def _by(step: StepView, name: dict[str, str]) -> str:
    who = name.get(step.decided_by or step.acting, step.decided_by or step.acting)
    principal = step.on_behalf_of or (step.approver if step.decided_by and step.decided_by != step.approver else None)
    return who + (f" for {name.get(principal, principal)}" if principal else "")


def _words(steps: list[StepView], state: str, name: dict[str, str], needed: str | None = None) -> str:
    """`needed`: what a stage of groups still needs, in words (approvals/groups.py), for the current stage."""
    decided = [s for s in steps if s.state in (StepState.APPROVED, StepState.REJECTED, StepState.ESCALATED)]
    parts = []
    for s in decided:
        verb = {"approved": "approved", "rejected": "rejected", "escalated": "escalated"}[s.state]
        if s.state == StepState.ESCALATED:
            parts.append(f"{name.get(s.acting, s.acting)}'s step escalated at {_when(s.decided_at)}")
        else:
            parts.append(f"{verb} by {_by(s, name)} at {_when(s.decided_at)}{_quote(s.comment)}")
    if state == CURRENT:
        pending = [s for s in steps if s.state == StepState.PENDING]
        if pending:
            since = min((s.activated_at for s in pending if s.activated_at), default=None)
            who = ", ".join(name.get(s.acting, s.acting) for s in pending)
            if needed:
                who = needed  # a stage of groups: "Maria Lopez and one of: Dana Reyes or Sam Ortiz"
            elif len(pending) > 1 and pending[0].mode == "any":
                who = "one of " + who
            sla = max((s.sla_hours for s in pending), default=Decimal(0))
            waiting = f"waiting on {who} since {_when(since)}" + (f" (SLA {_hours(sla)})" if sla else "")
            parts.append(waiting)
    elif state == UPCOMING:
        who = ", ".join(name.get(s.acting, s.acting) for s in steps if s.state == StepState.WAITING)
        parts.append(f"to come: {who}" if who else "to come")
    if not parts:
        parts.append("not needed" if state == CLOSED else "nothing recorded")
    return "; ".join(parts)


def stages(
    view: RequisitionView, informed: Sequence[Sequence[str]] = (), names: dict[str, str] | None = None
) -> list[Stage]:
    """The chain of the requisition's current round. `informed[i]`: the people stage i informs (from its route);
    `names`: person id to name (the view's own names are used where it has them)."""
    name: dict[str, str] = dict(names or {})
    for s in view.steps:
        name.setdefault(s.approver, s.approver_name)
    for d in view.decisions:
        name.setdefault(d.actor, d.actor_name)
    out = []
    live = view.state in ("pending_approval", "needs_info")
    for index, group in groupby(sorted(view.steps, key=lambda s: (s.stage_index, s.id)), key=lambda s: s.stage_index):
        steps = list(group)
        state = _stage_state(steps, current=live and index == view.current_stage)
        told = tuple(name.get(p) or p for p in (informed[index] if index < len(informed) else ()))
        needed = view.still_needed if state == CURRENT else None
        out.append(Stage(index, steps[0].stage_name, state, _words(steps, state, name, needed), told))
    return out


def lines(chain: list[Stage]) -> list[str]:
    """The chain as card lines: '✓ 1. Manager approval: approved by Zoe Martin at …', one per stage."""
    out = []
    for stage in chain:
        told = f" (informed: {', '.join(stage.informed)})" if stage.informed else ""
        out.append(f"{MARK[stage.state]} {stage.index + 1}. {stage.name}: {stage.words}{told}")
    return out
