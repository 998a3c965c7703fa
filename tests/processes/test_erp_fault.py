"""Fault tests: approved requisitions reach the ERP exactly once through errors, killed dispatchers and a
killed ERP server."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from factories import auto_approved
from live import free_port
from sqlalchemy import func
from sqlmodel import Session, select

from approvals.clock import utcnow
from approvals.inbox import InboxNotice
from approvals.jobqueue import Job
from approvals.models import Requisition
from approvals.outbox import ErpPurchaseOrder, install
from connectors.erp.sandbox import SandboxPurchaseOrder

pytestmark = pytest.mark.multiprocess  # several processes on one database: PostgreSQL only

N = 1000
WORKER = Path(__file__).parents[1] / "erp_dispatch_worker.py"
ERP_SERVER = Path(__file__).parents[1] / "erp_webhook_server.py"
SECRET = "fault-test-webhook-secret"


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def _pending_notices(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return int(
            s.exec(select(func.count()).select_from(Job).where(Job.kind == "erp.notify", Job.state != "done")).one()
        )


def _told_per_po(engine) -> Counter:  # type: ignore[no-untyped-def]
    """(requester, number) -> how many 'PO created' notices the inbox keeps for it."""
    with Session(engine) as s:
        rows = s.exec(select(InboxNotice.person_id, InboxNotice.number).where(InboxNotice.kind == "po_created")).all()
    return Counter((person, number) for person, number in rows)


def _wait_until(condition, what: str, limit: float = 240.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for the other process to reach a state (an event we observe, not a time we assume)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _start(db_url: str, seed: int, *erp: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), db_url, str(seed), "4", *erp],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_a_thousand_pos_exactly_once_through_faults_and_killed_dispatchers(service, engine, db_url, tmp_path, clock):
    """500s, 429s, timeouts after commit and dropped connections, two dispatchers killed mid-run:
    exactly 1,000 POs, none twice, none lost, every requester told about each of their POs."""
    clock.now = utcnow()  # the dispatcher processes run on the real clock; the jobs must be due for them
    install(service)
    numbers = auto_approved(service, N)

    def created() -> int:
        return _count(engine, ErpPurchaseOrder)

    kills = 0
    for seed, kill_at in ((1, 250), (2, 600)):
        proc = _start(db_url, seed)
        _wait_until(lambda: created() >= kill_at, f"{kill_at} POs")
        proc.send_signal(signal.SIGKILL)  # no clean-up, leases held, calls in flight
        proc.wait()
        kills += 1
    proc = _start(db_url, 3)
    try:
        _wait_until(lambda: created() == N, "every PO")
        _wait_until(lambda: _pending_notices(engine) == 0, "every notice")
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

    per_po = _told_per_po(engine)
    assert set(per_po) == {(requester_of[x], x) for x in numbers}  # every requester told about every PO
    # a process killed between keeping a notice and finishing its job delivers it again after restart; the
    # inbox keeps one row per (person, notice key), so the repeat changes nothing
    assert set(per_po.values()) == {1}
    print(
        f"\nfault run on {engine.dialect.name}: {N} POs, {attempts} attempts, {kills} kills, "
        f"{sum(per_po.values())} notices, none repeated",
        file=sys.stderr,
    )


def _start_erp(port: int, ledger: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(ERP_SERVER), str(port), str(ledger), SECRET],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _refused_while_down(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return int(
            s.exec(
                select(func.count())
                .select_from(Job)
                .where(Job.kind == "erp.create_po", Job.state == "failed", Job.last_error.like("no answer%"))
            ).one()
        )  # type: ignore[union-attr]


def test_the_erp_server_killed_mid_run_comes_back_with_every_po_exactly_once(service, engine, db_url, tmp_path, clock):
    """The ERP itself (a signed-webhook ERP in its own process, with its own ledger) is killed mid-run, and
    the dispatcher with it while the ERP is down; both come back: every PO exists once in the ERP, our
    record of each carries the ERP's number for it, and every requester is told."""
    n = 400
    clock.now = utcnow()
    install(service)
    numbers = auto_approved(service, n)
    ledger, port = tmp_path / "erp-ledger.db", free_port()
    hook = (f"http://127.0.0.1:{port}/procurebot", SECRET)

    def created() -> int:
        return _count(engine, ErpPurchaseOrder)

    erp = _start_erp(port, ledger)
    proc = _start(db_url, 1, *hook)
    try:
        _wait_until(lambda: created() >= n // 4, f"{n // 4} POs")
        erp.send_signal(signal.SIGKILL)  # mid-call for some workers: committed in its ledger, never answered
        erp.wait()
        with sqlite3.connect(ledger) as erp_db:  # POs the ERP had made that we had not yet recorded
            ahead = erp_db.execute("SELECT count(*) FROM po").fetchone()[0] - created()
        _wait_until(lambda: _refused_while_down(engine) > 0, "the dispatcher to meet the dead ERP")
        down_at = created()
        proc.send_signal(signal.SIGKILL)  # and the dispatcher too, leases held
        proc.wait()
        erp = _start_erp(port, ledger)
        proc = _start(db_url, 2, *hook)
        _wait_until(lambda: created() == n, "every PO")
        _wait_until(lambda: _pending_notices(engine) == 0, "every notice")
    finally:
        for p in (proc, erp):
            p.send_signal(signal.SIGTERM if p is proc else signal.SIGKILL)
            p.wait(timeout=30)

    with sqlite3.connect(ledger) as erp_db:
        in_erp = dict(erp_db.execute("SELECT reference, 'WH-' || printf('%06d', id) FROM po").fetchall())
        erp_rows = erp_db.execute("SELECT count(*) FROM po").fetchone()[0]
    with Session(engine) as s:
        ours = dict(s.exec(select(ErpPurchaseOrder.requisition_number, ErpPurchaseOrder.po_number)).all())
        states = Counter(s.exec(select(Requisition.state)).all())
        dead = s.exec(select(func.count()).select_from(Job).where(Job.state == "dead")).one()
        requester_of = dict(s.exec(select(Requisition.number, Requisition.requester)).all())
    assert erp_rows == n and sorted(in_erp) == sorted(numbers)  # none lost, none twice in the ERP
    assert ours == in_erp  # each of our records names the ERP's own PO for that requisition
    assert states == {"po_created": n} and dead == 0 and down_at < n
    per_po = _told_per_po(engine)
    assert set(per_po) == {(requester_of[x], x) for x in numbers}
    assert set(per_po.values()) == {1}  # the killed dispatcher's in-flight notices are kept once all the same
    print(
        f"\nERP killed at {down_at} of {n} POs on {engine.dialect.name} ({ahead} made but not yet recorded "
        f"by us); all {n} in its ledger once",
        file=sys.stderr,
    )
