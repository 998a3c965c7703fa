"""Files shared with the bot in Slack: attached to the requisition whose thread they were shared in.

Slack sends a `message` event with subtype `file_share` and the `files` shared; each file's bytes are at its
`url_private_download`, read with the bot token in an `Authorization: Bearer` header (the `files:read` scope).
The token is sent only to Slack's own hosts (or to the configured API host: GovSlack, a test's fake), never to an
address a payload could name. A file is checked against the attachment limits before it is downloaded (its size)
and after (its content), and every refusal is told with the limit.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from approvals.attachments import AttachmentLimits, megabytes
from approvals.errors import NotFound, ValidationFailed
from approvals.workflow.attachments import attach_command
from bot.intake.assistant import Reply
from bot.slack import texts

log = logging.getLogger("procurebot.slack")
DOWNLOAD_TIMEOUT_SECONDS = 30.0


def shared_files(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The files a message shares (a `file_share` message; Slack may also list files on other messages)."""
    return [f for f in event.get("files") or () if isinstance(f, dict) and f.get("id")]


def slack_host(url: str, api_base_url: str) -> bool:
    """Whether the bot token may be sent to `url`: https on Slack's own domains, or the configured API's host."""
    parts, api = urlsplit(url), urlsplit(api_base_url)
    host = (parts.hostname or "").lower()
    if parts.scheme == api.scheme and host == (api.hostname or "").lower() and parts.port == api.port:
        return True
    return parts.scheme == "https" and (
        host in ("slack.com", "slack-gov.com") or host.endswith((".slack.com", ".slack-gov.com"))
    )


def download(url: str, token: str, limit: int) -> bytes | None:
    """The file's bytes (at most `limit` + 1, enough to refuse it), or None when Slack gave a page, not the file
    (what Slack answers a token without files:read: its sign-in page)."""
    with httpx.Client(timeout=DOWNLOAD_TIMEOUT_SECONDS, follow_redirects=False) as client:
        with client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as res:
            kind = res.headers.get("content-type", "")
            if res.status_code != 200 or kind.startswith("text/html"):
                return None
            data = bytearray()
            for chunk in res.iter_bytes():
                data += chunk
                if len(data) > limit:
                    break
            return bytes(data)


def attach_shared(
    bot: Any, team: str | None, person_id: str, number: str | None, files: list[dict[str, Any]]
) -> list[Reply]:
    """Attach each shared file to requisition `number` (the thread's), one reply per file; outside a
    requisition's thread, say where to share it."""
    names = ", ".join(str(f.get("name") or "the file") for f in files)
    if number is None:
        return [Reply(texts.FILE_WHERE.format(names=names))]
    service = bot.runtime.service
    limits: AttachmentLimits = service.attachment_limits
    token = bot.clients.token_for(team)
    replies = []
    for f in files:
        name = str(f.get("name") or f.get("title") or "file")
        url = str(f.get("url_private_download") or f.get("url_private") or "")
        size = f.get("size")
        if isinstance(size, int) and size > limits.max_bytes:
            replies.append(Reply(texts.FILE_TOO_BIG.format(name=name, size=megabytes(size), limit=limits.describe())))
            continue
        if not url or token is None or not slack_host(url, bot.settings.base_url):
            log.warning("Slack shared a file whose address is not Slack's; not downloaded (file %s)", f.get("id"))
            replies.append(Reply(texts.FILE_UNREADABLE.format(name=name)))
            continue
        try:
            data = download(url, token, limits.max_bytes)
        except httpx.HTTPError as exc:
            log.warning("downloading Slack file %s failed: %s", f.get("id"), type(exc).__name__)
            data = None
        if data is None:
            replies.append(Reply(texts.FILE_UNREADABLE.format(name=name)))
            continue
        cmd = attach_command(
            actor=person_id,
            surface="slack",
            number=number,
            filename=name,
            data=data,
            idempotency_key=f"slack:file:{f['id']}:{number}",
        )
        try:
            result = service.attach(cmd, data)
        except ValidationFailed as exc:
            replies.append(Reply(" ".join(e.message for e in exc.errors)))
            continue
        except NotFound as exc:
            replies.append(Reply(exc.message))
            continue
        replies.append(Reply(result.message))
    return replies
