"""Recurring purchases: approved once for the whole, then one PO per release on its schedule, exactly once."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from factories import submit
from sqlmodel import Session, select

from approvals import recurring
from approvals.audit import verify_chain
from approvals.commands import ChangeSchedule
from approvals.errors import NotAllowed, NotFound, StaleAction, ValidationFailed
from approvals.jobqueue import Job
from approvals.models import AuditEvent
from approvals.outbox import CREATE_PO, ErpPurchaseOrder
from approvals.recurring import RecurringSchedule
from approvals.requisition import ScheduleDraft, nth_release, release_count
from approvals.scheduling.runner import Scheduler
from bot.erp_dispatcher import ErpDispatcher
from connectors.erp.config import ErpSettings
from connectors.erp.sandbox import SandboxErp, SandboxPurchaseOrder

ROLLS = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 12, "unit_price": 32}


class Inbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    def send(self, person_id, notice):  # type: ignore[no-untyped-def]
        self.sent.append((person_id, notice))
        return f"msg-{len(self.sent)}"


def _dispatcher(engine, directory, clock, inbox, worker="w1"):  # type: ignore[no-untyped-def]
    settings = ErpSettings(_env_file=None, erp_max_attempts=4, erp_backoff_base_seconds=2, erp_backoff_max_seconds=60)
    return ErpDispatcher(
        engine, directory, SandboxErp(engine, directory), inbox, settings=settings, clock=clock, worker_id=worker
    )


def _monthly(service, releases=12, **schedule):  # type: ignore[no-untyped-def]
    recurring.install(service)
    result = service.submit(
        submit("jake.miller", lines=[ROLLS], schedule={"period": "month", "releases": releases, **schedule})
    )
    assert result.outcome == "auto_approved", result.message
    return result.number


def _pos(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return sorted(p.requisition_number for p in s.exec(select(ErpPurchaseOrder)).all())


def _run(service, engine, directory, clock, inbox=None):  # type: ignore[no-untyped-def]
    """One scheduler tick and one dispatcher pass, as a running server does."""
    Scheduler(service, Inbox(), clock=clock).run_until_idle()
    _dispatcher(engine, directory, clock, inbox if inbox is not None else Inbox()).drain()


def test_monthly_from_january_31_keeps_to_each_months_last_day():
    """Jan 31 monthly is Feb 28, Mar 31, Apr 30; a leap year's Feb 29 yearly is Feb 28 the next year."""
    first = date(2027, 1, 31)
    assert [nth_release(first, "month", n) for n in range(4)] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]
    assert nth_release(date(2028, 2, 29), "year", 1) == date(2029, 2, 28)
    assert nth_release(date(2027, 11, 30), "quarter", 1) == date(2028, 2, 29)
    assert nth_release(date(2027, 12, 30), "week", 1) == date(2028, 1, 6)
    by_end = ScheduleDraft(period="month", end=date(2027, 6, 30))
    assert release_count(by_end, date(2027, 1, 31)) == 6  # Jan 31 .. Jun 30


def test_a_schedule_with_no_end_is_refused_with_how_to_give_one():
    """A schedule with neither a number of releases nor an end date is refused, saying what to add."""
    with pytest.raises(ValueError, match="needs an end"):
        ScheduleDraft(period="month")


def test_the_policy_sees_the_whole_commitment_and_the_period(service, engine):
    """Routing sees the total of all releases and recurring.period/releases/per_release."""
    number = _monthly(service)
    with Session(engine) as s:
        from approvals.models import Requisition

        req = s.exec(select(Requisition).where(Requisition.number == number)).one()
        assert Decimal(req.facts["amount"]) == Decimal("384.00")
        assert req.facts["recurring.period"] == "month"
        assert Decimal(req.facts["recurring.releases"]) == 12
        assert Decimal(req.facts["recurring.per_release"]) == Decimal("32.00")
        assert req.recurring and req.state == "po_pending"
        # no PO job for the whole: one per release, made on schedule
        assert s.exec(select(Job).where(Job.dedupe_key == f"{CREATE_PO}:{number}")).first() is None


