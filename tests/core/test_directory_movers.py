"""Leavers and movers when a new directory version is activated: who is told, who stops hearing, and what the
policy's on_directory_change does to the steps in flight."""

from __future__ import annotations

from typing import Any

import yaml
from sqlmodel import Session, select

from approvals.db import transaction
from approvals.directory import Directory, dump_directory
from approvals.directory_changes import activate
from approvals.jobqueue import Job
from approvals.policy import LoadedPolicy
from approvals.policy.loader import load_policy_text
from approvals.policy_store import install_policy
from approvals.workflow import ApprovalService
from tests.factories import boxes, submit
from tests.scheduling_support import dallas


def _changed(directory: Directory, **people: dict[str, Any]) -> Directory:
    """The directory with some people's fields changed."""
    data = directory.model_dump()
    for person in data["people"]:
        person.update(people.get(person["id"], {}))
    return Directory.model_validate(data)


def _eric(service: ApprovalService) -> str:
    number = service.submit(
        submit(requester="eric.larsen", site="SEA", cost_center="SEA-OPS", lines=[boxes(60)])
    ).number
    assert service.get(number).waiting_on == ["hannah.berg"]
    return number


def _notices(engine: Any) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.exec(select(Job).where(Job.kind == "notify")).all()
    return {r.payload["person"]: r.payload["text"] for r in rows}


def test_the_requester_and_the_new_approver_are_told_why(service, directory):
    """Hannah leaves: Eric is told his request moved and why, and Marcus is told it now waits on him."""
    number = _eric(service)
    result = activate(service, dump_directory(_changed(directory, **{"hannah.berg": {"active": False}})))
    assert result.changed and "Hannah Berg has left; the step moved to Marcus Bell" in result.moved[0]
    told = _notices(service.engine)
    assert told["eric.larsen"].startswith(f"{number}: Hannah Berg has left; the step moved to Marcus Bell")
    assert (
        told["marcus.bell"].startswith(f"{number} (")
        and "now waits on you: Hannah Berg has left" in told["marcus.bell"]
    )


def test_a_leaver_gets_no_more_reminders(service, directory, scheduler, notifier, clock):
    """Hannah has left and her step could not move yet: the step's reminders are not sent to her."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    _eric(service)
    gone = _changed(directory, **{"hannah.berg": {"active": False}})
    service.directory = scheduler.directory = gone
    scheduler.calendars.directory = gone
    clock.now = dallas(2026, 11, 24, 15, 0)  # well past the first reminder
    scheduler.run_until_idle()
    assert notifier.to("hannah.berg") == []


def _policy(policy: LoadedPolicy, **settings: Any) -> LoadedPolicy:
    data = yaml.safe_load(policy.source)
    data.setdefault("settings", {}).update(settings)
    data["policy"]["version"] = data["policy"]["version"] + "-moves"
    return load_policy_text(yaml.safe_dump(data, sort_keys=False), "policy-moves.yaml")


def test_by_default_a_step_in_flight_keeps_its_approver(service, directory):
    """Eric moves under Carlos: with the default on_directory_change (keep), his request stays with Hannah."""
    number = _eric(service)
    activate(service, dump_directory(_changed(directory, **{"eric.larsen": {"manager": "carlos.mendoza"}})))
    assert service.get(number).waiting_on == ["hannah.berg"]


def test_re_resolve_moves_a_step_to_whom_the_rule_names_now(engine, directory, policy, clock):
    """Under a policy that says on_directory_change: re-resolve, Eric's move under Carlos moves his pending
    manager step to Carlos, audited as a reassignment by the directory."""
    with transaction(engine) as session:
        install_policy(session, _policy(policy, on_directory_change="re-resolve"), at=clock())
    service = ApprovalService(engine, directory, clock=clock)
    number = _eric(service)
    result = activate(service, dump_directory(_changed(directory, **{"eric.larsen": {"manager": "carlos.mendoza"}})))
    assert service.get(number).waiting_on == ["carlos.mendoza"]
    assert any("Hannah Berg -> Carlos Mendoza (the directory changed" in line for line in result.moved)


def _hannah_out(engine: Any, clock: Any, days: int = 4) -> None:
    from datetime import timedelta

    from approvals.absences import Seen, record

    with transaction(engine) as session:
        record(session, [Seen("hannah.berg", "scheduled", clock.now, clock.now + timedelta(days=days))], clock.now)


def test_with_absence_skip_the_first_reminder_moves_the_step_to_a_manager(engine, directory, policy, clock):
    """Hannah is out of office and named nobody; under absence: skip, Eric's step leaves her at its first reminder
    for the nearest manager who may take it (Kevin approves a later stage, so Marcus)."""
    from approvals.scheduling.calendar import Calendars
    from approvals.scheduling.plan import Planner, SchedulerConfig
    from approvals.scheduling.runner import Scheduler
    from bot.notify import RecordingNotifier

    with transaction(engine) as session:
        install_policy(session, _policy(policy, absence="skip"), at=clock())
    service = ApprovalService(engine, directory, clock=clock)
    config = SchedulerConfig()
    calendars = Calendars(directory, config.hours)
    service.in_transaction.append(Planner(directory, calendars, config))
    notifier = RecordingNotifier()
    scheduler = Scheduler(service, notifier, config=config, clock=clock, worker_id="test", calendars=calendars)
    clock.now = dallas(2026, 11, 23, 9, 0)
    number = _eric(service)
    _hannah_out(engine, clock)
    clock.now = dallas(2026, 11, 24, 15, 0)
    scheduler.run_until_idle()
    assert service.get(number).waiting_on == ["marcus.bell"]
    assert [n for n in notifier.to("hannah.berg") if n.kind == "reminder"] == []


def test_by_default_an_absent_approvers_step_waits(service, scheduler, notifier, clock, engine):
    """Under the default absence: wait, Hannah's step stays with her and her reminder still comes."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    number = _eric(service)
    _hannah_out(engine, clock)
    clock.now = dallas(2026, 11, 24, 15, 0)
    scheduler.run_until_idle()
    assert service.get(number).waiting_on == ["hannah.berg"]
    assert notifier.to("hannah.berg", "reminder")


