"""The console's routes, all under /console: every page checks the session and the role itself."""

from __future__ import annotations

from fastapi import APIRouter

from bot.console import actions, dashboard, policy, records, requisitions, risk, sso

router = APIRouter()
for module in (dashboard, sso, requisitions, policy, records, actions, risk):
    router.include_router(module.router)
