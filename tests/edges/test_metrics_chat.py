"""Figures in chat: "/purchase stats" for the asker's scope, and the weekly summary to procurement leads."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from approvals.directory import Person
from approvals.scheduling.calendar import Calendars
from approvals.scheduling.plan import Planner, SchedulerConfig
from approvals.scheduling.runner import Scheduler
from approvals.scheduling.weekly import week_of
from bot.intake import stats
from bot.intake.assistant import Assistant
from tests.factories import boxes, submit
from tests.scheduling_support import at


@pytest.fixture
def scheduler(service, clock, notifier, directory) -> Scheduler:  # type: ignore[no-untyped-def]
    """The scheduler as the server builds it: with the weekly summary on."""
    config = SchedulerConfig(weekly_summary=True)
    calendars = Calendars(directory, config.hours)
    service.in_transaction.append(Planner(directory, calendars, config))
    return Scheduler(service, notifier, config=config, clock=clock, worker_id="test", calendars=calendars)


def _text(replies) -> str:  # type: ignore[no-untyped-def]
    return " ".join(r.text or "" for r in replies)


def test_purchase_stats_answers_for_the_askers_site_and_everything_for_procurement(service, clock, directory):
    """Maria (Dallas) sees Dallas figures only; Sofia (procurement director) sees every site; both in plain lines."""
    service.submit(submit(lines=[boxes(1)]))  # Dallas, approved by policy
    service.submit(submit(lines=[boxes(80)]))  # Dallas, waits for approval
    service.submit(submit(requester="luis.garcia", site="CHI", cost_center="CHI-OPS", lines=[boxes(1)]))
    clock.advance(hours=1)
    assistant = Assistant(service, directory, surface="web")
    maria = _text(assistant.handle_message("maria.lopez", "/purchase stats"))
    assert "The last 7 days for DAL, DAL-OPS" in maria
    assert "2 requisitions submitted, 50% approved by policy alone" in maria
    sofia = _text(assistant.handle_message("sofia.alvarez", "how are we doing this week?"))
    assert "for all sites" in sofia and "3 requisitions submitted, 67%" in sofia
    month = _text(assistant.handle_message("sofia.alvarez", "stats this month"))
    assert "The last 30 days" in month


def test_stats_for_someone_linked_to_nothing_says_what_to_do(service, directory):
    """A person with no site, no cost center and no company-wide role is told how to get figures."""
    nobody = Person(id="temp.worker", name="Temp Worker", email="t@example.com")
    answer = stats.answer(service.engine, directory, nobody, "stats", datetime(2026, 11, 23, tzinfo=timezone.utc))
    assert "not linked to a site" in answer and "web console" in answer


def test_weekly_summary_reaches_procurement_leads_once_a_week(service, clock, scheduler, notifier):  # noqa: F811
    """On Monday the procurement director gets last week's figures once, however often the scheduler ticks."""
    monday = clock.now  # Monday 23 Nov 2026, 9:00 in Dallas
    clock.now = monday - timedelta(days=5)
    service.submit(submit(lines=[boxes(1)]))
    at(clock, scheduler, monday)
    at(clock, scheduler, monday + timedelta(hours=2))
    sent = notifier.to("sofia.alvarez", "weekly_summary")
    assert len(sent) == 1
    assert "week of Nov 16 to Nov 23 (all sites)" in sent[0].text
    assert "1 requisition submitted, 100% approved by policy alone" in sent[0].text
    assert notifier.to("maria.lopez", "weekly_summary") == []
    at(clock, scheduler, monday + timedelta(days=7))
    assert len(notifier.to("sofia.alvarez", "weekly_summary")) == 2


def test_week_label_and_start():
    """A Sunday evening belongs to the ISO week that started the Monday before, at 00:00 UTC."""
    label, start = week_of(datetime(2026, 11, 29, 23, 0, tzinfo=timezone.utc))
    assert (label, start) == ("2026-W48", datetime(2026, 11, 23, tzinfo=timezone.utc))
