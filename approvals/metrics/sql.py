"""Portable SQL pieces the metrics share: elapsed seconds, the month of a timestamp, percentiles.

Each compiles to its own SQL on PostgreSQL and on SQLite so that both give the same numbers:

* ``elapsed_seconds(a, b)``: whole seconds from ``b`` to ``a`` (rounded), as an integer.
* ``month_of(ts)``: ``'YYYY-MM'`` of a UTC timestamp.
* ``percentiles(base, keys, value)``: count, median and p90 per group, by the nearest-rank rule
  (the smallest value whose rank is at least ``p * n``). PostgreSQL's ``percentile_disc`` is that
  rule; SQLite, which has no ordered-set aggregates, ranks with window functions and compares
  ``rank >= p * n`` in the same floating-point arithmetic, so ties and odd counts agree exactly.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import BigInteger, Float, and_, case, cast, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.sql.selectable import Select, Subquery
from sqlalchemy.types import String

QUANTILES = (0.5, 0.9)


class elapsed_seconds(FunctionElement[int]):  # noqa: N801 - reads like the SQL function it is
    type = BigInteger()
    inherit_cache = True
    name = "elapsed_seconds"


@compiles(elapsed_seconds, "postgresql")
def _elapsed_pg(element: elapsed_seconds, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"CAST(round(extract(epoch FROM ({compiler.process(later, **kw)} - "
        f"{compiler.process(earlier, **kw)}))) AS BIGINT)"
    )


@compiles(elapsed_seconds, "sqlite")
def _elapsed_sqlite(element: elapsed_seconds, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"CAST(round((julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)})) * 86400.0) AS INTEGER)"
    )


class month_of(FunctionElement[str]):  # noqa: N801
    type = String()
    inherit_cache = True
    name = "month_of"


@compiles(month_of, "postgresql")
def _month_pg(element: month_of, compiler: Any, **kw: Any) -> str:
    (ts,) = list(element.clauses)
    return f"to_char(({compiler.process(ts, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM')"


@compiles(month_of, "sqlite")
def _month_sqlite(element: month_of, compiler: Any, **kw: Any) -> str:
    (ts,) = list(element.clauses)
    return f"strftime('%Y-%m', {compiler.process(ts, **kw)})"


def percentiles(base: Subquery, keys: Sequence[str], value: str, dialect: str) -> Select[Any]:
    """``keys..., n, p50, p90`` per group of ``base`` (a subquery with the key and value columns)."""
    group = [base.c[k] for k in keys]
    v = base.c[value]
    if dialect == "postgresql":
        cols = [func.percentile_disc(q).within_group(v).label(f"p{int(q * 100)}") for q in QUANTILES]
        return select(*group, func.count().label("n"), *cols).group_by(*group)
    rank = func.row_number().over(partition_by=group or None, order_by=v).label("rn")
    size = func.count().over(partition_by=group or None).label("cnt")
    ranked = select(*group, v.label("v"), rank, size).subquery("ranked")
    rgroup = [ranked.c[k] for k in keys]
    cols = [
        func.min(case((cast(ranked.c.rn, Float) >= literal(q, Float) * ranked.c.cnt, ranked.c.v))).label(
            f"p{int(q * 100)}"
        )
        for q in QUANTILES
    ]
    return select(*rgroup, func.max(ranked.c.cnt).label("n"), *cols).group_by(*rgroup)


def between(column: ColumnElement[Any], start: Any, end: Any) -> ColumnElement[bool]:
    """``start <= column < end``: windows are half-open, so consecutive ones never count a row twice."""
    return and_(column >= start, column < end)


def as_int(value: Any) -> int:
    return int(value or 0)


__all__ = ["elapsed_seconds", "month_of", "percentiles", "between", "as_int"]
