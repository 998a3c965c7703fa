"""Attachments on the console's requisition page: the files listed and downloadable, the timeline linking each."""

from __future__ import annotations

from approvals.workflow.attachments import attach_command
from tests import attachment_files as files
from tests.edges.test_console import console, sign_in  # noqa: F401  (the console fixture and its sign-in)
from tests.factories import boxes, submit


def with_a_quote(client) -> str:  # type: ignore[no-untyped-def]
    """Jake's box order, with the supplier's PDF quote attached from the web chat."""
    service = client.runtime.service
    number = service.submit(submit(lines=[boxes(80)])).number
    quote = files.pdf()
    service.attach(
        attach_command(actor="jake.miller", surface="web", number=number, filename="Uline quote.pdf", data=quote),
        quote,
    )
    return number


def test_an_auditor_sees_the_file_on_the_page_and_in_the_timeline_and_downloads_it(console):  # noqa: F811
    """The auditor opens Jake's requisition: 'Files (1)' lists the quote, the timeline says File attached with a
    link, and the link downloads the PDF as a file."""
    number = with_a_quote(console)
    sign_in(console, "auditor")
    page = console.get(f"/console/requisitions/{number}").text
    link = f'href="/console/requisitions/{number}/attachments/1"'
    assert "Files (1)" in page and page.count(link) == 2  # the list and the timeline
    assert "File attached" in page and "Jake Miller" in page
    got = console.get(f"/console/requisitions/{number}/attachments/1")
    assert got.status_code == 200 and got.content == files.pdf()
    assert got.headers["content-disposition"].startswith('attachment; filename="Uline quote.pdf"')
    assert got.headers["x-content-type-options"] == "nosniff"


def test_a_download_needs_a_console_session(console):  # noqa: F811
    """Without signing in, the file's link leads to sign-in, not to the file."""
    number = with_a_quote(console)
    got = console.get(f"/console/requisitions/{number}/attachments/1", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/console/login")


def test_a_file_of_another_requisition_is_not_found(console):  # noqa: F811
    """Asking for the quote under another requisition's number finds nothing."""
    with_a_quote(console)
    other = console.runtime.service.submit(submit(lines=[boxes(10)])).number
    sign_in(console, "admin")
    got = console.get(f"/console/requisitions/{other}/attachments/1")
    assert got.status_code == 404 and "has no attachment 1" in got.text
