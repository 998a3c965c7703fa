"""The console's routes, all under /console: every page checks the session and the role itself."""

from __future__ import annotations

from fastapi import APIRouter

from bot.console import (
    actions,
    attachments,
    chat_users,
    dashboard,
    people,
    policy,
    records,
    requisitions,
    risk,
    sso,
    suppliers,
    team,
)

router = APIRouter()
for module in (
    dashboard,
    sso,
    requisitions,
    attachments,
    policy,
    records,
    actions,
    risk,
    chat_users,
    team,
    people,
    suppliers,
):
    router.include_router(module.router)
