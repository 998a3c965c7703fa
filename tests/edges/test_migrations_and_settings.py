"""Migrations match the models on both databases; settings fail fast in production."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError
from sqlmodel import SQLModel

import approvals.models  # noqa: F401
from bot.settings import Settings


def test_migrated_schema_matches_the_models(engine):
    """After `db upgrade`, the database has exactly the tables and columns the code expects."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    # SQLite reports JSON and numeric types loosely; only structural differences matter here
    structural = [d for d in diff if not (isinstance(d, list) and d and d[0][0] == "modify_type")]
    assert structural == []


def test_upgrade_is_idempotent(db_url):
    """Running the migrations again on an up-to-date database changes nothing and does not fail."""
    from approvals.db import upgrade

    upgrade(db_url)
    upgrade(db_url)


def test_production_refuses_sqlite_and_weak_admin_token():
    """Production mode with the laptop database or a short admin token refuses to start, saying what to fix."""
    with pytest.raises(ValidationError, match="PostgreSQL in production"):
        Settings(env="production", database_url="sqlite:///x.db", _env_file=None)
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(env="production", database_url="postgresql://db/p", admin_token="short", _env_file=None)
    strong = "pb_Xq7vN2kR9wLm4TzH8cYp3FjD6sGb1QeA5uWn0oKi"
    ok = Settings(env="production", database_url="postgresql://db/p", admin_token=strong, _env_file=None)
    assert strong not in repr(ok)
