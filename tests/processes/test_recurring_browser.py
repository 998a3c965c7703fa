"""Recurring purchases in a real headless Chromium: asked for in the web chat, approved on the approver's card,
paused and resumed from the requester's card, and ended from the console's requisition page."""

from __future__ import annotations

from typing import Any

import pytest

from bot.tokens import create_token
from tests.live import serving
from tests.processes.test_console_browser import sign_in
from tests.processes.test_web_browser import browser, chromium, open_as  # noqa: F401  (the shared Chromium fixtures)

PEST = "pest control for Dallas from Cintas, $980 a month for 12 months"


@pytest.fixture
def live_server(tmp_path):  # type: ignore[no-untyped-def]
    """The real app on a free local port, on a fresh SQLite database, with its scheduler and the server's own ERP
    dispatcher thread (the sandbox ERP), and an admin token for the console."""
    from bot import erp_dispatcher
    from bot.api.app import create_app
    from bot.runtime import build_runtime
    from bot.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'chat.db'}",
        env="dev",
        var_dir=tmp_path,
        session_secret="k" * 40,
        _env_file=None,
    )
    runtime = build_runtime(settings)
    admin = create_token(runtime.engine, name="admin-person", role="admin")
    stop = erp_dispatcher.start_in_server(runtime)
    with serving(create_app(settings, runtime=runtime)) as base:
        yield {"base": base, "runtime": runtime, "admin": admin}
    if stop is not None:
        stop.set()
    runtime.engine.dispose()


def _asked_and_approved(server, browser):  # type: ignore[no-untyped-def]  # noqa: F811
    """Jake asks for pest control month by month and submits; each approver approves on their own card."""
    base, service = server["base"], server["runtime"].service
    jake = open_as(browser, base, "jake.miller")
    jake.fill("#text", PEST)
    jake.click("#send")
    summary = jake.locator(".kind-requisition_summary", has=jake.locator("button[data-action='submit']")).last
    summary.wait_for()
    assert "one purchase order a month, 12 times ($980.00 each)" in summary.inner_text()
    summary.locator("button[data-action='submit']").click()
    card = jake.locator(".card[data-number]").last
    card.wait_for()
    number = card.get_attribute("data-number")
    assert number and number.startswith("PR-")
    approvers: dict[str, Any] = {}
    for _ in range(6):  # each stage's approver, in turn
        waiting = service.view(number).waiting_on
        if not waiting:
            break
        person = waiting[0]
        page = approvers.get(person) or open_as(browser, base, person)
        approvers[person] = page
        request = page.locator(f".kind-approval_request[data-number='{number}']").last
        request.locator("button[data-action='approve']").click()
        for _ in range(100):  # until the approval is committed (the card's answer follows it)
            if service.view(number).waiting_on != waiting:
                break
            page.wait_for_timeout(100)
        request.locator("button[data-action='approve']").wait_for(state="detached")
    assert service.view(number).waiting_on == []
    return jake, number


def _card_says(page, number: str, words: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        f"[...document.querySelectorAll(\".card[data-number='{number}']\")].some(c => c.innerText.includes({words!r}))",
        timeout=15_000,
    )


def test_a_monthly_pest_control_order_is_approved_then_paused_and_resumed_from_the_card(live_server, browser):  # noqa: F811
    """Jake asks for $980 a month for 12 months of pest control, sees the releases, is approved, pauses, resumes."""
    jake, number = _asked_and_approved(live_server, browser)
    _card_says(jake, number, "Monthly, 12 releases from")
    _card_says(jake, number, "(active)")
    card = jake.locator(f".card[data-number='{number}']", has=jake.locator("button[data-action='recurring.pause']"))
    card.last.locator("button[data-action='recurring.pause']").click()
    _card_says(jake, number, "(paused)")
    jake.wait_for_function(f'document.body.innerText.includes("{number}\'s releases are paused.")')
    resume = jake.locator(f".card[data-number='{number}'] button[data-action='recurring.resume']").last
    resume.wait_for()
    resume.click()
    jake.wait_for_function(f'document.body.innerText.includes("{number}\'s releases are resumed.")')
    jake.locator(f".card[data-number='{number}'] button[data-action='recurring.pause']").last.wait_for()
    assert live_server["runtime"].service.view(number).schedule_state == "active"
    assert jake.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")  # no sideways scroll on a phone


def test_an_admin_ends_the_releases_on_the_console_requisition_page(live_server, browser):  # noqa: F811
    """Approved in the chat, an admin presses End on the console's requisition page, which then says ended."""
    _, number = _asked_and_approved(live_server, browser)
    page = browser.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server["base"], live_server["admin"])
    page.wait_for_selector("h1:text('Dashboard')")
    page.goto(f"{live_server['base']}/console/requisitions/{number}")
    page.locator("#schedule").wait_for()
    assert "Monthly, 12 releases from" in page.inner_text("body")
    page.locator("#schedule button[value='end']").click()
    page.wait_for_function(f'document.body.innerText.includes("{number}\'s releases are ended.")')
    assert page.locator("#schedule").count() == 0  # nothing left to pause, resume or end
    assert "(ended)" in page.inner_text("body")
    assert live_server["runtime"].service.view(number).schedule_state == "ended"
