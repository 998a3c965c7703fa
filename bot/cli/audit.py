"""`procurebot audit verify|checkpoint|export`."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import typer
from sqlmodel import Session

from approvals import audit, audit_checkpoint
from approvals.clock import utcnow
from bot.cli.database import database_engine
from bot.settings import get_settings

app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@app.command("verify")
def verify(
    checkpoint: Path = typer.Option(
        None, "--checkpoint", help="a checkpoint file (`procurebot audit checkpoint`) the chain must still agree with"
    ),
) -> None:
    """Check the whole hash chain with the audit key; exit 1 and list every break if anything was edited, deleted,
    reordered or recomputed without the key. With --checkpoint, also every event up to the checkpoint's."""
    engine = database_engine()  # sets this process's audit key from the settings
    key = audit.current_key()
    with Session(engine) as session:
        if checkpoint is None:
            report = audit.verify_chain(session)
        else:
            assert key is not None, "database_engine sets the key"
            try:
                mark = audit_checkpoint.read(checkpoint, key)
            except audit_checkpoint.CheckpointInvalid as exc:
                typer.echo(f"BROKEN: {exc}", err=True)
                raise typer.Exit(1)
            report = audit_checkpoint.verify(session, mark, key)
    for note in report.notes:
        typer.echo(f"note: {note}")
    if report.ok:
        against = f"; agrees with the checkpoint at event {mark.seq} of {mark.at}" if checkpoint is not None else ""
        typer.echo(f"audit chain intact: {report.events} events ({report.keyed} keyed){against}")
        return
    for problem in report.problems:
        typer.echo(f"BROKEN: {problem}", err=True)
    typer.echo(f"audit chain broken: {len(report.problems)} problem(s) in {report.events} events", err=True)
    raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint(
    out: Path = typer.Option(
        None, "--out", "-o", help="file to write (default: a new file in the checkpoint folder, see docs/audit.md)"
    ),
) -> None:
    """Verify the chain with the audit key and write a signed checkpoint of its head, to keep outside the
    database (an auditor's folder, an append-only bucket). Exit 1, writing nothing, if the chain is broken."""
    engine = database_engine()
    key = audit.current_key()
    assert key is not None, "database_engine sets the key"
    with Session(engine) as session:
        try:
            mark = audit_checkpoint.take(session, key, utcnow())
        except audit_checkpoint.CheckpointRefused as exc:
            for problem in exc.problems:
                typer.echo(f"BROKEN: {problem}", err=True)
            typer.echo("no checkpoint written: the chain does not verify", err=True)
            raise typer.Exit(1)
    if out is None:
        settings = get_settings()
        out = settings.audit.checkpoints(settings.var_dir) / audit_checkpoint.file_name(mark)
    audit_checkpoint.write(out, mark, key)
    typer.echo(f"checkpoint of event {mark.seq} ({mark.events} events, key id {mark.key_id}) written to {out}")


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
