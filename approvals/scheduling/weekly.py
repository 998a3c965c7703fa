"""The weekly summary to procurement leads: last week's key figures, once per ISO week, as a notice.

The sweep writes one `weekly_summary` row per week (its dedupe key is the week), so replicas
ticking together send it once; the handler turns it into one notice per lead, keyed per lead
and week, which the notice handler delivers outside the lead's quiet hours.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from approvals import jobqueue
from approvals.db import transaction
from approvals.directory import Directory
from approvals.metrics import Scope, Window, week_figures
from approvals.metrics.report import PROCUREMENT_LEAD_ROLES
from approvals.metrics.text import weekly_summary
from approvals.scheduling.calendar import Calendars
from approvals.scheduling.plan import enqueue_notice


def week_of(now: datetime) -> tuple[str, datetime]:
    """The ISO week label of `now` and the Monday 00:00 UTC that starts it."""
    year, week, weekday = now.astimezone(timezone.utc).isocalendar()
    monday = datetime.combine(
        now.astimezone(timezone.utc).date() - timedelta(days=weekday - 1), time(0), tzinfo=timezone.utc
    )
    return f"{year}-W{week:02d}", monday


def sweep(engine: Engine, now: datetime) -> None:
    """Make sure this week's summary row exists (a no-op after the first tick of the week)."""
    label, monday = week_of(now)
    key = f"weekly_summary:{label}"
    with Session(engine) as session:
        if jobqueue.get(session, key) is not None:
            return
    with transaction(engine) as session:
        jobqueue.enqueue(
            session,
            kind="weekly_summary",
            key=key,
            due_at=now,
            now=now,
            payload={"week": label, "starts": monday.isoformat()},
        )


def summary(engine: Engine, payload: dict[str, Any]) -> str:
    """The text for the week before the one in `payload`, over every site."""
    monday = datetime.fromisoformat(payload["starts"])
    return weekly_summary(week_figures(engine, Window(monday - timedelta(days=7), monday), Scope.all()))


def enqueue_notices(
    session: Session, directory: Directory, calendars: Calendars, payload: dict[str, Any], message: str, now: datetime
) -> list[str]:
    """One notice per procurement lead, in the caller's transaction. Returns who gets one."""
    leads = sorted({p.id for role in PROCUREMENT_LEAD_ROLES for p in directory.people_with_role(role, None)})
    for person in leads:
        enqueue_notice(
            session,
            calendars,
            key=f"notify:weekly_summary:{payload['week']}:{person}",
            person=person,
            kind="weekly_summary",
            message=message,
            now=now,
        )
    return leads
