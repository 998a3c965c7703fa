"""Does one scheduler tick cost what is due, or what is pending? PostgreSQL, notifications faked.

For each size (10,000 and 100,000 pending approval steps, each with its reminder row), exactly
1,000 reminders are due now and the rest are due over the next weeks. One tick claims the due
rows (FOR UPDATE SKIP LOCKED), loads their steps, "sends" each reminder (an in-memory notifier)
and moves each row to its next reminder. Goal: the tick's time follows the 1,000 due rows, not
the pending count (ratio 100k/10k near 1), and stays under 1 s.

    .venv/bin/python bench/scheduler.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                        [--sizes 10000 100000] [--due 1000] [--rounds 3]

Runs in a scratch database created on the server the URL points at and dropped at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from approvals.clock import utcnow  # noqa: E402
from approvals.db import make_engine, normalize_url, transaction  # noqa: E402
from approvals.directory import load_directory  # noqa: E402
from approvals.jobqueue import Job, JobQueue  # noqa: E402
from approvals.models import ApprovalStep, Requisition  # noqa: E402
from approvals.policy import load_policy  # noqa: E402
from approvals.policy_store import install_policy  # noqa: E402
from approvals.scheduling.plan import SchedulerConfig  # noqa: E402
from approvals.scheduling.runner import Scheduler  # noqa: E402
from approvals.workflow import ApprovalService  # noqa: E402
from bench.approve_path import DEFAULT_URL, ScratchDatabase  # noqa: E402
from bot.notify import RecordingNotifier  # noqa: E402

EXAMPLES = ROOT / "examples"
NOW = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)  # Monday: working hours from New York to Seattle
APPROVERS = ["zoe.martin", "maria.lopez", "frank.novak", "denise.washington", "carlos.mendoza", "hannah.berg"]


def fill(engine: Any, pending: int, due: int) -> None:
    """`pending` requisitions with one pending step and a reminder row each; `due` of them due now."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE job, approval_step, requisition RESTART IDENTITY CASCADE"))
        conn.execute(
            text(
                "INSERT INTO job (kind, dedupe_key, payload, due_at, state, attempts, created_at, "
                "updated_at) VALUES ('digest_plan', :k, '{}', :t, 'done', 0, :t, :t)"
            ),
            {"k": f"digest_plan:{NOW.date().isoformat()}", "t": NOW},
        )
    activated = NOW - timedelta(hours=5)
    chunk = 10_000
    for start in range(0, pending, chunk):
        ids = range(start + 1, min(pending, start + chunk) + 1)
        reqs = [
            dict(
                id=i,
                number=f"PR-{100000 + i}",
                title="Stretch wrap",
                requester="jake.miller",
                site="DAL",
                cost_center="DAL-OPS",
                supplier="uline",
                currency="USD",
                total=Decimal("1280"),
                amount=Decimal("1280"),
                category="packaging",
                item_type="stock",
                urgency="standard",
                recurring=False,
                justification="",
                state="pending_approval",
                route={},
                facts={},
                current_stage=0,
                round=0,
                version=1,
                surface="api",
                created_at=NOW,
                updated_at=NOW,
            )
            for i in ids
        ]
        steps = [
            dict(
                id=i,
                requisition_id=i,
                round=0,
                stage_index=0,
                stage_name="Manager",
                mode="any",
                required=1,
                approver=APPROVERS[i % len(APPROVERS)],
                acting=APPROVERS[i % len(APPROVERS)],
                state="pending",
                rule_id="standard-small",
                explanation="",
                sla_hours=Decimal(24),
                escalation="add",
                check_limits=True,
                activated_at=activated,
            )
            for i in ids
        ]
        jobs = [
            dict(
                kind="remind",
                dedupe_key=f"remind:{i}:{int(activated.timestamp())}",
                state="due",
                attempts=0,
                payload={"step": i, "n": 1, "max": 3, "every": "8"},
                created_at=NOW,
                updated_at=NOW,
                due_at=NOW - timedelta(seconds=i) if i <= due else NOW + timedelta(minutes=10 + i % 40_000),
            )
            for i in ids
        ]
        with engine.begin() as conn:
            conn.execute(insert(Requisition), reqs)
            conn.execute(insert(ApprovalStep), steps)
            conn.execute(insert(Job), jobs)
    with engine.begin() as conn:
        conn.execute(text("SELECT setval('requisition_id_seq', :n)"), {"n": pending})
        conn.execute(text("SELECT setval('approval_step_id_seq', :n)"), {"n": pending})
        conn.execute(text("ANALYZE job; ANALYZE approval_step; ANALYZE requisition"))


