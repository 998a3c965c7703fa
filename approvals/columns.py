"""Column helpers shared by every module that defines tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime, Table
from sqlmodel import Field, SQLModel


def timestamp_field(**kw: Any) -> Any:
    """A timestamp column that keeps its time zone (TIMESTAMP WITH TIME ZONE on PostgreSQL).

    `kw` goes to sqlmodel's Field: a default or default_factory, nullable, index."""
    return Field(sa_type=DateTime(timezone=True), **kw)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model, for statements written in SQLAlchemy Core.

    SQLAlchemy sets `__table__` on the class when it maps it; SQLModel does not declare it, so the type
    checker is told here, once, what it is."""
    table = getattr(model, "__table__", None)
    assert isinstance(table, Table), f"{model.__name__} is not a table model (table=True)"
    return table
