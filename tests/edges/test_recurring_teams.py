"""Recurring purchases in Teams, as the Bot Framework sends the taps: the requester's card shows the releases with
Pause and End (Action.Execute verbs); Pause leaves them paused."""

from __future__ import annotations

from typing import Any

import pytest
from fake_teams import card, execute_actions
from teams_harness import Harness, running


@pytest.fixture
def teams(db_url, clock, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    yield from running(db_url, clock, tmp_path, monkeypatch)


def _cards_with(h: Harness, person: str, verb: str) -> list[dict[str, Any]]:
    found = []
    for activity in h.fake.bf.to(h.user(person)):
        content = card(activity)
        if content and verb in execute_actions(content):
            found.append(content)
    return found


def test_the_requesters_card_pauses_the_releases(teams: Harness):  # type: ignore[no-untyped-def]
    """Jake orders stretch wrap at $32 a month for 6 months and submits in Teams; the card he gets has Pause and End;
    Pause leaves the releases paused and the card in its place offers Resume."""
    teams.install("jake.miller")
    said = teams.say("jake.miller", "stretch wrap PKG-SW-18 from uline for DAL-OPS, $32 a month for 6 months")
    summary = next(card(a) for a in said if card(a) and "submit" in execute_actions(card(a)))
    assert teams.tap("jake.miller", summary, "submit").status_code == 200
    teams.drain()
    mine = _cards_with(teams, "jake.miller", "recurring.pause")
    assert mine, "no card with Pause releases"
    assert "recurring.end" in execute_actions(mine[-1]) and "Monthly, 6 releases" in str(mine[-1])
    tapped = teams.tap("jake.miller", mine[-1], "recurring.pause")
    assert tapped.status_code == 200
    shown = tapped.json()["value"]  # the card Teams shows in place of the tapped one
    assert "recurring.resume" in execute_actions(shown) and "recurring.pause" not in execute_actions(shown)
    number = teams.runtime.service.list(requester="jake.miller", limit=1)[0].number
    assert teams.runtime.service.get(number).schedule_state == "paused"
