"""Directory versions in the database, like policy versions: install, activate, and read the active one.

Every process reads the active version from the database (`LiveDirectory`), so every replica routes on the same
company and a new activation (`procurebot directory activate`, a Graph sync) is picked up without a restart: each
process looks at the active version's id at most every few seconds and swaps in the new one whole. A requisition
records the version it was routed with (`Requisition.directory_version_id`); its steps keep their approvers.
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import JSON, Column, Engine, Text, bindparam, select as core_select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col, select

from approvals import audit
from approvals.audit import append_event
from approvals.columns import table_of, timestamp_field
from approvals.directory import Directory, load_directory_text

_cache: dict[str, Directory] = {}


class DirectoryVersion(SQLModel, table=True):
    __tablename__ = "directory_version"

    id: int | None = Field(default=None, primary_key=True)
    content_hash: str = Field(max_length=64, unique=True)
    origin: str = Field(default="file", max_length=20)  # file | graph
    filename: str = Field(default="", max_length=300)
    source: str = Field(sa_column=Column(Text, nullable=False))
    people: int = 0
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    loaded_at: datetime = timestamp_field()
    active: bool = Field(default=False)

    @property
    def label(self) -> str:
        return f"directory v{self.id} ({self.origin}, sha256:{self.content_hash[:12]})"


class DirectorySync(SQLModel, table=True):
    """What a directory source (Microsoft Graph) told us last: its delta link and the users as known, so the next
    sync asks only for what changed. Written in the same transaction as the version it produced."""

    __tablename__ = "directory_sync"

    source: str = Field(primary_key=True, max_length=20)
    delta_link: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    users: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    synced_at: datetime = timestamp_field()
    version_id: int | None = None


class Absence(SQLModel, table=True):
    """Someone out of office as their mailbox's automatic replies say (Microsoft Graph), and whether they were asked
    who approves for them meanwhile."""

    __tablename__ = "directory_absence"

    person_id: str = Field(primary_key=True, max_length=80)
    status: str = Field(max_length=20)  # alwaysEnabled | scheduled
    starts_at: datetime | None = timestamp_field(default=None)
    ends_at: datetime | None = timestamp_field(default=None)
    seen_at: datetime = timestamp_field()
    asked_at: datetime | None = timestamp_field(default=None)  # the suggested-delegation card was sent


def content_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def install_directory(
    session: Session,
    source: str,
    *,
    at: datetime,
    origin: str = "file",
    filename: str = "",
    note: str = "",
    actor: str = "system",
    surface: str = "cli",
    only_if_new: bool = False,
) -> tuple[DirectoryVersion, bool]:
    """Store the directory `source` (YAML text, validated first) and make it the active version, in the caller's
    transaction. Returns (row, changed). Idempotent by content hash.

    With `only_if_new` (server start-up), a version already stored is left as it is: a restart must not undo an
    administrator's later activation or a sync. A text never stored before is activated."""
    directory = load_directory_text(source, filename or "directory")
    digest = content_hash(source)
    audit.lock_chain(session)  # serializes activations across replicas and commands, as for policies
    row = session.exec(select(DirectoryVersion).where(DirectoryVersion.content_hash == digest)).first()
    active = session.exec(
        select(DirectoryVersion).where(DirectoryVersion.active == True).with_for_update()  # noqa: E712
    ).all()
    if row is not None and ((row.active and len(active) == 1) or (only_if_new and active)):
        return row, False
    for old in active:
        old.active = False
        session.add(old)
    if row is None:
        row = DirectoryVersion(
            content_hash=digest,
            origin=origin,
            filename=filename.rsplit("/", 1)[-1][:300],
            source=source,
            people=len(directory.people),
            note=note,
            loaded_at=at,
        )
    row.active = True
    session.add(row)
    session.flush()
    append_event(
        session,
        kind="directory_activated",
        actor=actor,
        at=at,
        surface=surface,
        before={"versions": [o.label for o in active]} if active else None,
        after={"version": row.id, "origin": row.origin, "content_hash": digest, "people": row.people, "note": note},
    )
    _cache[digest] = directory.model_copy(update={"version_id": row.id})
    return row, True


_VERSIONS = table_of(DirectoryVersion)
# the active version as a wire reads it (approvals.wire): id, content hash, file name, text
ACTIVE_SOURCE = core_select(_VERSIONS.c.id, _VERSIONS.c.content_hash, _VERSIONS.c.filename, _VERSIONS.c.source).where(
    _VERSIONS.c.active.is_(True)
)
_DEACTIVATE = update(_VERSIONS).where(_VERSIONS.c.active.is_(True)).values(active=False)
_STORE_COLUMNS = ("content_hash", "origin", "filename", "source", "people", "note", "loaded_at")
_STORE: dict[str, Any] = {}


def _store_statement(dialect: str) -> Any:
    """INSERT a version, active; a text stored before is made active again instead (one row per content hash)."""
    stmt = _STORE.get(dialect)
    if stmt is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = _STORE[dialect] = (
            insert(_VERSIONS)
            .values({c: bindparam(c) for c in _STORE_COLUMNS})
            .values(active=True)
            .on_conflict_do_update(index_elements=["content_hash"], set_={"active": True})
            .inline()
        )
    return stmt


