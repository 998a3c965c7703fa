"""A worker that is shutting down hands back the jobs it claimed but did not start, so another process takes them
at once instead of waiting for their leases to end."""

from __future__ import annotations

import threading

from sqlmodel import Session, select

from approvals.jobqueue import Job
from approvals.outbox import CREATE_PO, install
from bot.erp_dispatcher import ErpDispatcher
from bot.runtime import chat_delivery
from connectors.erp.config import ErpSettings
from connectors.erp.sandbox import SandboxErp
from tests.factories import boxes, submit

WRAP = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 10, "unit_price": 32}


def _jobs(engine, kind: str) -> list[Job]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return list(s.exec(select(Job).where(Job.kind == kind).order_by(Job.id)).all())


class _StopsAfterFirstPost:
    """A chat platform reaching everyone, where the process is told to stop during the first post."""

    name = "slack"

    def __init__(self, stop: threading.Event) -> None:
        self.stop, self.posts = stop, 0

    def reach(self, person):  # type: ignore[no-untyped-def]
        return {"dm": person.id}

    def post(self, address, card, text, *, thread=None):  # type: ignore[no-untyped-def]
        self.posts += 1
        self.stop.set()
        return f"ref-{self.posts}"

    def update(self, address, ref, card, text):  # type: ignore[no-untyped-def]
        pass


def test_the_card_fan_out_hands_back_what_it_had_not_started(engine, directory, service):
    """Three requests' cards are claimed; the stop comes during the first: the other two are due again, unclaimed."""
    chat = chat_delivery(engine, directory, service)
    stop = threading.Event()
    chat.surfaces.append(_StopsAfterFirstPost(stop))
    for quantity in (30, 31, 32):
        service.submit(submit(lines=[boxes(quantity)]))
    chat.drain(workers=1, stop=stop)
    jobs = _jobs(engine, "chat.sync")
    assert [j.state for j in jobs].count("done") == 1
    waiting = [j for j in jobs if j.state != "done"]
    assert len(waiting) == 2 and all(j.state == "due" and j.claimed_by is None for j in waiting)
    stop.clear()
    assert chat.drain(workers=1) == 2  # another round (or process) takes them at once


class _StopsAfterFirstPo:
    """The sandbox ERP, where the process is told to stop while the first PO is being created."""

    def __init__(self, inner: SandboxErp, stop: threading.Event) -> None:
        self.inner, self.stop, self.name = inner, stop, inner.name

    def create_po(self, order, progress=None):  # type: ignore[no-untyped-def]
        self.stop.set()
        return self.inner.create_po(order, progress)

    def get_po_status(self, reference, erp_id=None):  # type: ignore[no-untyped-def]
        return self.inner.get_po_status(reference, erp_id)


def test_the_erp_dispatcher_hands_back_the_pos_it_had_not_sent(engine, directory, service, clock):
    """Three touchless orders are claimed; the stop comes during the first PO: two are due again for another."""
    install(service)
    for requester in ("jake.miller", "ben.turner", "grace.kim"):
        service.submit(submit(requester, lines=[WRAP]))
    stop = threading.Event()
    erp = SandboxErp(engine, directory)
    sent: list[str] = []

    class Inbox:
        def send(self, person_id, notice):  # type: ignore[no-untyped-def]
            sent.append(person_id)
            return "ref"

    settings = ErpSettings(_env_file=None)
    first = ErpDispatcher(
        engine, directory, _StopsAfterFirstPo(erp, stop), Inbox(), settings=settings, clock=clock, worker_id="w1"
    )
    first.run_once(stop)
    jobs = _jobs(engine, CREATE_PO)
    assert [j.state for j in jobs].count("done") == 1 and erp.count() == 1
    assert sum(1 for j in jobs if j.state == "due" and j.claimed_by is None) == 2
    other = ErpDispatcher(engine, directory, erp, Inbox(), settings=settings, clock=clock, worker_id="w2")
    other.run_once()
    assert erp.count() == 3  # taken at once by another dispatcher, each PO once
