"""Attachments in the web chat, in a real headless Chromium at a phone's width: pick files while asking, attach
from a card, download through the product."""

from __future__ import annotations

from pathlib import Path

from tests import attachment_files as files
from tests.processes.test_web_browser import WRAP, browser, chromium, live_server, open_as  # noqa: F401


def test_files_go_with_the_request_show_on_every_card_and_download(live_server, browser):  # noqa: F811
    """Jake picks a quote and an SVG while asking: the SVG is refused with the accepted types, the quote is attached
    on Submit; Zoe's card lists it and downloads the same PDF; her photo from the card's Attach shows on Jake's card."""
    jake = open_as(browser, live_server, "jake.miller")
    jake.fill("#text", WRAP)
    jake.click("#send")
    jake.wait_for_selector(".kind-requisition_summary button[data-action='submit']")
    jake.set_input_files(
        "#files",
        [
            {"name": "Uline quote.pdf", "mimeType": "application/pdf", "buffer": files.pdf()},
            {"name": "logo.svg", "mimeType": "image/svg+xml", "buffer": files.SVG},
        ],
    )
    refused = jake.wait_for_selector(".msg.refused")
    assert ".svg files can't be attached" in refused.inner_text() and "goes on without it" in refused.inner_text()
    jake.wait_for_selector("text=Uline quote.pdf (")
    jake.click(".kind-requisition_summary button[data-action='submit']")
    link = jake.wait_for_selector(".card[data-number] .files a.file")
    number = jake.query_selector(".card[data-number] .files").evaluate("e => e.closest('.card').dataset.number")
    assert link.inner_text() == "Uline quote.pdf"

    zoe = open_as(browser, live_server, "zoe.martin")
    card = zoe.wait_for_selector(f".kind-approval_request[data-number='{number}']")
    assert "Uline quote.pdf" in card.inner_text() and "from Jake Miller" in card.inner_text()
    with zoe.expect_download() as downloading:
        card.query_selector("a.file").click()
    download = downloading.value
    assert download.suggested_filename == "Uline quote.pdf"
    assert Path(download.path()).read_bytes() == files.pdf()

    card.query_selector("form.attach input[type=file]").set_input_files(
        {"name": "pallet damage.png", "mimeType": "image/png", "buffer": files.png()}
    )
    card.query_selector("form.attach button").click()
    zoe.wait_for_selector("text=pallet damage.png (")
    jake.wait_for_function(
        f"[...document.querySelectorAll(\".card[data-number='{number}'] .files a.file\")]"
        ".some(a => a.textContent === 'pallet damage.png')",
        timeout=10_000,
    )
    assert jake.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")  # no sideways scroll on a phone


def test_a_renamed_file_attached_from_a_card_is_refused_with_why(live_server, browser):  # noqa: F811
    """Jake attaches a web page renamed quote.pdf from his card: it is refused as not a real PDF, nothing is listed."""
    jake = open_as(browser, live_server, "jake.miller")
    jake.fill("#text", WRAP)
    jake.click("#send")
    jake.wait_for_selector(".kind-requisition_summary button[data-action='submit']").click()
    jake.wait_for_selector(".card[data-number] form.attach")
    # locators, not element handles: a live update may re-render the card in between (it keeps the picked file);
    # a card drawn anew between the pick and the tap (the PO on its way, then made) is picked on again, at most thrice
    form = jake.locator(".card[data-number] form.attach").last
    for _ in range(3):
        form.locator("input[type=file]").set_input_files(
            {"name": "quote.pdf", "mimeType": "application/pdf", "buffer": files.HTML}
        )
        form.locator("button").click()
        if jake.locator(".msg.refused").count() or _refused_soon(jake):
            break
    refused = jake.wait_for_selector(".msg.refused")
    assert "is not a real PDF" in refused.inner_text()
    assert jake.query_selector(".card[data-number] .files") is None


def _refused_soon(page) -> bool:  # type: ignore[no-untyped-def]
    """Whether a refusal shows within ten seconds of a tap."""
    try:
        page.wait_for_selector(".msg.refused", timeout=10_000)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: the tap went to a card drawn anew
        return False
    return True


def test_a_card_updated_live_keeps_the_file_picked_and_the_comment_typed_on_it(live_server, browser):  # noqa: F811
    """Jake picks a quote and starts a comment on his card; Zoe's comment re-renders his card live; his file and
    his words are still there, and Attach sends the quote."""
    jake = open_as(browser, live_server, "jake.miller")
    jake.fill("#text", WRAP)
    jake.click("#send")
    jake.wait_for_selector(".kind-requisition_summary button[data-action='submit']").click()
    number = jake.wait_for_selector(".card[data-number] form.attach").evaluate("f => f.dataset.number")
    mine = jake.locator(f".card[data-number='{number}']").last
    mine.locator("form.attach input[type=file]").set_input_files(
        {"name": "Uline quote.pdf", "mimeType": "application/pdf", "buffer": files.pdf()}
    )
    mine.locator("form.needs-text[data-action='comment'] input[name='text']").fill("Quote attached, see page 2")

    zoe = open_as(browser, live_server, "zoe.martin")
    card = zoe.locator(f".kind-approval_request[data-number='{number}']")
    card.locator("form.needs-text[data-action='comment'] input[name='text']").fill("Please add the quote")
    card.locator("form.needs-text[data-action='comment'] button[type='submit']").click()
    jake.wait_for_function(  # Jake's card was re-rendered with Zoe's comment
        f"[...document.querySelectorAll(\".card[data-number='{number}'] .comments\")]"
        ".some(c => c.textContent.includes('Please add the quote'))",
        timeout=10_000,
    )
    comment = mine.locator("form.needs-text[data-action='comment'] input[name='text']")
    assert comment.input_value() == "Quote attached, see page 2"
    mine.locator("form.attach button").click()
    jake.wait_for_selector(f".card[data-number='{number}'] .files a.file")
    assert mine.locator(".files a.file").first.inner_text() == "Uline quote.pdf"
