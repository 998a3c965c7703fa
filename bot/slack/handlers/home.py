"""The App Home tab: pending approvals with buttons, open requests, delegation (set / end), recent activity."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from approvals import states
from approvals.commands import SetDelegation
from approvals.directory import Person
from approvals.errors import ProcurebotError
from bot.slack import blocks, texts, views
from bot.slack.bot import SlackBot, Where

SHOWN = 8  # cards per section: the tab holds at most 100 blocks
OPEN = ("pending_approval", "needs_info", "approved", "po_pending")


def register(app: Any, bot: SlackBot) -> None:
    @app.event("app_home_opened")
    async def on_home(body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        bot.background.submit(publish_home, bot, body.get("team_id"), event.get("user", ""), None)

    @app.action(views.HOME_DELEGATE)
    async def on_delegate(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        team = (body.get("team") or {}).get("id")
        bot.background.submit(set_delegation, bot, team, (body.get("user") or {}).get("id", ""), body.get("view") or {})

    @app.action(views.HOME_NEW)
    async def on_new(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        meta = {"team": (body.get("team") or {}).get("id"), "h": True}
        await client.views_open(
            trigger_id=body.get("trigger_id"),
            view=views.request_modal(bot.runtime.service.directory, views.RequestForm(), meta),
        )

    @app.action({"action_id": re.compile(r"^pb_home:delegate_")})
    async def on_pick(ack: Any) -> None:
        await ack()  # picking a person or a date changes nothing until Set delegation is tapped


def publish_home(
    bot: SlackBot, team: str | None, user: str, person: Person | None = None, notice: str | None = None
) -> None:
    person = person or bot.person(team, user)
    client = bot.client(team)
    if person is None:
        client.views_publish(user_id=user, view={"type": "home", "blocks": [blocks.section(bot.unknown(team, user))]})
        return
    client.views_publish(user_id=user, view=views.home_view(home_data(bot, person, notice)))


def home_data(bot: SlackBot, person: Person, notice: str | None = None) -> views.HomeData:
    service, directory = bot.runtime.service, bot.runtime.directory
    pending = service.list(waiting_on=person.id, limit=50)
    mine = service.list(requester=person.id, limit=50)
    open_mine = [v for v in mine if v.state in OPEN]
    card = bot.assistant.card_for
    lines, ends = [], []
    for d in service.delegations(person=person.id):
        end = _day(d.ends_at - timedelta(seconds=1), person, directory)
        if d.delegator == person.id:
            delegate = directory.person(d.delegate)
            name = delegate.name if delegate else d.delegate
            lines.append(
                texts.HOME_DELEGATION_ROW.format(
                    delegate=blocks.escape(name), start=_day(d.starts_at, person, directory), end=end
                )
            )
            ends.append((f"{texts.HOME_DELEGATE_END} ({name})", str(d.id)))
        else:
            delegator = directory.person(d.delegator)
            lines.append(
                texts.HOME_DELEGATION_FOR.format(
                    delegator=blocks.escape(delegator.name if delegator else d.delegator), end=end
                )
            )
    activity = [f"*{v.number}* {blocks.escape(v.title)} \u2014 {states.label(v.state)}" for v in mine[:5]]
    people = sorted(((p.name, p.id) for p in directory.people if p.id != person.id), key=lambda x: x[0])
    return views.HomeData(
        pending=[card(v.number, person.id) for v in pending[:SHOWN]],
        mine=[card(v.number, person.id) for v in open_mine[:SHOWN]],
        delegations=lines,
        end_delegation=ends,
        people=people,
        activity=activity,
        notice=notice,
        more_pending=max(len(pending) - SHOWN, 0),
    )


def _zone(person: Person, directory: Any) -> ZoneInfo:
    site = directory.site_by_code.get(person.site or "")
    return ZoneInfo(person.timezone or (site.timezone if site else "America/Chicago"))


def _day(at: datetime, person: Person, directory: Any) -> str:
    return at.astimezone(_zone(person, directory)).strftime("%a %b %d")


def set_delegation(bot: SlackBot, team: str | None, user: str, view: dict[str, Any]) -> None:
    """Set delegation from the Home tab: whole days in the person's own time zone, through the core."""
    person = bot.person(team, user)
    if person is None:
        publish_home(bot, team, user)
        return
    who, start, end = views.read_delegation_form(view)
    notice = _delegate(bot, person, _person_id(bot, team, who), start, end)
    publish_home(bot, team, user, person, notice)
    if notice and notice.startswith("\u2713"):
        bot.say(Where(team, user), notice[2:], person)


def _person_id(bot: SlackBot, team: str | None, who: str | None) -> str | None:
    """A picked delegate as a person id: a directory id as it is, a Slack user id (a users_select) through the
    identity lookup; a Slack user outside the directory is nobody."""
    if not who or bot.runtime.directory.person(who) is not None or not re.fullmatch(r"[UW][A-Z0-9]{2,}", who):
        return who
    person = bot.person(team, who)
    return person.id if person is not None else None


def _delegate(bot: SlackBot, person: Person, who: str | None, start: str | None, end: str | None) -> str:
    if not who or not start or not end:
        return texts.HOME_DELEGATE_MISSING
    if who == person.id:
        return texts.ERR_DELEGATE_SELF
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    if last < first:
        return texts.ERR_DATE_ORDER
    service, directory = bot.runtime.service, bot.runtime.directory
    zone, now = _zone(person, directory), service.clock()
    starts = datetime.combine(first, time(0), zone)
    starts = max(starts, now.astimezone(zone)) if first <= now.astimezone(zone).date() else starts
    ends = datetime.combine(last + timedelta(days=1), time(0), zone)  # through the whole last day
    if ends <= now:
        return texts.ERR_DATE_PAST
    try:
        row = service.set_delegation(
            SetDelegation(
                actor=person.id, delegator=person.id, delegate=who, starts_at=starts, ends_at=ends, surface="slack"
            )
        )
    except ValidationError as exc:
        return "; ".join(e["msg"] for e in exc.errors())
    except ProcurebotError as exc:
        return exc.message
    delegate = directory.person(row.delegate)
    return "\u2713 " + texts.HOME_DELEGATION_ROW.format(
        delegate=delegate.name if delegate else row.delegate, start=f"{first:%a %b %d}", end=f"{last:%a %b %d}"
    )
