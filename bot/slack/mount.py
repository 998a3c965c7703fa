"""Slack on the FastAPI app: /slack/events (events, commands, interactivity), /slack/install and
/slack/oauth_redirect (OAuth), Socket Mode when SLACK_APP_TOKEN is set. Mounted only when Slack is configured."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bot.settings.slack import SlackSettings

log = logging.getLogger("procurebot.slack")
router = APIRouter(prefix="/slack", tags=["slack"], include_in_schema=False)


async def _handle(request: Request) -> Response:
    handler = getattr(request.app.state, "slack_handler", None)
    if handler is None:
        return JSONResponse({"error": "slack_not_ready", "message": "Slack is starting; Slack will retry."}, 503)
    return await handler.handle(request)


@router.post("/events")
async def events(request: Request) -> Response:
    return await _handle(request)


@router.get("/install")
async def install_page(request: Request) -> Response:
    return await _handle(request)


@router.get("/oauth_redirect")
async def oauth_redirect(request: Request) -> Response:
    return await _handle(request)


def install(app: FastAPI, settings: SlackSettings) -> bool:
    """Add the Slack routes when Slack is configured (the `slack` section of the settings)."""
    if not settings.enabled:
        return False
    app.state.slack_settings = settings
    if settings.signing_secret is not None:
        # without the signing secret nothing could tell Slack's requests from forged ones: Socket Mode only
        app.include_router(router)
    return True


async def start(app: FastAPI, *, socket_mode: bool = True) -> Callable[[], Awaitable[None]] | None:
    """At start-up: build the Slack app on the runtime, and connect Socket Mode if SLACK_APP_TOKEN asks for it and
    `socket_mode` allows it (a worker posts cards but takes no events). Returns the stopper."""
    settings: SlackSettings | None = getattr(app.state, "slack_settings", None)
    if settings is None:
        return None
    from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

    from bot.slack.app import build_slack

    bot = build_slack(app.state.runtime, settings)
    app.state.slack = bot
    if settings.signing_secret is None:
        log.info("Slack is on through Socket Mode only: without SLACK_SIGNING_SECRET /slack/events is not served")
    else:
        log.info(
            "Slack is on at /slack/events (%s)",
            "many workspaces: installs at /slack/install" if settings.oauth else "one workspace",
        )
    app.state.slack_handler = AsyncSlackRequestHandler(bot.app)
    socket: Any = None
    if settings.app_token is not None and socket_mode:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        socket = AsyncSocketModeHandler(bot.app, settings.app_token.get_secret_value())
        await socket.connect_async()
        log.info("Slack Socket Mode connected")

    async def stop() -> None:
        if socket is not None:
            await socket.close_async()
        bot.background.shutdown()

    return stop
