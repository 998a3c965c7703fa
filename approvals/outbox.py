"""The ERP outbox: approval writes the "create PO" job in its own transaction; the dispatcher sends it.

Built on the durable job queue (approvals/jobqueue.py), so claims, leases and SKIP LOCKED are
the queue's; this module adds what is particular to purchase orders:

* `install(service)` adds an in-transaction hook: when an action ends in a final approval
  (approved, auto_approved, reapproval_auto_approved) the requisition moves approved ->
  po_pending and an `erp.create_po` job with a snapshot of the order is enqueued, all in the
  decision's transaction. A rolled-back approval leaves no job; a committed one always has one.
* `record_po` commits, in one transaction fenced by the claim: po_pending -> po_created, the
  PO's row, the audit event, the requester's notice, and the job's completion. A dispatcher
  whose lease ran out cannot record a second time.
* `retry_later` backs off exponentially with jitter (the ERP's Retry-After wins when longer);
  after the configured number of attempts, or at once for a permanent error, `dead_letter`
  parks the job and tells every buyer, with a retry action. `retry_dead` is that action.
* Notices to people are jobs too (`erp.notify`), keyed per event, so a requester is told once
  per PO event however often the dispatcher restarts.

The core never imports a connector: the dispatcher (bot/erp_dispatcher.py) calls the ERP and
translates its typed errors into these calls.
"""

from __future__ import annotations

import random
import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping, Sequence

from sqlalchemy import Engine, Index, bindparam, exists, insert, update
from sqlmodel import Field, Session, SQLModel, col, select

from approvals import audit, correlation, jobqueue, new_suppliers, snapshot
from approvals.clock import Clock, utcnow
from approvals.columns import table_of
from approvals.db import transaction
from approvals.directory import Directory
from approvals.errors import NotAllowed, NotFound, StaleAction
from approvals.jobqueue import ClaimedJob, Job, JobQueue
from approvals.models import Money, Requisition, _ts
from approvals.notices import Notice
from approvals.plan import Plan, flush
from approvals.states import State
from approvals.wire import Wire

CREATE_PO, NOTIFY, SYNC_STATUS = "erp.create_po", "erp.notify", "erp.sync_status"
FINAL_APPROVALS = ("approved", "auto_approved", "reapproval_auto_approved")
OPEN_PO_STATUSES = ("open", "partially_received")
BUYER_ROLE = "buyer"


def create_key(number: str) -> str:
    """The create job's dedupe key: one per requisition number."""
    return f"{CREATE_PO}:{number}"