def test_lines_that_do_not_split_into_the_releases_are_refused(service):
    """10 rolls over 12 releases would order 0.8333 rolls each: refused with what to give instead."""
    recurring.install(service)
    lines = [{**ROLLS, "quantity": 10}]
    with pytest.raises(ValidationFailed, match="does not split into 12 equal releases"):
        service.submit(submit("jake.miller", lines=lines, schedule={"period": "month", "releases": 12}))


def test_releases_come_due_with_the_clock_each_once_with_a_notice(service, engine, directory, clock):
    """The first release is made at approval; moving the clock a month makes the second; two dispatchers and two
    schedulers never make one twice; Jake hears about each release."""
    number = _monthly(service)
    inbox = Inbox()
    _run(service, engine, directory, clock, inbox)
    assert _pos(engine) == [f"{number}-R01"]
    assert service.view(number).state == "po_created"
    _run(service, engine, directory, clock, inbox)  # nothing new is due
    assert _pos(engine) == [f"{number}-R01"]
    clock.advance(days=31)
    Scheduler(service, Inbox(), clock=clock, worker_id="s1").run_until_idle()
    Scheduler(service, Inbox(), clock=clock, worker_id="s2").run_until_idle()
    a, b = _dispatcher(engine, directory, clock, inbox, "w1"), _dispatcher(engine, directory, clock, inbox, "w2")
    a.run_once()
    b.run_once()
    a.drain()
    b.drain()
    assert _pos(engine) == [f"{number}-R01", f"{number}-R02"]
    with Session(engine) as s:
        erp = s.exec(select(SandboxPurchaseOrder)).all()
        assert sorted(p.reference for p in erp) == [f"{number}-R01", f"{number}-R02"]
        assert all(p.total == Decimal("32.00") for p in erp)  # one roll a release
    texts = [n.text for p, n in inbox.sent if p == "jake.miller"]
    assert any(t.startswith(f"Release 1 of 12 of {number} is now purchase order") for t in texts)
    assert any(t.startswith(f"Release 2 of 12 of {number}") for t in texts)


def test_releases_due_while_the_server_was_down_are_made_once_each(service, engine, directory, clock):
    """Nothing ran for three months: the three missed releases are each made once when it comes back."""
    number = _monthly(service)
    clock.advance(days=95)
    _run(service, engine, directory, clock)
    _run(service, engine, directory, clock)
    assert _pos(engine) == [f"{number}-R0{i}" for i in range(1, 5)]


def test_pause_skips_the_releases_due_while_paused_and_resume_goes_on(service, engine, directory, clock):
    """Paused before the second release, it is skipped; resumed, the third is made on its date."""
    number = _monthly(service)
    _run(service, engine, directory, clock)
    result = service.change_schedule(ChangeSchedule(actor="jake.miller", number=number, action="pause"))
    assert "paused" in result.message
    view = service.view(number)
    assert view.schedule_state == "paused"
    assert view.schedule is not None and view.schedule.startswith("Monthly, 12 releases from 2026-11-23: 1 made")
    clock.advance(days=31)
    _run(service, engine, directory, clock)
    assert _pos(engine) == [f"{number}-R01"]
    service.change_schedule(ChangeSchedule(actor="jake.miller", number=number, action="resume"))
    clock.advance(days=30)
    _run(service, engine, directory, clock)
    assert _pos(engine) == [f"{number}-R01", f"{number}-R03"]
    with Session(engine) as s:
        row = s.exec(select(RecurringSchedule).where(RecurringSchedule.number == number)).one()
        assert (row.made, row.skipped, row.state) == (2, 1, "active")


def test_end_stops_every_release_to_come_and_the_budget_lets_them_go(service, engine, directory, clock):
    """Ended after the first release, nothing more is ordered and the cost center's committed spend drops by the
    eleven releases that will not be made."""
    number = _monthly(service)
    _run(service, engine, directory, clock)
    with Session(engine) as s:
        before = service.committed_spend(s, "DAL-OPS")
    assert before >= Decimal("384.00")
    service.change_schedule(ChangeSchedule(actor="jake.miller", number=number, action="end"))
    with Session(engine) as s:
        assert service.committed_spend(s, "DAL-OPS") == before - Decimal("352.00")
    clock.advance(days=400)
    _run(service, engine, directory, clock)
    assert _pos(engine) == [f"{number}-R01"]
    with pytest.raises(StaleAction, match="nothing to resume"):
        service.change_schedule(ChangeSchedule(actor="jake.miller", number=number, action="resume"))


