"""The web chat over HTTP: whole stories from the first message to the decision, with every card update checked."""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from approvals.workflow.base import Change
from bot.api.app import create_app
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.web.hub import LiveHub

WRAP = "need 40 rolls of stretch wrap for Dallas from Uline, about $32 a roll, by Friday, urgent"


@pytest.fixture
def web(db_url, clock):  # type: ignore[no-untyped-def]
    settings = Settings(database_url=db_url, admin_token=None, env="dev", _env_file=None)
    runtime = build_runtime(settings)
    runtime.service.clock = clock
    changes: list[Change] = []
    runtime.service.after_commit.append(changes.append)
    with TestClient(create_app(settings, runtime=runtime)) as client:
        client.changes = changes  # type: ignore[attr-defined]
        yield client
    runtime.engine.dispose()


def say(client, person: str, text: str) -> list[dict]:  # type: ignore[no-untyped-def]
    res = client.post("/chat/api/messages", json={"person": person, "text": text})
    assert res.status_code == 200, res.text
    return res.json()["replies"]


def tap(client, person: str, html_card: str, action: str, text: str | None = None) -> list[dict]:  # type: ignore[no-untyped-def]
    value = json.loads(html.unescape(re.search(rf'data-action="{action}" data-value="([^"]*)"', html_card).group(1)))
    res = client.post("/chat/api/actions", json={"person": person, "action": action, "value": value, "text": text})
    assert res.status_code == 200, res.text
    return res.json()["replies"]


def card(client, number: str, person: str) -> str:  # type: ignore[no-untyped-def]
    res = client.get(f"/chat/api/cards/{number}", params={"person": person})
    assert res.status_code == 200, res.text
    return res.json()["html"]


def buttons(card_html: str) -> list[str]:
    return re.findall(r'data-action="([a-z_]+)"', card_html)


def test_home_is_the_web_chat(web):
    """A newcomer opening / lands on the chat page, which lists the sample company's people."""
    res = web.get("/", follow_redirects=True)
    assert res.status_code == 200 and '<select id="person"' in res.text
    people = web.get("/chat/api/people").json()
    assert {"id": "jake.miller", "name": "Jake Miller", "title": "Maintenance Technician", "site": "DAL"} in people
    assert web.get("/chat/static/chat.js").headers["content-type"].startswith("text/javascript")
    assert web.get("/chat/static/../settings.py").status_code == 404


def test_story_request_route_approve(web):
    """Jake asks in one message, submits; Zoe's card has Approve/Reject/Ask and why her; she approves; cards agree."""
    summary = say(web, "jake.miller", WRAP)[0]["html"]
    assert "Ready to submit?" in summary and buttons(summary) == ["submit", "edit", "cancel"]
    submitted = tap(web, "jake.miller", summary, "submit")[0]
    number = submitted["number"]
    assert "is with Zoe Martin" in submitted["text"] and "Waiting on Zoe Martin (Manager)." in submitted["html"]
    assert [c.command for c in web.changes] == ["submit"]

    zoe = card(web, number, "zoe.martin")
    assert buttons(zoe) == ["approve", "reject", "request_info", "comment"] and "Why you:" in zoe
    assert buttons(card(web, number, "jake.miller")) == ["withdraw", "comment"]
    # Maria manages the Dallas site: she sees its requests and may comment, no more; Emily, a planner there, does not
    assert buttons(card(web, number, "maria.lopez")) == ["comment"]
    assert web.get(f"/chat/api/cards/{number}", params={"person": "emily.davis"}).status_code == 404

    approved = tap(web, "zoe.martin", zoe, "approve")[0]
    assert approved["text"] == f"{number} is approved."
    for person in ("jake.miller", "zoe.martin", "maria.lopez"):
        now = card(web, number, person)
        assert "Approved by Zoe Martin at 2026-11-23 15:00 UTC." in now and "tone-ok" in now
        assert "approve" not in buttons(now)
    stale = tap(web, "zoe.martin", zoe.replace(":a&", ":again&"), "approve")[0]
    assert stale["text"] == (
        f"{number} was approved by Zoe Martin at 09:00 CST on Mon Nov 23 and is now awaiting the "
        "purchase order; you cannot approve it now."
    )
    assert [c.command for c in web.changes] == ["submit", "approve"]


