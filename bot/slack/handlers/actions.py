"""Buttons on cards (Approve, Reject, Ask for info, Answer, Submit, ...): ids in, the assistant decides.

A tap's payload is trusted for ids only (the requisition number, the card's idempotency key, the
draft id); the assistant and the approval service re-check the person against the requisition as
it is now, so an unassigned user or a stale card is refused with who acted and when.

The decision is made before Slack gets its HTTP answer when it takes less than `DECIDE_BUDGET`
seconds (a tap is then never acknowledged and lost); anything slower is acknowledged anyway and
answered when it finishes. Web API calls (the ephemeral answer, redrawing the card) always come after.
"""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from approvals.commands import DECISIONS
from approvals.credentials import acting
from approvals.directory import Person
from approvals.errors import ProcurebotError
from bot.intake import decisions
from bot.intake.decisions import Decided
from bot.intake.reply import Reply, UnknownPerson
from bot.slack import blocks, files, texts, views
from bot.slack.bot import SlackBot, Where, slack_credential

log = logging.getLogger("procurebot.slack")
DECIDE_BUDGET = 2.0  # seconds; Slack shows an error after 3
NEEDS_WORDS = {
    "reject": "Reason (required)",
    "request_info": "Your question",
    "answer_info": "Your answer",
    "comment": "Your comment (@name tells that person)",
    "supplier.reject": "Why it is not added (required)",
    "supplier.ask": "Your question to the requester",
    "supplier.answer": "Your answer",
}
DRAFT_ACTIONS = {"submit", "cancel", "choose"}


def where_from(body: dict[str, Any]) -> Where:
    """Where a tapped element lives: a message (DM, channel, ephemeral) or a view (Home tab, modal)."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
    user = (body.get("user") or {}).get("id", "")
    if container.get("type") == "view":
        return Where(team=team, user=user)
    return Where(
        team=team,
        user=user,
        channel=(body.get("channel") or {}).get("id") or container.get("channel_id"),
        thread=message.get("thread_ts") if message.get("thread_ts") != message.get("ts") else None,
        ephemeral=bool(container.get("is_ephemeral")),
        message_ts=container.get("message_ts"),
        message_blocks=list(message.get("blocks") or []),
        response_url=body.get("response_url") or None,
    )


def register(app: Any, bot: SlackBot) -> None:
    @app.action(re.compile(r"^pb:"))
    async def on_card_action(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        # a button's value, or the option picked from a menu (the files' Download menu)
        raw = action.get("value") or (action.get("selected_option") or {}).get("value")
        parsed = blocks.parse_action(action.get("action_id", ""), raw)
        if parsed is None:
            return
        name, value = parsed
        where = where_from(body)
        from_home = (body.get("view") or {}).get("type") == "home"
        if name == blocks.FULL:
            await _show_full(bot, client, body, where, value.get("number", ""))
            return
        if name == blocks.FILE:  # a download link for this person alone; the card stays as it is
            bot.background.submit(files.send_link, bot, where, value)
            return
        if name == "supplier.request":
            await _open_supplier_form(bot, client, body, where, value)
            return
        if name in NEEDS_WORDS or name == "edit":
            await _open_form(bot, client, body, where, name, value)
            return
        key = f"action:{where.team}:{where.user}:{action.get('action_ts') or body.get('trigger_id')}"
        await answer_tap(bot, where, name, value, None, key=key, from_home=from_home)


def register_fallback(app: Any, bot: SlackBot) -> None:
    """Any other action (a button of an older version, an element no listener takes): acknowledged, so Slack shows
    no error on it, and the person is told politely, to them alone. Registered after every other listener."""

    @app.action(re.compile(".*"))
    async def on_unknown_action(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        log.info("a Slack action no listener takes: %s", str(action.get("action_id", ""))[:100])
        where = where_from(body)
        if where.user:
            bot.background.submit(bot.say, _to_them(where), texts.UNKNOWN_ACTION)


async def answer_tap(
    bot: SlackBot,
    where: Where,
    name: str,
    value: dict[str, str],
    words: str | None,
    *,
    key: str | None,
    from_home: bool = False,
) -> None:
    """Run the action in a thread and wait until it has committed (or finished, or the budget is spent);
    the replies and card redraws follow in the background."""
    committed: Future[Any] = Future()
    future = bot.background.submit(run_tap, bot, where, name, value, words, key, committed, from_home, decide=True)
    waiting = {asyncio.wrap_future(future), asyncio.wrap_future(committed)}
    done, _ = await asyncio.wait(waiting, timeout=DECIDE_BUDGET, return_when=asyncio.FIRST_COMPLETED)
    if not done:
        log.warning("a Slack %s took longer than %.1fs; acknowledged, answering when it finishes", name, DECIDE_BUDGET)


@dataclass
class Tapped:
    """What a tap did: who it was, what to tell them, and for a decision, the core's outcome."""

    person: Person | None
    replies: list[Reply]
    outcome: Decided | None = None


