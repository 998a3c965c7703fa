"""Options for the searchable selects when there are more than 100 choices: the request form's supplier
and site, and the Home tab's "who approves for you".

Slack sends a ``block_suggestion`` with what the person typed to the options load URL
(``interactivity.message_menu_options_url`` in the manifest, our /slack/events) and shows the
options we answer with, at most 100. The directory in use, with the ERP's master data laid over
it, is searched in memory; nothing else is slow, so the answer goes at once (Slack waits 3 s).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from bot.slack import views
from bot.slack.bot import SlackBot

SEARCHED = ("supplier", "site")  # the request form's blocks; people are searched only for the Home tab below


def register(app: Any, bot: SlackBot) -> None:
    @app.options(re.compile("^" + re.escape(views.SEARCH_ACTION)))
    async def on_options(ack: Any, body: dict[str, Any]) -> None:
        block = str(body.get("action_id", "")).removeprefix(views.SEARCH_ACTION)
        if block not in SEARCHED:
            await ack(options=[])
            return
        await ack(options=views.search_options(bot.runtime.service.directory, block, str(body.get("value") or "")))

    @app.options(views.HOME_DELEGATE_WHO)
    async def on_delegate_options(ack: Any, body: dict[str, Any]) -> None:
        await ack(options=await asyncio.to_thread(delegate_options, bot, body))


def delegate_options(bot: SlackBot, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Who could approve for the person typing on their Home tab: the same people home_data lists, less
    themself; someone not in the directory cannot delegate, so they are shown nobody."""
    team = (body.get("team") or {}).get("id")
    viewer = bot.person(team, (body.get("user") or {}).get("id", ""))  # cached; users.info only the first time
    if viewer is None:
        return []
    return views.search_options(bot.runtime.directory, "person", str(body.get("value") or ""), viewer=viewer.id)
