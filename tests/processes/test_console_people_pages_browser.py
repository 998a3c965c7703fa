"""The console's people pages in a real headless Chromium: an administrator reads who left and where their steps
went, who moved, who is out by their automatic replies, and links a chat user by hand; a manager, signed in with
single sign-on, sets a delegation for someone on their team and moves a step waiting on them, and finds the rest of
the console closed to them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fake_oidc import FakeOidc
from sqlmodel import Session, select

from approvals.directory_changes import activate
from approvals.directory_store import Absence
from bot.chat.models import ChatIdentity
from bot.tokens import create_token
from tests.factories import submit
from tests.live import free_port, serving
from tests.processes.test_console_browser import sign_in
from tests.processes.test_console_sso_browser import IDP_HOST, sso_browser  # noqa: F401  (Chromium for the provider)
from tests.processes.test_web_browser import browser, chromium  # noqa: F401  (the shared Chromium fixtures)

COMPANY = Path(__file__).resolve().parents[2] / "examples" / "company.yaml"
MARIA = {"name": "Maria Lopez", "preferred_username": "maria.lopez@lonestar.example", "oid": "5e6f7a8b"}


def _without_zoe_and_emily_moved() -> str:
    """The sample company a week later: Zoe has left, Emily now reports to James Carter."""
    lines = []
    for line in COMPANY.read_text().splitlines():
        if line.lstrip().startswith("- {id: zoe.martin,"):
            line = line.rstrip()[:-1] + ", active: false}"
        elif line.lstrip().startswith("- {id: emily.davis,"):
            line = line.replace("manager: maria.lopez", "manager: james.carter")
        lines.append(line)
    return "\n".join(lines) + "\n"


def _settings(tmp_path, **more):  # type: ignore[no-untyped-def]
    from bot.settings import Settings

    return Settings(
        database_url=f"sqlite:///{tmp_path / 'console.db'}",
        env="dev",
        var_dir=tmp_path,
        session_secret="k" * 40,
        _env_file=None,
        **more,
    )


@pytest.fixture
def people_server(tmp_path):  # type: ignore[no-untyped-def]
    """Jake's request was waiting on Zoe when a directory version without her was activated (so it moved), Frank's
    automatic replies are on, a Slack user nobody matched wrote to the bot; and an admin token."""
    from bot.api.app import create_app
    from bot.runtime import build_runtime

    settings = _settings(tmp_path)
    runtime = build_runtime(settings)
    number = runtime.service.submit(submit()).number
    activate(runtime.service, _without_zoe_and_emily_moved(), filename="company.yaml", actor="test")
    now = runtime.service.clock()
    with Session(runtime.engine) as session:
        session.add(
            Absence(
                person_id="frank.novak",
                status="scheduled",
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=4),
                seen_at=now,
            )
        )
        session.add(ChatIdentity(surface="slack", tenant="T0LONESTAR", external_id="U0LUISPERSONAL", resolved_at=now))
        session.commit()
    token = create_token(runtime.engine, name="admin-person", role="admin")
    with serving(create_app(settings, runtime=runtime)) as base:
        yield {"base": base, "token": token, "number": number, "runtime": runtime}
    runtime.engine.dispose()


def test_admin_reads_leavers_movers_and_absences_and_links_a_chat_user(people_server, browser):  # noqa: F811
    """The People page says Zoe left and her step on Jake's request went to Maria, Emily moved to James Carter, and
    Frank is out with nobody approving for him; on Chat users the admin links the unknown Slack user to Luis; on
    Delegations the admin names Maria for Frank, then moves the delegation's last day."""
    base, number, runtime = people_server["base"], people_server["number"], people_server["runtime"]
    page = browser.new_page()
    sign_in(page, base, people_server["token"])
    page.wait_for_selector("h1:text('Dashboard')")
    page.click("nav a:text('People')")
    page.wait_for_selector("h1:text('People')")
    moves = page.locator("table.leaver-moves").inner_text()
    assert number in moves and "Zoe Martin" in moves and "Maria Lopez" in moves
    assert "No open step waits on anyone who has left." in page.inner_text("main")
    latest = page.locator("table.directory-versions tbody tr").first.inner_text()
    assert "(active)" in latest and "Zoe Martin" in latest
    assert "Emily Davis: manager Maria Lopez -> James Carter" in latest
    out = page.locator("table.absences").inner_text()
    assert "Frank Novak" in out and "nobody" in out

    page.click("nav a:text('Chat users')")
    row = page.locator("tr[data-user='U0LUISPERSONAL']")
    row.locator("select[name=person]").select_option("luis.garcia")
    row.locator("button.link-user").click()
    page.wait_for_selector(".notice.ok")
    assert "The Slack user U0LUISPERSONAL is now Luis Garcia" in page.locator(".notice.ok").inner_text()
    with Session(runtime.engine) as session:
        linked = session.exec(select(ChatIdentity).where(ChatIdentity.external_id == "U0LUISPERSONAL")).one()
    assert linked.person_id == "luis.garcia" and linked.linked_by

    # Frank is out: the admin names Maria to approve for him until the day after tomorrow, then two days longer
    today = runtime.service.clock().date()
    first, later = (today + timedelta(days=2)).isoformat(), (today + timedelta(days=4)).isoformat()
    page.click("nav a:text('Delegations')")
    form = page.locator("form#set-delegation")
    form.locator("select[name=delegator]").select_option("frank.novak")
    form.locator("select[name=delegate]").select_option("maria.lopez")
    form.locator("input[name=ends]").fill(first)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".notice.ok")
    assert "Frank Novak's approvals go to Maria Lopez until " + first in page.locator(".notice.ok").inner_text()
    row = page.locator("tr[data-id]", has_text="Frank Novak").first
    row.locator("form.move-delegation input[name=ends]").fill(later)
    row.locator("form.move-delegation button").click()
    page.wait_for_selector(f".notice.ok:has-text('now ends after {later}')")
    moved = page.locator("tr[data-id]", has_text="Frank Novak").first
    assert moved.locator("form.move-delegation input[name=ends]").input_value() == later


