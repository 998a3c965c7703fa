"""A new supplier in the web chat, in a real headless Chromium at a phone's width, with the server's own ERP
dispatcher and sandbox ERP."""

from __future__ import annotations

import pytest

from tests.live import serving
from tests.processes.test_web_browser import browser, chromium, open_as  # noqa: F401

ZORO = "need 40 rolls of stretch wrap for Dallas from Zoro Tools, about $32 a roll"


@pytest.fixture
def live_server(tmp_path):  # type: ignore[no-untyped-def]
    """The real app on a free local port, on a fresh SQLite database, with the server's own ERP dispatcher thread
    (the embedded default: the sandbox ERP)."""
    from bot import erp_dispatcher
    from bot.api.app import create_app
    from bot.runtime import build_runtime
    from bot.settings import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'chat.db'}", env="dev", var_dir=tmp_path, _env_file=None)
    runtime = build_runtime(settings)
    stop = erp_dispatcher.start_in_server(runtime)
    with serving(create_app(settings, runtime=runtime)) as base:
        yield base
    if stop is not None:
        stop.set()
    runtime.engine.dispose()


def test_a_requester_asks_procurement_a_buyer_approves_and_the_request_goes_on(live_server, browser):  # noqa: F811
    """Jake names an unknown supplier and fills the "Ask procurement to add it" form; Ben's review card arrives in
    his open chat and he approves; the ERP makes the vendor; Jake's request comes back into his open chat by itself
    with Zoro Tools, and Submit routes it."""
    ben = open_as(browser, live_server, "ben.turner")
    jake = open_as(browser, live_server, "jake.miller")
    jake.fill("#text", ZORO)
    jake.click("#send")
    jake.locator(".kind-question button[data-action='choose']", has_text="Ask procurement to add Zoro Tools").click()
    form = jake.locator("form.needs-fields[data-action='supplier.request']").last
    assert form.locator("input[name='name']").input_value() == "Zoro Tools"
    form.locator("input[name='email']").fill("orders@zoro.example")
    form.locator("input[name='website']").fill("zoro.example")
    form.locator("button[type='submit']").click()
    jake.wait_for_function("document.body.innerText.includes('I asked procurement to add Zoro Tools (SUP-1)')")

    review = ben.locator(".card", has=ben.locator("button[data-action='supplier.approve']")).last
    review.wait_for(timeout=15_000)
    assert "orders@zoro.example" in review.inner_text()
    review.locator("button[data-action='supplier.approve']").click()
    ben.wait_for_function("document.body.innerText.includes('Approved: Zoro Tools is being created in the ERP')")

    summary = jake.locator(".kind-requisition_summary", has=jake.locator("button[data-action='submit']")).last
    summary.wait_for(timeout=15_000)
    assert "Zoro Tools" in summary.inner_text()
    assert "Zoro Tools is added as a supplier; your request goes on with it" in jake.inner_text("body")
    summary.locator("button[data-action='submit']").click()
    card = jake.locator(".card[data-number]").last
    card.wait_for()
    assert card.get_attribute("data-number", timeout=5_000).startswith("PR-")
    assert jake.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")  # no sideways scroll on a phone
