"""A requisition's files on the console, in a real headless Chromium: listed on its page and in its timeline, and
downloaded through the console's sign-in."""

from __future__ import annotations

from pathlib import Path

from approvals.workflow.attachments import attach_command
from tests import attachment_files as files
from tests.processes.test_console_browser import console_server, sign_in  # noqa: F401  (the served console)
from tests.processes.test_web_browser import browser, chromium  # noqa: F401  (the shared Chromium fixtures)


def test_an_auditor_downloads_the_quote_from_the_requisition_page(console_server, browser, tmp_path):  # noqa: F811
    """Jake's quote is attached; the auditor opens his requisition, sees Files (1) and 'File attached' in the
    timeline, and the link saves the same PDF."""
    base, tokens, number = console_server["base"], console_server["tokens"], console_server["number"]
    service = console_server["runtime"].service
    quote = files.pdf()
    service.attach(
        attach_command(actor="jake.miller", surface="web", number=number, filename="Uline quote.pdf", data=quote),
        quote,
    )
    page = browser.new_page()
    sign_in(page, base, tokens["auditor"])
    page.wait_for_selector("h1")
    page.goto(f"{base}/console/requisitions/{number}")
    page.wait_for_selector("h2:text('Files (1)')")
    assert page.locator("ol.timeline li[data-kind='attached']").inner_text().count("Uline quote.pdf") == 1
    with page.expect_download() as downloading:
        page.click("ul.files a:text('Uline quote.pdf')")
    download = downloading.value
    assert download.suggested_filename == "Uline quote.pdf"
    assert Path(download.path()).read_bytes() == quote