def test_only_the_requester_or_a_buyer_changes_the_schedule(service, engine, directory, clock):
    """The finance controller, who can see it, is refused; another technician gets the not-found answer; a buyer
    may pause it, and Jake is told."""
    number = _monthly(service)
    with pytest.raises(NotAllowed, match="or a buyer"):
        service.change_schedule(ChangeSchedule(actor="priya.nair", number=number, action="pause"))
    with pytest.raises(NotFound):
        service.change_schedule(ChangeSchedule(actor="mike.obrien", number=number, action="pause"))
    service.change_schedule(ChangeSchedule(actor="grace.kim", number=number, action="pause"))
    with Session(engine) as s:
        told = s.exec(select(Job).where(Job.kind == "notify")).all()
        assert any(j.payload.get("person") == "jake.miller" and "paused" in j.payload["text"] for j in told)


def test_a_first_release_in_the_past_is_refused(service, clock):
    """A first release before today is refused by date."""
    recurring.install(service)
    past = (clock() - timedelta(days=2)).date()
    with pytest.raises(ValidationFailed, match="in the past"):
        service.submit(
            submit("jake.miller", lines=[ROLLS], schedule={"period": "month", "releases": 12, "first_release": past})
        )


def test_an_invoiced_release_is_booked_by_the_erp_not_committed_twice(service, engine, directory, clock):
    """Against the ERP's budget, the first month's PO closed (invoiced) leaves committed spend: the ERP books it;
    when the second month's goods are received, Jake hears it."""
    from approvals import master_data
    from approvals.master_data import budget_lines

    erp = SandboxErp(engine, directory)
    master_data.sync(engine, erp)
    number = _monthly(service)
    inbox = Inbox()
    _run(service, engine, directory, clock, inbox)

    def committed() -> Decimal:
        return {x.cost_center: x for x in budget_lines(engine, directory, "sandbox")}["DAL-OPS"].committed

    assert committed() == Decimal("384")
    with Session(engine) as s:
        po = s.exec(select(ErpPurchaseOrder).where(ErpPurchaseOrder.requisition_number == f"{number}-R01")).one()
    erp.move(po.po_number, "received")
    erp.move(po.po_number, "closed")
    d = _dispatcher(engine, directory, clock, inbox)
    d.sync_statuses()
    assert committed() == Decimal("352")  # eleven months still to come
    clock.advance(days=31)
    _run(service, engine, directory, clock, inbox)
    with Session(engine) as s:
        second = s.exec(select(ErpPurchaseOrder).where(ErpPurchaseOrder.requisition_number == f"{number}-R02")).one()
    erp.move(second.po_number, "received")
    d.sync_statuses()
    d.drain()
    assert any(p == "jake.miller" and f"{number}-R02" in n.text and "received" in n.text for p, n in inbox.sent)


def test_a_release_the_erp_refuses_is_parked_and_a_buyer_retries_it_alone(service, engine, directory, clock):
    """The ERP refuses the first release for good: it is parked (the buyers told, with Retry), nothing else is
    made twice; Ben's retry of PR-...-R01 makes that release once."""
    from approvals.outbox import retry_dead
    from connectors.erp.base import PermanentError

    number = _monthly(service)
    erp = SandboxErp(engine, directory)

    class Refusing:
        name = erp.name

        def create_po(self, order, progress=None):  # type: ignore[no-untyped-def]
            raise PermanentError("vendor on hold", status=422)

    settings = ErpSettings(_env_file=None, erp_max_attempts=4, erp_backoff_base_seconds=2, erp_backoff_max_seconds=60)
    inbox = Inbox()
    Scheduler(service, Inbox(), clock=clock).run_until_idle()
    ErpDispatcher(engine, directory, Refusing(), inbox, settings=settings, clock=clock).drain()  # type: ignore[arg-type]
    assert _pos(engine) == []
    assert any(n.kind == "erp_failed" and f"{number}-R01" in n.text for _, n in inbox.sent)
    said = retry_dead(engine, directory, f"{number}-R01", actor="ben.turner", now=clock())
    assert said == f"{number}-R01 will be sent to the ERP again now."
    _run(service, engine, directory, clock)
    assert _pos(engine) == [f"{number}-R01"]


