"""An approver's own reminders, from chat: "remind me in 2 hours about PR-1042" moves their next reminder
(never past the deadline), "stop/start my daily digest" switches the digest."""

from __future__ import annotations

import re
from decimal import Decimal

from approvals.directory import Person
from approvals.errors import ProcurebotError
from approvals.scheduling.actions import SetDigest, Snooze, set_digest, snooze
from approvals.scheduling.calendar import Calendars
from bot.intake import intents, texts
from bot.intake.context import Chat
from bot.intake.reply import Reply

MAX_SNOOZE_HOURS = Decimal(72)


class Reminders:
    def __init__(self, chat: Chat, calendars: Calendars) -> None:
        self.chat = chat
        self.calendars = calendars

    def snooze(self, person: Person, text: str) -> list[Reply]:
        """ "Remind me in 2 hours about PR-1042": the next reminder moves, never past the SLA."""
        hours = intents.snooze_hours(text)
        if hours is None or hours <= 0:
            return [Reply(texts.SNOOZE_HOW)]
        number = intents.STATUS.search(text)
        if number:
            target = f"PR-{int(re.sub(r'[^0-9]', '', number.group('number')))}"
        else:
            waiting = self.chat.service.list(waiting_on=person.id, limit=3)
            if len(waiting) != 1:
                return [Reply(texts.SNOOZE_WHICH if waiting else texts.SNOOZE_NOTHING)]
            target = waiting[0].number
        command = Snooze(actor=person.id, number=target, hours=min(hours, MAX_SNOOZE_HOURS), surface=self.chat.surface)
        try:
            return [Reply(snooze(self.chat.service.engine, self.calendars, command, clock=self.chat.service.clock))]
        except ProcurebotError as exc:
            return [Reply(exc.message)]

    def digest(self, person: Person, *, enabled: bool) -> list[Reply]:
        command = SetDigest(actor=person.id, enabled=enabled, surface=self.chat.surface)
        set_digest(self.chat.service.engine, self.chat.directory, command, clock=self.chat.service.clock)
        return [Reply(texts.DIGEST_ON if enabled else texts.DIGEST_OFF)]
