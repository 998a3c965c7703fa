"""A realistic half-year for the sample company, lived through the real services on a moving clock.

`seed` starts the runtime with a clock set months back and then lives through them, event by event: people at
the six distribution centers ask for what such a company buys (stretch wrap, forklift tires, hydraulic oil,
laptops, freight, janitorial service, rack bays), in their working hours; the policy routes each request;
approvers decide after delays that depend on who they are and the day of the week (some are quick, two are slow
enough that the scheduler escalates their steps), reject some with a reason, ask for information now and then
(the requester answers, or lets the question expire); two managers are away for a while with a delegate; the
ERP dispatcher turns approvals into purchase orders in the sandbox ERP minutes later, and the warehouses receive
the goods days after. Every change goes through the approval service, the scheduler and the ERP dispatcher on
the injected clock, never written to the tables directly, so the audit chain, the metrics, the what-if replay
and the console read it as they would read real use.

The same seed gives the same company history (the clock's start is a Monday, so weekdays fall alike).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time as wallclock
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from approvals.clock import as_utc
from approvals.commands import AnswerInfo, Approve, Reject, RequestInfo, SetDelegation, SubmitRequisition, Withdraw
from approvals.errors import ProcurebotError
from approvals.inbox import InboxNotice
from approvals.jobqueue import ACTIVE, DEAD, Job
from approvals.models import ApprovalStep, Requisition
from approvals.outbox import CREATE_PO, NOTIFY, ErpPurchaseOrder, retry_dead
from approvals.requisition import RequisitionDraft
from approvals.scheduling.plan import KINDS
from approvals.states import StepState
from connectors.erp.sandbox import SandboxFaults

# who orders what: (requester, site, cost center, [(sku, supplier, quantity range)], requests per week)
ORDERERS: tuple[tuple[str, str, str, tuple[tuple[str, str, int, int], ...], float], ...] = (
    ("emily.davis", "DAL", "DAL-OPS", (("PKG-SW-18", "uline", 10, 60), ("PKG-BOX-2012", "uline", 5, 40)), 4.0),
    ("zoe.martin", "DAL", "DAL-OPS", (("PKG-TAPE-2", "uline", 2, 12), ("OFF-PAPER", "staples", 2, 10)), 2.0),
    (
        "jake.miller",
        "DAL",
        "DAL-MAINT",
        (("MRO-FLT-TIRE", "grainger", 1, 8), ("MRO-HYD-5G", "fastenal", 2, 20), ("MRO-GLV-L", "grainger", 2, 15)),
        3.5,
    ),
    ("maria.lopez", "DAL", "DAL-OPS", (("CAP-RACK-BAY", "grainger", 1, 6), ("FAC-LED-HB", "grainger", 4, 30)), 0.6),
    (
        "luis.garcia",
        "CHI",
        "CHI-OPS",
        (("PKG-SW-18", "uline", 10, 80), ("SVC-LTL", "xpo", 1, 6), ("PKG-PAL-4840", "acme-pallets", 50, 400)),
        3.5,
    ),
    ("frank.novak", "CHI", "CHI-OPS", (("SVC-JAN-MO", "cintas", 1, 6), ("MRO-BRG-6205", "msc", 10, 80)), 0.8),
    ("tasha.reed", "ATL", "ATL-OPS", (("PKG-BOX-2012", "uline", 5, 50), ("PKG-SW-18", "uline", 10, 40)), 3.0),
    ("denise.washington", "ATL", "ATL-OPS", (("FAC-LED-HB", "grainger", 4, 40), ("IT-SCN-RF", "cdw", 1, 8)), 0.8),
    ("mike.obrien", "NJ", "NJ-OPS", (("MRO-HYD-5G", "fastenal", 2, 20), ("MRO-FLT-TIRE", "grainger", 1, 6)), 2.5),
    ("rosa.silva", "PHX", "PHX-OPS", (("PKG-SW-18", "uline", 2, 20), ("PKG-TAPE-2", "uline", 1, 6)), 1.0),
    ("eric.larsen", "SEA", "SEA-OPS", (("MRO-GLV-L", "grainger", 1, 8), ("MRO-BRG-6205", "msc", 5, 40)), 1.5),
    ("raj.patel", "DAL", "CORP-IT", (("IT-LAP-14", "cdw", 1, 6), ("IT-PRN-LBL", "dell", 1, 4)), 1.0),
    ("ben.turner", "CHI", "CORP-FRT", (("SVC-LTL", "fedex-freight", 1, 8),), 1.2),
    ("grace.kim", "ATL", "CORP-FRT", (("SVC-LTL", "xpo", 1, 5),), 1.0),
)
# now and then a request for a blocked supplier: the policy stops it
BLOCKED = ("PKG-PAL-4840", "shady-surplus")

# how long each approver usually takes, in business hours (the median); anyone else: 4
MEDIAN_HOURS = {
    "zoe.martin": 1.5,
    "maria.lopez": 3.0,
    "frank.novak": 2.0,
    "denise.washington": 4.0,
    "paul.russo": 18.0,  # slow: the scheduler escalates many of his
    "carlos.mendoza": 3.0,
    "hannah.berg": 20.0,  # slow too
    "james.carter": 5.0,
    "angela.brooks": 6.0,
    "kevin.nguyen": 8.0,
    "omar.haddad": 4.0,
    "lucy.chen": 3.0,
    "raj.patel": 6.0,
    "tom.becker": 2.0,
    "nina.kowalski": 6.0,
    "sofia.alvarez": 8.0,
    "priya.nair": 5.0,
    "olivia.grant": 3.0,
    "david.okafor": 12.0,
    "marcus.bell": 14.0,
    "catherine.moss": 20.0,
}
WEEKDAY_FACTOR = (1.4, 1.0, 0.9, 1.0, 1.6, 1.0, 1.0)  # Monday's backlog, Friday's short afternoon
REJECT_REASONS = (
    "We have 30 on the shelf in Chicago; transfer those first.",
    "Over what this cost center can carry this quarter; resubmit in the new quarter.",
    "Use the contracted supplier for this item.",
    "Quantity is twice the usual; split it over two months.",
    "Duplicate of a request already approved last week.",
)
QUESTIONS = (
    "Which dock or line is this for?",
    "Is this replacing the units bought in the spring?",
    "Can we get a second quote?",
    "What is the lead time if we order next week instead?",
)
ANSWERS = (
    "Dock 4, the outbound line; the old ones are worn through.",
    "Yes, those failed early; the supplier gave a credit.",
    "Second quote attached in the thread: 8% higher.",
    "Three weeks; we would run out before then.",
)
TEAMS_SITES = ("ATL", "NJ")  # where people use Teams; the rest of the company uses Slack
TEAMS_PEOPLE = ("angela.brooks", "priya.nair", "olivia.grant", "david.okafor", "catherine.moss", "grace.kim")
ERP_KINDS = (CREATE_PO, NOTIFY)  # the ERP dispatcher's retries and notices
DUE_KINDS = (*KINDS, *ERP_KINDS)  # and the scheduler's work
TICK_EVERY = timedelta(hours=2)  # the server ticks every 30 s; two hours late is early enough for a reminder
JUSTIFICATIONS = ("Running low", "Replacement", "Peak season volume", "Planned maintenance", "New customer account")


class MovingClock:
    """The injected clock of the demo: the service, the scheduler and the dispatcher all read `now`."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Figures:
    """What the seeding did, for the command to print."""

    start: datetime
    end: datetime
    submitted: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    purchase_orders: int = 0
    received: int = 0
    escalations: int = 0
    delegations: int = 0
    refused: int = 0  # actions the service refused (someone else had acted first): skipped, as a person would
    seconds: float = 0.0


