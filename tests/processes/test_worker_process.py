"""`procurebot worker`: the card fan-out in its own process, beside a server that posts no cards itself.

Both are real processes on the test's database, with Slack pointed at the local fake Web API; the
requisition is made and approved through the HTTP API, as an integration would."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from fake_slack import FakeSlackServer, FakeSocketMode
from live import child_env, eventually, free_port, stop_all, until_healthy
from slack_harness import slack_id

from approvals.directory import load_directory

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
ADMIN = "worker-test-admin-token-" + "x" * 24
SECRET = "worker-test-signing-secret"


@pytest.fixture
def stack(db_url, tmp_path):  # type: ignore[no-untyped-def]
    """A server with PROCUREBOT_CHAT_DELIVERY_WORKERS=0 and the fake Slack; start the worker with `start()`."""
    server = FakeSlackServer()
    server.fake.users = {slack_id(p.id): p.email for p in load_directory(ROOT / "examples" / "company.yaml").people}
    with server as fake:
        port = free_port()
        env = child_env("PROCUREBOT_", "DATABASE_URL", "SLACK_", "TEAMS_")
        env.update(
            {
                "DATABASE_URL": db_url,
                "PROCUREBOT_VAR_DIR": str(tmp_path),
                "PROCUREBOT_PORT": str(port),
                "PROCUREBOT_LOG_LEVEL": "warning",
                "PROCUREBOT_SCHEDULER_ENABLED": "false",
                "PROCUREBOT_ERP_DISPATCHERS": "0",
                "PROCUREBOT_ADMIN_TOKEN": ADMIN,
                "SLACK_BOT_TOKEN": "xoxb-worker-test",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_BASE_URL": server.base_url,
            }
        )
        procs: list[subprocess.Popen[str]] = []

        def spawn(*args: str, **extra: str) -> subprocess.Popen[str]:
            proc = subprocess.Popen(
                [str(BIN / "procurebot"), *args],
                env={**env, **extra},
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            procs.append(proc)
            return proc

        serving = spawn("serve", PROCUREBOT_CHAT_DELIVERY_WORKERS="0")
        base = f"http://127.0.0.1:{port}"

        until_healthy(serving, base)
        try:
            # the worker also runs an ERP dispatcher thread (the sandbox ERP), as production would
            yield base, fake, lambda: spawn("worker", "--chat-workers", "2", PROCUREBOT_ERP_DISPATCHERS="1")
        finally:
            stop_all(procs)


@pytest.mark.multiprocess  # several processes on one database: PostgreSQL only
def test_cards_come_from_the_worker_process_and_none_from_the_server(stack):  # type: ignore[no-untyped-def]
    """A request is made over HTTP: the server posts no card; once the worker runs, the approver's card and
    Jake's card with its thread line arrive, once each; the approval over HTTP then updates both cards, and
    the worker's ERP thread makes the PO and tells Jake its number in his thread."""
    base, fake, start_worker = stack
    auth = {"Authorization": f"Bearer {ADMIN}"}
    body = {
        "requester": "jake.miller",
        "site": "DAL",
        "cost_center": "DAL-OPS",
        "supplier": "uline",
        "lines": [{"description": "Corrugated boxes", "sku": "PKG-BOX-2012", "quantity": 80, "unit_price": 48}],
    }
    created = httpx.post(f"{base}/api/v1/requisitions", json=body, headers=auth, timeout=30)
    assert created.status_code == 201, created.text
    number, approver = created.json()["number"], created.json()["requisition"]["waiting_on"][0]
    time.sleep(1.5)  # the server's own worker would have posted by now (it wakes on every commit)
    assert fake.of("chat.postMessage") == []

    worker = start_worker()

    def delivered(method: str, count: int) -> Callable[[], list[Any]]:
        def found() -> list[Any]:
            if worker.poll() is not None:
                pytest.fail(f"worker exited early:\n{worker.stdout.read() if worker.stdout else ''}")
            calls = [c for c in fake.of(method) if c.result.get("ok")]
            return calls if len(calls) >= count else []

        return found

    posts = eventually(delivered("chat.postMessage", 3), "posted both cards and the first thread line")
    jake, maria = "D" + slack_id("jake.miller"), "D" + slack_id(approver)
    assert [c.args.get("thread_ts") is None for c in posts if c.args["channel"] == maria] == [True]
    assert len([c for c in posts if c.args["channel"] == jake and not c.args.get("thread_ts")]) == 1

    approved = httpx.post(
        f"{base}/api/v1/requisitions/{number}/actions",
        json={"action": "approve", "actor": approver},
        headers={**auth, "Idempotency-Key": "worker-test-1"},
        timeout=30,
    )
    assert approved.status_code == 200, approved.text
    updates = eventually(delivered("chat.update", 2), "updated both cards after the approval")
    assert {c.args["channel"] for c in updates} == {jake, maria}

    def thread() -> list[str]:
        return [
            c.args["text"]
            for c in delivered("chat.postMessage", 0)()
            if c.args["channel"] == jake and c.args.get("thread_ts")
        ]

    lines = eventually(lambda: [t for t in thread() if "PO-" in t] and thread(), "told Jake the PO number")
    assert lines[0].startswith("Sent for approval to ") and "fully approved" in lines[1]
    assert len([t for t in lines if "fully approved" in t]) == 1
    assert len([c for c in delivered("chat.postMessage", 0)() if c.args["channel"] == maria]) == 1


def test_a_worker_never_opens_socket_mode(db_url, tmp_path):  # type: ignore[no-untyped-def]
    """SLACK_APP_TOKEN is set for the servers' Socket Mode: a worker started with the same settings posts cards
    but never connects to Slack's Socket Mode, so events are never delivered to a process that does not take them."""
    server = FakeSlackServer()
    with server as fake, FakeSocketMode() as socket:
        fake.socket_url = socket.url
        env = child_env("PROCUREBOT_", "DATABASE_URL", "SLACK_", "TEAMS_")
        env.update(
            {
                "DATABASE_URL": db_url,
                "PROCUREBOT_VAR_DIR": str(tmp_path),
                "PROCUREBOT_SCHEDULER_ENABLED": "false",
                "PROCUREBOT_ERP_DISPATCHERS": "0",
                "SLACK_BOT_TOKEN": "xoxb-worker-test",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_APP_TOKEN": "xapp-1-A1-worker-test",
                "SLACK_API_BASE_URL": server.base_url,
            }
        )
        worker = subprocess.Popen(
            [str(BIN / "procurebot"), "worker"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True
        )
        try:
            assert worker.stdout is not None
            banner = worker.stdout.readline()  # written once start-up is done, Slack included
            assert banner.startswith("procurebot worker: card fan-out on slack"), banner
            assert fake.of("apps.connections.open") == []
            assert not socket.connected.is_set()
        finally:
            stop_all([worker])
