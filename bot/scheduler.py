"""The in-process ticker: APScheduler 3.x calls `Scheduler.tick` every few seconds, nothing more.

All due work lives in the database (approvals/jobqueue.py); any number of server processes may
tick at once, each claims different rows. A tick that is still running when the next is due is
skipped (max_instances=1, coalesce), never doubled.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from approvals.directory import Directory
from approvals.scheduling.calendar import Calendars, WorkingHours
from approvals.scheduling.notices import Notifier
from approvals.scheduling.plan import Planner, SchedulerConfig
from approvals.scheduling.runner import Scheduler
from approvals.workflow import ApprovalService
from bot.chat.delivery import ChatDelivery, ChatNotifier
from bot.notify import HttpNotifier, LogNotifier
from bot.settings import Settings

log = logging.getLogger("procurebot.scheduler")


class Ticker:
    def __init__(self, scheduler: Scheduler, *, interval_seconds: int = 30) -> None:
        self.scheduler = scheduler
        self._aps = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        self._aps.add_job(self._tick, "interval", seconds=interval_seconds, id="procurebot-scheduler-tick")

    def _tick(self) -> None:
        try:
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
        hours=WorkingHours.parse(settings.working_hours, settings.quiet_hours), weekly_summary=True
    )
    calendars = Calendars(directory, config.hours)
    planner = Planner(directory, calendars, config)
    fallback: Notifier = HttpNotifier(settings.notify_url) if settings.notify_url else LogNotifier()
    notifier = ChatNotifier(chat, fallback=fallback)  # Slack/Teams first, where the person is
    return planner, Scheduler(service, notifier, config=config, calendars=calendars)


def start(scheduler: Scheduler, settings: Settings) -> Ticker | None:
    """Start ticking if the settings say so (on by default in dev); None otherwise."""
    if not settings.scheduler_on:
        return None
    ticker = Ticker(scheduler, interval_seconds=settings.scheduler_interval_seconds)
    ticker.start()
    return ticker
