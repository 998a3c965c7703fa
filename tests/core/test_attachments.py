"""Attachments: who may attach and read, what is accepted (size, kind, sniffed content), what is kept and audited."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import Session, select

from approvals.attachment_store import AttachmentBlob, DirectoryStore
from approvals.attachments import Attachment, AttachmentLimits
from approvals.errors import NotFound, ValidationFailed
from approvals.models import AuditEvent
from approvals.workflow.attachments import attach_command
from tests import attachment_files as files
from tests.factories import boxes, submit


def pending_box_order(service) -> str:
    """$3,840 of boxes from Jake, waiting on Maria Lopez."""
    return service.submit(submit(lines=[boxes(80)])).number


def attach(service, number: str, filename: str, data: bytes, actor: str = "jake.miller", key: str | None = None):
    return service.attach(
        attach_command(actor=actor, surface="web", number=number, filename=filename, data=data, idempotency_key=key),
        data,
    )


def stored(service) -> tuple[int, int]:
    """How many attachment records and stored blobs there are."""
    with Session(service.engine) as s:
        return len(s.exec(select(Attachment)).all()), len(s.exec(select(AttachmentBlob)).all())


def test_a_requester_attaches_a_quote_and_the_approver_reads_it_back(service):
    """Jake attaches the supplier's PDF quote; Maria, his approver, sees it listed and downloads the same bytes."""
    number = pending_box_order(service)
    quote = files.pdf()
    result = attach(service, number, "Uline quote Q-2291.pdf", quote)
    assert result.outcome == "attached"
    assert result.message.startswith("Uline quote Q-2291.pdf (") and number in result.message
    listed = service.attachments(number, "maria.lopez")
    assert [(a.filename, a.content_type, a.size, a.uploaded_by) for a in listed] == [
        ("Uline quote Q-2291.pdf", "application/pdf", len(quote), "jake.miller")
    ]
    row, data = service.attachment(number, listed[0].id, "maria.lopez")
    assert data == quote and row.sha256 == hashlib.sha256(quote).hexdigest()
    card = service.get(number).attachments
    assert [(a.filename, a.uploaded_by_name) for a in card] == [("Uline quote Q-2291.pdf", "Jake Miller")]


def test_the_audit_records_the_file_by_name_and_fingerprint_not_its_bytes(service):
    """The audit trail says Jake attached photo.png with its size and SHA-256; the picture itself is not in it."""
    number = pending_box_order(service)
    photo = files.png()
    attach(service, number, "photo.png", photo)
    with Session(service.engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "attached")).one()
    assert event.actor == "jake.miller" and event.requisition_number == number
    assert event.after["filename"] == "photo.png"
    assert event.after["sha256"] == hashlib.sha256(photo).hexdigest()
    assert event.after["size"] == len(photo)


def test_a_stranger_can_neither_attach_nor_read(service):
    """A Seattle technician is told a Dallas request does not exist, whether attaching to it or downloading from it."""
    number = pending_box_order(service)
    attach(service, number, "quote.pdf", files.pdf())
    stranger = "eric.larsen"
    with pytest.raises(NotFound) as hidden:
        attach(service, number, "mine.pdf", files.pdf(), actor=stranger)
    assert hidden.value.message == f"There is no requisition {number}. Check the number (it looks like PR-1042)."
    with pytest.raises(NotFound):
        service.attachments(number, stranger)
    with pytest.raises(NotFound):
        service.attachment(number, 1, stranger)
    assert stored(service) == (1, 1)


def test_a_file_of_another_requisition_is_not_found_under_this_one(service):
    """Attachment 1 belongs to Jake's first order; asking for it under his second order finds nothing."""
    first, second = pending_box_order(service), pending_box_order(service)
    attach(service, first, "quote.pdf", files.pdf())
    with pytest.raises(NotFound) as missing:
        service.attachment(second, 1, "jake.miller")
    assert "has no attachment 1" in missing.value.message


def test_an_oversized_file_is_refused_with_the_limit_named_and_nothing_is_kept(service):
    """With a 1 KB limit, a 3 KB photo is refused, the message names the 1 KB limit, and nothing is written."""
    number = pending_box_order(service)
    service.attachment_limits = AttachmentLimits(max_bytes=1024)
    big = files.pdf("x" * 3000)
    with pytest.raises(ValidationFailed) as refused:
        attach(service, number, "scan.pdf", big)
    assert "scan.pdf is 3 KB, over the 1 KB limit for attachments" in refused.value.message
    assert stored(service) == (0, 0)


