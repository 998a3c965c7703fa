"""Whole stories through Slack: signed requests to the real app, a fake Slack Web API recording the answers."""

from __future__ import annotations

import json

import pytest
from slack_harness import WRAP, blocks_of, has_button, number_in, running, slack_id, text_of


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def _submit(slack, person: str = "jake.miller") -> str:  # type: ignore[no-untyped-def]
    slack.dm(person, WRAP)
    summary = slack.card_to(person, "submit")
    slack.tap(person, summary, "submit")
    card = slack.card_to("zoe.martin", "approve")
    return number_in(card)


def test_dm_request_routes_to_approver_who_approves_and_every_copy_updates(slack):  # type: ignore[no-untyped-def]
    """Jake asks in a DM and submits; Zoe gets a card saying why her; she approves; all cards and the thread follow."""
    slack.dm("jake.miller", WRAP)
    summary = slack.card_to("jake.miller", "submit")
    assert "Ready to submit?" in text_of(summary) and has_button(summary, "edit")
    slack.tap("jake.miller", summary, "submit")
    assert not has_button(slack.updates_of(summary)[-1], "submit")  # the summary became history
    zoe = slack.card_to("zoe.martin", "approve")
    number = number_in(zoe)
    assert "Why you:" in text_of(zoe) and has_button(zoe, "reject") and has_button(zoe, "request_info")
    root = slack.root("jake.miller", number)
    thread = slack.thread(root)
    assert thread and thread[0].startswith("Sent for approval to Zoe Martin")

    slack.tap("zoe.martin", zoe, "approve")
    assert slack.runtime.service.view(number).state in ("approved", "po_pending", "po_created")
    assert not has_button(slack.updates_of(zoe)[-1], "approve")
    assert "Approved by Zoe Martin" in text_of(slack.updates_of(root)[-1])
    thread = slack.thread(root)
    assert "Zoe Martin approved" in thread[-1]
    assert slack.ephemerals_to("zoe.martin") == []  # her card itself says so; no extra message


