"""What the requester's thread says as a requisition moves (one line per event, platform-neutral)."""

from __future__ import annotations

from typing import Any, Callable

from approvals.views import RequisitionView


def _names(people: list[str], name: Callable[[str], str]) -> str:
    names = [name(p) for p in people]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else (names[0] if names else "nobody")


def _last_decision(view: RequisitionView, action: str, actor: str | None = None) -> Any:
    """The newest decision of this kind (by `actor` when the event names one: a late line tells its own)."""
    for decision in reversed(view.decisions):
        if decision.action == action and actor in (None, decision.actor):
            return decision
    return None


def _first_stage(view: RequisitionView) -> list[str]:
    return list(dict.fromkeys(s.acting for s in view.steps if s.stage_index == 0))


def _who(decision: Any) -> str:
    if decision is None:
        return "Someone"
    if decision.on_behalf_of:
        return f"{decision.actor_name} (on behalf of {decision.on_behalf_of})"
    return decision.actor_name


def thread_line(event: dict[str, Any], view: RequisitionView, name: Callable[[str], str]) -> str | None:
    """The line to post under the requester's card for this event, or None when it says nothing new."""
    # The event's own outcome decides what the line says: a line posted late (the platform was down,
    # the worker was busy) still tells what happened then, not what the requisition looks like now.
    command, outcome, actor = event.get("command"), event.get("outcome"), event.get("actor")
    waiting = _names(view.waiting_on, name) if view.waiting_on else ""
    if command in ("submit", "submit_draft", "amend"):
        if outcome == "amended":
            return "Amended within the tolerance; it stays approved."
        auto = (
            outcome in ("auto_approved", "reapproval_auto_approved")
            if outcome
            else view.state in ("approved", "po_pending", "po_created")
        )
        if auto:
            return f"Approved automatically under policy {view.policy_version}: {view.route_explanation}"
        if outcome == "stopped" or (not outcome and (view.state == "stopped" or view.stop_reason)):
            return f"Stopped by policy: {view.stop_reason}"
        if outcome in ("routed", "reapproval_routed") and _first_stage(view):
            return f"Sent for approval to {_names(_first_stage(view), name)}."
        return f"Sent for approval to {waiting}." if waiting else None
    if command == "approve":
        who = _who(_last_decision(view, "approve", actor))
        if outcome == "approved" or (not outcome and view.state in ("approved", "po_pending")):
            return f"{who} approved. {view.number} is fully approved; the purchase order is on its way to the ERP."
        if outcome == "advanced":
            return f"{who} approved. Now with {waiting}."
        return f"{who} approved; more approvals are needed on this step."
    if command == "reject":
        decision = _last_decision(view, "reject", actor)
        if view.state != "rejected":
            return f"{_who(decision)} voted to reject; the step can still pass."
        reason = f": {decision.comment}" if decision and decision.comment else "."
        return f"{_who(decision)} rejected {view.number}{reason}"
    if command == "request_info":
        info = view.info_requests[-1] if view.info_requests else None
        if info is None:
            return None
        asker = _who(_last_decision(view, "request_info", actor))
        return f"{asker} asks: {info.question} (reply here or use Answer on the card)."
    if command == "answer_info":
        return f"Answer sent; back with {waiting}." if waiting else "Answer sent."
    if command == "withdraw":
        return f"{view.number} was withdrawn."
    if command in ("reassign", "escalate"):
        if command == "escalate":
            why = "escalated"
        elif actor == "directory":  # approvals.workflow.admin.move_from_leaver
            why = "the previous approver has left"
        else:
            why = "reassigned by an administrator"
        return f"Now with {waiting} ({why})."
    if command == "erp":
        return event.get("text") or None
    return None


# ------------------------------------------------------------ unread items (the web chat's list, bot/chat/unread.py)


def unread_waiting(number: str, title: str, amount: str, requester: str, for_whom: str | None) -> str:
    who = f" (for {for_whom})" if for_whom else ""
    return f'{number} "{title}" ({amount}, from {requester}) waits for your approval{who}.'


def unread_approved(actor: str, number: str, outcome: str, waiting: str) -> str:
    if outcome == "approved":
        return f"{actor} approved {number}. It is fully approved; the purchase order is on its way to the ERP."
    if outcome == "advanced":
        return f"{actor} approved {number}. Now with {waiting}."
    return f"{actor} approved {number}; more approvals are needed on this step."


def unread_rejected(actor: str, number: str, outcome: str, reason: str | None) -> str:
    if outcome != "rejected":
        return f"{actor} voted to reject {number}; the step can still pass."
    return f"{actor} rejected {number}" + (f": {reason}" if reason else ".")


def unread_question(actor: str, number: str, question: str | None) -> str:
    return f"{actor} asks about {number}: {question or '(no question given)'} Answer on the card."


def unread_answered(requester: str, number: str, answer: str | None) -> str:
    return f"{requester} answered on {number}: {answer or '(no answer given)'} It waits for your approval again."


def unread_moved(number: str, waiting: str) -> str:
    return f"{number} is now with {waiting} (reassigned by an administrator)."
