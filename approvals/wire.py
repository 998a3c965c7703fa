"""How statements reach the database: the one place where SQLite and PostgreSQL differ.

Every read and write of an action is a SQLAlchemy Core statement, defined once beside what owns
the table (the plan's flush, the audit chain, the job queue, the decisions' reads). A wire carries
them inside one transaction:

* `CoreWire` executes each through SQLAlchemy on a Connection, one after another (SQLite, and
  PostgreSQL when asked to, e.g. to compare the two);
* `PgWire` sends them on the psycopg connection underneath, each compiled once per process to SQL
  with PostgreSQL's own $n placeholders (psycopg's raw cursor: nothing to rewrite per execution).
  Inside a psycopg pipeline they travel together and the wire waits only when a result is read, so
  an action costs a round trip per thing it must know before going on, not one per statement; and
  writes sent together become one statement (`send_together`).

`send` returns a `Sent`, whose rows are read with `all`, `first` or `scalar` (on a pipeline, that
is when the wire waits). A statement's rows are plain tuples in its column order on both wires.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import psycopg
from sqlalchemy import JSON, Connection, Engine, PoolProxiedConnection
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_PG = pg_psycopg.dialect(paramstyle="numeric_dollar")
_PLACEHOLDER = re.compile(r"\$(\d+)")


class _Compiled:
    """A statement as PostgreSQL SQL ($1, $2 ...), and how to fill its parameters from a row of values."""

    __slots__ = ("stmt", "sql", "names", "json", "constants")

    def __init__(self, stmt: ClauseElement) -> None:
        compiled = stmt.compile(dialect=_PG)
        assert isinstance(compiled, SQLCompiler), "a wire carries DML and SELECT statements, never DDL"
        self.stmt, self.sql = stmt, str(compiled)  # the statement is kept, so its id stays its own
        self.names = tuple(compiled.positiontup or ())  # the name of $1, $2 ...
        json_names: set[str] = set()
        self.constants: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():
            if isinstance(bind.type, JSON):
                json_names.add(name)
            if not bind.required:
                self.constants[name] = bind.effective_value
        self.json = tuple(i for i, name in enumerate(self.names) if name in json_names)

    def args(self, params: dict[str, Any] | None) -> list[Any]:
        values = {**self.constants, **params} if self.constants and params else (params or self.constants)
        args = [values[name] for name in self.names]
        for i in self.json:
            # as JSON text: the SQL casts it (::JSON), and psycopg sends text as it is; None is JSON's null, as
            # SQLAlchemy writes it
            args[i] = json.dumps(args[i])
        return args

    def shifted(self, offset: int) -> str:
        """The SQL with its placeholders numbered from offset + 1 (a part of a larger statement)."""
        return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", self.sql) if offset else self.sql


_COMPILED: dict[int, _Compiled] = {}
_TOGETHER: dict[tuple[int, ...], str] = {}  # statements sent as one (PgWire.send_together), by their ids


def _compiled(stmt: ClauseElement) -> _Compiled:
    entry = _COMPILED.get(id(stmt))
    if entry is None:
        entry = _COMPILED[id(stmt)] = _Compiled(stmt)
    return entry


class Sent:
    """A statement on its way: its rows (as tuples) once read, and how many rows it changed."""

    __slots__ = ("_rows", "_count")

    def __init__(self, rows: list[Any] | None, rowcount: int) -> None:
        self._rows, self._count = rows, rowcount

    def all(self) -> list[Any]:
        return self._rows or []

    def first(self) -> Any | None:
        rows = self.all()
        return rows[0] if rows else None

    def scalar(self) -> Any:
        row = self.first()
        return row[0] if row is not None else None

    @property
    def rowcount(self) -> int:
        return self._count


class _PgSent(Sent):
    __slots__ = ("_cursor", "_wire")

    def __init__(self, cursor: psycopg.Cursor[Any], wire: "PgWire") -> None:
        self._cursor, self._wire = cursor, wire

    def all(self) -> list[Any]:
        try:
            return self._cursor.fetchall()  # on a pipeline: waits for this statement's result
        except psycopg.Error as exc:
            raise _translated(exc) from exc

    @property
    def rowcount(self) -> int:
        try:
            self._wire.sync()
        except psycopg.Error as exc:
            raise _translated(exc) from exc
        return self._cursor.rowcount


class _Gathered:
    """The answers of several statements sent as one (PgWire.send_each), each row tagged with its statement."""

    def __init__(self, sent: Sent, count: int) -> None:
        self.sent = sent
        self.rows: list[list[Any]] | None = None
        self.sents: list[Sent] = [_Answer(self, i) for i in range(count)]

    def get(self, i: int) -> list[Any]:
        if self.rows is None:
            self.rows = [[] for _ in self.sents]
            for row in self.sent.all():
                self.rows[row[0]].append(row[1:])
        return self.rows[i]


class _Answer(Sent):
    __slots__ = ("_answers", "_i")

    def __init__(self, answers: _Gathered, i: int) -> None:
        self._answers, self._i = answers, i

    def all(self) -> list[Any]:
        return self._answers.get(self._i)

    @property
    def rowcount(self) -> int:
        return len(self.all())


class CoreWire:
    """Statements executed through SQLAlchemy on `conn`, one by one, in the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def send(self, stmt: Any, params: dict[str, Any] | None = None) -> Sent:
        result = self.conn.execute(stmt, params or {})
        rows = [tuple(r) for r in result.all()] if result.returns_rows else None
        return Sent(rows, result.rowcount)

    def send_each(self, stmt: Any, rows: Sequence[dict[str, Any]]) -> list[Sent]:
        """`stmt` once per row, each answer apart."""
        return [self.send(stmt, row) for row in rows]

    def send_together(
        self, writes: Sequence[tuple[Any, dict[str, Any]]], last: Any = None, params: dict[str, Any] | None = None
    ) -> Sent | None:
        """`writes` (statements that return nothing), then `last` with `params`, whose rows come back."""
        for stmt, row in writes:
            self.conn.execute(stmt, row)
        return self.send(last, params) if last is not None else None

    def commit(self) -> None:
        self.conn.commit()


