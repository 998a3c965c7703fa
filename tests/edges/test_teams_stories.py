"""Whole stories in Microsoft Teams: personal-chat intake, proactive approval cards, Universal Actions."""

from __future__ import annotations

import pytest
from fake_teams import APP_ID, card, execute_actions, texts_of
from sqlmodel import Session, select
from teams_harness import WRAP, Harness, only_card, running

from approvals.models import Decision
from bot.chat.models import ChatAddress


@pytest.fixture
def teams(db_url, clock, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    yield from running(db_url, clock, tmp_path, monkeypatch)


def submitted(teams: Harness) -> str:
    """Zoe (Jake's manager) has procurebot; Jake asks for stretch wrap in Teams and submits it."""
    teams.install("zoe.martin")
    summary = only_card(teams.say("jake.miller", WRAP))
    res = teams.tap("jake.miller", summary, "submit")
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    number = next(line for line in texts_of(body["value"]).split() if line.startswith("PR-")).strip(":.")
    assert teams.drain() >= 1
    return number


def test_requester_intake_in_personal_chat_puts_an_approval_card_in_the_approvers_chat(teams):  # type: ignore[no-untyped-def]
    """Jake types his need in Teams and submits the summary; Zoe gets a card: Approve, Reject, Ask for info."""
    greeting = teams.install("zoe.martin")
    assert greeting and "Zoe" in greeting[0]["text"]
    summary = only_card(teams.say("jake.miller", WRAP))
    assert summary["version"] == "1.5" and summary["type"] == "AdaptiveCard"
    assert set(execute_actions(summary)) == {"submit", "edit", "cancel"}
    assert "Uline" in texts_of(summary)
    res = teams.tap("jake.miller", summary, "submit")
    number = res.json()["value"]["body"][0]["items"][0]["text"].split()[0]
    assert number.startswith("PR-")
    teams.drain()
    zoe, jake = teams.user("zoe.martin"), teams.user("jake.miller")
    (approval,) = teams.fake.bf.cards_to(zoe)
    content = approval["card"]
    assert set(execute_actions(content)) >= {"approve", "reject", "request_info"}
    reject_form = next(a for a in content["actions"] if a["title"] == "Reject")
    assert reject_form["type"] == "Action.ShowCard"
    (field,) = reject_form["card"]["body"]
    assert field["type"] == "Input.Text" and field["isRequired"] is True
    assert content["refresh"]["action"]["verb"] == "refresh" and zoe.id in content["refresh"]["userIds"]
    assert approval["activity"]["summary"].startswith(number)
    assert "Why you" in texts_of(content)
    root = [c for c in teams.fake.bf.cards_to(jake) if texts_of(c["card"]).startswith(number)]
    assert root and not set(execute_actions(root[-1]["card"])) & {"approve", "reject"}
    assert any("Sent for approval to Zoe Martin" in a.get("text", "") for a in teams.fake.bf.to(jake))
    assert teams.fake.bf.refused == 0 and teams.fake.entra.issued == 1  # one msal token, reused


def test_approver_approves_with_an_invoke_and_every_copy_updates(teams):  # type: ignore[no-untyped-def]
    """Zoe taps Approve: the invoke answers with the updated card, and Jake's card changes in place."""
    number = submitted(teams)
    zoe, jake = teams.user("zoe.martin"), teams.user("jake.miller")
    (approval,) = teams.fake.bf.cards_to(zoe)
    res = teams.tap("zoe.martin", approval["card"], "approve")
    assert res.status_code == 200
    body = res.json()
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    assert body["value"]["version"] == "1.5"
    assert "approve" not in execute_actions(body["value"])
    assert "approved" in texts_of(body["value"]).lower()
    assert teams.runtime.service.view(number).state in ("approved", "po_pending", "po_created")
    teams.drain()
    updated = teams.fake.bf.updates_of(approval["id"])
    assert updated and "approve" not in execute_actions(updated[-1])
    roots = [c for c in teams.fake.bf.cards_to(jake) if number in texts_of(c["card"])]
    assert any(teams.fake.bf.updates_of(r["id"]) for r in roots)


def test_a_stale_approve_answers_who_acted_and_when(teams):  # type: ignore[no-untyped-def]
    """Zoe approves from one card, then taps Reject on an older copy: told it was already approved, by whom, when."""
    number = submitted(teams)
    (approval,) = teams.fake.bf.cards_to(teams.user("zoe.martin"))
    assert teams.tap("zoe.martin", approval["card"], "approve").status_code == 200
    res = teams.tap("zoe.martin", approval["card"], "reject", text="changed my mind")
    assert res.status_code == 200
    words = texts_of(res.json()["value"])
    assert (
        f"{number} was approved by Zoe Martin at 09:00 CST on Mon Nov 23 and is now awaiting the purchase order; "
        "you cannot reject it now."
    ) in words
    with Session(teams.runtime.engine) as session:
        decisions = session.exec(select(Decision).where(Decision.action == "reject")).all()
    assert decisions == [] and teams.runtime.service.view(number).state != "rejected"


def test_reject_needs_a_reason_and_then_the_requester_reads_it(teams):  # type: ignore[no-untyped-def]
    """Reject without a reason does nothing and says what to write; with one, Jake's thread carries it."""
    number = submitted(teams)
    (approval,) = teams.fake.bf.cards_to(teams.user("zoe.martin"))
    res = teams.tap("zoe.martin", approval["card"], "reject")
    assert "reason" in texts_of(res.json()["value"]).lower()
    assert teams.runtime.service.view(number).state == "pending_approval"
    res = teams.tap("zoe.martin", approval["card"], "reject", text="Use the contracted supplier")
    assert teams.runtime.service.view(number).state == "rejected"
    teams.drain()
    assert any("Use the contracted supplier" in t for t in teams.fake.bf.texts_to(teams.user("jake.miller")))


def test_ask_for_info_and_answer_from_the_card(teams):  # type: ignore[no-untyped-def]
    """Zoe asks a question from the card; Jake answers from his updated card; it goes back to Zoe."""
    number = submitted(teams)
    zoe, jake = teams.user("zoe.martin"), teams.user("jake.miller")
    (approval,) = teams.fake.bf.cards_to(zoe)
    teams.tap("zoe.martin", approval["card"], "request_info", text="Is this for the new dock?")
    assert teams.runtime.service.view(number).state == "needs_info"
    teams.drain()
    roots = [c for c in teams.fake.bf.cards_to(jake) if number in texts_of(c["card"])]
    latest = teams.fake.bf.updates_of(roots[0]["id"])[-1]
    assert "answer_info" in execute_actions(latest)
    teams.tap("jake.miller", latest, "answer_info", text="Yes, dock 4")
    assert teams.runtime.service.view(number).state == "pending_approval"


def test_refresh_shows_the_current_card_to_whoever_opens_it(teams):  # type: ignore[no-untyped-def]
    """Teams asks for a refresh when Zoe opens her chat after approving on the web: she sees it approved, no buttons."""
    from approvals.commands import Approve

    number = submitted(teams)
    zoe = teams.user("zoe.martin")
    (approval,) = teams.fake.bf.cards_to(zoe)
    teams.runtime.service.approve(Approve(actor="zoe.martin", number=number, surface="web"))
    refresh = approval["card"]["refresh"]["action"]
    res = teams.post(teams.fake.execute(zoe, "refresh", refresh["data"], trigger="automatic"))
    assert res.status_code == 200
    content = res.json()["value"]
    assert "approve" not in execute_actions(content) and "approved" in texts_of(content).lower()


def test_status_pending_delegation_and_help_in_personal_chat(teams):  # type: ignore[no-untyped-def]
    """The same conversation as everywhere: help, status PR-…, pending, delegate, cancel delegation."""
    number = submitted(teams)
    assert "status PR-1042" in teams.say("jake.miller", "help")[0]["text"]
    status = only_card(teams.say("jake.miller", f"status {number}"))
    assert number in texts_of(status)
    queue = card(teams.say("zoe.martin", "pending")[0])
    assert number in texts_of(queue) and "status" in execute_actions(queue)
    res = teams.tap("zoe.martin", queue, "status")
    assert number in texts_of(res.json()["value"])
    delegation = only_card(teams.say("zoe.martin", "delegate to Maria Lopez from Dec 1 to Dec 5"))
    assert "cancel_delegation" in execute_actions(delegation)
    res = teams.tap("zoe.martin", delegation, "cancel_delegation")
    assert res.status_code == 200 and "cancel" in res.text.lower()


def test_conversation_reference_is_remembered_for_proactive_cards(teams):  # type: ignore[no-untyped-def]
    """Installing procurebot stores where to reach the person: service URL, conversation, tenant, bot, user."""
    teams.install("zoe.martin")
    zoe = teams.user("zoe.martin")
    with Session(teams.runtime.engine) as session:
        (row,) = session.exec(select(ChatAddress).where(ChatAddress.surface == "teams")).all()
    assert row.person_id == "zoe.martin"
    assert row.address["conversation_id"] == zoe.conversation and row.address["user_id"] == zoe.id
    assert row.address["service_url"] == teams.fake.bf.service_url and row.address["aad_object_id"] == zoe.aad
    assert APP_ID in row.address["bot_id"]


def test_choices_come_as_card_buttons_and_a_tap_answers_the_question(teams):  # type: ignore[no-untyped-def]
    """Asked which supplier, Jake taps Uline on the card instead of typing; the draft moves on."""
    replies = teams.say("jake.miller", "need 40 rolls of stretch wrap")
    question = only_card(replies)
    choices = [a for a in question["actions"] if a["verb"] == "choose"]
    assert {a["title"] for a in choices} >= {"Uline"}
    (asked,) = [a for a in replies if a.get("attachments")]
    chips = asked["suggestedActions"]["actions"]
    assert chips[0] == {"type": "imBack", "title": "Uline", "value": "uline"} and len(chips) <= 3
    uline = next(a for a in choices if a["title"] == "Uline")
    res = teams.post(teams.fake.execute(teams.user("jake.miller"), "choose", uline["data"]))
    assert res.status_code == 200
    shown = texts_of(res.json()["value"])
    assert "Uline" in shown and "Which supplier" not in shown


def test_installing_greets_once_and_group_chats_are_pointed_to_the_personal_chat(teams):  # type: ignore[no-untyped-def]
    """An install arrives twice (conversationUpdate, installationUpdate): one greeting; a group chat gets a pointer."""
    zoe = teams.user("zoe.martin")
    teams.post(teams.fake.activity(zoe, "conversationUpdate", membersAdded=[{"id": zoe.id}]))
    teams.post(teams.fake.activity(zoe, "installationUpdate", action="add"))
    assert [a["text"] for a in teams.fake.bf.to(zoe)] == [teams.fake.bf.to(zoe)[0]["text"]]
    group = teams.fake.message(zoe, "pending")
    group["conversation"] = {**group["conversation"], "id": "19:group", "conversationType": "groupChat"}
    assert teams.post(group).status_code == 200
    (pointer,) = [s["activity"] for s in teams.fake.bf.sent if s["conversation"] == "19:group"]
    assert "personal chat" in pointer["text"]


def test_connector_outage_is_retried_and_the_card_arrives_once(teams, clock):  # type: ignore[no-untyped-def]
    """The Teams connector fails when Zoe's card is due: the delivery job retries and she gets exactly one card."""
    teams.install("zoe.martin")
    summary = only_card(teams.say("jake.miller", WRAP))
    teams.fake.bf.faults += ["500"] * 3
    teams.tap("jake.miller", summary, "submit")
    teams.drain()
    zoe = teams.user("zoe.martin")
    for _ in range(4):
        clock.advance(minutes=5)
        teams.drain()
    assert teams.fake.bf.faults == []  # the outage happened
    cards_to_zoe = teams.fake.bf.cards_to(zoe)
    assert len([c for c in cards_to_zoe if "approve" in execute_actions(c["card"])]) == 1


def test_the_active_delegate_approves_from_teams_on_behalf_of_the_approver(teams):  # type: ignore[no-untyped-def]
    """Zoe is out and Maria approves for her: Maria gets the card in Teams, her Approve counts, on Zoe's behalf."""
    teams.install("maria.lopez")
    delegation = only_card(teams.say("zoe.martin", "delegate to Maria Lopez from today to Dec 5"))
    assert "Maria Lopez" in texts_of(delegation)
    summary = only_card(teams.say("jake.miller", WRAP))
    number = texts_of(teams.tap("jake.miller", summary, "submit").json()["value"]).split()[0]
    teams.drain()
    maria = teams.user("maria.lopez")
    cards_to_maria = [c for c in teams.fake.bf.cards_to(maria) if "approve" in execute_actions(c["card"])]
    assert cards_to_maria, teams.fake.bf.to(maria)
    res = teams.tap("maria.lopez", cards_to_maria[-1]["card"], "approve")
    assert res.status_code == 200
    view = teams.runtime.service.view(number)
    assert view.state in ("approved", "po_pending", "po_created")
    (decision,) = [d for d in view.decisions if d.action == "approve"]
    assert decision.actor == "maria.lopez" and decision.on_behalf_of


def test_an_approval_through_the_http_api_updates_the_teams_cards(teams):  # type: ignore[no-untyped-def]
    """A purchasing system approves over the v1 API for Zoe: her Teams card loses its buttons, Jake's follows."""
    from bot.tokens import create_token

    number = submitted(teams)
    token = create_token(teams.runtime.engine, name="erp-portal", role="service", act_as=True)
    res = teams.client.post(
        f"/api/v1/requisitions/{number}/actions",
        headers={"Authorization": f"Bearer {token}"},
        json={"action": "approve", "actor": "zoe.martin"},
    )
    assert res.status_code == 200, res.text
    teams.drain()
    (approval,) = teams.fake.bf.cards_to(teams.user("zoe.martin"))
    assert "approve" not in execute_actions(teams.fake.bf.updates_of(approval["id"])[-1])
    roots = [c for c in teams.fake.bf.cards_to(teams.user("jake.miller")) if texts_of(c["card"]).startswith(number)]
    assert "Zoe Martin" in texts_of(teams.fake.bf.updates_of(roots[0]["id"])[-1])


def test_a_reminder_reaches_the_approver_in_teams(teams, clock):  # type: ignore[no-untyped-def]
    """Zoe leaves the card unanswered; the scheduler's reminder arrives in her Teams chat, not in a log."""
    from approvals.scheduling.runner import Scheduler

    number = submitted(teams)
    live = teams.runtime.scheduler
    scheduler = Scheduler(
        teams.runtime.service, live.notifier, config=live.config, clock=clock, calendars=live.calendars
    )
    zoe = teams.user("zoe.martin")
    before = len(teams.fake.bf.to(zoe))
    for _ in range(6):
        clock.advance(hours=8)
        scheduler.tick()
    news = teams.fake.bf.to(zoe)[before:]
    assert any(number in (a.get("text") or a.get("summary") or "") for a in news), news


def test_a_reply_the_connector_refuses_does_not_undo_or_hide_the_action(teams):  # type: ignore[no-untyped-def]
    """The connector fails while Jake's summary is being sent: the turn still answers 200 and the draft is kept."""
    teams.say("jake.miller", "help")  # keys fetched and Jake known: the next fault hits the reply itself
    teams.fake.bf.faults.append("500")
    user = teams.user("jake.miller")
    assert teams.post(teams.fake.message(user, WRAP)).status_code == 200
    assert teams.fake.bf.faults == [] and not teams.fake.bf.cards_to(user)
    bot = teams.client.app.state.teams_bot
    assert bot.assistant.store.load("jake.miller").state == "confirming"


def test_a_card_deleted_in_teams_does_not_stop_the_other_copies_updating(teams):  # type: ignore[no-untyped-def]
    """Jake deleted his card in Teams; when Zoe approves, her own card still updates and Jake's thread is told."""
    number = submitted(teams)
    zoe, jake = teams.user("zoe.martin"), teams.user("jake.miller")
    roots = [c for c in teams.fake.bf.cards_to(jake) if texts_of(c["card"]).startswith(number)]
    teams.fake.bf.deleted.update(r["id"] for r in roots)
    (approval,) = teams.fake.bf.cards_to(zoe)
    teams.tap("zoe.martin", approval["card"], "approve")
    assert teams.drain() == 1
    assert "approve" not in execute_actions(teams.fake.bf.updates_of(approval["id"])[-1])
    assert any("Zoe Martin approved" in t for t in teams.fake.bf.texts_to(jake))


def test_a_suggested_action_answers_the_question_like_typing(teams):  # type: ignore[no-untyped-def]
    """Asked which site, Ben taps the suggested DAL chip (Teams sends it as his message); the summary follows."""
    # "for central" is Dallas or Chicago: a site question (with no site at all, Ben, who has no home site, is
    # asked for a site or a corporate cost center in one question)
    replies = teams.say("ben.turner", "need 40 rolls of stretch wrap for central from Uline about $32 a roll")
    (asked,) = [a for a in replies if a.get("suggestedActions")]
    chip = asked["suggestedActions"]["actions"][0]
    assert chip["type"] == "imBack" and chip["value"] == "DAL"
    summary = only_card(teams.say("ben.turner", chip["value"]))
    assert "submit" in execute_actions(summary) and "DAL" in texts_of(summary)
