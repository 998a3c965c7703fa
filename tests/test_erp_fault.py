"""Fault test: 1,000 approved requisitions reach the ERP exactly once through errors and killed dispatchers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from approvals.clock import utcnow
from approvals.jobqueue import Job
from approvals.models import Requisition
from approvals.outbox import ErpPurchaseOrder, install
from connectors.erp.sandbox import SandboxPurchaseOrder
from factories import submit

N = 1000
REQUESTERS = ["jake.miller", "maria.lopez", "ben.turner", "grace.kim"]
ONE_ROLL = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 1, "unit_price": 32}
WORKER = Path(__file__).with_name("erp_dispatch_worker.py")


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def _pending_notices(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(Job).where(Job.kind == "erp.notify",
                                                                      Job.state != "done")).one())


def _wait_until(condition, what: str, limit: float = 240.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for the other process to reach a state (an event we observe, not a time we assume)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _start(db_url: str, notices: Path, seed: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(WORKER), db_url, str(notices), str(seed), "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_a_thousand_pos_exactly_once_through_faults_and_killed_dispatchers(service, engine, db_url, tmp_path, clock):
    """500s, 429s, timeouts after commit and dropped connections, two dispatchers killed mid-run:
    exactly 1,000 POs, none twice, none lost, every requester told about each of their POs."""
    clock.now = utcnow()  # the dispatcher processes run on the real clock; the jobs must be due for them
    install(service)
    numbers = []
    for i in range(N):
        result = service.submit(submit(REQUESTERS[i % 4], lines=[ONE_ROLL]))
        assert result.outcome == "auto_approved", result.message
        numbers.append(result.number)
    notices = tmp_path / "notices.jsonl"

    def created() -> int:
        return _count(engine, ErpPurchaseOrder)

    kills = 0
    for seed, kill_at in ((1, 250), (2, 600)):
        proc = _start(db_url, notices, seed)
        _wait_until(lambda: created() >= kill_at, f"{kill_at} POs")
        proc.send_signal(signal.SIGKILL)  # no clean-up, leases held, calls in flight
        proc.wait()
        kills += 1
    proc = _start(db_url, notices, 3)
    try:
        _wait_until(lambda: created() == N, "every PO")
        _wait_until(lambda: _pending_notices(engine) == 0 and notices.exists(), "every notice")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

    with Session(engine) as s:
        refs = s.exec(select(SandboxPurchaseOrder.reference)).all()
        states = Counter(s.exec(select(Requisition.state)).all())
        attempts = s.exec(select(func.sum(Job.attempts)).where(Job.kind == "erp.create_po")).one()
        dead = s.exec(select(func.count()).select_from(Job).where(Job.state == "dead")).one()
        requester_of = dict(s.exec(select(Requisition.number, Requisition.requester)).all())
    assert len(refs) == N and sorted(refs) == sorted(numbers)  # none lost, none twice in the ERP
    assert _count(engine, ErpPurchaseOrder) == N and states == {"po_created": N} and dead == 0
    assert attempts > N  # the faults really happened and were retried

    sent = [json.loads(line) for line in notices.read_text().splitlines()]
    per_po = Counter((n["to"], n["number"]) for n in sent if n["kind"] == "po_created")
    assert set(per_po) == {(requester_of[x], x) for x in numbers}  # every requester told about every PO
    repeats = sum(c - 1 for c in per_po.values())
    # a process killed between handing a message to chat and recording it can repeat at most its in-flight
    # messages (4 workers, 20 each); the message key lets the chat surface drop such a repeat
    assert repeats <= kills * 4 * 20
    print(f"\nfault run on {engine.dialect.name}: {N} POs, {attempts} attempts, {kills} kills, "
          f"{len(sent)} notices, {repeats} repeated", file=sys.stderr)
