"""Where attachments' bytes are kept: the database (the embedded default) or a directory (production).

Both keep a file under its SHA-256 (`sha256/<hex>`), so the same quote attached twice is stored once and a key
never names a path the sender chose. The database store writes in the action's own transaction, so a refused or
failed attach leaves nothing behind; the directory store writes a whole file under a temporary name and renames
it, so a reader never sees half a file (a file left by a transaction that then failed is harmless: nothing
refers to it, and the next attach of the same bytes reuses it).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, Session, SQLModel

from approvals.clock import utcnow
from approvals.columns import timestamp_field

_KEY = re.compile(r"^sha256/[0-9a-f]{64}$")


class AttachmentBlob(SQLModel, table=True):
    """The bytes of one attached file, for the database store."""

    __tablename__ = "attachment_blob"

    key: str = Field(primary_key=True, max_length=100)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = timestamp_field(default_factory=utcnow)


def key_for(data: bytes) -> str:
    return "sha256/" + hashlib.sha256(data).hexdigest()


class AttachmentStore(Protocol):
    """Keeps and returns attachments' bytes by key. `session` is the action's (the database store writes in it)."""

    name: str

    def put(self, session: Session, key: str, data: bytes) -> None: ...

    def get(self, session: Session, key: str) -> bytes | None: ...


def _checked(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not an attachment key: {key!r}")
    return key


class DatabaseStore:
    """In the database, table attachment_blob: nothing to configure, backed up with everything else."""

    name = "database"

    def put(self, session: Session, key: str, data: bytes) -> None:
        if session.get(AttachmentBlob, _checked(key)) is None:
            session.add(AttachmentBlob(key=key, data=data))
            session.flush()

    def get(self, session: Session, key: str) -> bytes | None:
        row = session.get(AttachmentBlob, _checked(key))
        return bytes(row.data) if row is not None else None


class DirectoryStore:
    """Under a directory every replica mounts (`PROCUREBOT_ATTACHMENTS_DIR`): `<dir>/sha256/ab/abcdef...`."""

    name = "directory"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        digest = _checked(key).split("/", 1)[1]
        return self.root / "sha256" / digest[:2] / digest

    def put(self, session: Session, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, session: Session, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
