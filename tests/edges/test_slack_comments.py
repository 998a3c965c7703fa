"""Comments in Slack, as Slack sends them: the Comment button's modal, a reply in a requisition's thread, and a
Slack user mention that reaches the person it names."""

from __future__ import annotations

import pytest
from slack_harness import WRAP, has_button, number_in, running, slack_id
from sqlmodel import Session, select

from approvals.jobqueue import Job
from tests.edges.test_slack_stories import _modal, _words


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def _submit(slack) -> str:  # type: ignore[no-untyped-def]
    slack.dm("jake.miller", WRAP)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    return number_in(slack.card_to("zoe.martin", "approve"))


def told(slack) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with Session(slack.runtime.engine) as s:
        jobs = s.exec(select(Job).where(Job.kind == "notify")).all()
    return {j.payload["person"]: j.payload["kind"] for j in jobs if j.payload.get("kind") in ("comment", "mention")}


def test_the_comment_button_opens_a_modal_and_the_requester_is_told(slack):  # type: ignore[no-untyped-def]
    """Zoe taps Comment on her card; a modal asks for the words; Jake is told; the card keeps its buttons."""
    number = _submit(slack)
    zoe = slack.card_to("zoe.martin", "comment")
    slack.tap("zoe.martin", zoe, "comment")
    modal = _modal(slack)
    assert modal["title"]["text"].startswith("Comment on PR-") and modal["submit"]["text"] == "Comment"
    assert slack.submit_view("zoe.martin", modal, _words("Is 40 enough for peak?")).status_code == 200
    assert [c.body for c in slack.runtime.service.comments(number, "zoe.martin")] == ["Is 40 enough for peak?"]
    assert told(slack) == {"jake.miller": "comment"}
    assert has_button(slack.current(zoe), "approve")


def test_a_reply_in_the_requisition_thread_is_a_comment_not_a_new_request(slack):  # type: ignore[no-untyped-def]
    """Jake replies 'supplier confirmed Friday' in his request's thread: a comment for Zoe, no new draft."""
    number = _submit(slack)
    root = slack.root("jake.miller", number)
    slack.dm("jake.miller", "supplier confirmed delivery on Friday", thread=root.result["ts"])
    assert [c.body for c in slack.runtime.service.comments(number, "jake.miller")] == [
        "supplier confirmed delivery on Friday"
    ]
    assert told(slack) == {"zoe.martin": "comment"}
    assert not [c for c in slack.posts_to("jake.miller") if "Ready to submit?" in str(c.args)][1:]


def test_a_slack_mention_in_the_thread_reaches_that_person(slack):  # type: ignore[no-untyped-def]
    """Zoe replies in her card's thread with <@maria>: Maria Lopez is told she was mentioned."""
    number = _submit(slack)
    zoe = slack.card_to("zoe.martin", "approve")
    slack.dm("zoe.martin", f"<@{slack_id('maria.lopez')}> can you confirm the budget?", thread=zoe.result["ts"])
    kept = slack.runtime.service.comments(number, "zoe.martin")
    assert kept and kept[-1].mentions == ["maria.lopez"]
    assert told(slack)["maria.lopez"] == "mention"
