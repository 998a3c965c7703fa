"""A requisition's files on Slack and Teams cards: pressed, each gives the person who pressed it a download link
of their own, short-lived, that goes through procurebot's read check and never shows the store's address."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from contracts.schemas import adaptive_card, problems
from contracts.test_contract_block_kit import slack_problems
from fake_slack import TEAM
from fake_teams import texts_of
from slack_harness import blocks_of, running as slack_running, slack_id
from teams_harness import running as teams_running

from approvals.workflow.attachments import attach_command
from bot.downloads import LINK_MINUTES, file_link
from tests import attachment_files as files
from tests.edges.test_slack_attachments import submitted as slack_submitted
from tests.edges.test_teams_stories import submitted as teams_submitted

LINK = re.compile(r"https?://[^\s|>\"]+/files/[A-Za-z0-9_.-]+")


def attach(runtime: Any, number: str, name: str, data: bytes, person: str = "jake.miller") -> None:
    runtime.service.attach(attach_command(actor=person, surface="web", number=number, filename=name, data=data), data)


def accessory(call: Any) -> dict[str, Any]:
    return next(b["accessory"] for b in blocks_of(call) if "accessory" in b and "*Files*" in b["text"]["text"])


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with slack_running(db_url, clock, directory) as harness:
        yield harness


@pytest.fixture
def teams(db_url, clock, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    yield from teams_running(db_url, clock, tmp_path, monkeypatch)


def slack_link(slack: Any, person: str, card: Any, value: str) -> str:
    """`person` presses the file (`value`: the button's or the picked option's) on `card`; the link shown to them."""
    before = len(slack.ephemeral_calls(person))
    slack.tap_element(person, card, accessory(card)["action_id"], value)
    shown = slack.ephemeral_calls(person)[before:]
    assert len(shown) == 1, shown
    found = LINK.search(json.dumps(shown[0].args.get("blocks")))
    assert found, shown[0].args
    return found.group(0)


def get(client: Any, url: str) -> Any:
    return client.get("/files/" + url.split("/files/", 1)[1])


def test_slack_approver_downloads_the_quote_through_a_link_of_her_own(slack):  # type: ignore[no-untyped-def]
    """Zoe's approval card lists Jake's quote with a Download button; pressing it shows her alone a link, which
    downloads the quote from procurebot (never the store's address) as a file, not a page; the card is valid
    Block Kit."""
    number = slack_submitted(slack)
    quote = files.pdf()
    attach(slack.runtime, number, "Uline quote.pdf", quote)
    slack.settle()
    card = slack.card_to("zoe.martin", "approve")
    assert slack_problems(blocks_of(card)) == []
    button = accessory(card)
    assert button["type"] == "button" and button["text"]["text"] == "Download"
    assert "sha256" not in json.dumps(blocks_of(card)) and "/files/" not in json.dumps(blocks_of(card))
    url = slack_link(slack, "zoe.martin", card, button["value"])
    shown = json.dumps(slack.ephemeral_calls("zoe.martin")[-1].args)
    assert "Uline quote.pdf" in shown and f"works for {LINK_MINUTES} minutes" in shown
    assert "sha256" not in url
    res = get(slack.client, url)
    assert res.status_code == 200 and res.content == quote
    assert res.headers["content-disposition"].startswith("attachment;")
    assert res.headers["x-content-type-options"] == "nosniff"
    assert not [c for c in slack.fake.calls if c.method == "chat.postMessage" and "/files/" in json.dumps(c.args)]


def test_slack_many_files_are_a_menu_and_each_picks_its_own(slack):  # type: ignore[no-untyped-def]
    """With three files, the card offers a Download menu (one element, no extra blocks); picking the photo
    downloads the photo."""
    number = slack_submitted(slack)
    photo = files.png()
    attach(slack.runtime, number, "quote.pdf", files.pdf())
    attach(slack.runtime, number, "damage.png", photo)
    attach(slack.runtime, number, "notes.txt", b"dock 4 first\n")
    slack.settle()
    card = slack.card_to("zoe.martin", "approve")
    assert slack_problems(blocks_of(card)) == []
    menu = accessory(card)
    assert menu["type"] == "static_select"
    assert [o["text"]["text"] for o in menu["options"]] == ["quote.pdf", "damage.png", "notes.txt"]
    url = slack_link(slack, "zoe.martin", card, menu["options"][1]["value"])
    assert get(slack.client, url).content == photo


def test_a_link_expires_and_cannot_be_altered_or_made_for_someone_else(slack):  # type: ignore[no-untyped-def]
    """Jake's link stops working after its minutes are up (he is told to press the file again); a link whose
    person was edited is refused; a link made for a Seattle technician who may not see the request gets the
    not-found answer."""
    number = slack_submitted(slack)
    attach(slack.runtime, number, "quote.pdf", files.pdf())
    slack.settle()
    root = slack.root("jake.miller", number)
    url = slack_link(slack, "jake.miller", slack.current(root), accessory(slack.current(root))["value"])
    assert get(slack.client, url).status_code == 200
    body, sig = url.split("/files/", 1)[1].split(".")
    forged = body.replace(body[-8:], "A" * 8) + "." + sig
    assert get(slack.client, "x/files/" + forged).status_code == 404
    row = slack.runtime.service.attachments(number, "jake.miller")[0]
    stranger = file_link(slack.runtime, number, row.id, "eric.larsen")
    res = get(slack.client, stranger)
    assert res.status_code == 404 and f"no requisition {number}" in res.text
    slack.clock.advance(minutes=LINK_MINUTES + 1)
    res = get(slack.client, url)
    assert res.status_code == 410 and "expired" in res.text and "Tap the file" in res.text


def test_slack_stranger_pressing_a_forwarded_file_gets_no_link(slack):  # type: ignore[no-untyped-def]
    """A card's button pressed by someone who may not see the request (a forwarded card) gives no link, only the
    not-found answer."""
    number = slack_submitted(slack)
    attach(slack.runtime, number, "quote.pdf", files.pdf())
    slack.settle()
    card = slack.card_to("zoe.martin", "approve")
    before = len(slack.fake.calls)
    slack.tap_element("eric.larsen", card, accessory(card)["action_id"], accessory(card)["value"])
    said = json.dumps([c.args for c in slack.fake.calls[before:]])
    assert "/files/" not in said and f"no requisition {number}" in said.replace("\\u2019", "'")
    assert slack_id("eric.larsen") in said


def test_teams_file_on_the_card_sends_a_link_to_whoever_presses_it(teams):  # type: ignore[no-untyped-def]
    """Zoe's Teams card lists Jake's quote as a line she can press (a valid Adaptive Card 1.5); pressing it sends
    her, in her personal chat, a card with an Open URL button to her own short-lived link, which downloads it."""
    number = teams_submitted(teams)
    quote = files.pdf()
    attach(teams.runtime, number, "Uline quote.pdf", quote)
    teams.drain()
    zoe = teams.user("zoe.martin")
    latest = [c for c in teams.fake.bf.cards_to(zoe) if number in texts_of(c["card"])]
    card = teams.fake.bf.updates_of(latest[-1]["id"])[-1]
    assert problems(adaptive_card(), {k: v for k, v in card.items() if k != "msteams"}) == []  # a Teams extension
    select = next(
        item["selectAction"] for item in card["body"] if item.get("type") == "Container" and "selectAction" in item
    )
    assert select["type"] == "Action.Execute" and select["verb"] == "file"
    before = len(teams.fake.bf.to(zoe))
    res = teams.post(teams.fake.execute(zoe, "file", dict(select["data"])))
    assert res.status_code == 200 and "download link for Uline quote.pdf" in res.json()["value"]
    sent = teams.fake.bf.to(zoe)[before:]
    assert len(sent) == 1
    content = sent[0]["attachments"][0]["content"]
    assert problems(adaptive_card(), content) == []
    open_url = content["actions"][0]
    assert open_url["type"] == "Action.OpenUrl" and "/files/" in open_url["url"]
    got = get(teams.client, open_url["url"])
    assert got.status_code == 200 and got.content == quote


def test_teams_edited_file_data_is_refused(teams):  # type: ignore[no-untyped-def]
    """Someone who edits the file id on the card's data (to reach another file) is refused before anything."""
    number = teams_submitted(teams)
    attach(teams.runtime, number, "quote.pdf", files.pdf())
    teams.drain()
    zoe = teams.user("zoe.martin")
    latest = [c for c in teams.fake.bf.cards_to(zoe) if number in texts_of(c["card"])]
    card = teams.fake.bf.updates_of(latest[-1]["id"])[-1]
    select = next(i["selectAction"] for i in card["body"] if "selectAction" in i)
    before = len(teams.fake.bf.to(zoe))
    res = teams.post(teams.fake.execute(zoe, "file", {**select["data"], "value": "999"}))
    assert res.json()["statusCode"] == 400
    assert teams.fake.bf.to(zoe)[before:] == []


def test_a_card_with_many_files_stays_within_slack_and_teams_limits():  # type: ignore[no-untyped-def]
    """A requisition with 150 files (long names): Slack's card keeps one Download menu of at most 100 files,
    valid Block Kit within 50 blocks; Teams' card is cut under its message budget, lists 20 files it can press and
    says how many more the full requisition has."""
    from bot.cards.model import Card, CardAction, CardFile
    from bot.slack import blocks
    from bot.teams import cards

    many = [CardFile(id=i + 1, filename=f"{'quote-' * 20}{i}.pdf", note="120 KB, from Jake Miller") for i in range(150)]
    card = Card(
        kind="approval_request",
        title="PR-1042: stretch wrap",
        number="PR-1042",
        attachments=many,
        actions=[CardAction(id="approve", label="Approve", value={"number": "PR-1042", "key": "k"})],
    )
    drawn = blocks.card_blocks(card)
    assert slack_problems(drawn) == [] and len(drawn) <= blocks.MAX_BLOCKS
    menus = [b["accessory"] for b in drawn if "accessory" in b]
    assert len(menus) == 1 and len(menus[0]["options"]) == blocks.MAX_OPTIONS
    assert all(len(o["text"]["text"]) <= blocks.MAX_OPTION_TEXT for o in menus[0]["options"])
    assert any(a["action_id"].startswith("pb:full:") for b in drawn if b["type"] == "actions" for a in b["elements"])
    content = cards.render(card, secret=b"k" * 32)
    assert cards.message_bytes(content) <= cards.BUDGET_BYTES - cards.ENVELOPE_BYTES
    assert problems(adaptive_card(), {k: v for k, v in content.items() if k != "msteams"}) == []
    pressable = [i for i in content["body"] if i.get("type") == "Container" and "selectAction" in i]
    assert len(pressable) == cards.MAX_FILES_CUT
    assert "130 more files, cut to fit in Teams" in texts_of(content)


def test_slack_full_requisition_modal_offers_the_files_too(slack):  # type: ignore[no-untyped-def]
    """In the *See the full requisition* modal the files have the same Download button; pressing it there sends the
    link to the person's DM (a modal has no place for an ephemeral message)."""
    from bot.slack import blocks

    number = slack_submitted(slack)
    quote = files.pdf()
    attach(slack.runtime, number, "quote.pdf", quote)
    card = blocks.full_blocks(slack.bot.assistant.card_for(number, "zoe.martin"))
    assert slack_problems(card) == []
    button = next(b["accessory"] for b in card if "accessory" in b)
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": slack_id("zoe.martin"), "team_id": TEAM},
        "api_app_id": "APROCURE",
        "trigger_id": "trig-modal",
        "container": {"type": "view", "view_id": "V1"},
        "view": {"id": "V1", "type": "modal", "blocks": card},
        "actions": [{"type": "button", "action_id": button["action_id"], "value": button["value"], "block_id": "b"}],
    }
    slack.interact(payload)
    posted = [c for c in slack.posts_to("zoe.martin") if "/files/" in json.dumps(c.args.get("blocks"))]
    assert len(posted) == 1
    url = LINK.search(json.dumps(posted[0].args["blocks"])).group(0)  # type: ignore[union-attr]
    assert get(slack.client, url).content == quote
