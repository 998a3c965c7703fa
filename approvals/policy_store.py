"""Policy versions in the database: install, activate, and load the version a requisition is pinned to."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Protocol

from sqlmodel import Session, select

from approvals import audit
from approvals.audit import append_event
from approvals.errors import NotFound
from approvals.models import PolicyVersion
from approvals.policy.loader import LoadedPolicy, load_policy_text

_cache: dict[str, LoadedPolicy] = {}


class StoredPolicy(Protocol):
    """What policy_for reads of a stored version: its hash always, its text and names only to compile it
    (a PolicyVersion row, or approvals.snapshot's stand-in that reads the text only when asked)."""

    @property
    def content_hash(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def filename(self) -> str: ...
    @property
    def version(self) -> str: ...


def install_policy(
    session: Session,
    policy: LoadedPolicy,
    *,
    at: datetime,
    actor: str = "system",
    surface: str = "cli",
    only_if_new: bool = False,
) -> tuple[PolicyVersion, bool]:
    """Make `policy` the active version at instant `at` (the caller's clock). Returns (row, changed).
    Idempotent by content hash.

    With `only_if_new` (server start-up), a version already stored is left as it is: a restart
    must not undo an administrator's later activation of another version.
    """
    # the audit chain lock also serializes activations across replicas starting together
    audit.lock_chain(session)
    row = session.exec(select(PolicyVersion).where(PolicyVersion.content_hash == policy.content_hash)).first()
    active = session.exec(
        select(PolicyVersion)
        .where(PolicyVersion.active == True)  # noqa: E712
        .with_for_update()
    ).all()
    if row is not None and ((row.active and len(active) == 1) or (only_if_new and active)):
        _cache[row.content_hash] = policy
        return row, False
    for old in active:
        old.active = False
        session.add(old)
    if row is None:
        # only the file's name: the server's directory layout is nobody's business
        row = PolicyVersion(
            policy_id=policy.spec.policy.id,
            version=policy.version,
            content_hash=policy.content_hash,
            filename=os.path.basename(policy.filename),
            source=policy.source,
            loaded_at=at,
        )
    row.active = True
    session.add(row)
    session.flush()
    append_event(
        session,
        kind="policy_activated",
        actor=actor,
        at=at,
        surface=surface,
        policy_version=policy.label,
        before={"versions": [f"{o.version} (sha256:{o.content_hash[:12]})" for o in active]} if active else None,
        after={
            "version": policy.version,
            "content_hash": policy.content_hash,
            "file": os.path.basename(policy.filename),
        },
    )
    _cache[row.content_hash] = policy
    return row, True


def active_policy(session: Session) -> tuple[PolicyVersion, LoadedPolicy]:
    row = session.exec(select(PolicyVersion).where(PolicyVersion.active == True)).first()  # noqa: E712
    if row is None:
        raise NotFound("No policy is active yet; run `procurebot policy activate FILE` or start the server.")
    return row, policy_for(row)


def policy_by_id(session: Session, policy_version_id: int) -> tuple[PolicyVersion, LoadedPolicy]:
    row = session.get(PolicyVersion, policy_version_id)
    if row is None:
        raise NotFound(f"policy version {policy_version_id} is not stored")
    return row, policy_for(row)


def policy_for(row: StoredPolicy) -> LoadedPolicy:
    """The compiled policy for a stored version (compiled once per process)."""
    cached = _cache.get(row.content_hash)
    if cached is None:
        cached = load_policy_text(row.source, row.filename or f"policy {row.version}")
        _cache[row.content_hash] = cached
    return cached