def run_tap(
    bot: SlackBot,
    where: Where,
    name: str,
    value: dict[str, str],
    words: str | None,
    key: str | None,
    committed: Future[Any],
    from_home: bool,
) -> Tapped | None:
    """The action through the core (a decision) or the assistant (everything else), then its reply and redraw
    handed to the default lane from inside this same task; None for a repeat delivery.

    A decision carrying the card's idempotency key is deduplicated by the core in its own transaction;
    anything else is recorded once here, so a replayed payload is not answered twice. Handing the reply over
    from a done-callback instead left a moment when the decision was finished and its answer not yet queued,
    in which `Background.join` saw nothing pending (the tests' settle then ran the card fan-out before the
    reply, or alongside it)."""
    try:
        keyed = name in DECISIONS and bool(value.get("key"))
        if key is not None and not keyed and not bot.first_time(key):
            return None
        person = bot.person(where.team, where.user)
        if person is None:
            tapped = Tapped(None, [Reply(bot.unknown(where.team, where.user))])
        else:
            bot.expect_commit(committed)
            try:
                with acting(slack_credential(where.team, where.user, person.id)):
                    tapped = _act(bot, person, name, value, words)
            except UnknownPerson as exc:
                tapped = Tapped(None, [Reply(exc.message)])
            finally:
                bot.expect_commit(None)
    except Exception:
        bot.background.submit(bot.say, where, texts.FAILED)
        raise
    bot.background.submit(deliver, bot, where, name, tapped, from_home)
    return tapped


def _act(bot: SlackBot, person: Person, name: str, value: dict[str, Any], words: str | None) -> Tapped:
    if name in DECISIONS:
        outcome = decisions.decide(bot.assistant.chat, person.id, name, value, words)  # type: ignore[arg-type]
        return Tapped(person, [Reply(outcome.message)], outcome)
    return Tapped(person, bot.assistant.handle_action(person.id, name, value, words))


def deliver(bot: SlackBot, where: Where, name: str, tapped: Tapped, from_home: bool) -> None:
    """Tell the person what happened and redraw the tapped message (or their Home tab)."""
    person, replies, outcome = tapped.person, tapped.replies, tapped.outcome
    if person is None:  # outside the directory: told so, to them alone; nothing of anyone else's is touched
        bot.send(_to_them(where), [Reply(r.text) for r in replies if r.text])
        return
    if outcome is not None:
        if from_home:
            if not outcome.recorded:
                bot.send(Where(where.team, where.user), replies, person)
        elif not (outcome.recorded and blocks.is_kept_copy(where.message_blocks)):
            # a card the delivery layer posted is redrawn by it (every copy, once); anything else is
            # redrawn here, and the words (a refusal says who acted and when) go to this person alone
            if bot.own_dm(person, where) and outcome.number:
                try:
                    replies = [replies[0], Reply(card=bot.assistant.card_for(outcome.number, person.id))]
                except ProcurebotError:
                    pass
            # an ephemeral list or card is replaced with what happened (its buttons gone)
            note = replies[0].text if where.ephemeral and outcome.recorded and replies else None
            if not (bot.refresh_message(where, replies, note=note, person=person) and note):
                bot.send(_to_them(where), replies[:1], person)  # unless the replaced answer says it already
    elif name == "comment":
        # the card stays as it is; whether the comment was kept (or why not) is for the commenter alone
        bot.send(_to_them(where), [Reply(r.text) for r in replies if r.text][:1], person)
    elif name in ("supplier.approve", "supplier.reject", "supplier.ask", "supplier.answer"):
        # a new supplier's review: the decided card replaces the tapped one; the words (a refusal) to them alone
        decided = [r for r in replies if r.card is not None]
        if decided:
            bot.refresh_message(where, [Reply(card=decided[0].card)], person=person)
        bot.send(_to_them(where), [Reply(r.text) for r in replies if r.text][:1], person)
    elif name in ("cancel_delegation", "erp.retry"):
        bot.refresh_message(where, replies, person=person)
        words = [Reply(r.text) for r in replies if r.text] or [Reply(r.text, r.card) for r in replies]
        bot.send(_to_them(where), words, person)
    else:
        if name in DRAFT_ACTIONS:
            bot.refresh_message(where, [], note=texts.CARD_DONE.format(what=_label(where, name)), person=person)
        if name == "submit":
            # the requisition's card comes from the delivery layer as the root of its thread: one card, not two
            replies = [Reply(r.text) if r.text and r.card is not None and r.card.number else r for r in replies]
        bot.send(where, replies, person)
    if from_home and person is not None:
        from bot.slack.handlers.home import publish_home

        publish_home(bot, where.team, where.user, person)


def _to_them(where: Where) -> Where:
    """Words for the person who tapped, alone: in place (ephemeral, through the tap's response_url) when the tap
    came from a message, else in their DM."""
    return where.only_to_them() if where.channel else Where(where.team, where.user)


def _label(where: Where, name: str) -> str:
    for block in where.message_blocks:
        for element in block.get("elements") or []:
            if str(element.get("action_id", "")).startswith(f"{blocks.ACTION_PREFIX}{name}:"):
                return (element.get("text") or {}).get("text", name)
    return name


