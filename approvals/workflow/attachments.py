"""Attachments: anyone who may see a requisition attaches a file to it, and reads the files it carries.

Attaching changes no state and decides nothing. The file is checked first (approvals.attachments: size, kind,
content matching its extension), before any lock or write; then, under the requisition's row lock, the person's
right to see it (a stranger gets the not-found answer), the bytes go to the store, the record and an audit event
(`attached`: the name, type, size and SHA-256, never the bytes) commit together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from approvals.attachment_store import AttachmentBlob, AttachmentStore, DatabaseStore, key_for
from approvals.attachments import Attachment, AttachmentLimits, check_file, megabytes
from approvals.commands import AddAttachment
from approvals.db import transaction
from approvals.errors import NotFound
from approvals.models import Requisition
from approvals.views import build_view
from approvals.visibility import can_see
from approvals.workflow.base import ActionResult, ServiceBase
from approvals.workflow.comments import _missing, _windows


@dataclass(frozen=True)
class Held:
    """A file checked and kept before there is a requisition to attach it to (a chat draft's)."""

    filename: str
    content_type: str
    size: int
    sha256: str
    key: str


class AttachmentActions(ServiceBase):
    """Attach files to a requisition, list them, read one back. The composition root may set `attachment_store`
    (a directory) and `attachment_limits` (size and kinds) from the settings; the defaults need nothing."""

    attachment_store: AttachmentStore = DatabaseStore()
    attachment_limits: AttachmentLimits = AttachmentLimits()

    def attach(self, cmd: AddAttachment, data: bytes) -> ActionResult:
        """Attach `data` (whose size and SHA-256 the command names) as `cmd.filename`."""
        if len(data) != cmd.size or hashlib.sha256(data).hexdigest() != cmd.sha256:
            raise ValueError("the command's size and sha256 must be those of the bytes attached")
        filename, content_type = check_file(cmd.filename, data, self.attachment_limits)
        key = key_for(data)
        store = self.attachment_store

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            assert req.id is not None and req.number is not None
            view = build_view(session, req, self.directory)
            if not can_see(cmd.actor, view, self.directory, _windows(session, now), at=now):
                raise _missing(cmd.number)
            store.put(session, key, data)
            row = Attachment(
                requisition_id=req.id,
                filename=filename,
                content_type=content_type,
                size=len(data),
                sha256=cmd.sha256,
                storage_key=key,
                uploaded_by=cmd.actor,
                surface=cmd.surface,
                created_at=now,
            )
            session.add(row)
            session.flush()
            self._audit(
                session,
                req,
                "attached",
                cmd.actor,
                now,
                cmd.surface,
                after={
                    "attachment_id": row.id,
                    "filename": filename,
                    "content_type": content_type,
                    "size": len(data),
                    "sha256": cmd.sha256,
                },
            )
            return req, "attached", f"{filename} ({megabytes(len(data))}) is attached to {req.number}."

        return self._run(cmd, "attach", body)

    def hold(self, filename: str, data: bytes) -> Held:
        """Check a file sent while a request is still being written, and keep its bytes in the store until the
        request is submitted (then `attach` records it) or cancelled (`discard_held`). Refused as `attach` refuses
        (ValidationFailed, the limit named), when the file arrives; nothing is recorded or audited yet."""
        filename, content_type = check_file(filename, data, self.attachment_limits)
        key = key_for(data)
        with transaction(self.engine) as session:
            self.attachment_store.put(session, key, data)
        return Held(filename, content_type, len(data), hashlib.sha256(data).hexdigest(), key)

    def held(self, key: str) -> bytes | None:
        """The bytes `hold` kept under `key`, or None when they are gone."""
        with Session(self.engine) as session:
            return self.attachment_store.get(session, key)

    def discard_held(self, keys: list[str]) -> None:
        """Forget the bytes of held files no requisition carries (a cancelled draft's). The database store deletes
        them; a directory or bucket keeps them (stored under their SHA-256, they are never listed or served without
        a requisition's record)."""
        if not isinstance(self.attachment_store, DatabaseStore):
            return
        with transaction(self.engine) as session:
            for key in sorted(set(keys)):
                carried = session.exec(select(Attachment.id).where(Attachment.storage_key == key).limit(1)).first()
                blob = session.get(AttachmentBlob, key)
                if carried is None and blob is not None:
                    session.delete(blob)

    def attachments(self, number: str, reader: str) -> list[Attachment]:
        """The files a requisition carries, oldest first, for someone who may see it (else: not found)."""
        with Session(self.engine) as session:
            req = self._visible_to(session, number, reader)
            return _attachments_of(session, req)

    def attachments_on(self, number: str) -> list[Attachment]:
        """The files a requisition carries, for a caller that has made its own read check (the API's)."""
        with Session(self.engine) as session:
            req = session.exec(select(Requisition).where(Requisition.number == number.strip().upper())).first()
            if req is None:
                raise _missing(number)
            return _attachments_of(session, req)

    def attachment(self, number: str, attachment_id: int, reader: str | None) -> tuple[Attachment, bytes]:
        """One attached file and its bytes. `reader`: the person reading, checked like the requisition itself;
        None for a caller that has made its own read check. A file of another requisition is not found."""
        with Session(self.engine) as session:
            if reader is None:
                req = session.exec(select(Requisition).where(Requisition.number == number.strip().upper())).first()
                if req is None:
                    raise _missing(number)
            else:
                req = self._visible_to(session, number, reader)
            row = session.get(Attachment, attachment_id)
            if row is None or row.requisition_id != req.id:
                raise NotFound(f"{req.number} has no attachment {attachment_id}. Its card lists the files it has.")
            data = self.attachment_store.get(session, row.storage_key)
            if data is None:
                raise NotFound(
                    f"The file {row.filename} of {req.number} is missing from the attachment store "
                    f"({self.attachment_store.name}). Ask an admin to check the store's configuration."
                )
            return row, data

    def _visible_to(self, session: Session, number: str, reader: str) -> Requisition:
        req = session.exec(select(Requisition).where(Requisition.number == number.strip().upper())).first()
        if req is None:
            raise _missing(number)
        now = self.clock()
        if not can_see(
            reader, build_view(session, req, self.directory), self.directory, _windows(session, now), at=now
        ):
            raise _missing(number)
        return req


def _attachments_of(session: Session, req: Requisition) -> list[Attachment]:
    return list(
        session.exec(select(Attachment).where(Attachment.requisition_id == req.id).order_by(col(Attachment.id))).all()
    )


def attach_command(
    *, actor: str, surface: str, number: str, filename: str, data: bytes, idempotency_key: str | None = None
) -> AddAttachment:
    """The command for attaching `data`, its size and SHA-256 filled in."""
    return AddAttachment(
        actor=actor,
        surface=surface,
        number=number,
        filename=filename or "",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        idempotency_key=idempotency_key,
    )
