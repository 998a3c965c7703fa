"""The admin console in a real headless Chromium: sign in, dashboard, a requisition's timeline, policy upload."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvals.commands import Approve
from bot.tokens import create_token
from tests.edges.test_console import good_policy_text
from tests.factories import boxes, submit
from tests.live import serving
from tests.processes.test_web_browser import browser, chromium  # noqa: F401  (the shared Chromium fixtures)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def console_server(tmp_path):  # type: ignore[no-untyped-def]
    """The real app on a free local port with a little history, and an admin, an auditor and a service token."""
    from bot.api.app import create_app
    from bot.runtime import build_runtime
    from bot.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'console.db'}",
        env="dev",
        var_dir=tmp_path,
        session_secret="k" * 40,
        _env_file=None,
    )
    runtime = build_runtime(settings)
    svc = runtime.service
    svc.submit(submit(lines=[boxes(1)]))
    routed = svc.submit(submit(lines=[boxes(80)], justification="Peak season"))
    svc.approve(Approve(actor=routed.requisition.waiting_on[0], number=routed.number))
    tokens = {
        role: create_token(runtime.engine, name=f"{role}-person", role=role) for role in ("admin", "auditor", "service")
    }
    with serving(create_app(settings, runtime=runtime)) as base:
        yield {"base": base, "tokens": tokens, "number": routed.number, "runtime": runtime}
    runtime.engine.dispose()


def sign_in(page, base: str, token: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/console")
    page.wait_for_selector("#token")  # sent to sign-in first
    page.fill("#token", token)
    page.click("#sign-in")


def test_admin_signs_in_reads_a_timeline_and_uploads_broken_then_good_policy(console_server, browser, tmp_path):  # noqa: F811
    """An admin sees the dashboard, opens a requisition's timeline, sees a broken policy's errors and a good one's
    simulate report, and activates it."""
    base, tokens, number = console_server["base"], console_server["tokens"], console_server["number"]
    page = browser.new_page()
    sign_in(page, base, tokens["admin"])
    page.wait_for_selector("h1:text('Dashboard')")
    assert page.locator("[data-figure='touchless'] .value").inner_text().endswith("%")
    assert page.locator("svg").count() >= 3

    page.click("nav >> text=Requisitions")
    page.fill("#q", number)
    page.click("#search")
    page.click(f"a:text('{number}')")
    page.wait_for_selector("ol.timeline li")
    assert page.locator("ol.timeline li").count() >= 4
    assert "manager" in page.locator("table.steps .why").first.inner_text()
    assert page.locator("ol.timeline li[data-kind='approved_step']").count() == 1

    broken = tmp_path / "broken.yaml"
    broken.write_text((REPO / "tests/policies/unknown_role.yaml").read_text())
    page.click("nav >> text=Policy")
    page.set_input_files("#policy-file", str(broken))
    page.click("#upload")
    page.wait_for_selector("table.findings")
    assert "cannot be activated" in page.inner_text("main")
    assert "regional_director" in page.inner_text("table.findings")
    assert page.locator("#activate").count() == 0

    good = tmp_path / "policy.yaml"
    good.write_text(good_policy_text())
    page.goto(base + "/console/policy")
    page.set_input_files("#policy-file", str(good))
    page.click("#upload")
    page.wait_for_selector("#simulate-report")
    assert page.locator("[data-figure='replayed'] .value").inner_text() == "2"
    page.click("#activate")
    page.wait_for_selector("text=is now active")
    page.goto(base + "/console/policy")
    assert "2026.12.1" in page.inner_text("#current")


def test_auditor_cannot_upload_and_service_token_is_refused(console_server, browser):  # noqa: F811
    """An auditor sees the policy but no upload form; a service token cannot sign in at all."""
    base, tokens = console_server["base"], console_server["tokens"]
    page = browser.new_page()
    sign_in(page, base, tokens["service"])
    page.wait_for_selector(".notice.bad")
    assert "admin or auditor" in page.inner_text(".notice.bad")
    sign_in(page, base, tokens["auditor"])
    page.wait_for_selector("h1:text('Dashboard')")
    page.goto(base + "/console/policy")
    assert page.locator("#upload").count() == 0
    assert "Only an admin" in page.inner_text("main")
    assert page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly: scripts cannot read it