def activation_writes(
    dialect: str, source: str, *, at: datetime, origin: str, filename: str, note: str
) -> list[tuple[Any, dict[str, Any]]]:
    """The writes that make the directory `source` the active version (`install_directory`'s, for a caller that
    carries its transaction on a wire and holds the audit chain's lock). `source` must be a valid directory."""
    directory = load_directory_text(source, filename or "directory")
    row = {
        "content_hash": content_hash(source),
        "origin": origin,
        "filename": filename.rsplit("/", 1)[-1][:300],
        "source": source,
        "people": len(directory.people),
        "note": note,
        "loaded_at": at,
    }
    return [(_DEACTIVATE, {}), (_store_statement(dialect), row)]


def directory_for(row: DirectoryVersion) -> Directory:
    """The validated directory of a stored version (read once per process)."""
    cached = _cache.get(row.content_hash)
    if cached is None or cached.version_id != row.id:
        cached = load_directory_text(row.source, row.filename or f"directory v{row.id}")
        cached = cached.model_copy(update={"version_id": row.id})
        _cache[row.content_hash] = cached
    return cached


def active_directory(session: Session) -> tuple[DirectoryVersion, Directory] | None:
    row = session.exec(select(DirectoryVersion).where(DirectoryVersion.active == True)).first()  # noqa: E712
    return None if row is None else (row, directory_for(row))


def active_version_id(session: Session) -> int | None:
    return session.exec(
        select(DirectoryVersion.id).where(DirectoryVersion.active == True)  # noqa: E712
    ).first()


def versions(session: Session, limit: int = 20) -> list[DirectoryVersion]:
    return list(session.exec(select(DirectoryVersion).order_by(col(DirectoryVersion.id).desc()).limit(limit)).all())


# Directory is a frozen model that routing and every surface read attribute by attribute: LiveDirectory stands in
# for it and answers each read from the version active now.
class LiveDirectory:
    """The active directory version of a database, for a long-running process.

    Reads go to the version last loaded (`current()`, never a query: reads happen inside actions' transactions).
    `refresh()` looks up the active version's id, at most every `every_seconds` (monotonic time: a cache's age,
    not a business time), and swaps a changed one in whole; the service calls it before each action and read
    (approvals.workflow.base), the scheduler before each tick. `layer` (e.g. the ERP's master data) is laid over
    each version as it is loaded. An action that must read one version throughout takes `current()` once
    (see `pinned`)."""

    def __init__(self, engine: Engine, *, every_seconds: float = 5.0, fallback: Directory | None = None) -> None:
        self._engine = engine
        self._every = every_seconds
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._version: int | None = None
        self._base: Directory | None = fallback
        self._layer: Callable[[Directory], Directory] | None = None
        self._current: Directory | None = fallback
        self.listeners: list[Callable[[Directory], None]] = []  # told after a new version is swapped in
        self.refresh(force=True)

    def current(self) -> Directory:
        assert self._current is not None, "a LiveDirectory starts with a stored version or a fallback"
        return self._current

    def refresh(self, *, force: bool = False) -> bool:
        """Look at the active version now; True if a new one was swapped in."""
        with self._lock:
            if not force and time.monotonic() - self._checked < self._every:
                return False
            self._checked = time.monotonic()
            with Session(self._engine) as session:
                version = active_version_id(session)
                if version is None or (version == self._version and not force):
                    return False
                found = active_directory(session)
            if found is None:
                return False
            row, directory = found
            changed = row.id != self._version
            self._version, self._base = row.id, directory
            self._current = self._layer(directory) if self._layer else directory
            new = self._current
        if changed:
            for listener in list(self.listeners):
                listener(new)
        return changed

    def set_layer(self, layer: Callable[[Directory], Directory] | None) -> None:
        """Lay `layer` over every version from now on (and over the current one at once)."""
        with self._lock:
            self._layer = layer
            if self._base is not None:
                self._current = layer(self._base) if layer else self._base

    @property
    def base(self) -> Directory:
        """The current version without the layer."""
        assert self._base is not None
        return self._base

    def __getattr__(self, name: str) -> Any:
        # only called for names LiveDirectory itself lacks: every Directory field, lookup and method
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.current(), name)


def pinned(directory: Directory) -> Directory:
    """One version to read throughout an action: a LiveDirectory's current one, or the directory itself."""
    if isinstance(directory, LiveDirectory):
        return directory.current()
    return directory


def refresh(directory: Directory) -> None:
    """Before an action or a tick (never inside a transaction): a LiveDirectory looks for a new active version."""
    if isinstance(directory, LiveDirectory):
        directory.refresh()


def unlayered(directory: Directory) -> Directory:
    """The stored version itself, without what is laid over it in this process (the ERP's master data): what a
    new version is built on."""
    if isinstance(directory, LiveDirectory):
        return directory.base
    return directory
