"""Approve taps from Slack, end to end over HTTP, next to the cheapest write endpoint on the same server.

Slack path: a signed ``block_actions`` payload (the Approve button of an approval card) POSTed to
/slack/events of the real server (uvicorn, production mode, PostgreSQL): bolt verifies the signature
and timestamp, our listener acks, the tap is recorded once, the person is resolved, the assistant
approves through ApprovalService (locks, checks, decision, audit, the chat.sync job in the same
transaction) and the HTTP answer goes back once the decision is committed. After the answer the
server still redraws the card and posts the ephemeral reply, and the delivery worker posts the
requester's card and thread line, all to a fake Slack Web API on 127.0.0.1 in this process: that
work shares the server's CPU during the run, as it would in production.

Baseline: POST /bench/baseline on the same server process, one ``UPDATE ... SET n = n + 1`` and
COMMIT on the same database through the same engine.

Both run at --clients concurrent clients (httpx, one connection each); p50/p99 latency and
throughput are printed with the ratios. Goal: Slack p99 < 150 ms and throughput >= 1/3 of baseline.

    .venv/bin/python bench/slack_approve.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                            [--taps 1500] [--clients 50] [--baseline 3000]

Everything runs in a scratch database created on the server the URL points at and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import httpx  # noqa: E402
import yaml  # noqa: E402

from bench.approve_path import APPROVER, DRAFT, EXAMPLES, ScratchDatabase, bench_directory, make_counter  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET = "bench-signing-secret-0123456789abcdef"
TOKEN = "xoxb-bench-0000"
ADMIN = "bench-admin-token-" + "x" * 32
GOAL_P99_MS = 150.0
GOAL_RATIO = 1 / 3
TEAM = "T0PROCURE"


def slack_id(person_id: str) -> str:
    return "U" + person_id.replace(".", "").upper()


# ---------------------------------------------------------------- the server (a child process)
def serve(port: int, deferred: bool) -> None:
    """The real app from the environment's settings, plus the baseline endpoint (and, with the fan-out
    deferred, an endpoint that runs it afterwards so its cost is measured apart)."""
    import uvicorn
    from sqlalchemy import text

    from bot.api.app import create_app
    from bot.chat.delivery import ChatDelivery

    if deferred:
        ChatDelivery.start = lambda self, **kw: lambda: None  # type: ignore[method-assign]
    app = create_app()

    @app.post("/bench/drain")
    def drain() -> dict[str, int]:
        return {"jobs": app.state.runtime.chat.drain(limit=200, rounds=10_000)}

    update = text("UPDATE bench_counter SET n = n + 1 WHERE id = :id")

    @app.post("/bench/baseline")
    def baseline(id: int) -> dict[str, bool]:
        with app.state.runtime.engine.begin() as conn:
            conn.execute(update, {"id": id})
        return {"ok": True}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------- setup (this process)
def server_env(db_url: str, tmp: str, slack_url: str) -> dict[str, str]:
    """A production server's environment on the scratch database, talking to the fake Slack at `slack_url`."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "PROCUREBOT_ENV": "production",
        "PROCUREBOT_ADMIN_TOKEN": ADMIN,
        "PROCUREBOT_DIRECTORY_FILE": str(directory_file(Path(tmp))),
        "PROCUREBOT_VAR_DIR": tmp,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_BASE_URL": slack_url,
        "PROCUREBOT_LOG_LEVEL": "warning",
    }
    for name in ("SLACK_APP_TOKEN", "SLACK_CLIENT_ID"):
        env.pop(name, None)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def directory_file(tmp: Path) -> Path:
    """The sample company with room in DAL-OPS for every pending requisition (one approval step each)."""
    data = yaml.safe_load((EXAMPLES / "company.yaml").read_text())
    for cc in data["cost_centers"]:
        if cc["code"] == DRAFT.cost_center:
            cc["budget"] = 10**12
    path = tmp / "company.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def pending(url: str, count: int) -> list[str]:
    """`count` requisitions each waiting on Maria Lopez alone (made before the server starts; not timed)."""
    from approvals.clock import utcnow
    from approvals.commands import SubmitRequisition
    from approvals.db import make_engine, transaction
    from approvals.policy import load_policy
    from approvals.policy_store import install_policy
    from approvals.workflow import ApprovalService

    engine = make_engine(url)
    with transaction(engine) as session:
        install_policy(session, load_policy(EXAMPLES / "policy.yaml"), at=utcnow(), only_if_new=True)
    service = ApprovalService(engine, bench_directory())
    numbers = []
    for i in range(count):
        view = service.submit(
            SubmitRequisition(actor=DRAFT.requester, draft=DRAFT, idempotency_key=f"bench-slack-{i}")
        ).requisition
        if view.waiting_on != [APPROVER] or len(view.steps) != 1:
            raise SystemExit(
                f"setup: {view.number} waits on {view.waiting_on}; the bench needs one step for {APPROVER}"
            )
        numbers.append(view.number)
    make_counter(engine, 1000)
    engine.dispose()
    return numbers


