"""Direct messages to the bot: the conversation, and answers typed in a requisition's thread."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, select

from approvals.credentials import acting
from bot.chat.models import CardCopy
from bot.intake import routing
from bot.intake.assistant import Reply
from bot.slack.bot import SlackBot, Where, slack_credential
from bot.slack.files import attach_shared, shared_files
from bot.slack.surface import SURFACE

# what a message in a requisition's thread is when it is not a command: words about that requisition
TALK = ("dialogue", "question")
log = logging.getLogger("procurebot.slack")


def register(app: Any, bot: SlackBot) -> None:
    @app.event("message")
    async def on_message(body: dict[str, Any], request: Any) -> None:
        event = body.get("event") or {}
        # only people writing to us directly; edits, joins and bots' own messages are not requests (a file shared
        # with us is: bot/slack/files.py)
        subtype = event.get("subtype")
        if event.get("channel_type") != "im" or subtype not in (None, "file_share") or event.get("bot_id"):
            return
        retry = (request.headers.get("x-slack-retry-num") or [None])[0] if request is not None else None
        bot.background.submit(handle_dm, bot, body, retry)


def handle_dm(bot: SlackBot, body: dict[str, Any], retry: str | None = None) -> None:
    event = body.get("event") or {}
    key = f"event:{body.get('event_id') or event.get('client_msg_id') or event.get('ts')}"
    if not bot.first_time(key):
        log.info("Slack delivered event %s again (retry %s); it was handled already", key, retry or "-")
        return
    team, user, channel = body.get("team_id") or event.get("team"), event.get("user", ""), event.get("channel", "")
    if not user:
        return  # nobody wrote it (a system message): nothing to answer, nobody to look up
    text = bot.plain(team, event.get("text") or "")
    said = bot.plain(team, event.get("text") or "", at=True)  # a comment keeps its mentions
    thread = event.get("thread_ts") if event.get("thread_ts") not in (None, event.get("ts")) else None
    where = Where(team=team, user=user, channel=channel, thread=thread)
    person = bot.person(team, user)
    if person is None:
        bot.say(where, bot.unknown(team, user))
        return
    bot.remember_dm(person, team, user, channel)
    with acting(slack_credential(team, user, person.id)):
        _dm(bot, where, person, text, said, thread, event)


def _dm(
    bot: SlackBot, where: Where, person: Any, text: str, said: str, thread: str | None, event: dict[str, Any]
) -> None:
    """`text`: the message with mentions as names; `said`: with mentions as "@Name", for a comment."""
    number = _thread_requisition(bot, person.id, thread) if thread else None
    files = shared_files(event)
    if files:
        # files shared in a requisition's thread are attached to it; the words with them, if any, go on as usual
        bot.send(where, attach_shared(bot, where.team, person.id, number, files), person)
        if not text.strip():
            return
    if number is not None:
        ts = event.get("ts", "")
        replies = _answer_in_thread(bot, person.id, number, text, ts)
        if replies is None and routing.route(routing.normalise(text)).handler in TALK:
            # anything said in a requisition's thread that is not a command is said about it: a comment,
            # which the people involved hear (the message's ts keys it, so a retried event keeps one)
            replies = bot.assistant.handle_action(person.id, "comment", {"number": number, "key": f"slack:{ts}"}, said)
            replies = [Reply(r.text) for r in replies if r.text][:1]
        if replies is not None:
            bot.send(where, replies, person)
            return
    if routing.route(routing.normalise(text)).handler == "comment":
        text = said
    bot.send(where, bot.assistant.handle_message(person.id, text), person)


def _thread_requisition(bot: SlackBot, person_id: str, thread: str) -> str | None:
    """The requisition whose card (as its requester or an approver) roots this thread in this person's DM."""
    with Session(bot.engine) as session:
        copy = session.exec(
            select(CardCopy).where(
                CardCopy.surface == SURFACE,
                CardCopy.ref == thread,
                CardCopy.person_id == person_id,
            )
        ).first()
        return copy.number if copy else None


def _answer_in_thread(bot: SlackBot, person_id: str, number: str, text: str, ts: str) -> list[Reply] | None:
    """A reply in the thread while a question is open is the answer; otherwise it is an ordinary message."""
    view = bot.runtime.service.view(number)
    if view.state != "needs_info" or view.requester != person_id:
        return None
    # the message's own ts makes the answer idempotent: a retried event never answers twice
    replies = bot.assistant.handle_action(
        person_id, "answer_info", {"number": number, "key": f"slack:answer:{ts}"}, text
    )
    return [Reply(r.text) for r in replies if r.text] or replies
