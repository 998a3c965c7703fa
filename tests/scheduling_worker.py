"""Runs in a separate process: one server replica's scheduler, ticking at a fixed moment.

The clock is fixed (passed in as ISO text) so the test decides when leases run out; nothing
here sleeps. Notices go out through the real HttpNotifier to the test's fake chat API.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def tick_until_idle(url: str, chat_url: str, now_iso: str, worker_id: str, batch: int, start, results) -> None:  # type: ignore[no-untyped-def]
    """Tick until a tick claims nothing; report (worker, claimed, sent, failed). `start` lines the replicas up."""
    from sqlalchemy import text

    from approvals.db import make_engine
    from approvals.directory import load_directory
    from approvals.scheduling.plan import SchedulerConfig
    from approvals.scheduling.runner import Scheduler
    from approvals.workflow import ApprovalService
    from bot.notify import HttpNotifier

    now = datetime.fromisoformat(now_iso)
    engine = make_engine(url)
    with engine.connect() as conn:  # connect before the start signal, so both replicas begin together
        conn.execute(text("SELECT 1"))
    notifier = HttpNotifier(chat_url)
    service = ApprovalService(engine, load_directory(EXAMPLES / "company.yaml"), clock=lambda: now)
    scheduler = Scheduler(
        service, notifier, config=SchedulerConfig(batch=batch), clock=lambda: now, worker_id=worker_id
    )
    claimed = sent = failed = 0
    try:
        if start is not None:
            start.wait(60)
        while True:
            report = scheduler.tick()
            claimed, sent, failed = claimed + report.claimed, sent + report.sent, failed + report.failed
            if report.claimed == 0:
                break
        results.put((worker_id, claimed, sent, failed))
    finally:
        notifier.close()
        engine.dispose()
