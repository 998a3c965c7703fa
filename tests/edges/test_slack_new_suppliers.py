"""New suppliers through Slack, as Slack sends them: the "Ask procurement to add it" modal, the buyer's card with
its buttons in the DM, the ERP, and Continue."""

from __future__ import annotations

import json

import pytest
from slack_harness import blocks_of, buttons_of, has_button, running, text_of

from approvals import new_suppliers
from bot.erp_dispatcher import ErpDispatcher, durable_notifier
from connectors.erp.config import ErpSettings
from connectors.erp.sandbox import SandboxErp
from tests.edges.test_slack_stories import _modal, _words

ZORO = "need 40 rolls of stretch wrap for Dallas from Zoro Tools, about $32 a roll"


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def dispatch(slack) -> None:  # type: ignore[no-untyped-def]
    """One ERP dispatcher pass: its notices reach people in their Slack DM."""
    rt = slack.runtime
    settings = ErpSettings(_env_file=None, erp_max_attempts=3, erp_backoff_base_seconds=2, erp_backoff_max_seconds=60)
    notifier = durable_notifier(rt.chat, rt.engine, slack.clock, assistants=rt.assistant)
    ErpDispatcher(
        rt.engine, rt.directory, SandboxErp(rt.engine, rt.directory), notifier, settings=settings, clock=slack.clock
    ).drain()
    slack.settle()


def fields(name: str = "Zoro Tools", email: str = "orders@zoro.example", website: str = "zoro.example") -> dict:
    out = {
        "name": {"value": {"type": "plain_text_input", "value": name}},
        "email": {"value": {"type": "email_text_input", "value": email}},
        "website": {"value": {"type": "plain_text_input", "value": website}},
        "tax_id": {"value": {"type": "plain_text_input", "value": None}},
    }
    return out


def open_the_form(slack, person: str = "jake.miller") -> dict:  # type: ignore[no-untyped-def]
    """The person names Zoro Tools, taps "Ask procurement to add Zoro Tools", then "Ask procurement to add it"."""
    slack.dm(person, ZORO)
    question = slack.card_to(person, "choose")
    new = next(e for e in buttons_of(question) if json.loads(e["value"]).get("value") == "new")
    slack.tap_element(person, question, new["action_id"], new["value"])
    summary = slack.card_to(person, "supplier.request")
    slack.tap(person, summary, "supplier.request")
    return _modal(slack)


def said_to(slack, person: str) -> str:  # type: ignore[no-untyped-def]
    return " ".join(text_of(c) for c in slack.posts_to(person)) + " ".join(slack.ephemerals_to(person))


def test_the_modal_asks_for_what_a_buyer_needs_and_names_what_is_wrong(slack):  # type: ignore[no-untyped-def]
    """The modal has the supplier's name filled in, an e-mail field and a website; an empty e-mail is refused under
    its field, a website that is not one is named in the DM, and nothing is asked of procurement until it is right."""
    modal = open_the_form(slack)
    assert modal["title"]["text"] == "Add a supplier" and modal["submit"]["text"] == "Ask procurement"
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks["name"]["element"]["initial_value"] == "Zoro Tools"
    assert blocks["email"]["element"]["type"] == "email_text_input" and blocks["tax_id"]["optional"] is True
    empty = slack.submit_view("jake.miller", modal, fields(email=""))
    assert empty.json() == {"response_action": "errors", "errors": {"email": "Please fill this in."}}
    slack.submit_view("jake.miller", modal, fields(website="zoro"))
    slack.settle()
    assert "is not a website address" in said_to(slack, "jake.miller")
    assert new_suppliers.listing(slack.runtime.engine) == []


