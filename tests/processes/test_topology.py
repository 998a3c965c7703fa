"""The deployment topology with real processes: two `procurebot serve` replicas and one `procurebot worker` on one
PostgreSQL database, a headless Chromium page on each replica.

The replicas run in dev mode (the web chat is dev-only) with the scheduler and the ERP dispatchers left to the worker,
as production runs them; they share one audit key, as docs/deploy.md asks. A request made on replica A reaches the
approver's page on replica B at once (NOTIFY from A); A is killed (SIGKILL) and restarted; the approval made on B
and the PO the worker creates reach both pages; the PO notice arrives once; the audit chain verifies."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import test_web_browser as web_browser
from conftest import new_postgres_database
from live import child_env, eventually, free_port, stop_all, until_healthy
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.multiprocess  # several processes on one database: PostgreSQL only

BIN = Path(sys.executable).parent
ADMIN = "topology-test-admin-token-" + "x" * 24
AUDIT_KEY = "topology-test-audit-key-Jq8vR2mZ5tK9wL3nB7cX"
WRAP = web_browser.WRAP
SHUTDOWN_SECONDS = 5
WAIT_MS = 20_000  # generous: three processes share two cores with the browser

chromium = web_browser.chromium  # the shared browser fixtures (Debian's chromium, a fresh profile)
browser = web_browser.browser


class Topology:
    """The processes of one deployment, each logging to its own file."""

    def __init__(self, url: str, root: Path) -> None:
        self.url, self.root = url, root
        self.env = child_env("PROCUREBOT_", "DATABASE_URL", "SLACK_", "TEAMS_")
        self.env.update(
            {
                "DATABASE_URL": url,
                "PROCUREBOT_ENV": "dev",
                "PROCUREBOT_LOG_LEVEL": "warning",
                "PROCUREBOT_ADMIN_TOKEN": ADMIN,
                "PROCUREBOT_AUDIT_KEY": AUDIT_KEY,
                "PROCUREBOT_SHUTDOWN_TIMEOUT_SECONDS": str(SHUTDOWN_SECONDS),
            }
        )
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self.ports: dict[str, int] = {}
        self.starts: dict[str, int] = {}

    def start(self, name: str, *args: str, **extra: str) -> subprocess.Popen[str]:
        var = self.root / name
        var.mkdir(exist_ok=True)
        self.starts[name] = self.starts.get(name, 0) + 1
        out = open(var / f"out-{self.starts[name]}.log", "w")  # noqa: SIM115 - the child writes it; closed with it
        proc = subprocess.Popen(
            [str(BIN / "procurebot"), *args],
            cwd=var,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env={**self.env, "PROCUREBOT_VAR_DIR": str(var), **extra},
        )
        out.close()
        self.procs[name] = proc
        return proc

    def output(self, name: str) -> str:
        return (self.root / name / f"out-{self.starts[name]}.log").read_text()

    def replica(self, name: str) -> str:
        """Start (or start again) a server replica; returns its base URL once it answers /healthz."""
        port = self.ports.setdefault(name, free_port())
        proc = self.start(
            name,
            "serve",
            PROCUREBOT_PORT=str(port),
            PROCUREBOT_CHAT_DELIVERY_WORKERS="0",
            PROCUREBOT_SCHEDULER_ENABLED="false",
            PROCUREBOT_ERP_DISPATCHERS="0",
        )
        base = f"http://127.0.0.1:{port}"
        until_healthy(proc, base, limit=60, output=lambda: self.output(name))
        return base

    def worker(self) -> None:
        proc = self.start("worker", "worker", PROCUREBOT_SCHEDULER_ENABLED="true", PROCUREBOT_ERP_DISPATCHERS="1")

        def started() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"worker exited early:\n{self.output('worker')}")
            return "procurebot worker:" in self.output("worker")

        eventually(started, "started the worker", 60)


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    """A fresh PostgreSQL database and the processes started on it, all stopped at the end."""
    with new_postgres_database("procurebot_topology") as url:
        t = Topology(url, tmp_path)
        try:
            yield t
        finally:
            stop_all(list(t.procs.values()))


def _every_copy_says(page: Any, number: str, words: str) -> None:
    page.wait_for_function(
        "([number, words]) => { const s = [...document.querySelectorAll(`.card[data-number='${number}'] .status`)];"
        " return s.length > 0 && s.every(e => e.textContent.includes(words)); }",
        arg=[number, words],
        timeout=WAIT_MS,
    )


def test_two_replicas_and_a_worker_share_every_live_update(topology, browser):
    """Jake asks on replica A, Zoe on replica B sees it at once and, after A is killed and restarted, approves; the
    worker's PO reaches both pages, Jake's PO notice arrives once, and the audit chain verifies."""
    a = topology.replica("a")  # the first migrates and activates the policy; the others then find them done
    b = topology.replica("b")
    topology.worker()

    zoe = web_browser.open_as(browser, b, "zoe.martin")
    jake = web_browser.open_as(browser, a, "jake.miller")
    jake.fill("#text", WRAP)
    jake.click("#send")
    jake.wait_for_selector(".kind-requisition_summary button[data-action='submit']").click()
    number = jake.wait_for_selector(".card[data-number]").get_attribute("data-number")
    assert number

    # committed on A, heard on B: the approval request appears on Zoe's open page without a reload
    approval = zoe.wait_for_selector(f".kind-approval_request[data-number='{number}']", timeout=WAIT_MS)
    assert "Why you:" in approval.inner_text()

    # replica A dies mid-flight and comes back on the same port; Jake's page reconnects by itself
    topology.procs["a"].send_signal(signal.SIGKILL)
    topology.procs["a"].wait(10)
    jake.wait_for_function("document.getElementById('live').textContent !== 'live'", timeout=WAIT_MS)
    assert topology.replica("a") == a
    jake.wait_for_function("document.getElementById('live').textContent === 'live'", timeout=WAIT_MS)

    # approved on B: Jake's card on the restarted A follows, and the worker's PO reaches both pages
    approval.query_selector("button[data-action='approve']").click()
    zoe.wait_for_selector(f".card[data-number='{number}'] .status", timeout=WAIT_MS)
    notice = f"{number} is now purchase order"
    jake.wait_for_function(
        "(words) => [...document.querySelectorAll('.msg')].some(m => m.textContent.includes(words))",
        arg=notice,
        timeout=WAIT_MS,
    )
    po = _po_number(topology)
    _every_copy_says(jake, number, po)
    _every_copy_says(zoe, number, po)

    # the PO notice arrives once: on Jake's page, never on Zoe's, one inbox row, shown once
    time.sleep(3)  # longer than a stream's look in the inbox (2 s): a second copy would show by now
    lines = jake.eval_on_selector_all(".msg", "els => els.map(e => e.textContent)")
    assert sum(notice in line for line in lines) == 1, lines
    assert not any(notice in line for line in zoe.eval_on_selector_all(".msg", "els => els.map(e => e.textContent)"))
    db = create_engine(topology.url)
    try:
        with db.connect() as conn:
            kept = conn.execute(
                text("SELECT count(*) FROM inbox_notice WHERE person_id = 'jake.miller' AND kind = 'po_created'")
            ).scalar()
    finally:
        db.dispose()
    assert kept == 1

    verified = subprocess.run(
        [str(BIN / "procurebot"), "audit", "verify"],
        env={**topology.env, "PROCUREBOT_VAR_DIR": str(topology.root / "a")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0 and "audit chain intact" in verified.stdout, verified.stdout + verified.stderr

    # SIGTERM with Zoe's event stream still open: B stops (its listening thread too) within the shutdown timeout
    topology.procs["b"].send_signal(signal.SIGTERM)
    try:
        code = topology.procs["b"].wait(SHUTDOWN_SECONDS + 10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"replica B still running {SHUTDOWN_SECONDS + 10} s after SIGTERM:\n{topology.output('b')}")
    assert code == 0, topology.output("b")
    assert "live updates" not in topology.output("b"), topology.output("b")


def _po_number(topology: Topology) -> str:
    """The PO number the worker recorded (the ERP's, so the test does not guess its shape)."""
    db = create_engine(topology.url)
    try:

        def recorded() -> str | None:
            with db.connect() as conn:
                return conn.execute(text("SELECT po_number FROM erp_purchase_order")).scalar()

        return str(eventually(recorded, "recorded a PO", 30))
    finally:
        db.dispose()
