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
from typing import Any, Iterable, Iterator, Sequence

from psycopg.types.json import Json
from sqlalchemy import JSON, Column, Connection, Engine, Index, Text, and_, func, or_, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, select

from approvals.clock import Clock, as_utc, utcnow
from approvals.columns import timestamp_field
from approvals.db import transaction

DUE, CLAIMED, DONE, FAILED, DEAD = "due", "claimed", "done", "failed", "dead"
STATES = (DUE, CLAIMED, DONE, FAILED, DEAD)
# States a claim may take: due work, work waiting for its retry, and claims whose lease ran out.
ACTIVE = (DUE, FAILED, CLAIMED)
_ACTIVE_SQL = "state IN ('due', 'failed', 'claimed')"
_PIPELINED: dict[tuple[str, ...], str] = {}  # finish statements by the columns they set
# claim() on the batch connection (PostgreSQL): the ORM claim's statement, written once
_CLAIM_SQL = f"""
UPDATE job SET state = 'claimed', claimed_by = %(by)s, lease_until = %(lease_until)s, due_at = %(lease_until)s,
       attempts = attempts + 1, updated_at = %(now)s
WHERE id IN (SELECT id FROM job WHERE kind = ANY(%(kinds)s) AND {_ACTIVE_SQL} AND due_at <= %(now)s
             ORDER BY due_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING id, kind, dedupe_key, payload, attempts, sent_ref
"""


class Job(SQLModel, table=True):
    """One piece of due work. ``due_at`` is when it next needs attention (see the module docstring)."""

    __tablename__ = "job"
    __table_args__ = (
        # Only live rows are indexed, so a claim costs what is due, not what has piled up or is done.
        Index("ix_job_active_due", "kind", "due_at",
              postgresql_where=text(_ACTIVE_SQL), sqlite_where=text(_ACTIVE_SQL)),
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


def enqueue(session: Session, *, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None,
            now: datetime | None = None) -> bool:
    """Add a row in the caller's transaction unless one with ``key`` exists. True if added."""
    now = now or utcnow()
    values = dict(kind=kind, dedupe_key=key, payload=payload or {}, due_at=as_utc(due_at), state=DUE,
                  attempts=0, created_at=now, updated_at=now)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Job).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(Job.id)
    return session.execute(stmt).first() is not None


def reschedule(session: Session, *, key: str, due_at: datetime, payload: dict[str, Any] | None = None,
               now: datetime | None = None) -> bool:
    """Move a row that is not claimed and not finished to a new due time. True if moved."""
    now = now or utcnow()
    values: dict[str, Any] = {"due_at": as_utc(due_at), "updated_at": now}
    if payload is not None:
        values["payload"] = payload
    result = session.execute(update(Job).where(Job.dedupe_key == key, Job.state.in_((DUE, FAILED)))  # type: ignore[attr-defined]
                             .values(**values))
    return bool(result.rowcount)


def cancel(session: Session, *, keys: Iterable[str], reason: str = "cancelled",
           now: datetime | None = None) -> int:
    """Finish rows that are no longer needed (the step was decided) without running them."""
    keys = list(keys)
    if not keys:
        return 0
    now = now or utcnow()
    result = session.execute(update(Job).where(Job.dedupe_key.in_(keys), Job.state.in_((DUE, FAILED)))  # type: ignore[attr-defined]
                             .values(state=DONE, last_error=reason, updated_at=now))
    return int(result.rowcount or 0)


def get(session: Session, key: str) -> Job | None:
    return session.exec(select(Job).where(Job.dedupe_key == key)).first()


def backoff(attempts: int, *, base: timedelta = timedelta(seconds=30),
            cap: timedelta = timedelta(hours=1)) -> timedelta:
    """30 s, 1 min, 2 min, ... doubling per attempt, at most an hour."""
    return min(cap, base * (2 ** max(0, attempts - 1)))