def test_a_file_just_over_the_limit_is_said_to_be_just_over(service):
    """A PDF a few kilobytes over 20 MB is not described as '20 MB, over the 20 MB limit'."""
    number = pending_box_order(service)
    with pytest.raises(ValidationFailed) as refused:
        attach(service, number, "drawings.pdf", files.pdf() + b"0" * (20 * 1024 * 1024))
    assert "drawings.pdf is just over the 20 MB limit for attachments" in refused.value.message


def test_the_default_limit_is_twenty_megabytes(service):
    """A 21 MB PDF is refused under the default limit, and the refusal says 20 MB."""
    number = pending_box_order(service)
    with pytest.raises(ValidationFailed) as refused:
        attach(service, number, "drawings.pdf", files.pdf() + b"0" * (21 * 1024 * 1024))
    assert "over the 20 MB limit" in refused.value.message


@pytest.mark.parametrize(
    "filename,data,says",
    [
        ("invoice.html", files.HTML, ".html files can't be attached"),
        ("logo.svg", files.SVG, ".svg files can't be attached"),
        ("setup.exe", b"MZ\x90\x00", ".exe files can't be attached"),
        ("quote", files.pdf(), "files without an extension can't be attached"),
        ("quote.pdf", files.HTML, "is not a real PDF"),
        ("photo.jpg", files.png(), "is not a real JPEG image"),
        ("spec.docx", files.plain_zip(), "is not a real Word document"),
        ("spec.docx", files.xlsx(), "is not a real Word document"),
        ("prices.csv", b"sku,price\x00\x01\x02", "is not a real CSV file"),
    ],
)
def test_a_file_that_is_not_allowed_or_not_what_it_says_is_refused(service, filename, data, says):
    """Web pages, SVG, programs, nameless files and renamed files are refused with what may be attached."""
    number = pending_box_order(service)
    with pytest.raises(ValidationFailed) as refused:
        attach(service, number, filename, data)
    assert says in refused.value.message
    assert "up to 20 MB" in refused.value.message or "files of type .pdf" in refused.value.message
    assert stored(service) == (0, 0)


def test_real_office_documents_and_text_are_accepted(service):
    """A Word spec, an Excel price sheet, a CSV and a text note are all attached, each served as its own type."""
    number = pending_box_order(service)
    for name, data in [
        ("spec.docx", files.docx()),
        ("prices.xlsx", files.xlsx()),
        ("prices.csv", "sku,price\nPKG-BOX-2012,48\n".encode()),
        ("note.txt", "Délai: vendredi\n".encode()),
    ]:
        attach(service, number, name, data)
    types = [a.content_type for a in service.attachments(number, "jake.miller")]
    assert types == [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/csv",
        "text/plain",
    ]


def test_a_path_in_the_filename_is_dropped(service):
    """A browser that sends C:\\Users\\jake\\quote.pdf keeps only quote.pdf as the name."""
    number = pending_box_order(service)
    attach(service, number, "C:\\Users\\jake\\..\\quote.pdf", files.pdf())
    assert [a.filename for a in service.attachments(number, "jake.miller")] == ["quote.pdf"]


def test_a_retried_upload_attaches_once(service):
    """The same upload sent twice under one idempotency key gives one attachment; the second is a replay."""
    number = pending_box_order(service)
    first = attach(service, number, "quote.pdf", files.pdf(), key="upload-1")
    again = attach(service, number, "quote.pdf", files.pdf(), key="upload-1")
    assert not first.replayed and again.replayed
    assert stored(service) == (1, 1)


def test_the_directory_store_keeps_files_on_disk_once_each(service, tmp_path):
    """With a store directory, the quote lands on disk under its SHA-256, once though attached twice, and reads back."""
    number = pending_box_order(service)
    service.attachment_store = DirectoryStore(tmp_path / "attachments")
    quote = files.pdf()
    attach(service, number, "quote.pdf", quote)
    attach(service, number, "quote (copy).pdf", quote)
    on_disk = [p for p in (tmp_path / "attachments").rglob("*") if p.is_file()]
    assert [p.name for p in on_disk] == [hashlib.sha256(quote).hexdigest()]
    assert stored(service) == (2, 0)
    listed = service.attachments(number, "maria.lopez")
    assert service.attachment(number, listed[1].id, "maria.lopez")[1] == quote
