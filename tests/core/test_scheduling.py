"""Reminders, SLA escalation, delegation windows, stale questions, digests and snooze, on a controlled clock."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from approvals.commands import Approve, CancelDelegation, RequestInfo, SetDelegation
from approvals.errors import NotAllowed, StaleAction
from approvals.jobqueue import Job
from approvals.models import ApprovalStep, AuditEvent
from approvals.scheduling.actions import SetDigest, Snooze, set_digest, snooze
from tests.factories import submit
from tests.scheduling_support import _reminders, at, dallas


def _job(service, prefix: str) -> Job:
    with Session(service.engine) as s:
        return next(j for j in s.exec(select(Job)).all() if j.dedupe_key.startswith(prefix))


def test_reminder_cadence_follows_the_policy_and_stops_at_the_cap(service, clock, scheduler, notifier):
    """Zoe gets her first reminder 4 business hours after Jake's request, then every 8, and no more than 3."""
    clock.now = dallas(2026, 11, 23, 9, 0)  # Monday
    service.submit(submit())
    at(clock, scheduler, dallas(2026, 11, 23, 12, 59))
    assert _reminders(notifier, "zoe.martin") == []
    at(clock, scheduler, dallas(2026, 11, 23, 13, 0))
    assert len(_reminders(notifier, "zoe.martin")) == 1
    assert "Reminder 1 of 3" in _reminders(notifier, "zoe.martin")[0]
    at(clock, scheduler, dallas(2026, 11, 24, 11, 59))  # 8 business hours later is Tuesday 12:00
    assert len(_reminders(notifier, "zoe.martin")) == 1
    at(clock, scheduler, dallas(2026, 11, 24, 12, 0))
    at(clock, scheduler, dallas(2026, 11, 25, 11, 0))
    texts = _reminders(notifier, "zoe.martin")
    assert [t.split(":")[0] for t in texts] == ["Reminder 1 of 3", "Reminder 2 of 3", "Reminder 3 of 3"]
    at(clock, scheduler, dallas(2026, 11, 25, 14, 59))
    assert len(_reminders(notifier, "zoe.martin")) == 3  # capped


def test_sla_escalates_to_the_approvers_manager_and_then_the_next_level(service, clock, scheduler, notifier):
    """Zoe sits on it past the 24-hour SLA: it goes to Maria, everyone is told; Maria sits on it too: James gets it."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    number = service.submit(submit()).number
    at(clock, scheduler, dallas(2026, 11, 25, 14, 59))
    assert service.get(number).waiting_on == ["zoe.martin"]
    at(clock, scheduler, dallas(2026, 11, 25, 15, 0))  # Mon 8h + Tue 9h + Wed 7h = 24 business hours
    assert sorted(service.get(number).waiting_on) == ["maria.lopez", "zoe.martin"]
    assert [n.kind for n in notifier.to("maria.lopez")] == ["escalated"]
    assert "escalated to Maria Lopez" in notifier.to("zoe.martin", "escalated")[0].text
    assert "Your PR-" in notifier.to("jake.miller", "escalated")[0].text
    # a second tick, a second replica: nothing more
    assert at(clock, scheduler, dallas(2026, 11, 25, 15, 1)).claimed == 0
    at(clock, scheduler, dallas(2026, 12, 2, 11, 59))
    assert "james.carter" not in service.get(number).waiting_on
    at(clock, scheduler, dallas(2026, 12, 2, 12, 0))  # Maria's own 24 business hours (Thanksgiving, Friday off)
    assert "james.carter" in service.get(number).waiting_on
    with Session(service.engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "escalated")).all()
    assert [(e.before["approver"], e.after["approver"]) for e in events] == [
        ("zoe.martin", "maria.lopez"),
        ("maria.lopez", "james.carter"),
    ]  # Zoe's step is not escalated twice
    assert {(e.actor, e.surface) for e in events} == {("scheduler", "scheduler")}
    assert sorted(service.get(number).waiting_on) == ["james.carter", "maria.lopez", "zoe.martin"]


def test_a_decision_in_time_stops_reminders_and_escalation(service, clock, scheduler, notifier):
    """Zoe approves after her first reminder: no more reminders, no escalation."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    number = service.submit(submit()).number
    at(clock, scheduler, dallas(2026, 11, 23, 13, 0))
    service.approve(Approve(actor="zoe.martin", number=number))
    report = at(clock, scheduler, dallas(2026, 12, 7, 12, 0))
    assert report.sent == 0
    assert [p for p, _ in notifier.sent] == ["zoe.martin"]
    assert service.get(number).state == "approved"


def test_sla_clock_skips_the_weekend_and_the_holiday(service, clock, scheduler):
    """Submitted the Wednesday before Thanksgiving at 15:00 in Dallas: the SLA ends the next Wednesday at 12:00."""
    clock.now = dallas(2026, 11, 25, 15, 0)
    service.submit(submit())
    # Wed 2h, Thanksgiving and the Texas day after are holidays, weekend, Mon 9h, Tue 9h, Wed 4h
    assert _job(service, "escalate:").due_at.replace(tzinfo=timezone.utc) == dallas(2026, 12, 2, 12, 0)


