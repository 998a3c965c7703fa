"""Shortcuts: "New purchase request" (global) opens the form; "Create purchase request" on any message
opens it filled in with what the message says (read the same way as the conversation reads messages)."""

from __future__ import annotations

from typing import Any

from bot.intake.context import DEFAULT_TIMEZONE
from bot.slack import texts, views
from bot.slack.bot import SlackBot

GLOBAL = "pb_new_request"
FROM_MESSAGE = "pb_request_from_message"


def register(app: Any, bot: SlackBot) -> None:
    @app.shortcut(GLOBAL)
    async def on_global(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        meta = {"team": (body.get("team") or {}).get("id")}
        await client.views_open(
            trigger_id=body.get("trigger_id"),
            view=views.request_modal(bot.runtime.service.directory, views.RequestForm(), meta),
        )

    @app.shortcut(FROM_MESSAGE)
    async def on_message(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        message = body.get("message") or {}
        form = prefill(bot, message.get("text") or "", message.get("user") or "")
        # the message goes with the form: what it says that the form has no field for (a cost center, a loose
        # catalog match, instruction-like words) is read again when the form comes back, as the chat would
        meta = views.with_message({"team": (body.get("team") or {}).get("id")}, (message.get("text") or "")[:2000])
        await client.views_open(
            trigger_id=body.get("trigger_id"), view=views.request_modal(bot.runtime.service.directory, form, meta)
        )


def prefill(bot: SlackBot, text: str, author: str) -> views.RequestForm:
    """What the message says, as form values the person checks before anything is drafted."""
    found = bot.assistant.understanding.read(
        text[:2000], editing=False, now=bot.runtime.service.clock(), timezone=DEFAULT_TIMEZONE
    )
    line = next((ln for ln in found.lines if ln.description), None)
    who = f"<@{author}>" if author else "someone"
    said = text.strip()
    for words in found.quoted:  # instruction-like words stay out of the justification: shown quoted on the summary
        said = " ".join(said.replace(words, " ").split())
    return views.RequestForm(
        description=(line.description if line else text.strip())[:300],
        quantity=str(line.quantity) if line and line.quantity is not None else "",
        unit_price=str(line.unit_price) if line and line.unit_price is not None else "",
        supplier=found.supplier,
        site=found.site,
        need_by=found.need_by.isoformat() if found.need_by else None,
        justification=f"{texts.MESSAGE_SHORTCUT_PREFILL.format(author=who)} {said}"[:1000],
    )
