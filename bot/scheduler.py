"""The in-process ticker: APScheduler 3.x calls `Scheduler.tick` every few seconds, nothing more.

All due work lives in the database (approvals/jobqueue.py); any number of server processes may
tick at once, each claims different rows. A tick that is still running when the next is due is
skipped (max_instances=1, coalesce), never doubled.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from approvals.scheduling.runner import Scheduler

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


def install(runtime) -> None:  # type: ignore[no-untyped-def]
    """Write due work with every action (the planner hook) and build this process's scheduler.

    The hook is installed whether or not this process ticks: another replica may do the ticking.
    """
    from approvals.scheduling.calendar import Calendars, WorkingHours
    from approvals.scheduling.plan import Planner, SchedulerConfig
    from bot.notify import HttpNotifier, LogNotifier

    settings = runtime.settings
    config = SchedulerConfig(
        hours=WorkingHours.parse(settings.working_hours, settings.quiet_hours), weekly_summary=True
    )
    calendars = Calendars(runtime.directory, config.hours)
    planner = Planner(runtime.directory, calendars, config)
    runtime.service.in_transaction.append(planner)
    notifier = HttpNotifier(settings.notify_url) if settings.notify_url else LogNotifier()
    if getattr(runtime, "chat", None) is not None:
        from bot.chat.delivery import ChatNotifier

        notifier = ChatNotifier(runtime.chat, fallback=notifier)  # Slack/Teams first, where the person is
    runtime.scheduler = Scheduler(runtime.service, notifier, config=config, calendars=calendars)


def start(runtime) -> Ticker | None:  # type: ignore[no-untyped-def]
    """Start ticking if the settings say so (on by default in dev); None otherwise."""
    scheduler = getattr(runtime, "scheduler", None)
    if scheduler is None or not runtime.settings.scheduler_on:
        return None
    ticker = Ticker(scheduler, interval_seconds=runtime.settings.scheduler_interval_seconds)
    ticker.start()
    return ticker
