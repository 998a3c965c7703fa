"""Markup typed by an employee (or put in the company directory or a policy file's name) is shown as text on every
console page and web chat card that displays it, so it never runs in the browser of the approver or auditor."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from approvals.commands import SetDelegation
from approvals.db import transaction
from approvals.policy.loader import load_policy_text
from approvals.policy_store import install_policy
from bot.api.app import create_app
from bot.runtime import build_runtime
from bot.settings import Settings
from tests.edges.test_console import csrf, good_policy_text
from tests.factories import boxes, submit

REPO = Path(__file__).resolve().parents[2]
SCRIPT = "<script>alert(1)</script>"
HOSTILE = f'{SCRIPT} "onmouseover=alert(2) x="'
# a file's name has no slash, so it cannot close a tag; an opening <script> is enough to run what follows
POLICY_FILE = '<script>alert(3) "onmouseover=alert(4) <img src=x onerror=alert(5)>.yaml'


class Page(HTMLParser):
    """What a browser would make of a page: its elements, their attributes, and the text it shows."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def field(self, name: str) -> str:
        """The value of the form field called `name`."""
        return next(attrs.get("value", "") for tag, attrs in self.elements if attrs.get("name") == name)


def runs_nothing(html: str) -> Page:
    """The page has no script element, no inline event handler and no injected image."""
    page = Page(html)
    injected = [(tag, attrs) for tag, attrs in page.elements if tag in ("script", "img")]
    assert not injected, injected
    handlers = [(tag, attrs) for tag, attrs in page.elements if any(name.startswith("on") for name in attrs)]
    assert not handlers, handlers
    return page


def shows_text(html: str, text: str = HOSTILE) -> None:
    """`text` is on the page as the words it is (so the check above is not passing on a page that left it out)."""
    assert text in "".join(runs_nothing(html).text)


@pytest.fixture
def console(db_url, clock, tmp_path):  # type: ignore[no-untyped-def]
    """A console over a directory whose supplier Uline and cost center DAL-OPS carry markup in their names, with a
    routed requisition whose item and justification carry it too, and a delegation whose reason does."""
    company = (REPO / "examples/company.yaml").read_text()
    company = company.replace("name: Uline,", f"name: {json.dumps(HOSTILE)},")
    company = company.replace("name: Dallas operations,", f"name: {json.dumps(HOSTILE)},")
    (tmp_path / "company.yaml").write_text(company)
    settings = Settings(
        database_url=db_url,
        admin_token=None,
        env="dev",
        session_secret="s" * 40,
        var_dir=tmp_path,
        directory_file=tmp_path / "company.yaml",
        _env_file=None,
    )
    runtime = build_runtime(settings)
    runtime.service.clock = clock
    with TestClient(create_app(settings, runtime=runtime), raise_server_exceptions=False) as client:
        client.runtime = runtime  # type: ignore[attr-defined]
        svc = runtime.service
        client.routed = svc.submit(submit(lines=[boxes(80, description=HOSTILE)], justification=HOSTILE))  # type: ignore[attr-defined]
        assert client.routed.requisition.waiting_on  # type: ignore[attr-defined]
        svc.set_delegation(
            SetDelegation(
                actor="maria.lopez",
                delegator="maria.lopez",
                delegate="frank.novak",
                starts_at=svc.clock(),
                ends_at=svc.clock() + timedelta(days=3),
                reason=HOSTILE,
            )
        )
        token = (tmp_path / "dev-admin-token").read_text().strip()  # dev mode's admin token
        page = client.get("/console/login").text
        form = {"token": token, "login_csrf": re.search(r'name="login_csrf" value="([^"]*)"', page).group(1)}
        assert client.post("/console/login", data=form, follow_redirects=False).status_code == 303
        yield client
    runtime.engine.dispose()


def test_dashboard_shows_a_cost_center_name_with_markup_as_text(console):
    """An auditor opens the dashboard: the budget table names the cost center with markup in its name, as text."""
    page = console.get("/console", params={"days": 7})
    assert page.status_code == 200
    shows_text(page.text)


def test_requisition_list_and_search_show_markup_as_text(console):
    """The list shows a requisition titled with markup as text, and a search for that markup echoes it inertly."""
    shows_text(console.get("/console/requisitions").text)
    found = console.get("/console/requisitions", params={"q": HOSTILE}).text
    assert runs_nothing(found).field("q") == HOSTILE  # the search box holds exactly what was typed


def test_requisition_detail_and_timeline_show_item_and_supplier_as_text(console):
    """The detail page, with its steps and timeline, shows the item (its title) and the supplier's name as text."""
    number = console.routed.number
    page = console.get(f"/console/requisitions/{number}").text
    shows_text(page, f"{number}: {HOSTILE}")
    # the window title, the heading, the supplier, the item, the item in the admin's correct-a-category form, and the
    # supplier in the note on what is unusual (a high-risk supplier with no contract)
    assert "".join(Page(page).text).count(HOSTILE) == 6
    missing = console.get("/console/requisitions/" + SCRIPT)
    assert missing.status_code == 404
    runs_nothing(missing.text)


def test_policy_page_and_what_if_show_policy_file_names_as_text(console):
    """A policy stored from a file named with markup is listed as text; a what-if upload keeps its name inert."""
    svc = console.runtime.service
    with transaction(console.runtime.engine) as session:
        install_policy(session, load_policy_text(good_policy_text(), POLICY_FILE), at=svc.clock())
    shows_text(console.get("/console/policy").text, POLICY_FILE)
    text = good_policy_text().replace('version: "2026.12.1"', 'version: "2026.12.2"')
    r = console.post(
        "/console/policy/upload",
        data={"csrf": csrf(console, "/console/policy")},
        files={"file": (POLICY_FILE, text, "text/yaml")},
    )
    assert r.status_code == 200 and 'id="simulate-report"' in r.text
    sent = runs_nothing(r.text).field("filename")  # the activate form carries the name as the server received it
    assert sent == POLICY_FILE.replace('"', "%22")  # a quote in a file name is sent as %22, as browsers send it


def test_delegations_show_a_reason_with_markup_as_text(console):
    """The delegations page lists a delegation whose reason carries markup, as text."""
    shows_text(console.get("/console/delegations").text)


def test_web_chat_card_shows_item_justification_and_supplier_as_text(console):
    """The approver's card in the web chat shows the item, the justification and the supplier's name as text."""
    number = console.routed.number
    approver = console.routed.requisition.waiting_on[0]
    card = console.get(f"/chat/api/cards/{number}", params={"person": approver})
    assert card.status_code == 200
    html = card.json()["html"]
    shows_text(html)
    assert "".join(Page(html).text).count(HOSTILE) == 4  # the title, the item line, the supplier, the justification
