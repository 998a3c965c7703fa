"""Recurring purchases: approved once for the whole commitment, then one purchase order per release, on schedule.

A requisition whose draft carries a schedule (`RequisitionDraft.schedule`: a period, a number of releases or an
end date, the first release's date) is routed on its whole amount; the policy also sees the period, the number
of releases and what each is worth (`recurring.*` facts). Its schedule is a `recurring_schedule` row.

* At the final approval (`on_final_approval`, an in-transaction hook `install` puts before the ERP outbox's) the
  requisition
  moves to po_pending as any approval does, but instead of one PO job for the whole it gets one queue row,
  `recurring_release:{number}`, due at its first release (the start of its date in the site's time zone).
* The scheduler claims that row when due (one replica holds it, under its lease) and `release_due` writes, in one
  transaction under the schedule's row lock, the `erp.create_po` job of every release whose date has come
  (`PR-1042-R03`, keyed by that reference so it is written once), then hands the row back due at the next
  release. Releases that came due while no server ran are all written at the next tick, each once.
* The ERP dispatcher sends each release job like any PO (the connector is idempotent on the reference, so the
  ERP never makes a release twice) and `record_release` records it: the PO's row, the audit event, the
  requester's notice; the first release moves the requisition to po_created.
* The requester or a buyer pauses, resumes or ends the schedule (`ApprovalService.change_schedule`, audited):
  releases that come due while paused are skipped; an end stops every release still to come. Skipped and
  ended releases no longer count against the cost center's budget (`dropped_spend`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Sequence

from sqlalchemy import bindparam, func, select as sa_select, update
from sqlmodel import Field, Session, SQLModel, col, select

from approvals import audit, correlation, jobqueue, new_suppliers, outbox
from approvals.columns import table_of, timestamp_field
from approvals.db import transaction
from approvals.directory import time_zone
from approvals.errors import FieldError, ValidationFailed
from approvals.jobqueue import ClaimedJob, JobQueue
from approvals.models import Money, Requisition, RequisitionLine
from approvals.notices import Notice
from approvals.outbox import CREATE_PO, NOTIFY, ErpPurchaseOrder, create_key
from approvals.requisition import RequisitionDraft, ScheduleDraft, nth_release, release_count
from approvals.states import State, next_state
from approvals.wire import CoreWire

KIND = "recurring_release"
ACTIVE, PAUSED, ENDED, FINISHED, WAITING = "active", "paused", "ended", "finished", "waiting"
CENT = Decimal("0.01")


class RecurringSchedule(SQLModel, table=True):
    """A recurring requisition's schedule and how far it has got."""

    __tablename__ = "recurring_schedule"

    id: int | None = Field(default=None, primary_key=True)
    requisition_id: int = Field(foreign_key="requisition.id", unique=True)
    number: str = Field(max_length=20, unique=True)
    period: str = Field(max_length=10)
    releases: int
    first_release: date
    end_date: date | None = None
    state: str = Field(default=WAITING, max_length=10)  # waiting (for approval), active, paused, ended, finished
    next_index: int = 1  # the next release to make (1-based); releases before it are made or skipped
    made: int = 0
    skipped: int = 0
    dropped: Decimal = Field(default=Decimal(0), sa_type=Money)  # policy-currency amount no release will order
    changed_by: str | None = Field(default=None, max_length=80)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


_SCHEDULES = table_of(RecurringSchedule)
_ACTIVATE = (
    update(_SCHEDULES)
    .where(_SCHEDULES.c.number == bindparam("_number"), _SCHEDULES.c.state == WAITING)
    .values(state=bindparam("state"), updated_at=bindparam("updated_at"))
)


def tick_key(number: str) -> str:
    return f"{KIND}:{number}"


def release_ref(number: str, index: int) -> str:
    """ "PR-1042-R03": the release's reference in the ERP (its idempotency key there) and in our PO table."""
    return f"{number}-R{index:02d}"


