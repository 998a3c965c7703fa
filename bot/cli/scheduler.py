"""`procurebot scheduler status`: what is due, claimed and failed in the job queue."""

from __future__ import annotations

import typer

from bot.cli.database import database_engine

app = typer.Typer(help="Reminders, escalations and other due work.", no_args_is_help=True)


@app.command("status")
def status(limit: int = typer.Option(10, min=0, max=200, help="How many upcoming rows to list")) -> None:
    """Counts per state (due, claimed, failed, dead, done), what is ready now, and the next rows to come due."""
    from approvals.jobqueue import JobQueue

    engine = database_engine()
    try:
        stats = JobQueue(engine).stats(next_limit=limit)
    finally:
        engine.dispose()
    c = stats.counts
    typer.echo(f"due {c['due']}  claimed {c['claimed']}  failed {c['failed']}  dead {c['dead']}  done {c['done']}")
    typer.echo(f"ready now {stats.due_now}")
    if stats.next_due:
        typer.echo("next:")
    for job in stats.next_due:
        who = f"  claimed by {job.claimed_by}" if job.state == "claimed" else ""
        error = f"  last error: {job.last_error}" if job.last_error else ""
        typer.echo(f"  {job.due_at:%Y-%m-%d %H:%M} UTC  {job.state:<7}  {job.kind:<16} {job.dedupe_key}{who}{error}")
