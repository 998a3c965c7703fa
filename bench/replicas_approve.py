"""Slack Approve taps on one server replica, then on two, in the same run: what a second replica adds.

One PostgreSQL scratch database, one `procurebot worker` posting the cards (the servers post none, as in
docs/deploy.md), and the real server (production mode) started as `bench/slack_approve.py` starts it. Phase 1
sends `--taps` signed Approve taps to replica A alone; phase 2 starts replica B and sends as many again, each
client to one replica in turn (a round-robin proxy). Each phase waits for the card fan-out to finish before the
next. Printed per phase: taps/s, p50/p99, and the CPU seconds per tap of each server, of the worker and of
PostgreSQL (every postgres process on this host, from /proc), with the machine's cores, so the ceiling shows.

    .venv/bin/python bench/replicas_approve.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                               [--taps 600] [--clients 20]

Goal (issue): the second replica adds at least 60% more taps per second, or the figures say where the ceiling is.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from bench.approve_path import ScratchDatabase  # noqa: E402
from bench.slack_approve import (  # noqa: E402
    DEFAULT_URL,
    approved,
    chat_jobs_left,
    drive,
    free_port,
    pct,
    pending,
    server_cpu,
    server_env,
    slack_id,
    tap_body,
    wait_up,
)

GOAL_GAIN = 0.6


def postgres_cpu() -> float:
    """CPU seconds of every postgres process on this host (the database's share of the machine)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() not in ("postgres", "postmaster"):
                continue
            total += server_cpu(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # a process that ended while we looked
    return total


async def drive_many(bases: list[str], requests: list, clients: int) -> tuple[list[float], float, int]:
    """`clients` clients spread over `bases` (client i on replica i mod n), sharing one queue of requests."""
    share = [requests[i :: len(bases)] for i in range(len(bases))]
    results = await asyncio.gather(
        *(drive(base, part, max(1, clients // len(bases))) for base, part in zip(bases, share))
    )
    latencies = [x for r in results for x in r[0]]
    return latencies, max(r[1] for r in results), sum(r[2] for r in results)


def settle(url: str) -> None:
    deadline = time.monotonic() + 600
    while chat_jobs_left(url) and time.monotonic() < deadline:
        time.sleep(0.2)


def phase(name: str, bases: list[str], pids: dict[str, int], numbers: list[str], start_seq: int, args, url) -> dict:  # type: ignore[no-untyped-def]
    hdr = {"X-Slack-Signature": "later"}
    reqs = [("/slack/events", tap_body(n, start_seq + i), hdr) for i, n in enumerate(numbers)]
    before = {who: server_cpu(pid) for who, pid in pids.items()}
    pg = postgres_cpu()
    began = time.perf_counter()
    latencies, wall, errors = asyncio.run(drive_many(bases, reqs, args.clients))
    settle(url)
    total = time.perf_counter() - began
    cpu = {who: server_cpu(pid) - before[who] for who, pid in pids.items()}
    cpu["postgres"] = postgres_cpu() - pg
    return {
        "name": name,
        "taps": len(numbers),
        "tput": len(numbers) / wall,
        "with_cards": len(numbers) / total,
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
        "mean": statistics.mean(latencies) * 1000,
        "errors": errors,
        "cpu": cpu,
        "wall": wall,
    }


def run(args) -> int:  # type: ignore[no-untyped-def]
    from fake_slack import FakeSlackServer

    from approvals.directory import load_directory
    from bench.approve_path import EXAMPLES

    server = FakeSlackServer()
    server.fake.users = {slack_id(p.id): p.email for p in load_directory(EXAMPLES / "company.yaml").people}
    warm = 50
    with ScratchDatabase(args.url) as db_url, server, tempfile.TemporaryDirectory() as tmp:
        print(f"setting up {2 * args.taps + 2 * warm} pending requisitions in a scratch database ...", flush=True)
        numbers = pending(db_url, 2 * args.taps + 2 * warm)
        env = {**server_env(db_url, tmp, server.base_url), "PROCUREBOT_CHAT_DELIVERY_WORKERS": "0"}
        bench = str(ROOT / "bench" / "slack_approve.py")
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "procurebot"), "worker"],
            env=env,
            cwd=str(ROOT),
            stdout=subprocess.DEVNULL,
        )
        procs: dict[str, subprocess.Popen[bytes]] = {"worker": worker}
        bases: dict[str, str] = {}
        try:
            for replica in ("A", "B"):
                port = free_port()
                procs[replica] = subprocess.Popen([sys.executable, bench, "--serve", str(port)], env=env, cwd=str(ROOT))
                bases[replica] = f"http://127.0.0.1:{port}"
                wait_up(bases[replica], procs[replica])
            # B is up from the start (its start-up work out of the way) but gets no taps in phase 1
            hdr = {"X-Slack-Signature": "later"}
            for i, base in enumerate(bases.values()):
                part = numbers[i * warm : (i + 1) * warm]
                asyncio.run(
                    drive(
                        base,
                        [("/slack/events", tap_body(n, 10_000 + i * warm + j), hdr) for j, n in enumerate(part)],
                        5,
                    )
                )
            settle(db_url)
            rest = numbers[2 * warm :]
            pids = {who: p.pid for who, p in procs.items()}
            one = phase("1 replica", [bases["A"]], pids, rest[: args.taps], 0, args, db_url)
            two = phase("2 replicas", [bases["A"], bases["B"]], pids, rest[args.taps :], args.taps, args, db_url)
            decided = approved(db_url)
        finally:
            for p in procs.values():
                p.terminate()
                p.wait(20)

    cores = os.cpu_count() or 1
    print(f"\n{args.clients} clients, {cores} cores on this machine, PostgreSQL on the same host\n")
    print(
        f"{'':12}{'taps':>6}{'taps/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}   CPU ms per tap: "
        "server A, server B, worker, PostgreSQL (and their sum / cores busy)"
    )
    for r in (one, two):
        per = {k: v / r["taps"] * 1000 for k, v in r["cpu"].items()}
        busy = sum(r["cpu"].values()) / r["wall"]
        print(
            f"{r['name']:12}{r['taps']:>6}{r['tput']:>8.0f}{r['p50']:>8.1f}{r['p99']:>8.1f}{r['errors']:>7}   "
            f"{per['A']:.1f}, {per['B']:.1f}, {per['worker']:.1f}, {per['postgres']:.1f} "
            f"(sum {sum(per.values()):.1f} ms; {busy:.2f} of {cores} cores busy)"
        )
    gain = two["tput"] / one["tput"] - 1
    print(
        f"\nthe second replica adds {gain * 100:+.0f}% taps/s (goal >= +{GOAL_GAIN * 100:.0f}%: "
        f"{'met' if gain >= GOAL_GAIN else 'NOT met'}); with every card posted: "
        f"{one['with_cards']:.0f} -> {two['with_cards']:.0f} taps/s"
    )
    expected = 2 * args.taps + 2 * warm
    if decided != expected or one["errors"] or two["errors"]:
        print(f"FAILED: {decided} approvals recorded for {expected} taps, or requests that did not answer 200")
        return 1
    return 0 if gain >= GOAL_GAIN else 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL server to make the scratch database on")
    parser.add_argument("--taps", type=int, default=600)
    parser.add_argument("--clients", type=int, default=20)
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