def monday_before(at: datetime) -> datetime:
    day = at.date() - timedelta(days=at.weekday())
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _lognormal(rng: random.Random, median: float, sigma: float = 0.8) -> float:
    return max(0.05, median * math.exp(rng.gauss(0.0, sigma)))


class History:
    """One run of the half-year (see the module docstring)."""

    def __init__(self, runtime: Any, clock: MovingClock, dispatcher: Any, sandbox: Any, *, seed: int) -> None:
        self.runtime, self.clock, self.dispatcher, self.sandbox = runtime, clock, dispatcher, sandbox
        self.service = runtime.service
        self.directory = runtime.directory
        self.calendars = runtime.scheduler.calendars
        self.rng = random.Random(seed)
        self._events: list[tuple[datetime, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._asked: set[str] = set()
        self._last_tick: datetime | None = None
        self._passes: set[datetime] = set()
        self._scale: dict[str, float] = {}

    # ------------------------------------------------------------------ the event queue
    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self._events, (moment, next(self._seq), action))

    def run(self, start: datetime, end: datetime, per_day: float) -> Figures:
        figures = Figures(start, end)
        self.figures = figures
        began = wallclock.perf_counter()
        self._plan_requests(start, end, per_day)
        self._plan_delegations(start, end)
        self._plan_outages(start, end)
        day = start
        while day < end:  # the warehouses book receipts and the ERP's statuses are read once a day
            self.at(day + timedelta(hours=23), self._close_day)
            day += timedelta(days=1)
        while self._events and self._events[0][0] <= end:
            moment, _, action = heapq.heappop(self._events)
            self.clock.now = max(self.clock.now, moment)
            self._tick()
            try:
                action()
            except ProcurebotError:
                figures.refused += 1
        self.clock.now = end
        self._tick(force=True)
        self.sandbox.faults = SandboxFaults()
        self._read_old_notices(end)
        figures.seconds = wallclock.perf_counter() - began
        with Session(self.runtime.engine) as session:
            figures.states = Counter(
                dict(session.exec(select(Requisition.state, func.count()).group_by(Requisition.state)).all())
            )
            figures.purchase_orders = session.exec(select(func.count()).select_from(ErpPurchaseOrder)).one()
            figures.escalations = session.exec(
                select(func.count()).select_from(ApprovalStep).where(col(ApprovalStep.escalated_from).is_not(None))
            ).one()
            figures.received = session.exec(
                select(func.count()).select_from(ErpPurchaseOrder).where(ErpPurchaseOrder.status == "received")
            ).one()
        return figures

    def _tick(self, *, force: bool = False) -> None:
        """The scheduler's work (reminders, escalations, delegation windows, digests) as the server's ticker would
        do it: when something is due, and once a day for what the scheduler plans itself (the day's digests)."""
        now = self.clock.now
        last = self._last_tick
        new_day = last is None or now.date() != last.date()
        if not (force or new_day):
            if last is not None and now - last < TICK_EVERY:
                return
            if not self._due(DUE_KINDS, now):
                return
        self._last_tick = now
        # the scheduler's run_until_idle, less its last tick (a sweep and a claim that find nothing): one read says
        # whether anything is still due
        for _ in range(1000):
            report = self.runtime.scheduler.tick()
            if report.claimed == 0 or report.claimed == report.deferred or not self._due(KINDS, now):
                break
        if force or self._due(ERP_KINDS, now):
            self._dispatch()  # ERP retries and notices that came due (an idle pass would find nothing)

    def _due(self, kinds: tuple[str, ...], now: datetime) -> bool:
        """Whether any job of these kinds is due by `now` (one read: cheaper than a pass that sweeps and claims)."""
        with self.runtime.engine.connect() as conn:
            due = conn.execute(
                select(func.min(Job.due_at)).where(col(Job.kind).in_(kinds), col(Job.state).in_(ACTIVE))
            ).scalar()
        return due is not None and as_utc(due) <= now

    # ------------------------------------------------------------------ requests
    def _plan_requests(self, start: datetime, end: datetime, per_day: float) -> None:
        total_weight = sum(o[4] for o in ORDERERS)
        planned: list[tuple[datetime, tuple[Any, ...]]] = []
        day = start.date()
        while datetime(day.year, day.month, day.day, tzinfo=timezone.utc) < end:
            if day.weekday() < 5:
                for orderer in ORDERERS:
                    expected = per_day * orderer[4] / total_weight
                    for _ in range(self._poisson(expected)):
                        planned.append((self._working_moment(orderer[1], day), orderer))
                if self.rng.random() < 0.04:  # someone tries a blocked supplier
                    self.at(self._working_moment("CHI", day), self._submit_blocked)
            day += timedelta(days=1)
        self._fit_budgets(Counter(orderer[0] for _, orderer in planned))
        for moment, orderer in planned:
            self.at(moment, lambda o=orderer: self._submit(o))
        # on the last two days, two requests still being written, and a question the requester has not answered yet
        last = end.date()
        for back, action in ((2, self._start_draft), (1, self._start_draft), (1, self._ask_last)):
            day = last - timedelta(days=back)
            while day.weekday() >= 5:
                day -= timedelta(days=1)
            moment = self._working_moment("DAL", day)
            if start < moment < end:
                self.at(moment, action)

    def _poisson(self, mean: float) -> int:
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def _working_moment(self, site: str, day: date) -> datetime:
        """A moment in the site's working day (7:30 to 16:30 local)."""
        tz = ZoneInfo(self._site_tz(site))
        minutes = self.rng.randint(7 * 60 + 30, 16 * 60 + 30)
        local = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=tz)
        return local.astimezone(timezone.utc)

    def _site_tz(self, site: str) -> str:
        found = next((s for s in self.directory.sites if s.code == site), None)
        return (found.timezone if found is not None else None) or "America/Chicago"

    def _fit_budgets(self, requests: Counter[str]) -> None:
        """Order quantities scaled so that each cost center's spend over the history stays within about 80% of
        what its budget has left, as a company plans it; the two sites already at their limit (Phoenix, whose
        budget stops overspend, and Seattle) are left as they are: their requests stop or go to the budget owner."""
        spend: Counter[str] = Counter()
        for requester, _, cost_center, lines, _ in ORDERERS:
            mean = sum(self._price(sku) * Decimal(low + high) / 2 for sku, _, low, high in lines) / len(lines)
            spend[cost_center] += requests[requester] * float(mean)
        self._scale: dict[str, float] = {}
        for cc in self.directory.cost_centers:
            left = float(cc.budget - cc.spent)
            if spend[cc.code] and left > 0.1 * float(cc.budget):
                self._scale[cc.code] = min(1.0, 0.8 * left / spend[cc.code])

    def _price(self, sku: str) -> Decimal:
        item = next((i for i in self.directory.items if i.sku == sku), None)
        return Decimal(str(item.unit_price)) if item is not None and item.unit_price else Decimal("10")

    def _submit(self, orderer: tuple[Any, ...]) -> None:
        requester, site, cost_center, lines, _ = orderer
        sku, supplier, low, high = self.rng.choice(lines)
        quantity = max(1, round(self.rng.randint(low, high) * self._scale.get(cost_center, 1.0)))
        self._send(requester, site, cost_center, sku, supplier, quantity)

    def _submit_blocked(self) -> None:
        self._send("luis.garcia", "CHI", "CHI-OPS", BLOCKED[0], BLOCKED[1], self.rng.randint(50, 200))

    def _ask_last(self) -> None:
        """An approver asks about a request still waiting for them; the requester has not answered yet."""
        with self.runtime.engine.connect() as conn:
            number = conn.execute(
                select(Requisition.number)
                .where(Requisition.state == "pending_approval")
                .order_by(col(Requisition.id).desc())
                .limit(1)
            ).scalar()
        if number is None:
            return
        view = self._now(number)
        if view.waiting_on:
            self._asked.add(number)
            question = "Can this wait until the next delivery from the same supplier?"
            self.service.request_info(
                RequestInfo(
                    actor=view.waiting_on[0], number=number, question=question, surface=self._on(view.waiting_on[0])
                )
            )
            self.figures.decisions["asked"] += 1

    def _start_draft(self) -> None:
        self._send("tasha.reed", "ATL", "ATL-OPS", "PKG-BOX-2012", "uline", self.rng.randint(5, 30), as_draft=True)

    def _send(
        self,
        requester: str,
        site: str,
        cost_center: str,
        sku: str,
        supplier: str,
        quantity: int,
        *,
        as_draft: bool | None = None,
    ) -> None:
        item = next((i for i in self.directory.items if i.sku == sku), None)
        price = Decimal(str(item.unit_price)) if item is not None and item.unit_price else Decimal("10")
        # prices move a little from order to order
        price = (price * Decimal(str(round(self.rng.uniform(0.95, 1.08), 3)))).quantize(Decimal("0.01"))
        urgency = "urgent" if self.rng.random() < 0.08 else "standard"
        draft = RequisitionDraft.model_validate(
            {
                "requester": requester,
                "site": site,
                "cost_center": cost_center,
                "supplier": supplier,
                "urgency": urgency,
                "justification": self.rng.choice(JUSTIFICATIONS),
                "need_by": (self.clock.now + timedelta(days=self.rng.randint(5, 30))).date(),
                "lines": [
                    {
                        "description": item.name if item is not None else sku,
                        "sku": sku,
                        "quantity": quantity,
                        "unit_price": price,
                        "unit": item.unit if item is not None else "each",
                    }
                ],
            }
        )
        if as_draft is None:
            as_draft = self.rng.random() < 0.02  # started, never sent: the scheduler withdraws it after 30 days
        result = self.service.submit(
            SubmitRequisition(actor=requester, draft=draft, as_draft=as_draft, surface=self._on(requester))
        )
        if as_draft:
            return
        self.figures.submitted += 1
        self._after(result.number)

    def _on(self, person_id: str) -> Any:
        """Where the person works: the East (Atlanta, Edison) and finance in Teams, everyone else in Slack."""
        person = self.directory.person(person_id)
        east = person is not None and (person.site in TEAMS_SITES or person_id in TEAMS_PEOPLE)
        return "teams" if east else "slack"

    # ------------------------------------------------------------------ what happens next to a requisition
    def _now(self, number: str) -> Any:
        """The requisition's state, requester and who it waits on (the view's `waiting_on`), read in two queries."""
        with self.runtime.engine.connect() as conn:
            req = conn.execute(
                select(Requisition.id, Requisition.state, Requisition.requester).where(Requisition.number == number)
            ).one()
            waiting = conn.execute(
                select(ApprovalStep.acting).where(
                    ApprovalStep.requisition_id == req.id, ApprovalStep.state == StepState.PENDING
                )
            ).scalars()
            return SimpleNamespace(state=req.state, requester=req.requester, waiting_on=sorted(set(waiting)))

    def _after(self, number: str) -> None:
        """Plan the next thing that happens to `number`, as it stands now."""
        view = self._now(number)
        if view.state == "pending_approval" and view.waiting_on:
            if self.rng.random() < 0.015:  # the requester changes their mind
                later = self.calendars.for_person(view.requester).add(self.clock.now, self.rng.uniform(1, 12))
                self.at(later, lambda: self._withdraw(number, view.requester))
                return
            person = view.waiting_on[0]
            self.at(self._decision_time(person), lambda: self._decide(number, person))
        elif view.state == "po_pending":
            # the dispatcher's next pass, within a quarter of an hour
            now = self.clock.now
            slot = now + timedelta(minutes=15 - now.minute % 15, seconds=-now.second, microseconds=-now.microsecond)
            if slot not in self._passes:
                self._passes.add(slot)
                self.at(slot, self._dispatch)

    def _decision_time(self, person: str) -> datetime:
        now = self.clock.now
        factor = WEEKDAY_FACTOR[now.weekday()]
        hours = _lognormal(self.rng, MEDIAN_HOURS.get(person, 4.0) * factor)
        return self.calendars.for_person(person).add(now, hours)

    def _decide(self, number: str, planned: str) -> None:
        view = self._now(number)
        if view.state != "pending_approval" or not view.waiting_on:
            return  # withdrawn, or moved on
        # the planned approver, or whoever holds it now (the scheduler escalated it, a delegate took it over)
        person = planned if planned in view.waiting_on else view.waiting_on[0]
        if person != planned:
            self.at(self._decision_time(person), lambda: self._decide(number, person))
            return
        roll = self.rng.random()
        if roll < 0.06:
            self.service.reject(
                Reject(actor=person, number=number, reason=self.rng.choice(REJECT_REASONS), surface=self._on(person))
            )
            self.figures.decisions["rejected"] += 1
            return
        if roll < 0.15 and number not in self._asked:
            self._asked.add(number)
            question = self.rng.choice(QUESTIONS)
            self.service.request_info(
                RequestInfo(actor=person, number=number, question=question, surface=self._on(person))
            )
            self.figures.decisions["asked"] += 1
            if self.rng.random() < 0.9:  # else the question expires and the scheduler withdraws the request
                later = self.calendars.for_person(view.requester).add(self.clock.now, self.rng.uniform(0.5, 8))
                self.at(later, lambda: self._answer(number, view.requester))
            return
        self.service.approve(Approve(actor=person, number=number, surface=self._on(person)))
        self.figures.decisions["approved"] += 1
        self._after(number)

    def _answer(self, number: str, requester: str) -> None:
        if self._now(number).state != "needs_info":
            return
        self.service.answer_info(
            AnswerInfo(actor=requester, number=number, answer=self.rng.choice(ANSWERS), surface=self._on(requester))
        )
        self.figures.decisions["answered"] += 1
        self._after(number)

    def _withdraw(self, number: str, requester: str) -> None:
        if self._now(number).state in ("pending_approval", "needs_info"):
            self.service.withdraw(
                Withdraw(actor=requester, number=number, reason="Not needed any more", surface=self._on(requester))
            )
            self.figures.decisions["withdrawn"] += 1

    # ------------------------------------------------------------------ the ERP
    def _dispatch(self) -> None:
        """The dispatcher sends what is due to the sandbox ERP (a few minutes after the approval)."""
        self.dispatcher.run_once()  # one pass takes up to 50 due jobs: more than a quarter of an hour brings

    def _close_day(self) -> None:
        """End of the day at the warehouses: goods arrive for orders a few working days old, and their status is
        recorded as the dispatcher's status sync records it (requesters hear of receipts)."""
        now = self.clock.now
        with Session(self.runtime.engine) as session:
            open_pos = session.exec(
                select(ErpPurchaseOrder).where(ErpPurchaseOrder.status.in_(("open", "partially_received")))  # type: ignore[attr-defined]
            ).all()
        for po in open_pos:
            age = now - as_utc(po.created_at)
            if age < timedelta(days=3) or self.rng.random() >= 0.35:  # about a week from order to dock
                continue
            status = "partially_received" if po.status == "open" and self.rng.random() < 0.15 else "received"
            moved = self.sandbox.move(po.po_number, status)
            # what the dispatcher's status sync records for each PO it asks about (here: the ones that moved)
            self.dispatcher.outbox.record_status(po.requisition_number, moved.status, moved.received_fraction)

    def _plan_outages(self, start: datetime, end: datetime) -> None:
        """The ERP is down one afternoon in the third month: POs approved then fail until the dispatcher gives up,
        the buyers are told, and Ben retries them the next morning. It is down again for the last hours, so some
        requests wait for their PO now (and can be retried from the web chat or `procurebot erp retry`)."""
        down = monday_before(start + (end - start) * 0.45) + timedelta(days=1, hours=18)  # a Tuesday, 12:00 Central
        self._outage(down, down + timedelta(hours=6))
        self.at(down + timedelta(hours=21), self._retry_failed)  # 9:00 Central the next day
        # ...and since 10:00 Central on the last working day: those POs failed, the buyers have been told
        last = end - timedelta(days=1)
        while last.weekday() >= 5:
            last -= timedelta(days=1)
        self._outage(datetime(last.year, last.month, last.day, 16, tzinfo=timezone.utc), end)

    def _outage(self, down: datetime, up: datetime) -> None:
        """The ERP answers 500 from `down` to `up`; the dispatcher keeps trying, as a server's does."""
        self.at(down, lambda: self._erp_down(True))
        moment = down
        while moment < up:
            moment += timedelta(minutes=20)
            self.at(moment, self._dispatch)
        self.at(up, lambda: self._erp_down(False))

    def _erp_down(self, down: bool) -> None:
        self.sandbox.faults = SandboxFaults(rates={"500": 1.0}) if down else SandboxFaults()

    def _retry_failed(self) -> None:
        with Session(self.runtime.engine) as session:
            keys = session.exec(select(Job.dedupe_key).where(Job.kind == CREATE_PO, Job.state == DEAD)).all()
        for key in keys:
            number = key.split(":", 1)[1]
            retry_dead(self.runtime.engine, self.directory, number, actor="ben.turner", now=self.clock.now)
        self._dispatch()

    # ------------------------------------------------------------------ managers away
    def _plan_delegations(self, start: datetime, end: datetime) -> None:
        """Maria is away a week in the second month (James approves for her); James ten days in the last weeks
        (Angela approves for him). Each is set a week ahead, as people do."""
        span = end - start
        for delegator, delegate, at_fraction, days in (
            ("maria.lopez", "james.carter", 0.25, 7),
            ("james.carter", "angela.brooks", 0.84, 10),
        ):
            begins = monday_before(start + span * at_fraction) + timedelta(hours=6)
            if begins - timedelta(days=7) <= start or begins + timedelta(days=days) >= end:
                continue
            self.at(
                begins - timedelta(days=7),
                lambda a=delegator, b=delegate, s=begins, d=days: self._delegate(a, b, s, s + timedelta(days=d)),
            )

    def _delegate(self, delegator: str, delegate: str, starts: datetime, ends: datetime) -> None:
        self.service.set_delegation(
            SetDelegation(
                actor=delegator,
                surface=self._on(delegator),
                delegator=delegator,
                delegate=delegate,
                starts_at=starts,
                ends_at=ends,
                reason="Vacation",
            )
        )
        self.figures.delegations += 1

    # ------------------------------------------------------------------ the inbox
    def _read_old_notices(self, end: datetime) -> None:
        """People read their messages: what reached the web chat more than three days before the end is read."""
        cutoff = end - timedelta(days=3)
        table = InboxNotice.__table__  # type: ignore[attr-defined]
        with self.runtime.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.created_at < cutoff, table.c.read_at.is_(None))
                .values(read_at=table.c.created_at, shown_at=table.c.created_at)
            )
