"""Files sent in Slack or Teams while a request is still being written (before Submit): checked when they
arrive, kept with the draft and listed on its summary, attached when it is submitted, discarded when it is
cancelled."""

from __future__ import annotations

import json

import pytest
from fake_teams import texts_of
from slack_harness import WRAP, blocks_of, number_in, running as slack_running
from sqlmodel import Session
from teams_harness import only_card, running as teams_running

from approvals.attachment_store import AttachmentBlob, key_for
from tests import attachment_files as files
from tests.edges.test_slack_attachments import said_to, share
from tests.edges.test_teams_attachments import send_file


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with slack_running(db_url, clock, directory) as harness:
        yield harness


@pytest.fixture
def teams(db_url, clock, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    yield from teams_running(db_url, clock, tmp_path, monkeypatch)


def test_slack_quote_shared_before_submit_is_listed_then_attached(slack):  # type: ignore[no-untyped-def]
    """Jake shares the PDF quote in the DM while his request waits on Submit: he is told it is kept, the summary
    lists it, and once he submits, the requisition carries it and Zoe's approval card lists it."""
    slack.dm("jake.miller", WRAP)
    quote = files.pdf()
    share(slack, "jake.miller", [slack.fake.share("Uline quote.pdf", "application/pdf", quote)])
    assert "Uline quote.pdf" in said_to(slack, "jake.miller")
    assert "kept with your request and will be attached to it when you submit it" in said_to(slack, "jake.miller")
    summary = slack.card_to("jake.miller", "submit")
    shown = json.dumps(blocks_of(summary))
    assert "*Files*" in shown and "Uline quote.pdf" in shown and "attached when you submit" in shown
    assert "accessory" not in shown  # nothing to download before there is a requisition
    slack.tap("jake.miller", summary, "submit")
    number = number_in(slack.card_to("zoe.martin", "approve"))
    listed = slack.runtime.service.attachments(number, "zoe.martin")
    assert [(a.filename, a.uploaded_by, a.surface) for a in listed] == [("Uline quote.pdf", "jake.miller", "slack")]
    assert slack.runtime.service.attachment(number, listed[0].id, "zoe.martin")[1] == quote
    assert f"Uline quote.pdf ({len(quote)} bytes) is attached to {number}" in said_to(slack, "jake.miller")
    assert "Uline quote.pdf" in json.dumps(blocks_of(slack.card_to("zoe.martin", "approve")))


def test_slack_files_over_the_limit_are_refused_when_they_arrive(slack):  # type: ignore[no-untyped-def]
    """Before Submit, a 25 MB scan is refused naming the 20 MB limit and a web page named quote.pdf as not a real
    PDF; the summary lists neither, and the submitted request carries no file."""
    slack.dm("jake.miller", WRAP)
    big = slack.fake.share("scan.pdf", "application/pdf", files.pdf(), size=25 * 1024 * 1024)
    fake_pdf = slack.fake.share("quote.pdf", "application/pdf", files.HTML)
    share(slack, "jake.miller", [big, fake_pdf])
    said = said_to(slack, "jake.miller")
    assert "scan.pdf is 25 MB, too big to attach: attachments may be up to 20 MB" in said
    assert "quote.pdf is not a real PDF" in said and "kept with your request" not in said
    summary = slack.card_to("jake.miller", "submit")
    assert "*Files*" not in json.dumps(blocks_of(summary))
    slack.tap("jake.miller", summary, "submit")
    number = number_in(slack.card_to("zoe.martin", "approve"))
    assert slack.runtime.service.attachments(number, "jake.miller") == []


def test_slack_cancelling_the_draft_discards_its_files(slack):  # type: ignore[no-untyped-def]
    """Jake shares a photo, then cancels the request: he is told the file was discarded, its bytes are gone from
    the store, and his next request starts without it."""
    slack.dm("jake.miller", WRAP)
    photo = files.png()
    share(slack, "jake.miller", [slack.fake.share("damage.png", "image/png", photo)])
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "cancel")
    assert "The 1 file sent with it was discarded." in said_to(slack, "jake.miller")
    with Session(slack.runtime.engine) as session:
        assert session.get(AttachmentBlob, key_for(photo)) is None
    slack.dm("jake.miller", WRAP)
    summary = slack.card_to("jake.miller", "submit")
    assert "damage.png" not in json.dumps(blocks_of(summary))


def test_slack_a_retried_share_is_kept_once(slack):  # type: ignore[no-untyped-def]
    """Slack delivers the same file_share twice before Submit: the file is kept and attached once."""
    slack.dm("jake.miller", WRAP)
    shared = [slack.fake.share("quote.pdf", "application/pdf", files.pdf())]
    share(slack, "jake.miller", shared)
    share(slack, "jake.miller", shared)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    number = number_in(slack.card_to("zoe.martin", "approve"))
    assert [a.filename for a in slack.runtime.service.attachments(number, "jake.miller")] == ["quote.pdf"]


def test_slack_a_file_with_no_request_in_progress_still_asks_where(slack):  # type: ignore[no-untyped-def]
    """With no request being written, a file shared outside a thread is not kept anywhere: the bot says where."""
    share(slack, "jake.miller", [slack.fake.share("damage.png", "image/png", files.png())])
    assert "share it in the thread of the request's card" in said_to(slack, "jake.miller")
    assert not slack.fake.of("files-pri")


def test_teams_file_sent_before_submit_is_kept_and_attached(teams):  # type: ignore[no-untyped-def]
    """In Teams, Jake sends the quote without a number while his request waits on Submit: it is kept, the summary
    card lists it, and Submit attaches it; a renamed web page is refused when it arrives."""
    teams.install("zoe.martin")
    only_card(teams.say("jake.miller", WRAP))
    quote = files.pdf()
    said = send_file(teams, "jake.miller", "here is the quote", "Uline quote.pdf", "application/pdf", quote)
    assert any("kept with your request" in s for s in said), said
    said = send_file(teams, "jake.miller", "", "spec.pdf", "application/pdf", files.HTML)
    assert any("spec.pdf is not a real PDF" in s for s in said), said
    summaries = [c["card"] for c in teams.fake.bf.cards_to(teams.user("jake.miller"))]
    summary = summaries[-1]
    assert "Uline quote.pdf" in texts_of(summary) and "spec.pdf" not in texts_of(summary)
    res = teams.tap("jake.miller", summary, "submit")
    assert res.status_code == 200, res.text
    number = next(w for w in texts_of(res.json()["value"]).split() if w.startswith("PR-")).strip(":.")
    listed = teams.runtime.service.attachments(number, "jake.miller")
    assert [(a.filename, a.surface) for a in listed] == [("Uline quote.pdf", "teams")]
    assert "Uline quote.pdf" in texts_of(res.json()["value"])


def test_slack_a_draft_that_expires_takes_its_files_with_it(slack):  # type: ignore[no-untyped-def]
    """Jake shares a photo while writing a request, then never answers: when the draft expires, the photo's
    bytes go too, as on Cancel."""
    slack.dm("jake.miller", WRAP)
    photo = files.png()
    share(slack, "jake.miller", [slack.fake.share("damage.png", "image/png", photo)])
    with Session(slack.runtime.engine) as session:
        assert session.get(AttachmentBlob, key_for(photo)) is not None
    slack.clock.advance(hours=25)
    assert [p for p, _ in slack.bot.assistant.expire_drafts()] == ["jake.miller"]
    with Session(slack.runtime.engine) as session:
        assert session.get(AttachmentBlob, key_for(photo)) is None
