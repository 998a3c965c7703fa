"""Files in Teams: sent to the bot in a personal chat, attached to the requisition the message names; and a card's
file, pressed, answered with a download link for that person alone.

Teams keeps such a file in the sender's OneDrive and sends the bot a `file.download.info` attachment with a
short-lived, pre-authorized `downloadUrl` (the app manifest's `supportsFiles: true` lets people attach files). A
personal chat has no threads, so the message names the requisition ("quote for PR-1042"); without a number, a
file sent while a request is being written is kept with it and attached at Submit, and otherwise the bot asks
for the number. A file is fetched only from an address TEAMS_FILE_URL_ALLOW allows (OneDrive and SharePoint),
then checked against the attachment limits; every refusal is told with the limit. What Slack and Teams share is
in bot/chat_files.py.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx

from bot import chat_files
from bot.intake.reply import Reply
from bot.settings.teams import TeamsSettings
from bot.teams import cards, texts

log = logging.getLogger("procurebot.teams")
_NUMBER = re.compile(r"\bPR-\d{1,12}\b", re.IGNORECASE)


def _fetched(settings: TeamsSettings, f: dict[str, str], limit: int) -> bytes | str:
    """The sent file's bytes, or what to tell the person when it could not be read."""
    url = f["download_url"]
    if not settings.file_url_allowed(url):
        log.warning("Teams sent a file whose address is not an allowed OneDrive/SharePoint one; not fetched")
        return texts.FILE_UNREADABLE.format(name=f["name"])
    try:
        data = chat_files.fetch(url, {}, limit)
    except httpx.HTTPError as exc:
        log.warning("downloading a Teams file failed: %s", type(exc).__name__)
        data = None
    return data if data is not None else texts.FILE_UNREADABLE.format(name=f["name"])


def attach_sent(
    assistant: Any, settings: TeamsSettings, person_id: str, text: str, files: tuple[dict[str, str], ...]
) -> list[Reply]:
    """Attach each file to the requisition `text` names, one message per file; without a number, keep them with
    the request being written (attached at Submit), or with none, ask for the number."""
    service = assistant.chat.service
    names = ", ".join(f["name"] for f in files)
    found = _NUMBER.search(text or "")
    if found is None:
        if not chat_files.drafting(assistant, person_id):
            return [Reply(texts.FILE_WHICH.format(names=names))]
        held: list[Reply] = []
        for f in files:
            data = _fetched(settings, f, service.attachment_limits.max_bytes)
            if isinstance(data, str):
                held.append(Reply(data))
            else:
                held += chat_files.hold_one(assistant, person_id, f["name"], data, f"teams:file:{f['id']}")
        return held + chat_files.draft_now(assistant, person_id)
    number = found.group(0).upper()
    said = []
    for f in files:
        data = _fetched(settings, f, service.attachment_limits.max_bytes)
        if isinstance(data, str):
            said.append(Reply(data))
            continue
        said.append(
            Reply(
                chat_files.attach_one(
                    service,
                    actor=person_id,
                    surface="teams",
                    number=number,
                    filename=f["name"],
                    data=data,
                    key=f"teams:file:{f['id']}:{number}",
                )
            )
        )
    return said


def link_for(runtime: Any, person_id: str, value: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    """A card's file, pressed: (what the card says back, the message with the person's own download link). The
    personal chat is theirs alone; the link opens in their browser (Action.OpenUrl)."""
    found = chat_files.download_link(runtime, person_id, value)
    if isinstance(found, str):
        return found, []
    row, size, url = found
    content = {
        "type": "AdaptiveCard",
        "$schema": cards.SCHEMA,
        "version": "1.5",
        "body": [
            {
                "type": "TextBlock",
                "text": texts.DOWNLOAD_LINK.format(name=row.filename, size=size, minutes=chat_files.LINK_MINUTES),
                "wrap": True,
            }
        ],
        "actions": [{"type": "Action.OpenUrl", "title": texts.DOWNLOAD.format(name=row.filename)[:80], "url": url}],
        "fallbackText": f"{row.filename}: {url}",
    }
    message = {"type": "message", "attachments": [cards.attachment(content)]}
    return texts.DOWNLOAD_SENT.format(name=row.filename), [message]
