"""Out-of-office from chat: "delegate to Priya from Dec 20 to Jan 3" sets a delegation, "cancel my
delegation" (or the card's button) ends it. Dates are read in the person's own time zone; the delegate
approves from the first day through the whole last day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from rapidfuzz import fuzz, process

from approvals.commands import CancelDelegation, SetDelegation
from approvals.directory import Person
from approvals.errors import ProcurebotError
from bot.intake import intents, texts
from bot.intake.cards import delegation_card
from bot.intake.context import Chat
from bot.intake.extract import parse_date
from bot.intake.reply import Reply


class Delegations:
    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self._first_names: dict[str, list[str]] = {}
        for p in chat.directory.people:
            self._first_names.setdefault(p.name.split()[0].lower(), []).append(p.id)

    def delegate(self, person: Person, text: str) -> list[Reply]:
        m = intents.DELEGATE_PARTS.search(text)
        if not m:
            return [Reply(texts.delegation_help())]
        ids = self.find_person(m.group("who"))
        if not ids:
            return [Reply(texts.unknown_person(m.group("who").strip()))]
        if len(ids) > 1:
            return [Reply(texts.which_person([self.chat.directory.person_by_id[i].name for i in ids]))]
        tz = self.chat.timezone(person)
        now = self.chat.now()
        local_today = now.astimezone(ZoneInfo(tz)).date()
        start_text, end_text = m.group("start"), m.group("end") or m.group("until")
        start = parse_date(start_text, now=now, timezone=tz) if start_text else local_today
        end = parse_date(end_text, now=now, timezone=tz) if end_text else None
        if start is None or end is None:
            return [Reply(texts.delegation_help())]
        if end < start:
            end = end.replace(year=end.year + 1) if (start - end).days > 180 else end
        if end < local_today:
            return [Reply(f"{end:%b %d} is in the past; give a last day from today on.")]
        starts_at, ends_at = _window(start, end, local_today, now, ZoneInfo(tz))
        try:
            row = self.chat.service.set_delegation(
                SetDelegation(
                    actor=person.id,
                    delegator=person.id,
                    delegate=ids[0],
                    starts_at=starts_at,
                    ends_at=ends_at,
                    surface=self.chat.surface,
                )
            )
        except ValidationError as exc:
            return [Reply("; ".join(e["msg"] for e in exc.errors()))]
        except ProcurebotError as exc:
            return [Reply(exc.message)]
        card = delegation_card(row, self.chat.directory, f"{start:%a %b %d}", f"{end:%a %b %d} (end of day)")
        return [Reply(card=card)]

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

    def find_person(self, name: str) -> list[str]:
        """Who `name` means: an exact name or id, else a first name, else close spellings (best first)."""
        people = self.chat.directory.people
        low = name.lower().strip(" .")
        exact = [p.id for p in people if p.name.lower() == low or p.id == low]
        if exact:
            return exact
        if low in self._first_names:
            return self._first_names[low]
        hits = process.extract(low, [p.name.lower() for p in people], scorer=fuzz.WRatio, limit=3, score_cutoff=85)
        return [people[i].id for _, _, i in hits]


def _window(start: date, end: date, local_today: date, now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """From the first day (from now, when that is today or earlier) through the whole last day."""
    starts_at = (
        max(datetime.combine(start, time(0), zone), now.astimezone(zone))
        if start <= local_today
        else datetime.combine(start, time(0), zone)
    )
    return starts_at, datetime.combine(end + timedelta(days=1), time(0), zone)
