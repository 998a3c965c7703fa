"""Recurring purchases in Slack, as Slack sends the taps: the requester's card shows the releases with Pause and
End; Pause redraws it with Resume."""

from __future__ import annotations

import pytest
from slack_harness import has_button, number_in, running, text_of


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def test_the_requesters_card_pauses_and_resumes_the_releases(slack):  # type: ignore[no-untyped-def]
    """Jake orders stretch wrap at $32 a month for 6 months and submits; his card has Pause and End; Pause
    leaves the releases paused and the card offers Resume."""
    slack.dm("jake.miller", "stretch wrap PKG-SW-18 from uline for DAL-OPS, $32 a month for 6 months")
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    card = slack.card_to("jake.miller", "recurring.pause")
    number = number_in(card)
    assert "Monthly, 6 releases" in text_of(card) and has_button(card, "recurring.end")
    slack.tap("jake.miller", card, "recurring.pause")
    assert slack.runtime.service.get(number).schedule_state == "paused"
    assert has_button(slack.card_to("jake.miller", "recurring.resume", number), "recurring.end")
