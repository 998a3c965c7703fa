"""A requisition's files on its Teams cards: every copy lists them once one is attached elsewhere."""

from __future__ import annotations

import pytest
from fake_teams import texts_of
from teams_harness import running

from approvals.workflow.attachments import attach_command
from tests import attachment_files as files
from tests.edges.test_teams_stories import submitted


@pytest.fixture
def teams(db_url, clock, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    yield from running(db_url, clock, tmp_path, monkeypatch)


def test_a_quote_attached_in_the_web_chat_shows_on_the_teams_cards(teams):  # type: ignore[no-untyped-def]
    """Jake attaches his quote from the web chat; his Teams card and Zoe's list it under Files, with its size and
    who attached it."""
    number = submitted(teams)
    quote = files.pdf()
    teams.runtime.service.attach(
        attach_command(actor="jake.miller", surface="web", number=number, filename="Uline quote.pdf", data=quote),
        quote,
    )
    teams.drain()
    for person in ("jake.miller", "zoe.martin"):
        roots = [c for c in teams.fake.bf.cards_to(teams.user(person)) if number in texts_of(c["card"])]
        latest = teams.fake.bf.updates_of(roots[0]["id"])[-1]
        words = texts_of(latest)
        assert "Files" in words and "Uline quote.pdf (" in words and "from Jake Miller" in words, person
