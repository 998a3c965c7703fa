"""`procurebot directory`: check a directory against the requisitions in flight, activate a version, list them."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlmodel import Session

from approvals.directory import Directory, load_directory
from approvals.directory_changes import DirectoryRefused, activate, changes
from approvals.directory_store import active_directory, versions
from approvals.errors import DirectoryInvalid
from approvals.workflow import ApprovalService
from bot.cli.database import database_engine
from bot.settings import get_settings

app = typer.Typer(
    help="The company directory: check a version against the requisitions in flight, activate it, sync it.",
    no_args_is_help=True,
)


def _read(path: Path) -> Directory:
    try:
        return load_directory(path)
    except DirectoryInvalid as exc:
        for problem in exc.problems:
            typer.echo(f"  error: {problem}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"  error: cannot read {path}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None


@app.command("check")
def check(
    directory: Path = typer.Option(None, "--directory", help="the directory file (default: the configured one)"),
) -> None:
    """Say what activating a directory file would change: who joined, left or moved, which open steps wait on
    people who have left and where each would move, who has lost their manager. Exits 1 when a step would be left
    with nobody or the reporting lines loop."""
    settings = get_settings()
    path = directory or settings.directory_file
    typer.echo(f"directory: {path}")
    company = _read(path)
    engine = database_engine()
    try:
        with Session(engine) as session:
            found = active_directory(session)
        report = changes(ApprovalService(engine, company), company, found[1] if found else None)
    finally:
        engine.dispose()
    for line in report.lines():
        typer.echo(f"  {line}", err=line.startswith("error:"))
    if report.stranded or report.loops:
        raise typer.Exit(1)


@app.command("activate")
def activate_command(
    file: Path = typer.Argument(..., help="the directory YAML to make the active version"),
    force: bool = typer.Option(False, "--force", help="activate even if an open step would be left with nobody"),
) -> None:
    """Check FILE against the requisitions in flight, print what changes, and make it the active directory of
    every process (each picks it up within PROCUREBOT_DIRECTORY_REFRESH_SECONDS). The steps of people who have left
    move at once. Refused (exit 1, nothing changed) when the reporting lines loop, or when an open step would be
    left with nobody, unless --force."""
    from bot.runtime import build_runtime

    settings = get_settings()
    _read(file)  # a bad file is said before anything starts
    runtime = build_runtime(settings)
    try:
        result = activate(
            runtime.service,
            file.read_text(encoding="utf-8"),
            origin="file",
            filename=str(file),
            note=f"procurebot directory activate {file.name}" + (" --force" if force else ""),
            actor="cli",
            force=force,
        )
    except DirectoryRefused as exc:
        for line in exc.report.lines():
            typer.echo(f"  {line}", err=line.startswith("error:"))
        for reason in exc.reasons:
            typer.echo(f"refused: {reason}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.engine.dispose()
    typer.echo(f"directory: {file}")
    for line in result.report.lines():
        typer.echo(f"  {line}")
    if not result.changed:
        typer.echo(f"directory v{result.version_id} was already the active version; nothing changed")
        return
    typer.echo(f"activated: directory v{result.version_id}")
    for line in result.moved:
        typer.echo(f"  moved: {line}")


@app.command("versions")
def versions_command(limit: int = typer.Option(10, min=1, max=200, help="how many to list, newest first")) -> None:
    """The stored directory versions, newest first; the active one is marked."""
    engine = database_engine()
    try:
        with Session(engine) as session:
            rows = versions(session, limit)
            for row in rows:
                mark = "*" if row.active else " "
                typer.echo(
                    f"{mark} v{row.id}  {row.loaded_at:%Y-%m-%d %H:%M} UTC  {row.origin:<5} {row.people:>5} people  "
                    f"sha256:{row.content_hash[:12]}  {row.note}"
                )
    finally:
        engine.dispose()
    if not rows:
        typer.echo("no directory version is stored yet: start the server or run `procurebot directory activate FILE`")


@app.command("sync")
def sync_command(
    source: str = typer.Option("graph", "--from", help="where the people come from: graph (Microsoft Entra ID)"),
    full: bool = typer.Option(False, "--full", help="read every user again, not only what changed"),
    force: bool = typer.Option(False, "--force", help="activate even if an open step would be left with nobody"),
) -> None:
    """Read people, managers, offices, groups and account states from Microsoft Entra ID through Microsoft Graph,
    map them (GRAPH_MAPPING_FILE), check the result against the requisitions in flight and activate it as a new
    directory version. The first sync reads every user; later ones only what changed (Graph's delta query).
    Refused (exit 1, nothing changed) like `directory activate`."""
    from bot.runtime import build_runtime
    from connectors.directory.graph import GraphClient, GraphError
    from connectors.directory.mapping import load_mapping
    from connectors.directory.sync import SyncRefused, sync_from_graph

    if source != "graph":
        typer.echo(f"unknown source {source!r}: the directory syncs from graph (Microsoft Entra ID)", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    missing = settings.graph.missing()
    if missing:
        typer.echo(f"the Graph sync needs {', '.join(missing)} (see docs/directory.md)", err=True)
        raise typer.Exit(2)
    assert settings.graph.mapping_file is not None
    try:
        mapping = load_mapping(settings.graph.mapping_file)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    runtime = build_runtime(settings)
    client = GraphClient(settings.graph)
    try:
        report = sync_from_graph(runtime.service, client, mapping, full=full, force=force, actor="cli", surface="cli")
    except DirectoryRefused as exc:
        for line in exc.report.lines():
            typer.echo(f"  {line}", err=line.startswith("error:"))
        for reason in exc.reasons:
            typer.echo(f"refused: {reason}", err=True)
        raise typer.Exit(1) from None
    except SyncRefused as exc:
        for note in exc.notes:
            typer.echo(f"  note: {note}", err=True)
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from None
    except GraphError as exc:
        typer.echo(f"sync failed, nothing changed: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        client.close()
        runtime.engine.dispose()
    for line in report.lines():
        typer.echo(line)
