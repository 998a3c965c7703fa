"""Out-of-office from chat.

"delegate to Priya from Dec 20 to Jan 3" sets a delegation at once; an out-of-office sentence ("I'm away from
the 2nd to the 9th, Priya covers my approvals") is read by bot/intake/absence.py into a proposal card the
person confirms with a button, and only the confirmation sets it, through the core's SetDelegation. "my
delegations" lists them, "cancel my delegation" (or the card's button) ends them. Dates are read in the
person's own time zone; the delegate approves from the first day through the whole last day.

The proposal's buttons are "choose" actions (field "delegation.confirm", "delegation.pick" or
"delegation.dismiss"), so every surface carries them as it carries a question's choices. Nothing in them is
trusted beyond what the person could type: the delegator is always the one who taps.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from rapidfuzz import fuzz, process

from approvals.clock import as_utc
from approvals.commands import CancelDelegation, SetDelegation
from approvals.directory import Person
from approvals.errors import ProcurebotError
from approvals.models import Delegation
from bot.cards.model import Card, CardAction, Fact
from bot.intake import absence, intent_texts, texts
from bot.intake.cards import delegation_card
from bot.intake.context import Chat
from bot.intake.reply import Reply

CONFIRM, PICK, DISMISS = "delegation.confirm", "delegation.pick", "delegation.dismiss"
OTHER = "delegation.other"  # the suggested-delegation card's "Someone else" (approvals/absences.py)
FIELDS = (CONFIRM, PICK, OTHER, DISMISS)
CANDIDATES = 5  # "Someone else" offers this many people as buttons; anyone else can be typed


class Delegations:
    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self._first_names: dict[str, list[str]] = {}
        for p in chat.directory.people:
            self._first_names.setdefault(p.name.split()[0].lower(), []).append(p.id)

    def delegate(self, person: Person, text: str) -> list[Reply]:
        """ "delegate to Priya from Dec 20 to Jan 3": an explicit command, set at once."""
        today = self._today(person)
        said = absence.read(text, today)
        if said.who is None or said.end is None:
            return [Reply(texts.delegation_help())]
        ids = self.find_person(said.who)
        if not ids:
            return [Reply(texts.unknown_person(said.who))]
        if len(ids) > 1:
            return [Reply(texts.which_person([self.chat.directory.person_by_id[i].name for i in ids]))]
        return self._set(person, ids[0], said.start or today, said.end)

    def out_of_office(self, person: Person, text: str) -> list[Reply]:
        """ "I'm away from the 2nd to the 9th, Priya covers my approvals": a card to confirm, nothing set yet."""
        today = self._today(person)
        said = absence.read(text, today)
        if said.start is None or said.end is None:
            return [Reply(intent_texts.OOO_WHEN)]
        if said.end < today:
            return [Reply(intent_texts.in_the_past(f"{said.end:%b %d}"))]
        if said.who is None:
            return [Reply(intent_texts.OOO_WHO)]
        ids = self.find_person(said.who, excluding=person.id)
        if not ids:
            if self.find_person(said.who) == [person.id]:
                return [Reply(intent_texts.not_yourself())]
            return [Reply(intent_texts.unknown_delegate(said.who))]
        start, end = max(said.start, today), said.end
        if len(ids) > 1:
            return [Reply(card=self._which(ids, start, end))]
        return [Reply(card=self._proposal(person, ids[0], start, end))]

    def action(self, person: Person, value: dict[str, str]) -> list[Reply]:
        """A tap on a proposal: confirm it, pick the delegate among namesakes, or drop it."""
        field = value.get("field", "")
        if field == DISMISS:
            return [Reply(intent_texts.DISMISSED)]
        if field == OTHER:
            return self._someone_else(person, value.get("value", ""))
        parsed = _unpack(value.get("value", ""))
        if parsed is None or parsed[0] not in self.chat.directory.person_by_id:
            return [Reply(intent_texts.PROPOSAL_STALE)]
        delegate, start, end = parsed
        if end < self._today(person):
            return [Reply(intent_texts.PROPOSAL_STALE)]
        if field == PICK:
            return [Reply(card=self._proposal(person, delegate, start, end))]
        key = value.get("key") or _pack(delegate, start, end)
        # one key for the card whatever the surface: the same card tapped in Slack and then in Teams sets it once
        return self._set(person, delegate, start, end, key=f"{person.id}:ooo:{key}")

    def listing(self, person: Person) -> list[Reply]:
        """ "my delegations", "who covers for me": who approves for them, and for whom they approve."""
        rows = self.chat.service.delegations(person=person.id)
        if not rows:
            return [Reply(intent_texts.NO_DELEGATIONS)]
        zone = ZoneInfo(self.chat.timezone(person))
        facts, actions = [], []
        for row in rows:
            start, end = _local_days(row, zone)
            if row.delegator == person.id:
                words = intent_texts.approves_for_you(self._name(row.delegate), start, end)
                actions.append(
                    CardAction(
                        id="cancel_delegation",
                        label=f"Cancel: {self._name(row.delegate)}",
                        style="danger",
                        value={"delegation_id": str(row.id)},
                    )
                )
            else:
                words = intent_texts.you_approve_for(self._name(row.delegator), start, end)
            facts.append(Fact(label=f"#{row.id}", value=words))
        return [
            Reply(
                card=Card(
                    kind="delegation_confirmation", title=intent_texts.DELEGATIONS_TITLE, facts=facts, actions=actions
                )
            )
        ]

    # ------------------------------------------------------------------ the pieces
    def _set(self, person: Person, delegate: str, start: date, end: date, *, key: str | None = None) -> list[Reply]:
        zone = ZoneInfo(self.chat.timezone(person))
        now = self.chat.now()
        local_today = now.astimezone(zone).date()
        if end < start:
            end = end.replace(year=end.year + 1) if (start - end).days > 180 else end
        if end < local_today:
            return [Reply(intent_texts.in_the_past(f"{end:%b %d}"))]
        starts_at, ends_at = _window(start, end, local_today, now, zone)
        if key is not None:  # a card's button tapped again (or on another surface): the delegation it already set
            for row in self.chat.service.delegations(person=person.id):
                if row.delegator == person.id and row.delegate == delegate and as_utc(row.ends_at) == ends_at:
                    card = delegation_card(
                        row, self.chat.directory, f"{start:%a %b %d}", f"{end:%a %b %d} (end of day)"
                    )
                    return [Reply(card=card)]
        try:
            row = self.chat.service.set_delegation(
                SetDelegation(
                    actor=person.id,
                    delegator=person.id,
                    delegate=delegate,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    surface=self.chat.surface,
                    idempotency_key=key,
                )
            )
        except ValidationError as exc:
            return [Reply("; ".join(e["msg"] for e in exc.errors()))]
        except ProcurebotError as exc:
            return [Reply(exc.message)]
        card = delegation_card(row, self.chat.directory, f"{start:%a %b %d}", f"{end:%a %b %d} (end of day)")
        return [Reply(card=card)]

    def _proposal(self, person: Person, delegate: str, start: date, end: date) -> Card:
        zone = self.chat.timezone(person)
        first, last = f"{start:%a %b %d}", f"{end:%a %b %d}"
        value = _pack(delegate, start, end)
        return Card(
            kind="delegation_confirmation",
            title=intent_texts.PROPOSAL_TITLE,
            facts=[
                Fact(label="From", value=person.name),
                Fact(label="Approves for you", value=self._name(delegate)),
                Fact(label="First day", value=first),
                Fact(label="Last day", value=f"{last} (end of day)"),
                Fact(label="Time zone", value=zone),
            ],
            status=intent_texts.proposal(self._name(delegate), first, last, zone),
            actions=[
                CardAction(
                    id="choose",
                    label=intent_texts.CONFIRM,
                    style="primary",
                    value={"field": CONFIRM, "value": value, "key": uuid.uuid4().hex[:16]},
                ),
                CardAction(
                    id="choose",
                    label=intent_texts.SOMEONE_ELSE,
                    value={"field": OTHER, "value": f"|{start.isoformat()}|{end.isoformat()}"},
                ),
                CardAction(id="choose", label=intent_texts.DISMISS, value={"field": DISMISS, "value": ""}),
            ],
        )

    def _which(self, ids: list[str], start: date, end: date) -> Card:
        names = [self._name(i) for i in ids]
        return Card(
            kind="question",
            title=intent_texts.which_delegate(names),
            actions=[
                CardAction(id="choose", label=self._name(i), value={"field": PICK, "value": _pack(i, start, end)})
                for i in ids
            ],
        )

    def _someone_else(self, person: Person, days: str) -> list[Reply]:
        """The suggested delegate will not do: the people nearest them (their managers, then those who share their
        manager) as buttons, each leading to the proposal to confirm; anyone else can be typed."""
        parsed = _unpack(days)
        if parsed is None or parsed[2] < self._today(person):
            return [Reply(intent_texts.PROPOSAL_STALE)]
        _, start, end = parsed
        directory = self.chat.directory
        near = directory.manager_chain(person.id)[:2]
        near += [p.id for p in directory.people if p.manager == person.manager and person.manager]
        ids = [i for i in dict.fromkeys(near) if i != person.id and (p := directory.person(i)) and p.active]
        first, last = f"{start:%a %b %d}", f"{end:%a %b %d}"
        actions = [
            CardAction(id="choose", label=self._name(i), value={"field": PICK, "value": _pack(i, start, end)})
            for i in ids[:CANDIDATES]
        ]
        actions.append(CardAction(id="choose", label=intent_texts.DISMISS, value={"field": DISMISS, "value": ""}))
        card = Card(
            kind="question",
            title=intent_texts.who_instead(first, last),
            status=intent_texts.type_someone(f"{start:%b %d}", f"{end:%b %d}"),
            actions=actions,
        )
        return [Reply(card=card)]

    def _today(self, person: Person) -> date:
        return self.chat.now().astimezone(ZoneInfo(self.chat.timezone(person))).date()

    def _name(self, person_id: str) -> str:
        p = self.chat.directory.person(person_id)
        return p.name if p else person_id

    def cancel(self, person: Person, delegation_id: str | None = None) -> list[Reply]:
        """End the person's delegations (the one `delegation_id` names, from a card's button)."""
        rows = [
            d
            for d in self.chat.service.delegations(person=person.id)
            if d.delegator == person.id and (delegation_id is None or str(d.id) == delegation_id)
        ]
        if not rows:
            return [Reply(texts.NO_DELEGATION)]
        replies = []
        for row in rows:
            try:
                self.chat.service.cancel_delegation(
                    CancelDelegation(
                        actor=person.id,
                        delegation_id=row.id,  # type: ignore[arg-type]
                        surface=self.chat.surface,
                    )
                )
            except ProcurebotError as exc:
                replies.append(Reply(exc.message))
                continue
            replies.append(Reply(texts.delegation_cancelled(self.chat.directory.person_by_id[row.delegate].name)))
        return replies

    def find_person(self, name: str, excluding: str | None = None) -> list[str]:
        """Who `name` means: an exact name or id, else a first name, else close spellings (best first)."""
        people = [p for p in self.chat.directory.people if p.id != excluding]
        low = " ".join(name.lower().replace(".", " ").split())
        exact = [p.id for p in people if p.name.lower() == low or p.id.replace(".", " ") == low]
        if exact:
            return exact
        first = [i for i in self._first_names.get(low, []) if i != excluding]
        if first:
            return first
        hits = process.extract(low, [p.name.lower() for p in people], scorer=fuzz.WRatio, limit=3, score_cutoff=85)
        if hits:
            best = hits[0][1]
            return [people[i].id for _, score, i in hits if score >= best - 2]
        firsts = sorted(self._first_names)
        near = process.extractOne(low, firsts, scorer=fuzz.ratio, score_cutoff=80)
        return [i for i in self._first_names[near[0]] if i != excluding] if near else []


def _window(start: date, end: date, local_today: date, now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """From the first day (from now, when that is today or earlier) through the whole last day."""
    starts_at = (
        max(datetime.combine(start, time(0), zone), now.astimezone(zone))
        if start <= local_today
        else datetime.combine(start, time(0), zone)
    )
    return starts_at, datetime.combine(end + timedelta(days=1), time(0), zone)


def _local_days(row: Delegation, zone: ZoneInfo) -> tuple[str, str]:
    start = row.starts_at if row.starts_at.tzinfo else row.starts_at.replace(tzinfo=ZoneInfo("UTC"))
    end = row.ends_at if row.ends_at.tzinfo else row.ends_at.replace(tzinfo=ZoneInfo("UTC"))
    last = (end.astimezone(zone) - timedelta(seconds=1)).date()
    return f"{start.astimezone(zone):%a %b %d}", f"{last:%a %b %d} (end of day)"


def _pack(delegate: str, start: date, end: date) -> str:
    return f"{delegate}|{start.isoformat()}|{end.isoformat()}"


def _unpack(value: str) -> tuple[str, date, date] | None:
    parts = value.split("|")
    if len(parts) != 3:
        return None
    try:
        return parts[0], date.fromisoformat(parts[1]), date.fromisoformat(parts[2])
    except ValueError:
        return None
