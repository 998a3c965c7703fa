"""One scheduler tick: claim what is due, do it, record it. Safe on any number of replicas.

A tick (1) makes sure the day's digest plan and every delegation window's start and end are
rows in the queue (dedupe keys make this idempotent across replicas), then (2) claims up to
`batch` due rows under a lease and handles each by kind. Every message is sent once per row:
right after a send the row is finished (or moved to the next reminder) in its own short
transaction, and a row that comes back after a crash with a message reference is not sent
again. Actions on requisitions go through the approval service with the row's key as the
idempotency key, so a retried escalation replays instead of escalating twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable

from sqlalchemy import func
from sqlmodel import Session, col, select

from approvals import correlation, jobqueue, recurring
from approvals.clock import Clock, as_utc
from approvals.commands import Escalate, Withdraw
from approvals.db import transaction
from approvals.errors import IllegalTransition, ProcurebotError, StaleAction
from approvals.jobqueue import ClaimedJob, JobQueue
from approvals.models import ApprovalStep, InfoRequest, Requisition
from approvals.notices import Notice, Notifier
from approvals.scheduling import risk, text, weekly, windows
from approvals.scheduling.calendar import Calendars
from approvals.scheduling.models import NotificationPreference
from approvals.scheduling.plan import KINDS, SchedulerConfig, enqueue_notice, remind_key, sla_deadline
from approvals.states import StepState
from approvals.workflow import ApprovalService

log = logging.getLogger("procurebot.scheduler")
ACTOR = "scheduler"
OPEN_FOR_APPROVAL = ("pending_approval", "needs_info")


@dataclass
class TickReport:
    claimed: int = 0
    sent: int = 0  # messages delivered
    done: int = 0  # rows finished (sent, acted on, or no longer needed)
    skipped: int = 0  # no longer needed (the step was decided, the question answered)
    deferred: int = 0  # waiting for working hours / the end of quiet hours
    failed: int = 0  # will be retried, or parked as dead
    kinds: dict[str, int] = field(default_factory=dict)


class Scheduler:
    """Processes the due rows of the job queue for the approval core."""

    def __init__(
        self,
        service: ApprovalService,
        notifier: Notifier,
        *,
        config: SchedulerConfig | None = None,
        clock: Clock | None = None,
        worker_id: str | None = None,
        calendars: Calendars | None = None,
    ) -> None:
        self.service = service
        self.engine = service.engine
        self.directory = service.directory
        self.notifier = notifier
        self.config = config or SchedulerConfig()
        self.clock = clock or service.clock
        self.calendars = calendars or Calendars(self.directory, self.config.hours)
        self.queue = JobQueue(
            self.engine,
            clock=self.clock,
            worker_id=worker_id,
            lease=self.config.lease,
            max_attempts=self.config.max_attempts,
        )
        self._handlers: dict[str, Callable[[ClaimedJob, TickReport], None]] = {
            "escalate": self._escalate,
            "notify": self._notify,
            "info_expire": self._info_expire,
            "draft_expire": self._draft_expire,
            "digest_plan": self._digest_plan,
            "digest": self._digest,
            "delegation_start": self._delegation,
            "delegation_end": self._delegation,
            "weekly_summary": self._weekly_summary,
            "sla_risk": self._sla_risk,
            recurring.KIND: self._recurring_release,
        }

    # ------------------------------------------------------------------ the tick
    def tick(self, *, limit: int | None = None) -> TickReport:
        """Sweep, claim one batch, handle it. Returns what happened."""
        self.sweep()
        jobs = self.queue.claim(KINDS, limit=limit or self.config.batch)
        report = TickReport(claimed=len(jobs))
        for job in jobs:
            report.kinds[job.kind] = report.kinds.get(job.kind, 0) + 1
        # windows first, so a reminder due at the same moment goes to whoever holds the step now
        first = [j for j in jobs if j.kind.startswith("delegation_")]
        rest = [j for j in jobs if j.kind != "remind" and not j.kind.startswith("delegation_")]
        self._run_each(first, report)
        self._reminders([j for j in jobs if j.kind == "remind"], report)
        self._run_each(rest, report)
        return report

    def _run_each(self, jobs: list[ClaimedJob], report: TickReport) -> None:
        for job in jobs:
            # the request that made the job (a tap, a submit): its id is on this work's log lines and events
            with correlation.bound(correlation.of_job(job.payload)):
                try:
                    self._handlers[job.kind](job, report)
                except Exception as exc:  # noqa: BLE001 - one bad row must not stop the others; it is retried
                    log.exception("scheduler: %s %s failed", job.kind, job.key)
                    self._failed(job, f"{type(exc).__name__}: {exc}", report)

    def run_until_idle(self, *, max_ticks: int = 1000) -> TickReport:
        """Tick until nothing is due (tests, the CLI)."""
        total = TickReport()
        for _ in range(max_ticks):
            r = self.tick()
            for name in ("claimed", "sent", "done", "skipped", "deferred", "failed"):
                setattr(total, name, getattr(total, name) + getattr(r, name))
            for k, n in r.kinds.items():
                total.kinds[k] = total.kinds.get(k, 0) + n
            if r.claimed == 0 or r.claimed == r.deferred:
                break
        return total

    def sweep(self) -> None:
        """Rows for work that no action schedules: the day's digest plan and delegation windows."""
        now = self.clock()
        key = f"digest_plan:{now.date().isoformat()}"
        with Session(self.engine) as session:
            exists = jobqueue.get(session, key) is not None
        if not exists:
            with transaction(self.engine) as session:
                jobqueue.enqueue(session, kind="digest_plan", key=key, due_at=now, now=now)
        if self.config.weekly_summary:
            weekly.sweep(self.engine, now)
        if self.config.sla_risk:
            key = risk.run_key(now)
            with Session(self.engine) as session:
                exists = jobqueue.get(session, key) is not None
            if not exists:
                with transaction(self.engine) as session:
                    jobqueue.enqueue(session, kind=risk.KIND, key=key, due_at=now, now=now)
        windows.sweep(self.engine, now)

    # ------------------------------------------------------------------ helpers
    def _send(self, job: ClaimedJob, person: str, notice: Notice, report: TickReport) -> str | None:
        """Deliver once: a row that already holds a message reference was sent before a crash."""
        if job.sent_ref is not None:
            return job.sent_ref
        someone = self.directory.person(person)
        if someone is not None and not someone.active:  # a leaver gets no more reminders, digests or notices
            self._done(job, report, skipped=True)
            return None
        try:
            ref = self.notifier.send(person, notice)
        except Exception as exc:  # noqa: BLE001 - the chat platform failed; the row is retried later
            self._failed(job, f"send to {person} failed: {type(exc).__name__}: {exc}", report)
            return None
        report.sent += 1
        return ref

    def _failed(self, job: ClaimedJob, error: str, report: TickReport) -> None:
        report.failed += 1
        self.queue.retry(job, error)

    def _done(
        self,
        job: ClaimedJob,
        report: TickReport,
        *,
        sent_ref: str | None = None,
        session: Session | None = None,
        skipped: bool = False,
    ) -> None:
        self.queue.complete(job, sent_ref=sent_ref, session=session)
        report.done += 1
        report.skipped += int(skipped)

    def _defer(self, job: ClaimedJob, until: datetime, report: TickReport) -> None:
        self.queue.release(job, due_at=until)
        report.deferred += 1

    def _name(self, person_id: str | None) -> str:
        p = self.directory.person(person_id or "")
        return p.name if p else (person_id or "someone")

    # ------------------------------------------------------------------ reminders
    def _reminders(self, jobs: list[ClaimedJob], report: TickReport) -> None:
        if not jobs:
            return
        with Session(self.engine) as session:
            rows = session.exec(
                select(ApprovalStep, Requisition)
                .join(Requisition, col(Requisition.id) == col(ApprovalStep.requisition_id))
                .where(col(ApprovalStep.id).in_({j.payload["step"] for j in jobs}))
            ).all()
        found = {step.id: (step, req) for step, req in rows}
        with self.queue.batch():
            for job in jobs:
                with correlation.bound(correlation.of_job(job.payload)):
                    try:
                        self._remind(job, found.get(job.payload["step"]), report)
                    except Exception as exc:  # noqa: BLE001 - see tick()
                        log.exception("scheduler: reminder %s failed", job.key)
                        self._failed(job, f"{type(exc).__name__}: {exc}", report)

    def _remind(self, job: ClaimedJob, found: tuple[ApprovalStep, Requisition] | None, report: TickReport) -> None:
        if (
            found is None
            or found[0].state != StepState.PENDING
            or found[1].state not in OPEN_FOR_APPROVAL
            or not job.key.startswith(remind_key(found[0]))
        ):
            # decided, withdrawn, escalated away, or reassigned (a new chain runs): nothing to remind
            self._done(job, report, skipped=True)
            return
        step, req = found
        now = self.clock()
        n, most, every = int(job.payload["n"]), int(job.payload["max"]), Decimal(job.payload["every"])
        cal = self.calendars.for_person(step.acting)
        if req.state == "needs_info":
            self._defer(job, cal.add(now, every), report)  # the ball is with the requester; ask again later
            return
        if not cal.is_working(now):
            self._defer(job, cal.next_working(now), report)
            return
        if n == 1 and step.id is not None and req.number:
            # out of office with nobody named: the policy's absence rule (skip to their manager, or wait)
            moved = self.service.skip_if_absent(req.number, step.id)
            if moved is not None:
                log.info("scheduler: %s", moved)
                self._done(job, report, skipped=True)
                return
        deadline = sla_deadline(self.calendars, step)
        on_behalf = self._name(step.approver) if step.acting != step.approver else None
        notice = Notice(
            "reminder",
            text.reminder(req.number or "", req.title, n, most, deadline, cal.tz, on_behalf),
            key=f"{job.key}:{n}",
            number=req.number,
        )
        ref = self._send(job, step.acting, notice, report)
        if ref is None:
            return
        if n < most:
            # the next reminder of the chain is this row again, later; one short transaction right
            # after the send, so a crash can only repeat a message in that instant
            self.queue.release(job, due_at=cal.add(now, every), payload={**job.payload, "n": n + 1})
            report.done += 1
        else:
            self._done(job, report, sent_ref=ref)

    # ------------------------------------------------------------------ escalation
    def _escalate(self, job: ClaimedJob, report: TickReport) -> None:
        p = job.payload
        with Session(self.engine) as session:
            req = session.get(Requisition, p["req"])
            pending = (
                []
                if req is None
                else session.exec(
                    select(ApprovalStep.id).where(
                        ApprovalStep.requisition_id == req.id,
                        ApprovalStep.round == p["round"],
                        ApprovalStep.stage_index == p["stage"],
                        ApprovalStep.state == StepState.PENDING,
                    )
                ).all()
            )
        if (
            req is None
            or req.state not in OPEN_FOR_APPROVAL
            or req.round != p["round"]
            or req.current_stage != p["stage"]
            or not set(pending) & set(p["steps"])
        ):
            self._done(job, report, skipped=True)  # someone acted in time
            return
        reason = text.sla_reason(Decimal(p["sla_hours"]))
        try:
            result = self.service.escalate(
                Escalate(
                    actor=ACTOR, surface="scheduler", number=req.number or "", reason=reason, idempotency_key=job.key
                ),
                as_admin=True,
            )
        except StaleAction as exc:
            # nobody eligible is left to escalate to: park it where `scheduler status` shows it
            self.queue.fail(job, exc.message)
            report.failed += 1
            return
        self._done(job, report, sent_ref=result.outcome)

    # ------------------------------------------------------------------ notices
    def _notify(self, job: ClaimedJob, report: TickReport) -> None:
        p = job.payload
        cal = self.calendars.for_person(p["person"])
        now = self.clock()
        if cal.is_quiet(now) and job.sent_ref is None:
            self._defer(job, cal.next_not_quiet(now), report)
            return
        notice = Notice(
            p["kind"],
            p["text"],
            key=job.key,
            number=p.get("number"),
            numbers=tuple(p.get("numbers") or ()),
            actions=tuple(p.get("actions") or ()),  # buttons (the suggested-delegation card's)
        )
        ref = self._send(job, p["person"], notice, report)
        if ref is not None:
            self._done(job, report, sent_ref=ref)

    # ------------------------------------------------------------------ stale questions and drafts
    def _close(self, job: ClaimedJob, number: str, reason: str) -> bool:
        """Withdraw on the requester's behalf; False when it moved on meanwhile."""
        try:
            self.service.withdraw(
                Withdraw(actor=ACTOR, surface="scheduler", number=number, reason=reason, idempotency_key=job.key),
                as_admin=True,
            )
        except (IllegalTransition, StaleAction):
            return False
        return True

    def _info_expire(self, job: ClaimedJob, report: TickReport) -> None:
        p = job.payload
        with Session(self.engine) as session:
            info = session.get(InfoRequest, p["info"])
            req = session.get(Requisition, p["req"])
        if info is None or req is None or info.state != "open" or req.state != "needs_info":
            self._done(job, report, skipped=True)
            return
        hours = Decimal(p["hours"])
        if not self._close(job, p["number"], text.info_expired_reason(hours)):
            self._done(job, report, skipped=True)
            return
        now = self.clock()
        with transaction(self.engine) as session:
            enqueue_notice(
                session,
                self.calendars,
                key=f"notify:info_expired:{info.id}:{req.requester}",
                person=req.requester,
                kind="info_expired",
                number=req.number,
                now=now,
                message=text.info_expired_requester(p["number"], self._name(info.asked_by), hours),
            )
            enqueue_notice(
                session,
                self.calendars,
                key=f"notify:info_expired:{info.id}:{info.asked_by}",
                person=info.asked_by,
                kind="info_expired",
                number=req.number,
                now=now,
                message=text.info_expired_asker(p["number"], self._name(req.requester)),
            )
            self._done(job, report, session=session)

    def _draft_expire(self, job: ClaimedJob, report: TickReport) -> None:
        p = job.payload
        with Session(self.engine) as session:
            req = session.get(Requisition, p["req"])
        if req is None or req.state != "draft" or not self._close(job, p["number"], "draft expired"):
            self._done(job, report, skipped=True)
            return
        with transaction(self.engine) as session:
            enqueue_notice(
                session,
                self.calendars,
                key=f"notify:draft_expired:{req.id}",
                person=req.requester,
                kind="draft_expired",
                number=req.number,
                now=self.clock(),
                message=text.draft_expired(p["number"], int(p["days"])),
            )
            self._done(job, report, session=session)

    # ------------------------------------------------------------------ digest
    def _digest_plan(self, job: ClaimedJob, report: TickReport) -> None:
        """Once a day: a digest row per person something waits for, due at the start of their working day."""
        now = self.clock()
        with Session(self.engine) as session:
            people = session.exec(
                select(ApprovalStep.acting)
                .distinct()
                .join(Requisition, col(Requisition.id) == col(ApprovalStep.requisition_id))
                .where(ApprovalStep.state == StepState.PENDING, Requisition.state == "pending_approval")
            ).all()
            off = set(
                session.exec(
                    select(NotificationPreference.person_id).where(col(NotificationPreference.digest).is_(False))
                ).all()
            )  # noqa: E712
        with transaction(self.engine) as session:
            for person in sorted(set(people) - off):
                when = self.calendars.for_person(person).next_day_start(now)
                day = when.astimezone(self.calendars.for_person(person).tz).date().isoformat()
                jobqueue.enqueue(
                    session,
                    kind="digest",
                    key=f"digest:{person}:{day}",
                    due_at=when,
                    now=now,
                    payload={"person": person},
                )
            self._done(job, report, session=session)

    def _digest(self, job: ClaimedJob, report: TickReport) -> None:
        person = job.payload["person"]
        with Session(self.engine) as session:
            pref = session.get(NotificationPreference, person)
            rows = session.exec(
                select(Requisition.number, Requisition.title, func.min(ApprovalStep.activated_at))
                .join(Requisition, col(Requisition.id) == col(ApprovalStep.requisition_id))
                .where(
                    ApprovalStep.acting == person,
                    ApprovalStep.state == StepState.PENDING,
                    Requisition.state == "pending_approval",
                )
                .group_by(Requisition.number, Requisition.title)
                .order_by(Requisition.number)
            ).all()
        if (pref is not None and not pref.digest) or not rows:
            self._done(job, report, skipped=True)
            return
        tz = self.calendars.for_person(person).tz
        items = [(n or "", t, text.local(as_utc(since) or self.clock(), tz)) for n, t, since in rows]
        ref = self._send(
            job, person, Notice("digest", text.digest(items), key=job.key, numbers=tuple(i[0] for i in items)), report
        )
        if ref is not None:
            self._done(job, report, sent_ref=ref)

    # ------------------------------------------------------------------ weekly summary
    def _weekly_summary(self, job: ClaimedJob, report: TickReport) -> None:
        """Monday: last week's figures to each procurement lead, as a notice (quiet hours respected)."""
        message = weekly.summary(self.engine, job.payload)  # read before the write transaction opens
        with transaction(self.engine) as session:
            weekly.enqueue_notices(session, self.directory, self.calendars, job.payload, message, self.clock())
            self._done(job, report, session=session)

    # ------------------------------------------------------------------ SLA risk
    def _recurring_release(self, job: ClaimedJob, report: TickReport) -> None:
        """A recurring requisition's releases that came due: their PO jobs written, the row due at the next."""
        recurring.release_due(self.engine, self.queue, job, self.clock(), self.directory)
        report.done += 1

    def _sla_risk(self, job: ClaimedJob, report: TickReport) -> None:
        """Every half hour: estimate each pending step's chance of being late; nudge and tell on the risky ones."""
        done = risk.run(self.engine, self.directory, self.calendars, self.clock(), threshold=self.config.risk_threshold)
        if done.alerted:
            log.info("SLA risk: %s likely late (%s)", len(done.alerted), ", ".join(done.alerted))
        self._done(job, report)

    # ------------------------------------------------------------------ delegation windows
    def _delegation(self, job: ClaimedJob, report: TickReport) -> None:
        now = self.clock()
        start = job.kind == "delegation_start"
        with transaction(self.engine) as session:
            outcome = windows.apply(
                session, self.directory, self.calendars, job.payload["delegation"], now, starting=start, job_key=job.key
            )
            if isinstance(outcome, datetime):
                pass  # not yet: released below, outside this transaction
            else:
                self._done(job, report, session=session, skipped=outcome is None)
                return
        self._defer(job, outcome, report)


def snooze_until(calendars: Calendars, step: ApprovalStep, now: datetime, hours: Decimal) -> tuple[datetime, bool]:
    """When a snoozed reminder comes back: ``hours`` from now, but never after the SLA runs out."""
    deadline = sla_deadline(calendars, step)
    wanted = now + timedelta(hours=float(hours))
    return (deadline, True) if wanted > deadline else (wanted, False)


__all__ = ["Scheduler", "SchedulerConfig", "TickReport", "snooze_until", "ProcurebotError"]