def tap_body(number: str, seq: int) -> bytes:
    """The block_actions payload Slack sends when Maria taps Approve on the card for `number`."""
    user = slack_id(APPROVER)
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "APROCURE",
        "trigger_id": f"bench.{seq}",
        "container": {
            "type": "message",
            "message_ts": f"1700000000.{seq:06d}",
            "channel_id": "D" + user,
            "is_ephemeral": False,
        },
        "channel": {"id": "D" + user},
        # the approver's card as the delivery layer posted it (it redraws it after the decision)
        "message": {
            "ts": f"1700000000.{seq:06d}",
            "blocks": [{"type": "actions", "block_id": f"pb-kept-{number}-0", "elements": []}],
        },
        "actions": [
            {
                "type": "button",
                "action_id": "pb:approve:0",
                "block_id": f"pb-kept-{number}-0",
                "value": json.dumps({"number": number, "key": f"{number}:0:0:{APPROVER}:a"}),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def signed(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


# ---------------------------------------------------------------- load
async def drive(
    base: str, requests: list[tuple[str, bytes | None, dict[str, str]]], clients: int
) -> tuple[list[float], float, int]:
    """Send `requests` (path, body, headers) from `clients` concurrent clients; (latencies s, wall s, errors)."""
    queue: asyncio.Queue[tuple[str, bytes | None, dict[str, str]]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    latencies: list[float] = []
    errors = 0

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=1)) as http:
            while True:
                try:
                    path, body, headers = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                if body is not None and "X-Slack-Signature" in headers:
                    headers = signed(body)  # signed at send time, as Slack does
                start = time.perf_counter()
                res = await http.post(path, content=body, headers=headers)
                latencies.append(time.perf_counter() - start)
                if res.status_code != 200:
                    errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, time.perf_counter() - start, errors


async def drive_at(
    base: str, requests: list[tuple[str, bytes | None, dict[str, str]]], rate: float
) -> tuple[list[float], float, int]:
    """Send `requests` at `rate` per second whatever the answers (an open loop, as people tap), from a pool
    of connections; (latencies s, wall s, errors). Latency counts from the moment a request was due, so a
    server that falls behind shows it."""
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=200)) as http:
        start = time.perf_counter()

        async def one(i: int, path: str, body: bytes | None, headers: dict[str, str]) -> None:
            nonlocal errors
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if body is not None and "X-Slack-Signature" in headers:
                headers = signed(body)
            res = await http.post(path, content=body, headers=headers)
            latencies.append(time.perf_counter() - due)
            if res.status_code != 200:
                errors += 1

        await asyncio.gather(*(one(i, *req) for i, req in enumerate(requests)))
        return latencies, time.perf_counter() - start, errors


