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


def send_file(teams, person: str, text: str, name: str, kind: str, data: bytes) -> list[str]:  # type: ignore[no-untyped-def]
    """`person` sends a file in their personal chat with the bot; returns the words the bot answered."""
    user = teams.user(person)
    before = len(teams.fake.bf.to(user))
    res = teams.post(teams.fake.file_message(user, text, name, kind, data))
    assert res.status_code == 200, res.text
    return [a.get("text") or "" for a in teams.fake.bf.to(user)[before:]]


def test_a_quote_sent_in_the_personal_chat_naming_the_request_is_attached(teams):  # type: ignore[no-untyped-def]
    """Jake sends his PDF quote with 'quote for PR-…': the bot downloads it from its pre-authorized address,
    attaches it, and says so; Zoe can read the same bytes."""
    number = submitted(teams)
    quote = files.pdf()
    said = send_file(teams, "jake.miller", f"quote for {number}", "Uline quote.pdf", "application/pdf", quote)
    assert any(s.startswith(f"Uline quote.pdf ({len(quote)} bytes) is attached to {number}") for s in said), said
    listed = teams.runtime.service.attachments(number, "zoe.martin")
    assert [(a.filename, a.surface) for a in listed] == [("Uline quote.pdf", "teams")]
    assert teams.runtime.service.attachment(number, listed[0].id, "zoe.martin")[1] == quote


def test_a_file_without_a_request_number_is_asked_about(teams):  # type: ignore[no-untyped-def]
    """A photo sent without saying which request is not guessed onto one: the bot asks for the number."""
    number = submitted(teams)
    said = send_file(teams, "jake.miller", "", "damage.png", "image/png", files.png())
    assert any("Which request is damage.png for?" in s for s in said), said
    assert teams.runtime.service.attachments(number, "jake.miller") == []


def test_a_renamed_file_is_refused_and_a_stranger_gets_not_found(teams):  # type: ignore[no-untyped-def]
    """A web page named quote.pdf is refused as not a real PDF; a Seattle technician naming a Dallas request is told
    it does not exist; nothing is attached."""
    number = submitted(teams)
    said = send_file(teams, "jake.miller", f"for {number}", "quote.pdf", "application/pdf", files.HTML)
    assert any("quote.pdf is not a real PDF" in s for s in said), said
    said = send_file(teams, "eric.larsen", f"for {number}", "mine.pdf", "application/pdf", files.pdf())
    assert any(f"There is no requisition {number}" in s for s in said), said
    assert teams.runtime.service.attachments(number, "jake.miller") == []
