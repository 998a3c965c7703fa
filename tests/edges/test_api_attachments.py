"""Attachments through the HTTP API: upload, list and download under the token's rights; refusals say the limit."""

from __future__ import annotations

from bot.settings import Settings
from tests import attachment_files as files
from tests.edges.test_api import api, auth, new_request  # noqa: F401  (the API fixture and its helpers)
from tests.edges.test_api_comments import person_token, submitted


def upload(client, number: str, headers, filename: str, data: bytes, actor: str, content_type="application/pdf"):
    return client.post(
        f"/api/v1/requisitions/{number}/attachments",
        headers=headers,
        data={"actor": actor},
        files={"file": (filename, data, content_type)},
    )


def test_a_requester_uploads_a_quote_and_the_approver_downloads_it(api):  # noqa: F811
    """Jake's token uploads the PDF quote; Maria's token lists it and downloads it as a file, never inline."""
    number = submitted(api)
    quote = files.pdf()
    posted = upload(api, number, person_token(api, "jake.miller"), "Uline quote.pdf", quote, "jake.miller")
    assert posted.status_code == 201, posted.text
    assert posted.json()["message"].startswith("Uline quote.pdf (")
    maria = person_token(api, "maria.lopez")
    listed = api.get(f"/api/v1/requisitions/{number}/attachments", headers=maria).json()
    assert [(a["filename"], a["uploaded_by_name"], a["size"]) for a in listed] == [
        ("Uline quote.pdf", "Jake Miller", len(quote))
    ]
    got = api.get(listed[0]["download"], headers=maria)
    assert got.status_code == 200 and got.content == quote
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith('attachment; filename="Uline quote.pdf"')
    assert got.headers["x-content-type-options"] == "nosniff"
    card = api.get(f"/api/v1/requisitions/{number}", headers=maria).json()
    assert [a["filename"] for a in card["attachments"]] == ["Uline quote.pdf"]


def test_a_stranger_neither_lists_downloads_nor_uploads(api):  # noqa: F811
    """A Seattle technician's token gets 404 for a Dallas request's files, the same as for no request at all."""
    number = submitted(api)
    upload(api, number, person_token(api, "jake.miller"), "quote.pdf", files.pdf(), "jake.miller")
    eric = person_token(api, "eric.larsen")
    assert api.get(f"/api/v1/requisitions/{number}/attachments", headers=eric).status_code == 404
    assert api.get(f"/api/v1/requisitions/{number}/attachments/1", headers=eric).status_code == 404
    assert upload(api, number, eric, "x.pdf", files.pdf(), "eric.larsen").status_code == 404
    assert len(api.get(f"/api/v1/requisitions/{number}/attachments", headers=auth(api, "auditor")).json()) == 1


def test_a_token_cannot_attach_as_someone_else(api):  # noqa: F811
    """Jake's token naming Maria as the uploader is refused with 403 and nothing is attached."""
    number = submitted(api)
    refused = upload(api, number, person_token(api, "jake.miller"), "quote.pdf", files.pdf(), "maria.lopez")
    assert refused.status_code == 403
    assert api.get(f"/api/v1/requisitions/{number}/attachments", headers=auth(api, "auditor")).json() == []


def test_a_web_page_renamed_pdf_or_an_svg_is_refused_with_what_is_allowed(api):  # noqa: F811
    """An HTML page named quote.pdf and an SVG logo are refused with 422 and the accepted types; nothing is kept."""
    number = submitted(api)
    jake = person_token(api, "jake.miller")
    renamed = upload(api, number, jake, "quote.pdf", files.HTML, "jake.miller", "application/pdf")
    assert renamed.status_code == 422
    assert "is not a real PDF" in renamed.json()["error"]["message"]
    svg = upload(api, number, jake, "logo.svg", files.SVG, "jake.miller", "image/svg+xml")
    assert svg.status_code == 422
    assert ".svg files can't be attached" in svg.json()["error"]["message"]
    assert "up to 20 MB" in svg.json()["error"]["message"]
    assert api.get(f"/api/v1/requisitions/{number}/attachments", headers=jake).json() == []


def test_an_upload_over_the_limit_is_refused_before_it_is_read(db_url, clock):
    """With a 64 KB attachment limit, a 200 KB upload gets 413 naming the 64 KB limit; a 30 KB one is accepted."""
    from fastapi.testclient import TestClient

    from bot.api.app import create_app
    from bot.runtime import build_runtime
    from bot.tokens import create_token

    settings = Settings(database_url=db_url, admin_token=None, env="dev", _env_file=None, attachment_max_bytes=65536)
    runtime = build_runtime(settings)
    runtime.service.clock = clock
    with TestClient(create_app(settings, runtime=runtime), raise_server_exceptions=False) as client:
        client.tokens = {"service": create_token(runtime.engine, name="t", role="service", act_as=True)}  # type: ignore[attr-defined]
        client.runtime = runtime  # type: ignore[attr-defined]
        number = submitted(client)
        jake = person_token(client, "jake.miller")
        big = upload(client, number, jake, "scan.pdf", files.pdf("x" * 200_000), "jake.miller")
        assert big.status_code == 413
        assert "over the 64 KB limit for attachments" in big.json()["error"]["message"]
        near = upload(client, number, jake, "scan.pdf", files.pdf("x" * 100_000), "jake.miller")
        assert near.status_code == 422 and "over the 64 KB limit" in near.json()["error"]["message"]
        small = upload(client, number, jake, "scan.pdf", files.pdf("x" * 30_000), "jake.miller")
        assert small.status_code == 201, small.text
    runtime.engine.dispose()
