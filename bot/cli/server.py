"""`procurebot serve` and `procurebot db upgrade`."""

from __future__ import annotations

import logging

import typer

from bot.settings import get_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def serve(host: str = typer.Option(None, help="Interface to bind (default from settings: 127.0.0.1)"),
          port: int = typer.Option(None, help="Port (default from settings: 8000)")) -> None:
    """Run the server: migrates the database, loads the directory and policy, serves the API."""
    import uvicorn

    from bot.api.app import create_app

    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    bind_host, bind_port = host or settings.host, port or settings.port
    typer.echo(f"procurebot on http://{bind_host}:{bind_port}  (API docs at /docs; database {settings.database_url.split('@')[-1]})")
    uvicorn.run(app, host=bind_host, port=bind_port, log_level=settings.log_level)


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration (the server also does this at start)."""
    from approvals.db import upgrade as run_upgrade

    settings = get_settings()
    run_upgrade(settings.database_url)
    typer.echo("database is at the latest schema")
