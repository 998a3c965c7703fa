"""Approvers snooze a reminder and switch their daily digest off and on, in plain words in chat."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from approvals.scheduling.models import NotificationPreference
from bot.intake.assistant import Assistant
from tests.factories import submit
from tests.scheduling_support import _reminders, at, dallas


def _texts(replies) -> str:  # type: ignore[no-untyped-def]
    return " ".join(r.text or "" for r in replies)


def test_remind_me_in_two_hours_moves_the_next_reminder(service, clock, scheduler, notifier, directory):
    """Zoe says "remind me in 2 hours about PR-…" after her first reminder: the next one comes 2 hours later."""
    assistant = Assistant(
        service, directory, surface="web", draft_ttl=timedelta(hours=24), calendars=scheduler.calendars
    )
    clock.now = dallas(2026, 11, 23, 9, 0)
    number = service.submit(submit()).number
    at(clock, scheduler, dallas(2026, 11, 23, 13, 0))
    assert len(_reminders(notifier, "zoe.martin")) == 1
    answer = _texts(assistant.handle_message("zoe.martin", f"remind me in 2 hours about {number}"))
    assert "15:00" in answer
    at(clock, scheduler, dallas(2026, 11, 23, 14, 59))
    assert len(_reminders(notifier, "zoe.martin")) == 1
    at(clock, scheduler, dallas(2026, 11, 23, 15, 0))
    assert len(_reminders(notifier, "zoe.martin")) == 2


def test_snooze_without_a_duration_or_a_match_asks_plainly(service, clock, scheduler, directory):
    """ "Remind me later" asks for a duration; someone with nothing waiting is told there is nothing to move."""
    assistant = Assistant(service, directory, surface="web", calendars=scheduler.calendars)
    clock.now = dallas(2026, 11, 23, 9, 0)
    service.submit(submit())
    assert "how long" in _texts(assistant.handle_message("zoe.martin", "remind me later")).lower()
    # the only request waiting for Zoe is found without a number
    found = _texts(assistant.handle_message("zoe.martin", "remind me in 6 hours"))
    assert "15:00" in found or "escalates" in found, found
    assert "Nothing waits" in _texts(assistant.handle_message("hannah.berg", "remind me in 2 hours"))


def test_digest_off_and_on_in_words(service, directory):
    """ "Stop my daily digest" opts the person out; "start my digest" opts them back in."""
    assistant = Assistant(service, directory, surface="web")
    assert "no daily digest" in _texts(assistant.handle_message("maria.lopez", "stop my daily digest"))
    with Session(service.engine) as s:
        pref = s.exec(select(NotificationPreference).where(NotificationPreference.person_id == "maria.lopez")).first()
        assert pref is not None and pref.digest is False
    assert "daily digest" in _texts(assistant.handle_message("maria.lopez", "start my digest"))
    with Session(service.engine) as s:
        pref = s.exec(select(NotificationPreference).where(NotificationPreference.person_id == "maria.lopez")).first()
        assert pref is not None and pref.digest is True