async def _open_form(
    bot: SlackBot, client: Any, body: dict[str, Any], where: Where, name: str, value: dict[str, str]
) -> None:
    """Reject / Ask / Answer open a modal for the words; Edit opens the request form. Opened at once (the
    trigger expires in 3 s), unless the card is already stale for this person: then they are told why."""
    refusal = await asyncio.to_thread(_stale, bot, where, name, value)
    if refusal is not None:
        bot.background.submit(deliver, bot, where, name, refusal, False)
        return
    meta = {
        "c": where.channel,
        "t": where.message_ts,
        "team": where.team,
        "e": where.ephemeral,
        "h": (body.get("view") or {}).get("type") == "home",
        "r": where.response_url,
    }
    if name == "edit":
        form = await asyncio.to_thread(draft_form, bot, where)
        if form is None:  # several items: the conversation edits them
            await answer_tap(bot, where, name, value, None, key=None)
            return
        view = views.request_modal(bot.runtime.service.directory, form, {**meta, "draft_id": value.get("draft_id", "")})
    else:
        view = views.reason_modal(name, value, NEEDS_WORDS[name], meta)
    try:
        await client.views_open(trigger_id=body.get("trigger_id"), view=view)
    except SlackApiError as exc:  # the trigger expired (over 3 s) or Slack refused the view
        log.warning("could not open a Slack modal: %s", exc.response.get("error"))
        bot.background.submit(bot.say, where, texts.FORM_FAILED)


async def _open_supplier_form(
    bot: SlackBot, client: Any, body: dict[str, Any], where: Where, value: dict[str, str]
) -> None:
    """A modal with the new supplier's fields, for "Ask procurement to add it" (handlers/modals.py reads it)."""
    meta = {
        "c": where.channel,
        "t": where.message_ts,
        "team": where.team,
        "e": where.ephemeral,
        "r": where.response_url,
    }
    try:
        await client.views_open(trigger_id=body.get("trigger_id"), view=views.supplier_modal(value, meta))
    except SlackApiError as exc:  # the trigger expired (over 3 s) or Slack refused the view
        log.warning("could not open the new-supplier modal: %s", exc.response.get("error"))
        bot.background.submit(bot.say, where, texts.FORM_FAILED)


async def _show_full(bot: SlackBot, client: Any, body: dict[str, Any], where: Where, number: str) -> None:
    """*See the full requisition* on a card cut to fit: the whole card, as this person may see it now, in a modal.
    Anyone the card reaches can open it (requester, approver, delegate); no page or login is involved."""
    card, refusal = await asyncio.to_thread(_full_card, bot, where, number)
    if card is not None:
        try:
            await client.views_open(trigger_id=body.get("trigger_id"), view=views.full_modal(card))
            return
        except SlackApiError as exc:  # the trigger expired (over 3 s) or Slack refused the view
            log.warning("could not open the full requisition in Slack: %s", exc.response.get("error"))
            refusal = texts.FORM_FAILED
    bot.background.submit(bot.say, _to_them(where), refusal or texts.FAILED)


def _full_card(bot: SlackBot, where: Where, number: str) -> tuple[Any, str | None]:
    person = bot.person(where.team, where.user)
    if person is None:
        return None, bot.unknown(where.team, where.user)
    try:
        return bot.assistant.card_for(number, person.id), None
    except ProcurebotError as exc:
        return None, exc.message


def _stale(bot: SlackBot, where: Where, name: str, value: dict[str, str]) -> Tapped | None:
    """When this person can no longer take `name` on the requisition: what it says now (the core's view)."""
    if name == "edit":
        return None
    person = bot.person(where.team, where.user)
    if person is None:
        return Tapped(None, [Reply(bot.unknown(where.team, where.user))])
    try:
        card = bot.assistant.card_for(value.get("number", ""), person.id)
    except Exception:  # noqa: BLE001 - no such requisition: the assistant explains on submit
        return None
    if any(a.id == name for a in card.actions):
        return None
    return Tapped(
        person,
        [Reply(card.status or texts.CARD_CHANGED)],
        Decided(card.status or texts.CARD_CHANGED, card.number or ""),
    )


def draft_form(bot: SlackBot, where: Where) -> views.RequestForm | None:
    """The request form filled from the person's draft, or None when the draft has several lines."""
    from bot.intake.draft import DraftState

    person = bot.person(where.team, where.user)
    if person is None:
        return views.RequestForm()
    row = bot.assistant.store.load(person.id)
    draft = DraftState.model_validate(row.draft) if row.state != "idle" else DraftState()
    if len(draft.lines) > 1:
        return None
    line = draft.lines[0] if draft.lines else None
    return views.RequestForm(
        description=line.description if line else "",
        quantity=str(line.quantity) if line and line.quantity is not None else "",
        unit_price=str(line.unit_price) if line and line.unit_price is not None else "",
        supplier=draft.supplier,
        site=draft.site,
        need_by=draft.need_by.isoformat() if draft.need_by else None,
        justification=draft.justification,
    )
