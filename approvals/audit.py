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
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from approvals.clock import as_utc
from approvals.columns import table_of
from approvals.models import AuditEvent, AuditHead
from approvals.wire import CoreWire, Sent, Wire

GENESIS = "0" * 64
EXPORT_FIELDS = (
    "seq",
    "at",
    "kind",
    "actor",
    "on_behalf_of",
    "surface",
    "requisition_number",
    "policy_version",
    "before",
    "after",
    "prev_hash",
    "hash",
)
_EVENTS = table_of(AuditEvent)
_HEAD = table_of(AuditHead)
# The chain's write lock is its head row: it serializes appenders across processes on PostgreSQL (SQLite's
# BEGIN IMMEDIATE already holds the database's write lock). Everything that extends the chain goes through
# `write` below, whichever wire carries it.
_LOCK_HEAD = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_NEW_HEAD = insert(_HEAD).inline().values(id=1, seq=0, hash=GENESIS)
_INSERT = insert(_EVENTS).inline().values({c.name: bindparam(c.name) for c in _EVENTS.c})
_PLAIN = frozenset({str, int, float, bool})
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("seq"), hash=bindparam("hash"))


def jsonable(value: Any) -> Any:
    """Plain JSON types only, so what we hash is exactly what the database gives back."""
    if value is None or type(value) in _PLAIN:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        if all(type(k) is str and (v is None or type(v) in _PLAIN) for k, v in value.items()):
            return dict(value)  # the common case: flat and plain already
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    return value


def _digest(record: dict[str, Any]) -> str:
    """The hash of an event (`record`: every field but the hash): its content and the previous event's hash,
    as canonical JSON."""
    body = {**record, "at": as_utc(record["at"]).isoformat()}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ).hexdigest()


def event_hash(event: AuditEvent) -> str:
    return _digest({k: getattr(event, k) for k in EXPORT_FIELDS[:-1]})


@dataclass(slots=True)
class Event:
    """An event to append: everything but its place in the chain (seq and hashes), given when it is written."""

    kind: str
    actor: str
    at: datetime
    surface: str = "api"
    on_behalf_of: str | None = None
    requisition_number: str | None = None
    policy_version: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def lock_head(wire: Wire, *, after: Sequence[tuple[Any, dict[str, Any]]] = ()) -> Sent:
    """Ask for the chain's head under its lock, sent together with the writes `after` (approvals.wire);
    `write` reads the answer, which on a pipeline is when the wire waits."""
    head = wire.send_together(after, _LOCK_HEAD)
    assert head is not None, "send_together answers whenever it is given a last statement"
    return head


def write(
    wire: Wire, head: Sent, events: list[Event], *, after: Sequence[tuple[Any, dict[str, Any]]] = ()
) -> list[dict[str, Any]]:
    """Chain `events` after the head `lock_head` asked for, and write them and the head moved on, together
    with the writes `after` (approvals.wire)."""
    row = head.first()
    if row is None:  # a database whose head row is gone: start it again (verify_chain reports the loss)
        wire.send(_NEW_HEAD)
        seq, prev = 0, GENESIS
    else:
        seq, prev = row
    records = []
    for event in events:
        seq += 1
        record = {
            "seq": seq,
            "at": as_utc(event.at),
            "kind": event.kind,
            "actor": event.actor,
            "on_behalf_of": event.on_behalf_of,
            "surface": event.surface,
            "requisition_number": event.requisition_number,
            "policy_version": event.policy_version,
            "before": jsonable(event.before) if event.before is not None else None,
            "after": jsonable(event.after) if event.after is not None else None,
            "prev_hash": prev,
        }
        record["hash"] = prev = _digest(record)
        records.append(record)
    wire.send_together([*after, *((_INSERT, r) for r in records)], _MOVE_HEAD, {"seq": seq, "hash": prev})
    return records


def append(wire: Wire, events: list[Event]) -> list[dict[str, Any]]:
    """Lock the head and write `events` after it, in the wire's transaction."""
    return write(wire, lock_head(wire), events)


def lock_chain(session: Session) -> None:
    """Take the chain's write lock (the head row) for the rest of the caller's transaction."""
    wire = CoreWire(session.connection())
    if lock_head(wire).first() is None:
        wire.send(_NEW_HEAD)


def append_event(
    session: Session,
    *,
    kind: str,
    actor: str,
    at: datetime,
    surface: str = "api",
    on_behalf_of: str | None = None,
    requisition_number: str | None = None,
    policy_version: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Add one event to the chain inside the caller's transaction; the event's record comes back."""
    event = Event(kind, actor, at, surface, on_behalf_of, requisition_number, policy_version, before, after)
    return append(CoreWire(session.connection()), [event])[0]


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
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)).execution_options(yield_per=batch)):
        count += 1
        if event.seq != expected_seq:
            if event.seq > expected_seq:
                problems.append(f"events {expected_seq}..{event.seq - 1} are missing (deleted)")
            else:
                problems.append(f"event {event.seq} appears out of order")
        if event.prev_hash != prev_hash:
            problems.append(
                f"event {event.seq} does not follow the event before it "
                "(an earlier event was deleted, edited or reordered)"
            )
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


def iter_events(
    session: Session, *, requisition_number: str | None = None, since: datetime | None = None, batch: int = 2000
) -> Iterator[AuditEvent]:
    query = select(AuditEvent).order_by(col(AuditEvent.seq))
    if requisition_number:
        query = query.where(AuditEvent.requisition_number == requisition_number)
    if since:
        # compare in UTC: SQLite keeps UTC wall-clock text and would ignore another offset
        query = query.where(AuditEvent.at >= as_utc(since))
    yield from session.exec(query.execution_options(yield_per=batch))


def event_record(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": as_utc(event.at).isoformat(),
        "kind": event.kind,
        "actor": event.actor,
        "on_behalf_of": event.on_behalf_of,
        "surface": event.surface,
        "requisition_number": event.requisition_number,
        "policy_version": event.policy_version,
        "before": event.before,
        "after": event.after,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
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
