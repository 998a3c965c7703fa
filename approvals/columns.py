"""Column helpers shared by every module that defines tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime
from sqlmodel import Field


def timestamp_field(**kw: Any) -> Any:
    """A timestamp column that keeps its time zone (TIMESTAMP WITH TIME ZONE on PostgreSQL).

    `kw` goes to sqlmodel's Field: a default or default_factory, nullable, index."""
    return Field(sa_type=DateTime(timezone=True), **kw)
