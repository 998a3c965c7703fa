"""Every Adaptive Card procurebot sends to Teams, checked against Microsoft's Adaptive Card 1.5 schema,
the Teams SDK's model of the `msteams` properties, unique element ids, and Teams' message size limit."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from contracts.samples import cards_of_every_kind, service_on
from contracts.schemas import adaptive_card, problems
from fake_teams import execute_actions
from microsoft_teams.cards import AdaptiveCard, TeamsCardProperties
from teams_harness import running

from bot.cards.model import Card
from bot.teams import cards

KEY = b"k" * 32
TEAMS_LIMIT = 100_000  # Teams answers 413 MessageSizeTooBig above about this many bytes of UTF-16


@pytest.fixture
def every_card(tmp_path, sqlite_template, directory, policy, clock) -> list[tuple[str, Card]]:  # type: ignore[no-untyped-def]
    service = service_on(tmp_path, sqlite_template, directory, policy, clock)
    try:
        return cards_of_every_kind(service, directory)
    finally:
        service.engine.dispose()


def _drawn(every_card: list[tuple[str, Card]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, card in every_card:
        yield name, cards.render(card, secret=KEY, refresh_user_ids=["29:zoe", "29:jake"])
        yield (
            f"{name} with a banner",
            cards.render(card, secret=KEY, banner="Approved. Jake is told.", banner_tone="ok"),
        )


def _ids(node: Any) -> Iterator[str]:
    """Every element and input id on a card, in its body, its actions and the forms of its ShowCards."""
    if isinstance(node, dict):
        if isinstance(node.get("id"), str):
            yield node["id"]
        for key, child in node.items():
            if key != "data":  # an action's data is ours, not card elements
                yield from _ids(child)
    elif isinstance(node, list):
        for child in node:
            yield from _ids(child)


def test_the_sample_covers_every_card_kind(every_card):  # type: ignore[no-untyped-def]
    """The cards checked here include one of each kind the card model names, and a long requisition."""
    kinds = {card.kind for _, card in every_card}
    assert kinds == set(Card.model_fields["kind"].annotation.__args__)  # type: ignore[union-attr]
    assert len(next(card for name, card in every_card if name == "long_approval_request").lines) == 200


def test_every_card_is_a_valid_adaptive_card_1_5(every_card):  # type: ignore[no-untyped-def]
    """Each card kind, drawn for an approver with a refresh and with a banner, passes the official 1.5 schema."""
    validator = adaptive_card()
    for name, content in _drawn(every_card):
        host = {k: v for k, v in content.items() if k != "msteams"}  # a Teams extension, not in the card schema
        assert problems(validator, host) == [], name


def test_teams_properties_are_what_the_teams_sdk_accepts(every_card):  # type: ignore[no-untyped-def]
    """Every card reads as the Teams SDK's own AdaptiveCard model, and its `msteams` as the SDK's
    TeamsCardProperties: width is "full" (the SDK refuses "Full"), nothing unknown."""
    for name, content in _drawn(every_card):
        AdaptiveCard.model_validate(content)
        props = TeamsCardProperties.model_validate(content["msteams"])
        assert props.width == "full", name
        assert set(content["msteams"]) <= {"width", "entities"}, name


def test_ids_are_unique_across_the_whole_card(every_card):  # type: ignore[no-untyped-def]
    """The approver's card has three forms (Reject, Ask for info, Comment): each text field has its own id, as the
    official renderer requires (it reports DuplicateId otherwise), and the same holds on every card kind."""
    for name, content in _drawn(every_card):
        ids = list(_ids(content))
        assert len(ids) == len(set(ids)), (name, ids)
    approver = next(card for name, card in every_card if name == "approval_request")
    ids = list(_ids(cards.render(approver, secret=KEY)))
    assert sorted(ids) == ["pb_text_comment", "pb_text_reject", "pb_text_request_info"]


def test_the_typed_text_of_each_form_reads_back(every_card):  # type: ignore[no-untyped-def]
    """Zoe writes a reason in the Reject form: the invoke carries it under that form's id and it is read back."""
    approver = next(card for name, card in every_card if name == "approval_request")
    content = cards.render(approver, secret=KEY)
    form = next(a for a in content["actions"] if a["title"] == "Reject")["card"]
    (field,), (submit,) = form["body"], form["actions"]
    value, typed, number = cards.read_action(KEY, "reject", {**submit["data"], field["id"]: "Over budget"})
    assert typed == "Over budget" and number == approver.number and "key" in value


