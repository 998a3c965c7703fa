"""Engines and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, event, pool, text
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine

REPO_ROOT = Path(__file__).resolve().parents[1]
# The PostgreSQL advisory lock every process takes around its start-up writes (the migrations first), so replicas
# started together take turns on one database. Any fixed 64-bit number works; this one spells "procbot1".
STARTUP_LOCK_KEY = 0x70726F63626F7431

log = logging.getLogger("procurebot")


def normalize_url(url: str) -> str:
    """Accept the common spellings and use psycopg 3 for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, echo: bool = False, pool_size: int = 5) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_serialize_writers(engine)
        return engine
    engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=10)
    _ping_when_idle(engine)
    return engine


# A pooled PostgreSQL connection back in the pool for less than this is handed out again without a ping: a
# connection in steady use is alive, and pinging it on every checkout cost each action a round trip of three.
# One idle longer, or any returned before a connection was found dead, is pinged first and replaced if the
# server has gone (a restart, an idle timeout). A connection the server drops within this window is found on
# first use: an action retries on a new connection (approvals.workflow.base, `_act`), and the failure makes
# every other pooled connection be pinged before its next use.
IDLE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    # monotonic, not the injected clock: this measures the process's own waits, never a business time
    dead_since = [float("-inf")]

    def _lost(*_args: Any) -> None:
        dead_since[0] = time.monotonic()

    @event.listens_for(engine.pool, "connect")
    def _connected(_dbapi: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.pool, "checkin")
    def _returned(dbapi: Any, record: Any) -> None:
        if dbapi is None or getattr(dbapi, "closed", False) or getattr(dbapi, "broken", False):
            _lost()
            record.info.pop("returned_at", None)
        else:
            record.info["returned_at"] = time.monotonic()

    event.listen(engine.pool, "invalidate", _lost)
    event.listen(engine.pool, "soft_invalidate", _lost)

    @event.listens_for(engine.pool, "checkout")
    def _checkout(dbapi: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is not None and returned > dead_since[0] and time.monotonic() - returned < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi)
        except Exception as exc:  # noqa: BLE001 - any failure to answer means: replace this connection
            raise DisconnectionError("the pooled connection did not answer a ping; connecting again") from exc


def _sqlite_serialize_writers(engine: Engine) -> None:
    # pysqlite's deferred BEGIN lets two writers both read and then deadlock on upgrade;
    # BEGIN IMMEDIATE takes the write lock up front, which is what our row locks mean on SQLite.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error, always close."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def startup_lock(url: str) -> Iterator[Connection | None]:
    """Take turns with every other process starting on this database: on PostgreSQL, a session advisory lock held
    on one connection (yielded, for the migrations to run on) until the block ends. SQLite yields None: one
    process serves a SQLite file, and BEGIN IMMEDIATE already serializes its writers."""
    url = normalize_url(url)
    if not url.startswith("postgresql"):
        yield None
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": STARTUP_LOCK_KEY}).scalar():
                log.info(
                    "another process is migrating or starting on this database; waiting for it to finish "
                    "(PostgreSQL advisory lock %s)",
                    STARTUP_LOCK_KEY,
                )
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK_KEY})
            conn.commit()  # the lock is the session's, not the transaction's: it outlives this commit
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def upgrade(url: str, connection: Connection | None = None) -> None:
    """Bring the database schema to the latest migration (alembic upgrade head).

    On PostgreSQL the migrations run under the start-up advisory lock (see `startup_lock`), on `connection` when
    the caller already holds it, so processes starting together on an empty database do not race to create the
    same tables: the first migrates, the others wait and then find the schema at head."""
    from alembic.config import Config

    from alembic import command

    if connection is None and normalize_url(url).startswith("postgresql"):
        with startup_lock(url) as locked:
            upgrade(url, locked)
        return
    cfg = Config()
    cfg.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection  # alembic/env.py migrates on it
    # "heads": features may add independent migration branches off the same base
    command.upgrade(cfg, "heads")
    if connection is not None and connection.in_transaction():
        connection.commit()
