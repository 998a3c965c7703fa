"""Requisition states and the legal moves between them, and the states of an approval step, named in one place."""

from __future__ import annotations

from enum import StrEnum

from approvals.errors import IllegalTransition


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PENDING_APPROVAL = "pending_approval"
    NEEDS_INFO = "needs_info"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"
    PO_PENDING = "po_pending"
    PO_CREATED = "po_created"


# action -> {from state: to state}
TRANSITIONS: dict[str, dict[State, State]] = {
    "submit": {State.DRAFT: State.SUBMITTED},
    "route_to_approvers": {State.SUBMITTED: State.PENDING_APPROVAL},
    "auto_approve": {State.SUBMITTED: State.APPROVED},
    "stop": {State.SUBMITTED: State.STOPPED},
    # an amendment beyond tolerance goes back through routing
    "resubmit": {State.APPROVED: State.SUBMITTED, State.PENDING_APPROVAL: State.SUBMITTED},
    "approve": {State.PENDING_APPROVAL: State.APPROVED},
    "advance_stage": {State.PENDING_APPROVAL: State.PENDING_APPROVAL},
    "reject": {State.PENDING_APPROVAL: State.REJECTED, State.NEEDS_INFO: State.REJECTED},
    "request_info": {State.PENDING_APPROVAL: State.NEEDS_INFO},
    "answer_info": {State.NEEDS_INFO: State.PENDING_APPROVAL},
    "withdraw": {
        s: State.WITHDRAWN
        for s in (State.DRAFT, State.SUBMITTED, State.PENDING_APPROVAL, State.NEEDS_INFO, State.APPROVED, State.STOPPED)
    },
    "reassign": {State.PENDING_APPROVAL: State.PENDING_APPROVAL, State.NEEDS_INFO: State.NEEDS_INFO},
    "escalate": {State.PENDING_APPROVAL: State.PENDING_APPROVAL, State.NEEDS_INFO: State.NEEDS_INFO},
    "amend": {State.APPROVED: State.APPROVED, State.PENDING_APPROVAL: State.PENDING_APPROVAL},
    "send_to_erp": {State.APPROVED: State.PO_PENDING},
    "po_created": {State.PO_PENDING: State.PO_CREATED},
}

# Each state as a person reads it ("PR-1042 is now awaiting the purchase order", a card's status line, the
# console): the internal names above never reach people.
LABELS: dict[State, str] = {
    State.DRAFT: "a draft",
    State.SUBMITTED: "submitted, being routed",
    State.PENDING_APPROVAL: "awaiting approval",
    State.NEEDS_INFO: "waiting for the requester's answer",
    State.APPROVED: "approved",
    State.REJECTED: "rejected",
    State.WITHDRAWN: "withdrawn",
    State.STOPPED: "stopped by policy",
    State.PO_PENDING: "awaiting the purchase order",
    State.PO_CREATED: "ordered (purchase order created)",
}


def label(state: State | str) -> str:
    """The state in plain words, for people."""
    return LABELS[State(state)]


FINAL_STATES = frozenset({State.REJECTED, State.WITHDRAWN, State.PO_CREATED})
OPEN_STATES = frozenset({State.DRAFT, State.SUBMITTED, State.PENDING_APPROVAL, State.NEEDS_INFO})

# How actions read in a sentence ("it can: approve, reject, ...")
_PEOPLE_ACTIONS = (
    "submit",
    "approve",
    "reject",
    "request_info",
    "answer_info",
    "withdraw",
    "reassign",
    "escalate",
    "amend",
)


def allowed_actions(state: State | str) -> list[str]:
    """What a person may do from this state, in plain words."""
    s = State(state)
    return [a.replace("_", " ") for a in _PEOPLE_ACTIONS if s in TRANSITIONS[a]]


def next_state(state: State | str, action: str) -> State:
    """The state after `action`, or IllegalTransition (nothing has changed yet)."""
    s = State(state)
    moves = TRANSITIONS.get(action)
    if moves is None or s not in moves:
        raise IllegalTransition(s.value, action.replace("_", " "), allowed_actions(s), label(s))
    return moves[s]


class StepState(StrEnum):
    """Where one approver's step stands. A requisition's stages are made of steps; only `pending` ones wait on
    someone now."""

    WAITING = "waiting"  # a later stage: not yet anyone's turn
    PENDING = "pending"  # this person's turn now
    APPROVED = "approved"
    REJECTED = "rejected"
    NOT_NEEDED = "not_needed"  # the stage was decided by others (any-of, or a rejection)
    CANCELLED = "cancelled"  # the requisition was withdrawn or re-routed
    ESCALATED = "escalated"  # moved up to someone else; their own step carries on


OPEN_STEPS = (StepState.PENDING, StepState.WAITING)
DECIDED_STEPS = (StepState.APPROVED, StepState.REJECTED)

STEP_LABELS: dict[StepState, str] = {
    StepState.WAITING: "waiting for an earlier stage",
    StepState.PENDING: "waiting for a decision",
    StepState.APPROVED: "approved",
    StepState.REJECTED: "rejected",
    StepState.NOT_NEEDED: "not needed",
    StepState.CANCELLED: "cancelled",
    StepState.ESCALATED: "escalated",
}