@pytest.fixture
def manager_server(tmp_path):  # type: ignore[no-untyped-def]
    """The console with single sign-on at the local provider, which signs in Maria Lopez (Zoe, Emily and Jake report
    to her); Jake's request waits on Zoe, whose automatic replies are on."""
    from bot.api.app import create_app
    from bot.runtime import build_runtime

    port = free_port()
    redirect = f"http://127.0.0.1:{port}/console/login/oidc/callback"
    with FakeOidc([redirect]) as fake:
        fake.browser_url = fake.url.replace("127.0.0.1", IDP_HOST)
        fake.interactive = True
        fake.user = dict(MARIA)
        settings = _settings(tmp_path, oidc=fake.settings(redirect))
        runtime = build_runtime(settings)
        number = runtime.service.submit(submit()).number
        now = runtime.service.clock()
        with Session(runtime.engine) as session:
            session.add(Absence(person_id="zoe.martin", status="alwaysEnabled", seen_at=now))
            session.commit()
        with serving(create_app(settings, runtime=runtime), port=port) as base:
            yield {"base": base, "number": number, "runtime": runtime}
        runtime.engine.dispose()


def test_manager_delegates_for_an_absent_report_and_moves_her_step(manager_server, sso_browser):  # noqa: F811
    """Maria signs in with Microsoft and lands on My team: Zoe is out with nobody approving for her and Jake's request
    waits on her. Maria names Frank to approve for Zoe this week, moves Jake's request to herself saying why, and
    finds the audit page closed to her."""
    base, number, runtime = manager_server["base"], manager_server["number"], manager_server["runtime"]
    page = sso_browser.new_page()
    page.goto(base + "/console")
    page.click("#sign-in-sso")
    page.click("#idp-sign-in")
    page.wait_for_selector("h1:text('My team')")
    assert "Maria Lopez" in page.inner_text("header") and "manager" in page.inner_text("header")
    assert page.locator("nav a").all_inner_texts() == ["My team"]
    out = page.locator("table.team-out").inner_text()
    assert "Zoe Martin" in out and "nobody approves for them yet" in out
    assert number in page.locator("table.team-waiting").inner_text()

    today = runtime.service.clock().date().isoformat()
    form = page.locator("#set-team-delegation")
    form.locator("select[name=delegator]").select_option("zoe.martin")
    form.locator("select[name=delegate]").select_option("frank.novak")
    form.locator("input[name=ends]").fill(today)
    form.locator("input[name=reason]").fill("Out sick")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".notice.ok")
    assert "Zoe Martin's approvals go to Frank Novak" in page.locator(".notice.ok").inner_text()
    assert "Frank Novak approves for them" in page.locator("table.team-out").inner_text()

    row = page.locator(f"table.team-waiting tr[data-number='{number}']")
    row.locator("select[name=to_person]").select_option("maria.lopez")
    row.locator("input[name=reason]").fill("Zoe is out sick")
    row.locator("button[type=submit]").click()
    page.wait_for_selector(".notice.ok")
    assert f"{number} is now with Maria Lopez" in page.locator(".notice.ok").inner_text()
    assert runtime.service.get(number).waiting_on == ["maria.lopez"]

    page.goto(base + "/console/audit")
    assert "open My team instead" in page.inner_text("main")
