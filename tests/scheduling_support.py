"""Shared scheduling fixtures: a recording notifier and a scheduler on the test clock, plus time helpers.

The fixtures are registered for every test through tests/conftest.py.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from approvals.scheduling.calendar import Calendars
from approvals.scheduling.plan import Planner, SchedulerConfig
from approvals.scheduling.runner import Scheduler
from bot.notify import RecordingNotifier

CHICAGO = ZoneInfo("America/Chicago")


def dallas(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO).astimezone(timezone.utc)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def scheduler(service, clock, notifier, directory) -> Scheduler:  # type: ignore[no-untyped-def]
    config = SchedulerConfig()
    calendars = Calendars(directory, config.hours)
    service.in_transaction.append(Planner(directory, calendars, config))
    return Scheduler(service, notifier, config=config, clock=clock, worker_id="test", calendars=calendars)


def at(clock, scheduler: Scheduler, moment: datetime):  # type: ignore[no-untyped-def]
    clock.now = moment
    return scheduler.run_until_idle()


def _reminders(notifier: RecordingNotifier, person: str) -> list[str]:
    return [n.text for n in notifier.to(person, "reminder")]
