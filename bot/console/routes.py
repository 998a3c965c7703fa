"""The console's routes, all under /console: every page checks the session and the role itself."""

from __future__ import annotations

from fastapi import APIRouter

from bot.console import actions, dashboard, policy, records, requisitions, sso

router = APIRouter()
for module in (dashboard, sso, requisitions, policy, records, actions):
    router.include_router(module.router)
