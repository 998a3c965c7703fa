"""Files sent to the bot in a Teams personal chat: attached to the requisition the message names.

Teams keeps such a file in the sender's OneDrive and sends the bot a `file.download.info` attachment with a
short-lived, pre-authorized `downloadUrl` (the app manifest's `supportsFiles: true` lets people attach files). A
personal chat has no threads, so the message names the requisition ("quote for PR-1042"); without a number the
bot asks for one. A file is fetched only from an address TEAMS_FILE_URL_ALLOW allows (OneDrive and SharePoint),
then checked against the attachment limits; every refusal is told with the limit.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx

from approvals.errors import NotFound, ValidationFailed
from approvals.workflow.attachments import attach_command
from bot.settings.teams import TeamsSettings
from bot.teams import texts

log = logging.getLogger("procurebot.teams")
DOWNLOAD_TIMEOUT_SECONDS = 30.0
_NUMBER = re.compile(r"\bPR-\d{1,12}\b", re.IGNORECASE)


def download(url: str, limit: int) -> bytes | None:
    """The file's bytes (at most `limit` + 1, enough to refuse it), or None when the address gave no file."""
    with httpx.Client(timeout=DOWNLOAD_TIMEOUT_SECONDS, follow_redirects=False) as client:
        with client.stream("GET", url) as res:
            if res.status_code != 200 or res.headers.get("content-type", "").startswith("text/html"):
                return None
            data = bytearray()
            for chunk in res.iter_bytes():
                data += chunk
                if len(data) > limit:
                    break
            return bytes(data)


def attach_sent(
    service: Any, settings: TeamsSettings, person_id: str, text: str, files: tuple[dict[str, str], ...]
) -> list[str]:
    """Attach each file to the requisition `text` names; one message per file, or one asking for the number."""
    names = ", ".join(f["name"] for f in files)
    found = _NUMBER.search(text or "")
    if found is None:
        return [texts.FILE_WHICH.format(names=names)]
    number = found.group(0).upper()
    limit = service.attachment_limits.max_bytes
    said = []
    for f in files:
        url = f["download_url"]
        if not settings.file_url_allowed(url):
            log.warning("Teams sent a file whose address is not an allowed OneDrive/SharePoint one; not fetched")
            said.append(texts.FILE_UNREADABLE.format(name=f["name"]))
            continue
        try:
            data = download(url, limit)
        except httpx.HTTPError as exc:
            log.warning("downloading a Teams file failed: %s", type(exc).__name__)
            data = None
        if data is None:
            said.append(texts.FILE_UNREADABLE.format(name=f["name"]))
            continue
        cmd = attach_command(
            actor=person_id,
            surface="teams",
            number=number,
            filename=f["name"],
            data=data,
            idempotency_key=f"teams:file:{f['id']}:{number}"[:200],
        )
        try:
            said.append(service.attach(cmd, data).message)
        except ValidationFailed as exc:
            said.append(" ".join(e.message for e in exc.errors))
        except NotFound as exc:
            said.append(exc.message)
    return said
