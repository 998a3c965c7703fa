"""Signed checkpoints of the audit chain's head, kept outside the database.

A checkpoint names the last event (seq and hash) of a chain that verified whole with the audit key, when, and
which key, signed with that key. Whoever keeps it (an auditor's folder, an append-only bucket) can later prove
that no event up to that seq was rewritten, recomputed or deleted: the hash at that seq is a keyed hash over
every event before it, which nobody without the key can make again. Threat model: docs/audit.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from approvals import audit
from approvals.clock import as_utc
from approvals.models import AuditEvent

FORMAT = "procurebot-audit-checkpoint/1"
_FIELDS = ("format", "seq", "hash", "events", "keyed_events", "at", "key_id")


class CheckpointRefused(Exception):
    """No checkpoint was written: the chain does not verify (a checkpoint must never vouch for a broken chain)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("the audit chain does not verify; no checkpoint was written: " + "; ".join(problems))
        self.problems = problems


class CheckpointInvalid(Exception):
    """The checkpoint file is damaged, forged, or signed with another key."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    events: int
    keyed_events: int
    at: str
    key_id: str

    def body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "seq": self.seq,
            "hash": self.hash,
            "events": self.events,
            "keyed_events": self.keyed_events,
            "at": self.at,
            "key_id": self.key_id,
        }


def _signature(key: bytes, body: dict[str, Any]) -> str:
    # its own key, derived: a checkpoint's signature can never pass for an event's hash, nor the reverse
    signing = hmac.new(key, b"procurebot audit checkpoint", hashlib.sha256).digest()
    text = json.dumps({k: body[k] for k in _FIELDS}, sort_keys=True, separators=(",", ":"))
    return hmac.new(signing, text.encode("utf-8"), hashlib.sha256).hexdigest()


def take(session: Session, key: bytes, at: datetime) -> Checkpoint:
    """Verify the whole chain with `key` and name its head; CheckpointRefused if it does not verify."""
    report = audit.verify_chain(session, key=key)
    if not report.ok:
        raise CheckpointRefused(report.problems)
    return Checkpoint(
        report.last_seq, report.last_hash, report.events, report.keyed, as_utc(at).isoformat(), audit.key_id(key)
    )


def dumps(checkpoint: Checkpoint, key: bytes) -> str:
    body = checkpoint.body()
    return json.dumps({**body, "signature": _signature(key, body)}, indent=2) + "\n"


def write(path: Path, checkpoint: Checkpoint, key: bytes) -> Path:
    """Write the signed checkpoint to `path`, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(dumps(checkpoint, key), encoding="utf-8")
    os.replace(scratch, path)
    return path


def loads(text: str, key: bytes) -> Checkpoint:
    """The checkpoint in `text` if its signature holds under `key`; CheckpointInvalid otherwise."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CheckpointInvalid(f"not a procurebot audit checkpoint (format {FORMAT})")
        body = {k: data[k] for k in _FIELDS}
        checkpoint = Checkpoint(
            int(body["seq"]),
            str(body["hash"]),
            int(body["events"]),
            int(body["keyed_events"]),
            str(body["at"]),
            str(body["key_id"]),
        )
        signature = str(data["signature"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointInvalid(f"the checkpoint is damaged ({exc})") from None
    if checkpoint.key_id != audit.key_id(key):
        raise CheckpointInvalid(
            f"the checkpoint was signed with another audit key (key id {checkpoint.key_id}, this one is "
            f"{audit.key_id(key)}): verify with the key it was made with"
        )
    if not hmac.compare_digest(signature, _signature(key, checkpoint.body())):
        raise CheckpointInvalid("the checkpoint's signature does not hold: the file was edited or forged")
    return checkpoint


def read(path: Path, key: bytes) -> Checkpoint:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointInvalid(f"cannot read the checkpoint {path}: {exc}") from None
    return loads(text, key)


def compare(session: Session, checkpoint: Checkpoint) -> list[str]:
    """What the database says against the checkpoint: every event up to its seq must still be there, and the one
    at its seq must carry the hash it named (which covers every event before it)."""
    event = session.get(AuditEvent, checkpoint.seq) if checkpoint.seq else None
    if checkpoint.seq and event is None:
        return [
            f"event {checkpoint.seq}, the chain's head at the checkpoint of {checkpoint.at}, is gone: "
            "events were deleted"
        ]
    if event is not None and not hmac.compare_digest(event.hash, checkpoint.hash):
        return [
            f"event {checkpoint.seq} no longer carries the hash the checkpoint of {checkpoint.at} named: "
            f"the chain up to it was rewritten"
        ]
    return []


def verify(session: Session, checkpoint: Checkpoint, key: bytes) -> audit.VerifyReport:
    """The chain verified with `key`, and held against `checkpoint`."""
    report = audit.verify_chain(session, key=key)
    report.problems.extend(compare(session, checkpoint))
    if report.events < checkpoint.events:
        report.problems.append(
            f"the chain holds {report.events} events; at the checkpoint of {checkpoint.at} it held {checkpoint.events}"
        )
    return report


def file_name(checkpoint: Checkpoint) -> str:
    stamp = checkpoint.at.replace(":", "").replace("-", "").split(".")[0].split("+")[0]
    return f"audit-checkpoint-{checkpoint.seq:012d}-{stamp}.json"
