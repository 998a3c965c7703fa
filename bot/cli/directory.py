"""`procurebot directory check`: what the company directory file means for the requisitions in flight."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlmodel import Session, select

from approvals.directory import load_directory
from approvals.errors import DirectoryInvalid
from approvals.models import ApprovalStep, Requisition
from approvals.workflow import ApprovalService
from bot.cli.database import database_engine
from bot.settings import get_settings

app = typer.Typer(help="The company directory: check it against the requisitions in flight.", no_args_is_help=True)


@app.command("check")
def check(
    directory: Path = typer.Option(None, "--directory", help="the directory file (default: the configured one)"),
) -> None:
    """Say which open steps wait on people who have left (gone from the file, or `active: false`), where each
    would move at the next start, and who has lost their manager. Exits 1 when a step would be left with nobody."""
    settings = get_settings()
    path = directory or settings.directory_file
    typer.echo(f"directory: {path}")
    try:
        company = load_directory(path)
    except DirectoryInvalid as exc:
        for problem in exc.problems:
            typer.echo(f"  error: {problem}", err=True)
        raise typer.Exit(2) from None
    for loop in company.manager_cycles():
        typer.echo(f"  error: reporting lines loop: {' -> '.join(loop)}", err=True)
    for person in company.people:
        boss = company.person(person.manager) if person.manager else None
        if person.active and boss is not None and not boss.active:
            typer.echo(f"  {person.name} reports to {boss.name}, who has left: give them a new manager")
    service = ApprovalService(database_engine(), company)
    stranded = service.stranded_steps()
    nobody = 0
    with Session(service.engine) as session:
        for number, step_id, leaver in stranded:
            req = session.exec(select(Requisition).where(Requisition.number == number)).one()
            step = session.get(ApprovalStep, step_id)
            assert step is not None
            target, why = service.leaver_target(session, req, step, leaver)
            nobody += target is None
            typer.echo(f"  {number} step '{step.stage_name}': {why}" + ("" if target else "  <- NOBODY"))
    if not stranded:
        typer.echo("  no open step waits on anyone who has left")
    if nobody or company.manager_cycles():
        raise typer.Exit(1)
