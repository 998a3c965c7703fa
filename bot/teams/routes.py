"""POST /api/messages: the Bot Framework messaging endpoint, mounted on procurebot's own FastAPI app.

It only translates HTTP to the adapter and its refusals to JSON errors (401 without a valid
token, 400 for something that is not an activity); `install` wires Teams into a runtime.
"""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bot.http_errors import error_body
from bot.runtime import Runtime
from bot.settings.teams import TeamsSettings
from bot.teams import texts
from bot.teams.adapter import (
    BadActivity,
    KeysUnavailable,
    RefusedServiceUrl,
    RefusedTenant,
    TeamsAdapter,
    Unauthorized,
    UnknownInvoke,
)
from bot.teams.handlers import TeamsBot
from bot.teams.surface import TeamsSurface

log = logging.getLogger("procurebot.teams")
router = APIRouter(tags=["teams"], include_in_schema=False)


@router.post("/api/messages")
async def messages(request: Request) -> Response:
    adapter: TeamsAdapter = request.app.state.teams
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return JSONResponse(error_body("bad_activity", texts.NOT_JSON), status_code=400)
    try:
        status, payload = await adapter.process(body, request.headers.get("authorization", ""))
    except KeysUnavailable as exc:
        log.error("Teams request not checked: Bot Framework keys unreachable (%s)", exc)
        return JSONResponse(error_body("unavailable", texts.UNAVAILABLE), status_code=503)
    except Unauthorized as exc:
        log.warning("Teams request refused: invalid token (%s)", exc)
        return JSONResponse(error_body("unauthorized", texts.UNAUTHORIZED), status_code=401)
    except RefusedServiceUrl as exc:
        log.warning("Teams activity refused: serviceUrl %r is not allowed", str(exc))
        return JSONResponse(error_body("service_url_refused", texts.SERVICE_URL_REFUSED), status_code=403)
    except RefusedTenant as exc:
        log.warning("Teams activity refused: tenant %r is not this bot's", str(exc))
        return JSONResponse(error_body("tenant_refused", texts.TENANT_REFUSED), status_code=403)
    except UnknownInvoke as exc:
        return JSONResponse(error_body("unknown_invoke", texts.UNKNOWN_INVOKE.format(name=str(exc))), status_code=501)
    except BadActivity as exc:
        return JSONResponse(error_body("bad_activity", texts.BAD_ACTIVITY.format(problem=exc)), status_code=400)
    if payload is None:
        return Response(status_code=status)
    return JSONResponse(payload, status_code=status)


def start(app: FastAPI, runtime: Runtime, settings: TeamsSettings) -> TeamsAdapter:
    """Make the bot and its SDK adapter for this app's runtime and register the Teams surface."""
    if not runtime.settings.dev:
        settings.check_production()
    bot = TeamsBot(runtime, settings)
    adapter = TeamsAdapter(settings, bot)
    app.state.teams = adapter
    app.state.teams_bot = bot
    if not any(s.name == "teams" for s in runtime.chat.surfaces):
        runtime.chat.surfaces.append(TeamsSurface(adapter, bot))
    return adapter