def test_story_ask_info_answer_then_reject(web):
    """Zoe asks why; Jake's card becomes a question with Answer; he answers; Zoe rejects with a reason; cards follow."""
    summary = say(web, "jake.miller", WRAP)[0]["html"]
    number = tap(web, "jake.miller", summary, "submit")[0]["number"]
    asked = tap(web, "zoe.martin", card(web, number, "zoe.martin"), "request_info", "Why urgent?")[0]
    assert "asked about" in asked["text"]
    jake = card(web, number, "jake.miller")
    assert "kind-info_request" in jake and "answer_info" in buttons(jake) and "Why urgent?" in jake
    assert buttons(card(web, number, "zoe.martin")) == ["comment"]  # nothing to approve while the question is open
    tap(web, "jake.miller", jake, "answer_info", "We run out on Thursday")
    zoe = card(web, number, "zoe.martin")
    assert buttons(zoe) == ["approve", "reject", "request_info", "comment"] and "We run out on Thursday" in zoe
    refused = tap(web, "zoe.martin", zoe, "reject", "")
    assert "write a reason" in refused[0]["text"]
    tap(web, "zoe.martin", zoe, "reject", "Use the contract price")
    jake = card(web, number, "jake.miller")
    assert "Rejected by Zoe Martin" in jake and "Use the contract price" in jake and "tone-bad" in jake
    assert [c.command for c in web.changes] == ["submit", "request_info", "answer_info", "reject"]


def test_story_with_questions_and_buttons(web):
    """Tasha asks for laptops from 'Dell or CDW': the bot asks which supplier with buttons, then summarises."""
    replies = say(web, "tasha.reed", "5 laptops for atlanta, from dell or cdw, $1400 each")
    assert "Which supplier did you mean?" in replies[0]["html"]
    chosen = tap(web, "tasha.reed", replies[0]["html"].split("</button>")[1] + "</button>", "choose")
    assert "CDW" in chosen[0]["html"] and "$7,000.00" in chosen[0]["html"]


def test_card_text_is_escaped(web):
    """A message with markup is shown as text on the card, never run as HTML."""
    say(web, "jake.miller", "3 laptops from cdw")
    replies = say(web, "jake.miller", "because <script>alert(1)</script>")
    page = "".join(r["html"] or "" for r in replies)
    assert "<script>" not in page


def test_bad_requests(web):
    """An unknown person is a 404 with a clear message; a huge message gets a reply, not a crash."""
    res = web.post("/chat/api/messages", json={"person": "nobody", "text": "hi"})
    assert res.status_code == 404 and "nobody" in res.json()["error"]["message"]
    replies = say(web, "jake.miller", "x" * 100_000)
    assert "I read up to 4,000" in replies[0]["text"]


def test_off_in_production(db_url):
    """In production mode the person picker is off, with a message that says what to use instead."""
    settings = Settings(database_url="postgresql://db/p", env="production", _env_file=None)
    dev = build_runtime(Settings(database_url=db_url, env="dev", _env_file=None))
    dev.settings = settings
    with TestClient(create_app(settings, runtime=dev)) as client:
        page = client.get("/chat")
        assert page.status_code == 403 and "off in production mode" in page.text
        res = client.post("/chat/api/messages", json={"person": "jake.miller", "text": "hi"})
        assert res.status_code == 403
    dev.engine.dispose()


def test_hub_delivers_changes_from_worker_threads():
    """An action committed on a worker thread reaches a browser's queue on the server loop, with who it concerns."""
    hub = LiveHub(lambda number: ["jake.miller", "zoe.martin"])
    change = Change(
        "PR-1001",
        1,
        "approve",
        "approved",
        "zoe.martin",
        "web",
        "approved",
        datetime(2026, 11, 23, tzinfo=timezone.utc),
    )

    async def scenario() -> dict:
        queue = hub.subscribe("jake.miller")
        threading.Thread(target=hub.on_change, args=(change,)).start()
        event = await asyncio.wait_for(queue.get(), timeout=5)
        hub.unsubscribe(queue)
        return event

    event = asyncio.run(scenario())
    assert event == {
        "type": "change",
        "number": "PR-1001",
        "state": "approved",
        "command": "approve",
        "actor": "zoe.martin",
        "audience": ["jake.miller", "zoe.martin"],
    }
    assert hub.connected == 0
