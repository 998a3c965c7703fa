"""Comments and the approval chain in the web chat, in a real headless Chromium at a phone's width."""

from __future__ import annotations

from tests.processes.test_web_browser import WRAP, browser, chromium, live_server, open_as  # noqa: F401


def test_an_approver_comments_from_the_card_and_the_requesters_card_shows_it_live(live_server, browser):  # noqa: F811
    """Jake submits; Zoe reads the approval chain on her card and writes a comment in its form; Jake's open card
    shows her words without a reload."""
    jake = open_as(browser, live_server, "jake.miller")
    jake.fill("#text", WRAP)
    jake.click("#send")
    jake.wait_for_selector(".kind-requisition_summary button[data-action='submit']").click()
    number = jake.wait_for_selector(".card[data-number]").get_attribute("data-number")

    zoe = open_as(browser, live_server, "zoe.martin")
    card = zoe.wait_for_selector(f".kind-approval_request[data-number='{number}']")
    assert "Approval chain" in card.inner_text() and "waiting on Zoe Martin" in card.inner_text()
    form = card.query_selector("form.needs-text[data-action='comment']")
    form.query_selector("input[name='text']").fill("Is 40 rolls enough for peak?")
    form.query_selector("button[type='submit']").click()
    zoe.wait_for_function("document.body.innerText.includes('Your comment is on')")

    jake.wait_for_function(
        f"[...document.querySelectorAll(\".card[data-number='{number}'] .comments\")]"
        ".some(c => c.textContent.includes('Is 40 rolls enough for peak?'))",
        timeout=10_000,
    )
    assert jake.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")  # no sideways scroll on a phone
