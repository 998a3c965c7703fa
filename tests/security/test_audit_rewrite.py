"""An insider with write access to the database but not the audit key rewrites history and recomputes every hash:
the key, and a signed checkpoint kept outside the database, both catch it; old unkeyed events still verify."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from approvals import audit, audit_checkpoint
from approvals.commands import Approve, Reject
from approvals.models import AuditEvent, AuditHead
from tests.factories import boxes, submit

KEY = b"k3y-of-the-audit-trail-0123456789abcdef"
BIN = Path(sys.executable).parent


@pytest.fixture
def keyed() -> Iterator[bytes]:
    """This process chains with KEY for the test, as a server started with the key does."""
    before = audit.current_key()
    audit.use_key(KEY)
    yield KEY
    audit.use_key(before)


def _story(service) -> str:
    number = service.submit(submit(requester="maria.lopez", lines=[boxes(180)])).number
    service.approve(Approve(actor="james.carter", number=number))
    service.reject(Reject(actor="marcus.bell", number=number, reason="Use Chicago's surplus"))
    return number


def _verify(service, key: bytes | None) -> audit.VerifyReport:
    with Session(service.engine) as session:
        return audit.verify_chain(session, key=key)


def _recompute_plain(engine, edit: str | None = None) -> None:
    """What the insider does: optionally edit, then recompute every event's plain hash and the head, in order."""
    with engine.begin() as conn:
        if edit:
            conn.execute(text(edit))
    with Session(engine) as session:
        prev = audit.GENESIS
        events = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all()
        for event in events:
            event.prev_hash = prev
            event.hash = prev = audit.event_hash(event)  # the published algorithm, without a key
            session.add(event)
        head = session.get(AuditHead, 1) or AuditHead(id=1)
        head.seq, head.hash = (events[-1].seq if events else 0), prev
        session.add(head)
        session.commit()


def test_rewrite_with_recomputed_plain_hashes_is_caught_by_the_key(service, keyed):
    """Someone changes who rejected a request and recomputes every hash: the plain check passes, the key does not."""
    _story(service)
    assert _verify(service, KEY).ok
    _recompute_plain(service.engine, "UPDATE audit_event SET actor = 'someone.else' WHERE kind = 'rejected'")
    assert _verify(service, None).ok  # what `audit verify` said before the chain was keyed
    report = _verify(service, KEY)
    assert not report.ok
    assert any("without the key" in p for p in report.problems), report.problems


def test_rewrite_of_only_the_newest_events_is_caught_by_the_key(service, keyed):
    """Someone rewrites only the last event as plain after keyed ones: the key names that event."""
    _story(service)
    with Session(service.engine) as session:
        last = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc())).first()
        assert last is not None
        seq = last.seq
        last.actor = "someone.else"
        last.hash = audit.event_hash(last)
        session.add(last)
        head = session.get(AuditHead, 1)
        assert head is not None
        head.hash = last.hash
        session.add(head)
        session.commit()
    report = _verify(service, KEY)
    assert any(f"event {seq}" in p and "plain hash after keyed" in p for p in report.problems), report.problems


def test_checkpoint_catches_a_full_recomputation_and_a_deletion_of_everything(service, keyed, tmp_path: Path):
    """An auditor's signed checkpoint catches a rewrite with recomputed hashes, and the deletion of every event."""
    _story(service)
    with Session(service.engine) as session:
        mark = audit_checkpoint.take(session, KEY, service.clock())
    path = audit_checkpoint.write(tmp_path / "cp.json", mark, KEY)
    kept = audit_checkpoint.read(path, KEY)
    assert kept == mark and mark.seq > 0
    _story(service)  # the chain grows after the checkpoint: still agrees
    with Session(service.engine) as session:
        assert audit_checkpoint.verify(session, kept, KEY).ok

    _recompute_plain(service.engine, "UPDATE audit_event SET actor = 'someone.else' WHERE seq = 2")
    with Session(service.engine) as session:
        problems = audit_checkpoint.verify(session, kept, KEY).problems
    assert any(f"event {mark.seq} no longer carries the hash" in p for p in problems), problems

    _recompute_plain(service.engine, "DELETE FROM audit_event")
    with Session(service.engine) as session:
        assert audit.verify_chain(session, key=None).ok  # "audit chain intact: 0 events", as before
        problems = audit_checkpoint.verify(session, kept, KEY).problems
    assert any("is gone: events were deleted" in p for p in problems), problems


