"""Block Kit rendering of cards stays within Slack's limits and never lets people's words become markup."""

from __future__ import annotations

import json

from bot.cards.model import Card, CardAction, Fact
from bot.slack import blocks, views


def _sections(rendered: list[dict]) -> list[str]:
    out = []
    for b in rendered:
        if b.get("text", {}).get("type") == "mrkdwn":
            out.append(b["text"]["text"])
        out += [f["text"] for f in b.get("fields", [])]
        out += [e.get("text", "") for e in b.get("elements", []) if b["type"] == "context"]
    return out


def test_approval_card_has_facts_why_you_exceptions_and_buttons():
    """An approver's card shows the facts, why them, what is unusual, and Approve / Reject / Ask for info."""
    card = Card(
        kind="approval_request",
        title="PR-1042: stretch wrap",
        number="PR-1042",
        facts=[Fact(label="Total", value="$1,280.00"), Fact(label="Supplier", value="Uline")],
        lines=["40 rolls x stretch wrap @ $32.00 = $1,280.00"],
        why_you="Manager of the requester",
        exceptions=["Marked as an emergency."],
        status="Waiting on Zoe Martin (Manager).",
        actions=[
            CardAction(id="approve", label="Approve", style="primary", value={"number": "PR-1042"}),
            CardAction(id="reject", label="Reject", style="danger", value={"number": "PR-1042"}, input_label="Reason"),
        ],
    )
    rendered = blocks.card_blocks(card)
    text = json.dumps(rendered)
    assert rendered[0]["type"] == "header" and "Why you:" in text and "emergency" in text
    (actions,) = [b for b in rendered if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == ["pb:approve:0", "pb:reject:1"]
    assert actions["elements"][0]["style"] == "primary"
    assert blocks.parse_action("pb:reject:1", actions["elements"][1]["value"]) == ("reject", {"number": "PR-1042"})


def test_long_content_is_cut_to_slack_limits_with_a_see_everything_button():
    """A 400-line request with 30 facts renders in at most 50 blocks, 3,000 characters a section, and offers
    'See the full requisition' as a button anyone can tap, not a link to a page only admins can open."""
    card = Card(
        kind="status_answer",
        title="T" * 400,
        number="PR-7",
        lines=[f"line {i} " + "x" * 200 for i in range(400)],
        facts=[Fact(label=f"F{i}", value="v" * 2500) for i in range(30)],
        exceptions=["e" * 5000],
        status="s" * 4000,
        actions=[CardAction(id="status", label="Open " + "L" * 100, value={"number": "PR-7"})] * 30,
    )
    rendered = blocks.card_blocks(card)
    assert len(rendered) <= 50
    assert len(rendered[0]["text"]["text"]) <= 150
    assert all(len(t) <= 3000 for t in _sections(rendered))
    assert all(len(f["text"]) <= 2000 for b in rendered for f in b.get("fields", []))
    assert all(len(b.get("fields", [])) <= 10 for b in rendered)
    assert all(len(b["elements"]) <= 25 for b in rendered if b["type"] == "actions")
    assert all(len(e["text"]["text"]) <= 75 for b in rendered if b["type"] == "actions" for e in b["elements"])
    full = [
        e for b in rendered if b["type"] == "actions" for e in b["elements"] if e["action_id"].startswith("pb:full:")
    ]
    assert len(full) == 1
    assert blocks.parse_action(full[0]["action_id"], full[0]["value"]) == ("full", {"number": "PR-7"})
    assert "http" not in json.dumps(rendered) and "console" not in json.dumps(rendered)


def test_a_card_that_fits_has_no_see_everything_button():
    """A short card is shown whole: no 'See the full requisition' button, nothing said about cutting."""
    card = Card(
        kind="status_answer",
        title="PR-8: tape",
        number="PR-8",
        lines=["2 cases x tape"],
        facts=[Fact(label="Total", value="$130.00")],
    )
    rendered = json.dumps(blocks.card_blocks(card))
    assert "pb:full:" not in rendered and "Cut short" not in rendered


def test_the_full_requisition_modal_holds_what_the_card_had_to_cut():
    """The modal behind the button has every line and the whole of each long fact, split over sections."""
    card = Card(
        kind="status_answer",
        title="PR-7: many things",
        number="PR-7",
        lines=[f"line {i} " + "x" * 100 for i in range(200)],
        facts=[Fact(label="Justification", value="j" * 5000)],
    )
    modal = views.full_modal(card)
    text = json.dumps(modal)
    assert len(modal["blocks"]) <= 100 and all(len(t) <= 3000 for t in _sections(modal["blocks"]))
    assert all(f"line {i} " in text for i in range(200)) and text.count("j") >= 5000
    assert modal["title"]["text"] == "PR-7" and "submit" not in modal


def test_many_blocks_are_cut_and_say_so():
    """More facts than fit in 50 blocks: the card keeps its buttons, says it was cut short and adds the button."""
    card = Card(
        kind="queue",
        title="Queue",
        number="PR-9",
        facts=[Fact(label=str(i), value="x") for i in range(600)],
        actions=[CardAction(id="approve", label="Approve", value={"number": "PR-9"})],
    )
    rendered = blocks.card_blocks(card)
    assert len(rendered) == 50 and rendered[-1]["type"] == "actions"
    assert "Cut short" in json.dumps(rendered)
    assert [e["action_id"] for e in rendered[-1]["elements"]] == ["pb:approve:0", "pb:full:1"]


def test_peoples_words_cannot_become_mentions_or_links():
    """A justification with <!channel> and a fake link is shown as text, never as a mention or link."""
    card = Card(kind="status_answer", title="<!channel>", facts=[Fact(label="Why", value="<!channel> <http://x|c>")])
    rendered = blocks.card_blocks(card)
    assert rendered[0]["text"]["type"] == "plain_text"  # the header never renders markup
    mrkdwn = " ".join(_sections(rendered)) + blocks.fallback(card, "<!here> " + card.title)
    assert "<!" not in mrkdwn and "&lt;!channel&gt;" in mrkdwn and "<http://x" not in mrkdwn


def test_payload_values_are_reduced_to_known_ids():
    """A tampered button value keeps only the ids the card could carry; junk is dropped, not trusted."""
    name, value = blocks.parse_action(
        "pb:approve:0", json.dumps({"number": "PR-1", "actor": "ceo", "key": "k", "nested": {"a": 1}})
    )
    assert name == "approve" and value == {"number": "PR-1", "key": "k"}
    assert blocks.parse_action("other:thing", "{}") is None
    assert blocks.parse_action("pb:approve:0", "not json") == ("approve", {})


def test_slack_markup_in_what_people_type_is_undone_before_the_assistant_reads_it():
    """ "delegate to <@U1> &amp; co" reaches the assistant as "delegate to Priya Nair & co"; links keep labels."""
    names = {"U1": "Priya Nair"}
    assert blocks.plain("delegate to <@U1> &amp; co", names.get) == "delegate to Priya Nair & co"
    assert (
        blocks.plain("see <https://x.example/q|the quote> in <#C9|purchasing>", names.get)
        == "see the quote in #purchasing"
    )
    assert blocks.plain("<@U404|sam> needs 3 &lt; 4 boxes", names.get) == "sam needs 3 < 4 boxes"


def test_times_on_cards_are_in_each_readers_time_zone():
    """A card saying 'Approved by Zoe Martin at 2026-11-23 15:42 UTC' carries Slack's date formatting (each reader
    sees their own zone) with the UTC words as its fallback, in status, facts and lines alike; the header and the
    notification text keep the plain words."""
    at = "2026-11-23 15:42 UTC"
    card = Card(
        kind="decision_result",
        title=f"PR-1042 approved at {at}",
        number="PR-1042",
        facts=[Fact(label="Asked", value=f"by Jake at {at}")],
        lines=[f"Quoted at {at}"],
        status=f"Approved by Zoe Martin at {at}.",
    )
    token = f"<!date^1795448520^{{date_short_pretty}} at {{time}}|{at}>"
    rendered = blocks.message_blocks(card, "")
    texts = _sections(rendered)
    assert any(t.endswith(f"Approved by Zoe Martin at {token}.") for t in texts)
    assert any(token in t and "Asked" in t for t in texts) and any(f"Quoted at {token}" in t for t in texts)
    assert rendered[0]["text"]["text"] == f"PR-1042 approved at {at}"  # plain_text shows no markup
    assert "<!date" not in blocks.fallback(card, "")
    assert blocks.message_blocks(card, "") == blocks._with_local_times(rendered)  # converted once, never twice


def test_a_time_that_would_not_fit_stays_in_utc_words():
    """Near the 3,000-character limit the longer date markup is not used: the text stays whole, in UTC words."""
    text = "x" * 2970 + " 2026-11-23 15:42 UTC"
    assert blocks.local_times(text) == text
    assert blocks.local_times("at 2026-11-23 15:42 UTC").startswith("at <!date^1795448520^")
