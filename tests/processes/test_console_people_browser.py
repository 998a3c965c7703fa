"""An administrator in a real headless Chromium: sets a delegation for someone who is away, sees them listed as out,
ends it, and moves a waiting step with a reason."""

from __future__ import annotations

import pytest

from bot.tokens import create_token
from tests.edges.test_console import good_policy_text
from tests.factories import submit
from tests.live import serving
from tests.processes.test_console_browser import sign_in
from tests.processes.test_web_browser import browser, chromium  # noqa: F401  (the shared Chromium fixtures)

# the tables on a page that scroll sideways inside their box (the start of each, to say which)
OVERFLOWING = (
    "[...document.querySelectorAll('.scroll')]"
    ".filter(b => b.scrollWidth > b.clientWidth).map(b => b.innerHTML.slice(0, 60))"
)


@pytest.fixture
def console_server(tmp_path):  # type: ignore[no-untyped-def]
    """The real app on a free local port with one request waiting on Zoe, and an admin token."""
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
    number = runtime.service.submit(submit()).number
    token = create_token(runtime.engine, name="admin-person", role="admin")
    with serving(create_app(settings, runtime=runtime)) as base:
        yield {"base": base, "token": token, "number": number, "service": runtime.service}
    runtime.engine.dispose()


def test_admin_sets_and_ends_a_delegation_in_the_browser(console_server, browser):  # noqa: F811
    """Zoe is away this week: the admin picks her and Frank, the page says so and lists her as out; End now ends it."""
    base, service = console_server["base"], console_server["service"]
    page = browser.new_page()
    sign_in(page, base, console_server["token"])
    page.wait_for_selector("h1:text('Dashboard')")
    page.goto(base + "/console/delegations")
    page.select_option("#set-delegation select[name=delegator]", "zoe.martin")
    page.select_option("#set-delegation select[name=delegate]", "frank.novak")
    last_day = (service.clock().date()).isoformat()
    page.fill("#set-delegation input[name=ends]", last_day)
    page.fill("#set-delegation input[name=reason]", "Vacation")
    page.click("#set-delegation button[type=submit]")
    page.wait_for_selector(".notice.ok")
    assert "Zoe Martin's approvals go to Frank Novak" in page.locator(".notice.ok").inner_text()
    out = page.locator("table.out").inner_text()
    assert "Zoe Martin" in out and "Frank Novak" in out
    page.click("button.end-delegation")
    page.wait_for_selector(".notice.ok")
    assert "has ended" in page.locator(".notice.ok").inner_text()
    assert "Nobody is out" in page.content()


def test_admin_moves_a_waiting_step_in_the_browser(console_server, browser):  # noqa: F811
    """The admin opens Jake's request, moves Zoe's step to Maria saying why; the page confirms and it waits on Maria."""
    base, number, service = console_server["base"], console_server["number"], console_server["service"]
    page = browser.new_page()
    sign_in(page, base, console_server["token"])
    page.wait_for_selector("h1:text('Dashboard')")
    page.goto(f"{base}/console/requisitions/{number}")
    page.select_option("#reassign select[name=to_person]", "maria.lopez")
    page.fill("#reassign input[name=reason]", "Zoe is on leave")
    page.click("#reassign button[type=submit]")
    page.wait_for_selector(".notice.ok")
    assert f"{number} is now with Maria Lopez" in page.locator(".notice.ok").inner_text()
    assert service.get(number).waiting_on == ["maria.lopez"]


def test_delegations_read_as_cards_on_a_375_px_phone(console_server, browser, tmp_path):  # noqa: F811
    """On a 375 px phone each delegation is a card ('Approver Zoe Martin', 'Delegate Frank Novak', End now), and no
    table on it, on a requisition's page, on the requisition list or in a what-if replay scrolls sideways, inside
    its box or out."""
    base, service = console_server["base"], console_server["service"]
    page = browser.new_page()
    page.set_viewport_size({"width": 375, "height": 812})
    sign_in(page, base, console_server["token"])
    page.wait_for_selector("h1:text('Dashboard')")
    page.goto(base + "/console/delegations")
    page.select_option("#set-delegation select[name=delegator]", "zoe.martin")
    page.select_option("#set-delegation select[name=delegate]", "frank.novak")
    page.fill("#set-delegation input[name=ends]", service.clock().date().isoformat())
    page.fill("#set-delegation input[name=reason]", "Vacation, then the regional planning week in Chicago")
    page.click("#set-delegation button[type=submit]")
    page.wait_for_selector(".notice.ok")
    row = page.locator("table.delegations tbody tr").first
    # each cell shows its column's name before its value (the phone has no header row to look up to)
    shown = row.locator("td").evaluate_all(
        "tds => tds.map(td => [getComputedStyle(td, '::before').content.replace(/\"/g, ''), td.innerText.trim()])"
    )
    assert ["Approver", "Zoe Martin"] in shown and ["Delegate", "Frank Novak"] in shown, shown
    assert page.locator("table.delegations thead").bounding_box()["height"] <= 1  # the header row is not shown
    assert row.locator("button.end-delegation").is_visible()
    # a card: the approver's cell sits under the status cell, not beside it
    status, approver = row.locator("td").nth(0).bounding_box(), row.locator("td").nth(1).bounding_box()
    assert approver["y"] >= status["y"] + status["height"] - 1 and approver["x"] == status["x"]
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    assert page.evaluate(OVERFLOWING) == []
    # the requisition's items and steps, and the requisition list, are cards too
    for path in (f"/console/requisitions/{console_server['number']}", "/console/requisitions"):
        page.goto(base + path)
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), path
        assert page.evaluate(OVERFLOWING) == [], path
    assert page.locator("table.results thead").bounding_box()["height"] <= 1
    # and so is the what-if replay of a policy upload: "standard-small: Zoe Martin" before, touchless after
    policy = tmp_path / "policy.yaml"
    policy.write_text(good_policy_text())
    page.goto(base + "/console/policy")
    page.set_input_files("#policy-file", str(policy))
    page.click("#upload")
    page.wait_for_selector("table.changes")
    assert "Jake Miller · Dallas DC · Uline" in page.locator("table.changes").inner_text()
    assert page.evaluate(OVERFLOWING) == []
