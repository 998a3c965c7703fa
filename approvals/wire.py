"""How statements reach the database: the one place where SQLite and PostgreSQL differ.

Every read and write of an action is a SQLAlchemy Core statement, defined once beside what owns
the table (the plan's flush, the audit chain, the job queue, the decisions' reads). A wire carries
them inside one transaction:

* `CoreWire` executes each through SQLAlchemy on a Connection, one after another (SQLite, and
  PostgreSQL when asked to, e.g. to compare the two);
* `PgWire` sends them on the psycopg connection underneath, each compiled to SQL once per process.
  Inside a psycopg pipeline they travel together and the wire waits only when a result is read, so
  an action costs a round trip per thing it must know before going on, not one per statement.

`send` returns a `Sent`, whose rows are read with `all`, `first` or `scalar` (on a pipeline, that
is when the wire waits). A statement's rows are plain tuples in its column order on both wires.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import psycopg
from psycopg.types.json import Json
from sqlalchemy import JSON, Connection, Engine
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

_PG = pg_psycopg.dialect(paramstyle="format")


class _Compiled:
    """A statement as PostgreSQL SQL with positional parameters, and how to fill them from a row of values."""

    __slots__ = ("stmt", "sql", "names", "json", "constants")

    def __init__(self, stmt: ClauseElement) -> None:
        compiled = stmt.compile(dialect=_PG)
        self.stmt, self.sql = stmt, str(compiled)  # the statement is kept so its id stays its own
        self.names = tuple(compiled.positiontup or ())
        json_names, self.constants = set(), {}
        for bind, name in compiled.bind_names.items():
            if isinstance(bind.type, JSON):
                json_names.add(name)
            if not bind.required:
                self.constants[name] = bind.effective_value
        self.json = frozenset(i for i, name in enumerate(self.names) if name in json_names)

    def args(self, params: dict[str, Any] | None) -> list[Any]:
        values = {**self.constants, **params} if self.constants and params else (params or self.constants)
        args = [values[name] for name in self.names]
        for i in self.json:
            args[i] = Json(args[i])
        return args


_COMPILED: dict[int, _Compiled] = {}


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
        with self._wire.errors():
            return self._cursor.fetchall()  # on a pipeline: waits for this statement's result

    @property
    def rowcount(self) -> int:
        with self._wire.errors():
            self._wire.sync()
        return self._cursor.rowcount


class CoreWire:
    """Statements executed through SQLAlchemy on `conn`, one by one, in the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def send(self, stmt: Any, params: dict[str, Any] | None = None) -> Sent:
        result = self.conn.execute(stmt, params or {})
        rows = [tuple(r) for r in result.all()] if result.returns_rows else None
        return Sent(rows, result.rowcount)

    def send_many(self, stmt: Any, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(stmt, list(rows))

    def send_together(self, writes: Sequence[tuple[Any, dict[str, Any]]], last: Any = None,
                      params: dict[str, Any] | None = None) -> Sent | None:
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

    def send(self, stmt: Any, params: dict[str, Any] | None = None) -> Sent:
        compiled = _compiled(stmt)
        cursor = self.conn.cursor()
        try:
            cursor.execute(compiled.sql, compiled.args(params))
        except psycopg.Error as exc:
            raise _translated(exc) from exc
        return _PgSent(cursor, self)

    def send_many(self, stmt: Any, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            compiled = _compiled(stmt)
            try:
                self.conn.cursor().executemany(compiled.sql, [compiled.args(row) for row in rows])
            except psycopg.Error as exc:
                raise _translated(exc) from exc

    def send_together(self, writes: Sequence[tuple[Any, dict[str, Any]]], last: Any = None,
                      params: dict[str, Any] | None = None) -> Sent | None:
        """`writes` and then `last` as one statement: one to parse, plan and answer instead of one per write.

        The writes become data-modifying WITH queries, which all run once, at the same snapshot (a plan never
        writes one row twice). PostgreSQL runs the main statement first, then the WITH queries from the last to
        the first, so they are listed backwards and new rows get their ids in the order written."""
        if last is None:
            if not writes:
                return None
            (last, params), writes = writes[0], writes[1:]
        main = _compiled(last)
        if not writes:
            sql, args = main.sql, main.args(params)
        else:
            parts, args = [], []
            for i in range(len(writes) - 1, -1, -1):
                stmt, row = writes[i]
                compiled = _compiled(stmt)
                parts.append(f"w{i} AS ({compiled.sql})")
                args.extend(compiled.args(row))
            args.extend(main.args(params))
            sql = f"WITH {', '.join(parts)} {main.sql}"
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql, args)
        except psycopg.Error as exc:
            raise _translated(exc) from exc
        return _PgSent(cursor, self)

    def sync(self) -> None:
        if self.pipeline is not None:
            self.pipeline.sync()

    def commit(self) -> None:
        with self.errors():
            self.conn.commit()  # in a pipeline: the COMMIT travels with whatever is still queued

    @contextmanager
    def errors(self) -> Iterator[None]:
        """psycopg's errors as SQLAlchemy's (IntegrityError, OperationalError ...), as the other wire raises them."""
        try:
            yield
        except psycopg.Error as exc:
            raise _translated(exc) from exc


def _translated(exc: psycopg.Error) -> DBAPIError:
    return DBAPIError.instance(None, None, exc, psycopg.Error)


Wire = CoreWire | PgWire


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
    conn = fairy.driver_connection
    try:
        with PgWire(conn).errors():
            with conn.pipeline() as pipeline:
                yield PgWire(conn, pipeline)
    except BaseException:
        if not conn.closed:
            conn.rollback()
        raise
    finally:
        fairy.close()