def test_reminders_wait_for_working_hours_in_the_approvers_time_zone(service, clock, scheduler, notifier):
    """A reminder due when Zoe has gone home waits for her next morning; on a weekend, for Monday."""
    clock.now = dallas(2026, 11, 27, 16, 0)  # the Friday after Thanksgiving: a Texas holiday
    service.submit(submit())
    assert _job(service, "remind:").due_at.replace(tzinfo=timezone.utc) == dallas(2026, 11, 30, 12, 0)


def test_notices_respect_quiet_hours_in_two_time_zones(service, clock, scheduler, notifier):
    """An escalation notice at 20:30 in New York waits until 07:00 there, while Phoenix (18:30) gets it at once."""
    from approvals.db import transaction
    from approvals.scheduling.plan import enqueue_notice

    clock.now = datetime(2026, 11, 24, 1, 30, tzinfo=timezone.utc)  # Mon 20:30 EST, 18:30 MST
    with transaction(service.engine) as s:
        for person in ("denise.washington", "carlos.mendoza"):
            enqueue_notice(
                s,
                scheduler.calendars,
                key=f"notify:test:{person}",
                person=person,
                kind="escalated",
                message="PR-1 is escalated to you",
                now=clock(),
            )
    scheduler.run_until_idle()
    assert [p for p, _ in notifier.sent] == ["carlos.mendoza"]
    clock.now = datetime(2026, 11, 24, 11, 59, tzinfo=timezone.utc)  # 06:59 in New York
    scheduler.run_until_idle()
    assert len(notifier.sent) == 1
    clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)  # 07:00 in New York
    scheduler.run_until_idle()
    assert [p for p, _ in notifier.sent] == ["carlos.mendoza", "denise.washington"]


def test_delegation_starting_and_ending_mid_sla(service, clock, scheduler, notifier):
    """Zoe is out Tuesday noon to Wednesday noon: Frank is offered her step and reminded; then it is hers again."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    number = service.submit(submit()).number
    service.set_delegation(
        SetDelegation(
            actor="zoe.martin",
            delegator="zoe.martin",
            delegate="frank.novak",
            starts_at=dallas(2026, 11, 24, 12, 0),
            ends_at=dallas(2026, 11, 25, 12, 0),
        )
    )
    at(clock, scheduler, dallas(2026, 11, 23, 13, 0))  # reminder 1, to Zoe
    at(clock, scheduler, dallas(2026, 11, 24, 11, 0))
    assert service.get(number).waiting_on == ["zoe.martin"]
    at(clock, scheduler, dallas(2026, 11, 24, 12, 0))  # the window starts; reminder 2 is due now too
    assert service.get(number).waiting_on == ["frank.novak"]
    assert number in notifier.to("frank.novak", "delegation_started")[0].text
    assert number in notifier.to("zoe.martin", "delegation_started")[0].text
    assert "(for Zoe Martin)" in _reminders(notifier, "frank.novak")[0]
    at(clock, scheduler, dallas(2026, 11, 25, 12, 0))  # the window ends
    assert service.get(number).waiting_on == ["zoe.martin"]
    assert number in notifier.to("zoe.martin", "delegation_ended")[0].text
    assert notifier.to("frank.novak", "delegation_ended")
    at(clock, scheduler, dallas(2026, 11, 25, 15, 0))  # the SLA still counts from Monday: escalation on time
    assert "maria.lopez" in service.get(number).waiting_on


def test_a_window_that_starts_does_not_hand_a_step_to_a_delegate_over_their_limit(service, clock, scheduler, notifier):
    """Zoe's window to Ben (a $0 limit) starts while Jake's request waits: it stays with Zoe, and Ben cannot approve."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    number = service.submit(submit()).number
    service.set_delegation(
        SetDelegation(
            actor="zoe.martin",
            delegator="zoe.martin",
            delegate="ben.turner",
            starts_at=dallas(2026, 11, 23, 10, 0),
            ends_at=dallas(2026, 11, 30, 9, 0),
        )
    )
    at(clock, scheduler, dallas(2026, 11, 23, 10, 0))
    assert service.get(number).waiting_on == ["zoe.martin"]
    with pytest.raises(NotAllowed, match="Ben Turner's approval limit"):
        service.approve(Approve(actor="ben.turner", number=number))


