"""Modal submissions: the words for Reject / Ask / Answer, and the request form.

Field problems go back as ``response_action: errors`` (Slack shows them under the field and keeps
the modal open); everything else closes the modal and answers in the person's DM or channel.
"""

from __future__ import annotations

import uuid
from typing import Any

from approvals.directory import Person
from bot.intake.cards import question_card, summary_card
from bot.intake.draft import DraftLine, DraftState, fill_defaults, next_question
from bot.intake.duplicates import find_duplicate
from bot.intake.reply import Reply
from bot.intake.store import Crossed
from bot.slack import views
from bot.slack.bot import SlackBot, Where
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
    )


def apply_request(bot: SlackBot, where: Where, form: views.ParsedRequest, meta: dict[str, Any]) -> None:
    """The form becomes the person's draft (replacing one being edited) and its summary, with Submit, goes to them."""
    person = bot.person(where.team, where.user)
    if person is None:
        bot.say(where, bot.unknown(where.team, where.user))
        return
    for _ in range(3):  # another message of theirs may land at the same moment: load again and redo
        try:
            replies = _save_draft(bot, person, form)
            break
        except Crossed:
            continue
    else:
        replies = [Reply("Your draft changed while you were editing it; open it again and retry.")]
    target = Where(where.team, where.user, where.channel if not where.ephemeral else None)
    if where.message_ts and where.channel and not where.ephemeral:
        bot.refresh_message(where, [], note="Edited in the form; the new summary is below.", person=person)
    bot.send(target if target.channel else Where(where.team, where.user), replies, person)


def _save_draft(bot: SlackBot, person: Person, form: views.ParsedRequest) -> list[Reply]:
    assistant, directory, clock = bot.assistant, bot.runtime.service.directory, bot.runtime.service.clock
    site = directory.site_by_code.get(form.site)
    tz = person.timezone or (site.timezone if site else "America/Chicago")
    # read like a message: the catalog gives the item's category (and SKU) from the words
    found = assistant.understanding.read(f"{form.quantity} {form.description}", editing=False, now=clock(), timezone=tz)
    known = next((ln for ln in found.lines if ln.description), None)
    supplier = directory.supplier_by_id[form.supplier]
    line = DraftLine(
        description=form.description,
        quantity=form.quantity,
        unit=known.unit if known else None,
        unit_price=form.unit_price,
        price_source="said",
        sku=known.sku if known else None,
        category=known.category if known else None,
        category_source=known.category_source if known else None,
    )
    row = assistant.store.load(person.id)
    # a new draft id: Submit on the summary shown before the edit is stale and cannot submit what it did not show
    draft = DraftState(
        draft_id=uuid.uuid4().hex,
        lines=[line],
        supplier=supplier.id,
        site=form.site,
        site_source="said",
        currency=supplier.currency,
        need_by=form.need_by,
        no_need_by=form.need_by is None,
        justification=form.justification,
    )
    fill_defaults(draft, person, directory)
    question = next_question(draft, directory)
    if question is not None:
        row.state, row.question = "collecting", question.model_dump(mode="json")
        replies = [
            Reply(card=question_card(question.text, question.field, [(c.label, c.value) for c in question.choices]))
            if question.choices
            else Reply(question.text)
        ]
    else:
        duplicate = find_duplicate(assistant.service, draft, now=clock())
        draft.duplicate_of, draft.duplicate_checked = (duplicate.number if duplicate else None), True
        row.state, row.question = "confirming", None
        replies = [Reply(card=summary_card(draft, directory, duplicate))]
    row.draft = draft.model_dump(mode="json")
    assistant.store.save(row, now=clock(), ttl=assistant.draft_ttl)
    return replies