def test_a_release_comes_due_at_midnight_in_the_sites_time_zone_not_utc(service, engine, directory, clock):
    """A Seattle schedule's first release is not made a minute before midnight in Los Angeles, and is a minute
    after it, though UTC midnight passed hours before."""
    recurring.install(service)
    first = clock().date() + timedelta(days=3)
    result = service.submit(
        submit(
            "jake.miller",
            site="SEA",
            cost_center="SEA-OPS",
            lines=[ROLLS],
            schedule={"period": "month", "releases": 12, "first_release": first.isoformat()},
        )
    )
    assert result.outcome == "auto_approved", result.message
    assert directory.site_by_code["SEA"].timezone == "America/Los_Angeles"
    midnight = datetime.combine(first, time(0), tzinfo=ZoneInfo("America/Los_Angeles")).astimezone(timezone.utc)
    clock.now = midnight - timedelta(minutes=1)
    assert clock.now.date() == first  # UTC's day has begun
    _run(service, engine, directory, clock)
    assert _pos(engine) == []
    clock.now = midnight + timedelta(minutes=1)
    _run(service, engine, directory, clock)
    assert _pos(engine) == [f"{result.number}-R01"]


def test_a_first_release_of_today_means_today_at_the_site_not_in_utc(service, engine, directory, clock):
    """At 7 pm in Seattle (already tomorrow in UTC) a schedule starting today is taken, and one with no first
    release starts today there, made at once."""
    recurring.install(service)
    seattle = ZoneInfo("America/Los_Angeles")
    today = clock().astimezone(seattle).date() + timedelta(days=1)
    clock.now = datetime.combine(today, time(19), tzinfo=seattle).astimezone(timezone.utc)
    assert clock.now.date() > today  # UTC is on the next day
    numbers = []
    for first in ({"first_release": today.isoformat()}, {}):
        schedule = {"period": "month", "releases": 12, **first}
        result = service.submit(
            submit("jake.miller", site="SEA", cost_center="SEA-OPS", lines=[ROLLS], schedule=schedule)
        )
        assert result.outcome == "auto_approved", result.message
        numbers.append(result.number)
    _run(service, engine, directory, clock)
    assert _pos(engine) == sorted(f"{n}-R01" for n in numbers)
    assert all(service.schedule(n).first_release == today for n in numbers)


class _RefusesTheQuote:
    """The sandbox ERP, except that it takes each release's PO without the supplier's quote (as a real ERP may)."""

    def __init__(self, inner: SandboxErp) -> None:
        self.inner, self.name = inner, inner.name

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def create_po(self, order, progress=None):  # type: ignore[no-untyped-def]
        po = self.inner.create_po(order, progress)
        return replace(po, attachment_problems=("Service quote.pdf: the ERP refused the file (422)",))


def test_a_release_made_without_a_file_is_on_the_timeline_and_told(service, engine, directory, clock):
    """The ERP takes release 1 of Jake's monthly order without its quote: the PO stands, the requisition's timeline
    says which file did not reach the ERP and why, and the buyers and Jake are told once."""
    number = _monthly(service)
    Scheduler(service, Inbox(), clock=clock).run_until_idle()
    inbox = Inbox()
    settings = ErpSettings(_env_file=None, erp_max_attempts=4, erp_backoff_base_seconds=2, erp_backoff_max_seconds=60)
    erp = _RefusesTheQuote(SandboxErp(engine, directory))
    ErpDispatcher(engine, directory, erp, inbox, settings=settings, clock=clock, worker_id="w1").drain()  # type: ignore[arg-type]
    assert _pos(engine) == [f"{number}-R01"]
    with Session(engine) as s:
        [event] = [
            e
            for e in s.exec(select(AuditEvent).where(AuditEvent.requisition_number == number))
            if e.kind == "po_files_missing"
        ]
        assert verify_chain(s).ok
    assert event.after is not None and event.after["release"] == f"{number}-R01"
    assert event.after["files"] == [{"filename": "Service quote.pdf", "reason": "the ERP refused the file (422)"}]
    told = sorted(p for p, n in inbox.sent if getattr(n, "kind", "") == "po_files_missing")
    assert told == ["ben.turner", "grace.kim", "jake.miller"]
