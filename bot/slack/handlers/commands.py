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
    """The command's answer: in the person's DM with the bot an ordinary message; anywhere else (a channel, a DM
    with a colleague) an ephemeral one through the command's response_url, in place, to them alone."""
    team, user = body.get("team_id"), body.get("user_id", "")
    channel = body.get("channel_id") or None
    response_url = body.get("response_url") or None
    text = bot.plain(team, body.get("text") or "").strip()
    person = bot.person(team, user)
    ours = bot.is_bot_dm(person, team, user, channel)
    where = Where(team=team, user=user, channel=channel, ephemeral=not ours, response_url=response_url)
    if person is None:
        bot.say(where.only_to_them(), bot.unknown(team, user))
        return
    if not text or text.lower() in ("help", "?"):
        bot.say(where, texts.COMMAND_HELP, person)
        return
    with acting(slack_credential(team, user, person.id)):
        replies = bot.assistant.handle_message(person.id, text)
    bot.send(where, replies, person)
