"""The FastAPI application: health, the v1 API, OpenAPI docs, size limits and JSON errors."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from approvals.attachments import megabytes
from bot import directory_sync, erp_dispatcher, scheduler
from bot.api import openapi, prometheus
from bot.api.errors import install_error_handlers
from bot.api.request_ids import RequestIdMiddleware
from bot.api.routes import attachments, audit, delegations, health, policy, requisitions
from bot.console.routes import router as console
from bot.downloads import router as downloads
from bot.http_errors import error_body
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings, get_settings
from bot.slack import mount as slack_mount
from bot.web import routes as web_chat

# the room a multipart upload needs around the file itself (boundaries, part headers, the actor field)
UPLOAD_OVERHEAD = 64 * 1024


class BodySizeLimit:
    """Refuse request bodies above the limit before they are read into memory (413, JSON). An upload of an
    attachment (POST to a path ending in /attachments) may carry up to `upload_bytes`, the attachment limit."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = (
            self.upload_bytes is not None
            and scope.get("method") == "POST"
            and str(scope.get("path", "")).rstrip("/").endswith("/attachments")
        )
        limit = self.upload_bytes + UPLOAD_OVERHEAD if upload and self.upload_bytes else self.max_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, upload)
            return
        seen = 0

        async def limited() -> dict:  # type: ignore[type-arg]
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send, upload)

    async def _refuse(self, send: Send, upload: bool = False) -> None:
        import json

        if upload and self.upload_bytes:
            message = (
                f"The file is over the {megabytes(self.upload_bytes)} limit for attachments. Send a smaller file "
                "(a PDF export, or a photo at a lower resolution)."
            )
        else:
            message = f"The request body is larger than {self.max_bytes} bytes; send less text or fewer lines."
        body = json.dumps(error_body("too_large", message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def create_app(
    settings: Settings | None = None, runtime: Runtime | None = None, *, socket_mode: bool = True
) -> FastAPI:
    """Build the app. Pass a ready `runtime` in tests; otherwise it is built at start-up. `socket_mode=False` (the
    worker, which runs background jobs only) never connects Slack's Socket Mode, even with SLACK_APP_TOKEN set."""
    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ticker, dispatch_stop, checkpoints, built, directory_stop = None, None, None, False, None
        if getattr(app.state, "runtime", None) is None:
            built = True
            app.state.runtime = build_runtime(settings)
            ticker = scheduler.start(app.state.runtime.scheduler, settings)  # only the real server ticks, not a test's
            dispatch_stop = erp_dispatcher.start_in_server(app.state.runtime)
            directory_stop = directory_sync.start_in_server(app.state.runtime)  # when GRAPH_* are set
            checkpoints = scheduler.start_checkpoints(app.state.runtime.engine, settings)
        teams = None
        if teams_config is not None:  # Microsoft Teams: the bot and its surface need the runtime
            from bot.teams.routes import start as start_teams

            teams = start_teams(app, app.state.runtime, teams_config)
        # registers the Slack surface before the fan-out starts
        slack_stop = await slack_mount.start(app, socket_mode=socket_mode)
        chat = app.state.runtime.chat
        # the card fan-out runs in the real server, or in a test that asks for it (autostart=True)
        wanted = (
            chat is not None
            and chat.surfaces
            and chat.workers > 0
            and (chat.autostart or (chat.autostart is None and built))
        )
        chat_stop = chat.start() if wanted else None
        yield
        if slack_stop is not None:
            await slack_stop()
        if chat_stop is not None:
            chat_stop()
        if teams is not None:
            teams.close()
        if ticker is not None:
            ticker.shutdown()
        if checkpoints is not None:
            checkpoints.shutdown()
        if dispatch_stop is not None:
            dispatch_stop.set()
        if directory_stop is not None:
            directory_stop.set()
        app.state.runtime.engine.dispose()

    app = FastAPI(
        title="procurebot",
        version="0.1.0",
        lifespan=lifespan,
        description="Purchase requisitions, routed by a governed, versioned policy. Every error answers "
        '`{"error": {"code", "message", "fields"}}`; each operation lists the errors it can give and the token '
        "roles it admits.",
        generate_unique_id_function=openapi.operation_id,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    for module in (health, requisitions, attachments, delegations, policy, audit):
        app.include_router(module.router)
    app.include_router(web_chat.router)  # the local web chat at /chat (dev mode)
    slack_mount.install(app, settings.slack)  # /slack/events etc., only when SLACK_BOT_TOKEN or SLACK_CLIENT_ID is set
    teams_config = settings.teams if settings.teams.configured else None
    if teams_config is not None:  # Microsoft Teams at /api/messages, only when TEAMS_APP_ID is set
        from bot.teams.routes import router as teams_router

        app.include_router(teams_router)
    app.include_router(console)  # the admin console at /console (admins and auditors)
    app.include_router(downloads)  # /files/<link>: a file through a card's short-lived, person-bound link
    prometheus.install(app)  # GET /metrics and request latency
    openapi.install(app)  # /openapi.json with the real error body, every error status and the roles
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, upload_bytes=settings.attachment_max_bytes)
    app.add_middleware(RequestIdMiddleware)  # added last: the outermost, so every line of a request has its id
    return app
