"""How fast is one approval on PostgreSQL, next to the cheapest write the database can do?

Approve path: ApprovalService.approve() on a requisition that waits on exactly one approver
(lock the row, check the step, write the decision, the step and state change, one audit event,
the command log), in-process, one thread. Baseline: a one-row UPDATE + COMMIT through the same
engine (approvals.db.make_engine, psycopg 3). Goal: approve throughput >= 1/2 of the baseline.

    .venv/bin/python bench/approve_path.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                           [--n 2000] [--rounds 3] [--profile] [--show-sql]

Everything runs in a scratch database (procurebot_bench_<random>) created on the server the
URL points at and dropped at the end, even on error. The URL's own database is only used to
issue CREATE/DROP DATABASE.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pstats
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sqlalchemy import Engine, create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from approvals.audit import verify_chain  # noqa: E402
from approvals.clock import utcnow  # noqa: E402
from approvals.commands import Approve, SubmitRequisition  # noqa: E402
from approvals.db import make_engine, normalize_url, transaction, upgrade  # noqa: E402
from approvals.directory import Directory  # noqa: E402
from approvals.policy import load_policy  # noqa: E402
from approvals.policy_store import install_policy  # noqa: E402
from approvals.requisition import RequisitionDraft  # noqa: E402
from approvals.workflow import ApprovalService  # noqa: E402

EXAMPLES = ROOT / "examples"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
APPROVER = "maria.lopez"
GOAL = 0.5
WARMUP = 50
# 80 bundles x $48 = $3,840 of DAL packaging: one stage, Maria Lopez (the DAL warehouse manager).
DRAFT = RequisitionDraft.model_validate(
    {
        "requester": "jake.miller",
        "site": "DAL",
        "cost_center": "DAL-OPS",
        "supplier": "uline",
        "lines": [{"description": "Corrugated boxes", "sku": "PKG-BOX-2012", "quantity": 80, "unit_price": 48}],
    }
)


def bench_directory() -> Directory:
    """The sample company, with DAL-OPS given room for every pending requisition of the run.

    In-flight requisitions reserve budget, so a few dozen pending $3,840 requests would push
    DAL-OPS over budget and add a budget-owner stage; the bench wants one step each.
    """
    path = EXAMPLES / "company.yaml"
    data = yaml.safe_load(path.read_text())
    for cc in data["cost_centers"]:
        if cc["code"] == DRAFT.cost_center:
            cc["budget"] = 10**12
    data["source_hash"] = "bench-" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return Directory.model_validate(data)


# ---------------------------------------------------------------- scratch database
class ScratchDatabase:
    """CREATE DATABASE on enter, migrate; DROP DATABASE ... WITH (FORCE) on exit, whatever happened."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(normalize_url(admin_url))
        self.name = f"procurebot_bench_{uuid.uuid4().hex[:10]}"
        self.url = self.admin_url.set(database=self.name).render_as_string(hide_password=False)
        self.admin: Engine | None = None

    def __enter__(self) -> str:
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        upgrade(self.url)
        return self.url

    def __exit__(self, *exc: Any) -> None:
        assert self.admin is not None
        try:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        finally:
            self.admin.dispose()


