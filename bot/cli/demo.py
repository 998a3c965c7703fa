"""`procurebot demo seed`: half a year of the sample company's purchasing, so the console shows what it is for."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import typer

app = typer.Typer(help="Demo data for a fresh install (the sample company).", no_args_is_help=True)

REFUSED = (
    "procurebot: this database already has {count} requisition(s); the demo history is for a fresh install. "
    "Point DATABASE_URL at an empty database, or add --force to add the history on top of what is there."
)


@app.command("seed")
def seed(
    months: int = typer.Option(6, min=1, max=24, help="How many months of history, ending now"),
    seed: int = typer.Option(7, help="The same seed gives the same history"),
    per_day: float = typer.Option(6.0, min=1.0, max=200.0, help="Requests per working day, across the company"),
    force: bool = typer.Option(False, "--force", help="Add the history even if the database has requisitions"),
) -> None:
    """Live through the last MONTHS for the sample company: requests submitted, routed, approved after realistic
    delays, rejected, questioned, escalated, delegated, ordered and received in the sandbox ERP, all through the
    real services on a clock moved along the months."""
    from sqlalchemy import event
    from sqlmodel import Session, func, select

    from approvals.clock import utcnow
    from approvals.models import Requisition
    from bot.cli.database import database_engine
    from bot.cli.demo_history import History, MovingClock, monday_before
    from bot.erp_dispatcher import ErpDispatcher, durable_notifier
    from bot.runtime import build_runtime
    from bot.settings import get_settings
    from connectors.erp.sandbox import SandboxErp

    settings = get_settings()
    if settings.erp.erp_connector != "sandbox":
        typer.echo(
            f"procurebot: the demo history orders from the embedded sandbox ERP, but PROCUREBOT_ERP_CONNECTOR is "
            f"{settings.erp.erp_connector!r}; unset it (or set it to sandbox) to seed a demo database.",
            err=True,
        )
        raise typer.Exit(2)
    engine = database_engine()
    try:
        with Session(engine) as session:
            count = session.exec(select(func.count()).select_from(Requisition)).one()
    finally:
        engine.dispose()
    if count and not force:
        typer.echo(REFUSED.format(count=count), err=True)
        raise typer.Exit(1)
    logging.getLogger("procurebot").setLevel(logging.WARNING)  # thousands of actions: the summary says it all

    end = utcnow() - timedelta(minutes=5)
    start = monday_before(end - timedelta(days=round(months * 30.44)))
    clock = MovingClock(start)
    runtime = build_runtime(settings, clock=clock)
    service = runtime.service
    if runtime.engine.dialect.name == "sqlite":
        # thousands of small transactions: SQLite's WAL without a disk flush at each commit (it stays consistent;
        # a power cut could lose the last few, and the history is made again with --force)
        event.listen(runtime.engine, "connect", lambda conn, _: conn.execute("PRAGMA synchronous=NORMAL"))
        runtime.engine.dispose()
    # the SLA-risk estimate runs every half hour in a server; over the history it runs once, at the end
    risk_config = runtime.scheduler.config
    runtime.scheduler.config = replace(risk_config, sla_risk=False)
    # the approvers' notes would ask a model about thousands of old requests: the history goes without
    service.after_commit[:] = [f for f in service.after_commit if f != runtime.llm.summaries.on_change]
    sandbox = SandboxErp(runtime.engine, runtime.directory)
    dispatcher = ErpDispatcher(
        runtime.engine,
        runtime.directory,
        sandbox,
        durable_notifier(runtime.chat, runtime.engine, clock, assistants=runtime.assistant),
        # receipts are recorded as they happen (demo_history._close_day), not by asking about every open PO
        settings=settings.erp.model_copy(update={"erp_status_sync_minutes": 10.0**9}),
        clock=clock,
        worker_id="demo-seed",
        batch=50,
    )
    typer.echo(f"Living through {start:%Y-%m-%d} to {end:%Y-%m-%d} for the sample company (seed {seed}) ...")
    try:
        history = History(runtime, clock, dispatcher, sandbox, seed=seed)
        figures = history.run(start, end, per_day)
        runtime.scheduler.config = risk_config
        runtime.scheduler.run_until_idle()
    finally:
        runtime.engine.dispose()
    d = figures.decisions
    typer.echo(
        f"{figures.submitted} requests submitted; {d['approved']} approvals, {d['rejected']} rejections, "
        f"{d['asked']} questions ({d['answered']} answered), {d['withdrawn']} withdrawn by their requester, "
        f"{figures.escalations} escalations, {figures.delegations} delegations"
    )
    typer.echo(f"{figures.purchase_orders} purchase orders in the sandbox ERP, {figures.received} received")
    typer.echo("now: " + ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in sorted(figures.states.items())))
    typer.echo(
        f"done in {figures.seconds:.1f} s; open the console: procurebot serve, then http://127.0.0.1:8000/console"
    )