class PgWire:
    """Statements sent on a psycopg connection; within `pipeline` they are queued until a result is read."""

    dialect = "postgresql"

    def __init__(self, conn: psycopg.Connection[Any], pipeline: psycopg.Pipeline | None = None) -> None:
        self.conn = conn
        self.pipeline = pipeline
        self.pipelined = pipeline is not None

    def _execute(self, sql: str, args: list[Any]) -> Sent:
        cursor = psycopg.RawCursor(self.conn)
        try:
            cursor.execute(sql, args)
        except psycopg.Error as exc:
            raise _translated(exc) from exc
        return _PgSent(cursor, self)

    def send(self, stmt: Any, params: dict[str, Any] | None = None) -> Sent:
        compiled = _compiled(stmt)
        return self._execute(compiled.sql, compiled.args(params))

    def send_each(self, stmt: Any, rows: Sequence[dict[str, Any]]) -> list[Sent]:
        """`stmt` once per row, each answer apart, as one statement: each a WITH query, their rows gathered in
        order (so row locks are taken, and new rows numbered, in the order of `rows`)."""
        if len(rows) <= 1:
            return [self.send(stmt, row) for row in rows]
        compiled = _compiled(stmt)
        shape = (-1, id(compiled), len(rows))
        sql = _TOGETHER.get(shape)
        if sql is None:
            size = len(compiled.names)
            sql = _TOGETHER[shape] = (
                "WITH "
                + ", ".join(f"q{k} AS ({compiled.shifted(k * size)})" for k in range(len(rows)))
                + " "
                + " UNION ALL ".join(f"SELECT {k} AS q, q{k}.* FROM q{k}" for k in range(len(rows)))
            )
        args: list[Any] = []
        for row in rows:
            args.extend(compiled.args(row))
        return _Gathered(self._execute(sql, args), len(rows)).sents

    def send_together(
        self, writes: Sequence[tuple[Any, dict[str, Any]]], last: Any = None, params: dict[str, Any] | None = None
    ) -> Sent | None:
        """`writes` and then `last` as one statement: one to parse, plan and answer instead of one per write.

        The writes become data-modifying WITH queries, which all run once, at the same snapshot (a plan never
        writes one row twice). PostgreSQL runs a statement's main part first, then its WITH queries from the
        last to the first; so the main part is `last` (which adds no rows) or else the first write, and the
        others are listed backwards: new rows get their ids in the order written."""
        items: list[tuple[_Compiled, dict[str, Any] | None]] = [(_compiled(stmt), row) for stmt, row in writes]
        if last is not None:
            items.append((_compiled(last), params))
        if not items:
            return None
        main = len(items) - 1 if last is not None else 0
        order = [*(i for i in range(len(items) - 1, -1, -1) if i != main), main]  # WITH queries, then the main part
        args: list[Any] = []
        for i in order:
            args.extend(items[i][0].args(items[i][1]))
        shape = (main, *(id(compiled) for compiled, _ in items))
        sql = _TOGETHER.get(shape)
        if sql is None:
            parts, offset = [], 0
            for i in order:
                parts.append(items[i][0].shifted(offset))
                offset += len(items[i][0].names)
            *ctes, body = parts
            sql = ("WITH " + ", ".join(f"w{n} AS ({cte})" for n, cte in enumerate(ctes)) + " " + body) if ctes else body
            _TOGETHER[shape] = sql
        return self._execute(sql, args)

    def sync(self) -> None:
        if self.pipeline is not None:
            self.pipeline.sync()

    def commit(self) -> None:
        if self.pipeline is not None:
            # Queued, not synced: the COMMIT travels with the writes still queued and the Sync that ends the
            # pipeline (`begin`), whose answer says whether it held. psycopg's own commit() would sync here, and
            # leaving the pipeline would then cost one more round trip for a Sync with nothing before it.
            self._execute("COMMIT", [])
            return
        with self.errors():
            self.conn.commit()

    @contextmanager
    def errors(self) -> Iterator[None]:
        """psycopg's errors as SQLAlchemy's (IntegrityError, OperationalError ...), as the other wire raises them."""
        try:
            yield
        except psycopg.Error as exc:
            raise _translated(exc) from exc


