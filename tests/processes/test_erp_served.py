"""The ERP side of `procurebot serve`: the real server process (its lifespan starts the ERP dispatcher, the
scheduler and the chat delivery worker) killed and restarted while the ERP fails at random; notices kept in the
database's inbox once across a crash; master data re-read by a server that runs no dispatcher."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import httpx
import pytest
from factories import ONE_ROLL, auto_approved, submit
from live import child_env, free_port
from sqlalchemy import func
from sqlmodel import Session, select

from approvals import master_data
from approvals.clock import utcnow
from approvals.db import make_engine
from approvals.inbox import InboxNotice
from approvals.jobqueue import Job
from approvals.models import Requisition
from approvals.outbox import NOTIFY, ErpPurchaseOrder, install
from bot.erp_dispatcher import ErpDispatcher, start_in_server
from bot.notify import InboxNotifier
from bot.settings import Settings
from connectors.erp.base import ErpSupplier
from connectors.erp.config import ErpSettings
from connectors.erp.sandbox import SandboxErp, SandboxPurchaseOrder

N = 1000
FAULTS = "500:0.10,429:0.05,timeout_after_commit:0.05,drop:0.05"
KILL_AT = (150, 400, 650)  # POs recorded when each of three server processes is killed
PROCUREBOT = Path(sys.executable).parent / "procurebot"
# the embedded ERP failing at random, retried quickly, and a killed server's jobs taken over within seconds
SERVE_ENV = {
    "PROCUREBOT_ERP_CONNECTOR": "sandbox",
    "PROCUREBOT_ERP_SANDBOX_FAULTS": FAULTS,
    "PROCUREBOT_ERP_DISPATCHERS": "4",
    "PROCUREBOT_ERP_MAX_ATTEMPTS": "60",
    "PROCUREBOT_ERP_BACKOFF_BASE_SECONDS": "0.01",
    "PROCUREBOT_ERP_BACKOFF_MAX_SECONDS": "0.2",
    "PROCUREBOT_ERP_TIMEOUT_SECONDS": "1",
    "PROCUREBOT_ERP_LEASE_SECONDS": "3",
    "PROCUREBOT_LOG_LEVEL": "warning",
}


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def _kept(engine) -> list[InboxNotice]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return list(s.exec(select(InboxNotice)).all())


def _unfinished_notices(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        query = select(func.count()).select_from(Job).where(Job.kind == NOTIFY, Job.state != "done")
        return int(s.exec(query).one())


def _wait_until(
    condition: Callable[[], bool],
    what: str,
    server: subprocess.Popen | None = None,
    log: Path | None = None,
    limit: float = 240.0,
) -> None:
    """Wait for the server to reach a state (an event we observe, not a time we assume)."""
    deadline = time.monotonic() + limit
    while not condition():
        if server is not None and server.poll() is not None:
            pytest.fail(f"the server exited ({server.returncode}) before {what}:\n{log.read_text() if log else ''}")
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _serve(db_url: str, var_dir: Path, seed: int) -> tuple[subprocess.Popen, Path]:
    """`procurebot serve` on a free local port against the test's database; returns once it answers /healthz."""
    port = free_port()
    env = child_env("PROCUREBOT_", "DATABASE_URL", "SLACK_", "TEAMS_", "OPENAI_")
    env.update(SERVE_ENV)
    env.update(
        {
            "DATABASE_URL": db_url,
            "PROCUREBOT_VAR_DIR": str(var_dir),
            "PROCUREBOT_PORT": str(port),
            "PROCUREBOT_ERP_SANDBOX_SEED": str(seed),
        }
    )
    log = var_dir / f"server-{seed}.log"
    with open(log, "w") as out:  # a file, not a pipe nobody reads: the server never blocks on its output
        proc = subprocess.Popen([str(PROCUREBOT), "serve"], env=env, cwd=var_dir, stdout=out, stderr=subprocess.STDOUT)

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    _wait_until(up, "/healthz answered", proc, log, limit=60)
    return proc, log


