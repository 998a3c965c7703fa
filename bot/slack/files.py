"""Files in Slack: shared with the bot, attached to the requisition whose thread they were shared in; and a card's
file, tapped, answered with a download link for that person alone.

Slack sends a `message` event with subtype `file_share` and the `files` shared; each file's bytes are at its
`url_private_download`, read with the bot token in an `Authorization: Bearer` header (the `files:read` scope).
The token is sent only to Slack's own hosts (or to the configured API host: GovSlack, a test's fake), never to an
address a payload could name. A file is checked against the attachment limits before it is downloaded (its size)
and after (its content), and every refusal is told with the limit. What Slack and Teams share is in
bot/chat_files.py.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from approvals.attachments import AttachmentLimits, megabytes
from approvals.errors import ValidationFailed
from bot import chat_files
from bot.intake.assistant import Reply
from bot.slack import texts
from bot.slack.blocks import escape
from bot.slack.bot import SlackBot, Where

log = logging.getLogger("procurebot.slack")


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


def _fetched(bot: Any, team: str | None, f: dict[str, Any], limits: AttachmentLimits) -> bytes | str:
    """The shared file's bytes, or what to tell the person when it is too big or could not be read."""
    name = str(f.get("name") or f.get("title") or "file")
    url = str(f.get("url_private_download") or f.get("url_private") or "")
    size = f.get("size")
    if isinstance(size, int) and size > limits.max_bytes:
        return texts.FILE_TOO_BIG.format(name=name, size=megabytes(size), limit=limits.describe())
    token = bot.clients.token_for(team)
    if not url or token is None or not slack_host(url, bot.settings.base_url):
        log.warning("Slack shared a file whose address is not Slack's; not downloaded (file %s)", f.get("id"))
        return texts.FILE_UNREADABLE.format(name=name)
    try:
        data = chat_files.fetch(url, {"Authorization": f"Bearer {token}"}, limits.max_bytes)
    except httpx.HTTPError as exc:
        log.warning("downloading Slack file %s failed: %s", f.get("id"), type(exc).__name__)
        data = None
    return data if data is not None else texts.FILE_UNREADABLE.format(name=name)


def hold_shared(bot: Any, team: str | None, f: dict[str, Any]) -> dict[str, str] | str:
    """A file given in a modal's file input, downloaded, checked and kept until the form's action names it
    ({"tax_document": its key, "tax_document_name": its name}); or what to tell the person (the limit named)."""
    service = bot.runtime.service
    data = _fetched(bot, team, f, service.attachment_limits)
    if isinstance(data, str):
        return data
    name = str(f.get("name") or f.get("title") or "file")
    try:
        held = service.hold(name, data)
    except ValidationFailed as exc:
        return " ".join(e.message for e in exc.errors)
    return {"tax_document": held.key, "tax_document_name": held.filename}


def attach_shared(
    bot: Any, team: str | None, person_id: str, number: str | None, files: list[dict[str, Any]]
) -> list[Reply]:
    """Attach each shared file to requisition `number` (the thread's), one reply per file; outside a requisition's
    thread, keep it with the request being written (attached at Submit), or with none, say where to share it."""
    names = ", ".join(str(f.get("name") or "the file") for f in files)
    service = bot.runtime.service
    if number is None:
        if not chat_files.drafting(bot.assistant, person_id):
            return [Reply(texts.FILE_WHERE.format(names=names))]
        # shared while a request is being written: kept with it, attached when it is submitted
        held: list[Reply] = []
        for f in files:
            data = _fetched(bot, team, f, service.attachment_limits)
            name = str(f.get("name") or f.get("title") or "file")
            if isinstance(data, str):
                held.append(Reply(data))
            else:
                held += chat_files.hold_one(bot.assistant, person_id, name, data, f"slack:file:{f['id']}")
        return held + chat_files.draft_now(bot.assistant, person_id)
    replies = []
    for f in files:
        data = _fetched(bot, team, f, service.attachment_limits)
        if isinstance(data, str):
            replies.append(Reply(data))
            continue
        name = str(f.get("name") or f.get("title") or "file")
        said = chat_files.attach_one(
            service,
            actor=person_id,
            surface="slack",
            number=number,
            filename=name,
            data=data,
            key=f"slack:file:{f['id']}:{number}",
        )
        replies.append(Reply(said))
    return replies


def send_link(bot: SlackBot, where: Where, value: dict[str, str]) -> None:
    """A card's file, tapped: a download link for the person who tapped it, shown to them alone (ephemeral in
    place, or in their DM when tapped in a modal or the Home tab). The card stays as it is."""
    person = bot.person(where.team, where.user)
    found = (
        bot.unknown(where.team, where.user)
        if person is None
        else chat_files.download_link(bot.runtime, person.id, value)
    )
    if isinstance(found, str):
        bot.say(where.only_to_them() if where.channel else Where(where.team, where.user), found, person)
        return
    row, size, url = found
    text = texts.DOWNLOAD_LINK.format(name=escape(row.filename), size=size, url=url, minutes=chat_files.LINK_MINUTES)
    body = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    fallback = f"{escape(row.filename)}: download link"
    if where.channel and where.response_url:
        res = WebhookClient(where.response_url, timeout=10).send(
            text=fallback, blocks=body, response_type="ephemeral", replace_original=False, unfurl_links=False
        )
        if res.status_code == 200:
            return
    client = bot.client(where.team)
    if where.channel:
        try:
            client.chat_postEphemeral(channel=where.channel, user=where.user, text=fallback, blocks=body)
            return
        except SlackApiError as exc:
            log.info("an ephemeral download link was refused: %s", exc.response.get("error"))
    channel = bot.dm_channel(person, Where(where.team, where.user))
    client.chat_postMessage(channel=channel, text=fallback, blocks=body, unfurl_links=False, unfurl_media=False)