def _translated(exc: psycopg.Error) -> StatementError:
    return DBAPIError.instance(None, None, exc, psycopg.Error)


Wire = CoreWire | PgWire


class ConnectionLost(Exception):
    """The connection was found dead on a transaction's first round trip, which only locks and reads: nothing it
    sent can have lasted, so the caller may do the whole transaction again on a new connection."""


@contextmanager
def lost_on_first_trip(wire: Wire, *, enabled: bool = True) -> Iterator[None]:
    """Around a transaction's first round trip: a dead connection (the server restarted, or dropped it while it
    sat in the pool) becomes ConnectionLost; any other error, or every error when not `enabled`, passes."""
    try:
        yield
    except OperationalError as exc:
        if enabled and _dead(wire, exc):
            raise ConnectionLost() from exc
        raise


def _dead(wire: Wire, exc: OperationalError) -> bool:
    if isinstance(wire, PgWire):
        return bool(wire.conn.broken or wire.conn.closed)
    return bool(exc.connection_invalidated)  # SQLAlchemy's own judgement, which also invalidates the pool


def driver(pooled: PoolProxiedConnection) -> psycopg.Connection[Any]:
    """The psycopg connection under a pooled PostgreSQL one (approvals.db makes every PostgreSQL engine psycopg 3)."""
    conn = pooled.driver_connection
    assert isinstance(conn, psycopg.Connection), f"a PostgreSQL connection through psycopg 3, not {type(conn)}"
    return conn


@contextmanager
def begin(engine: Engine, *, core: bool = False) -> Iterator[Wire]:
    """A transaction on its own connection, carried by the wire for this database (`core`: SQLAlchemy's even on
    PostgreSQL). The block commits with `wire.commit()`; leaving it otherwise rolls back."""
    if engine.dialect.name != "postgresql" or core:
        with engine.connect() as conn:
            conn.begin()  # BEGIN IMMEDIATE on SQLite (approvals.db)
            yield CoreWire(conn)
        return
    fairy = engine.raw_connection()
    pg = driver(fairy)
    try:
        with PgWire(pg).errors():
            with pg.pipeline() as pipeline:
                yield PgWire(pg, pipeline)
    except BaseException:
        if not pg.closed:
            pg.rollback()
        raise
    finally:
        fairy.close()
