"""A durable queue of due work in the database: reminders, escalations, ERP write-backs, digests.

Every piece of work that must survive a crash and happen exactly once across replicas is one
row in ``job``. The life of a row::

    enqueue(session, kind=, key=, due_at=, payload=)   # inside the caller's transaction
        -> due ──claim()──> claimed ──complete()──> done
                               │  └──retry(error)──> failed (due again after a backoff) ... -> dead
                               │  └──fail(error)───> dead (never retried; shown by status)
                               └── lease expires (the claimer crashed) -> claimable again

* ``key`` (``dedupe_key``) is unique: enqueueing the same key twice is a no-op, so a hook that
  runs twice, or two replicas scheduling the same reminder, give one row.
* ``claim`` takes due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (two
  claimers never wait on or take each other's rows) and a compare-and-set ``UPDATE`` on
  SQLite (whose writers are serialized anyway). A claim holds a lease; while a row is claimed
  its ``due_at`` is the lease's end, so a crashed claimer's rows come back by themselves and
  one index on ``due_at`` finds everything that needs attention.
* ``attempts`` counts claims (since the row was last released) and, with ``claimed_by``, is the
  fencing token: ``complete``/``retry``/``fail``/``release`` only change a row still held by the
  same claim, so a claimer whose lease ran out cannot overwrite the work of the one that took
  over (they return False instead).
* ``sent_ref`` stores the external reference of what was sent (a chat message id, a PO
  number). Call ``mark_sent`` right after the external call: a row that comes back after a
  crash with ``sent_ref`` set was already sent, so the processor completes it without sending
  again.

Typical worker loop::

    queue = JobQueue(engine, clock=clock, worker_id="web-1:4242")
    for job in queue.claim(["reminder"], limit=100):
        if job.sent_ref is None:
            ref = notifier.send(...)
            queue.mark_sent(job, ref)
        queue.complete(job)
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import psycopg
from sqlalchemy import (
    ARRAY,
    JSON,
    Column,
    ColumnElement,
    Connection,
    CursorResult,
    Engine,
    Index,
    String,
    Text,
    and_,
    any_,
    bindparam,
    func,
    or_,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col, select

from approvals import correlation, wire
from approvals.clock import Clock, as_utc, utcnow
from approvals.columns import table_of, timestamp_field
from approvals.wire import CoreWire, PgWire, Sent, Wire

DUE, CLAIMED, DONE, FAILED, DEAD = "due", "claimed", "done", "failed", "dead"
STATES = (DUE, CLAIMED, DONE, FAILED, DEAD)
# States a claim may take: due work, work waiting for its retry, and claims whose lease ran out.
ACTIVE = (DUE, FAILED, CLAIMED)
_ACTIVE_SQL = "state IN ('due', 'failed', 'claimed')"
_DURABLE = select(func.set_config("synchronous_commit", "on", True))
T = TypeVar("T")


class Job(SQLModel, table=True):
    """One piece of due work. ``due_at`` is when it next needs attention (see the module docstring)."""

    __tablename__ = "job"
    __table_args__ = (
        # Only live rows are indexed, so a claim costs what is due, not what has piled up or is done.
        Index(
            "ix_job_active_due", "kind", "due_at", postgresql_where=text(_ACTIVE_SQL), sqlite_where=text(_ACTIVE_SQL)
        ),
        Index("ix_job_state_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    dedupe_key: str = Field(max_length=200, unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    due_at: datetime = timestamp_field()
    state: str = Field(default=DUE, max_length=10)
    claimed_by: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = timestamp_field(default=None)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    sent_ref: str | None = Field(default=None, max_length=200)
    created_at: datetime = timestamp_field(default_factory=utcnow)
    updated_at: datetime = timestamp_field(default_factory=utcnow)


@dataclass(frozen=True)
class ClaimedJob:
    """A claimed row as the claimer saw it; pass it back to complete/retry/fail."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int  # this claim's number, also its fencing token
    worker_id: str
    lease_until: datetime
    sent_ref: str | None = None  # set when an earlier claim already sent it


