"""A manager in the console, signed in through single sign-on: their own team's page (who is out, what waits on
whom), a delegation set and ended for someone who reports to them, a waiting step moved with its reason; the same
for anyone outside their team is refused and written to the audit trail, and the rest of the console is not theirs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fake_oidc import FakeOidc
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from approvals.clock import as_utc
from approvals.commands import SetDelegation
from approvals.directory_store import Absence
from approvals.models import AuditEvent, Delegation
from tests.edges.test_console_sso import REDIRECT, _console, sign_in
from tests.factories import submit

MARIA = {"name": "Maria Lopez", "preferred_username": "maria.lopez@lonestar.example", "oid": "5e6f7a8b"}


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    with FakeOidc([REDIRECT]) as provider:
        provider.user = dict(MARIA)
        yield provider


@pytest.fixture
def manager(db_url, tmp_path, fake):  # type: ignore[no-untyped-def]
    """Maria Lopez (Dallas warehouse manager: Zoe, Emily and Jake report to her) signed in; Jake's request waits on
    Zoe, Luis's (Chicago, Frank Novak's team) on Frank."""
    with _console(db_url, tmp_path, fake) as client:
        service = client.runtime.service  # type: ignore[attr-defined]
        client.zoe_pr = service.submit(submit()).number  # type: ignore[attr-defined]
        client.frank_pr = service.submit(  # type: ignore[attr-defined]
            submit(requester="luis.garcia", site="CHI", cost_center="CHI-OPS")
        ).number
        assert sign_in(client).status_code == 200
        yield client
    client.runtime.engine.dispose()  # type: ignore[attr-defined]


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def events(client: TestClient, kind: str) -> list[AuditEvent]:
    with Session(client.runtime.engine) as session:  # type: ignore[attr-defined]
        return list(session.exec(select(AuditEvent).where(AuditEvent.kind == kind)))


def test_a_manager_lands_on_their_team_and_sees_nothing_else(manager):
    """Maria signs in as a manager: the console opens on My team (Zoe, Emily, Jake; Jake's request waiting on Zoe),
    the navigation offers nothing else, and the dashboard's pages answer 403 with where to go."""
    home = manager.get("/console", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/console/team"
    page = manager.get("/console/team")
    assert page.status_code == 200 and "(manager)" in page.text
    for name in ("Zoe Martin", "Emily Davis", "Jake Miller"):
        assert name in page.text
    team = page.text.split('<table class="team">')[1].split("</table>")[0]
    assert "Zoe Martin" in team and "Frank Novak" not in team and "Luis Garcia" not in team
    waiting = page.text.split('class="team-waiting"')[1].split("</table>")[0]
    assert manager.zoe_pr in waiting and "Zoe Martin" in waiting and manager.frank_pr not in waiting
    assert 'href="/console/audit"' not in page.text and 'href="/console/team"' in page.text
    for path in (
        "/console/requisitions",
        f"/console/requisitions/{manager.frank_pr}",
        "/console/delegations",
        "/console/audit",
        "/console/people",
        "/console/chat-users",
        "/console/policy",
    ):
        refused = manager.get(path, follow_redirects=False)
        assert refused.status_code == 403 and "open My team instead" in refused.text, path


def test_a_manager_sets_and_ends_a_delegation_for_someone_on_their_team(manager):
    """Zoe is off this week: Maria names Frank to approve for her; the page lists Zoe as away and the audit trail
    names Maria and her console session. Maria then ends it, and Zoe is in again."""
    runtime = manager.runtime
    today = runtime.service.clock().date()
    page = manager.get("/console/team").text
    answer = manager.post(
        "/console/team/delegations",
        data={
            "csrf": csrf(page),
            "delegator": "zoe.martin",
            "delegate": "frank.novak",
            "starts": today.isoformat(),
            "ends": today.isoformat(),
            "reason": "Vacation",
        },
        follow_redirects=True,
    )
    assert "Zoe Martin&#39;s approvals go to Frank Novak" in answer.text
    out = answer.text.split('class="team-out"')[1].split("</table>")[0]
    assert "Zoe Martin" in out and "Frank Novak approves for them" in out
    (set_event,) = events(manager, "delegation_set")
    assert set_event.actor == "maria.lopez" and set_event.surface == "console"
    assert set_event.after["credential"]["kind"] == "console"
    assert set_event.after["credential"]["id"].startswith("session:")

    with Session(runtime.engine) as session:
        (row,) = session.exec(select(Delegation)).all()
    ended = manager.post(
        f"/console/team/delegations/{row.id}/end", data={"csrf": csrf(answer.text)}, follow_redirects=True
    )
    assert "Zoe Martin&#39;s delegation has ended" in ended.text
    with Session(runtime.engine) as session:
        assert session.get(Delegation, row.id).cancelled_at is not None  # type: ignore[union-attr]
    assert "Frank Novak approves" not in ended.text
    assert [e.actor for e in events(manager, "delegation_cancelled")] == ["maria.lopez"]


def test_a_manager_cannot_set_a_delegation_for_someone_outside_their_team(manager):
    """Maria tries to send Luis's approvals (he reports to Frank in Chicago) to Zoe: refused, nothing set, and the
    attempt is in the audit trail."""
    page = manager.get("/console/team").text
    today = manager.runtime.service.clock().date().isoformat()
    answer = manager.post(
        "/console/team/delegations",
        data={
            "csrf": csrf(page),
            "delegator": "luis.garcia",
            "delegate": "zoe.martin",
            "starts": today,
            "ends": today,
            "reason": "cover",
        },
        follow_redirects=True,
    )
    assert "Luis Garcia does not report to you" in answer.text
    with Session(manager.runtime.engine) as session:
        assert session.exec(select(Delegation)).all() == []
    (refused,) = events(manager, "act_as_refused")
    assert refused.actor == "maria.lopez" and refused.after["action"] == "set_delegation"
    assert refused.after["credential"]["kind"] == "console"


def test_a_manager_moves_their_reports_step_and_no_one_elses(manager):
    """Maria moves the step waiting on Zoe to herself, saying why; the request now waits on her and the audit trail
    says who moved it. Moving Frank's step (not her team) is refused, audited, and it stays with Frank."""
    service = manager.runtime.service
    page = manager.get("/console/team").text
    moved = manager.post(
        "/console/team/reassign",
        data={
            "csrf": csrf(page),
            "number": manager.zoe_pr,
            "from_person": "zoe.martin",
            "to_person": "maria.lopez",
            "reason": "Zoe is out sick",
        },
        follow_redirects=True,
    )
    assert f"{manager.zoe_pr} is now with Maria Lopez" in moved.text
    assert service.get(manager.zoe_pr).waiting_on == ["maria.lopez"]
    (event,) = [e for e in events(manager, "reassigned") if e.requisition_number == manager.zoe_pr]
    assert event.actor == "maria.lopez" and event.after["reason"] == "Zoe is out sick"

    other = manager.post(
        "/console/team/reassign",
        data={
            "csrf": csrf(moved.text),
            "number": manager.frank_pr,
            "from_person": "frank.novak",
            "to_person": "maria.lopez",
            "reason": "taking it",
        },
        follow_redirects=True,
    )
    assert "Frank Novak does not report to Maria Lopez" in other.text
    assert service.get(manager.frank_pr).waiting_on == ["frank.novak"]
    (refused,) = events(manager, "act_as_refused")
    assert refused.after["action"] == "reassign" and refused.requisition_number == manager.frank_pr


def test_a_manager_sees_who_on_their_team_is_out_by_their_automatic_replies(manager):
    """Zoe's automatic replies are on (the directory sync saw them) and nobody approves for her: Maria's page says so
    beside the step waiting on her."""
    runtime = manager.runtime
    now = runtime.service.clock()
    with Session(runtime.engine) as session:
        session.add(Absence(person_id="zoe.martin", status="alwaysEnabled", seen_at=now))
        session.commit()
    out = manager.get("/console/team").text.split('class="team-out"')[1].split("</table>")[0]
    assert "Zoe Martin" in out and "nobody approves for them yet" in out and "<td>1</td>" in out


def test_a_form_post_without_the_session_token_is_refused(manager):
    """A team form posted without the page's CSRF token (from another site) changes nothing."""
    answer = manager.post(
        "/console/team/reassign",
        data={"number": manager.zoe_pr, "from_person": "zoe.martin", "to_person": "maria.lopez", "reason": "x"},
    )
    assert answer.status_code == 403
    assert manager.runtime.service.get(manager.zoe_pr).waiting_on == ["zoe.martin"]


def test_a_manager_sets_her_own_delegation_and_moves_its_last_day(manager):
    """Maria is away herself: she picks 'Maria Lopez (me)' and James Carter, then moves her last day two days
    later; the page shows the new end and the audit trail the change, by her."""
    runtime = manager.runtime
    today = runtime.service.clock().date()
    page = manager.get("/console/team").text
    assert '<option value="maria.lopez">Maria Lopez (me)</option>' in page
    form = {"csrf": csrf(page), "delegator": "maria.lopez", "delegate": "james.carter", "reason": "Conference"}
    form |= {"starts": today.isoformat(), "ends": today.isoformat()}
    assert "Maria Lopez&#39;s approvals go to James Carter" in manager.post("/console/team/delegations", data=form).text
    with Session(runtime.engine) as session:
        (row,) = session.exec(select(Delegation)).all()
    later = (today + timedelta(days=2)).isoformat()
    moved = manager.post(f"/console/team/delegations/{row.id}/move", data={"csrf": csrf(page), "ends": later})
    assert f"Maria Lopez&#39;s delegation to James Carter now ends after {later}" in moved.text
    assert f'name="ends" value="{later}"' in moved.text
    (changed,) = events(manager, "delegation_changed")
    assert changed.actor == "maria.lopez" and changed.surface == "console"


def test_a_manager_cannot_move_a_delegation_outside_her_team(manager):
    """An admin set Luis's delegation (he reports to Frank in Chicago): Maria's attempt to move its end is refused,
    audited, and it keeps its end."""
    runtime = manager.runtime
    now = runtime.service.clock()
    row = runtime.service.set_delegation(
        SetDelegation(
            actor="admin", delegator="luis.garcia", delegate="frank.novak", starts_at=now, ends_at=now + timedelta(1)
        ),
        as_admin=True,
    )
    page = manager.get("/console/team").text
    assert f'<tr data-id="{row.id}">' not in page  # not listed on her page
    later = (now + timedelta(days=9)).date().isoformat()
    answer = manager.post(f"/console/team/delegations/{row.id}/move", data={"csrf": csrf(page), "ends": later})
    assert "their manager" in answer.text and "now ends after" not in answer.text
    with Session(runtime.engine) as session:
        assert as_utc(session.get(Delegation, row.id).ends_at) == as_utc(row.ends_at)  # type: ignore[union-attr]
    (refused,) = events(manager, "act_as_refused")
    assert refused.after["action"] == "change_delegation"
