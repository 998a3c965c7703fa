"""Files in Slack and Teams, the parts both platforms share: fetching a file people send within the size limit,
attaching it to a requisition, or holding it on the draft being written (checked when it arrives, listed on the
draft's summary, attached at Submit, discarded with the draft), and the download link a card's file gives the
person who taps it (bot/downloads.py says why a link and not the file's address).

Each platform's own module (bot/slack/files.py, bot/teams/files.py) only knows where its files come from and how
to say things there.
"""

from __future__ import annotations

from typing import Any

import httpx

from approvals.attachments import Attachment, megabytes
from approvals.errors import NotFound, ValidationFailed
from approvals.workflow.attachments import attach_command
from bot.downloads import LINK_MINUTES, file_link
from bot.intake import texts as intake_texts
from bot.intake.draft import HeldFile
from bot.intake.reply import Reply

DOWNLOAD_TIMEOUT_SECONDS = 30.0


def fetch(url: str, headers: dict[str, str], limit: int) -> bytes | None:
    """The file's bytes (at most `limit` + 1, enough to refuse it), or None when the address gave no file (an
    error, a redirect, or a web page: what Slack answers a token without files:read is its sign-in page)."""
    with httpx.Client(timeout=DOWNLOAD_TIMEOUT_SECONDS, follow_redirects=False) as client:
        with client.stream("GET", url, headers=headers) as res:
            if res.status_code != 200 or res.headers.get("content-type", "").startswith("text/html"):
                return None
            data = bytearray()
            for chunk in res.iter_bytes():
                data += chunk
                if len(data) > limit:
                    break
            return bytes(data)


def refusal(exc: ValidationFailed) -> str:
    return " ".join(e.message for e in exc.errors)


def attach_one(service: Any, *, actor: str, surface: str, number: str, filename: str, data: bytes, key: str) -> str:
    """Attach `data` to requisition `number`; what to tell the person: that it is attached, or why not (the limit
    named). `key`: the platform's own id of the file, so a retried event attaches it once."""
    cmd = attach_command(
        actor=actor, surface=surface, number=number, filename=filename, data=data, idempotency_key=key[:200]
    )
    try:
        return str(service.attach(cmd, data).message)
    except ValidationFailed as exc:
        return refusal(exc)
    except NotFound as exc:
        return exc.message


def drafting(assistant: Any, person_id: str) -> bool:
    """Whether the person is writing a request now (a draft in progress on this surface)."""
    return bool(assistant.chat.load(person_id).state != "idle")


def hold_one(assistant: Any, person_id: str, filename: str, data: bytes, source: str) -> list[Reply]:
    """A file sent while the person writes a request: checked now (refused with the limit named, the request goes on
    without it), kept on the draft and attached when it is submitted. `source`: the platform's id of the file."""
    service = assistant.chat.service
    try:
        held = service.hold(filename, data)
    except ValidationFailed as exc:
        return [Reply(refusal(exc))]
    kept = assistant.dialogue.hold(
        assistant.chat.person(person_id),
        HeldFile(
            name=held.filename,
            content_type=held.content_type,
            size=held.size,
            sha256=held.sha256,
            key=held.key,
            source=source[:200],
        ),
    )
    if kept is None:  # the draft was submitted or cancelled meanwhile
        service.discard_held([held.key])
        return [Reply(intake_texts.FILE_NO_DRAFT.format(name=held.filename))]
    return list(kept)


def draft_now(assistant: Any, person_id: str) -> list[Reply]:
    """The draft as it stands (its summary lists the files kept with it), after files were sent."""
    return list(assistant.dialogue.resume(assistant.chat.load(person_id), assistant.chat.person(person_id)))


def download_link(runtime: Any, person_id: str, value: dict[str, str]) -> tuple[Attachment, str, str] | str:
    """(the file, its size in words, a link for `person_id` alone) for a card's file (`value`: the requisition's
    number and the file's id), when that person may see the requisition now; else what to tell them."""
    number = value.get("number", "")
    try:
        file_id = int(value.get("value", ""))
        row = next(a for a in runtime.service.attachments(number, person_id) if a.id == file_id)
    except NotFound as exc:
        return exc.message
    except (ValueError, StopIteration):
        return f"{number} has no such file any more. Its card lists the files it has."
    assert row.id is not None
    return row, megabytes(row.size), file_link(runtime, number, row.id, person_id)


__all__ = ["LINK_MINUTES", "attach_one", "download_link", "draft_now", "drafting", "fetch", "hold_one", "refusal"]