def _modal(slack) -> dict:  # type: ignore[no-untyped-def]
    import json

    view = slack.fake.of("views.open")[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def _words(text: str) -> dict:
    return {"reason": {"value": {"type": "plain_text_input", "value": text}}}


def test_reject_opens_a_modal_and_requires_a_reason(slack):  # type: ignore[no-untyped-def]
    """Zoe taps Reject: a modal asks why; an empty reason is refused under the field; her reason reaches Jake."""
    number = _submit(slack)
    zoe = slack.card_to("zoe.martin", "reject")
    slack.tap("zoe.martin", zoe, "reject")
    modal = _modal(slack)
    assert modal["callback_id"] == "pb_reason" and number in modal["title"]["text"]
    refused = slack.submit_view("zoe.martin", modal, _words("   "))
    assert refused.json() == {"response_action": "errors", "errors": {"reason": "Please fill this in."}}
    assert slack.runtime.service.view(number).state == "pending_approval"
    assert slack.submit_view("zoe.martin", modal, _words("Use the contracted supplier")).status_code == 200
    assert slack.runtime.service.view(number).state == "rejected"
    root = slack.root("jake.miller", number)
    assert "Rejected by Zoe Martin" in text_of(slack.updates_of(root)[-1])
    thread = slack.thread(root)
    assert "Use the contracted supplier" in thread[-1]


def test_ask_for_info_answered_in_the_thread_and_by_button(slack):  # type: ignore[no-untyped-def]
    """Zoe asks why it is urgent; Jake answers by replying in the thread; she asks again; he answers with the button."""
    number = _submit(slack)
    slack.tap("zoe.martin", slack.card_to("zoe.martin", "request_info"), "request_info")
    slack.submit_view("zoe.martin", _modal(slack), _words("Why urgent?"))
    assert slack.runtime.service.view(number).state == "needs_info"
    root = slack.root("jake.miller", number)
    thread = slack.thread(root)
    assert "asks: Why urgent?" in thread[-1]
    slack.dm("jake.miller", "We run out on Thursday", thread=root.result["ts"])
    view = slack.runtime.service.view(number)
    assert view.state == "pending_approval" and view.info_requests[-1].answer == "We run out on Thursday"

    slack.tap("zoe.martin", slack.card_to("zoe.martin", "request_info", number), "request_info")
    slack.submit_view("zoe.martin", _modal(slack), _words("Which warehouse?"))
    slack.tap("jake.miller", slack.card_to("jake.miller", "answer_info", number), "answer_info")
    slack.submit_view("jake.miller", _modal(slack), _words("Dallas"))
    assert slack.runtime.service.view(number).info_requests[-1].answer == "Dallas"


def test_delegate_sees_the_card_and_acts_for_the_absent_approver(slack):  # type: ignore[no-untyped-def]
    """Zoe says "delegate to @Priya": Jake's request goes to Priya, who approves on Zoe's behalf."""
    slack.dm("zoe.martin", f"delegate to <@{slack_id('priya.nair')}> from today to Dec 4")  # an @mention
    assert any("Delegation set" in text_of(c) for c in slack.posts_to("zoe.martin"))
    slack.dm("jake.miller", WRAP)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    priya = slack.card_to("priya.nair", "approve")
    number = number_in(priya)
    assert "you act for Zoe Martin" in text_of(priya)
    slack.tap("priya.nair", priya, "approve")
    decision = slack.runtime.service.view(number).decisions[-1]
    assert decision.actor == "priya.nair" and decision.on_behalf_of == "zoe.martin"


def test_double_tap_records_one_decision_and_the_second_tap_says_who_acted(slack):  # type: ignore[no-untyped-def]
    """Zoe taps Approve twice on the same card: one decision is recorded; the repeat is told she already did, when."""
    number = _submit(slack)
    zoe = slack.card_to("zoe.martin", "approve")
    slack.tap("zoe.martin", zoe, "approve")
    slack.tap("zoe.martin", zoe, "approve")
    approvals = [d for d in slack.runtime.service.view(number).decisions if d.action == "approve"]
    assert len(approvals) == 1
    (repeat,) = slack.ephemerals_to("zoe.martin")  # the repeat is answered, not redone
    assert repeat.startswith(f"You already approved {number} at ") and repeat.endswith(
        " in Slack; nothing more was recorded."
    )


def test_slack_retry_of_the_same_event_is_handled_once(slack):  # type: ignore[no-untyped-def]
    """Slack re-sends a DM event (X-Slack-Retry-Num: 1, same event id): the bot answers once, not twice."""
    slack.dm("jake.miller", "status PR-9999", event_id="EvSAME")
    before = len(slack.posts_to("jake.miller"))
    res = slack.dm("jake.miller", "status PR-9999", event_id="EvSAME", retry=1)
    assert res.status_code == 200 and len(slack.posts_to("jake.miller")) == before == 1


def test_records_of_handled_events_are_pruned_after_a_day(slack):  # type: ignore[no-untyped-def]
    """Handled-event records older than a day (far past Slack's retry window) are dropped as new events come."""
    from sqlmodel import Session, select

    from bot.chat.models import InboundEvent

    slack.dm("jake.miller", "help", event_id="EvOLD")
    slack.clock.advance(days=2)
    slack.dm("jake.miller", "help", event_id="EvNEW")
    with Session(slack.runtime.engine) as session:
        keys = {e.key for e in session.exec(select(InboundEvent)).all()}
    assert keys == {"event:EvNEW"}


def test_two_approvers_tap_at_once_on_an_any_of_step(slack):  # type: ignore[no-untyped-def]
    """Priya and Olivia tap Approve at the same moment on the finance step: one decision, the other sees who acted."""
    from concurrent.futures import ThreadPoolExecutor

    from factories import submit

    from approvals.commands import Approve

    laptops = {"description": "Laptop 14in", "sku": "IT-LAP-14", "quantity": 5, "unit_price": 1400}
    service = slack.runtime.service
    number = service.submit(
        submit(requester="emily.davis", cost_center="CORP-IT", supplier="cdw", lines=[laptops])
    ).number
    service.approve(Approve(actor="raj.patel", number=number))
    slack.settle()
    cards = {p: slack.card_to(p, "approve", number) for p in ("priya.nair", "olivia.grant")}
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda p: slack.tap(p, cards[p], "approve", settle=False), cards))
    slack.settle()
    assert [r.status_code for r in results] == [200, 200]
    finance = [d for d in service.view(number).decisions if d.action == "approve" and d.actor != "raj.patel"]
    assert len(finance) == 1
    loser = "olivia.grant" if finance[0].actor == "priya.nair" else "priya.nair"
    assert any(finance[0].actor_name in t for t in slack.ephemerals_to(loser))
    for person, card in cards.items():
        assert not has_button(slack.updates_of(card)[-1], "approve")


def test_slash_command_status_and_help_answer_only_the_asker(slack):  # type: ignore[no-untyped-def]
    """/purchase status in a channel answers Jake alone (ephemeral, in place); /purchase help lists what it knows."""
    number = _submit(slack)
    assert slack.command("jake.miller", f"status {number}", channel="CPURCHASING").status_code == 200
    (status,) = slack.fake.of("response_url", channel="CPURCHASING")
    assert number in text_of(status) and status.args["user"] == slack_id("jake.miller")
    assert status.args["response_type"] == "ephemeral" and not slack.fake.of("chat.postMessage", channel="CPURCHASING")
    slack.command("jake.miller", "help")
    assert "/purchase status PR-1042" in slack.fake.texts_to("D" + slack_id("jake.miller"))[-1]


