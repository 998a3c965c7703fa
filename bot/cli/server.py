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
    typer.echo(f"procurebot on http://{bind_host}:{bind_port}  "
               f"(API docs at /docs; database {settings.database_url.split('@')[-1]})")
    uvicorn.run(app, host=bind_host, port=bind_port, log_level=settings.log_level)


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration (the server also does this at start)."""
    from approvals.db import upgrade as run_upgrade

    settings = get_settings()
    run_upgrade(settings.database_url)
    typer.echo("database is at the latest schema")


def worker(chat_workers: int = typer.Option(4, min=1, max=32, help="requisitions whose cards are updated side by side")
           ) -> None:
    """Run the background work without serving HTTP: the Slack / Teams card fan-out, and the scheduler and ERP
    dispatcher threads as the settings ask. Pair it with servers started with PROCUREBOT_CHAT_DELIVERY_WORKERS=0,
    so approval taps keep the servers to themselves; run as many workers as you like."""
    import asyncio
    import signal

    from bot.api.app import create_app

    settings = get_settings().model_copy(update={"chat_delivery_workers": chat_workers})
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with app.router.lifespan_context(app):
            chat = app.state.runtime.chat
            platforms = ", ".join(s.name for s in chat.surfaces) if chat is not None else ""
            typer.echo(f"procurebot worker: card fan-out on {platforms or 'no chat platform (none configured)'}, "
                       f"{chat_workers} at a time; stop with Ctrl-C or SIGTERM")
            await stop.wait()

    asyncio.run(run())
