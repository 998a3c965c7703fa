"""A stored file as an HTTP download, the same from the API, the web chat, the console and the chat cards: always
saved, never shown inline or sniffed (attachments are refused as HTML or SVG anyway; this is the second wall).

Slack and Teams cards list a requisition's files; tapping one gives the person who tapped it (Slack and the Bot
Framework vouch for who that is) a download link for them alone, good for `LINK_MINUTES`. Why this and not a
link printed on the card: a card is a message that lives for years, can be forwarded, and is drawn once for
many readers, so a link on it is either a lasting secret anyone who sees it can use, or one that has expired by
the time it is read. Chat people have no sign-in of ours to send them to (the console signs in admins and
auditors only). So the link is made when asked, the way GitHub, Box and Dropbox hand out a short-lived signed
address only after the person is known: it names the file and the person, carries an expiry and an HMAC over
them (no lookup can forge or stretch it), and the download checks that person against the requisition again,
as it is then (someone taken off it since is refused). It reaches that person alone (a Slack ephemeral message,
a Teams personal chat), and a leaked link is dead within minutes. It is not single-use on purpose: link scanners
(Microsoft Defender's Safe Links, mail and chat previews) open a link before the person does, and would spend it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse, Response

from approvals.attachments import Attachment
from approvals.errors import NotFound
from bot.settings.audit import audit_key

LINK_MINUTES = 10
LINK_PATH = "/files/"
_SIG_CHARS = 43  # an HMAC-SHA-256, base64url without padding
_MAX_TOKEN = 600

router = APIRouter(include_in_schema=False)


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
            "Referrer-Policy": "no-referrer",
        },
    )


def link_key(audit_key: bytes) -> bytes:
    """The key download links are signed with: derived from the audit key (every replica has the same one), so
    no new secret is needed and a link's signature reveals nothing of the audit key."""
    return hmac.new(audit_key, b"procurebot download links v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def link_token(key: bytes, number: str, attachment_id: int, person: str, now: datetime) -> str:
    """The signed part of a download link: file `attachment_id` of `number`, for `person`, until LINK_MINUTES
    after `now`."""
    expires = int(now.timestamp()) + LINK_MINUTES * 60
    body = _b64(json.dumps([number, attachment_id, person, expires], separators=(",", ":")).encode())
    return body + "." + _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def read_token(key: bytes, token: str, now: datetime) -> tuple[str, int, str] | str:
    """(number, attachment id, person) from a link this server signed and that has not expired; else what is wrong
    with it, in words for the person who opened it."""
    body, _, sig = token.partition(".")
    try:
        good = len(sig) == _SIG_CHARS and hmac.compare_digest(
            _unb64(sig), hmac.new(key, body.encode(), hashlib.sha256).digest()
        )
        number, attachment_id, person, expires = json.loads(_unb64(body)) if good else (None, 0, None, 0)
    except (ValueError, TypeError):
        good = False
    if not good or not isinstance(number, str) or not isinstance(attachment_id, int) or not isinstance(person, str):
        return BAD_LINK
    if not isinstance(expires, int) or expires <= now.timestamp():
        return EXPIRED.format(minutes=LINK_MINUTES)
    return number, attachment_id, person


BAD_LINK = "This download link is not one procurebot made. Tap the file on the request's card in Slack or Teams."
EXPIRED = (
    "This download link has expired (each link works for {minutes} minutes, for the person it was made for). "
    "Tap the file on the request's card in Slack or Teams for a new one."
)


def _key(settings: Any) -> bytes:
    key = audit_key(settings.audit, settings.var_dir)
    assert key is not None  # made at start-up when missing
    return link_key(key)


def public_address(settings: Any) -> str:
    """Where people reach procurebot: PROCUREBOT_PUBLIC_URL, else the address it listens on."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def file_link(runtime: Any, number: str, attachment_id: int, person: str) -> str:
    """The address where `person` downloads the file for the next LINK_MINUTES."""
    token = link_token(_key(runtime.settings), number, attachment_id, person, runtime.service.clock())
    return public_address(runtime.settings) + LINK_PATH + token


@router.get(LINK_PATH + "{token}")
def download_by_link(request: Request, token: Annotated[str, Path(max_length=_MAX_TOKEN)]) -> Response:
    """A file through a link made for one person: the link's signature and expiry, then that person's right to see
    the requisition now (else the not-found answer); always a download."""
    runtime = request.app.state.runtime
    found = read_token(_key(runtime.settings), token, runtime.service.clock())
    if isinstance(found, str):
        return _refusal(found, 410 if found.startswith("This download link has expired") else 404)
    number, attachment_id, person = found
    try:
        row, data = runtime.service.attachment(number, attachment_id, person)
    except NotFound as exc:
        return _refusal(exc.message, 404)
    return download_response(row, data)


def _refusal(message: str, status: int) -> Response:
    # plain text: the words are shown as they are, nothing in them is ever run as a page
    return PlainTextResponse(
        message, status_code=status, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    )
