"""New suppliers in the console: the requests to add one, and a buyer's decision, signed in through single sign-on."""

from __future__ import annotations

import re

import pytest
from fake_oidc import FakeOidc
from sqlmodel import Session, select

from approvals import new_suppliers
from approvals.jobqueue import Job
from tests.edges.test_console_sso import REDIRECT, _console, sign_in

BEN = {"name": "Ben Turner", "preferred_username": "ben.turner@lonestar.example", "oid": "1a2b3c4d"}
W9 = b"%PDF-1.4\n%%EOF\n"
PRIYA = {"name": "Priya Nair", "preferred_username": "priya.nair@lonestar.example", "oid": "9f8e7d6c"}


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    with FakeOidc([REDIRECT]) as provider:
        yield provider


@pytest.fixture
def console(db_url, tmp_path, fake):  # type: ignore[no-untyped-def]
    """The console with buyers and finance as auditors; Jake has asked to add Zoro Tools (SUP-1)."""
    with _console(db_url, tmp_path, fake, auditors=["buyers", "finance_team", "cfo"]) as client:
        rt = client.runtime  # type: ignore[attr-defined]
        new_suppliers.ask(
            rt.engine,
            rt.directory,
            actor="jake.miller",
            name="Zoro Tools",
            email="orders@zoro.example",
            website="zoro.example",
            tax_id="12-3456789",
            document=("W-9.pdf", W9),
            store=rt.service.attachment_store,
            now=rt.service.clock(),
        )
        yield client
    client.runtime.engine.dispose()  # type: ignore[attr-defined]


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def decide(client, decision: str, note: str = ""):  # type: ignore[no-untyped-def]
    token = csrf(client.get("/console/suppliers").text)
    return client.post(
        "/console/suppliers/SUP-1/decide",
        data={"csrf": token, "decision": decision, "note": note},
        follow_redirects=True,
    )


def test_a_buyer_reviews_the_request_and_approves_it_once(console, fake):
    """Ben (a buyer) sees Zoro Tools with its e-mail, website, tax id and who asked; he approves; a second post of
    the same form is told it is already approved, and one ERP job exists."""
    fake.user = dict(BEN)
    assert sign_in(console).status_code == 200
    page = console.get("/console/suppliers")
    assert page.status_code == 200
    for words in ("SUP-1", "Zoro Tools", "orders@zoro.example", "https://zoro.example", "12-3456789", "Jake Miller"):
        assert words in page.text
    assert 'value="approve"' in page.text
    done = decide(console, "approve")
    assert "SUP-1: Zoro Tools is approved and being created in the ERP." in done.text
    again = decide(console, "approve")
    assert "already approved by Ben Turner; nothing changed" in again.text
    with Session(console.runtime.engine) as s:  # type: ignore[attr-defined]
        jobs = s.exec(select(Job).where(Job.kind == new_suppliers.CREATE_SUPPLIER)).all()
    assert len(jobs) == 1


def test_a_rejection_needs_its_reason(console, fake):
    """Ben presses Reject with no reason: he is asked for one and nothing changes; with a reason it is rejected."""
    fake.user = dict(BEN)
    sign_in(console)
    assert "Say why it is rejected." in decide(console, "reject").text
    assert new_suppliers.get(console.runtime.engine, "SUP-1").state == "pending"  # type: ignore[attr-defined]
    assert "will not be added" in decide(console, "reject", "use Grainger").text


def test_someone_who_is_not_a_buyer_sees_the_list_but_cannot_decide(console, fake):
    """Priya (finance, an auditor) sees the request but no decision form; a forged post is refused by the core."""
    fake.user = dict(PRIYA)
    sign_in(console)
    page = console.get("/console/suppliers").text
    assert "Zoro Tools" in page and 'value="approve"' not in page and "Buyers decide" in page
    refused = decide(console, "approve")
    assert "Only buyers can decide on new suppliers" in refused.text
    assert new_suppliers.get(console.runtime.engine, "SUP-1").state == "pending"  # type: ignore[attr-defined]


def test_the_tax_document_downloads_from_the_page(console, fake):
    """Ben opens the tax document linked on the page: the PDF itself, as a download that a browser will not run."""
    fake.user = dict(BEN)
    sign_in(console)
    page = console.get("/console/suppliers").text
    assert 'href="/console/suppliers/SUP-1/tax-document"' in page and "W-9.pdf (15 bytes)" in page
    got = console.get("/console/suppliers/SUP-1/tax-document")
    assert got.status_code == 200 and got.content == W9
    assert got.headers["content-type"] == "application/pdf" and got.headers["content-disposition"].startswith(
        "attachment"
    )
    assert console.get("/console/suppliers/SUP-9/tax-document").status_code == 404
