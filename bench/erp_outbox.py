"""POs per second through the outbox vs the raw connector call, against the sandbox ERP with latency.

    .venv/bin/python bench/erp_outbox.py [--n 400] [--latency-ms 10] [--rounds 3] [--db postgresql://postgres@127.0.0.1:5432/test]

Same run, same database, same sandbox latency:
  raw        create_po called in a loop (1 thread, then 4 threads): the ceiling
  outbox     approved requisitions' jobs sent by 1 dispatcher worker, then by 4: claim, ERP call,
             record (po_created + PO row + audit + notice job + completion), notices delivered
Goal: the outbox costs under 20% of the raw rate at the same concurrency.
Last, the outbox's own Python CPU per PO with an ERP that answers at once: a figure that other work
on a shared machine hardly moves, for comparing two versions of the code.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from approvals.clock import utcnow  # noqa: E402
from approvals.db import make_engine, transaction, upgrade  # noqa: E402
from approvals.directory import load_directory  # noqa: E402
from approvals.jobqueue import enqueue  # noqa: E402
from approvals.outbox import CREATE_PO, create_key  # noqa: E402
from bot.erp_dispatcher import ErpDispatcher  # noqa: E402
from connectors.erp.base import PoCreated, PoLine, PurchaseOrderRequest  # noqa: E402
from connectors.erp.config import ErpSettings  # noqa: E402
from connectors.erp.sandbox import SandboxErp, SandboxFaults  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class NullNotifier:
    def send(self, person_id, notice):  # type: ignore[no-untyped-def]
        return "bench"


def order(ref: str) -> PurchaseOrderRequest:
    from decimal import Decimal

    return PurchaseOrderRequest(
        reference=ref,
        supplier="uline",
        currency="USD",
        site="DAL",
        cost_center="DAL-OPS",
        requester="jake.miller",
        lines=(PoLine(1, "Stretch wrap", Decimal(1), Decimal(32), "roll", "PKG-SW-18"),),
    )


def seed_requisitions(engine, prefix: str, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Approved requisitions (po_pending) with their outbox jobs, written directly: we time the sending."""
    from approvals.models import Requisition

    numbers = [f"{prefix}{i:05d}" for i in range(n)]
    now = utcnow()
    with transaction(engine) as s:
        for number in numbers:
            s.add(
                Requisition(
                    number=number,
                    requester="jake.miller",
                    site="DAL",
                    cost_center="DAL-OPS",
                    supplier="uline",
                    currency="USD",
                    total=32,
                    amount=32,
                    category="packaging",
                    item_type="stock",
                    state="po_pending",
                    route={},
                    facts={},
                )
            )
            enqueue(
                s,
                kind=CREATE_PO,
                key=create_key(number),
                due_at=now,
                now=now,
                payload={"order": order(number).to_payload(), "round": 0},
            )
    return numbers


def raw_rate(erp: SandboxErp, n: int, threads: int) -> float:
    refs = [f"RAW-{uuid.uuid4().hex[:8]}-{i}" for i in range(n)]
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda r: erp.create_po(order(r)), refs))
    return n / (time.perf_counter() - start)


def outbox_rate(engine, directory, latency_ms: float, n: int, workers: int, prefix: str) -> float:  # type: ignore[no-untyped-def]
    seed_requisitions(engine, prefix, n)
    settings = ErpSettings(_env_file=None)
    dispatchers = [
        ErpDispatcher(
            engine,
            directory,
            SandboxErp(engine, directory, faults=SandboxFaults(latency_ms=latency_ms)),
            NullNotifier(),
            settings=settings,
            worker_id=f"bench-{prefix}-{i}",
            batch=5,
            lease=timedelta(minutes=5),
        )
        for i in range(workers)
    ]
    remaining = threading.Event()

    def work(d: ErpDispatcher) -> None:
        # as ErpDispatcher.run does while there is work: passes on one held connection until one finds none
        while not remaining.is_set():
            if d.drain() == 0:
                remaining.set()

    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    with engine.connect() as conn:
        done = conn.execute(
            text("SELECT count(*) FROM erp_purchase_order WHERE requisition_number LIKE :p"), {"p": prefix + "%"}
        ).scalar()
    assert done == n, f"only {done} of {n} recorded"
    return n / elapsed


class InstantErp:
    """Answers every create_po at once with a new PO: what is left to time is the outbox's own work."""

    name = "sandbox"

    def __init__(self) -> None:
        self._made = 0

    def create_po(self, order: PurchaseOrderRequest, progress: object = None) -> PoCreated:
        self._made += 1
        return PoCreated(order.reference, f"I{self._made}", f"PO-I{self._made:06d}", "open", created=True)

    def get_po_status(self, reference: str, erp_id: str | None = None) -> None:
        return None


def outbox_cpu(engine, directory, n: int, prefix: str) -> float:  # type: ignore[no-untyped-def]
    """Microseconds of the dispatcher thread's CPU per PO, one worker, the ERP answering at once: the
    outbox's own Python work (claims, the record, the notices), which other load on the machine hardly
    changes. PostgreSQL's share is not in it."""
    seed_requisitions(engine, prefix, n)
    d = ErpDispatcher(
        engine,
        directory,
        InstantErp(),
        NullNotifier(),
        settings=ErpSettings(_env_file=None),
        worker_id=f"bench-{prefix}",
        batch=5,
        lease=timedelta(minutes=5),
    )
    start = time.thread_time()
    while d.drain():
        pass
    return 1e6 * (time.thread_time() - start) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--latency-ms", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3, help="raw and outbox runs, interleaved; medians are shown")
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    name = f"procurebot_bench_erp_{uuid.uuid4().hex[:6]}"
    admin = create_engine(args.db.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.db.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        engine = make_engine(url, pool_size=12)
        directory = load_directory(ROOT / "examples" / "company.yaml")
        erp = SandboxErp(engine, directory, faults=SandboxFaults(latency_ms=args.latency_ms))
        print(
            f"sandbox ERP with {args.latency_ms:g} ms latency, {args.n} POs per run, {args.rounds} rounds, PostgreSQL"
        )
        for workers in (1, 4):
            raws, outs = [], []
            for r in range(args.rounds):
                # interleaved, so a neighbour's load on the machine hits both sides alike
                raws.append(raw_rate(erp, args.n, workers))
                outs.append(outbox_rate(engine, directory, args.latency_ms, args.n, workers, f"B{workers}{r}-"))
            raw, out = statistics.median(raws), statistics.median(outs)
            print(
                f"{workers} worker(s): raw connector {raw:7.1f} POs/s   outbox {out:7.1f} POs/s   "
                f"outbox cost {100 * (1 - out / raw):5.1f}% of raw   (medians; rounds: "
                + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(raws, outs))
                + ")"
            )
            # each round's raw and outbox runs are neighbours in time, so their ratio is the least disturbed
            # by other work on the machine; shown so a reader sees the spread, not only the medians
            print(
                "    cost per round: "
                + ", ".join(f"{100 * (1 - b / a):.1f}%" for a, b in zip(raws, outs))
                + f"   load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
            )
        alone = [outbox_cpu(engine, directory, args.n, f"C{r}-") for r in range(args.rounds)]
        print(
            f"outbox's own work: {statistics.median(alone):.0f} us of Python CPU per PO (median; ERP answering "
            "at once, 1 worker, PostgreSQL's CPU not included)"
        )
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
