"""Several processes acting at once on one database: one decision, never two."""

from __future__ import annotations

import multiprocessing as mp

import pytest
from sqlmodel import Session, select

from approvals.commands import Approve
from approvals.models import Decision, Requisition
from tests.concurrency_worker import approve_when_told
from tests.factories import submit

pytestmark = pytest.mark.multiprocess  # several processes on one database: PostgreSQL only

# $7,000 of IT: over $5,000 adds the finance stage (any of Priya, Olivia), within both their limits
LAPTOPS = {"description": "Laptop 14in", "sku": "IT-LAP-14", "quantity": 5, "unit_price": 1400}


def _race(db_url: str, number: str, actors: list[str], keys: list[str | None]) -> list[tuple]:
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=approve_when_told, args=(db_url, number, a, k, start, results)) for a, k in zip(actors, keys)
    ]
    for p in procs:
        p.start()
    start.set()
    out = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    return out


def _approvals(service, number: str) -> list[Decision]:
    with Session(service.engine) as s:
        req = s.exec(select(Requisition).where(Requisition.number == number)).one()
        return list(
            s.exec(select(Decision).where(Decision.requisition_id == req.id, Decision.action == "approve")).all()
        )


def test_two_approvers_tap_at_once_on_any_of_stage(service, db_url):
    """Priya and Olivia tap Approve at the same moment from two processes: one decision, the other is told who acted."""
    result = service.submit(submit(requester="emily.davis", cost_center="CORP-IT", supplier="cdw", lines=[LAPTOPS]))
    number = result.number
    service.approve(Approve(actor="raj.patel", number=number))
    assert sorted(service.get(number).waiting_on) == ["olivia.grant", "priya.nair"]
    outcomes = _race(db_url, number, ["priya.nair", "olivia.grant"], [None, None])
    winners = [o for o in outcomes if o[1] == "ok"]
    losers = [o for o in outcomes if o[1] != "ok"]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0][1] == "StaleAction"
    winner_name = {"priya.nair": "Priya Nair", "olivia.grant": "Olivia Grant"}[winners[0][0]]
    assert f"already approved by {winner_name}" in losers[0][2]
    assert len(_approvals(service, number)) == 2  # Raj's and exactly one finance approval
    assert service.get(number).state == "approved"


def test_same_key_from_four_processes_records_one_decision(service, db_url):
    """A chat platform delivers the same tap four times to four replicas: one decision, four identical answers."""
    number = service.submit(
        submit(lines=[{"description": "Corrugated boxes", "sku": "PKG-BOX-2012", "quantity": 80, "unit_price": 48}])
    ).number
    outcomes = _race(db_url, number, ["maria.lopez"] * 4, ["slack-action-123"] * 4)
    assert all(o[1] == "ok" and o[2] == "approved" for o in outcomes), outcomes
    assert sum(1 for o in outcomes if not o[3]) == 1  # exactly one did the work, the rest replayed
    assert len(_approvals(service, number)) == 1