class JobQueue:
    """Claims and finishes rows for one worker. Safe with any number of processes on one database."""

    def __init__(self, engine: Engine, *, clock: Clock = utcnow, worker_id: str | None = None,
                 lease: timedelta = timedelta(minutes=5), max_attempts: int = 8) -> None:
        self.engine = engine
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self.lease = lease
        self.max_attempts = max_attempts
        self._postgres = engine.dialect.name == "postgresql"
        self._conn: Connection | None = None

    def claim(self, kinds: str | Sequence[str], *, limit: int = 100) -> list[ClaimedJob]:
        """Take up to ``limit`` rows of ``kinds`` whose time has come, oldest first, in one short transaction."""
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        now = self.clock()
        lease_until = now + self.lease
        if self._conn is not None and self._postgres:
            return self._claim_held(kinds, limit, now, lease_until)
        ready = and_(Job.kind.in_(kinds), Job.state.in_(ACTIVE), Job.due_at <= now)  # type: ignore[attr-defined]
        pick = select(Job.id).where(ready).order_by(Job.due_at, Job.id).limit(limit)  # type: ignore[arg-type]
        if self.engine.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
            guard = Job.id.in_(pick.scalar_subquery())  # type: ignore[union-attr]
        else:
            # compare-and-set: the row must still be ready when the UPDATE runs
            guard = and_(Job.id.in_(pick.scalar_subquery()), ready)  # type: ignore[union-attr]
        stmt = (update(Job).where(guard)
                .values(state=CLAIMED, claimed_by=self.worker_id, lease_until=lease_until, due_at=lease_until,
                        attempts=Job.attempts + 1, updated_at=now)
                .returning(Job.id, Job.kind, Job.dedupe_key, Job.payload, Job.attempts, Job.sent_ref)
                .execution_options(synchronize_session=False))
        with transaction(self.engine) as session:
            rows = session.execute(stmt).all()
        jobs = [ClaimedJob(r.id, r.kind, r.dedupe_key, r.payload or {}, r.attempts, self.worker_id, lease_until,
                           r.sent_ref) for r in rows]
        return sorted(jobs, key=lambda j: j.id)

    def _claim_held(self, kinds: list[str], limit: int, now: datetime,
                         lease_until: datetime) -> list[ClaimedJob]:
        """The same claim as plain SQL, written once, on the connection ``batch`` holds: no pool checkout,
        no statement building, and one round trip (the connection is in autocommit, so the UPDATE is
        its own transaction: no BEGIN and COMMIT to wait for).

        A claim is a lease, not a result: if the database lost this commit the rows would simply be
        due again, so committing it without waiting for the WAL flush (``batch``) changes nothing
        that a crash can repeat.
        """
        assert self._conn is not None
        cur = self._conn.connection.driver_connection.cursor()
        cur.execute(_CLAIM_SQL, {"kinds": kinds, "now": now, "lease_until": lease_until, "limit": limit,
                                 "by": self.worker_id})
        rows = cur.fetchall()
        return sorted((ClaimedJob(r[0], r[1], r[2], r[3] or {}, r[4], self.worker_id, lease_until, r[5])
                       for r in rows), key=lambda j: j.id)

    @property
    def held_connection(self) -> Any | None:
        """The psycopg connection ``batch`` holds on PostgreSQL, for a caller that sends its own
        fenced writes on it (the ERP outbox's recording); None outside ``batch`` and on SQLite."""
        if self._conn is None or not self._postgres:
            return None
        return self._conn.connection.driver_connection

    def _mine(self, job: ClaimedJob) -> Any:
        return and_(Job.id == job.id, Job.state == CLAIMED, Job.claimed_by == job.worker_id,
                    Job.attempts == job.attempts)

    def _set(self, job: ClaimedJob, session: Session | None, **values: Any) -> bool:
        values["updated_at"] = self.clock()
        if session is None and self._conn is not None and self._postgres:
            return self._set_held(job, values)
        stmt = update(Job).where(self._mine(job)).values(**values).execution_options(synchronize_session=False)
        if session is not None:
            return bool(session.execute(stmt).rowcount)
        if self._conn is not None:
            try:
                done = bool(self._conn.execute(stmt).rowcount)
                self._conn.commit()
            except BaseException:
                self._conn.rollback()
                raise
            return done
        with self.batch():
            return self._set(job, None, **values)

    def _set_held(self, job: ClaimedJob, values: dict[str, Any]) -> bool:
        """The same fenced UPDATE, committed, in one round trip (PostgreSQL, inside ``batch``).

        A tick finishes its rows one by one, and each finish was a few hundred microseconds of statement
        building plus waits on the server for BEGIN, UPDATE and COMMIT. Here the SQL is plain text,
        built once per set of columns, and the held connection is in autocommit, so the UPDATE is its
        own transaction; the row is still committed before the caller sends the next message, so what
        a crash can repeat is unchanged: at most the one message whose answer was not yet recorded.
        """
        assert self._conn is not None
        cols = tuple(sorted(values))
        sql = _PIPELINED.get(cols)
        if sql is None:
            sets = ", ".join(f"{c} = %({c})s" for c in cols)
            sql = _PIPELINED[cols] = (f"UPDATE job SET {sets} WHERE id = %(_id)s AND state = 'claimed' "
                                      f"AND claimed_by = %(_by)s AND attempts = %(_attempts)s")
        params = {c: (Json(v) if c == "payload" else v) for c, v in values.items()}
        params.update(_id=job.id, _by=job.worker_id, _attempts=job.attempts)
        cur = self._conn.connection.driver_connection.cursor()
        cur.execute(sql, params)
        return bool(cur.rowcount)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Finish many rows on one connection (a tick's batch); each row still commits on its own.

        On PostgreSQL the connection is in autocommit (each claim and finish is one statement, its own
        transaction, one round trip; a caller that needs several statements in one transaction, such
        as the ERP outbox's record, sends its own BEGIN), and these short commits do not wait for the
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

    def retry(self, job: ClaimedJob, error: str, *, delay: timedelta | None = None,
              session: Session | None = None) -> str | None:
        """Try again after a backoff; after ``max_attempts`` claims the row is dead. Returns the new state."""
        if job.attempts >= self.max_attempts:
            return DEAD if self._set(job, session, state=DEAD, lease_until=None, last_error=error[:2000]) else None
        when = self.clock() + (delay if delay is not None else backoff(job.attempts))
        ok = self._set(job, session, state=FAILED, due_at=when, lease_until=None, last_error=error[:2000])
        return FAILED if ok else None

    def fail(self, job: ClaimedJob, error: str, *, session: Session | None = None) -> bool:
        """Give up on the row now (it cannot succeed); it stays visible as dead."""
        return self._set(job, session, state=DEAD, lease_until=None, last_error=error[:2000])

    def release(self, job: ClaimedJob, *, due_at: datetime | None = None, payload: dict[str, Any] | None = None,
                session: Session | None = None) -> bool:
        """Hand the row back, due again at ``due_at`` (default now): work that waits (quiet hours) or
        recurs (the next reminder of a chain, with its new ``payload``). Not a failure: the attempt
        count starts again, and ``sent_ref`` is cleared because the next run sends a new message."""
        values: dict[str, Any] = {"state": DUE, "due_at": as_utc(due_at) or self.clock(), "lease_until": None,
                                  "claimed_by": None, "attempts": 0, "last_error": None}
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
                q = q.where(Job.kind.in_(kinds))  # type: ignore[attr-defined]
            counts = {s: 0 for s in STATES}
            counts.update({state: n for state, n in session.exec(q).all()})
            ready = select(func.count()).select_from(Job).where(Job.state.in_(ACTIVE), Job.due_at <= now)  # type: ignore[attr-defined]
            upcoming = select(Job).where(or_(Job.state.in_((DUE, FAILED)), Job.state == CLAIMED))  # type: ignore[attr-defined]
            if kinds:
                ready = ready.where(Job.kind.in_(kinds))  # type: ignore[attr-defined]
                upcoming = upcoming.where(Job.kind.in_(kinds))  # type: ignore[attr-defined]
            due_now = int(session.exec(ready).one())
            nxt = list(session.exec(upcoming.order_by(Job.due_at).limit(next_limit)).all())  # type: ignore[arg-type]
        return QueueStats(counts, due_now, nxt)
