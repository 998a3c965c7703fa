"""Every sentence the scheduler sends, in one place."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo


def _hours(h: Decimal | float) -> str:
    value = Decimal(str(h)).normalize()
    return f"{value:f} business hour{'s' if value != 1 else ''}"


def local(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%a %b %d %H:%M %Z")


def reminder(
    number: str, title: str, n: int, of: int, deadline: datetime, tz: ZoneInfo, on_behalf_of: str | None
) -> str:
    who = f" (for {on_behalf_of})" if on_behalf_of else ""
    return (
        f'Reminder {n} of {of}: {number} "{title}" waits for your approval{who}. '
        f"It escalates {local(deadline, tz)} if nobody acts. Approve, reject, ask for info, "
        "or snooze this reminder."
    )


def sla_reason(hours: Decimal) -> str:
    return f"no decision within the SLA of {_hours(hours)}"


def escalated_to_you(number: str, title: str, original: str, reason: str) -> str:
    return f'{number} "{title}" is escalated to you from {original}: {reason}. Please approve, reject or ask for info.'


def escalated_from_you(number: str, new_people: str, reason: str, kept: bool) -> str:
    tail = " You can still act on it." if kept else " It is no longer waiting for you."
    return f"{number} is escalated to {new_people}: {reason}.{tail}"


def escalated_requester(number: str, new_people: str, reason: str) -> str:
    return f"Your {number} is escalated to {new_people} ({reason}), to keep it moving."


def delegation_started_delegate(delegator: str, ends: str, numbers: list[str]) -> str:
    if not numbers:
        return f"{delegator} is out until {ends}; new approvals for them come to you."
    return f"{delegator} is out until {ends}; these wait for your approval on their behalf: {', '.join(numbers)}."


def delegation_started_delegator(delegate: str, ends: str, numbers: list[str]) -> str:
    moved = f" {len(numbers)} pending approval(s) went to them: {', '.join(numbers)}." if numbers else ""
    return f"Your delegation to {delegate} has started (until {ends}).{moved}"


def delegation_ended_delegator(delegate: str, numbers: list[str]) -> str:
    back = f" These are back with you: {', '.join(numbers)}." if numbers else ""
    return f"Your delegation to {delegate} has ended; new approvals come to you again.{back}"


def delegation_ended_delegate(delegator: str, numbers: list[str]) -> str:
    back = f" {', '.join(numbers)} went back to them." if numbers else ""
    return f"You no longer approve for {delegator}.{back}"


def info_expired_requester(number: str, asker: str, hours: Decimal) -> str:
    return (
        f"{number} is closed: {asker}'s question had no answer within {_hours(hours)}. "
        "Submit it again with the answer if you still need it."
    )


def info_expired_asker(number: str, requester: str) -> str:
    return f"{number} is closed: {requester} did not answer your question in time. Nothing more is needed from you."


def info_expired_reason(hours: Decimal) -> str:
    return f"closed by the scheduler: the question had no answer within {_hours(hours)}"


def draft_expired(number: str, days: int) -> str:
    return f"Your draft {number} was closed after {days} days without being submitted. Start a new one any time."


def digest(items: list[tuple[str, str, str]]) -> str:
    lines = [f"Good morning. {len(items)} requisition(s) wait for you:"]
    lines += [f"- {number} {title} (waiting since {since})" for number, title, since in items]
    lines.append("Reply 'digest off' to stop this daily summary.")
    return "\n".join(lines)


def snoozed(number: str, until: datetime, tz: ZoneInfo, clamped: bool) -> str:
    note = " (that is when it escalates, so no later)" if clamped else ""
    return f"OK, I'll remind you about {number} {local(until, tz)}{note}."


def snooze_too_late(number: str) -> str:
    return f"{number} is past its SLA and escalates now; please approve, reject or ask for info."


def informed(number: str, title: str, stage: str, waiting: str) -> str:
    who = f", waiting on {waiting}" if waiting else ""
    return (
        f"For your information: {number} \"{title}\" is at stage '{stage}'{who}. "
        "You are informed by the policy; nothing is needed from you."
    )


def informed_end(number: str, title: str, stage: str, how: str, by: str) -> str:
    return (
        f"For your information: stage '{stage}' of {number} \"{title}\" ended: {how} by {by}. "
        "You are informed by the policy; nothing is needed from you."
    )


def likely_late(number: str, holder: str, probability: float, reasons: str, nudged: bool) -> str:
    done = f"I have reminded {holder}; nothing" if nudged else "Nothing"
    return (
        f"Your {number} is likely to be late ({probability:.0%} chance it waits past its SLA on {holder}): "
        f"{reasons}. {done} is needed from you."
    )
