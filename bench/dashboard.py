"""Dashboard queries over 1,000,000 requisitions on PostgreSQL, each beside a plain SELECT count(*).

    .venv/bin/python bench/dashboard.py [--n 1000000] [--days 7 30 90 365] [--repeat 3]
        [--admin-url postgresql://postgres@127.0.0.1:5432/test] [--keep]

Makes its own database (procurebot_bench_dashboard_<pid>), migrates it (so the indexes are the
ones migration 0003_metrics ships), loads a 3-year history with generate_series in a few
statements, VACUUM ANALYZEs, then times every query the console's dashboard runs, for each period
the console offers (7, 30, 90 days) and, for scale only, a year. Each figure is the median of
--repeat runs after one warm-up, measured around the Python function the console calls
(connection checkout and result handling included). Goal: every query under 500 ms for the
console's periods. The baseline is `SELECT count(*) FROM requisition` in the same run, so the
ratio says how each query compares with reading the whole table once. The database is dropped
at the end unless --keep.

The history (deterministic, g = 1..n): six sites, eight categories, 40 suppliers, 30 approvers;
70% reach a PO (cycle up to ~4.6 days), 10% wait for approval, 10% rejected, 10% stopped or
withdrawn; a third of the approved need no step (touchless); others have one step (1 in 17
escalated to a second); 1 in 13 asked a question; 1 in 50 POs dead-lettered once; 1 in 11
steps decided by a delegate; one 'submitted' audit event per requisition.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from approvals.clock import utcnow  # noqa: E402
from approvals.db import make_engine, upgrade  # noqa: E402
from approvals.directory import load_directory  # noqa: E402
from approvals.metrics import Scope, last_days, queries as q  # noqa: E402
from approvals.metrics.report import budgets  # noqa: E402
from bot.console.dashboard import PERIODS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOAL_MS = 500.0
SPAN_DAYS = 3 * 365

LOAD = [
    # requisitions: submitted evenly over the last three years, newest = g = n
    """
    INSERT INTO requisition (id, number, title, requester, site, cost_center, supplier, currency, total, amount,
        category, item_type, urgency, recurring, justification, state, route, facts, current_stage, round, version,
        surface, created_at, updated_at, submitted_at, decided_at)
    SELECT g, 'PR-' || g, 'item ' || (g % 997), 'person' || (g % 300),
        (ARRAY['DAL','CHI','ATL','NJ','PHX','SEA'])[g % 6 + 1],
        (ARRAY['DAL-OPS','CHI-OPS','ATL-OPS','NJ-OPS','PHX-OPS','SEA-OPS'])[g % 6 + 1],
        'supplier' || ((g * 7) % 40), 'USD', (g * 37) % 20000 + 50, (g * 37) % 20000 + 50,
        (ARRAY['mro','packaging','it_hardware','freight','office_supplies','safety_ppe','janitorial',
               'capex_equipment'])[g % 8 + 1],
        'mro', 'standard', false, '',
        CASE WHEN g % 10 < 7 THEN 'po_created' WHEN g % 10 = 7 THEN 'pending_approval'
             WHEN g % 10 = 8 THEN 'rejected' WHEN g % 20 = 9 THEN 'stopped' ELSE 'withdrawn' END,
        CASE WHEN g % 20 = 9 THEN '{"rule_id": "blocked-supplier"}'::json ELSE '{}'::json END,
        '{}'::json, 0, 0, 1, 'api', ts, ts, ts, ts + interval '1 hour'
    FROM (SELECT g, now() - make_interval(secs => (:n - g) * :step) AS ts FROM generate_series(1, :n) g) s
    """,
    # purchase orders for the po_created ones
    """
    INSERT INTO erp_purchase_order (requisition_number, connector, erp_id, po_number, status, received_fraction,
        created_at, status_at)
    SELECT number, 'sandbox', 'e' || id, 'PO' || id, 'open', 0,
        submitted_at + make_interval(secs => (id::bigint * 7919) % 400000 + 60),
        submitted_at + make_interval(secs => (id::bigint * 7919) % 400000 + 60)
    FROM requisition WHERE state = 'po_created'
    """,
    # one step for everything that went to approvers (ids = requisition ids)
    """
    INSERT INTO approval_step (id, requisition_id, round, stage_index, stage_name, mode, required, approver, acting,
        state, rule_id, explanation, sla_hours, escalate_to, escalation, check_limits, escalated_from, activated_at,
        decided_at, decided_by, on_behalf_of)
    SELECT id, id, 0, 0,
        (ARRAY['Site approval','Regional operations','Finance','Category review','Manager','Procurement'])[id % 6 + 1],
        'any', 1, 'approver' || (id % 30), 'approver' || (id % 30),
        CASE WHEN state = 'pending_approval' THEN 'pending' WHEN id % 17 = 0 THEN 'escalated'
             WHEN state = 'rejected' THEN 'rejected' ELSE 'approved' END,
        'r', 'why', 24, CASE WHEN id % 2 = 0 THEN '{"next_level": true}'::json END, 'reassign', true, NULL,
        submitted_at,
        CASE WHEN state <> 'pending_approval' THEN submitted_at + make_interval(secs => (id * 31) % 200000 + 1) END,
        CASE WHEN state <> 'pending_approval' AND id % 17 <> 0 THEN 'approver' || (id % 30) END,
        CASE WHEN state <> 'pending_approval' AND id % 17 <> 0 AND id % 11 = 0 THEN 'delegator' || (id % 7) END
    FROM requisition
    WHERE state IN ('pending_approval', 'rejected') OR (state = 'po_created' AND id % 3 <> 0)
    """,
    # the escalation target's step, decided ten minutes later
    """
    INSERT INTO approval_step (id, requisition_id, round, stage_index, stage_name, mode, required, approver, acting,
        state, rule_id, explanation, sla_hours, escalate_to, escalation, check_limits, escalated_from, activated_at,
        decided_at, decided_by)
    SELECT 2000000000 - s.id, s.requisition_id, 0, 0, s.stage_name, 'any', 1, 'boss', 'boss',
        CASE WHEN r.state = 'rejected' THEN 'rejected' ELSE 'approved' END, 'r', 'escalated', 24, NULL, 'reassign',
        true, s.id, s.decided_at, s.decided_at + interval '10 minutes', 'boss'
    FROM approval_step s JOIN requisition r ON r.id = s.requisition_id WHERE s.state = 'escalated'
    """,
    """
    INSERT INTO info_request (requisition_id, asked_by, question, asked_at, state)
    SELECT requisition_id, approver, 'why?', activated_at, 'answered' FROM approval_step
    WHERE requisition_id % 13 = 0 AND escalated_from IS NULL
    """,
    # the audit trail: a 'submitted' event for each, and the ERP's dead letters
    """
    INSERT INTO audit_event (seq, at, kind, actor, surface, requisition_number, prev_hash, hash)
    SELECT id, submitted_at, 'submitted', requester, 'api', number, 'x', 'x' FROM requisition
    """,
    """
    INSERT INTO audit_event (seq, at, kind, actor, surface, requisition_number, prev_hash, hash)
    SELECT 2000000000 - r.id, r.submitted_at + interval '30 seconds', 'po_failed', 'erp', 'erp', r.number, 'x', 'x'
    FROM requisition r WHERE r.state = 'po_created' AND r.id % 50 = 1
    """,
    """
    INSERT INTO job (kind, dedupe_key, payload, due_at, state, attempts, created_at, updated_at)
    SELECT 'erp.create_po', 'erp.create_po:PR-X' || g, '{}'::json, now(), 'dead', 8, now(), now()
    FROM generate_series(1, 25) g
    """,
    """
    INSERT INTO delegation (delegator, delegate, starts_at, ends_at, reason, created_by, created_at)
    SELECT 'delegator' || g, 'approver' || g, now() - interval '2 days', now() + interval '5 days', 'leave',
        'delegator' || g, now() FROM generate_series(0, 6) g
    """,
]


def queries(engine, directory, days: int):  # type: ignore[no-untyped-def]
    """Every query the console's dashboard runs for one period, as (name, call)."""
    w, everything = last_days(utcnow(), days), Scope.all()
    return [
        ("cycle time, all", lambda: q.cycle_time(engine, w, everything)),
        ("cycle time by site", lambda: q.cycle_time(engine, w, everything, "site")),
        ("cycle time by category", lambda: q.cycle_time(engine, w, everything, "category")),
        ("cycle time by supplier", lambda: q.cycle_time(engine, w, everything, "supplier")),
        ("cycle time by month", lambda: q.cycle_time(engine, w, everything, "month")),
        ("step turnaround by stage", lambda: q.step_turnaround(engine, w, everything, "stage")),
        ("step turnaround by approver", lambda: q.step_turnaround(engine, w, everything, "approver")),
        ("touchless rate", lambda: q.touchless(engine, w, everything)),
        ("SLA adherence", lambda: q.sla_adherence(engine, w, everything)),
        ("SLA adherence by stage", lambda: q.sla_adherence(engine, w, everything, "stage")),
        ("escalation + info rates", lambda: q.escalation_and_info_rates(engine, w, everything)),
        ("exceptions by kind, site", lambda: q.exceptions(engine, w, everything)),
        ("ERP failures + recovery", lambda: q.erp_recovery(engine, w, everything)),
        ("delegation usage", lambda: q.delegation_usage(engine, w, everything)),
        ("commitments vs budget", lambda: budgets(engine, directory, everything)),
    ]


