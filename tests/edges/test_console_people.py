"""An administrator handles people from the console: sets and ends delegations, sees who is out and what waits on
them, and moves a stuck step with a reason; the core's rules apply and an auditor may only look."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import unquote

from sqlmodel import Session, select

from approvals.models import AuditEvent
from tests.edges.test_console import console, csrf, sign_in  # noqa: F401  (the console fixture and its helpers)
from tests.factories import submit


def _said(response) -> str:  # type: ignore[no-untyped-def]
    """The message a form's redirect carries back to its page."""
    assert response.status_code == 303, response.text
    found = re.search(r"[?&](done|problem)=([^&]*)", response.headers["location"])
    assert found, response.headers["location"]
    return f"{found.group(1)}: {unquote(found.group(2))}"


def test_admin_sets_a_delegation_sees_who_is_out_and_ends_it(console):  # noqa: F811
    """Zoe is out for a week: the page lists her as out with Frank covering and one step waiting; then it ends."""
    number = console.runtime.service.submit(submit()).number
    assert console.runtime.service.get(number).waiting_on == ["zoe.martin"]
    sign_in(console, "admin")
    token = csrf(console, "/console/delegations")
    today = console.runtime.service.clock().date()
    form = {"csrf": token, "delegator": "zoe.martin", "delegate": "frank.novak", "reason": "Vacation"}
    form |= {"starts": today.isoformat(), "ends": today.replace(day=min(today.day + 6, 28)).isoformat()}
    said = _said(console.post("/console/delegations", data=form, follow_redirects=False))
    assert said.startswith("done: Zoe Martin's approvals go to Frank Novak until ")
    page = html.unescape(console.get("/console/delegations").text)
    out = re.search(r'<table class="stack out">.*?</table>', page, re.S)
    assert out and "Zoe Martin" in out.group(0) and "Frank Novak" in out.group(0)
    assert '<td data-label="Steps waiting on them">1</td>' in out.group(0)
    (row,) = re.findall(r'<tr data-id="(\d+)"><td data-label="Status">active</td>', page)
    ended = _said(console.post(f"/console/delegations/{row}/end", data={"csrf": token}, follow_redirects=False))
    assert ended.startswith("done: The delegation has ended")
    assert "Nobody is out" in console.get("/console/delegations").text


def test_admin_moves_a_delegations_last_day_and_a_bad_date_is_named(console):  # noqa: F811
    """Zoe stays out two days longer: the admin moves the last day, the page shows it; a date that is not one is
    refused with how to write it, and the delegation keeps its last day."""
    sign_in(console, "admin")
    token = csrf(console, "/console/delegations")
    today = console.runtime.service.clock().date()
    first, later = today + timedelta(days=3), today + timedelta(days=5)
    form = {"csrf": token, "delegator": "zoe.martin", "delegate": "frank.novak", "reason": "Vacation"}
    form |= {"starts": today.isoformat(), "ends": first.isoformat()}
    assert _said(console.post("/console/delegations", data=form, follow_redirects=False)).startswith("done: ")
    page = html.unescape(console.get("/console/delegations").text)
    (row,) = re.findall(r'<tr data-id="(\d+)"><td data-label="Status">active</td>', page)
    assert f'name="ends" value="{first.isoformat()}"' in page
    moved = _said(
        console.post(
            f"/console/delegations/{row}/move", data={"csrf": token, "ends": later.isoformat()}, follow_redirects=False
        )
    )
    assert moved == f"done: Zoe Martin's delegation to Frank Novak now ends after {later.isoformat()}."
    assert f'name="ends" value="{later.isoformat()}"' in console.get("/console/delegations").text
    bad = _said(
        console.post(
            f"/console/delegations/{row}/move", data={"csrf": token, "ends": "next week"}, follow_redirects=False
        )
    )
    assert bad == "problem: Until: give the date as YYYY-MM-DD"
    assert f'name="ends" value="{later.isoformat()}"' in console.get("/console/delegations").text


def test_a_delegation_the_core_refuses_comes_back_with_its_reason(console):  # noqa: F811
    """Delegating Zoe to herself is refused with the core's words; nothing is stored."""
    sign_in(console, "admin")
    today = console.runtime.service.clock().date().isoformat()
    form = {"csrf": csrf(console, "/console/delegations"), "delegator": "zoe.martin", "delegate": "zoe.martin"}
    said = _said(
        console.post("/console/delegations", data=form | {"starts": today, "ends": today}, follow_redirects=False)
    )
    assert said.startswith("problem: ") and "yourself" in said
    assert "Nobody is out" in console.get("/console/delegations").text


def test_admin_moves_a_waiting_step_with_a_reason_and_the_audit_names_the_console(console):  # noqa: F811
    """Zoe's step moves to Maria with 'Zoe is on leave': the requisition waits on Maria, the audit says who and why."""
    number = console.runtime.service.submit(submit()).number
    sign_in(console, "admin")
    page = f"/console/requisitions/{number}"
    token = csrf(console, page)
    form = {"csrf": token, "from_person": "zoe.martin", "to_person": "maria.lopez", "reason": "Zoe is on leave"}
    said = _said(console.post(f"{page}/reassign", data=form, follow_redirects=False))
    assert said == f"done: {number} is now with Maria Lopez."
    assert console.runtime.service.get(number).waiting_on == ["maria.lopez"]
    with Session(console.runtime.engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "reassigned")).one()
    assert event.actor == "console:test-admin" and event.surface == "console"
    assert (event.after or {})["reason"] == "Zoe is on leave"
    assert "now with Maria Lopez" in html.unescape(console.get(page).text)  # the timeline names people, not ids
    # the audit names the session by a hash of its row, never by the secret its cookie carries
    credential = (event.after or {})["credential"]
    assert credential["kind"] == "console" and credential["id"].startswith("session:") and len(credential["id"]) == 24
    blank = _said(console.post(f"{page}/reassign", data=form | {"reason": " "}, follow_redirects=False))
    assert blank.startswith("problem: Say why")