@dataclass(frozen=True)
class QueueStats:
    counts: dict[str, int]  # per state, every state present (0 when none)
    due_now: int  # due or failed rows whose time has come, and claims whose lease ran out
    next_due: list[Job] = field(default_factory=list)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# Every statement that writes rows of the queue, defined once and carried by approvals.wire: through SQLAlchemy
# in a caller's session or on SQLite, on the batch's held psycopg connection or an action's pipeline on PostgreSQL.
_INSERT_COLUMNS = (
    "kind",
    "dedupe_key",
    "payload",
    "due_at",
    "state",
    "claimed_by",
    "lease_until",
    "attempts",
    "created_at",
    "updated_at",
)
_STATEMENTS: dict[Any, Any] = {}


def insert_statement(dialect: str, *, returning: bool = False) -> Any:
    """INSERT a job (the columns of `row`) unless its key exists; with `returning`, the new row's id comes back."""
    stmt = _STATEMENTS.get(("insert", dialect, returning))
    if stmt is None:
        table = table_of(Job)
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(table)
            .values({c: bindparam(c) for c in _INSERT_COLUMNS})
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        stmt = _STATEMENTS[("insert", dialect, returning)] = stmt.returning(table.c.id) if returning else stmt.inline()
    return stmt


def row(
    *,
    kind: str,
    key: str,
    due_at: datetime | None,
    now: datetime,
    payload: dict[str, Any] | None = None,
    claimed_by: str | None = None,
    lease_until: datetime | None = None,
) -> dict[str, Any]:
    """A new job's columns for `insert_statement`: due at `due_at`, or already claimed by `claimed_by` until
    `lease_until` (its first attempt, for a writer that goes on to do the work itself). The payload carries the
    id of the request that made the job, when there is one (approvals.correlation)."""
    payload = correlation.with_request(payload)
    if claimed_by is not None:
        return {
            "kind": kind,
            "dedupe_key": key,
            "payload": payload or {},
            "due_at": lease_until,
            "state": CLAIMED,
            "claimed_by": claimed_by,
            "lease_until": lease_until,
            "attempts": 1,
            "created_at": now,
            "updated_at": now,
        }
    return {
        "kind": kind,
        "dedupe_key": key,
        "payload": payload or {},
        "due_at": as_utc(due_at),
        "state": DUE,
        "claimed_by": None,
        "lease_until": None,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def enqueue(
    session: Session,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """Add a row in the caller's transaction unless one with ``key`` exists. True if added."""
    values = row(kind=kind, key=key, due_at=due_at, now=now or utcnow(), payload=payload)
    stmt = insert_statement(session.get_bind().dialect.name, returning=True)
    return CoreWire(session.connection()).send(stmt, values).first() is not None


def _finish_statement(columns: tuple[str, ...], returning: bool) -> Any:
    """UPDATE `columns` of a row still held by one claim (`_id`, `_by`, `_attempts`: its fencing token)."""
    stmt = _STATEMENTS.get((columns, returning))
    if stmt is None:
        table = table_of(Job)
        stmt = (
            update(table)
            .where(
                table.c.id == bindparam("_id"),
                table.c.state == CLAIMED,
                table.c.claimed_by == bindparam("_by"),
                table.c.attempts == bindparam("_attempts"),
            )
            .values({c: bindparam(c) for c in columns})
        )
        stmt = _STATEMENTS[(columns, returning)] = stmt.returning(table.c.id) if returning else stmt
    return stmt


def finish(wire: Wire, job: ClaimedJob, values: dict[str, Any], *, returning: bool = False) -> Sent:
    """Send the fenced UPDATE of `values` for `job`: its rowcount is 1 while the claim held, else 0; with
    `returning`, its row is the job's id (which a pipeline reads without waiting for each job apart)."""
    return wire.send(
        _finish_statement(tuple(sorted(values)), returning),
        {**values, "_id": job.id, "_by": job.worker_id, "_attempts": job.attempts},
    )


def finish_each(wire: Wire, jobs: Sequence[ClaimedJob], values: Sequence[dict[str, Any]]) -> list[Sent]:
    """`finish` for several jobs (the same columns for each), as one statement's rows: each answer is the job's
    id while its claim held, or no row."""
    stmt = _finish_statement(tuple(sorted(values[0])), True) if values else None
    return wire.send_each(
        stmt, [{**v, "_id": j.id, "_by": j.worker_id, "_attempts": j.attempts} for j, v in zip(jobs, values)]
    )


def _claim_statement(dialect: str) -> Any:
    """Take due rows, oldest first: PostgreSQL skips rows another claimer holds locked; on SQLite (writers are
    serialized) the UPDATE re-checks that each row is still ready (compare-and-set)."""
    stmt = _STATEMENTS.get(("claim", dialect))
    if stmt is None:
        table = table_of(Job)
        kinds: ColumnElement[bool]
        if dialect == "postgresql":
            kinds = table.c.kind == any_(bindparam("kinds", type_=ARRAY(String)))
        else:
            kinds = table.c.kind.in_(bindparam("kinds", expanding=True))
        ready = and_(kinds, text(_ACTIVE_SQL), table.c.due_at <= bindparam("now"))
        pick = select(table.c.id).where(ready).order_by(table.c.due_at, table.c.id).limit(bindparam("limit"))
        guard: ColumnElement[bool]
        if dialect == "postgresql":
            guard = table.c.id.in_(pick.with_for_update(skip_locked=True).scalar_subquery())
        else:
            guard = and_(table.c.id.in_(pick.scalar_subquery()), ready)
        stmt = _STATEMENTS[("claim", dialect)] = (
            update(table)
            .where(guard)
            .values(
                state=CLAIMED,
                claimed_by=bindparam("by"),
                lease_until=bindparam("lease"),
                due_at=bindparam("lease"),
                attempts=table.c.attempts + 1,
                updated_at=bindparam("now"),
            )
            .returning(
                table.c.id, table.c.kind, table.c.dedupe_key, table.c.payload, table.c.attempts, table.c.sent_ref
            )
        )
    return stmt


def reschedule(
    session: Session, *, key: str, due_at: datetime, payload: dict[str, Any] | None = None, now: datetime | None = None
) -> bool:
    """Move a row that is not claimed and not finished to a new due time. True if moved."""
    now = now or utcnow()
    values: dict[str, Any] = {"due_at": as_utc(due_at), "updated_at": now}
    if payload is not None:
        values["payload"] = payload
    result = session.execute(
        update(Job).where(col(Job.dedupe_key) == key, col(Job.state).in_((DUE, FAILED))).values(**values)
    )
    assert isinstance(result, CursorResult), "an UPDATE's result counts the rows it changed"
    return bool(result.rowcount)


def cancel(session: Session, *, keys: Iterable[str], reason: str = "cancelled", now: datetime | None = None) -> int:
    """Finish rows that are no longer needed (the step was decided) without running them."""
    keys = list(keys)
    if not keys:
        return 0
    now = now or utcnow()
    result = session.execute(
        update(Job)
        .where(col(Job.dedupe_key).in_(keys), col(Job.state).in_((DUE, FAILED)))
        .values(state=DONE, last_error=reason, updated_at=now)
    )
    assert isinstance(result, CursorResult), "an UPDATE's result counts the rows it changed"
    return int(result.rowcount or 0)


def get(session: Session, key: str) -> Job | None:
    return session.exec(select(Job).where(Job.dedupe_key == key)).first()


def backoff(
    attempts: int, *, base: timedelta = timedelta(seconds=30), cap: timedelta = timedelta(hours=1)
) -> timedelta:
    """30 s, 1 min, 2 min, ... doubling per attempt, at most an hour."""
    return min(cap, base * (2 ** max(0, attempts - 1)))


class JobQueue:
    """Claims and finishes rows for one worker. Safe with any number of processes on one database."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = utcnow,
        worker_id: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = 8,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self.lease = lease
        self.max_attempts = max_attempts
        self._postgres = engine.dialect.name == "postgresql"
        # a transaction of the caller's own (``transaction``) travels in one psycopg pipeline on PostgreSQL, or
        # (False) through SQLAlchemy statement by statement, as on SQLite
        self.pipelined = self._postgres
        self._conn: Connection | None = None

    def claim(self, kinds: str | Sequence[str], *, limit: int = 100) -> list[ClaimedJob]:
        """Take up to ``limit`` rows of ``kinds`` whose time has come, oldest first, in one short transaction.

        Inside ``batch`` on PostgreSQL the claim is one statement on the held connection, which is in autocommit:
        no pool checkout, no BEGIN and COMMIT to wait for. A claim is a lease, not a result: if the database lost
        this commit the rows would simply be due again, so not waiting for the WAL flush changes nothing that a
        crash can repeat."""
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        now = self.clock()
        lease = now + self.lease
        stmt = _claim_statement(self.engine.dialect.name)
        params = {"kinds": kinds, "now": now, "lease": lease, "limit": limit, "by": self.worker_id}
        if self._conn is not None:
            rows = self._held(lambda w: w.send(stmt, params).all())
        else:
            with wire.begin(self.engine, core=not self.pipelined) as w:
                rows = w.send(stmt, params).all()
                w.commit()
        return sorted(
            (ClaimedJob(r[0], r[1], r[2], r[3] or {}, r[4], self.worker_id, lease, r[5]) for r in rows),
            key=lambda j: j.id,
        )

    def _held(self, work: Callable[[Wire], T]) -> T:
        """`work` on the connection ``batch`` holds, committed (PostgreSQL: each statement in autocommit)."""
        assert self._conn is not None
        if self._postgres:
            return work(PgWire(wire.driver(self._conn.connection)))
        try:
            done = work(CoreWire(self._conn))
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise
        return done

    @contextmanager
    def transaction(self) -> Iterator[Wire]:
        """A transaction of the caller's own beside this queue's work (the ERP outbox records its POs in one),
        durable like any decision's; commit with ``wire.commit()``. Inside ``batch`` it runs on the held
        connection (no pool checkout), on PostgreSQL as one pipeline; otherwise on a connection of its own."""
        if self._conn is None or (self._postgres and not self.pipelined):
            with wire.begin(self.engine, core=not self.pipelined) as w:
                yield w
            return
        if not self._postgres:
            try:
                yield CoreWire(self._conn)
            finally:
                self._conn.rollback()  # nothing, once the caller committed
            return
        conn = wire.driver(self._conn.connection)
        conn.autocommit = False  # psycopg begins the transaction in the pipeline's first round trip
        try:
            with PgWire(conn).errors(), conn.pipeline() as pipeline:
                w = PgWire(conn, pipeline)
                w.send(_DURABLE)  # the held connection's own commits do not wait for the WAL flush; this one does
                yield w
        except BaseException:
            conn.rollback()
            raise
        finally:
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
                conn.rollback()
            conn.autocommit = True

    def _set(self, job: ClaimedJob, session: Session | None, **values: Any) -> bool:
        """The fenced UPDATE of a finish: in the caller's transaction, on the held connection (committed at once;
        a tick finishes its rows one by one, each before it sends the next message), or in a batch of its own."""
        values["updated_at"] = self.clock()
        if session is not None:
            return bool(finish(CoreWire(session.connection()), job, values).rowcount)
        if self._conn is not None:
            return self._held(lambda w: bool(finish(w, job, values).rowcount))
        with self.batch():
            return self._set(job, None, **values)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Finish many rows on one connection (a tick's batch); each row still commits on its own.

        On PostgreSQL the connection is in autocommit (each claim and finish is one statement, its own
        transaction, one round trip; a caller that needs several statements in one transaction, such
        as the ERP outbox's record, asks for ``transaction``), and these short commits do not wait for the
        WAL flush: a finished row is visible to every replica at once, and only a crash of the database
        server itself could lose the last instant of them (at worst a repeated message). Both settings
        are reset before the connection goes back to the pool.
        """
        if self._conn is not None:
            yield
            return
        with self.engine.connect() as conn:
            if self._postgres:
                conn.execution_options(isolation_level="AUTOCOMMIT")  # SQLAlchemy restores it at check-in
                conn.exec_driver_sql("SET synchronous_commit TO OFF")
                conn.commit()
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None
                if self._postgres:
                    conn.rollback()
                    conn.exec_driver_sql("RESET synchronous_commit")
                    conn.commit()

    def mark_sent(self, job: ClaimedJob, ref: str, *, session: Session | None = None) -> bool:
        """Record what was sent, so a later claim of the same row knows not to send it again."""
        return self._set(job, session, sent_ref=ref[:200])

    def complete(self, job: ClaimedJob, *, sent_ref: str | None = None, session: Session | None = None) -> bool:
        """Finish the row. With ``session``, in the caller's transaction (e.g. with the next row's enqueue).

        False when this claim no longer holds the row (its lease ran out and another claimer took it).
        """
        values: dict[str, Any] = {"state": DONE, "lease_until": None, "last_error": None}
        if sent_ref is not None:
            values["sent_ref"] = sent_ref[:200]
        return self._set(job, session, **values)

    def retry(
        self, job: ClaimedJob, error: str, *, delay: timedelta | None = None, session: Session | None = None
    ) -> str | None:
        """Try again after a backoff; after ``max_attempts`` claims the row is dead. Returns the new state."""
        if job.attempts >= self.max_attempts:
            return DEAD if self._set(job, session, state=DEAD, lease_until=None, last_error=error[:2000]) else None
        when = self.clock() + (delay if delay is not None else backoff(job.attempts))
        ok = self._set(job, session, state=FAILED, due_at=when, lease_until=None, last_error=error[:2000])
        return FAILED if ok else None

    def fail(self, job: ClaimedJob, error: str, *, session: Session | None = None) -> bool:
        """Give up on the row now (it cannot succeed); it stays visible as dead."""
        return self._set(job, session, state=DEAD, lease_until=None, last_error=error[:2000])

    def release(
        self,
        job: ClaimedJob,
        *,
        due_at: datetime | None = None,
        payload: dict[str, Any] | None = None,
        session: Session | None = None,
    ) -> bool:
        """Hand the row back, due again at ``due_at`` (default now): work that waits (quiet hours) or
        recurs (the next reminder of a chain, with its new ``payload``). Not a failure: the attempt
        count starts again, and ``sent_ref`` is cleared because the next run sends a new message."""
        values: dict[str, Any] = {
            "state": DUE,
            "due_at": as_utc(due_at) or self.clock(),
            "lease_until": None,
            "claimed_by": None,
            "attempts": 0,
            "last_error": None,
        }
        if payload is not None:
            values["payload"] = payload
            values["sent_ref"] = None
        return self._set(job, session, **values)

    def stats(self, *, kinds: Sequence[str] | None = None, next_limit: int = 10) -> QueueStats:
        """Counts per state, how many are ready now, and the next rows to come due."""
        now = self.clock()
        with Session(self.engine) as session:
            q = select(Job.state, func.count()).group_by(Job.state)
            if kinds:
                q = q.where(col(Job.kind).in_(kinds))
            counts = {s: 0 for s in STATES}
            counts.update({state: n for state, n in session.exec(q).all()})
            ready = select(func.count()).select_from(Job).where(col(Job.state).in_(ACTIVE), Job.due_at <= now)
            upcoming = select(Job).where(or_(col(Job.state).in_((DUE, FAILED)), col(Job.state) == CLAIMED))
            if kinds:
                ready = ready.where(col(Job.kind).in_(kinds))
                upcoming = upcoming.where(col(Job.kind).in_(kinds))
            due_now = int(session.exec(ready).one())
            nxt = list(session.exec(upcoming.order_by(col(Job.due_at)).limit(next_limit)).all())
        return QueueStats(counts, due_now, nxt)
