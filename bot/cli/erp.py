"""`procurebot erp status|retry|sync|budgets|dispatch|sandbox-move`: the ERP outbox from a terminal."""

from __future__ import annotations

import logging
import signal
import threading

import typer
from sqlmodel import Session, func, select

from approvals import jobqueue
from approvals.directory import load_directory
from approvals.errors import ProcurebotError
from approvals.jobqueue import Job, JobQueue
from approvals.outbox import CREATE_PO, NOTIFY, ErpPurchaseOrder, erp_view, retry_dead
from bot.cli.database import database_engine
from bot.settings import get_settings
from connectors.erp.base import ErpError
from connectors.erp.factory import build_connector

app = typer.Typer(help="Purchase orders in the ERP: the outbox, retries, status sync.", no_args_is_help=True)


def _context():  # type: ignore[no-untyped-def]
    settings = get_settings()
    return settings, database_engine(), load_directory(settings.directory_file)


def _notifier(engine):  # type: ignore[no-untyped-def]
    from bot.notify import InboxNotifier

    return InboxNotifier(engine)  # the database's inbox, shown by the web chat on any replica


@app.command("status")
def status(number: str = typer.Argument(None, help="a requisition, e.g. PR-1042; none for the whole outbox")) -> None:
    """Where one requisition is on its way to the ERP, or the outbox as a whole (failed ones with reasons)."""
    settings, engine, _ = _context()
    if number:
        view = erp_view(engine, number)
        if view is None:
            typer.echo(f"{number.upper()} has not been sent to the ERP (it is not approved, or the number is wrong).")
            raise typer.Exit(1)
        typer.echo(view.sentence())
        if view.attempts:
            typer.echo(
                f"  attempts: {view.attempts}"
                + (f", next at {view.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC" if view.next_attempt_at else "")
            )
        return
    stats = JobQueue(engine).stats(kinds=[CREATE_PO])
    notices = JobQueue(engine).stats(kinds=[NOTIFY])
    c = stats.counts
    typer.echo(f"ERP connector: {settings.erp.erp_connector}")
    typer.echo(
        f"create PO jobs: {c['due']} waiting, {c['claimed']} sending, {c['failed']} retrying, "
        f"{c['dead']} failed, {c['done']} done"
    )
    waiting = notices.counts["due"] + notices.counts["failed"]
    typer.echo(f"notices: {waiting} waiting, {notices.counts['dead']} undeliverable")
    with Session(engine) as session:
        by_status = session.exec(select(ErpPurchaseOrder.status, func.count()).group_by(ErpPurchaseOrder.status)).all()
        dead = session.exec(
            select(Job)
            .where(Job.kind == CREATE_PO, Job.state == jobqueue.DEAD)
            .order_by(Job.updated_at.desc())
            .limit(20)
        ).all()  # type: ignore[attr-defined]
    if by_status:
        typer.echo("purchase orders: " + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(by_status)))
    for job in dead:
        typer.echo(f"FAILED {job.dedupe_key.split(':', 1)[1]}: {job.last_error}")
    if dead:
        typer.echo("fix the cause, then: procurebot erp retry PR-XXXX")


@app.command("retry")
def retry(number: str = typer.Argument(..., help="the failed requisition, e.g. PR-1042")) -> None:
    """Send a failed (dead-lettered) requisition to the ERP again, with a fresh set of attempts."""
    _, engine, directory = _context()
    try:
        typer.echo(retry_dead(engine, directory, number, actor="cli", as_admin=True))
    except ProcurebotError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None


@app.command("sync")
def sync(only: str = typer.Option("all", help="all, status (open POs) or master (suppliers, items, budgets)")) -> None:
    """Pull from the configured ERP now: suppliers, items and budgets into our tables, and the status
    of every open purchase order (requesters hear of receipts)."""
    from bot.erp_dispatcher import ErpDispatcher

    if only not in ("all", "status", "master"):
        typer.echo(f"--only must be all, status or master, not {only!r}", err=True)
        raise typer.Exit(2)
    settings, engine, directory = _context()
    erp_settings = settings.erp
    try:
        connector = build_connector(erp_settings, engine, directory)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    dispatcher = ErpDispatcher(engine, directory, connector, _notifier(engine), settings=erp_settings)
    failed = False
    try:
        if only in ("all", "master"):
            counts = dispatcher.sync_master_data()
            typer.echo(counts.sentence())
            for problem in counts.problems:
                typer.echo(f"could not read {problem}", err=True)
            failed = bool(counts.problems)
        if only in ("all", "status"):
            changed = dispatcher.sync_statuses()
            typer.echo(f"{changed} purchase order(s) changed status")
    finally:
        connector.close()
    if failed:
        raise typer.Exit(1)


@app.command("budgets")
def budgets() -> None:
    """Each cost center's budget, the ERP's booked spend, our committed (approved, not yet invoiced) spend."""
    from approvals.master_data import budget_lines

    settings, engine, directory = _context()
    typer.echo(f"{'cost center':<14}{'budget':>14}{'booked':>14}{'committed':>14}{'remaining':>14}  source")
    for line in budget_lines(engine, directory, settings.erp.erp_connector):
        typer.echo(
            f"{line.cost_center:<14}{line.budget:>14,.2f}{line.booked:>14,.2f}{line.committed:>14,.2f}"
            f"{line.remaining:>14,.2f}  {line.source}"
        )


@app.command("dispatch")
def dispatch(workers: int = typer.Option(1, min=1, max=64, help="worker threads in this process")) -> None:
    """Run the dispatcher until stopped (Ctrl-C or SIGTERM). Run it on as many hosts as you like."""
    from bot.erp_dispatcher import durable_notifier, main_loop
    from bot.runtime import build_runtime

    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime = build_runtime(settings)
    erp_settings = settings.erp
    try:
        build_connector(erp_settings, runtime.engine, runtime.directory).close()
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    typer.echo(f"ERP dispatcher: {workers} worker(s), connector {erp_settings.erp_connector}")
    notifier = durable_notifier(  # as the server's dispatchers
        runtime.chat, runtime.engine, runtime.service.clock, assistants=runtime.assistant
    )
    main_loop(
        runtime.engine,
        runtime.directory,
        erp_settings,
        notifier,
        workers=workers,
        stop=stop,
        attachment_store=runtime.service.attachment_store,  # where the POs' files are read from
    )


@app.command("sandbox-move")
def sandbox_move(
    po_number: str = typer.Argument(..., help="a sandbox PO, e.g. PO-000001"),
    status: str = typer.Argument(..., help="partially_received, received, closed or cancelled"),
) -> None:
    """Move a purchase order in the embedded sandbox ERP, as a warehouse or AP clerk would in a real one."""
    from connectors.erp.sandbox import SandboxErp

    _, engine, directory = _context()
    try:
        po = SandboxErp(engine, directory).move(po_number, status)
    except ErpError as exc:
        typer.echo(exc.reason, err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"{po.number} ({po.reference}) is now {po.status.replace('_', ' ')}; `procurebot erp sync` tells the requester"
    )