# ---------------------------------------------------------------- statement counting
class StatementLog:
    """Every statement the engine sends while `capture()` is open (before_cursor_execute), plus the
    transaction control and pool checkouts around them, which cost round trips too."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[str] = []
        self.control: Counter[str] = Counter()
        self._on = False
        event.listen(engine, "before_cursor_execute", self._seen)
        for name in ("begin", "commit", "rollback"):
            event.listen(engine, name, self._control(name))
        # a checkout pings the server only for a connection idle longer than approvals.db.IDLE_PING_SECONDS
        event.listen(engine.pool, "checkout", lambda *a: self._count("checkout"))

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if self._on:
            self.statements.append(" ".join(statement.split()))

    def _control(self, name: str) -> Callable[..., None]:
        return lambda *a: self._count(name.upper())

    def _count(self, name: str) -> None:
        if self._on:
            self.control[name] += 1

    def capture(self) -> "_Capture":
        return _Capture(self)


class _Capture:
    def __init__(self, log: StatementLog) -> None:
        self.log = log

    def __enter__(self) -> StatementLog:
        self.log.statements.clear()
        self.log.control.clear()
        self.log._on = True
        return self.log

    def __exit__(self, *exc: Any) -> None:
        self.log._on = False


def _summary(statement: str) -> str:
    """`SELECT requisition ... FOR UPDATE`, `UPDATE approval_step`, `INSERT INTO decision`."""
    words = statement.split()
    verb = words[0].upper()
    if verb == "SELECT":
        upper = statement.upper()
        table = words[words.index("FROM") + 1] if "FROM" in words else "?"
        return f"SELECT {table}" + (" FOR UPDATE" if "FOR UPDATE" in upper else "")
    if verb == "INSERT":
        return f"INSERT INTO {words[2]}"
    if verb in ("UPDATE", "DELETE"):
        return f"{verb} {words[1] if verb == 'UPDATE' else words[2]}"
    return verb


# ---------------------------------------------------------------- workloads
def submit_pending(service: ApprovalService, count: int) -> list[str]:
    """`count` requisitions that each wait on one approval by Maria Lopez (not timed)."""
    numbers = []
    for i in range(count):
        result = service.submit(
            SubmitRequisition(actor=DRAFT.requester, draft=DRAFT, idempotency_key=f"bench-submit-{i}")
        )
        view = result.requisition
        if result.outcome != "routed" or view.waiting_on != [APPROVER] or len(view.steps) != 1:
            raise SystemExit(
                f"setup: {view.number} routed as {result.outcome} to {view.waiting_on} "
                f"with {len(view.steps)} steps; the bench needs exactly one step for {APPROVER}"
            )
        numbers.append(view.number)
    return numbers


def approve_all(service: ApprovalService, numbers: list[str], tag: str) -> tuple[float, float]:
    """Approve each number once with a fresh idempotency key; (wall seconds, this process's CPU seconds)."""
    commands = [Approve(actor=APPROVER, number=n, idempotency_key=f"bench-{tag}-{n}") for n in numbers]
    start, cpu = time.perf_counter(), time.process_time()
    results = [service.approve(cmd) for cmd in commands]
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    for cmd, result in zip(commands, results):
        if result.outcome != "approved" or result.replayed:
            raise SystemExit(
                f"{cmd.number}: expected a fresh approval, got {result.outcome} (replayed={result.replayed})"
            )
    return wall, cpu


def make_counter(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_counter (id int PRIMARY KEY, n int NOT NULL)"))
        conn.execute(text("INSERT INTO bench_counter (id, n) SELECT g, 0 FROM generate_series(1, :n) g"), {"n": n})


UPDATE = text("UPDATE bench_counter SET n = n + 1 WHERE id = :id")


def counter_one_connection(engine: Engine, n: int) -> tuple[float, float]:
    """N x (UPDATE one row; COMMIT) on one held connection; (wall, CPU) seconds."""
    with engine.connect() as conn:
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(1, n + 1):
            conn.execute(UPDATE, {"id": i})
            conn.commit()
        return time.perf_counter() - start, time.process_time() - cpu


def counter_session_per_op(engine: Engine, n: int) -> tuple[float, float]:
    """N x (Session from the pool, UPDATE one row, COMMIT, close), like each approve's transaction."""
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(1, n + 1):
        with transaction(engine) as session:
            session.execute(UPDATE, {"id": i})
    return time.perf_counter() - start, time.process_time() - cpu


# ---------------------------------------------------------------- report
def _row(name: str, ops: int, seconds: float, cpu: float, ratio: str, what: str) -> str:
    return (
        f"{name:<22} {ops:>6} {seconds:>8.3f} {ops / seconds:>8,.0f} {1000 * seconds / ops:>7.3f} "
        f"{1000 * cpu / ops:>7.3f} {ratio:>8}  {what}"
    )


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def best(times: list[tuple[float, float]]) -> tuple[float, float]:
    """The fastest round by wall time, with its CPU time."""
    return min(times)


def profile(fn: Callable[[], Any], top: int) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def install_production_hooks(service: ApprovalService, directory: Directory) -> None:
    """What the server adds to every action: the reminder/SLA planner and the ERP outbox."""
    from approvals import outbox
    from approvals.scheduling.calendar import Calendars, WorkingHours
    from approvals.scheduling.plan import Planner, SchedulerConfig
    from bot.settings import Settings

    settings = Settings(_env_file=None)
    config = SchedulerConfig(hours=WorkingHours.parse(settings.working_hours, settings.quiet_hours))
    service.in_transaction.append(Planner(directory, Calendars(directory, config.hours), config))
    outbox.install(service)


def run(url: str, n: int, rounds: int, want_profile: bool, show_sql: bool, with_hooks: bool = False) -> None:
    directory = bench_directory()
    policy = load_policy(EXAMPLES / "policy.yaml")
    with ScratchDatabase(url) as scratch_url:
        engine = make_engine(scratch_url)
        try:
            with transaction(engine) as session:
                install_policy(session, policy, at=utcnow())
            service = ApprovalService(engine, directory)
            if with_hooks:
                install_production_hooks(service, directory)
            log = StatementLog(engine)
            profile_n = min(n, 300) if want_profile else 0
            total = WARMUP + rounds * n + 1 + profile_n
            print(
                f"scratch database {make_url(scratch_url).database}; submitting {total:,} requisitions (not timed) ...",
                flush=True,
            )
            t0 = time.perf_counter()
            numbers = submit_pending(service, total)
            print(f"  setup took {time.perf_counter() - t0:.1f}s", flush=True)
            warm, numbers = numbers[:WARMUP], numbers[WARMUP:]
            probe, numbers = numbers[0], numbers[1:]
            prof_numbers, numbers = numbers[:profile_n], numbers[profile_n:]
            make_counter(engine, n)

            # warm both paths (pool, prepared caches, policy cache) before timing
            approve_all(service, warm, "warm")
            counter_one_connection(engine, min(n, 200))
            counter_session_per_op(engine, min(n, 200))

            with log.capture():
                approve_all(service, [probe], "probe")
            statements, control = list(log.statements), Counter(log.control)

            approve_times: list[tuple[float, float]] = []
            base_times: list[tuple[float, float]] = []
            session_times: list[tuple[float, float]] = []
            # interleave the rounds so both workloads see the same machine noise
            for r, batch in enumerate(chunks(numbers, n)):
                approve_times.append(approve_all(service, batch, f"r{r}"))
                base_times.append(counter_one_connection(engine, n))
                session_times.append(counter_session_per_op(engine, n))

            with Session(engine) as session:
                report = verify_chain(session)
            if not report.ok:
                raise SystemExit(f"audit chain broken after the run: {report.problems[:3]}")

            prof_text = profile(lambda: approve_all(service, prof_numbers, "prof"), 30) if profile_n else ""
        finally:
            engine.dispose()

    (approve_s, approve_cpu), (base_s, base_cpu) = best(approve_times), best(base_times)
    session_s, session_cpu = best(session_times)
    ratio = (n / approve_s) / (n / base_s)
    print()
    print(
        f"PostgreSQL {make_url(url).host}:{make_url(url).port}, psycopg 3 via approvals.db.make_engine, "
        f"one thread, in-process; best of {rounds} interleaved rounds of {n:,} ops each "
        f"(each approve round uses {n:,} fresh requisitions), after a warm-up."
    )
    print()
    print(
        f"{'workload':<22} {'ops':>6} {'seconds':>8} {'ops/s':>8} {'ms/op':>7} {'cpu ms':>7} {'vs base':>8}"
        "  what is timed"
    )
    print(
        _row(
            "baseline UPDATE+COMMIT",
            n,
            base_s,
            base_cpu,
            "1.00",
            "UPDATE bench_counter SET n = n + 1 WHERE id = :id; COMMIT (one held connection)",
        )
    )
    print(
        _row(
            "  same, Session per op",
            n,
            session_s,
            session_cpu,
            f"{base_s / session_s:.2f}",
            "same UPDATE in approvals.db.transaction() (pool checkout and ORM session per op)",
        )
    )
    print(
        _row(
            "approve",
            n,
            approve_s,
            approve_cpu,
            f"{ratio:.2f}",
            "ApprovalService.approve(): replay check, lock, step, decision, state, audit, command log, view",
        )
    )
    print(f"{'':<22} cpu ms = this Python process's CPU per op (the rest of ms/op is waiting on PostgreSQL)")
    print()
    print(
        f"all rounds (wall s): approve {', '.join(f'{t:.3f}' for t, _ in approve_times)}; "
        f"baseline {', '.join(f'{t:.3f}' for t, _ in base_times)}; "
        f"session/op {', '.join(f'{t:.3f}' for t, _ in session_times)}"
    )
    print(
        f"goal: approve throughput >= 1/2 of baseline (ratio >= {GOAL:.2f}); ratio = {ratio:.2f} -> "
        f"{'PASS' if ratio >= GOAL else 'BELOW GOAL'}"
    )
    print()
    print(
        f"SQL statements per approve through SQLAlchemy: {len(statements)} (before_cursor_execute during one "
        f"approve; the baseline sends 1)"
    )
    if not statements:
        print(
            "  on PostgreSQL an action's statements travel in one psycopg pipeline (approvals/wire.py), in two "
            "round trips:\n  BEGIN + row lock + steps + the audit chain's head lock; the writes, the chained events "
            "and the COMMIT (a pool checkout pings only a connection idle over approvals.db.IDLE_PING_SECONDS)"
        )
    for what, count in Counter(_summary(s) for s in statements).most_common():
        print(f"  {count:>3} x {what}")
    print(
        f"plus transaction control and pool checkouts: "
        f"{', '.join(f'{c} x {k}' for k, c in sorted(control.items()))} (the baseline needs 2 round trips)"
    )
    if show_sql:
        print()
        for i, s in enumerate(statements, 1):
            print(f"  {i:>3}. {s[:220]}")
    if prof_text:
        print()
        print(f"cProfile of {profile_n} approves:")
        print(prof_text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL; only used to create/drop the scratch DB")
    parser.add_argument("--n", type=int, default=2000, help="operations per timed round (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best is reported")
    parser.add_argument("--profile", action="store_true", help="also cProfile a batch of approves")
    parser.add_argument("--show-sql", action="store_true", help="print every statement of one approve")
    parser.add_argument(
        "--with-hooks",
        action="store_true",
        help="also run what the server adds to each action (reminder planner, ERP outbox)",
    )
    args = parser.parse_args(argv)
    if not normalize_url(args.url).startswith("postgresql"):
        parser.error("this bench measures PostgreSQL; give a postgresql:// URL")
    run(args.url, args.n, max(1, args.rounds), args.profile, args.show_sql, args.with_hooks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