def server_cpu(pid: int) -> float:
    """User + system CPU seconds the server process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def wait_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit("the server exited during start-up; see its output above")
        try:
            if httpx.get(base + "/health", timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start in 30 s")


def approved(url: str) -> int:
    from sqlalchemy import create_engine, text

    from approvals.db import normalize_url

    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM decision WHERE action = 'approve'")).scalar()
    engine.dispose()
    return int(count or 0)


def run(url: str, taps: int, clients: int, baseline_n: int, warmup: int, fanout: str, rate: float | None = None) -> int:
    from fake_slack import FakeSlackServer

    from approvals.directory import load_directory

    server = FakeSlackServer()
    server.fake.users = {slack_id(p.id): p.email for p in load_directory(EXAMPLES / "company.yaml").people}
    with ScratchDatabase(url) as db_url, server as fake, tempfile.TemporaryDirectory() as tmp:
        print(f"setting up {taps + warmup} pending requisitions in a scratch database ...", flush=True)
        numbers = pending(db_url, taps + warmup)
        port = free_port()
        env = server_env(db_url, tmp, server.base_url)
        command = [sys.executable, __file__, "--serve", str(port)] + (["--deferred"] if fanout == "deferred" else [])
        worker = None
        if fanout == "worker":  # the fan-out in its own process: `procurebot worker` beside a server that posts none
            worker = subprocess.Popen(
                [str(Path(sys.executable).parent / "procurebot"), "worker"],
                env=env,
                cwd=str(ROOT),
                stdout=subprocess.DEVNULL,
            )
            env = {**env, "PROCUREBOT_CHAT_DELIVERY_WORKERS": "0"}
        proc = subprocess.Popen(command, env=env, cwd=str(ROOT))
        base = f"http://127.0.0.1:{port}"
        try:
            wait_up(base, proc)
            slack_hdr = {"X-Slack-Signature": "later"}
            warm = [("/slack/events", tap_body(n, i), slack_hdr) for i, n in enumerate(numbers[:warmup])]
            warm += [(f"/bench/baseline?id={i % 1000 + 1}", None, {}) for i in range(warmup)]
            asyncio.run(drive(base, warm, clients))
            settle(base, fanout, db_url)

            base_reqs = [(f"/bench/baseline?id={i % 1000 + 1}", None, {}) for i in range(baseline_n)]
            cpu, client_cpu = server_cpu(proc.pid), time.process_time()
            load = (lambda reqs: drive_at(base, reqs, rate)) if rate else (lambda reqs: drive(base, reqs, clients))
            b_lat, b_wall, b_err = asyncio.run(load(base_reqs))
            b_cpu, b_client = server_cpu(proc.pid) - cpu, time.process_time() - client_cpu
            taps_reqs = [("/slack/events", tap_body(n, warmup + i), slack_hdr) for i, n in enumerate(numbers[warmup:])]
            cpu, client_cpu = server_cpu(proc.pid), time.process_time()
            w_cpu = server_cpu(worker.pid) if worker else 0.0
            s_lat, s_wall, s_err = asyncio.run(load(taps_reqs))
            s_cpu, s_client = server_cpu(proc.pid) - cpu, time.process_time() - client_cpu
            start = time.perf_counter()
            jobs = settle(base, fanout, db_url)
            fan_wall = time.perf_counter() - start
            s_cpu_all = server_cpu(proc.pid) - cpu + (server_cpu(worker.pid) - w_cpu if worker else 0.0)
            decided = approved(db_url)
        finally:
            for child in (proc, worker):
                if child is not None:
                    child.terminate()
                    child.wait(20)
        calls = {m: len(fake.of(m)) for m in ("chat.update", "chat.postEphemeral", "chat.postMessage")}

    b_tput, s_tput = baseline_n / b_wall, taps / s_wall
    s_p50, s_p99, b_p50, b_p99 = pct(s_lat, 0.5), pct(s_lat, 0.99), pct(b_lat, 0.5), pct(b_lat, 0.99)
    print()
    print(f"{'':34}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'req/s':>9}{'errors':>8}")
    print(
        f"{'baseline UPDATE+COMMIT endpoint':34}{baseline_n:>9}{b_p50:>9.1f}{b_p99:>9.1f}"
        f"{statistics.mean(b_lat) * 1000:>9.1f}{b_tput:>9.0f}{b_err:>8}"
    )
    print(
        f"{'Slack Approve tap (signed)':34}{taps:>9}{s_p50:>9.1f}{s_p99:>9.1f}"
        f"{statistics.mean(s_lat) * 1000:>9.1f}{s_tput:>9.0f}{s_err:>8}"
    )
    print()
    if fanout == "deferred":
        print(
            f"card fan-out: deferred; afterwards {jobs} delivery jobs ran in {fan_wall:.1f} s "
            f"({jobs / fan_wall:.0f} jobs/s)"
        )
    else:
        where = (
            "in its own process (`procurebot worker`), the server posting none"
            if fanout == "worker"
            else "live (the delivery worker runs in the server during the taps, the default)"
        )
        print(
            f"card fan-out: {where}; every card and "
            f"thread line was out {fan_wall:.1f} s after the last tap's answer"
            + (f" ({jobs} jobs still due after 600 s)" if jobs else "")
            + f": {taps / (s_wall + fan_wall):.0f} taps/s with every copy updated"
        )
    print(
        f"server CPU per request: baseline {b_cpu / baseline_n * 1000:.1f} ms; Slack tap "
        f"{s_cpu / taps * 1000:.1f} ms while answering, {s_cpu_all / taps * 1000:.1f} ms with replies and fan-out"
    )
    print(
        f"client+fake Slack CPU per request: baseline {b_client / baseline_n * 1000:.1f} ms; "
        f"Slack tap {s_client / taps * 1000:.1f} ms"
    )
    print(
        f"load: {f'{rate:g} requests/s arriving whatever the answers (open loop)' if rate else f'{clients} clients'}"
        f"; approvals recorded: {decided} of {taps + warmup} taps (warm-up {warmup} included)"
    )
    print(f"Slack Web API calls answered by the fake during the whole run: {calls}")
    ratio = s_tput / b_tput
    ok_p99, ok_ratio = s_p99 < GOAL_P99_MS, ratio >= GOAL_RATIO
    print(
        f"throughput ratio Slack/baseline: {ratio:.2f} (goal >= {GOAL_RATIO:.2f}: {'met' if ok_ratio else 'NOT met'})"
    )
    print(
        f"Slack p99 {s_p99:.1f} ms (goal < {GOAL_P99_MS:.0f} ms: {'met' if ok_p99 else 'NOT met'}); "
        f"p99 ratio Slack/baseline: {s_p99 / b_p99:.1f}x"
    )
    if decided != taps + warmup or s_err or b_err:
        print("FAILED: every tap must record exactly one approval and every request must answer 200")
        return 1
    return 0 if ok_p99 and ok_ratio else 2


def settle(base: str, fanout: str, url: str | None = None) -> int:
    """Let the replies and the card fan-out finish: wait until the live worker has run every chat job
    (polling the queue), or run the deferred jobs now. Returns the jobs run (deferred) or still due (live)."""
    if fanout == "deferred":
        return int(httpx.post(base + "/bench/drain", timeout=600).json()["jobs"])
    time.sleep(0.5)  # the last taps' replies
    if url is None:
        return 0
    deadline = time.monotonic() + 600
    while (left := chat_jobs_left(url)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def chat_jobs_left(url: str) -> int:
    from sqlalchemy import create_engine, text

    from approvals.db import normalize_url

    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM job WHERE kind = 'chat.sync' AND state <> 'done'")).scalar()
    engine.dispose()
    return int(count or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL server to make the scratch database on")
    parser.add_argument("--taps", type=int, default=1500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--baseline", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument(
        "--fanout",
        choices=("live", "worker", "deferred"),
        default="live",
        help="live: the delivery worker runs in the server during the taps (the default setup); "
        "worker: it runs in a `procurebot worker` process beside the server; deferred: it "
        "runs after the taps, so the tap path and the fan-out are measured apart",
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="instead of --clients: requests arriving at this rate per "
        "second whatever the answers (an open loop, as taps come from people), for both runs",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--deferred", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.deferred)
        return
    sys.exit(run(args.url, args.taps, args.clients, args.baseline, args.warmup, args.fanout, args.rate))


if __name__ == "__main__":
    main()
