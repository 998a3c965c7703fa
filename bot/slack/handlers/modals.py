"""Modal submissions: the words for Reject / Ask / Answer, and the request form.

Field problems go back as ``response_action: errors`` (Slack shows them under the field and keeps
the modal open); everything else closes the modal and answers in the person's DM or channel.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from approvals.directory import Person
from bot.intake.draft import DraftLine, DraftState, fill_defaults, merge
from bot.intake.reply import Reply
from bot.intake.store import Crossed
from bot.slack import views
from bot.slack.bot import SlackBot, Where
from bot.slack.files import hold_shared
from bot.slack.handlers.actions import answer_tap


def register(app: Any, bot: SlackBot) -> None:
    @app.view(views.REASON_VIEW)
    async def on_reason(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        words, errors = views.read_reason(view)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        meta = views.read_meta(view)
        where = _where(body, meta)
        value = {k: str(v) for k, v in (meta.get("v") or {}).items()}
        await answer_tap(
            bot,
            where,
            str(meta.get("a", "")),
            value,
            words,
            key=f"view:{view.get('id')}:{view.get('hash')}",
            from_home=bool(meta.get("h")),
        )

    @app.view(views.SUPPLIER_VIEW)
    async def on_supplier(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        fields, errors = views.read_supplier(view)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        meta = views.read_meta(view)
        where = _where(body, meta)
        value = {**{k: str(v) for k, v in (meta.get("v") or {}).items()}, **fields}
        paper = views.read_supplier_file(view)
        if paper is not None:  # downloaded with the bot token and kept, then named by its key like the web chat's
            held = await asyncio.to_thread(hold_shared, bot, where.team, paper)
            if isinstance(held, str):
                bot.background.submit(bot.say, where, held)
                return
            value.update(held)
        key = f"view:{view.get('id')}:{view.get('hash')}"
        await answer_tap(bot, where, "supplier.request", value, None, key=key)

    @app.view(views.REQUEST_VIEW)
    async def on_request(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        today = bot.runtime.service.clock().date()
        parsed, errors = views.read_request(view, bot.runtime.service.directory, today)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        meta = views.read_meta(view)
        bot.background.submit(apply_request, bot, _where(body, meta), parsed, meta)


def _where(body: dict[str, Any], meta: dict[str, Any]) -> Where:
    user = (body.get("user") or {}).get("id", "")
    team = meta.get("team") or (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
    return Where(
        team=team,
        user=user,
        channel=meta.get("c") or None,
        message_ts=meta.get("t") or None,
        ephemeral=bool(meta.get("e")),
        response_url=meta.get("r") or None,
    )


def apply_request(bot: SlackBot, where: Where, form: views.ParsedRequest, meta: dict[str, Any]) -> None:
    """The form becomes the person's draft (replacing one being edited) and its summary, with Submit, goes to them."""
    person = bot.person(where.team, where.user)
    if person is None:
        bot.say(where, bot.unknown(where.team, where.user))
        return
    for _ in range(3):  # another message of theirs may land at the same moment: load again and redo
        try:
            replies = _save_draft(bot, person, form, meta)
            break
        except Crossed:
            continue
    else:
        replies = [Reply("Your draft changed while you were editing it; open it again and retry.")]
    if where.ephemeral and where.response_url:
        target = where.only_to_them()  # the summary came in place (a channel, a DM with a colleague): so does this
    else:
        target = Where(where.team, where.user, where.channel if not where.ephemeral else None)
    if where.message_ts and where.channel:
        bot.refresh_message(where, [], note="Edited in the form; the new summary is below.", person=person)
    bot.send(target if target.channel else Where(where.team, where.user), replies, person)


def _save_draft(bot: SlackBot, person: Person, form: views.ParsedRequest, meta: dict[str, Any]) -> list[Reply]:
    assistant, directory, clock = bot.assistant, bot.runtime.service.directory, bot.runtime.service.clock
    site = directory.site_by_code.get(form.site)
    tz = person.timezone or (site.timezone if site else "America/Chicago")
    row = assistant.store.load(person.id)
    draft = _starting_point(bot, row, meta, tz)
    # read like a message: the catalog gives the item's category (and SKU) from the words, and a loose match
    # is asked like in the conversation, never assumed
    found = assistant.understanding.read(f"{form.quantity} {form.description}", editing=False, now=clock(), timezone=tz)
    known = next((ln for ln in found.lines if ln.description), None)
    supplier = directory.supplier_by_id[form.supplier]
    draft.lines = [
        DraftLine(
            description=form.description,
            quantity=form.quantity,
            unit=known.unit if known else None,
            unit_price=form.unit_price,
            price_source="said",
            sku=known.sku if known else None,
            item_choices=list(known.item_choices) if known else [],
            category=known.category if known else None,
            category_source=known.category_source if known else None,
        )
    ]
    # the form's fields are what the person checked: they replace whatever the draft or the message said
    draft.supplier, draft.supplier_choices, draft.unknown_supplier, draft.new_supplier = supplier.id, [], None, None
    if draft.site != form.site and draft.cost_center_source != "said":
        draft.cost_center = draft.cost_center_source = None  # the old site's default does not follow
    draft.site, draft.site_source, draft.site_choices = form.site, "said", []
    draft.currency, draft.total, draft.unsure_price = supplier.currency, None, None
    draft.need_by, draft.need_by_past, draft.no_need_by = form.need_by, None, form.need_by is None
    draft.justification = form.justification
    draft.duplicate_of, draft.duplicate_checked = None, False
    # a new draft id: Submit on the summary shown before the edit is stale and cannot submit what it did not show
    draft.draft_id = uuid.uuid4().hex
    fill_defaults(draft, person, directory)
    assistant.dialogue.hints.ask(draft)
    # the conversation's own prompt: every open question in one reply, or the summary with its checks
    replies = assistant.dialogue.prompt(row, draft, person)
    assistant.store.save(row, now=clock(), ttl=assistant.draft_ttl)
    return replies


def _starting_point(bot: SlackBot, row: Any, meta: dict[str, Any], tz: str) -> DraftState:
    """What the form has no field for: the draft being edited (its cost center, quoted words, urgency...), or
    what the message the form was opened from says, read by the conversation's reader."""
    if row.state != "idle" and meta.get("draft_id"):
        current = DraftState.model_validate(row.draft)
        if current.draft_id == meta["draft_id"]:
            return current
    draft = DraftState()
    said = str(meta.get(views.META_MESSAGE) or "")
    if said:
        clock = bot.runtime.service.clock
        merge(draft, bot.assistant.understanding.read(said, editing=False, now=clock(), timezone=tz))
    return draft
