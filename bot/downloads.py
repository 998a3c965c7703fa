"""A stored file as an HTTP download, the same from the API, the web chat and the console: always saved, never
shown inline or sniffed (attachments are refused as HTML or SVG anyway; this is the second wall)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response

from approvals.attachments import Attachment


def download_response(row: Attachment, data: bytes) -> Response:
    """`data` as `row.filename`, of the type it was accepted as, with Content-Disposition: attachment, nosniff and
    a sandboxing CSP."""
    ascii_name = row.filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return Response(
        content=data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(row.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
