"""Serving the app for tests: a free local port, the real app under uvicorn in this process (browser tests),
and waiting for what another process does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import httpx
import pytest


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(*dropped: str) -> dict[str, str]:
    """This process's environment for a server or worker a test starts, without the variables whose names
    start with one of `dropped` (the settings the test gives it itself), but always with the test session's
    PROCUREBOT_TEST_* ones: with `pytest --clock-ahead` they move the child's wall clock like the test's own."""
    return {k: v for k, v in os.environ.items() if k.startswith("PROCUREBOT_TEST_") or not k.startswith(dropped)}


def eventually(found: Callable[[], Any], what: str, limit: float = 30) -> Any:
    """Another process works on its own: wait until `found()` is truthy (and return it), or fail naming `what`."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"never {what}")


def until_healthy(proc: Any, base: str, limit: float = 30, output: Callable[[], str] | None = None) -> None:
    """Wait until the server process `proc` answers `base`/healthz; fail with its output (its stdout, or what
    `output()` reads) if it exits first."""

    def up() -> bool:
        if proc.poll() is not None:
            said = output() if output else (proc.stdout.read() if proc.stdout else "")
            pytest.fail(f"server exited early:\n{said}")
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    eventually(up, "answered /healthz", limit)


def stop_all(procs: list[Any], grace: float = 15) -> None:
    """SIGTERM every process, then wait for each; one that has not stopped after `grace` seconds is killed."""
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def serving(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 at `port` (a free one by default) until the block ends; yields its base URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the test server did not start within 30 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
