"""A message Teams refuses for its size is a permanent failure: logged once, clearly, and never retried."""

from __future__ import annotations

import logging

import pytest
from factories import submit
from sqlalchemy import text
from teams_harness import running


@pytest.fixture
def teams(tmp_path, sqlite_template, clock, monkeypatch):  # type: ignore[no-untyped-def]
    db = tmp_path / "teams.db"
    db.write_bytes(sqlite_template.read_bytes())
    yield from running(f"sqlite:///{db}", clock, tmp_path, monkeypatch)


def test_a_card_teams_refuses_as_too_large_is_skipped_with_one_clear_log_line(teams, caplog, monkeypatch):  # type: ignore[no-untyped-def]
    """Teams answers 413 MessageSizeTooBig to the approver's card: the sync job finishes instead of being retried
    eight times as an outage, the log names the card, the size and why it is not retried, and the requester's
    own card still goes out."""
    approver = teams.runtime.service.view(teams.runtime.service.submit(submit(key="probe")).number).waiting_on[0]
    teams.install(approver)
    teams.install("jake.miller")
    bf, refused_to = teams.fake.bf, teams.user(approver).conversation
    original = bf.handle

    def refusing(method, path, headers, body):  # type: ignore[no-untyped-def]
        if method == "POST" and f"/conversations/{refused_to}/activities" in path and b"attachments" in body:
            return 413, {}, {"error": {"code": "MessageSizeTooBig", "message": "Message size too large."}}
        return original(method, path, headers, body)

    monkeypatch.setattr(bf, "handle", refusing)
    number = teams.runtime.service.submit(submit(key="refused")).number
    with caplog.at_level(logging.INFO):
        teams.drain()
    with teams.runtime.engine.connect() as conn:
        jobs = conn.execute(
            text("SELECT state, attempts FROM job WHERE kind = 'chat.sync' AND dedupe_key LIKE :key"),
            {"key": f"chat:{number}:%"},
        ).all()
    assert jobs and all(state == "done" and attempts == 1 for state, attempts in jobs), jobs
    refusals = [r for r in caplog.records if "MessageSizeTooBig" in r.getMessage() and number in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.ERROR
    assert "Not retried" in refusals[0].getMessage() and "bytes in UTF-16" in refusals[0].getMessage()
    assert not [r for r in caplog.records if "failed (attempt" in r.getMessage()]
    jake = teams.user("jake.miller")
    assert any(number in str(c["card"]) for c in bf.cards_to(jake))