class ErpPurchaseOrder(SQLModel, table=True):
    """The ERP's purchase order for one of our requisitions, as last seen."""

    __tablename__ = "erp_purchase_order"
    __table_args__ = (Index("ix_erp_po_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    requisition_number: str = Field(max_length=20, unique=True)
    connector: str = Field(max_length=30)
    erp_id: str = Field(max_length=100)
    po_number: str = Field(max_length=60)
    status: str = Field(default="open", max_length=20)
    received_fraction: Decimal = Field(default=Decimal("0"), sa_type=Money)
    created_at: datetime = _ts(default_factory=utcnow)
    status_at: datetime = _ts(default_factory=utcnow)


_POS = table_of(ErpPurchaseOrder)
# the requisition's row lock, and whether its PO is recorded already (its last column)
_LOCK_WITH_PO = snapshot.lock_statement(exists().where(_POS.c.requisition_number == bindparam("number")))
_NEW_PO = (
    insert(_POS)
    .inline()
    .values(
        {
            c: bindparam(c)
            for c in (
                "requisition_number",
                "connector",
                "erp_id",
                "po_number",
                "status",
                "received_fraction",
                "created_at",
                "status_at",
            )
        }
    )
)


# ---------------------------------------------------------------------------------- user-facing text


def _po_created_text(number: str, po_number: str) -> str:
    return f"{number} is now purchase order {po_number} in the ERP. You will hear when the goods are received."


def _po_received_text(number: str, po_number: str, status: str) -> str:
    if status == "partially_received":
        return f"Part of purchase order {po_number} ({number}) has been received."
    return f"The goods for {number} (purchase order {po_number}) have been received."


def _dead_text(number: str, reason: str, attempts: int) -> str:
    tries = "once" if attempts == 1 else f"{attempts} times"
    return (
        f"{number} is approved but the ERP would not take its purchase order (tried {tries}): {reason} "
        f"Fix the cause, then press Retry (or run `procurebot erp retry {number}`)."
    )


def files_missing_event(
    text: str, po_number: str, connector: str, left_out: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """The `after` of a `po_files_missing` audit event, for any PO (a release's adds the release it was)."""
    return {
        "explanation": text,
        "po_number": po_number,
        "connector": connector,
        "files": [{"filename": f, "reason": r} for f, r in left_out],
    }


def files_missing_text(number: str, po_number: str, left_out: Sequence[tuple[str, str]]) -> str:
    if len(left_out) == 1:
        filename, reason = left_out[0]
        return (
            f"{po_number} ({number}) was created, but {filename} did not reach the ERP: {reason.rstrip('.')}. "
            "Attach it in the ERP by hand or send it to the supplier with the purchase order."
        )
    files = "; ".join(f"{filename} ({reason.rstrip('.')})" for filename, reason in left_out)
    return (
        f"{po_number} ({number}) was created, but {len(left_out)} files did not reach the ERP: {files}. "
        "Attach them in the ERP by hand or send them to the supplier with the purchase order."
    )


# ---------------------------------------------------------------------------------- writing the job


def order_snapshot(req: Any, lines: Sequence[Any]) -> dict[str, Any]:
    """The PO request as the ERP will get it (connectors.erp.base.PurchaseOrderRequest.to_payload's shape)."""
    need_by = req.need_by
    return {
        "reference": req.number,
        "supplier": req.supplier,
        "currency": req.currency,
        "site": req.site,
        "cost_center": req.cost_center,
        "requester": req.requester,
        "need_by": need_by.isoformat() if need_by else None,
        "notes": (req.justification or "")[:500],
        "lines": [
            {
                "line_no": x.line_no,
                "description": x.description,
                "quantity": str(x.quantity),
                "unit_price": str(x.unit_price),
                "unit": x.unit,
                "sku": x.sku,
            }
            for x in lines
        ],
    }


def on_final_approval(plan: Plan) -> None:
    """In-transaction hook: a final approval moves the requisition to po_pending and writes the job."""
    if plan.change.outcome not in FINAL_APPROVALS or plan.req.state != State.APPROVED.value:
        return
    before = plan.move("send_to_erp")
    plan.enqueue(
        kind=CREATE_PO,
        key=create_key(plan.req.number),
        payload={"order": order_snapshot(plan.req, plan.reads.lines()), "round": 0},
    )
    plan.audit("po_requested", "system", {"state": before}, {"state": plan.req.state})


def install(service: Any) -> None:
    """Wire the outbox into an approval service (idempotent)."""
    if on_final_approval not in service.in_transaction:
        service.in_transaction.append(on_final_approval)


# ---------------------------------------------------------------------------------- the dispatcher's calls


@dataclass
class Outbox:
    """What a dispatcher does with a claimed create job, in the core's terms."""

    engine: Any
    directory: Directory
    queue: JobQueue
    connector_name: str = "sandbox"
    backoff_base: timedelta = timedelta(seconds=2)
    backoff_max: timedelta = timedelta(minutes=15)
    clock: Clock = utcnow
    rng: random.Random = field(default_factory=random.Random)

    def record_po(self, job: ClaimedJob, *, erp_id: str, po_number: str, status: str = "open") -> bool:
        """PO exists in the ERP: po_created, its row, audit, the requester's notice, job done - one transaction.

        False (nothing written) when this claim lost its lease; whoever holds the job records it.
        """
        return self.record(job, erp_id=erp_id, po_number=po_number, status=status)[0]

    def record(
        self, job: ClaimedJob, *, erp_id: str, po_number: str, status: str = "open", claim_notice: bool = False
    ) -> tuple[bool, ClaimedJob | None]:
        """`record_po`, and with `claim_notice` the requester's notice comes back claimed by this worker
        (on PostgreSQL inside the queue's batch), for the caller to deliver now rather than claim later."""
        return self.record_batch([(job, erp_id, po_number, status)], claim_notice=claim_notice)[0]

    def record_batch(
        self,
        created: list[tuple[ClaimedJob, str, str, str]],
        *,
        claim_notice: bool = False,
        files_left_out: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    ) -> list[tuple[bool, ClaimedJob | None]]:
        """Record several created POs, (job, erp_id, po_number, status) each; results in the same order.

        `files_left_out`: per requisition number, (filename, reason) for each file the PO was made without (the
        ERP refused it, or the store no longer had it). In the same plan: a `po_files_missing` audit event naming
        them, and a notice to every buyer and the requester, keyed per requisition and round, so it is said once.
        The reasons are for people: the caller has already cut them to the sentence we wrote, no ERP body.

        One transaction for the batch (inside the queue's batch, on its held connection; on PostgreSQL in two
        round trips). First each job is completed, fenced by its claim, the requisitions are locked (in number
        order) and the audit chain's head, once for the batch; then, for each job whose claim still held, one
        plan: po_pending -> po_created, the PO's row, the audit event and the requester's notice, all written
        with the COMMIT. A job whose claim was lost gets (False, None) and nothing written: its new holder
        records it. The notice comes back claimed by this worker when `claim_notice` (see `record`).
        """
        if not created:
            return []
        now = self.clock()
        lease = now + self.queue.lease if claim_notice else None
        done = {"state": jobqueue.DONE, "lease_until": None, "last_error": None, "updated_at": now}
        with self.queue.transaction() as w:
            fenced = jobqueue.finish_each(
                w, [job for job, *_ in created], [{**done, "sent_ref": erp_id[:200]} for _, erp_id, _, _ in created]
            )
            numbers = [job.payload["order"]["reference"] for job, *_ in created]
            ordered = sorted(set(numbers))
            locked = dict(zip(ordered, w.send_each(_LOCK_WITH_PO, [{"number": n, "key": None} for n in ordered])))
            head = audit.lock_head(w)  # once for the batch, in the same round trip
            plans: list[Plan] = []
            orders: list[tuple[Plan, str | None, str]] = []  # (plan, supplier, PO number) of each PO recorded here
            results: list[Plan | None] = []  # None: another claim finished this job first
            for (job, erp_id, po_number, status), number, fence in zip(created, numbers, fenced):
                if fence.first() is None:
                    results.append(None)
                    continue
                row = locked[number].first()
                if row is None:
                    raise NotFound(f"{number} has a purchase order in the ERP but no requisition here.")
                plan = Plan(snapshot.req_row(row), now, "erp", _NO_READS)
                if plan.req.state == State.PO_PENDING.value:
                    plan.move("po_created", updated_at=now)
                if not row[-1]:
                    plan.insert(
                        _NEW_PO,
                        {
                            "requisition_number": number,
                            "connector": self.connector_name,
                            "erp_id": erp_id[:100],
                            "po_number": po_number[:60],
                            "status": status,
                            "received_fraction": Decimal(0),
                            "created_at": now,
                            "status_at": now,
                        },
                    )
                # the event and the notice carry the id of the request whose approval asked for this PO
                with correlation.bound(correlation.of_job(job.payload)):
                    plan.audit(
                        "po_created",
                        "erp",
                        {"state": State.PO_PENDING.value},
                        {"state": plan.req.state, "po_number": po_number, "connector": self.connector_name},
                    )
                    notice = Notice("po_created", _po_created_text(number, po_number), f"po_created:{number}", number)
                    requester = plan.req.requester
                    plan.enqueue(
                        kind=NOTIFY,
                        key=f"{NOTIFY}:{notice.key}:{requester}",
                        payload={"to": requester, **notice.payload()},
                        claimed_by=self.queue.worker_id if claim_notice else None,
                        lease_until=lease,
                    )
                    left_out = list((files_left_out or {}).get(number, ()))
                    if left_out:
                        self._files_missing(plan, job, number, po_number, left_out, now)
                plans.append(plan)
                orders.append((plan, job.payload["order"].get("supplier"), po_number))
                results.append(plan)
            if plans:
                self._first_orders(w, orders, now)
                flush(w, plans, head=head)
                w.commit()
        out: list[tuple[bool, ClaimedJob | None]] = []
        for recorded in results:
            if recorded is None:
                out.append((False, None))
                continue
            notice_job = None
            for key, sent in recorded.claims.items():
                notice_id = sent.scalar()  # None: the notice was written before (a retried record)
                if notice_id is not None:
                    job_row = next(j for j in recorded.jobs if j["dedupe_key"] == key)
                    assert lease is not None, "a notice is written claimed only with claim_notice, which sets its lease"
                    notice_job = ClaimedJob(notice_id, NOTIFY, key, job_row["payload"], 1, self.queue.worker_id, lease)
            out.append((True, notice_job))
        return out

    def _first_orders(self, wire: Wire, orders: list[tuple[Plan, str | None, str]], now: datetime) -> None:
        """A supplier still marked new whose first PO this is loses the mark with it (approvals/new_suppliers.py):
        the directory version and the audit event go with that PO's plan. Only suppliers this process's directory
        does not know as established are looked up, so a batch of known suppliers reads nothing more."""
        maybe = [(plan, sid, po) for plan, sid, po in orders if sid and _maybe_new(self.directory, sid)]
        if not maybe:
            return
        change = new_suppliers.first_orders(wire, [(sid, plan.req.number, po) for plan, sid, po in maybe], now=now)
        for n, (i, before, after) in enumerate(change.events):
            plan = maybe[i][0]
            if n == 0:
                plan.rows.extend(change.writes)
            plan.audit(new_suppliers.NO_LONGER_NEW, "erp", before, after)

    def _files_missing(
        self,
        plan: Plan,
        job: ClaimedJob,
        number: str,
        po_number: str,
        left_out: list[tuple[str, str]],
        now: datetime,
    ) -> None:
        """The PO stands without some files: say so on the requisition's timeline and to the buyers and requester."""
        text = files_missing_text(number, po_number, left_out)
        plan.audit("po_files_missing", "erp", None, files_missing_event(text, po_number, self.connector_name, left_out))
        notice = Notice("po_files_missing", text, f"po_files_missing:{number}:{job.payload.get('round', 0)}", number)
        buyers = [p.id for p in self.directory.people_with_role(BUYER_ROLE, None)]
        for person in dict.fromkeys([*buyers, plan.req.requester]):
            plan.enqueue(
                kind=NOTIFY,
                key=f"{NOTIFY}:{notice.key}:{person}",
                due_at=now,
                payload={"to": person, **notice.payload()},
            )

    def retry_later(self, job: ClaimedJob, reason: str, *, retry_after: float | None = None) -> str | None:
        """A transient failure: due again after backoff with jitter, or dead after the last attempt."""
        if job.attempts >= self.queue.max_attempts:
            return jobqueue.DEAD if self.dead_letter(job, reason) else None
        delay = self.backoff(job.attempts)
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=min(retry_after, self.backoff_max.total_seconds())))
        return self.queue.retry(job, reason, delay=delay)

    def backoff(self, attempts: int) -> timedelta:
        """base * 2^(attempts-1), capped, with "equal jitter": half fixed, half random, so replicas spread out."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** max(0, attempts - 1)))
        return ceiling / 2 + ceiling / 2 * self.rng.random()

    def dead_letter(self, job: ClaimedJob, reason: str) -> bool:
        """Give up for now and tell every buyer, with a retry action; one transaction."""
        number = job.payload["order"]["reference"]
        now = self.clock()
        try:
            with transaction(self.engine) as session:
                if not self.queue.fail(job, reason, session=session):
                    raise _LostLease()
                audit.append_event(
                    session,
                    kind="po_failed",
                    actor="erp",
                    at=now,
                    surface="erp",
                    requisition_number=number,
                    after={"reason": reason[:500], "attempts": job.attempts},
                )
                buyers = [p.id for p in self.directory.people_with_role(BUYER_ROLE, None)]
                notice = Notice(
                    "erp_failed",
                    _dead_text(number, reason, job.attempts),
                    f"erp_failed:{number}:{job.payload.get('round', 0)}",
                    number,
                    actions=({"id": "erp.retry", "label": "Retry", "value": number},),
                )
                self._notify(session, buyers, notice, now)
        except _LostLease:
            return False
        return True

    def _notify(self, session: Session, people: list[str], notice: Notice, now: datetime) -> None:
        for person in people:
            jobqueue.enqueue(
                session,
                kind=NOTIFY,
                key=f"{NOTIFY}:{notice.key}:{person}",
                due_at=now,
                now=now,
                payload={"to": person, **notice.payload()},
            )

    # ------------------------------------------------------------------ status back
    def record_status(self, number: str, status: str, received_fraction: Decimal) -> bool:
        """Store the ERP's status; tell the requester when goods are (partly or fully) received. True if changed."""
        now = self.clock()
        with transaction(self.engine) as session:
            po = session.exec(
                select(ErpPurchaseOrder).where(ErpPurchaseOrder.requisition_number == number).with_for_update()
            ).first()
            if po is None or po.status == status:
                return False
            before = po.status
            po.status, po.received_fraction, po.status_at = status, received_fraction, now
            session.add(po)
            audit.append_event(
                session,
                kind="po_status",
                actor="erp",
                at=now,
                surface="erp",
                requisition_number=number,
                before={"status": before},
                after={"status": status},
            )
            if status in ("partially_received", "received") and not (before == "received"):
                # a recurring requisition's release (PR-1042-R03) tells the requester of PR-1042
                parent = re.sub(r"-R\d+$", "", number)
                req = session.exec(select(Requisition).where(Requisition.number == parent)).one()
                text = _po_received_text(number, po.po_number, status)
                self._notify(
                    session, [req.requester], Notice("po_received", text, f"po_{status}:{number}", parent), now
                )
        return True


class _NoReads:
    """A PO's plan has no hooks that read the requisition; a read here is a wiring mistake, said plainly."""

    def lines(self) -> list[Any]:
        raise RuntimeError("recording a purchase order runs no hook that reads the requisition's steps or lines")

    stage_steps = open_info = policy = lines

    def route(self) -> dict[str, Any]:
        raise RuntimeError("recording a purchase order runs no hook that reads the requisition's route")


_NO_READS = _NoReads()


class _LostLease(Exception):
    """This claim no longer holds the job: write nothing."""


def open_purchase_orders(engine: Any, limit: int = 500) -> list[ErpPurchaseOrder]:
    """POs whose status may still change, least recently checked first."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(ErpPurchaseOrder)
                .where(col(ErpPurchaseOrder.status).in_(OPEN_PO_STATUSES))
                .order_by(col(ErpPurchaseOrder.status_at))
                .limit(limit)
            ).all()
        )


# ---------------------------------------------------------------------------------- people's actions and reads


def retry_dead(
    engine: Any, directory: Directory, number: str, *, actor: str, as_admin: bool = False, now: datetime | None = None
) -> str:
    """A buyer's "retry" on a dead-lettered PO: the job is due again with a fresh attempt count."""
    number = number.strip().upper()
    person = directory.person(actor)
    if not as_admin and (person is None or not person.has_role(BUYER_ROLE)):
        raise NotAllowed(f"Only buyers can retry sending {number} to the ERP; ask {_buyer_names(directory)}.")
    now = now or utcnow()
    with transaction(engine) as session:
        job = session.exec(select(Job).where(Job.dedupe_key == create_key(number)).with_for_update()).first()
        if job is None:
            raise NotFound(f"{number} has never been sent to the ERP (it is not approved, or the number is wrong).")
        if job.state != jobqueue.DEAD:
            what = {"done": "already has its purchase order", "claimed": "is being sent right now"}.get(
                job.state, "is waiting for its next automatic attempt"
            )
            raise StaleAction(f"{number} {what}; there is nothing to retry.")
        payload = {**job.payload, "round": int(job.payload.get("round", 0)) + 1}
        # the queue has no "revive" verb; a dead row is ours to hand back, fenced by its dead state
        session.execute(
            update(Job)
            .where(col(Job.id) == job.id, col(Job.state) == jobqueue.DEAD)
            .values(
                state=jobqueue.DUE,
                due_at=now,
                attempts=0,
                claimed_by=None,
                lease_until=None,
                payload=payload,
                updated_at=now,
            )
        )
        audit.append_event(
            session,
            kind="po_retry",
            actor=actor,
            at=now,
            surface="chat" if not as_admin else "cli",
            requisition_number=number,
            before={"error": job.last_error},
            after={"state": "due"},
        )
    return f"{number} will be sent to the ERP again now."


def _maybe_new(directory: Directory, supplier_id: str) -> bool:
    """Whether the supplier may still be marked new: it is, or this process does not know it yet."""
    supplier = directory.supplier_by_id.get(supplier_id)
    return supplier is None or supplier.new


def _buyer_names(directory: Directory) -> str:
    return ", ".join(p.name for p in directory.people_with_role(BUYER_ROLE, None)) or "a buyer"


@dataclass(frozen=True)
class ErpView:
    """Our side of a requisition's journey to the ERP, for "status PR-1042" and `procurebot erp status`."""

    number: str
    state: str  # waiting, sending, retrying, failed, created
    po_number: str | None
    po_status: str | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None

    def sentence(self) -> str:
        if self.po_number:
            status = (self.po_status or "open").replace("_", " ")
            return f"{self.number} is purchase order {self.po_number} in the ERP ({status})."
        if self.state == "failed":
            return f"{self.number} could not be sent to the ERP: {self.last_error} A buyer can retry it."
        if self.state == "retrying":
            return (
                f"{self.number} is approved; the ERP did not take it yet ({self.last_error}); "
                "it is tried again automatically."
            )
        return f"{self.number} is approved and on its way to the ERP."


def erp_view(bind: Any, number: str) -> ErpView | None:
    """Our side of the requisition's way to the ERP; `bind` is an engine, or a connection already in use."""
    number = number.strip().upper()
    # plain Core reads on one connection: every card of a requisition on its way to the ERP asks this
    po_table, job_table = table_of(ErpPurchaseOrder), table_of(Job)
    with bind.connect() if isinstance(bind, Engine) else nullcontext(bind) as conn:
        po = conn.execute(
            select(po_table.c.po_number, po_table.c.status).where(po_table.c.requisition_number == number).limit(1)
        ).first()
        job = conn.execute(
            select(job_table.c.state, job_table.c.attempts, job_table.c.last_error, job_table.c.due_at).where(
                job_table.c.dedupe_key == create_key(number)
            )
        ).first()
    if po is None and job is None:
        return None
    state = {
        jobqueue.DUE: "waiting",
        jobqueue.CLAIMED: "sending",
        jobqueue.FAILED: "retrying",
        jobqueue.DEAD: "failed",
        jobqueue.DONE: "created",
    }.get(job.state if job else "done", "created")
    return ErpView(
        number,
        state,
        po.po_number if po else None,
        po.status if po else None,
        job.attempts if job else 0,
        job.last_error if job else None,
        job.due_at if job and job.state in (jobqueue.DUE, jobqueue.FAILED) else None,
    )
