"""`procurebot audit verify|export`."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import typer
from sqlmodel import Session

from approvals import audit
from bot.cli.database import database_engine

app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Check the whole hash chain; exit 1 and list every break if anything was edited, deleted or reordered."""
    engine = database_engine()
    with Session(engine) as session:
        report = audit.verify_chain(session)
    if report.ok:
        typer.echo(f"audit chain intact: {report.events} events")
        return
    for problem in report.problems:
        typer.echo(f"BROKEN: {problem}", err=True)
    typer.echo(f"audit chain broken: {len(report.problems)} problem(s) in {report.events} events", err=True)
    raise typer.Exit(1)


@app.command("export")
def export(
    format: str = typer.Option("jsonl", "--format", "-f", help="jsonl or csv"),
    output: Path = typer.Option(None, "--output", "-o", help="file to write (default: standard output)"),
    requisition: str = typer.Option(None, help="only this requisition, e.g. PR-1042"),
    since: datetime = typer.Option(
        None,
        help="only events at or after this time (ISO 8601, UTC if no zone)",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"],
    ),
) -> None:
    """Write audit events as JSON Lines or CSV."""
    if format not in ("jsonl", "csv"):
        typer.echo("format must be jsonl or csv", err=True)
        raise typer.Exit(2)
    engine = database_engine()
    out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        with Session(engine) as session:
            events = audit.iter_events(session, requisition_number=requisition, since=since)
            for chunk in audit.export_jsonl(events) if format == "jsonl" else audit.export_csv(events):
                out.write(chunk)
    finally:
        if output:
            out.close()