def test_a_buyer_approves_from_the_card_in_slack_and_the_request_goes_on(slack):  # type: ignore[no-untyped-def]
    """Jake asks through the modal; Ben's DM gets the review card with Approve, Reject and Ask for info; Jake cannot
    approve it; Ben's approval creates the vendor once; Jake's request comes back to his DM by itself, ready to submit
    with the new supplier, and Submit routes it."""
    slack.submit_view("jake.miller", open_the_form(slack), fields())
    slack.settle()
    assert "I asked procurement to add Zoro Tools (SUP-1)" in said_to(slack, "jake.miller")
    dispatch(slack)
    ben = slack.card_to("ben.turner", "supplier.approve")
    assert has_button(ben, "supplier.reject") and has_button(ben, "supplier.ask")
    assert "Zoro Tools" in text_of(ben) and "orders@zoro.example" in json.dumps(blocks_of(ben))
    slack.tap("jake.miller", ben, "supplier.approve")
    assert "Only buyers" in said_to(slack, "jake.miller")
    slack.tap("ben.turner", ben, "supplier.approve")
    assert "Approved: Zoro Tools is being created in the ERP" in said_to(slack, "ben.turner")
    slack.tap("ben.turner", ben, "supplier.approve")
    assert "already approved by Ben Turner" in said_to(slack, "ben.turner")
    dispatch(slack)
    assert new_suppliers.get(slack.runtime.engine, "SUP-1").state == "created"
    assert "Zoro Tools is added as a supplier; your request goes on with it" in said_to(slack, "jake.miller")
    summary = slack.card_to("jake.miller", "submit")
    assert "Zoro Tools" in text_of(summary) and "has no active contract" in json.dumps(blocks_of(summary))
    slack.tap("jake.miller", summary, "submit")
    [submitted] = slack.runtime.service.list(requester="jake.miller")
    assert submitted.supplier == new_suppliers.get(slack.runtime.engine, "SUP-1").supplier_id
    assert submitted.state == "pending_approval"  # a new supplier is not contracted: no touchless approval


def test_reject_asks_for_the_reason_in_a_modal(slack):  # type: ignore[no-untyped-def]
    """Ben taps Reject: a modal asks why; his reason reaches Jake and the request is rejected."""
    slack.submit_view("jake.miller", open_the_form(slack), fields())
    dispatch(slack)
    slack.tap("ben.turner", slack.card_to("ben.turner", "supplier.reject"), "supplier.reject")
    modal = _modal(slack)
    assert modal["title"]["text"] == "Reject the supplier" and modal["submit"]["text"] == "Reject"
    slack.submit_view("ben.turner", modal, _words("We already buy this from Grainger"))
    slack.settle()
    assert new_suppliers.get(slack.runtime.engine, "SUP-1").state == "rejected"
    dispatch(slack)
    assert "We already buy this from Grainger" in said_to(slack, "jake.miller")


def test_a_tax_document_given_in_the_modal_is_kept_with_the_request(slack):  # type: ignore[no-untyped-def]
    """Jake gives a web page renamed w9.pdf in the modal's file input: told it is not a real PDF, nothing asked; he
    gives the real W-9: the request carries it (downloaded with the bot token) and Ben's card names it."""
    modal = open_the_form(slack)
    assert {b["block_id"]: b for b in modal["blocks"]}["tax_document"]["element"]["type"] == "file_input"
    fake_pdf = slack.fake.share("w9.pdf", "application/pdf", b"<html>not a pdf</html>")
    with_file = {**fields(), "tax_document": {"value": {"type": "file_input", "files": [fake_pdf]}}}
    slack.submit_view("jake.miller", modal, with_file)
    slack.settle()
    assert "is not a real PDF" in said_to(slack, "jake.miller") and new_suppliers.listing(slack.runtime.engine) == []
    w9 = slack.fake.share("W-9.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")
    with_file = {**fields(), "tax_document": {"value": {"type": "file_input", "files": [w9]}}}
    slack.submit_view("jake.miller", modal, with_file)
    slack.settle()
    assert new_suppliers.get(slack.runtime.engine, "SUP-1").tax_document["filename"] == "W-9.pdf"
    dispatch(slack)
    assert "tax document W-9.pdf (15 bytes)" in text_of(slack.card_to("ben.turner", "supplier.approve"))
