"""The audit trail: append-only, hash-chained events, a verifier and exporters.

Each event's hash covers its own content and the previous event's hash, and `seq` is dense,
so editing, deleting or reordering any event breaks the chain where it happened. The head
row (last seq + hash) is updated in the same transaction, so a deleted tail is caught too.

Two hash schemes, told apart per event by which one its hash matches: events written before the
chain was keyed carry a plain SHA-256 (anyone can recompute it); events written with the audit
key (`use_key`, set at start-up from the settings) carry an HMAC-SHA-256 under that key, which
does not live in the database. Once an event is keyed, every later one must be too: a plain hash
after a keyed event is a rewrite by someone without the key. The signed checkpoints of
approvals/audit_checkpoint.py pin the head outside the database. Threat model: docs/audit.md.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy import Subquery, bindparam, insert, select as sa_select, true, update
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


# The key new events are chained with (None: plain hashes, as before keying). One per process, set at start-up
# by whoever builds the process (bot/runtime.py, the command line) from the settings; never stored in the database.
_chain_key: bytes | None = None
KEYED_MARKER = "audit.keyed"  # the event that opens a keyed segment (written at start-up, see `seal`)


def use_key(key: bytes | None) -> None:
    """Chain every event this process writes from now on with `key` (HMAC-SHA-256); None: plain SHA-256."""
    global _chain_key
    _chain_key = key


def current_key() -> bytes | None:
    return _chain_key


def key_id(key: bytes) -> str:
    """A short public name of a key (so a checkpoint or an event can say which key), not the key."""
    return hashlib.sha256(b"procurebot audit key id\0" + key).hexdigest()[:16]


def _canonical(record: dict[str, Any]) -> bytes:
    body = {**record, "at": as_utc(record["at"]).isoformat()}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _digest(record: dict[str, Any], key: bytes | None = None) -> str:
    """The hash of an event (`record`: every field but the hash): its content and the previous event's hash,
    as canonical JSON; keyed with `key` (HMAC-SHA-256) when given, plain SHA-256 otherwise."""
    if key is None:
        return hashlib.sha256(_canonical(record)).hexdigest()
    return hmac.new(key, _canonical(record), hashlib.sha256).hexdigest()


def _record_of(event: AuditEvent) -> dict[str, Any]:
    return {k: getattr(event, k) for k in EXPORT_FIELDS[:-1]}


def event_hash(event: AuditEvent, key: bytes | None = None) -> str:
    """The hash `event` should carry: plain, or keyed with `key`."""
    return _digest(_record_of(event), key)


def scheme_of(event: AuditEvent, key: bytes | None) -> str | None:
    """Which scheme the event's hash matches: "hmac-sha256" (with `key`), "sha256", or None (edited)."""
    record = _record_of(event)
    if key is not None and hmac.compare_digest(_digest(record, key), event.hash):
        return "hmac-sha256"
    if hmac.compare_digest(_digest(record), event.hash):
        return "sha256"
    return None


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


def lock_head_with(rows: Subquery, *order_by: Any) -> Any:
    """The chain's head under its lock (as `lock_head`), each answer row led by the head's seq and hash and
    followed by a row of `rows` (a reader's own subquery, LEFT JOINed: the head comes back with none of them).
    One statement instead of two, for a reader that sends both at the same point; `head_of` makes its first two
    columns the Sent `write` takes. No row at all when the head row is gone."""
    return (
        sa_select(_HEAD.c.seq, _HEAD.c.hash, *rows.c)
        .select_from(_HEAD.outerjoin(rows, true()))
        .where(_HEAD.c.id == 1)
        .order_by(*order_by)
        .with_for_update(of=_HEAD)
    )


def head_of(rows: Sequence[Any]) -> Sent:
    """The head (seq, hash) from the rows of a `lock_head_with` statement, as `lock_head`'s answer."""
    return Sent([tuple(rows[0][:2])] if rows else [], len(rows[:1]))


def write(
    wire: Wire, head: Sent, events: list[Event], *, after: Sequence[tuple[Any, dict[str, Any]]] = ()
) -> list[dict[str, Any]]:
    """Chain `events` after the head `lock_head` asked for, and write them and the head moved on, together
    with the writes `after` (approvals.wire)."""
    row = head.first()
    key = _chain_key
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
        record["hash"] = prev = _digest(record, key)
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
    keyed: int = 0  # events whose keyed hash was checked with the key
    plain: int = 0  # events with a plain hash (written before the chain was keyed)
    last_seq: int = 0
    last_hash: str = GENESIS
    notes: list[str] = field(default_factory=list)  # what the verifier could not vouch for (not a break)

    @property
    def ok(self) -> bool:
        return not self.problems


_DEFAULT: Any = object()


def verify_chain(session: Session, batch: int = 2000, *, key: bytes | None = _DEFAULT) -> VerifyReport:
    """Walk the whole chain; report every edited, missing or out-of-order event. With the audit key (this
    process's, unless `key` is given) keyed events are checked too, and a plain hash after a keyed one, or a
    chain that ends in plain hashes, is reported: that is what a rewrite by someone without the key looks like."""
    key = _chain_key if key is _DEFAULT else key
    problems: list[str] = []
    expected_seq, prev_hash, count, keyed, plain = 1, GENESIS, 0, 0, 0
    last_scheme: str | None = None
    unverifiable, marked = 0, False
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
        scheme = scheme_of(event, key)
        marked = marked or event.kind == KEYED_MARKER
        if scheme == "hmac-sha256":
            keyed += 1
        elif scheme == "sha256":
            plain += 1
            if keyed:
                problems.append(
                    f"event {event.seq} ({event.kind} by {event.actor}) carries a plain hash after keyed events: "
                    "it was rewritten by someone without the audit key"
                )
        elif key is None and marked:
            unverifiable += 1  # from the first `audit.keyed` on, events are keyed, or edited: only the key can tell
        else:
            problems.append(f"event {event.seq} ({event.kind} by {event.actor}) was edited after it was written")
        last_scheme = scheme
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
    notes: list[str] = []
    if key is not None and count and last_scheme == "sha256" and not keyed:
        problems.append(
            f"no event is keyed with this audit key, though every server start seals the chain with it: the keyed "
            f"events were rewritten with plain hashes by someone without the key (or the key is not this "
            f"database's: key id {key_id(key)})"
        )
    if key is not None and plain and keyed:
        notes.append(f"{plain} event(s) written before the chain was keyed are vouched for by the first keyed event")
    if unverifiable:
        problems.append(
            f"{unverifiable} keyed event(s) cannot be checked without the audit key (PROCUREBOT_AUDIT_KEY or the key "
            "file): run the verification where the key is"
        )
    return VerifyReport(count, problems, keyed, plain, last_seq, prev_hash, notes)


def seal(session: Session, *, at: datetime, actor: str = "system") -> bool:
    """Start a keyed segment if the chain does not end in one under this process's key: an `audit.keyed` event
    (after every plain one), so the plain events before it are vouched for by the key from now on and a chain
    that ends in plain hashes is a rewrite. Returns whether an event was written. Call it at start-up, under the
    start-up lock, after the policy is installed."""
    key = _chain_key
    if key is None:
        return False
    lock_chain(session)
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    if last is not None and scheme_of(last, key) == "hmac-sha256":
        return False
    append_event(
        session,
        kind=KEYED_MARKER,
        actor=actor,
        at=at,
        surface="cli",
        after={"scheme": "hmac-sha256", "key_id": key_id(key)},
    )
    return True


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
