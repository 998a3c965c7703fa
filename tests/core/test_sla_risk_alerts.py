"""SLA-risk alerts end to end through the service and the scheduler, on SQLite and PostgreSQL, on the test clock."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlmodel import Session, select

from approvals.commands import Approve, SetDelegation
from approvals.models import AuditEvent
from approvals.scheduling.actions import Snooze, snooze
from approvals.scheduling.calendar import Calendars
from approvals.scheduling.models import StepRisk
from approvals.scheduling.plan import Planner, SchedulerConfig
from approvals.scheduling.risk import estimate
from approvals.scheduling.runner import Scheduler
from tests.factories import submit
from tests.scheduling_support import at, dallas


@pytest.fixture
def risky(service, clock, notifier, directory):  # type: ignore[no-untyped-def]
    """The scheduler as the server runs it: SLA risk estimated every half hour."""
    config = SchedulerConfig(sla_risk=True)
    calendars = Calendars(directory, config.hours)
    service.in_transaction.append(Planner(directory, calendars, config))
    return Scheduler(service, notifier, config=config, clock=clock, worker_id="test", calendars=calendars)


def quick_week(service, clock, scheduler) -> None:  # type: ignore[no-untyped-def]
    """Six working days on which Zoe approves Jake's request within the hour."""
    for month, day in ((10, 26), (10, 27), (10, 28), (10, 29), (10, 30), (11, 2)):
        at(clock, scheduler, dallas(2026, month, day, 9, 0))
        number = service.submit(submit()).number
        clock.now = dallas(2026, month, day, 9, 50)
        service.approve(Approve(actor="zoe.martin", number=number))


def test_a_likely_late_step_nudges_the_approver_early_and_tells_the_requester_once(service, clock, risky, notifier):
    """Zoe usually decides within the hour, but has decided nothing since Tuesday while five requests wait: Jake's
    Thursday request gets her reminder at once instead of four hours later, Jake is told why it will be late, the
    audit says so, and a later estimate tells nobody twice."""
    quick_week(service, clock, risky)
    at(clock, risky, dallas(2026, 11, 3, 9, 0))
    for _ in range(5):
        service.submit(submit())
    at(clock, risky, dallas(2026, 11, 5, 9, 0))  # Thursday: nothing decided since Monday
    notifier.sent.clear()
    number = service.submit(submit()).number
    at(clock, risky, dallas(2026, 11, 5, 9, 30))  # the next half-hourly estimate

    told = [n for n in notifier.to("jake.miller", "sla_risk") if n.number == number]
    assert len(told) == 1
    assert told[0].text.startswith(f"Your {number} is likely to be late (")
    assert "Zoe has decided nothing for 2 business days" in told[0].text
    assert "6 requests are waiting on Zoe" in told[0].text
    assert "business hours left" in told[0].text or "business days left" in told[0].text
    nudged = [n for n in notifier.to("zoe.martin", "reminder") if n.number == number]
    assert len(nudged) == 1  # the usual first reminder is due at 13:00

    with Session(service.engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "sla_at_risk")).all()
        row = s.exec(select(StepRisk).where(StepRisk.requisition_number == number)).one()
    mine = [e for e in events if e.requisition_number == number]
    assert len(mine) == 1 and mine[0].actor == "scheduler" and mine[0].after["probability"] >= 0.5
    assert mine[0].after["nudged_at"] is not None and mine[0].after["requester_told"] == "jake.miller"
    assert row.probability >= 0.5 and row.alerted_at is not None and row.person == "zoe.martin"

    at(clock, risky, dallas(2026, 11, 5, 11, 0))  # estimated again: nobody is told twice
    assert len([n for n in notifier.to("jake.miller", "sla_risk") if n.number == number]) == 1


def test_a_step_on_time_tells_nobody_and_a_decided_step_leaves_the_list(service, clock, risky, notifier):
    """Zoe's usual quick day: her new step is estimated, low, with no notice; once she approves it is gone from
    the list of estimates."""
    quick_week(service, clock, risky)
    clock.now = dallas(2026, 11, 3, 9, 0)
    number = service.submit(submit()).number
    at(clock, risky, dallas(2026, 11, 3, 9, 1))
    [(step, risk)] = estimate(service.engine, service.directory, risky.calendars, clock())
    assert step.number == number and risk.probability < 0.2 and not risk.at_risk()
    assert notifier.to("jake.miller", "sla_risk") == []
    with Session(service.engine) as s:
        assert s.exec(select(StepRisk)).one().requisition_number == number
    service.approve(Approve(actor="zoe.martin", number=number))
    at(clock, risky, dallas(2026, 11, 3, 10, 0))
    with Session(service.engine) as s:
        assert s.exec(select(StepRisk)).all() == []


def test_a_snooze_and_an_announced_absence_are_read_as_reasons(service, clock, risky):
    """Zoe snoozes her first reminder on Jake's request and has set an out-of-office from Wednesday: the next
    estimate says both."""
    clock.now = dallas(2026, 11, 2, 9, 0)
    number = service.submit(submit()).number
    at(clock, risky, dallas(2026, 11, 2, 13, 0))  # her first reminder
    snooze(service.engine, risky.calendars, Snooze(actor="zoe.martin", number=number, hours=D(4)), clock=clock)
    service.set_delegation(
        SetDelegation(
            actor="zoe.martin",
            delegator="zoe.martin",
            delegate="maria.lopez",
            starts_at=dallas(2026, 11, 4, 0, 0),
            ends_at=dallas(2026, 11, 9, 0, 0),
        )
    )
    [(_, risk)] = estimate(service.engine, service.directory, risky.calendars, dallas(2026, 11, 2, 13, 30))
    assert "Zoe snoozed the reminder" in risk.reasons
    assert "Zoe is out from Wed Nov 04 until Mon Nov 09" in risk.reasons
