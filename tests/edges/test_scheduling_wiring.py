"""The scheduler wired into the server: hooks on every action, a ticker, and `procurebot scheduler status`."""

from __future__ import annotations

from datetime import timedelta

from typer.testing import CliRunner

from approvals import jobqueue
from approvals.clock import utcnow
from approvals.db import transaction
from approvals.jobqueue import JobQueue
from bot.cli import app as cli
from bot.settings import Settings, get_settings
from tests.factories import submit


def test_a_submission_through_the_runtime_schedules_its_reminder_and_escalation(db_url, tmp_path):
    """The server's service writes a reminder and an escalation row in the same transaction as the routing."""
    from bot.runtime import build_runtime

    settings = Settings(database_url=db_url, var_dir=tmp_path, _env_file=None)
    runtime = build_runtime(settings)
    try:
        runtime.service.submit(submit())
        stats = JobQueue(runtime.engine).stats()
        kinds = sorted(j.kind for j in stats.next_due)
        assert kinds == ["escalate", "remind"]
    finally:
        runtime.engine.dispose()


def test_the_ticker_runs_only_when_enabled(db_url, tmp_path):
    """Dev mode ticks by default; a setting turns it off; production ticks only when asked."""
    assert Settings(_env_file=None).scheduler_on
    assert not Settings(scheduler_enabled=False, _env_file=None).scheduler_on
    assert not Settings(env="production", database_url="postgresql://db/p", _env_file=None).scheduler_on
    from bot import scheduler as ticking
    from bot.runtime import build_runtime

    runtime = build_runtime(Settings(database_url=db_url, var_dir=tmp_path, scheduler_enabled=False, _env_file=None))
    try:
        assert ticking.start(runtime.scheduler, runtime.settings) is None
        ticking_on = Settings(database_url=db_url, var_dir=tmp_path, scheduler_interval_seconds=3600, _env_file=None)
        ticker = ticking.start(runtime.scheduler, ticking_on)
        assert ticker is not None
        ticker.shutdown()
    finally:
        runtime.engine.dispose()


def test_status_shows_due_claimed_and_failed(engine, db_url, monkeypatch):
    """An operator runs `procurebot scheduler status` and sees the counts and the next rows with their errors."""
    now = utcnow()  # the command reads the real clock
    with transaction(engine) as s:
        for i in range(3):
            jobqueue.enqueue(s, kind="remind", key=f"remind:{i}", due_at=now - timedelta(minutes=1), now=now)
    queue = JobQueue(engine, worker_id="web-1:42")
    first, second = queue.claim("remind", limit=2)
    queue.retry(second, "chat API answered 503")
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["scheduler", "status"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "due 1  claimed 1  failed 1  dead 0  done 0" in result.output
    assert "chat API answered 503" in result.output
    assert "claimed by web-1:42" in result.output
