"""The README's main job: `procurebot serve` on the embedded default, then the 60-second tour over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from live import child_env, free_port

from approvals.db import make_engine
from approvals.notices import Notice
from bot.notify import InboxNotifier

BIN = Path(sys.executable).parent


@pytest.fixture
def server(tmp_path):  # type: ignore[no-untyped-def]
    port = free_port()
    env = child_env("PROCUREBOT_", "DATABASE_URL")
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'procurebot.db'}",
            "PROCUREBOT_VAR_DIR": str(tmp_path),
            "PROCUREBOT_PORT": str(port),
            "PROCUREBOT_LOG_LEVEL": "warning",
        }
    )
    proc = subprocess.Popen(
        [str(BIN / "procurebot"), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            if proc.poll() is not None:
                pytest.fail(f"server exited early:\n{proc.stdout.read() if proc.stdout else ''}")
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("server did not answer /healthz within 60 s")
    yield base, tmp_path, env
    proc.terminate()
    proc.wait(15)


def test_serve_with_nothing_configured_runs_the_tour(server):
    """A newcomer starts the server, sends Jake's order, Maria approves, the sandbox makes the PO, audit verifies."""
    base, var, env = server
    token = (var / "dev-admin-token").read_text().strip()
    assert oct((var / "dev-admin-token").stat().st_mode)[-3:] == "600"
    h = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{base}/readyz", headers=h).json()["database"] == "sqlite"
    created = httpx.post(
        f"{base}/api/v1/requisitions",
        headers=h,
        json={
            "requester": "jake.miller",
            "site": "DAL",
            "cost_center": "DAL-OPS",
            "supplier": "uline",
            "lines": [{"description": "Corrugated boxes", "sku": "PKG-BOX-2012", "quantity": 80, "unit_price": 48}],
        },
    )
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert created.json()["requisition"]["waiting_on"] == ["maria.lopez"]
    approved = httpx.post(
        f"{base}/api/v1/requisitions/{number}/actions",
        headers={**h, "Idempotency-Key": "tap-1"},
        json={"action": "approve", "actor": "maria.lopez"},
    )
    assert approved.json()["outcome"] == "approved"
    # the in-server dispatcher sends it to the sandbox ERP, which numbers the purchase order
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = httpx.get(f"{base}/api/v1/requisitions/{number}", headers=h).json()["state"]
        if state == "po_created":
            break
        time.sleep(0.2)
    assert state == "po_created"
    # Jake uses only the web chat: when he comes back, his unread list has the notice kept for him in the database
    said = ""
    while f"{number} is now purchase order PO-" not in said and time.monotonic() < deadline:
        hello = httpx.post(f"{base}/chat/api/hello", json={"person": "jake.miller"})
        said = " ".join(item["text"] for item in hello.json()["unread"]["items"])
        time.sleep(0.2)
    assert f"{number} is now purchase order PO-" in said
    verify = subprocess.run([str(BIN / "procurebot"), "audit", "verify"], env=env, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    assert "audit chain intact" in verify.stdout
    assert httpx.get(f"{base}/", follow_redirects=False).headers["location"] == "/chat"


def test_tampering_makes_audit_verify_fail(server):
    """After someone edits an audit row by hand, `procurebot audit verify` exits 1 and says which event."""
    import sqlite3

    base, var, env = server
    token = (var / "dev-admin-token").read_text().strip()
    httpx.post(
        f"{base}/api/v1/requisitions",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "requester": "jake.miller",
            "site": "DAL",
            "cost_center": "DAL-OPS",
            "supplier": "uline",
            "lines": [{"description": "Corrugated boxes", "sku": "PKG-BOX-2012", "quantity": 80, "unit_price": 48}],
        },
    )
    with sqlite3.connect(var / "procurebot.db") as db:
        db.execute("UPDATE audit_event SET actor = 'mallory' WHERE seq = 2")
    verify = subprocess.run([str(BIN / "procurebot"), "audit", "verify"], env=env, capture_output=True, text=True)
    assert verify.returncode == 1
    assert "event 2" in verify.stderr and "edited" in verify.stderr


def _notices(lines, want: set[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Read server-sent events until a notice containing each of `want` arrived; the notices' texts, in order."""
    seen: list[str] = []
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "notice":
            seen.append(json.loads(line.removeprefix("data: "))["text"] or "")
            if all(any(w in text for text in seen) for w in want):
                return seen
    raise AssertionError(f"the stream ended before {want} arrived; it brought {seen}")


def test_an_open_web_chat_shows_notices_kept_by_this_server_and_by_another_process(server):
    """Jake has the web chat open: the sandbox makes the PO for his approved boxes and he reads 'PO created' on his
    stream; a worker process (here, the test) keeps a reminder for him in the database and it shows up too; each
    once, and nothing is left for his next visit."""
    base, var, env = server
    h = {"Authorization": f"Bearer {(var / 'dev-admin-token').read_text().strip()}"}
    with httpx.stream("GET", f"{base}/chat/api/events", params={"person": "jake.miller"}, timeout=30) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")  # subscribed: what happens from now on reaches this stream
        number = httpx.post(
            f"{base}/api/v1/requisitions",
            headers=h,
            json={
                "requester": "jake.miller",
                "site": "DAL",
                "cost_center": "DAL-OPS",
                "supplier": "uline",
                "lines": [{"description": "Corrugated boxes", "sku": "PKG-BOX-2012", "quantity": 80, "unit_price": 48}],
            },
        ).json()["number"]
        approved = httpx.post(
            f"{base}/api/v1/requisitions/{number}/actions",
            headers={**h, "Idempotency-Key": "stream-1"},
            json={"action": "approve", "actor": "maria.lopez"},
        )
        assert approved.json()["outcome"] == "approved"
        created = f"{number} is now purchase order PO-"
        first = _notices(lines, {created})
        other_process = make_engine(env["DATABASE_URL"])
        try:
            reminder = Notice("reminder", f"{number} is a test reminder.", f"test.remind:{number}", number)
            InboxNotifier(other_process).send("jake.miller", reminder)
            InboxNotifier(other_process).send("jake.miller", reminder)  # a redelivered job
        finally:
            other_process.dispose()
        later = _notices(lines, {reminder.text})
    shown = first + later
    assert sum(created in text for text in shown) == 1 and shown.count(reminder.text) == 1
    hello = httpx.post(f"{base}/chat/api/hello", json={"person": "jake.miller"}).json()
    assert not any(created in (r["text"] or "") or reminder.text == r["text"] for r in hello["replies"])
    listed = [item["text"] for item in hello["unread"]["items"]]  # shown, and still unread until he reads them
    assert reminder.text in listed and any(created in text for text in listed)
