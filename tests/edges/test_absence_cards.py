"""The suggested-delegation card, end to end on every surface: an approver whose automatic replies say they are out
(the directory sync saw them) gets a card asking who approves for them meanwhile, with buttons to confirm the
suggested delegate (their manager), pick someone else, or dismiss it; each works on Slack (signed interactivity
payloads), Teams (Action.Execute invokes with a valid token) and the web chat."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from slack_harness import buttons_of, running, text_of
from sqlmodel import Session, select

from approvals import absences
from approvals.db import transaction
from approvals.directory_store import Absence
from approvals.models import AuditEvent, Delegation
from approvals.scheduling.calendar import Calendars
from approvals.scheduling.plan import SchedulerConfig
from approvals.scheduling.runner import Scheduler
from bot.chat.delivery import ChatNotifier
from bot.notify import InboxNotifier
from tests.factories import boxes, submit

ASKED = "You're out until "


def _out_and_asked(runtime: Any, clock: Any, person: str = "maria.lopez") -> str:
    """A request waits on `person`; the sync saw their automatic replies on until three days from now and asked
    them who approves meanwhile; the scheduler delivers the card. Returns the request's number."""
    number = runtime.service.submit(submit(lines=[boxes(80)])).number  # $3,840: Maria's
    assert runtime.service.get(number).waiting_on == [person]
    now = clock()
    seen = [absences.Seen(person, "scheduled", now - timedelta(hours=1), now + timedelta(days=3))]
    with transaction(runtime.engine) as session:
        absences.record(session, seen, now)
        asked = absences.ask_who_approves(session, runtime.directory, [person], now, rule="wait")
    assert asked == [person]
    config = SchedulerConfig()
    notifier = ChatNotifier(runtime.chat, fallback=InboxNotifier(runtime.engine, clock))
    Scheduler(
        runtime.service,
        notifier,
        config=config,
        calendars=Calendars(runtime.directory, config.hours),
        clock=clock,
        worker_id="test",
    ).run_until_idle()
    return number


def _delegations(runtime: Any) -> list[tuple[str, str, str]]:
    with Session(runtime.engine) as session:
        return [(d.delegator, d.delegate, d.created_by) for d in session.exec(select(Delegation)).all()]


def _surface_of_set(runtime: Any) -> list[str]:
    with Session(runtime.engine) as session:
        return [e.surface for e in session.exec(select(AuditEvent).where(AuditEvent.kind == "delegation_set"))]


# ---------------------------------------------------------------------------------------------------- Slack
@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def _slack_card(slack: Any, words: str) -> Any:
    found = [c for c in map(slack.current, slack.posts_to("maria.lopez")) if words in text_of(c)]
    assert found, [c.args.get("text") for c in slack.posts_to("maria.lopez")]
    return found[-1]


def _press(slack: Any, message: Any, label: str) -> None:
    element = next(b for b in buttons_of(message) if b["text"]["text"] == label)
    assert slack.tap_element("maria.lopez", message, element["action_id"], element.get("value", "")).status_code == 200


def test_slack_confirm_sets_the_suggested_delegation_once(slack, clock):
    """Maria's Slack DM gets the card with three buttons; 'Yes, James approves for me' sets James Carter as her
    delegate through the end of her last day away, recorded as done on Slack; a second tap sets nothing more."""
    _out_and_asked(slack.runtime, clock)
    slack.settle()
    card = _slack_card(slack, ASKED)
    assert [b["text"]["text"] for b in buttons_of(card)] == ["Yes, James approves for me", "Someone else", "Dismiss"]
    _press(slack, card, "Yes, James approves for me")
    assert _delegations(slack.runtime) == [("maria.lopez", "james.carter", "maria.lopez")]
    assert _surface_of_set(slack.runtime) == ["slack"]
    assert any("James Carter" in t for t in map(text_of, slack.posts_to("maria.lopez")[-2:]))
    _press(slack, card, "Yes, James approves for me")  # a double tap, or the same card on another surface
    assert len(_delegations(slack.runtime)) == 1


def test_slack_someone_else_offers_people_near_her_then_sets_the_one_picked(slack, clock):
    """'Someone else' answers with her managers and the people who share her manager as buttons; Maria picks Frank
    Novak, gets the proposal, confirms it, and Frank approves for her."""
    _out_and_asked(slack.runtime, clock)
    slack.settle()
    _press(slack, _slack_card(slack, ASKED), "Someone else")
    question = _slack_card(slack, "Who approves for you from")
    labels = [b["text"]["text"] for b in buttons_of(question)]
    assert labels[:2] == ["James Carter", "Marcus Bell"] and "Frank Novak" in labels and "Maria Lopez" not in labels
    _press(slack, question, "Frank Novak")
    proposal = _slack_card(slack, "Set this delegation?")
    _press(slack, proposal, "Yes, set it")
    assert _delegations(slack.runtime) == [("maria.lopez", "frank.novak", "maria.lopez")]


