"""`procurebot teams package`: the Teams app package to upload in Teams or the Teams admin center."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.settings import get_settings
from bot.teams.package import PackageError, build, project_version

app = typer.Typer(help="Microsoft Teams: the app package for upload.", no_args_is_help=True)


@app.command("package")
def package(
    website: str = typer.Option(
        ..., help="An https page about procurebot at your company; /privacy and /terms are linked under it in Teams."
    ),
    company: str = typer.Option("Procurement", help="Shown in Teams as the app's developer."),
    app_id: str = typer.Option(None, help="The bot's Microsoft App ID; default: TEAMS_APP_ID."),
    out: Path = typer.Option(None, help="The zip to write; default: var/procurebot-teams.zip."),
    version: str = typer.Option(
        None,
        "--version",
        help="The app version in the package, MAJOR.MINOR.PATCH; default: procurebot's own version. Teams takes "
        "an update only with a higher version than the package it has.",
    ),
) -> None:
    """Fill manifest/teams/manifest.json for this deployment, check it, and zip it with its icons."""
    settings = get_settings()
    app_id = app_id or settings.teams.app_id or ""
    if not app_id:
        typer.echo("Give --app-id or set TEAMS_APP_ID (the Microsoft App ID of the Azure Bot).", err=True)
        raise typer.Exit(2)
    target = out or settings.var_dir / "procurebot-teams.zip"
    try:
        path = build(target, app_id=app_id, website=website, company=company, version=version)
    except PackageError as exc:
        typer.echo(f"The Teams package was not written: {exc}.", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"Wrote {path} (app version {version or project_version()}). Upload it in Teams (Apps > Manage your apps > "
        "Upload an app) or in the Teams admin center; docs/teams.md has the steps."
    )
