"""Recurring purchases in the web chat: "$32 a month for 6 months" is approved once, ordered month by month, and
the requester's card pauses and ends it."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from approvals.outbox import ErpPurchaseOrder
from approvals.scheduling.runner import Scheduler
from bot.api.app import create_app
from bot.erp_dispatcher import ErpDispatcher
from bot.runtime import build_runtime
from bot.settings import Settings
from connectors.erp.config import ErpSettings
from connectors.erp.sandbox import SandboxErp

ASK = "stretch wrap PKG-SW-18 from uline for DAL-OPS, $32 a month"


class Inbox:
    def send(self, person_id, notice):  # type: ignore[no-untyped-def]
        return "msg"


@pytest.fixture
def web(db_url, clock):  # type: ignore[no-untyped-def]
    # no ticking and no dispatcher threads in the server: the test runs both by hand, with its clock
    settings = Settings(
        database_url=db_url, admin_token=None, env="dev", scheduler_enabled=False, erp_dispatchers=0, _env_file=None
    )
    runtime = build_runtime(settings)
    runtime.service.clock = clock
    with TestClient(create_app(settings, runtime=runtime)) as client:
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    runtime.engine.dispose()


def say(client, person: str, text: str) -> list[dict]:  # type: ignore[no-untyped-def]
    res = client.post("/chat/api/messages", json={"person": person, "text": text})
    assert res.status_code == 200, res.text
    return res.json()["replies"]


def tap(client, person: str, card_html: str, action: str) -> list[dict]:  # type: ignore[no-untyped-def]
    found = re.search(rf'data-action="{re.escape(action)}" data-value="([^"]*)"', card_html)
    assert found, f"no {action} button on the card"
    value = json.loads(html.unescape(found.group(1)))
    res = client.post("/chat/api/actions", json={"person": person, "action": action, "value": value})
    assert res.status_code == 200, res.text
    return res.json()["replies"]


def card(client, number: str, person: str) -> str:  # type: ignore[no-untyped-def]
    res = client.get(f"/chat/api/cards/{number}", params={"person": person})
    assert res.status_code == 200, res.text
    return res.json()["html"]


def tick(web, clock) -> None:  # type: ignore[no-untyped-def]
    rt = web.runtime
    Scheduler(rt.service, Inbox(), clock=clock).run_until_idle()
    erp = SandboxErp(rt.engine, rt.directory)
    ErpDispatcher(rt.engine, rt.directory, erp, Inbox(), settings=ErpSettings(_env_file=None), clock=clock).drain()


def pos(web) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(web.runtime.engine) as s:
        return sorted(p.requisition_number for p in s.exec(select(ErpPurchaseOrder)).all())


def test_a_monthly_order_in_the_web_chat_asks_its_end_then_is_ordered_paused_and_ended(web, clock):
    """Jake asks for $32 a month with no end and is asked for how many months; says 6; the summary says one PO a
    month, 6 times; he submits; the first month
    is ordered; his card shows the releases with Pause and End; paused, the next month is skipped; ended, no more."""
    asked = say(web, "jake.miller", ASK)
    assert any("For how many months" in r["text"] for r in asked), [r["text"] for r in asked]
    replies = say(web, "jake.miller", "6")
    summary = next(r["html"] for r in replies if r.get("html") and "Ready to submit?" in r["html"])
    assert "one purchase order a month, 6 times ($32.00 each)" in html.unescape(summary)
    number = tap(web, "jake.miller", summary, "submit")[0]["number"]
    tick(web, clock)
    assert pos(web) == [f"{number}-R01"]
    mine = card(web, number, "jake.miller")
    assert "Monthly, 6 releases from 2026-11-23: 1 made; next 2026-12-23 (active)." in html.unescape(mine)
    assert 'data-action="recurring.pause"' in mine and 'data-action="recurring.end"' in mine
    assert 'data-action="recurring.pause"' not in card(web, number, "priya.nair")  # sees it; not hers to pause
    assert 'data-action="recurring.pause"' in card(web, number, "grace.kim")  # a buyer
    paused = tap(web, "jake.miller", mine, "recurring.pause")[0]
    assert f"{number}'s releases are paused." in paused["text"]
    assert 'data-action="recurring.resume"' in paused["html"]
    clock.advance(days=31)
    tick(web, clock)
    assert pos(web) == [f"{number}-R01"]
    ended = tap(web, "jake.miller", paused["html"], "recurring.end")[0]
    assert f"{number}'s releases are ended." in ended["text"] and "recurring." not in ended["html"]
    clock.advance(days=200)
    tick(web, clock)
    assert pos(web) == [f"{number}-R01"]
