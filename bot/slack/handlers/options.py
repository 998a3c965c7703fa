"""Options for the request form's searchable selects (supplier, site) when there are more than 100.

Slack sends a ``block_suggestion`` with what the person typed to the options load URL
(``interactivity.message_menu_options_url`` in the manifest, our /slack/events) and shows the
options we answer with, at most 100. The directory in use, with the ERP's master data laid over
it, is searched in memory; nothing else is slow, so the answer goes at once (Slack waits 3 s).
"""

from __future__ import annotations

import re
from typing import Any

from bot.slack import views
from bot.slack.bot import SlackBot


def register(app: Any, bot: SlackBot) -> None:
    @app.options(re.compile("^" + re.escape(views.SEARCH_ACTION)))
    async def on_options(ack: Any, body: dict[str, Any]) -> None:
        block = str(body.get("action_id", "")).removeprefix(views.SEARCH_ACTION)
        await ack(options=views.search_options(bot.runtime.service.directory, block, str(body.get("value") or "")))
