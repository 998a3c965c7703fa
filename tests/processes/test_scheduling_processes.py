"""Real server processes ticking on one database, sending through the real HTTP notifier to a fake chat API.

Every test here runs on SQLite and on PostgreSQL (the db_url fixture). On PostgreSQL the claim is
`FOR UPDATE SKIP LOCKED`; on SQLite it is a compare-and-set UPDATE behind SQLite's single writer.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from sqlalchemy import insert
from sqlmodel import Session, select

from approvals.directory import load_directory
from approvals.jobqueue import CLAIMED, DONE, Job
from approvals.models import ApprovalStep, Requisition
from approvals.scheduling.plan import SchedulerConfig
from approvals.scheduling.runner import Scheduler
from approvals.workflow import ApprovalService
from bot.notify import HttpNotifier
from tests.conftest import EXAMPLES, FakeClock
from tests.scheduling_worker import tick_until_idle

pytestmark = pytest.mark.multiprocess  # several processes on one database: PostgreSQL only

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)  # Monday: working hours from New York to Seattle
APPROVERS = ["zoe.martin", "maria.lopez", "frank.novak", "denise.washington", "carlos.mendoza", "hannah.berg"]
SLOW = "/slow"  # the path prefix the fake answers only `answer_first` times, then holds


class FakeChat(ThreadingHTTPServer):
    """A chat API on 127.0.0.1 that honours Idempotency-Key: a repeated key is answered with the first
    message's reference and not delivered again. It counts every POST per key, and can be told to hold
    requests under /slow after the first few (the sender then waits for an answer that never comes)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ChatHandler)
        self.lock = threading.Lock()
        self.posts: Counter[str] = Counter()  # every POST per Idempotency-Key
        self.delivered: dict[str, dict[str, Any]] = {}  # key -> the message shown in chat (first one)
        self.refs: dict[str, str] = {}
        self.slow_answered = 0
        self.answer_first = 0
        self.held: list[str] = []  # keys of requests received, delivered, and never answered
        self.holding = threading.Event()  # set when a request is held
        self.release = threading.Event()  # set at teardown so held handler threads end

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real chat API
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't let each answer wait 40 ms
    server: FakeChat

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
        chat = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers["Idempotency-Key"]
        with chat.lock:
            chat.posts[key] += 1
            if key not in chat.refs:
                chat.refs[key] = f"msg-{len(chat.refs) + 1}"
                chat.delivered[key] = body
            ref = chat.refs[key]
            hold = self.path.startswith(SLOW) and chat.slow_answered >= chat.answer_first
            if self.path.startswith(SLOW) and not hold:
                chat.slow_answered += 1
            if hold:
                chat.held.append(key)
        if hold:
            chat.holding.set()
            chat.release.wait(120)
            return
        payload = json.dumps({"ref": ref}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:  # quiet: 1,000 lines of access log help nobody
        pass


@pytest.fixture
def chat() -> Iterator[FakeChat]:
    server = FakeChat()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def due_reminders(engine, count: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """`count` requisitions waiting on one approver each, each with its first and only reminder due now.

    Returns {notice key: job key}: the key each reminder is sent with (the Idempotency-Key).
    """
    activated = NOW - timedelta(hours=5)
    stamp = int(activated.timestamp())
    ids = range(1, count + 1)
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
    # "max": 1 - one reminder per step, so every row ends done after exactly one message
    jobs = [
        dict(
            kind="remind",
            dedupe_key=f"remind:{i}:{stamp}",
            state="due",
            attempts=0,
            payload={"step": i, "n": 1, "max": 1, "every": "8"},
            created_at=NOW,
            updated_at=NOW,
            due_at=NOW - timedelta(seconds=i),
        )
        for i in ids
    ]
    # today's digest plan already ran, so the ticks below handle reminders only
    jobs.append(
        dict(
            kind="digest_plan",
            dedupe_key=f"digest_plan:{NOW.date().isoformat()}",
            state=DONE,
            attempts=0,
            payload={},
            created_at=NOW,
            updated_at=NOW,
            due_at=NOW,
        )
    )
    with engine.begin() as conn:
        conn.execute(insert(Requisition), reqs)
        conn.execute(insert(ApprovalStep), steps)
        conn.execute(insert(Job), jobs)
    return {f"remind:{i}:{stamp}:1": f"remind:{i}:{stamp}" for i in ids}


def _jobs(engine) -> dict[str, Job]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return {j.dedupe_key: j for j in s.exec(select(Job).where(Job.kind == "remind")).all()}


def test_two_server_processes_send_each_of_1000_due_reminders_exactly_once(engine, db_url, chat):
    """Two replicas tick at once over 1,000 due reminders: the chat API receives each reminder once, and only once."""
    keys = due_reminders(engine, 1000)
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    # small batches, so the two replicas claim hundreds of times each and their claims really collide
    procs = [
        ctx.Process(
            target=tick_until_idle, args=(db_url, chat.url, NOW.isoformat(), f"replica-{n}", 10, start, results)
        )
        for n in (1, 2)
    ]
    for p in procs:
        p.start()
    start.set()
    reports = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]

    # the fake's count: every reminder reached chat, none twice, nothing else was sent
    assert set(chat.posts) == set(keys)
    assert max(chat.posts.values()) == 1 and sum(chat.posts.values()) == 1000
    # both replicas did part of the work, and between them claimed each row once
    by_worker = {w: (claimed, sent, failed) for w, claimed, sent, failed in reports}
    assert all(claimed > 0 for claimed, _, _ in by_worker.values()), by_worker
    assert sum(c for c, _, _ in by_worker.values()) == 1000
    assert sum(s for _, s, _ in by_worker.values()) == 1000
    assert all(f == 0 for _, _, f in by_worker.values()), by_worker
    # each row is done and holds the reference the chat API answered for its message
    jobs = _jobs(engine)
    for notice_key, job_key in keys.items():
        job = jobs[job_key]
        assert (job.state, job.sent_ref, job.attempts) == (DONE, chat.refs[notice_key], 1)
    assert {chat.delivered[k]["to"] for k in keys} == set(APPROVERS)


def test_a_claimer_killed_mid_batch_has_its_rows_sent_once_after_the_lease(engine, db_url, chat):
    """A replica dies half-way through its batch: after its lease runs out another replica sends the rest, none twice.

    What is guaranteed, and asserted: every reminder is delivered to chat exactly once. The dead
    replica sent 10 and recorded them; the 11th request reached chat but its answer never came
    back, so that reminder is sent again by the replica that takes over - the only repeated
    request - and the chat API drops it by its Idempotency-Key. The 19 rows it never got to are
    sent once by the new replica. No row is touched while the dead replica's lease still holds.
    """
    keys = due_reminders(engine, 30)
    chat.answer_first = 10
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    doomed = ctx.Process(
        target=tick_until_idle, args=(db_url, chat.url + SLOW, NOW.isoformat(), "doomed", 30, None, results)
    )
    doomed.start()
    try:
        assert chat.holding.wait(120), "the replica never reached the held request"
    finally:
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.join(30)
    assert doomed.exitcode == -signal.SIGKILL
    assert len(chat.held) == 1 and sum(chat.posts.values()) == 11
    in_flight = chat.held[0]

    jobs = _jobs(engine)
    states = Counter(j.state for j in jobs.values())
    assert states == {DONE: 10, CLAIMED: 20}
    assert {j.claimed_by for j in jobs.values() if j.state == CLAIMED} == {"doomed"}
    assert jobs[keys[in_flight]].state == CLAIMED and jobs[keys[in_flight]].sent_ref is None

    config = SchedulerConfig(batch=100)
    clock = FakeClock(NOW)
    service = ApprovalService(engine, load_directory(EXAMPLES / "company.yaml"), clock=clock)
    notifier = HttpNotifier(chat.url)
    try:
        survivor = Scheduler(service, notifier, config=config, clock=clock, worker_id="survivor")
        assert survivor.tick().claimed == 0  # the dead replica's lease still holds its 20 rows
        clock.advance(seconds=config.lease.total_seconds() - 1)
        assert survivor.tick().claimed == 0
        clock.advance(seconds=2)  # the lease has run out
        report = survivor.run_until_idle()
    finally:
        notifier.close()
    assert (report.claimed, report.sent, report.failed) == (20, 20, 0)

    # delivered once each; the one repeated request is the one the dead replica never heard back about
    assert set(chat.delivered) == set(keys)
    assert {k for k, n in chat.posts.items() if n > 1} == {in_flight}
    assert chat.posts[in_flight] == 2 and sum(chat.posts.values()) == 31
    jobs = _jobs(engine)
    assert all(j.state == DONE for j in jobs.values())
    for notice_key, job_key in keys.items():
        assert jobs[job_key].sent_ref == chat.refs[notice_key]
    taken_over = {k for k, j in jobs.items() if j.claimed_by == "survivor"}
    assert len(taken_over) == 20 and keys[in_flight] in taken_over