def one_tick(service: ApprovalService, due: int) -> tuple[float, float, int]:
    """(claim seconds, whole tick seconds, reminders sent) for one tick over `due` rows."""
    notifier = RecordingNotifier()
    config = SchedulerConfig(batch=due)
    claim_only = JobQueue(service.engine, clock=lambda: NOW, worker_id="bench-claim")
    t0 = time.perf_counter()  # a claim measured alone, then handed back
    claimed = claim_only.claim("remind", limit=due)
    claim_s = time.perf_counter() - t0
    with service.engine.begin() as conn:
        conn.execute(
            text("UPDATE job SET state='due', due_at=:t, claimed_by=NULL, attempts=0 WHERE claimed_by='bench-claim'"),
            {"t": NOW - timedelta(seconds=1)},
        )
    assert len(claimed) == due, (len(claimed), due)
    scheduler = Scheduler(service, notifier, config=config, clock=lambda: NOW, worker_id="bench")
    t0 = time.perf_counter()
    report = scheduler.tick()
    tick_s = time.perf_counter() - t0
    if report.sent != due:
        print(report, file=sys.stderr)
    return claim_s, tick_s, report.sent


def run(url: str, sizes: list[int], due: int, rounds: int) -> None:
    directory = load_directory(EXAMPLES / "company.yaml")
    with ScratchDatabase(url) as scratch:
        engine = make_engine(scratch, pool_size=2)
        with transaction(engine) as session:
            install_policy(session, load_policy(EXAMPLES / "policy.yaml"), at=utcnow())
        service = ApprovalService(engine, directory, clock=lambda: NOW)
        results: dict[int, tuple[float, float]] = {}
        for pending in sizes:
            best_claim, best_tick = float("inf"), float("inf")
            for _ in range(rounds):
                fill(engine, pending, due)
                claim_s, tick_s, sent = one_tick(service, due)
                assert sent == due, f"sent {sent} of {due}"
                best_claim, best_tick = min(best_claim, claim_s), min(best_tick, tick_s)
            results[pending] = (best_claim, best_tick)
            with Session(engine) as s:
                plan = "\n".join(
                    r[0]
                    for r in s.execute(
                        text(
                            "EXPLAIN SELECT id FROM job WHERE kind IN ('remind') "
                            "AND state IN ('due','failed','claimed') "
                            "AND due_at <= :t ORDER BY due_at, id LIMIT :n FOR UPDATE SKIP LOCKED"
                        ),
                        {"t": NOW, "n": due},
                    ).all()
                )
            print(f"\nclaim plan at {pending:,} pending:\n{plan}")
        engine.dispose()
    base = sizes[0]
    print(f"\none tick over {due:,} due reminders (best of {rounds}; notifications in memory)")
    vs = f"tick vs {base:,}"
    print(f"{'pending':>10} {'due':>6} {'claim ms':>9} {'tick ms':>9} {'us/due row':>11} {vs:>14}")
    for pending, (claim_s, tick_s) in results.items():
        print(
            f"{pending:>10,} {due:>6,} {claim_s * 1e3:>9.1f} {tick_s * 1e3:>9.1f} {tick_s / due * 1e6:>11.0f} "
            f"{tick_s / results[base][1]:>13.2f}x"
        )
    biggest = results[sizes[-1]][1]
    print(
        f"\npending grew {sizes[-1] / base:.0f}x; the tick grew {biggest / results[base][1]:.2f}x; "
        f"one tick for {due:,} due: {biggest:.2f} s (goal < 1 s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL; only used to create/drop the scratch DB")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="pending rows per run")
    parser.add_argument("--due", type=int, default=1000, help="rows due now (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="repeats per size; the best is reported")
    args = parser.parse_args(argv)
    if not normalize_url(args.url).startswith("postgresql"):
        parser.error("this bench measures PostgreSQL; give a postgresql:// URL")
    run(args.url, sorted(args.sizes), args.due, max(1, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
