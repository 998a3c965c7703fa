"""A real server stops within its shutdown time even with an event stream open, and its JSON log lines carry
the request id a caller sent, which the response echoes and the audit trail records."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from live import child_env, free_port, until_healthy

BIN = Path(sys.executable).parent
REQUEST_ID = "lb-7f3a9c21d4e8"


@pytest.fixture
def server(tmp_path):  # type: ignore[no-untyped-def]
    """A served process that may take 2 s to stop."""
    yield from _serve(tmp_path, shutdown_seconds=2)


@pytest.fixture
def patient_server(tmp_path):  # type: ignore[no-untyped-def]
    """A served process that may take a whole minute to stop."""
    yield from _serve(tmp_path, shutdown_seconds=60)


def _serve(tmp_path, *, shutdown_seconds: int):  # type: ignore[no-untyped-def]
    port = free_port()
    env = child_env("PROCUREBOT_", "DATABASE_URL")
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'procurebot.db'}",
            "PROCUREBOT_VAR_DIR": str(tmp_path),
            "PROCUREBOT_PORT": str(port),
            "PROCUREBOT_LOG_LEVEL": "info",
            "PROCUREBOT_LOG_FORMAT": "json",
            "PROCUREBOT_SHUTDOWN_TIMEOUT_SECONDS": str(shutdown_seconds),
        }
    )
    proc = subprocess.Popen(
        [str(BIN / "procurebot"), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        until_healthy(proc, base, limit=60)
    except BaseException:
        proc.kill()
        raise
    yield proc, base, tmp_path
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def _hold_stream(url: str, opened: threading.Event, lines: list[str] | None = None) -> None:
    """A browser's live-update stream, held open until the server ends it (its lines kept in `lines`)."""
    try:
        with httpx.stream("GET", url, timeout=httpx.Timeout(5, read=60)) as response:
            opened.set()
            for line in response.iter_lines():
                if lines is not None:
                    lines.append(line)
    except httpx.HTTPError:
        pass  # the server cut it: what a browser sees before it reconnects
    finally:
        opened.set()


def test_sigterm_stops_the_server_within_its_shutdown_time_with_a_stream_open(server):
    """Jake's web chat holds an event stream; SIGTERM still stops the server in about its 2 s, not minutes."""
    proc, base, _ = server
    opened = threading.Event()
    reader = threading.Thread(target=_hold_stream, args=(f"{base}/chat/api/events?person=jake.miller", opened))
    reader.start()
    assert opened.wait(10), "the event stream did not open"
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(20)  # far above the 2 s setting, far below the two minutes an unbounded stop took
    took = time.monotonic() - sent
    reader.join(10)
    assert not reader.is_alive()
    assert took < 15, f"the server took {took:.1f} s to stop"


def test_a_stopping_server_tells_open_streams_to_reconnect_at_once(patient_server):
    """With a minute to stop, SIGTERM still ends Jake's stream at once with a 'reconnect' event, and the server
    stops without waiting out its timeout."""
    proc, base, _ = patient_server
    opened, lines = threading.Event(), []
    url = f"{base}/chat/api/events?person=jake.miller"
    reader = threading.Thread(target=_hold_stream, args=(url, opened, lines))
    reader.start()
    assert opened.wait(10), "the event stream did not open"
    time.sleep(0.5)  # the stream has said it is connected
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    reader.join(10)
    assert not reader.is_alive() and "event: reconnect" in lines, lines
    proc.wait(20)
    assert time.monotonic() - sent < 15  # far below the minute this server may take


def test_a_callers_request_id_is_echoed_logged_as_json_and_audited(server):
    """A load balancer's X-Request-ID comes back on the answer, is on the server's JSON log line, and in the audit."""
    proc, base, var = server
    token = (var / "dev-admin-token").read_text().strip()
    headers = {"Authorization": f"Bearer {token}", "X-Request-ID": REQUEST_ID}
    draft = {
        "requester": "jake.miller",
        "site": "DAL",
        "cost_center": "DAL-OPS",
        "supplier": "uline",
        "lines": [{"description": "Corrugated boxes", "sku": "PKG-BOX-2012", "quantity": 80, "unit_price": 48}],
    }
    created = httpx.post(f"{base}/api/v1/requisitions", headers=headers, json=draft)
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-ID"] == REQUEST_ID
    number = created.json()["number"]
    odd = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "has spaces and\ttabs"})
    assert odd.headers["X-Request-ID"] != "has spaces and\ttabs" and len(odd.headers["X-Request-ID"]) == 32
    export = httpx.get(
        f"{base}/api/v1/audit/export", headers={"Authorization": f"Bearer {token}"}, params={"requisition": number}
    )
    assert export.status_code == 200, export.text
    events = [json.loads(line) for line in export.text.splitlines() if line.strip()]
    assert any((e.get("after") or {}).get("request_id") == REQUEST_ID for e in events), events
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=30)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert lines, output[-2000:]
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    assert any(line["request_id"] == REQUEST_ID for line in lines), output[-2000:]