def _regional_moves(directory: Directory) -> Directory:
    """Dallas moves from James Carter's region to Angela Brooks's."""
    return _changed(
        directory,
        **{
            "james.carter": {"roles": [{"role": "regional_ops_director", "sites": ["CHI"]}]},
            "angela.brooks": {"roles": [{"role": "regional_ops_director", "sites": ["ATL", "NJ", "DAL"]}]},
        },
    )


def test_re_resolve_also_moves_a_later_stages_waiting_step(engine, directory, policy, clock):
    """Under re-resolve, Jake's $9,600 request waits on Maria (site approval) with James next (regional ops): Dallas
    moves to Angela's region, so the waiting regional step is Angela's, audited, and Maria's approval reaches her."""
    from approvals.commands import Approve
    from approvals.models import AuditEvent

    with transaction(engine) as session:
        install_policy(session, _policy(policy, on_directory_change="re-resolve"), at=clock())
    service = ApprovalService(engine, directory, clock=clock)
    number = service.submit(submit(lines=[boxes(200)])).number
    assert [s.approver for s in service.get(number).steps] == ["maria.lopez", "james.carter"]
    result = activate(service, dump_directory(_regional_moves(directory)))
    assert any("James Carter -> Angela Brooks" in line for line in result.moved), result.moved
    assert [s.approver for s in service.get(number).steps] == ["maria.lopez", "angela.brooks"]
    with Session(engine) as session:
        moved = session.exec(select(AuditEvent).where(AuditEvent.kind == "reassigned")).all()
    assert [(e.actor, e.after["approver"]) for e in moved] == [("directory", "angela.brooks")]
    service.approve(Approve(actor="maria.lopez", number=number))
    assert service.get(number).waiting_on == ["angela.brooks"]


def test_by_default_a_later_stage_keeps_its_approver(service, directory):
    """With the default (keep), the same region change leaves the waiting regional step with James."""
    number = service.submit(submit(lines=[boxes(200)])).number
    activate(service, dump_directory(_regional_moves(directory)))
    assert [s.approver for s in service.get(number).steps] == ["maria.lopez", "james.carter"]
