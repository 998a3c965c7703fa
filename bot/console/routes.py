"""The console's routes, all under /console: every page checks the session and the role itself."""

from __future__ import annotations

from fastapi import APIRouter

from bot.console import dashboard, policy, records, requisitions

router = APIRouter()
for module in (dashboard, requisitions, policy, records):
    router.include_router(module.router)
