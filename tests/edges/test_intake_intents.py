"""Intents besides purchases, as people write them: status questions, delegations, out of office, the digest,
help, and questions that must never start a purchase."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from approvals.commands import Withdraw
from approvals.directory import Directory
from approvals.models import Delegation
from approvals.scheduling.models import NotificationPreference
from approvals.workflow import ApprovalService
from bot.intake import intent_texts
from bot.intake.assistant import Assistant
from bot.intake.routing import Route, route
from tests.factories import boxes, submit

GLOVES = {"description": "Cut-resistant gloves, large", "sku": "MRO-GLV-L", "quantity": 10, "unit_price": 54}


@pytest.fixture
def bot(service, directory):  # type: ignore[no-untyped-def]
    return Assistant(service, directory, surface="web", draft_ttl=timedelta(hours=24))


def cards(replies, kind=None):  # type: ignore[no-untyped-def]
    return [r.card for r in replies if r.card and (kind is None or r.card.kind == kind)]


def words(replies) -> str:  # type: ignore[no-untyped-def]
    return "\n".join([r.text for r in replies if r.text] + [r.card.title for r in replies if r.card])


def delegations(service) -> list[Delegation]:  # type: ignore[no-untyped-def]
    with Session(service.engine) as s:
        return list(s.exec(select(Delegation)).all())


def confirm(card):  # type: ignore[no-untyped-def]
    return next(a for a in card.actions if a.value.get("field") == "delegation.confirm")


# ---------------------------------------------------------------------------------- routing, pure
@pytest.mark.parametrize(
    "text, expected",
    [
        ("where is my order?", Route("open")),
        ("wheres my stuff", Route("open")),
        ("any update?", Route("open")),
        ("Any updte??", Route("open")),
        ("Hi! can you tell me where my order is? thanks", Route("open")),
        ("how's my order going?", Route("open")),
        ("what happened to my boxes?", Route("where_is", "boxes")),
        ("hey it's Rosa uh did the order for the scanners go through yet", Route("where_is", "scanners")),
        ("Morning! Can you check on the scanners I ordered last week? Thanks!", Route("where_is", "scanners")),
        ("any news on my tape?", Route("where_is", "tape")),
        ("did my laptop order go through", Route("where_is", "laptop")),
        ("whats the staus of my gloves order", Route("where_is", "gloves")),
        ("where r my boxes from uline??", Route("where_is", "boxes uline")),
        ("is my stretch wrap approved yet?", Route("where_is", "stretch wrap")),
        ("I still haven't received my gloves", Route("where_is", "gloves")),
        ("when will my laptops arrive?", Route("where_is", "laptops")),
        ("any update on PR-1005?", Route("status", "PR-1005")),
        ("has PR-1005 been approved yet", Route("status", "PR-1005")),
        ("what's happening with pr 1005", Route("status", "PR-1005")),
        ("PR-1005?", Route("status", "PR-1005")),
        ("hey did my wrap order ever go thru? the one from last week", Route("where_is", "wrap")),
    ],
)
def test_status_questions_are_read_however_they_are_written(text, expected):
    """Status asked with a number, an item or neither, padded, misspelled or terse, reaches the status answer."""
    assert route(text) == expected


@pytest.mark.parametrize(
    "text, handler",
    [
        ("my delegations", "delegations"),
        ("Hi, please turn off the daily summary e-mails for me, I get the same from the WMS. Thanks!", "digest_off"),
        ("show my delegations", "delegations"),
        ("list my delegations please", "delegations"),
        ("who covers for me", "delegations"),
        ("who's covering for me?", "delegations"),
        ("my delegatons", "delegations"),
        ("do I have a delegation set?", "delegations"),
        ("digest off", "digest_off"),
        ("stop the daily digest", "digest_off"),
        ("turn the digest off pls", "digest_off"),
        ("no more digest", "digest_off"),
        ("unsubscribe me from the digest", "digest_off"),
        ("Digest: off", "digest_off"),
        ("turn off the morning summary emails pls, I get too many", "digest_off"),
        ("digest on", "digest_on"),
        ("turn digest back on", "digest_on"),
        ("resume the daily digset please", "digest_on"),
        ("help", "help"),
        ("Help me", "help"),
        ("what can you do?", "help"),
        ("how does this work?", "help"),
    ],
)
def test_delegations_digest_and_help_in_plain_words(text, handler):
    """'my delegations', 'who covers for me', 'digest off', 'turn digest back on', 'what can you do' have handlers."""
    assert route(text).handler == handler


@pytest.mark.parametrize(
    "text, handler",
    [
        ("I'm away from the 2nd to the 9th, Sam covers my approvals", "out_of_office"),
        ("I'm at the regional meeting Dec 14-16, Zoe approves for me.", "out_of_office"),
        ("ooo dec 21-jan 3, priya will approve for me", "out_of_office"),
        ("on leave next week; delegate to zoe", "out_of_office"),
        ("Out of office until Friday, Zoe approves for me", "out_of_office"),
        ("I'll be on vacation next week", "out_of_office"),
        ("on vacation dec 22 - jan 2, luis has my approvals", "out_of_office"),
        ("out friday, rosa can approve for me", "out_of_office"),
        ("out of tape, need 20 rolls friday", "dialogue"),
        ("delegate to Priya until Friday", "delegate"),
        ("I'm out of boxes, need 20 from uline by friday", "dialogue"),
        ("need 2 laptops for the new hires before my vacation next week", "dialogue"),
    ],
)
def test_out_of_office_sentences_and_the_requests_that_only_sound_like_them(text, handler):
    """Away-with-a-cover or away-with-dates is out of office; 'out of boxes' and a request mentioning leave are not."""
    assert route(text).handler == handler


# Real requests written as questions, in many voices: each must still become a purchase.
PURCHASES = [
    "can I get 5 boxes of tape from uline at $65?",
    "could you order 40 rolls of stretch wrap for Dallas?",
    "can we get a new laptop for the front desk?",
    "is it ok to buy 3 pallets of water for the heat wave?",
    "any chance we could get 10 more pallets before friday?",
    "can someone order toner for the office printer?",
    "could I requisition two forklift batteries from grainger?",
    "would you be able to source a replacement conveyor belt?",
    "Hey, can u order 12 cases of nitrile gloves? large",
    "can I order stretch wrap from uline, 40 rolls?",
    "could we buy a pressure washer for the yard, around $900?",
    "can you get us 6 monitors from CDW?",
    "possible to get 200 labels by next week?",
    "need 40 rolls of stretch wrap?",
    "can we restock hydraulic oil, 4 pails @ $89?",
    "Can I please get a dozen safety vests for the new hires?",
    "would it be possible to order a standing desk for Chicago?",
    "Could you put in an order for 3 pallets of bottled water?",
    "can i buy 2 ladders from grainger for the dock?",
    "can we rent a scissor lift for two weeks?",
    "I need a new monitor, can you help?",
    "will you order 50 cartons from uline at 48 each?",
    "Do we need to reorder bearings? get 20 from MSC",
    "can you book a truckload from Dallas to Phoenix for $2,400?",
    "is it possible to purchase a label printer for SEA?",
    "could we pick up 8 tires for the forklifts?",
    "shall I order 30 boxes of copy paper from staples?",
    "hey can i get a couple of scanners for receiving",
]
# Questions that ask something else: each gets an answer or help, never a draft.
QUESTIONS = [
    "Who has to approve a requisition over $250,000?",
    "do I need a quote attached for anything over $5,000?",
    "do I need 3 quotes for anything over 5k?",
    "is there a limit on what I can order without approval?",
    "can you order stuff for me?",
    "is uline cheaper than grainger?",
    "what's the price of stretch wrap?",
    "who approves orders over $5,000?",
    "how do I order something?",
    "can I order for someone else?",
    "are we allowed to buy from amazon?",
    "do we have a contract with fastenal?",
    "why was my request rejected?",
    "what suppliers do we use for packaging?",
    "how long do approvals usually take?",
    "can I get reimbursed for gas?",
    "is the office closed friday?",
    "who is my manager?",
    "do I need approval for a $500 order?",
    "could you help me order something?",
    "which cost center should I use?",
    "how much budget is left in DAL-OPS?",
    "hey, what's the cheapest tape we can get?",
    "when does the budget reset?",
    "can you approve things?",
    "is there a limit on how much I can spend?",
    "what does capex mean?",
    "are pallets in stock?",
    "whats the lead time on forklift tires?",
    "can you explain how this bot works?",
    "did the policy change this month?",
    "how do I cancel a request?",
]


@pytest.mark.parametrize("text", PURCHASES)
def test_a_request_asked_as_a_question_is_still_a_purchase(text):
    """'can I get 5 boxes of tape from uline at $65?' and 27 other real requests go to the draft dialogue."""
    assert route(text) == Route("dialogue")


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_question_that_is_not_a_purchase_never_starts_one(text):
    """'can you order stuff for me?', 'is uline cheaper than grainger?' and 26 more are answered, not drafted."""
    assert route(text) == Route("question")


# ---------------------------------------------------------------------------------- status, end to end
def test_status_by_item_finds_the_persons_matching_order(bot, service):
    """Jake asks 'what happened to my boxes?' and 'any news on my gloves?': each finds his order of that item."""
    wrap = service.submit(submit()).number
    box = service.submit(submit(lines=[boxes(20)])).number
    gloves = service.submit(submit(supplier="grainger", lines=[GLOVES])).number
    assert bot.handle_message("jake.miller", "what happened to my boxes?")[0].card.number == box
    assert bot.handle_message("jake.miller", "any news on my glvoes?")[0].card.number == gloves
    assert bot.handle_message("jake.miller", "where's my stretch wrap order")[0].card.number == wrap
    assert "None of your requests looks like" in words(bot.handle_message("jake.miller", "where are my laptops?"))
    # Emily has ordered no boxes: Jake's are not hers to find
    assert "None of your requests" in words(bot.handle_message("emily.davis", "what happened to my boxes?"))


def test_status_by_number_only_for_those_who_may_see_it(bot, service):
    """'any update on PR-…?' answers the requester, the approver and a buyer; anyone else hears it does not exist."""
    number = service.submit(submit()).number
    for person in ("jake.miller", "zoe.martin", "ben.turner", "priya.nair"):
        card = bot.handle_message(person, f"any update on {number}?")[0].card
        assert card is not None and card.number == number, person
    hidden = words(bot.handle_message("emily.davis", f"has {number} been approved yet"))
    missing = words(bot.handle_message("emily.davis", "has PR-9999 been approved yet"))
    assert hidden == missing.replace("PR-9999", number) and "no requisition" in hidden
    assert bot.handle_action("emily.davis", "status", {"number": number})[0].card is None


def test_where_is_my_order_without_an_item_lists_open_ones(bot, service):
    """'where is my order?' shows the one open request, then a list of the open ones; a withdrawn one is left out."""
    assert bot.handle_message("jake.miller", "where is my order?")[0].text == intent_texts.NO_OPEN
    first = service.submit(submit()).number
    assert bot.handle_message("jake.miller", "wheres my stuff")[0].card.number == first
    second = service.submit(submit(lines=[boxes(20)])).number
    gone = service.submit(submit(supplier="grainger", lines=[GLOVES])).number
    service.withdraw(Withdraw(actor="jake.miller", number=gone))
    listing = bot.handle_message("jake.miller", "any update?")[0].card
    assert listing.kind == "queue" and listing.title == intent_texts.OPEN_TITLE
    assert {f.label for f in listing.facts} == {first, second}


# ---------------------------------------------------------------------------------- out of office
def test_out_of_office_proposes_then_sets_only_on_confirm(bot, service):
    """Maria: 'away from the 2nd to the 9th, Priya covers': a card for Dec 2-9 in Chicago time; Yes sets it, once."""
    replies = bot.handle_message("maria.lopez", "I'm away from the 2nd to the 9th, Priya covers my approvals")
    card = cards(replies, "delegation_confirmation")[0]
    facts = {f.label: f.value for f in card.facts}
    assert facts["Approves for you"] == "Priya Nair" and facts["First day"] == "Wed Dec 02"
    assert facts["Last day"].startswith("Wed Dec 09") and facts["Time zone"] == "America/Chicago"
    assert delegations(service) == []
    yes = confirm(card)
    done = bot.handle_action("maria.lopez", yes.id, yes.value)
    assert cards(done, "delegation_confirmation")[0].title == "Delegation set"
    bot.handle_action("maria.lopez", yes.id, yes.value)  # a double tap
    (row,) = delegations(service)
    assert (row.delegator, row.delegate) == ("maria.lopez", "priya.nair")
    assert str(row.starts_at)[:16] == "2026-12-02 06:00" and str(row.ends_at)[:16] == "2026-12-10 06:00"


@pytest.mark.parametrize(
    "text, who, first, last",
    [
        ("ooo dec 21-jan 3, priya will approve for me", "Priya Nair", "Mon Dec 21", "Sun Jan 03"),
        ("on leave next week; delegate to zoe", "Zoe Martin", "Mon Nov 30", "Fri Dec 04"),
        ("Out of office until Friday, James Carter approves for me", "James Carter", "Mon Nov 23", "Fri Nov 27"),
        ("PTO 12/21 - 1/2, priya.nair covering", "Priya Nair", "Mon Dec 21", "Sat Jan 02"),
        ("on vacation, back on the 9th. Zoe Martin will cover", "Zoe Martin", "Mon Nov 23", "Tue Dec 08"),
        ("I'm out for two weeks from dec 1, backup is Priya", "Priya Nair", "Tue Dec 01", "Mon Dec 14"),
    ],
)
def test_out_of_office_sentences_read_against_the_clock(bot, text, who, first, last):
    """Ranges, 'next week', 'until Friday', numeric dates, 'back on the 9th', 'for two weeks': today is Mon Nov 23."""
    card = cards(bot.handle_message("maria.lopez", text), "delegation_confirmation")[0]
    facts = {f.label: f.value for f in card.facts}
    assert (facts["Approves for you"], facts["First day"], facts["Last day"][:10]) == (who, first, last)


def test_out_of_office_asks_for_what_is_missing_or_unknown(bot, service):
    """No cover named: asked who; no days: asked which; a name nobody has: said so; nothing is set."""
    assert words(bot.handle_message("maria.lopez", "I'm on vacation next week")) == intent_texts.OOO_WHO
    assert words(bot.handle_message("maria.lopez", "ooo, priya covers my approvals")) == intent_texts.OOO_WHEN
    assert "don't know who" in words(bot.handle_message("maria.lopez", "away dec 21-jan 3, Zorro covers for me"))
    assert delegations(service) == []


def test_an_ambiguous_cover_is_asked_then_confirmed(service, directory, clock):
    """Two Sams in the directory: Maria is asked which, picks Sam Ortiz, confirms; the delegation is his."""
    extra = [
        {"id": "sam.lee", "name": "Sam Lee", "email": "sam.lee@lonestar.example", "site": "DAL"},
        {"id": "sam.ortiz", "name": "Sam Ortiz", "email": "sam.ortiz@lonestar.example", "site": "DAL"},
    ]
    data = directory.model_dump()
    data["people"] = [*data["people"], *extra]
    sams = Directory.model_validate(data)
    bot = Assistant(ApprovalService(service.engine, sams, clock=clock), sams, surface="web")
    question = cards(bot.handle_message("maria.lopez", "away from the 2nd to the 9th, sam covers"), "question")[0]
    assert question.title == "Who covers for you: Sam Lee or Sam Ortiz?"
    pick = question.actions[1]
    proposal = cards(bot.handle_action("maria.lopez", pick.id, pick.value), "delegation_confirmation")[0]
    assert {f.label: f.value for f in proposal.facts}["Approves for you"] == "Sam Ortiz"
    assert delegations(service) == []
    bot.handle_action("maria.lopez", confirm(proposal).id, confirm(proposal).value)
    assert [r.delegate for r in delegations(service)] == ["sam.ortiz"]


def test_a_proposal_can_be_declined_and_a_garbled_one_is_refused(bot, service):
    """'No' sets nothing; a tampered or stale proposal value is refused with a plain message."""
    card = cards(bot.handle_message("maria.lopez", "ooo dec 21-jan 3, priya will approve for me"))[0]
    no = next(a for a in card.actions if a.value.get("field") == "delegation.dismiss")
    assert words(bot.handle_action("maria.lopez", no.id, no.value)) == intent_texts.DISMISSED
    bad = {"field": "delegation.confirm", "value": "priya.nair|not-a-date|2027-01-03"}
    assert words(bot.handle_action("maria.lopez", "choose", bad)) == intent_texts.PROPOSAL_STALE
    past = {"field": "delegation.confirm", "value": "priya.nair|2026-01-01|2026-01-03"}
    assert words(bot.handle_action("maria.lopez", "choose", past)) == intent_texts.PROPOSAL_STALE
    assert delegations(service) == []


def test_my_delegations_from_both_sides(bot):
    """After Maria delegates to Priya, 'who covers for me' shows Priya with a Cancel; Priya's 'my delegations' shows
    that she approves for Maria."""
    assert words(bot.handle_message("maria.lopez", "my delegations")) == intent_texts.NO_DELEGATIONS
    bot.handle_message("maria.lopez", "delegate to Priya from Dec 20 to Jan 3")
    mine = bot.handle_message("maria.lopez", "who covers for me?")[0].card
    assert mine.title == intent_texts.DELEGATIONS_TITLE and "Priya Nair approves for you" in mine.facts[0].value
    assert [a.id for a in mine.actions] == ["cancel_delegation"]
    theirs = bot.handle_message("priya.nair", "show my delegations")[0].card
    assert "You approve for Maria Lopez" in theirs.facts[0].value and not theirs.actions


# ---------------------------------------------------------------------------------- digest, questions
def test_digest_off_and_back_on_in_its_own_words(bot, service):
    """'digest off' opts Maria out, 'turn digest back on' opts her in again."""

    def digest() -> bool | None:
        with Session(service.engine) as s:
            pref = s.exec(select(NotificationPreference).where(NotificationPreference.person_id == "maria.lopez"))
            row = pref.first()
            return None if row is None else row.digest

    bot.handle_message("maria.lopez", "digest off")
    assert digest() is False
    bot.handle_message("maria.lopez", "turn digest back on")
    assert digest() is True


def test_a_question_gets_help_and_no_draft_but_a_request_question_drafts(bot):
    """'can you order stuff for me?' gets help and leaves no draft; 'can I get 5 boxes of tape…?' starts one."""
    assert words(bot.handle_message("jake.miller", "can you order stuff for me?")) == intent_texts.QUESTION
    assert bot.chat.load("jake.miller").state == "idle"
    replies = bot.handle_message("jake.miller", "can I get 5 boxes of tape from uline at $65?")
    assert intent_texts.QUESTION not in words(replies)
    assert bot.chat.load("jake.miller").state != "idle"


def test_a_question_during_a_draft_is_the_drafts_to_read(bot):
    """Mid-draft, 'can it be grainger?' goes to the dialogue (it may answer the question asked), not to help."""
    bot.handle_message("jake.miller", "need stretch wrap for dallas")
    replies = bot.handle_message("jake.miller", "can it be grainger?")
    assert intent_texts.QUESTION not in words(replies)
    assert bot.chat.load("jake.miller").state != "idle"
