"""The audit trail: append-only, hash-chained events, a verifier and exporters.

Each event's hash covers its own content and the previous event's hash, and `seq` is dense,
so editing, deleting or reordering any event breaks the chain where it happened. The head
row (last seq + hash) is updated in the same transaction, so a deleted tail is caught too.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Iterator

from sqlmodel import Session, select

from approvals.clock import as_utc
from approvals.models import AuditEvent, AuditHead

GENESIS = "0" * 64
_HELD_HEAD = "audit_head_locked"  # session.info key: (transaction, head) once the head row is locked
EXPORT_FIELDS = ("seq", "at", "kind", "actor", "on_behalf_of", "surface", "requisition_number",
                 "policy_version", "before", "after", "prev_hash", "hash")


def jsonable(value: Any) -> Any:
    """Plain JSON types only, so what we hash is exactly what the database gives back."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return as_utc(value).isoformat()  # type: ignore[union-attr]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    return value


def _canonical(event: AuditEvent) -> bytes:
    body = {
        "seq": event.seq,
        "at": as_utc(event.at).isoformat(),  # type: ignore[union-attr]
        "kind": event.kind,
        "actor": event.actor,
        "on_behalf_of": event.on_behalf_of,
        "surface": event.surface,
        "requisition_number": event.requisition_number,
        "policy_version": event.policy_version,
        "before": event.before,
        "after": event.after,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def lock_chain(session: Session) -> AuditHead:
    """Take the chain's write lock (the head row) for the rest of the transaction."""
    held = session.info.get(_HELD_HEAD)
    if held is not None and held[0] is session.get_transaction():
        # already locked in this transaction, and only we can have moved it since
        return held[1]
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    session.info[_HELD_HEAD] = (session.get_transaction(), head)
    return head


def append_event(session: Session, *, kind: str, actor: str, at: datetime, surface: str = "api",
                 on_behalf_of: str | None = None, requisition_number: str | None = None,
                 policy_version: str | None = None, before: dict[str, Any] | None = None,
                 after: dict[str, Any] | None = None) -> AuditEvent:
    """Add one event to the chain inside the caller's transaction."""
    # The head row lock serializes appenders across processes (PostgreSQL); SQLite's
    # BEGIN IMMEDIATE already holds the database write lock.
    head = lock_chain(session)
    event = AuditEvent(
        seq=head.seq + 1, at=as_utc(at), kind=kind, actor=actor,  # type: ignore[union-attr]
        on_behalf_of=on_behalf_of, surface=surface, requisition_number=requisition_number,
        policy_version=policy_version, before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None, prev_hash=head.hash, hash="",
    )
    event.hash = event_hash(event)
    session.add(event)
    head.seq, head.hash = event.seq, event.hash
    session.add(head)
    return event


@dataclass
class VerifyReport:
    events: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(session: Session, batch: int = 2000) -> VerifyReport:
    """Walk the whole chain; report every edited, missing or out-of-order event."""
    problems: list[str] = []
    expected_seq, prev_hash, count = 1, GENESIS, 0
    for event in session.exec(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)):
        count += 1
        if event.seq != expected_seq:
            if event.seq > expected_seq:
                problems.append(f"events {expected_seq}..{event.seq - 1} are missing (deleted)")
            else:
                problems.append(f"event {event.seq} appears out of order")
        if event.prev_hash != prev_hash:
            problems.append(f"event {event.seq} does not follow the event before it "
                            "(an earlier event was deleted, edited or reordered)")
        if event_hash(event) != event.hash:
            problems.append(f"event {event.seq} ({event.kind} by {event.actor}) was edited after it was written")
        expected_seq, prev_hash = event.seq + 1, event.hash
    head = session.get(AuditHead, 1)
    last_seq = expected_seq - 1
    if head is None and count:
        problems.append("the chain head is missing (deleted); events after the last one shown may be gone too")
    if head is not None and (head.seq != last_seq or head.hash != prev_hash) and count:
        if head.seq > last_seq:
            problems.append(f"the last {head.seq - last_seq} event(s) after {last_seq} were deleted")
        else:
            problems.append("the chain head does not match the last event (events added outside procurebot)")
    elif head is not None and head.seq and not count:
        problems.append(f"all {head.seq} events were deleted")
    return VerifyReport(count, problems)


def iter_events(session: Session, *, requisition_number: str | None = None,
                since: datetime | None = None, batch: int = 2000) -> Iterator[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if requisition_number:
        query = query.where(AuditEvent.requisition_number == requisition_number)
    if since:
        # compare in UTC: SQLite keeps UTC wall-clock text and would ignore another offset
        query = query.where(AuditEvent.at >= as_utc(since))
    yield from session.exec(query.execution_options(yield_per=batch))


def event_record(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq, "at": as_utc(event.at).isoformat(), "kind": event.kind,  # type: ignore[union-attr]
        "actor": event.actor, "on_behalf_of": event.on_behalf_of, "surface": event.surface,
        "requisition_number": event.requisition_number, "policy_version": event.policy_version,
        "before": event.before, "after": event.after, "prev_hash": event.prev_hash, "hash": event.hash,
    }


def export_jsonl(events: Iterable[AuditEvent]) -> Iterator[str]:
    for event in events:
        yield json.dumps(event_record(event), sort_keys=True, ensure_ascii=False) + "\n"


def export_csv(events: Iterable[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    yield buffer.getvalue()
    for event in events:
        buffer.seek(0)
        buffer.truncate()
        record = event_record(event)
        for key in ("before", "after"):
            record[key] = json.dumps(record[key], sort_keys=True) if record[key] is not None else ""
        writer.writerow(record)
        yield buffer.getvalue()
