"""Attachments: the files a requisition carries (a supplier's quote, a spec sheet, a photo of the broken part).

A file is accepted only when it is small enough and of a kind the company allows, and only when its bytes are
what its name says: the content is sniffed (magic numbers; an office document is a zip container whose
`[Content_Types].xml` or `mimetype` names the right kind), so a web page renamed `quote.pdf` is refused. Every
refusal names the limit. HTML and SVG are never accepted, so nothing a browser would run is ever served.

The record (`requisition_attachment`) says who attached what and when; the bytes live in a store
(approvals.attachment_store) under their SHA-256, in the database by default.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Field, SQLModel

from approvals.clock import utcnow
from approvals.columns import timestamp_field
from approvals.errors import FieldError, ValidationFailed

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_FILENAME = 200
# [Content_Types].xml of a real office document is a few kilobytes; reading more is never needed (zip bombs)
_MAX_MANIFEST = 256 * 1024

_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."


@dataclass(frozen=True)
class FileKind:
    """One kind of file the company may allow: its extensions, the type it is served as, how people call it."""

    content_type: str
    extensions: tuple[str, ...]
    label: str


KINDS: tuple[FileKind, ...] = (
    FileKind("application/pdf", ("pdf",), "PDF"),
    FileKind("image/png", ("png",), "PNG image"),
    FileKind("image/jpeg", ("jpg", "jpeg"), "JPEG image"),
    FileKind("image/gif", ("gif",), "GIF image"),
    FileKind("image/webp", ("webp",), "WebP image"),
    FileKind(_OOXML + "wordprocessingml.document", ("docx",), "Word document"),
    FileKind(_OOXML + "spreadsheetml.sheet", ("xlsx",), "Excel workbook"),
    FileKind(_OOXML + "presentationml.presentation", ("pptx",), "PowerPoint presentation"),
    FileKind(_ODF + "text", ("odt",), "OpenDocument text"),
    FileKind(_ODF + "spreadsheet", ("ods",), "OpenDocument spreadsheet"),
    FileKind("text/csv", ("csv",), "CSV file"),
    FileKind("text/plain", ("txt",), "text file"),
)
BY_EXTENSION = {ext: kind for kind in KINDS for ext in kind.extensions}
# the main part each OOXML kind declares in [Content_Types].xml
_OOXML_MAIN = {
    "docx": _OOXML + "wordprocessingml.document.main+xml",
    "xlsx": _OOXML + "spreadsheetml.sheet.main+xml",
    "pptx": _OOXML + "presentationml.presentation.main+xml",
}


@dataclass(frozen=True)
class AttachmentLimits:
    """What the company accepts: the largest file and the extensions allowed (a subset of KINDS')."""

    max_bytes: int = DEFAULT_MAX_BYTES
    extensions: frozenset[str] = field(default_factory=lambda: frozenset(BY_EXTENSION))

    def describe(self) -> str:
        """The limit in words, for every refusal: '20 MB; PDF, PNG/JPEG/GIF/WebP images, ...'."""
        return f"up to {megabytes(self.max_bytes)}; {self.allowed()}"

    def allowed(self) -> str:
        exts = [e for kind in KINDS for e in kind.extensions if e in self.extensions]
        return "files of type " + ", ".join("." + e for e in exts)


class Attachment(SQLModel, table=True):
    """One file attached to a requisition: what it is, who attached it, where its bytes are."""

    __tablename__ = "requisition_attachment"

    id: int | None = Field(default=None, primary_key=True)
    requisition_id: int = Field(foreign_key="requisition.id", index=True)
    filename: str = Field(max_length=MAX_FILENAME)
    content_type: str = Field(max_length=120)
    size: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=100)
    uploaded_by: str = Field(max_length=80)
    surface: str = Field(default="api", max_length=20)
    created_at: datetime = timestamp_field(default_factory=utcnow)


def megabytes(n: int) -> str:
    """A size as people say it: '20 MB', '2.5 MB', '340 KB', '812 bytes'."""
    if n >= 1024 * 1024:
        mb = n / (1024 * 1024)
        return f"{mb:.0f} MB" if mb == int(mb) or mb >= 10 else f"{mb:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


def clean_filename(name: str) -> str:
    """The name as kept and offered for download: its last path part, no control characters, at most 200
    characters (the extension kept). Empty when nothing usable is left."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_FILENAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:MAX_FILENAME]
    return name


def extension(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed([FieldError("file", message)])


def check_file(filename: str, data: bytes, limits: AttachmentLimits) -> tuple[str, str]:
    """The file's clean name and the content type it is served as; refused (ValidationFailed, the limit named)
    when it is empty, too big, of a kind not allowed, or when its bytes are not what its extension says."""
    name = clean_filename(filename)
    if not name:
        raise _refuse("The file has no usable name. Name it like quote.pdf and send it again.")
    if not data:
        raise _refuse(f"{name} is empty. Attach the file itself ({limits.describe()}).")
    if len(data) > limits.max_bytes:
        size, limit = megabytes(len(data)), megabytes(limits.max_bytes)
        # "20 MB, over the 20 MB limit" would read as a contradiction: a file just over it is said to be so
        said = f"{name} is just over" if size == limit else f"{name} is {size}, over"
        raise _refuse(
            f"{said} the {limit} limit for attachments. "
            "Send a smaller file (a PDF export, or a photo at a lower resolution)."
        )
    ext = extension(name)
    if ext not in limits.extensions or ext not in BY_EXTENSION:
        said = f".{ext} files" if ext else "files without an extension"
        raise _refuse(f"{name}: {said} can't be attached. Attachments may be {limits.describe()}.")
    kind = BY_EXTENSION[ext]
    if not content_matches(ext, data):
        raise _refuse(
            f"{name} is not a real {kind.label}: its content does not match its .{ext} extension. "
            f"Save it again as a {kind.label}, or attach it under its real type ({limits.allowed()})."
        )
    return name, kind.content_type


def content_matches(ext: str, data: bytes) -> bool:
    """Whether the bytes are a file of the kind the extension names (sniffed, never the sender's say-so)."""
    if ext == "pdf":
        return data[:1024].lstrip(b"\xef\xbb\xbf\r\n\t ").startswith(b"%PDF-")
    if ext == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in ("jpg", "jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if ext == "gif":
        return data[:6] in (b"GIF87a", b"GIF89a")
    if ext == "webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if ext in _OOXML_MAIN:
        manifest = _zip_member(data, "[Content_Types].xml")
        return manifest is not None and _OOXML_MAIN[ext].encode() in manifest
    if ext in ("odt", "ods"):
        mimetype = _zip_member(data, "mimetype")
        return mimetype is not None and mimetype.strip() == BY_EXTENSION[ext].content_type.encode()
    if ext in ("csv", "txt"):
        return _plain_text(data)
    return False


def _zip_member(data: bytes, member: str) -> bytes | None:
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            info = z.getinfo(member)
            if info.file_size > _MAX_MANIFEST:
                return None
            with z.open(info) as f:
                return f.read(_MAX_MANIFEST + 1)[:_MAX_MANIFEST]
    # zipfile's own refusals: no such member, not a zip, a compression method it does not support
    # (NotImplementedError), an encrypted member (RuntimeError): the file is not the office document it claims to be
    except (KeyError, zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, ValueError):
        return None


def _plain_text(data: bytes) -> bool:
    # text a person can read: UTF-8 (a BOM allowed), no NUL and no control characters but tabs and line breaks
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return _CONTROL.search(text) is None