def test_slack_dismiss_sets_nothing(slack, clock):
    """Dismiss is answered politely and no delegation is set; her step keeps waiting for her."""
    number = _out_and_asked(slack.runtime, clock)
    slack.settle()
    _press(slack, _slack_card(slack, ASKED), "Dismiss")
    assert _delegations(slack.runtime) == []
    assert slack.runtime.service.get(number).waiting_on == ["maria.lopez"]
    assert any(
        "no delegation was set" in t
        for t in slack.ephemerals_to("maria.lopez") + [text_of(c) for c in slack.posts_to("maria.lopez")]
    )


# ---------------------------------------------------------------------------------------------------- Teams
@pytest.fixture
def teams(db_url, clock, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from teams_harness import running as teams_running

    for harness in teams_running(db_url, clock, tmp_path, monkeypatch):
        yield harness


def _teams_press(teams: Any, content: dict[str, Any], title: str) -> Any:
    action = next(a for a in content["actions"] if a["type"] == "Action.Execute" and a["title"] == title)
    res = teams.post(teams.fake.execute(teams.user("maria.lopez"), action["verb"], dict(action["data"])))
    assert res.status_code == 200, res.text
    return res


def test_teams_confirm_sets_the_suggested_delegation(teams, clock):
    """Maria has procurebot in Teams: the card arrives in her personal chat with the three buttons; pressing 'Yes,
    James approves for me' (an invoke with a valid Bot Framework token) sets the delegation, recorded as Teams."""
    from fake_teams import card

    teams.install("maria.lopez")
    before = len(teams.fake.bf.to(teams.user("maria.lopez")))
    _out_and_asked(teams.runtime, clock)
    teams.drain()
    sent = [card(a) for a in teams.fake.bf.to(teams.user("maria.lopez"))[before:] if card(a)]
    content = next(c for c in sent if ASKED in json.dumps(c))
    titles = [a["title"] for a in content["actions"] if a["type"] == "Action.Execute"]
    assert titles == ["Yes, James approves for me", "Someone else", "Dismiss"]
    _teams_press(teams, content, "Yes, James approves for me")
    assert _delegations(teams.runtime) == [("maria.lopez", "james.carter", "maria.lopez")]
    assert _surface_of_set(teams.runtime) == ["teams"]


def test_teams_refuses_a_press_with_a_forged_token(teams, clock):
    """The same press signed by someone else's key changes nothing."""
    from fake_teams import card

    teams.install("maria.lopez")
    _out_and_asked(teams.runtime, clock)
    teams.drain()
    content = next(c for a in teams.fake.bf.to(teams.user("maria.lopez")) if (c := card(a)) and ASKED in json.dumps(c))
    action = next(a for a in content["actions"] if a["title"] == "Yes, James approves for me")
    activity = teams.fake.execute(teams.user("maria.lopez"), action["verb"], dict(action["data"]))
    res = teams.post(activity, forged=True)
    assert res.status_code in (401, 403)
    assert _delegations(teams.runtime) == []


# ---------------------------------------------------------------------------------------------------- web chat
@pytest.fixture
def web(db_url, clock, tmp_path):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from bot.api.app import create_app
    from bot.runtime import build_runtime
    from bot.settings import Settings

    settings = Settings(database_url=db_url, admin_token=None, env="dev", var_dir=tmp_path, _env_file=None)
    runtime = build_runtime(settings)
    runtime.service.clock = clock
    with TestClient(create_app(settings, runtime=runtime)) as client:
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    runtime.engine.dispose()


def _web_buttons(page: str) -> dict[str, dict[str, Any]]:
    """The buttons of a rendered card: label -> (action, value), as the page's script sends them."""
    out = {}
    for attrs, label in re.findall(r"<button([^>]*)>([^<]*)</button>", page):
        action = re.search(r'data-action="([^"]*)"', attrs)
        value = re.search(r'data-value="([^"]*)"', attrs)
        if action:
            out[html.unescape(label.strip())] = {
                "action": action.group(1),
                "value": json.loads(html.unescape(value.group(1))) if value else {},
            }
    return out


def test_web_chat_card_waits_unread_and_its_confirm_sets_the_delegation(web, clock):
    """With no Slack or Teams, the card waits in Maria's web chat unread list with its buttons; pressing 'Yes, James
    approves for me' sets the delegation, recorded as the web chat."""
    _out_and_asked(web.runtime, clock)
    items = web.get("/chat/api/unread", params={"person": "maria.lopez"}).json()["items"]
    (item,) = [i for i in items if (i.get("text") or "").startswith(ASKED)]
    buttons = _web_buttons(item["html"])
    assert list(buttons) == ["Yes, James approves for me", "Someone else", "Dismiss"]
    yes = buttons["Yes, James approves for me"]
    answer = web.post("/chat/api/actions", json={"person": "maria.lopez", **yes})
    assert answer.status_code == 200, answer.text
    assert _delegations(web.runtime) == [("maria.lopez", "james.carter", "maria.lopez")]
    assert _surface_of_set(web.runtime) == ["web"]


def test_an_absence_without_an_end_offers_only_dismiss(web, clock):
    """Automatic replies on with no end date: the card cannot guess the last day, so it asks in words and offers
    only Dismiss."""
    now = clock()
    with transaction(web.runtime.engine) as session:
        session.add(Absence(person_id="maria.lopez", status="alwaysEnabled", seen_at=now))
        session.flush()
        absences.ask_who_approves(session, web.runtime.directory, ["maria.lopez"], now, rule="skip")
        from approvals.jobqueue import Job

        (job,) = session.exec(select(Job).where(Job.kind == "notify")).all()
    assert [a["label"] for a in job.payload["actions"]] == ["Dismiss"]
    assert "until further notice" in job.payload["text"] and "go to your manager" in job.payload["text"]


# ------------------------------------------------------------------------------- a typed out-of-office sentence
TYPED = "I'm away from Nov 30 to Dec 4, Frank covers my approvals"


def test_slack_typed_absence_card_can_change_the_delegate_before_confirming(slack):
    """Maria types that she is away and Frank covers: the card offers 'Yes, set it', 'Someone else' and 'No'; she
    taps 'Someone else', picks James Carter, confirms, and James (not Frank) approves for her."""
    slack.dm("maria.lopez", TYPED)
    card = _slack_card(slack, "Set this delegation?")
    assert [b["text"]["text"] for b in buttons_of(card)] == ["Yes, set it", "Someone else", "No"]
    _press(slack, card, "Someone else")
    _press(slack, _slack_card(slack, "Who approves for you from Mon Nov 30"), "James Carter")
    proposal = _slack_card(slack, "James Carter would approve for you")
    _press(slack, proposal, "Yes, set it")
    assert _delegations(slack.runtime) == [("maria.lopez", "james.carter", "maria.lopez")]


def test_teams_typed_absence_card_confirms_and_dismisses(teams):
    """In Teams, Maria's typed absence gets the same card; 'No' sets nothing, and the card of a second sentence
    confirmed with 'Yes, set it' sets Frank as her delegate."""
    from teams_harness import only_card

    teams.install("maria.lopez")
    _teams_press(teams, only_card(teams.say("maria.lopez", TYPED)), "No")
    assert _delegations(teams.runtime) == []
    content = only_card(teams.say("maria.lopez", TYPED))
    titles = [a["title"] for a in content["actions"] if a["type"] == "Action.Execute"]
    assert titles == ["Yes, set it", "Someone else", "No"]
    _teams_press(teams, content, "Yes, set it")
    assert _delegations(teams.runtime) == [("maria.lopez", "frank.novak", "maria.lopez")]


def test_web_chat_typed_absence_card_changes_the_delegate(web):
    """In the web chat, 'Someone else' on the typed card lists people near Maria; picking Marcus Bell and confirming
    sets him as her delegate."""
    said = web.post("/chat/api/messages", json={"person": "maria.lopez", "text": TYPED}).json()
    card = next(r["html"] for r in said["replies"] if r.get("html") and "Set this delegation?" in r["html"])
    other = web.post("/chat/api/actions", json={"person": "maria.lopez", **_web_buttons(card)["Someone else"]}).json()
    question = next(r["html"] for r in other["replies"] if r.get("html"))
    picked = web.post("/chat/api/actions", json={"person": "maria.lopez", **_web_buttons(question)["Marcus Bell"]})
    proposal = next(r["html"] for r in picked.json()["replies"] if r.get("html"))
    yes = _web_buttons(proposal)["Yes, set it"]
    assert web.post("/chat/api/actions", json={"person": "maria.lopez", **yes}).status_code == 200
    assert _delegations(web.runtime) == [("maria.lopez", "marcus.bell", "maria.lopez")]


def test_the_same_card_tapped_on_two_surfaces_minutes_apart_sets_one_delegation(service, directory, clock):
    """Maria taps 'Yes, James approves for me' in Slack, and five minutes later on the same card in Teams: one
    delegation, and the second tap shows it."""
    from bot.intake.assistant import Assistant

    now = clock()
    with transaction(service.engine) as session:
        absences.record(session, [absences.Seen("maria.lopez", "scheduled", now, now + timedelta(days=3))], now)
        absences.ask_who_approves(session, directory, ["maria.lopez"], now, rule="wait")
        from approvals.jobqueue import Job

        (job,) = session.exec(select(Job).where(Job.kind == "notify")).all()
    yes = next(a for a in job.payload["actions"] if a["field"] == "delegation.confirm")
    value = {k: yes[k] for k in ("field", "value", "key")}
    Assistant(service, directory, surface="slack").handle_action("maria.lopez", "choose", value)
    clock.now = clock.now + timedelta(minutes=5)
    again = Assistant(service, directory, surface="teams").handle_action("maria.lopez", "choose", value)
    assert [r.card.title for r in again if r.card] == ["Delegation set"]
    assert [(d.delegator, d.delegate) for d in service.delegations(person="maria.lopez")] == [
        ("maria.lopez", "james.carter")
    ]
