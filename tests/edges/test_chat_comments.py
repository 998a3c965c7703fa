"""Comments from chat: the Comment button on a card and 'comment PR-1042 ...' typed, on the conversation every
surface shares."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from approvals.jobqueue import Job
from bot.intake.assistant import Assistant
from bot.intake.routing import route, typed_comment
from tests.edges.test_intake_conversation import action, cards, submit_wrap, words


@pytest.fixture
def bot(service, directory):  # type: ignore[no-untyped-def]
    return Assistant(service, directory, surface="web", draft_ttl=timedelta(hours=24))


def told(service) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with Session(service.engine) as s:
        jobs = s.exec(select(Job).where(Job.kind == "notify")).all()
    return {j.payload["person"]: j.payload["text"] for j in jobs if j.payload.get("kind") in ("comment", "mention")}


def test_the_approver_comments_from_the_card_and_the_requester_hears_it(bot, service):
    """Zoe taps Comment on the card waiting for her and writes a note; Jake is told, and she gets the card back."""
    number = submit_wrap(bot)[0].card.number
    zoe_card = bot.card_for(number, "zoe.martin")
    assert [a.id for a in zoe_card.actions] == ["approve", "reject", "request_info", "comment"]
    replies = bot.handle_action("zoe.martin", "comment", action(zoe_card, "comment").value, "Is 40 enough for peak?")
    assert f"Your comment is on {number}" in words(replies) and cards(replies)[0].number == number
    assert told(service)["jake.miller"].endswith("Is 40 enough for peak?")


def test_a_double_tap_keeps_one_comment_and_a_second_comment_is_its_own(bot, service):
    """The same words sent twice from one card keep one comment; different words from the same card are new."""
    number = submit_wrap(bot)[0].card.number
    value = action(bot.card_for(number, "zoe.martin"), "comment").value
    bot.handle_action("zoe.martin", "comment", value, "Checking stock first.")
    bot.handle_action("zoe.martin", "comment", value, "Checking stock first.")
    bot.handle_action("zoe.martin", "comment", value, "Stock is low, go ahead.")
    assert [c.body for c in service.comments(number, "jake.miller")] == [
        "Checking stock first.",
        "Stock is low, go ahead.",
    ]


def test_a_typed_comment_with_a_mention(bot, service):
    """Jake types 'comment PR-… @Maria Lopez can you check?': Maria is told she was mentioned."""
    number = submit_wrap(bot)[0].card.number
    replies = bot.handle_message("jake.miller", f"comment {number}: @Maria Lopez can you check the price?")
    assert f"Your comment is on {number}" in words(replies)
    assert told(service)["maria.lopez"].startswith(f"Jake Miller mentioned you on {number}")


def test_a_stranger_is_told_the_number_does_not_exist(bot, service):
    """A Seattle technician comments on a Dallas request: told there is no such requisition, shown no card."""
    number = submit_wrap(bot)[0].card.number
    replies = bot.handle_message("eric.larsen", f"comment {number} who ordered this?")
    assert f"There is no requisition {number}" in words(replies) and not cards(replies)
    assert service.comments(number, "jake.miller") == []


def test_an_empty_comment_asks_for_words(bot, service):
    """The Comment button sent with nothing written asks for the words and keeps nothing."""
    number = submit_wrap(bot)[0].card.number
    value = action(bot.card_for(number, "zoe.martin"), "comment").value
    assert "Write your comment first" in words(bot.handle_action("zoe.martin", "comment", value, "  "))
    assert service.comments(number, "jake.miller") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("comment PR-1042: can we wait?", ("PR-1042", "can we wait?")),
        ("Comment on pr 1042 - supplier called", ("PR-1042", "supplier called")),
        ("note PR-7 thanks", ("PR-7", "thanks")),
        ("need 40 comment cards for the lobby", None),
        ("status PR-1042", None),
    ],
)
def test_typed_comments_are_read_and_nothing_else_is(text, expected):
    """'comment PR-1042: …' and 'note PR-7 …' are comments; a purchase that says 'comment' and a status question
    are not."""
    assert typed_comment(text) == expected
    assert (route(text).handler == "comment") == (expected is not None)


def test_every_card_shows_the_newest_comments_and_how_many_came_before(bot, service, clock):
    """Five comments: Jake's card shows the newest three with who and when, and says two came before."""
    number = submit_wrap(bot)[0].card.number
    for i in range(5):
        clock.advance(minutes=10)
        bot.handle_message("zoe.martin" if i % 2 else "jake.miller", f"comment {number} note {i}")
    card = bot.card_for(number, "jake.miller")
    assert card.comments[0].startswith("(2 earlier comments")
    assert card.comments[1:] == [
        "Jake Miller at 2026-11-23 15:30 UTC: note 2",
        "Zoe Martin at 2026-11-23 15:40 UTC: note 3",
        "Jake Miller at 2026-11-23 15:50 UTC: note 4",
    ]
    assert bot.card_for(number, "zoe.martin").comments == card.comments  # the approver reads the same