def test_slash_command_in_a_channel_the_bot_cannot_post_to_falls_back_to_dm(slack):  # type: ignore[no-untyped-def]
    """The response_url has expired and Slack answers channel_not_found for an ephemeral reply: the answer comes in
    the person's DM instead."""
    slack.fake.fail_next("response_url", "expired_url")
    slack.fake.fail_next("chat.postEphemeral", "channel_not_found")
    slack.command("jake.miller", "pending", channel="CPRIVATE")
    assert any("Your requests" in text_of(c) or "Waiting" in text_of(c) for c in slack.posts_to("jake.miller"))


def test_po_created_by_the_erp_is_told_in_the_requesters_thread(slack):  # type: ignore[no-untyped-def]
    """After Zoe approves, the sandbox ERP makes the PO: Jake's thread gets its number and his card shows it."""
    from bot.chat.delivery import ChatNotifier
    from bot.erp_dispatcher import ErpDispatcher
    from bot.notify import RecordingNotifier
    from connectors.erp.config import ErpSettings
    from connectors.erp.sandbox import SandboxErp

    number = _submit(slack)
    slack.tap("zoe.martin", slack.card_to("zoe.martin", "approve"), "approve")
    runtime = slack.runtime
    notifier = ChatNotifier(runtime.chat, fallback=RecordingNotifier())
    dispatcher = ErpDispatcher(
        runtime.engine,
        runtime.directory,
        SandboxErp(runtime.engine, runtime.directory),
        notifier,
        settings=ErpSettings(_env_file=None),
        clock=slack.clock,
        worker_id="t",
    )
    dispatcher.run_once()
    slack.settle()
    view = runtime.service.view(number)
    assert view.state == "po_created"
    root = slack.root("jake.miller", number)
    assert f"{number} is now purchase order PO-" in slack.thread(root)[-1]
    assert "Purchase order PO-" in json.dumps(blocks_of(slack.current(root)))


def test_reject_on_a_card_someone_already_approved_opens_no_modal_and_says_who(slack):  # type: ignore[no-untyped-def]
    """Olivia taps Reject after Priya approved the finance step: no reason is asked for; she is told Priya approved."""
    from factories import submit

    from approvals.commands import Approve

    laptops = {"description": "Laptop 14in", "sku": "IT-LAP-14", "quantity": 5, "unit_price": 1400}
    service = slack.runtime.service
    number = service.submit(
        submit(requester="emily.davis", cost_center="CORP-IT", supplier="cdw", lines=[laptops])
    ).number
    service.approve(Approve(actor="raj.patel", number=number))
    slack.settle()
    olivia = slack.card_to("olivia.grant", "reject", number)
    slack.tap("priya.nair", slack.card_to("priya.nair", "approve", number), "approve")
    slack.tap("olivia.grant", olivia, "reject")
    assert slack.fake.of("views.open") == []
    (told,) = slack.ephemerals_to("olivia.grant")
    assert "Priya Nair" in told


def test_slash_command_sets_and_ends_a_delegation(slack):  # type: ignore[no-untyped-def]
    """/purchase delegate to Priya Nair from today to Dec 4 sets it; /purchase cancel my delegation ends it."""
    slack.command("zoe.martin", "delegate to Priya Nair from today to Dec 4")
    (row,) = slack.runtime.service.delegations(person="zoe.martin")
    assert row.delegate == "priya.nair"
    slack.command("zoe.martin", "cancel my delegation")
    assert slack.runtime.service.delegations(person="zoe.martin") == []


def test_the_approval_time_on_every_card_is_in_the_readers_zone(slack):  # type: ignore[no-untyped-def]
    """Zoe approves: Jake's card and hers say when with Slack's date formatting, the UTC words only as fallback."""
    from approvals.clock import as_utc

    number = _submit(slack)
    zoe = slack.card_to("zoe.martin", "approve")
    slack.tap("zoe.martin", zoe, "approve")
    unix = int(as_utc(slack.runtime.service.view(number).decisions[-1].at).timestamp())
    for card in (slack.root("jake.miller", number), zoe):
        status = json.dumps(blocks_of(slack.current(card)))
        assert f"Approved by Zoe Martin at <!date^{unix}^{{date_short_pretty}} at {{time}}|" in status
