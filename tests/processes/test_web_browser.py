"""The web chat in a real headless Chromium: a requester submits, an approver approves, the card updates live."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.live import serving

CHROMIUM = "/usr/bin/chromium"
WRAP = "need 40 rolls of stretch wrap for Dallas from Uline, about $32 a roll, by Friday, urgent"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _must_have_browser() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("PROCUREBOT_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed on first use if missing (we never download a browser build of our own)."""
    if not Path(CHROMIUM).exists():
        done = subprocess.run(
            "apt-get update -qq && apt-get install -y -qq chromium",
            shell=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0 or not Path(CHROMIUM).exists():
            message = (
                f"{CHROMIUM} is missing and `apt-get install chromium` failed "
                f"({(done.stderr or done.stdout).strip()[-300:]}); install Debian's chromium package"
            )
            if _must_have_browser():
                pytest.fail(message + " (CI or PROCUREBOT_REQUIRE_BROWSER=1 forbids skipping)", pytrace=False)
            pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def live_server(tmp_path):  # type: ignore[no-untyped-def]
    """The real app on a free local port, in this process, on a fresh SQLite database."""
    from bot.api.app import create_app
    from bot.runtime import build_runtime
    from bot.settings import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'chat.db'}", env="dev", var_dir=tmp_path, _env_file=None)
    runtime = build_runtime(settings)
    with serving(create_app(settings, runtime=runtime)) as base:
        yield base
    runtime.engine.dispose()


@pytest.fixture
def browser(chromium):  # type: ignore[no-untyped-def]
    """Chromium with a fresh profile directory, at a phone's width."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="procurebot-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=ARGS, viewport={"width": 390, "height": 800}
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def open_as(browser, base: str, person: str):  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(base + "/")
    page.wait_for_selector(f'#person option[value="{person}"]', state="attached")
    page.select_option("#person", person)
    page.wait_for_selector("body[data-live='1']")
    return page


def test_requester_submits_approver_approves_requester_card_updates(live_server, browser):
    """Jake submits in the browser; Zoe, in another browser, approves; Jake's card shows Approved without a reload."""
    jake = open_as(browser, live_server, "jake.miller")
    jake.fill("#text", WRAP)
    jake.click("#send")
    jake.wait_for_selector(".kind-requisition_summary button[data-action='submit']").click()
    card = jake.wait_for_selector(".card[data-number]")
    number = card.get_attribute("data-number")
    assert "Waiting on Zoe Martin" in card.inner_text()

    zoe = open_as(browser, live_server, "zoe.martin")
    approval = zoe.wait_for_selector(f".kind-approval_request[data-number='{number}']")
    assert "Why you:" in approval.inner_text()
    approval.query_selector("button[data-action='approve']").click()
    zoe.wait_for_function(
        f"document.querySelector(\".card[data-number='{number}'] .status\")"
        ".textContent.includes('Approved by Zoe Martin')"
    )

    jake.wait_for_function(
        f"[...document.querySelectorAll(\".card[data-number='{number}'] .status\")]"
        ".every(s => s.textContent.includes('Approved by Zoe Martin'))",
        timeout=10_000,
    )
    assert jake.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")  # no sideways scroll on a phone


def test_unread_list_on_connect_opens_the_card_and_counts_live(live_server, browser):
    """Jake submits while Zoe is away; Zoe connects and sees 1 unread, opens it to the card and approves; Jake's
    unread count goes up by itself, and 'Mark all read' takes it back to 0."""
    jake = open_as(browser, live_server, "jake.miller")
    jake.fill("#text", WRAP)
    jake.click("#send")
    jake.wait_for_selector(".kind-requisition_summary button[data-action='submit']").click()
    number = jake.wait_for_selector(".card[data-number]").get_attribute("data-number")
    assert jake.inner_text("#unread-count") == "0" and jake.is_hidden("#unread")

    zoe = open_as(browser, live_server, "zoe.martin")
    zoe.wait_for_selector("#unread li")  # shown on connect, because something waits
    assert zoe.inner_text("#unread-count") == "1"
    item = zoe.inner_text("#unread li")
    assert "WAITING FOR YOU" in item.upper() and number in item and "Jake Miller" in item
    zoe.wait_for_timeout(500)  # the event stream is open: what is listed is not repeated in the conversation
    assert "waits for your approval" not in zoe.inner_text("#log")
    zoe.click(f"#unread button:has-text('Open {number}')")
    zoe.wait_for_function("document.body.dataset.unread === '0'")
    assert zoe.is_hidden("#unread")
    opened = zoe.locator(f".card.flash[data-number='{number}']")
    opened.locator("button[data-action='approve']").click()

    jake.wait_for_function("document.body.dataset.unread === '1'", timeout=10_000)  # live, no reload
    jake.click("#unread-toggle")
    assert f"Zoe Martin approved {number}" in jake.inner_text("#unread li")
    jake.click("#unread-all")
    jake.wait_for_function("document.body.dataset.unread === '0'")
    assert jake.is_visible("#unread-none")
    assert zoe.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")  # no sideways scroll on a phone
