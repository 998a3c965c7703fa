"""New suppliers in the web chat over HTTP: ask procurement from the summary, a buyer's card, the ERP, Continue."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from approvals import new_suppliers
from approvals.jobqueue import Job
from bot.api.app import create_app
from bot.erp_dispatcher import ErpDispatcher, durable_notifier
from bot.runtime import build_runtime
from bot.settings import Settings
from connectors.erp.config import ErpSettings
from connectors.erp.sandbox import SandboxErp

ZORO = "need 40 rolls of stretch wrap for Dallas from Zoro Tools, about $32 a roll"
GOOD = {"name": "Zoro Tools", "email": "orders@zoro.example", "website": "www.zoro.example"}


@pytest.fixture
def web(db_url, clock):  # type: ignore[no-untyped-def]
    settings = Settings(database_url=db_url, admin_token=None, env="dev", erp_dispatchers=0, _env_file=None)
    runtime = build_runtime(settings)
    runtime.service.clock = clock
    with TestClient(create_app(settings, runtime=runtime)) as client:
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    runtime.engine.dispose()


def dispatch(client) -> None:  # type: ignore[no-untyped-def]
    """One ERP dispatcher pass, as the server's own thread would make it: notices go to the web chat's inbox."""
    rt = client.runtime
    settings = ErpSettings(_env_file=None, erp_max_attempts=3, erp_backoff_base_seconds=2, erp_backoff_max_seconds=60)
    notifier = durable_notifier(rt.chat, rt.engine, rt.service.clock, assistants=rt.assistant)
    erp = SandboxErp(rt.engine, rt.directory)
    ErpDispatcher(rt.engine, rt.directory, erp, notifier, settings=settings, clock=rt.service.clock).drain()


def say(client, person: str, text: str) -> list[dict]:  # type: ignore[no-untyped-def]
    res = client.post("/chat/api/messages", json={"person": person, "text": text})
    assert res.status_code == 200, res.text
    return res.json()["replies"]


def value_of(card_html: str, action: str) -> dict[str, str]:
    found = re.search(rf'data-action="{re.escape(action)}" data-value="([^"]*)"', card_html)
    assert found, f"no {action} on the card: {card_html}"
    return json.loads(html.unescape(found.group(1)))


def tap(client, person, card_html, action, text=None, **fields) -> list[dict]:  # type: ignore[no-untyped-def]
    value = {**value_of(card_html, action), **fields}
    res = client.post("/chat/api/actions", json={"person": person, "action": action, "value": value, "text": text})
    assert res.status_code == 200, res.text
    return res.json()["replies"]


def words(replies: list[dict]) -> str:
    return " ".join((r["text"] or "") + " " + (r["html"] or "") for r in replies)


def unread_html(client, person: str) -> str:  # type: ignore[no-untyped-def]
    res = client.get("/chat/api/unread", params={"person": person})
    assert res.status_code == 200, res.text
    return " ".join(i["html"] or i["text"] for i in res.json()["items"])


def ask_from_summary(client, person="jake.miller"):  # type: ignore[no-untyped-def]
    question = say(client, person, ZORO)[-1]["html"]
    new = re.findall(r'data-action="choose" data-value="([^"]*)"', question)
    value = next(json.loads(html.unescape(v)) for v in new if '"value": "new"' in html.unescape(v))
    res = client.post("/chat/api/actions", json={"person": person, "action": "choose", "value": value})
    summary = res.json()["replies"][-1]["html"]
    assert 'class="needs-fields"' in summary and 'value="Zoro Tools"' in summary
    return summary


def approve_and_create(client) -> None:  # type: ignore[no-untyped-def]
    """Ben approves SUP-1 from his card; the dispatcher makes the vendor in the sandbox ERP and tells the requesters."""
    dispatch(client)  # the buyers' notices
    approved = tap(client, "ben.turner", unread_html(client, "ben.turner"), "supplier.approve")
    assert "Approved: Zoro Tools is being created in the ERP" in words(approved)
    dispatch(client)  # the vendor in the ERP, the directory version, the requesters' notices


def requisitions(client, person: str = "jake.miller") -> list:  # type: ignore[type-arg, no-untyped-def]
    return client.runtime.service.list(requester=person)


def test_a_requester_asks_a_buyer_approves_and_the_waiting_request_goes_on(web):
    """Jake names an unknown supplier, asks procurement from the summary's form; Ben's card approves it; the sandbox
    ERP makes the vendor; without Jake pressing anything his request comes back as a summary with the new supplier,
    and Submit routes it with Zoro Tools (not contracted: no touchless approval)."""
    summary = ask_from_summary(web)
    missing = tap(web, "jake.miller", summary, "supplier.request", name="Zoro Tools", email="", website="zoro")
    assert "contact e-mail address" in words(missing) and "is not a website address" in words(missing)
    asked = tap(web, "jake.miller", summary, "supplier.request", **GOOD)
    assert "I asked procurement to add Zoro Tools (SUP-1)" in words(asked)
    assert "needs-fields" not in asked[-1]["html"] and "Procurement was asked to add Zoro Tools" in asked[-1]["html"]

    dispatch(web)  # the buyers' notices
    ben = unread_html(web, "ben.turner")
    assert "Jake Miller asks procurement to add a new supplier: Zoro Tools" in ben
    assert "orders@zoro.example" in ben and "https://www.zoro.example" in ben
    refused = tap(web, "jake.miller", ben, "supplier.approve")
    assert "Only buyers" in words(refused)
    approved = tap(web, "ben.turner", ben, "supplier.approve")
    assert "Approved: Zoro Tools is being created in the ERP" in words(approved)
    again = tap(web, "ben.turner", ben, "supplier.approve")
    assert "already approved by Ben Turner; nothing changed" in words(again)

    dispatch(web)  # the vendor in the ERP, the directory version, Jake's request continued
    dispatch(web)  # a second pass makes nothing twice
    with Session(web.runtime.engine) as s:
        jobs = s.exec(select(Job).where(Job.kind == new_suppliers.CREATE_SUPPLIER)).all()
    assert [j.state for j in jobs] == ["done"]
    supplier_id = new_suppliers.get(web.runtime.engine, "SUP-1").supplier_id
    res = web.get("/chat/api/unread", params={"person": "jake.miller"}).json()
    [going_on] = [i for i in res["items"] if i["kind"] == "supplier_continued"]
    assert "Zoro Tools is added as a supplier; your request goes on with it" in going_on["text"]
    summary = going_on["html"]
    assert 'data-action="submit"' in summary and "Zoro Tools" in summary and "has no active contract" in summary
    assert "supplier.continue" not in summary and "Procurement was asked" not in summary
    submitted = tap(web, "jake.miller", summary, "submit")
    assert re.search(r"PR-\d+", words(submitted)) and "auto-approved" not in words(submitted).lower()
    [pr] = requisitions(web)
    assert pr.supplier == supplier_id and pr.state == "pending_approval"


def test_continue_after_the_request_went_on_by_itself_makes_nothing_twice(web):
    """Jake's request came back by itself; he still taps the older Continue button, before and after Submit: the same
    draft is shown again, then he is told it is no longer open; one requisition, and his conversation stays idle."""
    tap(web, "jake.miller", ask_from_summary(web), "supplier.request", **GOOD)
    approve_and_create(web)
    conversation = web.runtime.assistant("web").chat
    draft_id = conversation.load("jake.miller").draft["draft_id"]
    again = web.post(
        "/chat/api/actions",
        json={"person": "jake.miller", "action": "supplier.continue", "value": {"request": "SUP-1"}},
    ).json()["replies"]
    assert "your request goes on with it" in words(again) and 'data-action="submit"' in again[-1]["html"]
    assert conversation.load("jake.miller").draft["draft_id"] == draft_id  # the same draft, not a second one
    tap(web, "jake.miller", again[-1]["html"], "submit")
    after = web.post(
        "/chat/api/actions",
        json={"person": "jake.miller", "action": "supplier.continue", "value": {"request": "SUP-1"}},
    ).json()["replies"]
    assert "is no longer open" in words(after) and 'data-action="submit"' not in words(after)
    assert conversation.load("jake.miller").state == "idle"
    assert len(requisitions(web)) == 1


def test_a_request_dropped_while_the_supplier_was_reviewed_is_not_brought_back(web):
    """Jake asks for Zoro Tools, then cancels his request before Ben approves: when the supplier is added he is told
    his request is no longer open, and no draft or requisition comes back from the copy kept with SUP-1."""
    tap(web, "jake.miller", ask_from_summary(web), "supplier.request", **GOOD)
    cancelled = say(web, "jake.miller", "cancel")
    assert "cancel" in words(cancelled).lower()
    approve_and_create(web)
    res = web.get("/chat/api/unread", params={"person": "jake.miller"}).json()
    [told] = [i for i in res["items"] if "Zoro Tools is added as a supplier" in i["text"]]
    assert "no longer open" in told["text"] and told["kind"] == "supplier_created"
    assert told["html"] is None  # no button: there is nothing left to continue
    assert web.runtime.assistant("web").chat.load("jake.miller").state == "idle"
    assert requisitions(web) == []


def test_a_request_waiting_on_procurement_does_not_expire(web, clock):  # type: ignore[no-untyped-def]
    """Jake asks for Zoro Tools and Ben takes three days to approve: the draft does not expire meanwhile, and the
    summary comes back ready to submit when the supplier is added."""
    tap(web, "jake.miller", ask_from_summary(web), "supplier.request", **GOOD)
    clock.advance(hours=72)
    assert web.runtime.assistant("web").expire_drafts() == []
    approve_and_create(web)
    assert web.runtime.assistant("web").chat.load("jake.miller").state != "idle"
    res = web.get("/chat/api/unread", params={"person": "jake.miller"}).json()
    assert any(i["kind"] == "supplier_continued" for i in res["items"])


def test_a_second_requester_joins_the_open_request(web):
    """Maria asks for Zoro Tools after Jake did: she is told she waits on SUP-1 too, and there is one request."""
    tap(web, "jake.miller", ask_from_summary(web), "supplier.request", **GOOD)
    joined = tap(web, "maria.lopez", ask_from_summary(web, "maria.lopez"), "supplier.request", **GOOD)
    assert "already asked to add Zoro Tools (SUP-1)" in words(joined)
    assert len(new_suppliers.listing(web.runtime.engine)) == 1


def test_a_buyer_asks_for_info_and_the_requester_answers_from_the_card(web):
    """Grace asks which tax id; Jake's notice has an Answer field; his answer reaches the buyers and the request is
    pending again."""
    tap(web, "jake.miller", ask_from_summary(web), "supplier.request", **GOOD)
    dispatch(web)
    asked = tap(web, "grace.kim", unread_html(web, "grace.kim"), "supplier.ask", text="What is their tax id?")
    assert "Asked" in words(asked)
    dispatch(web)
    jake = unread_html(web, "jake.miller")
    assert "What is their tax id?" in jake
    answered = tap(web, "jake.miller", jake, "supplier.answer", text="EIN 12-3456789")
    assert "the buyers have your answer" in words(answered)
    assert new_suppliers.get(web.runtime.engine, "SUP-1").state == "pending"


def test_a_tax_document_picked_on_the_form_reaches_the_buyer(web):
    """Jake picks a web page renamed w9.pdf: refused with what to send; he picks the real W-9: the request carries it
    and Ben's card names it."""
    summary = ask_from_summary(web)
    assert 'type="file"' in summary and 'name="tax_document"' in summary
    files = {"file": ("w9.pdf", b"<html>not a pdf</html>", "application/pdf")}
    refused = web.post("/chat/api/suppliers/documents", data={"person": "jake.miller"}, files=files)
    assert refused.status_code == 422 and "is not a real PDF" in refused.text
    files = {"file": ("W-9.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}
    held = web.post("/chat/api/suppliers/documents", data={"person": "jake.miller"}, files=files).json()
    extra = {"tax_document": held["key"], "tax_document_name": held["filename"]}
    asked = tap(web, "jake.miller", summary, "supplier.request", **GOOD, **extra)
    assert "I asked procurement to add Zoro Tools (SUP-1)" in words(asked)
    assert new_suppliers.get(web.runtime.engine, "SUP-1").tax_document["filename"] == "W-9.pdf"
    dispatch(web)
    assert "tax document W-9.pdf (15 bytes)" in unread_html(web, "ben.turner")
