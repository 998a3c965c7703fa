"""Comments and the approval chain in Teams, as the Bot Framework sends a card's Action.Execute."""

from __future__ import annotations

import pytest
from fake_teams import texts_of
from teams_harness import running

from tests.edges.test_teams_stories import submitted


@pytest.fixture
def teams(db_url, clock, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    yield from running(db_url, clock, tmp_path, monkeypatch)


def test_an_approver_comments_from_the_card_and_every_copy_shows_it(teams):  # type: ignore[no-untyped-def]
    """Zoe's card shows the approval chain; she comments from its form; Jake's updated card shows her words."""
    number = submitted(teams)
    zoe, jake = teams.user("zoe.martin"), teams.user("jake.miller")
    (approval,) = teams.fake.bf.cards_to(zoe)
    assert "Approval chain" in texts_of(approval["card"]) and "waiting on Zoe Martin" in texts_of(approval["card"])
    res = teams.tap("zoe.martin", approval["card"], "comment", text="Is 40 rolls enough for peak?")
    assert res.status_code == 200 and f"Your comment is on {number}" in texts_of(res.json()["value"])
    assert [c.body for c in teams.runtime.service.comments(number, "jake.miller")] == ["Is 40 rolls enough for peak?"]
    teams.drain()
    roots = [c for c in teams.fake.bf.cards_to(jake) if number in texts_of(c["card"])]
    latest = teams.fake.bf.updates_of(roots[0]["id"])[-1]
    assert "Zoe Martin at" in texts_of(latest) and "Is 40 rolls enough for peak?" in texts_of(latest)


def test_a_comment_without_words_asks_for_them(teams):  # type: ignore[no-untyped-def]
    """The Comment form sent empty keeps nothing and says what to write."""
    number = submitted(teams)
    (approval,) = teams.fake.bf.cards_to(teams.user("zoe.martin"))
    res = teams.tap("zoe.martin", approval["card"], "comment")
    assert "Write your comment first" in texts_of(res.json()["value"])
    assert teams.runtime.service.comments(number, "zoe.martin") == []