def release_at(first: date, period: str, index: int, zone: tzinfo = timezone.utc) -> datetime:
    """When release `index` (1-based) comes due: the start of its date in `zone` (the site's), in UTC."""
    local = datetime.combine(nth_release(first, period, index - 1), time(0), tzinfo=zone)
    return local.astimezone(timezone.utc)


def site_zone(directory: Any, site: str) -> tzinfo:
    """The time zone of a requisition's site (directory Site.timezone); UTC for a site the directory lacks."""
    found = directory.site_by_code.get(site) if directory is not None else None
    return time_zone(found.timezone) if found is not None else timezone.utc


def save(session: Session, req: Requisition, schedule: ScheduleDraft, now: datetime) -> RecurringSchedule:
    """The schedule of a requisition just created (in its transaction); the first release defaults to today."""
    assert req.id is not None and req.number is not None
    first = schedule.first_release or now.date()
    row = RecurringSchedule(
        requisition_id=req.id,
        number=req.number,
        period=schedule.period,
        releases=release_count(schedule, first),
        first_release=first,
        end_date=schedule.end,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row


def dated(draft: RequisitionDraft, now: datetime, directory: Any = None) -> RequisitionDraft:
    """The draft with its schedule's first release filled in (today at the site, when not said), so validation,
    routing and the stored schedule count the same releases; a first release before today at the site is refused."""
    schedule = draft.schedule
    if schedule is None:
        return draft
    today = now.astimezone(site_zone(directory, draft.site)).date()
    if schedule.first_release is not None and schedule.first_release < today:
        raise ValidationFailed(
            [FieldError("schedule.first_release", f"the first release {schedule.first_release} is in the past")]
        )
    if schedule.first_release is not None:
        return draft
    return draft.model_copy(update={"schedule": schedule.model_copy(update={"first_release": today})})


def stored_draft(session: Session, requisition_id: int | None) -> ScheduleDraft | None:
    """The stored schedule as a draft's (re-routing after an amendment sees the same schedule)."""
    if requisition_id is None:
        return None
    row = session.exec(select(RecurringSchedule).where(RecurringSchedule.requisition_id == requisition_id)).first()
    if row is None:
        return None
    return ScheduleDraft.model_validate(
        {"period": row.period, "releases": row.releases, "first_release": row.first_release}
    )


def route_entry(schedule: ScheduleDraft | None) -> dict[str, Any]:
    """What the route keeps of the schedule, so the approval's hook knows, without another read, to start it."""
    if schedule is None:
        return {}
    first = schedule.first_release
    assert first is not None, "a stored requisition's schedule is dated (`dated`)"
    return {
        "recurring": {
            "period": schedule.period,
            "releases": release_count(schedule, first),
            "first_release": first.isoformat(),
        }
    }


def install(service: Any) -> None:
    """Wire recurring purchases, and the ERP outbox they build on, into an approval service (idempotent). The
    schedule's hook runs first: it moves a recurring requisition on, so the outbox's hook makes no PO for the whole."""
    outbox.install(service)
    if on_final_approval not in service.in_transaction:
        service.in_transaction.insert(0, on_final_approval)


def on_final_approval(plan: Any) -> None:
    """In-transaction hook: the final approval of a requisition with a schedule starts its releases (`start`)."""
    if plan.change.outcome not in outbox.FINAL_APPROVALS or plan.req.state != State.APPROVED.value:
        return
    if plan.reads.route().get("recurring"):
        start(plan)


def start(plan: Any) -> None:
    """The final approval of a recurring requisition (in the decision's transaction): on its
    way to the ERP release by release; the first release's row is due at its date (now, when that has passed)."""
    entry = plan.reads.route()["recurring"]
    before = plan.move("send_to_erp")
    first = date.fromisoformat(entry["first_release"])
    # the site's zone is not at hand here: the row is due at the earliest the date starts anywhere (UTC+14), and
    # `release_due` hands it back due at the start of the date in the site's zone when it is claimed before that
    due = max(release_at(first, entry["period"], 1) - timedelta(hours=14), plan.at)
    plan.enqueue(kind=KIND, key=tick_key(plan.req.number), due_at=due, payload={"number": plan.req.number})
    plan.insert(_ACTIVATE, {"_number": plan.req.number, "state": ACTIVE, "updated_at": plan.at})
    plan.audit(
        "recurring_started",
        "system",
        {"state": before},
        {
            "state": plan.req.state,
            "period": entry["period"],
            "releases": entry["releases"],
            "first": entry["first_release"],
        },
    )


def _lines(session: Session, requisition_id: int) -> list[RequisitionLine]:
    return list(
        session.exec(
            select(RequisitionLine)
            .where(RequisitionLine.requisition_id == requisition_id)
            .order_by(col(RequisitionLine.line_no))
        ).all()
    )


def release_order(req: Requisition, lines: list[RequisitionLine], row: RecurringSchedule, index: int) -> dict[str, Any]:
    """The PO request of one release (connectors.erp.base.PurchaseOrderRequest.to_payload's shape): each line's
    quantity divided by the number of releases, needed by the release's date."""
    when = nth_release(row.first_release, row.period, index - 1)
    return {
        "reference": release_ref(row.number, index),
        "supplier": req.supplier,
        "currency": req.currency,
        "site": req.site,
        "cost_center": req.cost_center,
        "requester": req.requester,
        "need_by": when.isoformat(),
        "notes": f"Release {index} of {row.releases} of {row.number}. {req.justification or ''}"[:500],
        "lines": [
            {
                "line_no": x.line_no,
                "description": x.description,
                "quantity": str((x.quantity / row.releases).quantize(Decimal("0.0001"))),
                "unit_price": str(x.unit_price),
                "unit": x.unit,
                "sku": x.sku,
            }
            for x in lines
        ],
    }


def per_release(amount: Decimal, releases: int) -> Decimal:
    return (amount / max(1, releases)).quantize(CENT, ROUND_HALF_UP)


def release_due(engine: Any, queue: JobQueue, job: ClaimedJob, now: datetime, directory: Any = None) -> int:
    """The scheduler's handler for a schedule's row: write the PO job of every release that has come due (each
    once, keyed by its reference), skip those that came due while paused, and hand the row back due at the next
    release (or finish it). A release is due at the start of its date in the site's time zone (`directory`;
    UTC without one). One transaction, under the schedule's row lock, fenced by the claim. Returns how many
    release jobs were written."""
    number = job.payload["number"]
    written = 0
    with transaction(engine) as session:
        row = session.exec(
            select(RecurringSchedule).where(RecurringSchedule.number == number).with_for_update()
        ).first()
        req = session.exec(select(Requisition).where(Requisition.number == number)).first()
        if row is None or req is None or row.state in (ENDED, FINISHED, WAITING):
            if not queue.complete(job, session=session):
                raise _LostLease()
            return 0
        lines = _lines(session, row.requisition_id)
        zone = site_zone(directory, req.site)
        while row.next_index <= row.releases and release_at(row.first_release, row.period, row.next_index, zone) <= now:
            index, ref = row.next_index, release_ref(number, row.next_index)
            after = {"release": ref, "index": index, "of": row.releases}
            if row.state == PAUSED:
                row.skipped += 1
                row.dropped += per_release(req.amount, row.releases)
                audit.append_event(
                    session, kind="release_skipped", actor="scheduler", at=now, surface="scheduler",
                    requisition_number=number, after=after,
                )  # fmt: skip
            else:
                jobqueue.enqueue(
                    session,
                    kind=CREATE_PO,
                    key=create_key(ref),
                    due_at=now,
                    now=now,
                    payload={
                        "order": release_order(req, lines, row, index),
                        "round": 0,
                        "release": {"of": number, "index": index, "count": row.releases},
                    },
                )
                row.made += 1
                written += 1
                audit.append_event(
                    session, kind="release_due", actor="scheduler", at=now, surface="scheduler",
                    requisition_number=number, after=after,
                )  # fmt: skip
            row.next_index += 1
        row.updated_at = now
        if row.next_index > row.releases:
            row.state = FINISHED if row.state == ACTIVE else row.state
            ok = queue.complete(job, session=session)
        else:
            due = release_at(row.first_release, row.period, row.next_index, zone)
            ok = queue.release(job, due_at=due, session=session)
        if not ok:
            raise _LostLease()
        session.add(row)
    return written


class _LostLease(Exception):
    """This claim no longer holds the row: nothing is written; its new holder does the work."""


def record_release(
    engine: Any,
    queue: JobQueue,
    job: ClaimedJob,
    *,
    erp_id: str,
    po_number: str,
    status: str,
    connector: str,
    left_out: Sequence[tuple[str, str]] = (),
    buyers: Sequence[str] = (),
) -> bool:
    """A release's PO exists in the ERP: its row, the audit event, the requester's notice, the job done, and (the
    first time) the requisition po_created; one transaction fenced by the claim. False when the claim was lost.

    `left_out`: (filename, reason) for each file the ERP took the PO without; then, as for any PO
    (approvals/outbox.py), a `po_files_missing` event on the timeline and a notice to `buyers` and the requester."""
    release = job.payload["release"]
    number, ref = release["of"], job.payload["order"]["reference"]
    now = queue.clock()
    with transaction(engine) as session:
        if not queue.complete(job, sent_ref=erp_id, session=session):
            return False
        req = session.exec(select(Requisition).where(Requisition.number == number).with_for_update()).one()
        if session.exec(select(ErpPurchaseOrder).where(ErpPurchaseOrder.requisition_number == ref)).first() is None:
            session.add(
                ErpPurchaseOrder(
                    requisition_number=ref,
                    connector=connector,
                    erp_id=erp_id[:100],
                    po_number=po_number[:60],
                    status=status,
                    created_at=now,
                    status_at=now,
                )
            )
        before = req.state
        if req.state == State.PO_PENDING.value:
            req.state = next_state(req.state, "po_created").value
            req.version += 1
            req.updated_at = now
            session.add(req)
        row = session.exec(select(RecurringSchedule).where(RecurringSchedule.number == number)).first()
        nxt = _next_sentence(row)
        with correlation.bound(correlation.of_job(job.payload)):
            audit.append_event(
                session,
                kind="po_created",
                actor="erp",
                at=now,
                surface="erp",
                requisition_number=number,
                before={"state": before},
                after={"state": req.state, "po_number": po_number, "connector": connector, "release": ref},
            )
            # a supplier still marked new has its first purchase order (approvals/new_suppliers.py); the chain's lock
            # is held since the event above
            wire = CoreWire(session.connection())
            change = new_suppliers.first_orders(wire, [(req.supplier, number, po_number)], now=now)
            wire.send_together(change.writes)
            for _, was, becomes in change.events:
                audit.append_event(
                    session,
                    kind=new_suppliers.NO_LONGER_NEW,
                    actor="erp",
                    at=now,
                    surface="erp",
                    requisition_number=number,
                    before=was,
                    after=becomes,
                )
            text = (
                f"Release {release['index']} of {release['count']} of {number} is now purchase order {po_number} "
                f"in the ERP ({ref}).{nxt}"
            )
            notice = Notice("po_created", text, f"po_created:{ref}", number)
            jobqueue.enqueue(
                session,
                kind=NOTIFY,
                key=f"{NOTIFY}:{notice.key}:{req.requester}",
                due_at=now,
                now=now,
                payload={"to": req.requester, **notice.payload()},
            )
            if left_out:
                missing = outbox.files_missing_text(number, po_number, left_out)
                audit.append_event(
                    session,
                    kind="po_files_missing",
                    actor="erp",
                    at=now,
                    surface="erp",
                    requisition_number=number,
                    before=None,
                    after={**outbox.files_missing_event(missing, po_number, connector, left_out), "release": ref},
                )
                told = Notice("po_files_missing", missing, f"po_files_missing:{ref}", number)
                for person in dict.fromkeys([*buyers, req.requester]):
                    jobqueue.enqueue(
                        session,
                        kind=NOTIFY,
                        key=f"{NOTIFY}:{told.key}:{person}",
                        due_at=now,
                        now=now,
                        payload={"to": person, **told.payload()},
                    )
    return True


def _next_sentence(row: RecurringSchedule | None) -> str:
    if row is None or row.state != ACTIVE or row.next_index > row.releases:
        return "" if row is None or row.next_index <= row.releases else " That was the last release."
    when = nth_release(row.first_release, row.period, row.next_index - 1)
    return f" The next release is on {when.isoformat()}."


def dropped_spend(
    session: Session, cost_center: str, states: tuple[str, ...], exclude_id: int | None = None
) -> Decimal:
    """What recurring requisitions on the cost center will no longer order (skipped and ended releases): taken off
    their amount when counting committed spend, so the budget counts only the releases made and still to come."""
    query = (
        select(func.coalesce(func.sum(RecurringSchedule.dropped), 0))
        .join(Requisition, col(Requisition.id) == col(RecurringSchedule.requisition_id))
        .where(Requisition.cost_center == cost_center, col(Requisition.state).in_(states))
    )
    if exclude_id is not None:
        query = query.where(Requisition.id != exclude_id)
    return Decimal(str(session.exec(query).one()))


def invoiced_releases(
    session: Session, states: tuple[str, ...], invoiced: tuple[str, ...]
) -> list[tuple[str, Decimal]]:
    """(cost center, what the release is worth) for every release PO the ERP reports invoiced, of recurring
    requisitions still committed: the ERP's booked spend has them, so committed spend leaves them out."""
    rows = session.exec(
        select(col(Requisition.cost_center), col(Requisition.amount), col(RecurringSchedule.releases))
        .join(RecurringSchedule, col(RecurringSchedule.requisition_id) == col(Requisition.id))
        .join(ErpPurchaseOrder, col(ErpPurchaseOrder.requisition_number).like(RecurringSchedule.number + "-R%"))
        .where(col(Requisition.state).in_(states), col(ErpPurchaseOrder.status).in_(invoiced))
    ).all()
    return [(cc, per_release(Decimal(str(amount)), releases)) for cc, amount, releases in rows]


def dropped_by_cost_center(session: Session, states: tuple[str, ...]) -> dict[str, Decimal]:
    """`dropped_spend` for every cost center at once (the budget page)."""
    rows = session.exec(
        select(Requisition.cost_center, func.sum(RecurringSchedule.dropped))
        .join(Requisition, col(Requisition.id) == col(RecurringSchedule.requisition_id))
        .where(col(Requisition.state).in_(states))
        .group_by(Requisition.cost_center)
    ).all()
    return {cc: Decimal(str(total or 0)) for cc, total in rows}


def read(conn: Any, requisition_id: int) -> RecurringSchedule | None:
    """A requisition's schedule read on a connection already in use (a view's), as a plain row."""
    found = conn.execute(sa_select(_SCHEDULES).where(_SCHEDULES.c.requisition_id == requisition_id)).first()
    return RecurringSchedule.model_validate(dict(found._mapping)) if found is not None else None


def summary(row: RecurringSchedule) -> str:
    """ "Monthly, 12 releases from 2026-11-23: 3 made, 1 skipped, paused." for cards and the console."""
    states = {ACTIVE: "active", PAUSED: "paused", ENDED: "ended", FINISHED: "finished", WAITING: "starts when approved"}
    adverb = {"week": "Weekly", "month": "Monthly", "quarter": "Quarterly", "year": "Yearly"}[row.period]
    parts = [f"{row.made} made"] + ([f"{row.skipped} skipped"] if row.skipped else [])
    nxt = ""
    if row.state in (ACTIVE, PAUSED) and row.next_index <= row.releases:
        nxt = f"; next {nth_release(row.first_release, row.period, row.next_index - 1).isoformat()}"
    return (
        f"{adverb}, {row.releases} releases from {row.first_release.isoformat()}: {', '.join(parts)}{nxt} "
        f"({states[row.state]})."
    )
