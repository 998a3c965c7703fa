"""The web chat over HTTP with the LLM configured by its environment variables, as `procurebot serve` runs it."""

from __future__ import annotations

import html
import json
import re
import threading

import pytest
from fastapi.testclient import TestClient

from bot.api.app import create_app
from bot.runtime import build_runtime
from bot.settings import Settings
from tests.fake_openai import FakeOpenAI

NOTE = "Acme Pallet Co. is high risk with no contract; the total is $1,400.00."


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    with FakeOpenAI() as server:
        server.gate = threading.Event()
        server.responders["classify"] = lambda user: {"category": "janitorial", "confidence": 0.9, "reason": "mops"}
        server.responders["summary"] = lambda user: {"summary": NOTE}
        yield server
        server.gate.set()


@pytest.fixture
def web(db_url, clock, fake, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-web-test")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("PROCUREBOT_LLM_MODEL", "fake-model")
    settings = Settings(database_url=db_url, admin_token=None, env="dev", _env_file=None)
    runtime = build_runtime(settings)
    runtime.service.clock = clock
    with TestClient(create_app(settings, runtime=runtime)) as client:
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    fake.gate.set()
    runtime.llm.close()
    runtime.engine.dispose()


def say(client, person: str, text: str) -> list[dict]:  # type: ignore[no-untyped-def]
    res = client.post("/chat/api/messages", json={"person": person, "text": text})
    assert res.status_code == 200, res.text
    return res.json()["replies"]


def tap(client, person: str, html_card: str, action: str) -> list[dict]:  # type: ignore[no-untyped-def]
    value = json.loads(html.unescape(re.search(rf'data-action="{action}" data-value="([^"]*)"', html_card).group(1)))
    res = client.post("/chat/api/actions", json={"person": person, "action": action, "value": value})
    assert res.status_code == 200, res.text
    return res.json()["replies"]


def card(client, number: str, person: str) -> str:  # type: ignore[no-untyped-def]
    res = client.get(f"/chat/api/cards/{number}", params={"person": person})
    assert res.status_code == 200, res.text
    return html.unescape(res.json()["html"])


def test_served_web_chat_uses_the_llm_off_the_reply_path(web, fake):
    """Configured by OPENAI_* and PROCUREBOT_LLM_MODEL: replies come while the model is held; afterwards the
    approver's card carries the model's checked note and the requester's summary the suggested category."""
    runtime = web.runtime
    assert runtime.llm.client is not None
    summary = next(
        r["html"] for r in say(web, "jake.miller", "need 100 pallets from acme for Dallas at $14 each") if r["html"]
    )
    number = next(r["number"] for r in tap(web, "jake.miller", summary, "submit") if r["number"])
    approver = runtime.service.view(number).waiting_on[0]
    assert "What is unusual: Acme Pallet Co.: risk tier high, no contract." in card(web, number, approver)
    first = next(
        r["html"] for r in say(web, "jake.miller", "need 6 mop buckets from Grainger at $25 each") if r["html"]
    )
    # the learned classifier places mop buckets at once; the model is asked beside it, off the reply path
    assert "Janitorial and sanitation (suggested from the item text" in html.unescape(first)
    fake.gate.set()  # the model answers now
    runtime.llm.suggester.wait_idle(10)
    runtime.llm.summaries.wait_idle(10)
    assert f"What is unusual: {NOTE}" in card(web, number, approver)
    assert "What is unusual" not in card(web, number, "jake.miller")
    summary = next(r["html"] for r in say(web, "jake.miller", "by Friday") if r["html"])
    assert "Janitorial and sanitation (suggested from the item text" in html.unescape(summary)
    assert 'data-action="change_category"' in summary
