"""Files shared with the bot in Slack, as Slack sends them (a file_share message whose files the bot downloads
from url_private_download with its token): attached to the request whose thread they were shared in."""

from __future__ import annotations

import hashlib

import pytest
from slack_harness import TOKEN, WRAP, number_in, running, slack_id

from tests import attachment_files as files
from tests.fake_slack import TEAM


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def submitted(slack) -> str:  # type: ignore[no-untyped-def]
    slack.dm("jake.miller", WRAP)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    return number_in(slack.card_to("zoe.martin", "approve"))


def share(slack, person: str, shared: list[dict], *, thread: str | None = None, text: str = ""):  # type: ignore[no-untyped-def]
    """`person` shares files in their DM with the bot (in a thread when given), as Slack's file_share message."""
    user = slack_id(person)
    ts = f"{1_800_000_500 + len(slack.fake.calls)}.000300"
    event = {
        "type": "message",
        "subtype": "file_share",
        "channel_type": "im",
        "channel": "D" + user,
        "user": user,
        "text": text,
        "files": shared,
        "upload": False,
        "ts": ts,
        "event_ts": ts,
        "team": TEAM,
    }
    if thread:
        event["thread_ts"] = thread
    return slack.event(event)


def said_to(slack, person: str) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(c.args.get("text")) for c in slack.posts_to(person))


def test_a_quote_shared_in_the_requests_thread_is_attached(slack):  # type: ignore[no-untyped-def]
    """Jake shares the PDF quote in his request's thread: the bot downloads it with its token, attaches it, says
    so in the thread, and Zoe can read the same bytes."""
    number = submitted(slack)
    root = slack.root("jake.miller", number)
    quote = files.pdf()
    share(
        slack, "jake.miller", [slack.fake.share("Uline quote.pdf", "application/pdf", quote)], thread=root.result["ts"]
    )
    fetched = slack.fake.of("files-pri")
    assert fetched and fetched[0].token == TOKEN
    listed = slack.runtime.service.attachments(number, "zoe.martin")
    assert [(a.filename, a.sha256, a.surface) for a in listed] == [
        ("Uline quote.pdf", hashlib.sha256(quote).hexdigest(), "slack")
    ]
    assert f"Uline quote.pdf ({len(quote)} bytes) is attached to {number}" in said_to(slack, "jake.miller")


def test_every_copy_of_the_card_lists_the_file(slack):  # type: ignore[no-untyped-def]
    """Once Jake's quote is attached in his thread, Zoe's approval card lists it under Files, with its size and
    who attached it, and keeps its buttons."""
    number = submitted(slack)
    zoe = slack.card_to("zoe.martin", "approve")
    root = slack.root("jake.miller", number)
    share(
        slack, "jake.miller", [slack.fake.share("quote.pdf", "application/pdf", files.pdf())], thread=root.result["ts"]
    )
    slack.settle()
    now = str(slack.current(zoe).args["blocks"])
    assert "*Files*" in now and "quote.pdf (" in now and "from Jake Miller" in now
    assert "'action_id'" in now  # still a card to act on


def test_a_file_shared_twice_by_a_retried_event_is_attached_once(slack):  # type: ignore[no-untyped-def]
    """Slack delivers the same file_share again (a retry): the quote is attached once."""
    number = submitted(slack)
    root = slack.root("jake.miller", number)
    shared = [slack.fake.share("quote.pdf", "application/pdf", files.pdf())]
    share(slack, "jake.miller", shared, thread=root.result["ts"])
    share(slack, "jake.miller", shared, thread=root.result["ts"])
    assert len(slack.runtime.service.attachments(number, "jake.miller")) == 1


def test_too_big_or_renamed_files_are_refused_with_the_limit(slack):  # type: ignore[no-untyped-def]
    """A 25 MB scan is refused before it is downloaded, naming the 20 MB limit; a web page named quote.pdf is
    refused as not a real PDF; nothing is attached and the request waits on Zoe as before."""
    number = submitted(slack)
    root = slack.root("jake.miller", number)
    big = slack.fake.share("scan.pdf", "application/pdf", files.pdf(), size=25 * 1024 * 1024)
    fake_pdf = slack.fake.share("quote.pdf", "application/pdf", files.HTML)
    share(slack, "jake.miller", [big, fake_pdf], thread=root.result["ts"])
    said = said_to(slack, "jake.miller")
    assert "scan.pdf is 25 MB, too big to attach: attachments may be up to 20 MB" in said
    assert "quote.pdf is not a real PDF" in said
    assert [c.args["path"] for c in slack.fake.of("files-pri")] == [
        "/" + fake_pdf["url_private_download"].split("/", 3)[3]
    ]
    assert slack.runtime.service.attachments(number, "jake.miller") == []
    assert slack.runtime.service.view(number).waiting_on == ["zoe.martin"]


def test_a_file_shared_outside_a_thread_asks_where_it_belongs(slack):  # type: ignore[no-untyped-def]
    """A photo shared in the DM, not in a request's thread, is not guessed onto a request: the bot says where."""
    submitted(slack)
    share(slack, "jake.miller", [slack.fake.share("damage.png", "image/png", files.png())])
    assert "To attach damage.png, share it in the thread of the request's card" in said_to(slack, "jake.miller")
    assert not slack.fake.of("files-pri")


def test_the_token_goes_only_to_slack(slack):  # type: ignore[no-untyped-def]
    """A file whose address is not Slack's is not fetched with the bot token; the person is told it was not read."""
    number = submitted(slack)
    root = slack.root("jake.miller", number)
    odd = slack.fake.share("quote.pdf", "application/pdf", files.pdf())
    odd["url_private_download"] = "http://127.0.0.2:9/steal/quote.pdf"
    odd["url_private"] = "http://127.0.0.2:9/steal/quote.pdf"
    share(slack, "jake.miller", [odd], thread=root.result["ts"])
    assert "I couldn't read quote.pdf from Slack" in said_to(slack, "jake.miller")
    assert slack.runtime.service.attachments(number, "jake.miller") == []