def test_a_cancelled_delegation_is_announced_once(service, clock, scheduler, notifier):
    """Zoe comes back early and cancels: both are told once, even with two ticks."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    service.submit(submit())
    row = service.set_delegation(
        SetDelegation(
            actor="zoe.martin",
            delegator="zoe.martin",
            delegate="frank.novak",
            starts_at=dallas(2026, 11, 23, 10, 0),
            ends_at=dallas(2026, 11, 30, 9, 0),
        )
    )
    at(clock, scheduler, dallas(2026, 11, 23, 10, 0))
    clock.now = dallas(2026, 11, 23, 11, 0)
    service.cancel_delegation(CancelDelegation(actor="zoe.martin", delegation_id=row.id))
    at(clock, scheduler, dallas(2026, 11, 23, 11, 0))
    at(clock, scheduler, dallas(2026, 11, 23, 11, 5))
    assert len(notifier.to("zoe.martin", "delegation_ended")) == 1


def test_snooze_moves_the_next_reminder_but_never_past_the_sla(service, clock, scheduler, notifier, directory):
    """Zoe snoozes for 2 hours and is reminded 2 hours later; snoozing for 72 hours stops at the SLA."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    number = service.submit(submit()).number
    at(clock, scheduler, dallas(2026, 11, 23, 13, 0))
    message = snooze(
        service.engine, scheduler.calendars, Snooze(actor="zoe.martin", number=number, hours=2), clock=clock
    )
    assert "15:00" in message
    at(clock, scheduler, dallas(2026, 11, 23, 14, 59))
    assert len(_reminders(notifier, "zoe.martin")) == 1
    at(clock, scheduler, dallas(2026, 11, 23, 15, 0))
    assert len(_reminders(notifier, "zoe.martin")) == 2
    clock.now = dallas(2026, 11, 25, 10, 0)
    message = snooze(
        service.engine, scheduler.calendars, Snooze(actor="zoe.martin", number=number, hours=Decimal(72)), clock=clock
    )
    assert "that is when it escalates" in message
    with pytest.raises(NotAllowed):
        snooze(service.engine, scheduler.calendars, Snooze(actor="maria.lopez", number=number, hours=2), clock=clock)
    clock.now = dallas(2026, 11, 25, 15, 0)
    with pytest.raises(StaleAction, match="past its SLA"):
        snooze(service.engine, scheduler.calendars, Snooze(actor="zoe.martin", number=number, hours=1), clock=clock)


def test_a_stale_question_closes_the_requisition_with_a_notice(service, clock, scheduler, notifier):
    """Zoe asks Jake a question he never answers: after 40 business hours it is closed and both are told."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    number = service.submit(submit()).number
    service.request_info(RequestInfo(actor="zoe.martin", number=number, question="Which warehouse bay?"))
    at(clock, scheduler, dallas(2026, 11, 27, 12, 0))
    assert service.get(number).state == "needs_info"
    at(clock, scheduler, dallas(2026, 12, 2, 9, 0))
    assert service.get(number).state == "withdrawn"
    assert "had no answer" in notifier.to("jake.miller", "info_expired")[0].text
    assert notifier.to("zoe.martin", "info_expired")
    assert _reminders(notifier, "zoe.martin") == []  # no reminders while the ball was with Jake


def test_daily_digest_per_approver_with_opt_out(service, clock, scheduler, notifier, directory):
    """Each morning Zoe gets one summary of what waits for her; after she turns it off, none."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    first = service.submit(submit()).number
    second = service.submit(submit()).number
    at(clock, scheduler, dallas(2026, 11, 23, 18, 1))  # past midnight UTC: the next day's plan
    at(clock, scheduler, dallas(2026, 11, 24, 8, 0))
    digests = notifier.to("zoe.martin", "digest")
    assert len(digests) == 1 and first in digests[0].text and second in digests[0].text
    set_digest(service.engine, directory, SetDigest(actor="zoe.martin", enabled=False), clock=clock)
    at(clock, scheduler, dallas(2026, 11, 24, 18, 1))
    at(clock, scheduler, dallas(2026, 11, 25, 8, 0))
    assert len(notifier.to("zoe.martin", "digest")) == 1


def test_a_failing_chat_platform_is_retried_not_lost(service, clock, scheduler, notifier):
    """The chat platform is down for Zoe's first reminder: it is sent once the platform is back."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    service.submit(submit())
    notifier.fail_for.add("zoe.martin")
    report = at(clock, scheduler, dallas(2026, 11, 23, 13, 0))
    assert report.failed == 1 and notifier.sent == []
    notifier.fail_for.clear()
    at(clock, scheduler, dallas(2026, 11, 23, 13, 1))
    assert len(_reminders(notifier, "zoe.martin")) == 1


def test_reassigned_step_starts_a_new_reminder_chain(service, clock, scheduler, notifier):
    """An admin moves Zoe's step to Maria: Maria's reminders count from the reassignment."""
    from approvals.commands import Reassign

    clock.now = dallas(2026, 11, 23, 9, 0)
    number = service.submit(submit()).number
    clock.now = dallas(2026, 11, 23, 10, 0)
    service.reassign(
        Reassign(
            actor="sofia.alvarez",
            number=number,
            from_person="zoe.martin",
            to_person="maria.lopez",
            reason="Zoe is on leave",
        )
    )
    at(clock, scheduler, dallas(2026, 11, 23, 14, 0))
    assert len(_reminders(notifier, "maria.lopez")) == 1
    assert _reminders(notifier, "zoe.martin") == []
    with Session(service.engine) as s:
        assert s.exec(select(ApprovalStep).where(ApprovalStep.acting == "maria.lopez")).first() is not None