def test_a_long_requisition_is_cut_under_teams_limit_with_see_the_full_requisition(every_card):  # type: ignore[no-untyped-def]
    """A 200-line requisition the API accepts would be far over 100 KB: the card is cut under 80 KB as Teams
    counts it (UTF-16, with the message around it), keeps its buttons, says it was cut, and offers the rest."""
    for name in ("long_approval_request", "long_status_answer"):
        card = next(c for n, c in every_card if n == name)
        whole = cards._render(card, KEY, ["29:zoe"], None, "info", cards.version_of(card))
        assert cards.message_bytes(whole) > TEAMS_LIMIT, name  # the guard has something to do
        content = cards.render(card, secret=KEY, refresh_user_ids=["29:zoe"])
        message = {"type": "message", "summary": card.title, "attachments": [cards.attachment(content)]}
        assert cards.message_bytes(message) <= cards.BUDGET_BYTES < TEAMS_LIMIT, name
        verbs = set(execute_actions(content))
        assert verbs == {a.id for a in card.actions} | {cards.FULL_VERB}, name
        assert "more lines, cut to fit" in str(content["body"]), name
        assert problems(adaptive_card(), {k: v for k, v in content.items() if k != "msteams"}) == [], name


def test_a_card_that_fits_is_not_cut(every_card):  # type: ignore[no-untyped-def]
    """An ordinary approver's card is drawn whole: no cut note and no extra button."""
    approver = next(card for name, card in every_card if name == "approval_request")
    content = cards.render(approver, secret=KEY)
    assert cards.FULL_VERB not in str(content["actions"]) and "cut to fit" not in str(content["body"])


@pytest.fixture
def teams(tmp_path, sqlite_template, clock, monkeypatch):  # type: ignore[no-untyped-def]
    db = tmp_path / "teams.db"
    db.write_bytes(sqlite_template.read_bytes())
    yield from running(f"sqlite:///{db}", clock, tmp_path, monkeypatch)


def test_see_the_full_requisition_sends_every_line_to_whoever_taps_it(teams):  # type: ignore[no-untyped-def]
    """The approver gets Jake's 200-line request as a card cut to fit, taps 'See the full requisition', and the
    whole of it arrives in their chat in messages Teams accepts; nothing about the requisition changes."""
    from contracts.samples import long_lines
    from factories import submit

    number = teams.runtime.service.submit(submit(lines=long_lines(), key="long")).requisition.number
    approver = teams.runtime.service.view(number).waiting_on[0]
    teams.install(approver)
    teams.install("jake.miller")
    teams.drain()
    zoe = teams.user(approver)
    approval = next(c for c in teams.fake.bf.cards_to(zoe) if number in str(c["card"]["body"]))
    assert cards.message_bytes(approval["activity"]) <= cards.BUDGET_BYTES
    before = len(teams.fake.bf.to(zoe))
    res = teams.tap(approver, approval["card"], cards.FULL_VERB)
    assert res.status_code == 200 and res.json()["type"] == "application/vnd.microsoft.activity.message"
    sent = teams.fake.bf.to(zoe)[before:]
    text = "\n".join(a.get("text", "") for a in sent)
    assert all(f"Line {i:03d}:" in text for i in range(200))
    assert all(cards.message_bytes(a) <= cards.BUDGET_BYTES for a in sent)
    assert teams.runtime.service.view(number).state == "pending_approval"


def test_times_are_shown_in_each_readers_locale_and_time_zone(every_card):  # type: ignore[no-untyped-def]
    """A card that says when someone decided ("Waiting on ... Approved by Zoe Martin at ...") shows the time with
    Adaptive Cards' DATE and TIME functions (each reader's Teams shows it in their own locale and zone, "Mon, Nov
    23, 2026 3:42 PM"), never in UTC words; it still passes the 1.5 schema, and the fallback text for clients
    that draw no card keeps the UTC time."""
    import json
    import re

    from bot.cards.model import Fact

    utc = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")
    approver = next(card for name, card in every_card if name == "approval_request")
    decided = approver.model_copy(
        update={
            "status": "Approved by Zoe Martin at 2026-11-23 15:42 UTC.",
            "facts": [*approver.facts, Fact(label="Asked", value="2026-11-23 09:05 UTC")],
        }
    )
    timed = [("decided", decided)] + [(name, card) for name, card in every_card if utc.search(card.model_dump_json())]
    validator = adaptive_card()
    for name, card in timed:
        content = cards.render(card, secret=KEY)
        text = json.dumps(content["body"])
        assert " UTC" not in text, name
        stamps = re.findall(r"\{\{DATE\((\S+), SHORT\)\}\} \{\{TIME\((\S+)\)\}\}", text)
        assert stamps and all(d == t and re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z", d) for d, t in stamps)
        assert problems(validator, {k: v for k, v in content.items() if k != "msteams"}) == [], name
        if card.status and utc.search(card.status):
            assert utc.search(content["fallbackText"]), name