def timed(call, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(median, best) in ms of `repeat` runs after a warm-up (plans cached, pages in memory, as on a reload)."""
    call()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs), min(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, nargs="+", default=[7, 30, 90, 365])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    args = parser.parse_args()

    name = f"procurebot_bench_dashboard_{os.getpid()}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = None
    try:
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            step = SPAN_DAYS * 86400 / args.n
            for statement in LOAD:
                conn.execute(text(statement), {"n": args.n, "step": step})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            sizes = {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("requisition", "approval_step", "erp_purchase_order", "audit_event", "info_request")
            }
        print(f"loaded in {time.perf_counter() - started:.0f} s: " + ", ".join(f"{t} {n:,}" for t, n in sizes.items()))

        def count_all() -> int:
            with engine.connect() as conn:  # type: ignore[union-attr]
                return int(conn.execute(text("SELECT count(*) FROM requisition")).scalar_one())

        baseline, baseline_best = timed(count_all, args.repeat)
        print(
            f"\nbaseline: SELECT count(*) FROM requisition ({args.n:,} rows): {baseline:.1f} ms "
            f"(best {baseline_best:.1f}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n"
        )
        print("each cell: median ms (best ms), median / count(*); ! marks a median at or over the goal\n")
        directory = load_directory(ROOT / "examples" / "company.yaml")
        worst: list[tuple[float, str]] = []
        print(f"{'query':<30}" + "".join(f"{f'{d} days':>28}" for d in args.days))
        results = {
            d: dict((label, timed(call, args.repeat)) for label, call in queries(engine, directory, d))
            for d in args.days
        }
        for label in results[args.days[0]]:
            cells = []
            for d in args.days:
                ms, best = results[d][label]
                worst.append((ms, f"{label} ({d} days)"))
                cells.append(f"{ms:7.1f} ({best:6.1f}) {ms / baseline:5.2f}x{' !' if ms >= GOAL_MS else '  '}")
            print(f"{label:<30}" + "".join(f"{c:>28}" for c in cells))
        judged = [w for w in worst if int(w[1].rsplit("(", 1)[1].split()[0]) in PERIODS]
        slow = [w for w in judged if w[0] >= GOAL_MS]
        top = max(judged) if judged else max(worst)
        print(f"load average now {os.getloadavg()[0]:.1f}")
        print(
            f"\nslowest over the console's periods ({', '.join(f'{d} days' for d in PERIODS)}): {top[1]} "
            f"{top[0]:.1f} ms ({top[0] / baseline:.2f}x count(*)); goal: each under {GOAL_MS:.0f} ms -> "
            f"{'met' if not slow else f'missed by {len(slow)} (marked !)'}"
        )
        beyond = [d for d in args.days if d not in PERIODS]
        if beyond:
            print(f"periods the console does not offer ({', '.join(map(str, beyond))} days) are shown for scale only")
        return 0 if not slow else 1
    finally:
        if engine is not None:
            engine.dispose()
        if args.keep:
            print(f"kept: {url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
