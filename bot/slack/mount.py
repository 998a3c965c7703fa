"""Slack on the FastAPI app: /slack/events (events, commands, interactivity), /slack/install and
/slack/oauth_redirect (OAuth), Socket Mode when SLACK_APP_TOKEN is set. Mounted only when Slack is configured."""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from slack_sdk.signature import SignatureVerifier

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
    refused = await _refuse_junk(request)
    return refused if refused is not None else await _handle(request)


def _refusal(status: int, error: str, message: str) -> Response:
    return JSONResponse({"error": error, "message": message}, status)


async def _refuse_junk(request: Request) -> Response | None:
    """Check the signature and the body's shape before bolt sees the request: bolt parses the body first and turns a
    malformed one (or a timestamp that is not a number) into a 500 with a traceback in the log. Unsigned or
    wrongly signed: 401; signed but unreadable: 400. One warning line either way."""
    settings: SlackSettings | None = getattr(request.app.state, "slack_settings", None)
    settings = settings or getattr(request.app.state, "slack_setup", None)
    secret = settings.signing_secret.get_secret_value() if settings and settings.signing_secret else ""
    body = await request.body()  # starlette keeps it: bolt reads the same bytes
    if secret:
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            log.warning("Slack request refused: X-Slack-Request-Timestamp is missing or not a number")
            return _refusal(401, "invalid_request", "X-Slack-Request-Timestamp must be a Unix time in seconds.")
        if not SignatureVerifier(secret).is_valid(body, timestamp, signature):
            log.warning("Slack request refused: missing, wrong or expired X-Slack-Signature")
            return _refusal(401, "invalid_signature", "The request is not signed with this app's signing secret.")
    if not _readable(body, request.headers.get("content-type", "")):
        log.warning("Slack request refused: the body is not a form or JSON that Slack sends")
        return _refusal(400, "bad_request", "The body must be a form (optionally with a JSON payload=) or JSON.")
    return None


def _readable(body: bytes, content_type: str) -> bool:
    """Whether bolt can parse `body` as Slack sends it: JSON (an object), or a form whose payload=, if any, is a
    JSON object."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json") or text.startswith("{"):
            return isinstance(json.loads(text), dict)
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
        payload = form.get("payload")
        return payload is None or (len(payload) == 1 and isinstance(json.loads(payload[0]), dict))
    except ValueError:  # UnicodeDecodeError and json.JSONDecodeError are ValueErrors too
        return False


@router.get("/install")
async def install_page(request: Request) -> Response:
    return await _handle(request)


@router.get("/oauth_redirect")
async def oauth_redirect(request: Request) -> Response:
    return await _handle(request)


# Before the app is installed: Slack checks the events URL (url_verification, signed with the signing secret, which
# exists once the app is created) before there is a bot token. With only SLACK_SIGNING_SECRET set, /slack/events
# answers that check and nothing else, so the installation guide (docs/slack.md) works in the order written.
setup_router = APIRouter(prefix="/slack", tags=["slack"], include_in_schema=False)


@setup_router.post("/events")
async def events_before_install(request: Request) -> Response:
    refused = await _refuse_junk(request)
    if refused is not None:
        return refused
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("type") == "url_verification":
        log.info("Slack checked the events URL; install the app and set SLACK_BOT_TOKEN (or OAuth) to go on")
        return JSONResponse({"challenge": str(body.get("challenge", ""))})
    log.warning("a Slack request came before procurebot has a bot token: set SLACK_BOT_TOKEN and restart")
    return JSONResponse({"error": "slack_not_installed", "message": "Set SLACK_BOT_TOKEN (or OAuth) and restart."})


def install(app: FastAPI, settings: SlackSettings) -> bool:
    """Add the Slack routes when Slack is configured (the `slack` section of the settings). With only the signing
    secret (the app created, not yet installed), /slack/events answers Slack's URL check alone."""
    if not settings.enabled:
        if settings.signing_secret is not None:
            app.state.slack_setup = settings
            app.include_router(setup_router)
            log.info(
                "Slack is being set up: /slack/events answers Slack's URL check; install the app, set "
                "SLACK_BOT_TOKEN (or SLACK_CLIENT_ID for OAuth) and restart procurebot"
            )
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
