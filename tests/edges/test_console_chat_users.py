"""An administrator links a chat user the directory could not match to the person they are, in the console; the
link holds, is audited, and an auditor may only look."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

from sqlmodel import Session, select

from approvals.models import AuditEvent
from bot.chat.identity import Identities
from tests.edges.test_console import console, csrf, sign_in  # noqa: F401  (the console fixture and its helpers)


def _unmatched(console) -> Identities:  # type: ignore[no-untyped-def]  # noqa: F811
    """Eric writes from a Slack account whose e-mail is not his directory e-mail: nobody is matched."""
    ids = Identities(console.runtime.engine, console.runtime.directory, clock=console.runtime.service.clock)
    assert ids.person_for("slack", "U-ERIC2", tenant="T1", email=lambda: "eric@home.example") is None
    return ids


def test_admin_links_a_chat_user_and_it_holds(console):  # noqa: F811
    """The unmatched Slack user is listed first as nobody; the admin links them to Eric Larsen: from then on, even
    after the lookup cache would have expired, that account is Eric, and the audit trail says who linked it."""
    ids = _unmatched(console)
    sign_in(console, "admin")
    page = console.get("/console/chat-users").text
    first = re.search(r'<tr data-user="([^"]+)">.*?</tr>', page, re.S)
    assert first and first.group(1) == "U-ERIC2" and "<td>nobody</td>" in first.group(0)
    form = {"csrf": csrf(console, "/console/chat-users"), "surface": "slack", "tenant": "T1"}
    response = console.post(
        "/console/chat-users/link",
        data={**form, "external_id": "U-ERIC2", "person": "eric.larsen"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert unquote(response.headers["location"]).endswith("done=The Slack user U-ERIC2 is now Eric Larsen.")
    ids.clock = lambda: console.runtime.service.clock() + timedelta(days=30)  # past the lookup cache's life
    found = ids.person_for("slack", "U-ERIC2", tenant="T1", email=lambda: "eric@home.example")
    assert found is not None and found.id == "eric.larsen"
    with Session(console.runtime.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.kind == "chat_user_linked")).one()
    assert event.actor.startswith("console:") and event.after["person"] == "eric.larsen"


def test_linking_to_someone_who_is_not_a_person_is_refused(console):  # noqa: F811
    """A forged person id comes back with what to do, and links nothing."""
    ids = _unmatched(console)
    sign_in(console, "admin")
    form = {"csrf": csrf(console, "/console/chat-users"), "surface": "slack", "tenant": "T1", "external_id": "U-ERIC2"}
    response = console.post("/console/chat-users/link", data={**form, "person": "nobody.here"}, follow_redirects=False)
    assert "problem=" in response.headers["location"]
    assert ids.person_for("slack", "U-ERIC2", tenant="T1", email=lambda: None) is None


def test_an_auditor_can_neither_open_the_page_nor_link(console):  # noqa: F811
    """An auditor is refused the page and the form, and nothing is linked."""
    ids = _unmatched(console)
    sign_in(console, "auditor")
    assert console.get("/console/chat-users").status_code == 403
    form = {"csrf": csrf(console, "/console"), "surface": "slack", "tenant": "T1", "external_id": "U-ERIC2"}
    assert console.post("/console/chat-users/link", data={**form, "person": "eric.larsen"}).status_code == 403
    assert ids.person_for("slack", "U-ERIC2", tenant="T1", email=lambda: None) is None


def test_a_link_posted_without_the_sessions_token_is_refused(console):  # noqa: F811
    """A form posted from another site (no CSRF token) links nothing."""
    ids = _unmatched(console)
    sign_in(console, "admin")
    form = {"surface": "slack", "tenant": "T1", "external_id": "U-ERIC2", "person": "eric.larsen"}
    assert console.post("/console/chat-users/link", data=form).status_code == 403
    assert ids.person_for("slack", "U-ERIC2", tenant="T1", email=lambda: None) is None
