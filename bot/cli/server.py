"""`procurebot serve`, `procurebot worker` and `procurebot db upgrade`."""

from __future__ import annotations

import signal
from typing import Any

import typer

from bot.cli import texts
from bot.cli.startup import StartupGuard, listen, masked_url, read_settings
from bot.settings import get_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
# The most a request's line and headers may take before the server answers 431/400 and closes. httptools (uvicorn's
# faster parser) has no limit at all, so the server runs h11, whose buffer is capped here: an 8 MB header is refused
# after 32 KiB instead of being read whole. A Teams bearer token is about 2 KiB.
MAX_HEADER_BYTES = 32 * 1024


def _logging(settings: Any) -> None:
    from bot.logs import configure

    configure(settings.log_level, settings.log_kind)


def serve(
    host: str = typer.Option(None, help="Interface to bind (default from settings: 127.0.0.1)"),
    port: int = typer.Option(None, help="Port (default from settings: 8000)"),
    debug: bool = typer.Option(False, "--debug", help=texts.HELP_DEBUG),
) -> None:
    """Run the server: migrates the database, loads the directory and policy, serves the API.

    The port is taken first, then the start-up work runs (the app's lifespan, here rather than inside uvicorn, so a
    failure is told in one line), then uvicorn serves on the port."""
    from bot.api.app import create_app

    with StartupGuard(debug) as guard:
        settings = guard.settings = read_settings()
        _logging(settings)
        bind_host, bind_port = host or settings.host, port or settings.port
        sock = listen(bind_host, bind_port)
        app = create_app(settings)
        banner = texts.SERVING.format(host=bind_host, port=bind_port, database=masked_url(settings.database_url))
        _run(app, sock, settings, guard, banner)


def _closing_streams(app: Any) -> None:
    """Tell every open web-chat event stream to reconnect and end, before uvicorn waits for connections to close."""
    chat = getattr(app.state, "web_chat", None)
    if chat is not None:
        chat.hub.closing()


def _run(app: Any, sock: Any, settings: Any, guard: StartupGuard, banner: str) -> None:
    """Start the app (its lifespan), then serve it with uvicorn on `sock` until SIGINT/SIGTERM, then stop the app.

    On SIGTERM uvicorn stops accepting; open web-chat event streams are told to reconnect and end (the browser
    connects again, to another replica behind the proxy); requests in flight get at most `shutdown_timeout_seconds`
    to finish, then whatever still runs is cut; then the app stops its background threads. Forwarded headers are
    believed from `forwarded_allow_ips` only."""
    import asyncio

    import uvicorn

    config = uvicorn.Config(
        app,
        lifespan="off",  # the lifespan is run here, around uvicorn
        log_level=settings.log_level,
        log_config=None,  # uvicorn's lines go through the process's own handler (bot/logs.py)
        http="h11",
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )

    class Server(uvicorn.Server):
        """uvicorn's server, which on shutdown first ends the app's event streams with a "reconnect"."""

        async def shutdown(self, sockets: Any = None) -> None:
            _closing_streams(app)
            await super().shutdown(sockets)

    server = Server(config)

    def on_signal(signum: int, _frame: Any) -> None:
        if server.should_exit:  # uvicorn repeats the signal it stopped on once it has stopped: the app's stop follows
            return
        raise SystemExit(128 + signum)  # still starting: stop right here

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    async def main() -> None:
        async with app.router.lifespan_context(app):
            guard.started = True
            typer.echo(banner)
            await server.serve(sockets=[sock])
            signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C interrupts the app's stop
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(main())


@db_app.command("upgrade")
def upgrade(debug: bool = typer.Option(False, "--debug", help=texts.HELP_DEBUG)) -> None:
    """Apply every pending migration (the server also does this at start)."""
    from approvals.db import upgrade as run_upgrade

    with StartupGuard(debug) as guard:
        settings = guard.settings = get_settings()
        run_upgrade(settings.connect_url)
    typer.echo("database is at the latest schema")


def worker(
    chat_workers: int = typer.Option(4, min=1, max=32, help="requisitions whose cards are updated side by side"),
    debug: bool = typer.Option(False, "--debug", help=texts.HELP_DEBUG),
) -> None:
    """Run the background work without serving HTTP: the Slack / Teams card fan-out, and the scheduler and ERP
    dispatcher threads as the settings ask. Pair it with servers started with PROCUREBOT_CHAT_DELIVERY_WORKERS=0,
    so approval taps keep the servers to themselves; run as many workers as you like."""
    import asyncio

    from bot.api.app import create_app

    with StartupGuard(debug) as guard:
        settings = guard.settings = read_settings().model_copy(update={"chat_delivery_workers": chat_workers})
        _logging(settings)
        app = create_app(settings, socket_mode=False)  # events are the servers' to take, never a worker's

        async def run() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            async with app.router.lifespan_context(app):
                guard.started = True
                chat = app.state.runtime.chat
                platforms = ", ".join(s.name for s in chat.surfaces) if chat is not None else ""
                typer.echo(
                    f"procurebot worker: card fan-out on {platforms or 'no chat platform (none configured)'}, "
                    f"{chat_workers} at a time; stop with Ctrl-C or SIGTERM"
                )
                await stop.wait()

        asyncio.run(run())
