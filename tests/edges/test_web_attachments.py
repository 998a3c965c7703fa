"""Attachments in the web chat over HTTP: the card lists files and offers Attach, downloads check who is reading."""

from __future__ import annotations

from tests import attachment_files as files
from tests.edges.test_web_chat import WRAP, card, say, tap, web  # noqa: F401  (the web chat fixture and helpers)


def submitted(client) -> str:  # type: ignore[no-untyped-def]
    """Jake's stretch wrap request, submitted from the chat (it waits on Zoe Martin)."""
    summary = next(r["html"] for r in say(client, "jake.miller", WRAP) if r["html"])
    return next(r["number"] for r in tap(client, "jake.miller", summary, "submit") if r["number"])


def upload(client, number: str, person: str, filename: str, data: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        f"/chat/api/requisitions/{number}/attachments",
        data={"person": person},
        files={"file": (filename, data, "application/octet-stream")},
    )


def test_an_attached_quote_is_listed_on_every_card_and_downloads_for_the_approver(web):  # noqa: F811
    """Jake attaches the quote from his card; Zoe's card lists it with its size and a link that downloads the PDF."""
    number = submitted(web)
    assert 'form class="attach"' in card(web, number, "jake.miller")
    done = upload(web, number, "jake.miller", "quote.pdf", files.pdf())
    assert done.status_code == 200, done.text
    assert done.json()["replies"][0]["text"].startswith("quote.pdf (")
    zoe = card(web, number, "zoe.martin")
    assert f'href="/chat/api/requisitions/{number}/attachments/1"' in zoe
    assert "quote.pdf" in zoe and "from Jake Miller" in zoe
    got = web.get(f"/chat/api/requisitions/{number}/attachments/1", params={"person": "zoe.martin"})
    assert got.status_code == 200 and got.content == files.pdf()
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"


def test_a_stranger_cannot_download_or_attach(web):  # noqa: F811
    """A Seattle technician following the link to a Dallas request's file gets the not-found answer."""
    number = submitted(web)
    upload(web, number, "jake.miller", "quote.pdf", files.pdf())
    got = web.get(f"/chat/api/requisitions/{number}/attachments/1", params={"person": "eric.larsen"})
    assert got.status_code == 404 and files.pdf() not in got.content
    assert upload(web, number, "eric.larsen", "x.pdf", files.pdf()).status_code == 404


def test_a_renamed_web_page_is_refused_and_the_request_goes_on(web):  # noqa: F811
    """An HTML page named quote.pdf is refused with why; the card still waits on Zoe with no files listed."""
    number = submitted(web)
    refused = upload(web, number, "jake.miller", "quote.pdf", files.HTML)
    assert refused.status_code == 422
    assert "is not a real PDF" in refused.text
    jake = card(web, number, "jake.miller")
    assert 'class="files"' not in jake and "Zoe Martin" in jake
