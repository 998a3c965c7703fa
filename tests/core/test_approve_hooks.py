"""Approving with the server's in-transaction hooks installed (ERP outbox, chat fan-out, reminders).

On PostgreSQL the approve hot path writes the hooks' work in its own pipeline; a hook without a
fast counterpart sends every hook back through the general path. Both must leave the same rows.
"""

from __future__ import annotations

from factories import submit
from sqlmodel import Session, select

from approvals import outbox
from approvals.audit import verify_chain
from approvals.commands import Approve
from approvals.jobqueue import Job
from approvals.models import AuditEvent, Requisition
from approvals.scheduling.calendar import Calendars
from approvals.scheduling.plan import Planner, SchedulerConfig
from bot.runtime import chat_delivery


class Surface:
    name = "chat"

    def reach(self, person):  # type: ignore[no-untyped-def]
        return None


def _wire(service, engine, directory):  # type: ignore[no-untyped-def]
    outbox.install(service)
    delivery = chat_delivery(engine, directory, service)
    delivery.surfaces.append(Surface())
    config = SchedulerConfig()
    planner = Planner(directory, Calendars(directory, config.hours), config)
    service.in_transaction.append(planner)
    service.fast_hooks[planner] = planner.fast


def _approve_to_the_end(service, key: str) -> str:  # type: ignore[no-untyped-def]
    view = service.submit(submit("jake.miller", key=f"submit-{key}")).requisition
    assert view.state == "pending_approval"
    taps = 0
    while view.state == "pending_approval":
        approver = view.waiting_on[0]
        taps += 1
        view = service.approve(Approve(actor=approver, number=view.number, surface="slack",
                                       idempotency_key=f"{key}-{taps}")).requisition
    return view.number


def _written(engine, number: str) -> dict:  # type: ignore[no-untyped-def]
    """What the approvals left behind for `number`, with the number itself taken out."""
    with Session(engine) as s:
        req = s.exec(select(Requisition).where(Requisition.number == number)).one()
        jobs = s.exec(select(Job).where(Job.dedupe_key.like(f"%{number}%")).order_by(Job.id)).all()  # type: ignore[attr-defined]
        events = s.exec(select(AuditEvent).where(AuditEvent.requisition_number == number)
                        .order_by(AuditEvent.seq)).all()
    order = next(j.payload["order"] for j in jobs if j.kind == outbox.CREATE_PO)
    return {"state": req.state, "version": req.version,
            "jobs": sorted((j.kind, j.state) for j in jobs),
            "order": {**order, "reference": None},
            "chat": sorted(tuple(sorted((k, v) for k, v in j.payload.items() if k != "number"))
                           for j in jobs if j.kind == "chat.sync"),
            "audit": [(e.kind, e.actor, e.surface, {k: v for k, v in (e.after or {}).items() if k != "step"})
                      for e in events]}


def test_the_hot_path_writes_what_the_general_path_writes_with_every_hook(service, engine, directory):
    """A final approval with the outbox, the chat fan-out and reminders installed: po_pending, one create-PO
    job with the order, one chat job per action, the same audit trail, whichever path wrote it."""
    _wire(service, engine, directory)
    offered: list[str] = []  # outcomes the hot path offered the outbox's fast counterpart
    service.fast_hooks[outbox.on_final_approval] = lambda work: (offered.append(work.change.outcome)
                                                                 or outbox.on_final_approval_fast(work))
    fast = _approve_to_the_end(service, "fast")
    assert ("approved" in offered) == (engine.dialect.name == "postgresql")  # the hot path is PostgreSQL's
    service.in_transaction.append(lambda session, req, change: None)  # no fast counterpart: general path
    general = _approve_to_the_end(service, "general")

    a, b = _written(engine, fast), _written(engine, general)
    assert a["state"] == "po_pending"
    assert ("erp.create_po", "due") in a["jobs"]
    assert a["order"]["lines"][0]["sku"] and a["order"]["requester"] == "jake.miller"
    assert [k for k, *_ in a["audit"]][-2:] == ["approved", "po_requested"]
    assert a == b
    with Session(engine) as s:
        assert verify_chain(s).ok