def test_a_forged_or_edited_checkpoint_is_refused(service, keyed, tmp_path: Path):
    """Someone edits the checkpoint file to match a rewritten chain, or signs one with their own key: refused."""
    _story(service)
    with Session(service.engine) as session:
        mark = audit_checkpoint.take(session, KEY, service.clock())
    path = audit_checkpoint.write(tmp_path / "cp.json", mark, KEY)
    path.write_text(path.read_text().replace(mark.hash, "0" * 64))
    with pytest.raises(audit_checkpoint.CheckpointInvalid, match="edited or forged"):
        audit_checkpoint.read(path, KEY)
    other = audit_checkpoint.write(tmp_path / "other.json", mark, b"not-the-key-0123456789abcdefghijkl")
    with pytest.raises(audit_checkpoint.CheckpointInvalid, match="edited or forged"):
        audit_checkpoint.read(other, KEY)
    with pytest.raises(audit_checkpoint.CheckpointInvalid, match="another audit key"):
        audit_checkpoint.read(path, b"a-key-of-another-installation-0123456789")


def test_events_from_before_the_key_still_verify_and_are_sealed(service):
    """Events from before the key still verify; once sealed, the key vouches for them too."""
    before = audit.current_key()
    audit.use_key(None)
    try:
        _story(service)
    finally:
        audit.use_key(KEY)
    try:
        with Session(service.engine) as session:
            assert audit.seal(session, at=service.clock())
            session.commit()
        _story(service)
        report = _verify(service, KEY)
        assert report.ok, report.problems
        assert report.plain == 7 and report.keyed == 7  # the activation and six legacy events; the seal, six new
        # rewriting a legacy event now breaks the first keyed event's link, which nobody can recompute
        _recompute_plain(service.engine, "UPDATE audit_event SET actor = 'someone.else' WHERE seq = 3")
        assert not _verify(service, KEY).ok
    finally:
        audit.use_key(before)


def test_checkpoint_and_verify_commands_on_a_served_database(tmp_path: Path):
    """A DBA rewrites an event and recomputes every hash: `audit verify` and `--checkpoint` both exit 1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCUREBOT_", "DATABASE_URL"))}
    db = tmp_path / "procurebot.db"
    env.update({"DATABASE_URL": f"sqlite:///{db}", "PROCUREBOT_VAR_DIR": str(tmp_path)})

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "procurebot"), *args], env=env, capture_output=True, text=True, timeout=120)

    activated = run("policy", "activate", str(Path(__file__).parents[2] / "examples" / "policy.yaml"))
    assert activated.returncode == 0, activated.stderr
    key_file = tmp_path / "audit-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_text().strip()) == 64
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    made = run("audit", "checkpoint", "--out", str(tmp_path / "cp.json"))
    assert made.returncode == 0, made.stderr
    assert run("audit", "verify", "--checkpoint", str(tmp_path / "cp.json")).returncode == 0

    from approvals.db import make_engine

    engine = make_engine(f"sqlite:///{db}")
    _recompute_plain(engine, "UPDATE audit_event SET actor = 'someone.else' WHERE seq = 1")
    engine.dispose()
    against = run("audit", "verify", "--checkpoint", str(tmp_path / "cp.json"))
    assert against.returncode == 1 and "no longer carries the hash" in against.stderr, against.stderr
    plain = run("audit", "verify")
    assert plain.returncode == 1 and "without the key" in plain.stderr, plain.stderr
