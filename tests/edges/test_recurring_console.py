"""The console and a recurring requisition: its page shows the releases, an administrator pauses, resumes and ends
them (audited as the console), and an auditor sees no buttons and cannot post."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

from sqlmodel import Session, select

from approvals.models import AuditEvent
from tests.edges.test_console import console, csrf, sign_in  # noqa: F401  (the console fixture and its helpers)
from tests.factories import submit

ROLLS = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 12, "unit_price": 32}


def _said(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text
    found = re.search(r"[?&](done|problem)=([^&]*)", response.headers["location"])
    assert found, response.headers["location"]
    return f"{found.group(1)}: {unquote(found.group(2))}"


def _monthly(console) -> str:  # type: ignore[no-untyped-def]  # noqa: F811
    result = console.runtime.service.submit(
        submit("jake.miller", lines=[ROLLS], schedule={"period": "month", "releases": 12})
    )
    assert result.outcome == "auto_approved", result.message
    return result.number


def test_an_admin_pauses_resumes_and_ends_the_releases_from_the_page(console):  # noqa: F811
    """The page says "Monthly, 12 releases from ..."; Pause, then Resume, then End; the audit names the console;
    once ended there are no buttons and a second End is refused with why."""
    number = _monthly(console)
    sign_in(console, "admin")
    page = f"/console/requisitions/{number}"
    text = html.unescape(console.get(page).text)
    assert "Monthly, 12 releases from 2026-11-23" in text and 'value="pause"' in text
    token = csrf(console, page)
    assert "releases are paused" in _said(
        console.post(f"{page}/schedule", data={"csrf": token, "action": "pause"}, follow_redirects=False)
    )
    assert 'value="resume"' in console.get(page).text
    assert "releases are resumed" in _said(
        console.post(f"{page}/schedule", data={"csrf": token, "action": "resume"}, follow_redirects=False)
    )
    assert "releases are ended" in _said(
        console.post(f"{page}/schedule", data={"csrf": token, "action": "end"}, follow_redirects=False)
    )
    assert 'id="schedule"' not in console.get(page).text
    again = _said(console.post(f"{page}/schedule", data={"csrf": token, "action": "end"}, follow_redirects=False))
    assert again.startswith("problem: ") and "nothing to end" in again
    with Session(console.runtime.engine) as s:
        kinds = [e.kind for e in s.exec(select(AuditEvent).where(AuditEvent.requisition_number == number)).all()]
        ended = s.exec(select(AuditEvent).where(AuditEvent.kind == "recurring_ended")).one()
    assert ["recurring_paused", "recurring_resumed", "recurring_ended"] == [k for k in kinds if "recurring_" in k][1:]
    assert ended.actor == "console:test-admin" and ended.surface == "console"


def test_an_auditor_sees_the_releases_but_no_buttons_and_cannot_post(console):  # noqa: F811
    """An auditor reads the releases line; a forged post is refused and the schedule stays active."""
    number = _monthly(console)
    sign_in(console, "auditor")
    page = f"/console/requisitions/{number}"
    text = console.get(page).text
    assert "Monthly, 12 releases" in text and 'id="schedule"' not in text
    refused = console.post(f"{page}/schedule", data={"csrf": csrf(console, page), "action": "pause"})
    assert refused.status_code == 403
    assert console.runtime.service.get(number).schedule_state == "active"
