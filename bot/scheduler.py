"""The in-process ticker: APScheduler 3.x calls `Scheduler.tick` every few seconds, nothing more.

All due work lives in the database (approvals/jobqueue.py); any number of server processes may
tick at once, each claims different rows. A tick that is still running when the next is due is
skipped (max_instances=1, coalesce), never doubled.
"""

from __future__ import annotations

import logging
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlmodel import Session

from approvals import audit, audit_checkpoint
from approvals.clock import utcnow
from approvals.directory import Directory
from approvals.directory_store import refresh
from approvals.notices import Notifier
from approvals.scheduling.calendar import Calendars, WorkingHours
from approvals.scheduling.plan import Planner, SchedulerConfig
from approvals.scheduling.runner import Scheduler
from approvals.workflow import ApprovalService
from bot.chat.delivery import ChatDelivery, ChatNotifier
from bot.notify import HttpNotifier, InboxNotifier
from bot.settings import Settings

log = logging.getLogger("procurebot.scheduler")


class Ticker:
    def __init__(self, scheduler: Scheduler, *, interval_seconds: int = 30) -> None:
        self.scheduler = scheduler
        self._aps = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        self._aps.add_job(self._tick, "interval", seconds=interval_seconds, id="procurebot-scheduler-tick")

    def _tick(self) -> None:
        try:
            refresh(self.scheduler.service.directory)  # a new directory version, before the tick reads it
            report = self.scheduler.tick()
        except Exception:  # noqa: BLE001 - the next tick tries again; the rows are still in the database
            log.exception("scheduler tick failed")
            return
        if report.claimed:
            log.info(
                "scheduler tick: %s claimed, %s sent, %s deferred, %s failed",
                report.claimed,
                report.sent,
                report.deferred,
                report.failed,
            )

    def start(self) -> None:
        self._aps.start()

    def shutdown(self) -> None:
        self._aps.shutdown(wait=True)


def build(
    settings: Settings, directory: Directory, service: ApprovalService, chat: ChatDelivery
) -> tuple[Planner, Scheduler]:
    """The planner hook (due work written with every action) and this process's scheduler.

    The hook is wired whether or not this process ticks: another replica may do the ticking."""
    config = SchedulerConfig(
        hours=WorkingHours.parse(settings.working_hours, settings.quiet_hours),
        weekly_summary=True,
        sla_risk=settings.sla_risk_threshold > 0,
        risk_threshold=settings.sla_risk_threshold or 1.0,
    )
    calendars = Calendars(directory, config.hours)
    planner = Planner(directory, calendars, config)
    # Slack/Teams first, where the person is; else the chat API the settings name, else the inbox the web chat shows
    fallback: Notifier = (
        HttpNotifier(settings.notify_url) if settings.notify_url else InboxNotifier(service.engine, service.clock)
    )
    notifier = ChatNotifier(chat, fallback=fallback)
    return planner, Scheduler(service, notifier, config=config, calendars=calendars)


def start(scheduler: Scheduler, settings: Settings) -> Ticker | None:
    """Start ticking if the settings say so (on by default in dev); None otherwise."""
    if not settings.scheduler_on:
        return None
    ticker = Ticker(scheduler, interval_seconds=settings.scheduler_interval_seconds)
    ticker.start()
    return ticker


class AuditCheckpoints:
    """Writes a signed checkpoint of the audit chain's head to a folder every few minutes (when the chain grew),
    so a copy of the head lives outside the database even if nobody runs `procurebot audit checkpoint`."""

    def __init__(self, engine: Engine, key: bytes, folder: Path, minutes: int) -> None:
        self.engine, self.key, self.folder = engine, key, folder
        self.last_seq: int | None = None
        self._aps = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        # the first one at start-up, so a server that never runs an hour still leaves one
        first = utcnow()
        self._aps.add_job(
            self.run_once, "interval", minutes=minutes, id="procurebot-audit-checkpoint", next_run_time=first
        )

    def run_once(self) -> Path | None:
        """Write one checkpoint now (None: the chain has not moved since the last one, or does not verify)."""
        try:
            with Session(self.engine) as session:
                mark = audit_checkpoint.take(session, self.key, utcnow())
        except audit_checkpoint.CheckpointRefused as exc:
            log.error("audit checkpoint not written: %s", exc)
            return None
        except Exception:  # noqa: BLE001 - the next run tries again
            log.exception("audit checkpoint failed")
            return None
        if mark.seq == self.last_seq:
            return None
        path = audit_checkpoint.write(self.folder / audit_checkpoint.file_name(mark), mark, self.key)
        self.last_seq = mark.seq
        log.info("audit checkpoint of event %s written to %s", mark.seq, path)
        return path

    def start(self) -> None:
        self._aps.start()

    def shutdown(self) -> None:
        self._aps.shutdown(wait=False)


def start_checkpoints(engine: Engine, settings: Settings) -> AuditCheckpoints | None:
    """Write audit checkpoints on the schedule the settings give (PROCUREBOT_AUDIT_CHECKPOINT_MINUTES; 0: off)."""
    key = audit.current_key()
    if key is None or settings.audit.checkpoint_minutes == 0:
        return None
    checkpoints = AuditCheckpoints(
        engine, key, settings.audit.checkpoints(settings.var_dir), settings.audit.checkpoint_minutes
    )
    checkpoints.start()
    return checkpoints