@pytest.mark.multiprocess
def test_the_served_app_killed_three_times_makes_every_po_once_and_tells_every_requester_once(
    service, engine, db_url, tmp_path, clock
):
    """1,000 approved requisitions; `procurebot serve` sends them to an ERP that answers 500, 429, times out after
    committing and drops connections, and is killed (SIGKILL) three times mid-run and restarted: exactly 1,000
    POs in the ERP, none twice, none lost, and each requester reads one 'PO created' line per requisition."""
    clock.now = utcnow()  # the server reads the wall clock (moved too by --clock-ahead): the jobs must be due for it
    install(service)
    numbers = auto_approved(service, N)
    var_dir = tmp_path / "var"
    var_dir.mkdir()

    def created() -> int:
        return _count(engine, ErpPurchaseOrder)

    killed_at = []
    server = None
    try:
        for seed, kill_at in enumerate(KILL_AT, start=1):
            server, log = _serve(db_url, var_dir, seed)
            _wait_until(lambda: created() >= kill_at, f"{kill_at} POs", server, log)
            server.send_signal(signal.SIGKILL)  # no shutdown: leases held, ERP calls and notices in flight
            server.wait()
            killed_at.append(created())
        server, log = _serve(db_url, var_dir, len(KILL_AT) + 1)
        _wait_until(lambda: created() == N, "every PO", server, log)
        _wait_until(lambda: _unfinished_notices(engine) == 0, "every notice", server, log)
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(30)

    with Session(engine) as s:
        in_erp = s.exec(select(SandboxPurchaseOrder.reference)).all()
        states = Counter(s.exec(select(Requisition.state)).all())
        attempts = s.exec(select(func.sum(Job.attempts)).where(Job.kind == "erp.create_po")).one()
        dead = s.exec(select(func.count()).select_from(Job).where(Job.state == "dead")).one()
        requester_of = dict(s.exec(select(Requisition.number, Requisition.requester)).all())
    assert all(0 < at < N for at in killed_at)  # each kill landed mid-run
    assert len(in_erp) == N and sorted(in_erp) == sorted(numbers)  # none lost, none twice in the ERP's ledger
    assert _count(engine, ErpPurchaseOrder) == N and states == {"po_created": N} and dead == 0
    assert attempts > N  # the faults really happened and were retried
    kept = _kept(engine)
    told = Counter((x.person_id, x.number) for x in kept if x.kind == "po_created")
    assert set(told) == {(requester_of[x], x) for x in numbers}  # every requester told about each of their POs
    assert set(told.values()) == {1}  # and only once, through three kills
    assert not (var_dir / "erp-notices.jsonl").exists()  # nothing kept in one host's file
    print(
        f"\nserved app on {engine.dialect.name}: {N} POs, {attempts} ERP attempts, killed at {killed_at}, "
        f"{len(kept)} notices",
        file=sys.stderr,
    )


class _KilledAfterWriting(BaseException):
    """Stands for SIGKILL between a notice reaching the inbox and its job being marked done."""


class _DiesAfterWriting(InboxNotifier):
    def send(self, person_id, notice):  # type: ignore[no-untyped-def]
        super().send(person_id, notice)
        raise _KilledAfterWriting


def test_a_notice_written_just_before_a_crash_is_not_written_again(service, engine, db_url, directory, clock):
    """A dispatcher dies right after keeping Jake's 'PO created' in the inbox, before marking the notice sent; the
    one that takes the notice over after the lease (another process: its own engine) finds it kept, so Jake reads
    it once."""
    install(service)
    number = service.submit(submit("jake.miller", lines=[ONE_ROLL])).number
    settings = ErpSettings(_env_file=None)
    erp = SandboxErp(engine, directory)
    dying = ErpDispatcher(
        engine,
        directory,
        erp,
        _DiesAfterWriting(engine, clock),
        settings=settings,
        clock=clock,
        worker_id="dies",
        lease=timedelta(minutes=1),
    )
    with pytest.raises(_KilledAfterWriting):
        dying.run_once()
    assert _unfinished_notices(engine) == 1  # the notice is kept, the job still held by the dead worker
    clock.advance(minutes=2)  # its lease runs out
    other = make_engine(db_url)  # a new process: its own engine on the same database
    try:
        after = ErpDispatcher(
            other, directory, erp, InboxNotifier(other, clock), settings=settings, clock=clock, worker_id="after"
        )
        after.run_once()
    finally:
        other.dispose()
    assert _unfinished_notices(engine) == 0
    assert [(x.person_id, x.number, x.kind) for x in _kept(engine)] == [("jake.miller", number, "po_created")]


class _ErpBlocksUline(SandboxErp):
    def list_suppliers(self) -> list[ErpSupplier]:
        blocked = ErpSupplier(id="uline", name="Uline", blocked=True, block_reason="unpaid invoices", erp_key="uline")
        return [blocked if s.id == "uline" else s for s in super().list_suppliers()]


def test_a_server_without_dispatchers_still_picks_up_master_data_another_process_pulled(
    service, engine, directory, db_url, clock, monkeypatch
):
    """Production runs the dispatchers (and so the master-data pulls) as their own processes; when one of them
    stores that the ERP now blocks Uline, a web replica with no dispatcher routes on it without a restart."""
    monkeypatch.setenv("PROCUREBOT_ERP_MASTER_REFRESH_SECONDS", "0.05")
    monkeypatch.setenv("PROCUREBOT_ERP_CONNECTOR", "sandbox")
    settings = Settings(_env_file=None, database_url=db_url, erp_dispatchers=0)
    replica = SimpleNamespace(settings=settings, engine=engine, directory=directory, service=service)
    stop = start_in_server(replica)
    assert stop is not None
    try:
        assert not service.directory.supplier_by_id["uline"].blocked
        master_data.sync(engine, _ErpBlocksUline(engine, directory))  # `procurebot erp dispatch` elsewhere
        _wait_until(
            lambda: service.directory.supplier_by_id["uline"].blocked, "the replica to re-read master data", limit=30
        )
    finally:
        stop.set()
