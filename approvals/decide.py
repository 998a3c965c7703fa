"""The one way a decision reaches the service: a typed `Decide` (approvals/commands.py) from any surface.

The HTTP API, the chat conversation (web chat, Teams, Slack) and Slack's card buttons all send their
approve / reject / ask / answer / withdraw through `decide`, so an action name means the same call everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from approvals.commands import AnswerInfo, Approve, Decide, Reject, RequestInfo, Withdraw

if TYPE_CHECKING:
    from approvals.workflow import ActionResult, ApprovalService


def decide(service: ApprovalService, cmd: Decide, *, as_admin: bool = False) -> ActionResult:
    """Run the decision. `as_admin`: an administrator may withdraw a requisition someone else raised."""
    typed = cmd.command()
    match typed:
        case Approve():
            return service.approve(typed)
        case Reject():
            return service.reject(typed)
        case RequestInfo():
            return service.request_info(typed)
        case AnswerInfo():
            return service.answer_info(typed)
        case Withdraw():
            return service.withdraw(typed, as_admin=as_admin)
    raise AssertionError(f"no service call for {cmd.action!r}")  # pragma: no cover - DecisionAction is closed
