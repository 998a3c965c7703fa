"""/purchase <words>: the same conversation as a DM (status, pending, delegate, help all work)."""

from __future__ import annotations

from typing import Any

from approvals.credentials import acting
from bot.slack import texts
from bot.slack.bot import SlackBot, Where, slack_credential


def register(app: Any, bot: SlackBot) -> None:
    @app.command("/purchase")
    async def on_purchase(ack: Any, body: dict[str, Any]) -> None:
        await ack()  # nothing shown yet; the answer follows within a second or two
        bot.background.submit(handle_command, bot, body)


def handle_command(bot: SlackBot, body: dict[str, Any]) -> None:
    team, user = body.get("team_id"), body.get("user_id", "")
    channel = body.get("channel_id") or None
    text = bot.plain(team, body.get("text") or "").strip()
    in_dm = bool(channel and channel.startswith("D"))
    # in a channel only the person sees the answer; in our DM it is an ordinary message
    where = Where(team=team, user=user, channel=channel, ephemeral=not in_dm)
    person = bot.person(team, user)
    if person is None:
        bot.say(where, bot.unknown(team, user))
        return
    if in_dm and channel:
        bot.remember_dm(person, team, user, channel)
    if not text or text.lower() in ("help", "?"):
        bot.say(where, texts.COMMAND_HELP, person)
        return
    with acting(slack_credential(team, user, person.id)):
        replies = bot.assistant.handle_message(person.id, text)
    bot.send(where, replies, person)