def test_moving_a_step_to_the_requester_is_refused_with_the_rule(console):  # noqa: F811
    """Moving Jake's request to Jake himself is refused, saying he is the requester; it still waits on Zoe."""
    number = console.runtime.service.submit(submit()).number
    sign_in(console, "admin")
    page = f"/console/requisitions/{number}"
    form = {"csrf": csrf(console, page), "from_person": "zoe.martin", "to_person": "jake.miller", "reason": "x"}
    said = _said(console.post(f"{page}/reassign", data=form, follow_redirects=False))
    assert said.startswith("problem: ") and "requester" in said
    assert console.runtime.service.get(number).waiting_on == ["zoe.martin"]


def test_an_auditor_sees_no_forms_and_cannot_post_them(console):  # noqa: F811
    """An auditor reads the delegations page without its forms; a forged post is refused and changes nothing."""
    number = console.runtime.service.submit(submit()).number
    sign_in(console, "auditor")
    assert 'id="set-delegation"' not in console.get("/console/delegations").text
    page = console.get(f"/console/requisitions/{number}").text
    assert 'id="reassign"' not in page and 'id="category"' not in page
    token = csrf(console, "/console/delegations")
    form = {"csrf": token, "from_person": "zoe.martin", "to_person": "maria.lopez", "reason": "x"}
    assert console.post(f"/console/requisitions/{number}/reassign", data=form).status_code == 403
    assert console.runtime.service.get(number).waiting_on == ["zoe.martin"]
    fix = {"csrf": token, "line_no": "1", "category": "janitorial"}
    assert console.post(f"/console/requisitions/{number}/category", data=fix).status_code == 403
    assert console.runtime.service.get(number).lines[0].category != "janitorial"


def test_a_post_without_the_sessions_token_is_refused(console):  # noqa: F811
    """A form posted from another site (no CSRF token) moves nothing."""
    number = console.runtime.service.submit(submit()).number
    sign_in(console, "admin")
    form = {"from_person": "zoe.martin", "to_person": "maria.lopez", "reason": "x"}
    assert console.post(f"/console/requisitions/{number}/reassign", data=form).status_code == 403
    assert console.runtime.service.get(number).waiting_on == ["zoe.martin"]


def test_the_requisition_page_lists_its_items_and_tells_its_timeline_in_words(console):  # noqa: F811
    """Jake's approved request shows its item line, and the timeline says 'waiting for approval → approved' in
    words, with the stored record behind a details toggle."""
    from approvals.commands import Approve

    service = console.runtime.service
    number = service.submit(submit()).number
    service.approve(Approve(actor="zoe.martin", number=number))
    sign_in(console, "auditor")
    page = html.unescape(console.get(f"/console/requisitions/{number}").text)
    items = re.search(r'<table class="stack lines">.*?</table>', page, re.S)
    line = service.get(number).lines[0]
    assert items and line.description in items.group(0) and (line.sku or "") in items.group(0)
    timeline = re.search(r'<ol class="timeline">.*?</ol>', page, re.S)
    assert timeline and "→" in timeline.group(0) and "<details><summary>details</summary><pre>" in timeline.group(0)
    assert '{"state"' not in re.sub(r"<details>.*?</details>", "", timeline.group(0), flags=re.S)


def test_the_requisition_page_shows_the_chain_and_every_comment(console):  # noqa: F811
    """After Zoe approves with a note and Jake comments, an auditor reads the chain (approved by Zoe, her note) and
    Jake's comment with his name; the timeline has the comment too."""
    from approvals.commands import AddComment, Approve

    service = console.runtime.service
    number = service.submit(submit()).number
    service.comment(AddComment(actor="jake.miller", number=number, text="Supplier ships Friday"))
    service.approve(Approve(actor="zoe.martin", number=number, comment="Fine for peak"))
    sign_in(console, "auditor")
    page = html.unescape(console.get(f"/console/requisitions/{number}").text)
    chain = re.search(r'<ul class="chain">.*?</ul>', page, re.S)
    assert chain and "approved by Zoe Martin" in chain.group(0) and "Fine for peak" in chain.group(0)
    comments = re.search(r'<ul class="comments">.*?</ul>', page, re.S)
    assert comments and "Jake Miller" in comments.group(0) and "Supplier ships Friday" in comments.group(0)
    timeline = re.search(r'<ol class="timeline">.*?</ol>', page, re.S)
    assert timeline and "Comment" in timeline.group(0) and "Supplier ships Friday" in timeline.group(0)


def test_an_admin_corrects_a_lines_category(console):  # noqa: F811
    """An admin corrects Jake's stretch wrap to Janitorial from the requisition page: the record follows and the
    audit names the console; an unknown category comes back with the valid ones."""
    number = console.runtime.service.submit(submit()).number
    sign_in(console, "admin")
    page = f"/console/requisitions/{number}"
    token = csrf(console, page)
    form = {"csrf": token, "line_no": "1", "category": "janitorial", "reason": "floor wrap"}
    said = _said(console.post(f"{page}/category", data=form, follow_redirects=False))
    assert said == f"done: Line 1 of {number} is now Janitorial and sanitation; the classifier learns from it."
    assert console.runtime.service.get(number).lines[0].category == "janitorial"
    bad = _said(console.post(f"{page}/category", data=form | {"category": "gadgets"}, follow_redirects=False))
    assert bad.startswith("problem:") and "use one of:" in bad
    with Session(console.runtime.engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "category_corrected")).one()
    assert event.actor == "console:test-admin" and event.surface == "console"
