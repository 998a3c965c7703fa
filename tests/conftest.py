"""Shared fixtures: every database test runs on SQLite and, where reachable, on PostgreSQL.

Set PROCUREBOT_REQUIRE_POSTGRES=1 (CI does) to make an unreachable PostgreSQL a failure
instead of a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

import approvals.all_models  # noqa: F401  (every table on SQLModel.metadata)
from approvals.db import make_engine, transaction, upgrade
from approvals.directory import Directory, load_directory
from approvals.policy import LoadedPolicy, load_policy
from approvals.policy_store import install_policy
from approvals.workflow import ApprovalService

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
POSTGRES_ADMIN_URL = os.environ.get("PROCUREBOT_TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("PROCUREBOT_REQUIRE_POSTGRES") == "1"


class FakeClock:
    """A clock the test moves by hand; the service reads it for every action."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)  # a Monday, 9:00 in Dallas

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(autouse=True, scope="session")
def _no_llm_from_the_environment() -> Iterator[None]:
    """Tests never reach a real model: a developer's OPENAI_* / PROCUREBOT_LLM_MODEL (env or .env) is blanked;
    the LLM tests configure the local fake server themselves."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("PROCUREBOT_LLM_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
            mp.setenv(name, "")
        yield


@pytest.fixture(scope="session")
def directory() -> Directory:
    return load_directory(EXAMPLES / "company.yaml")


@pytest.fixture(scope="session")
def policy() -> LoadedPolicy:
    return load_policy(EXAMPLES / "policy.yaml")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - the reason is shown in the skip/fail message
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test process, dropped at the end."""
    problem = _postgres_reachable()
    if problem:
        message = f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable ({problem})"
        if REQUIRE_POSTGRES:
            pytest.fail(message + "; PROCUREBOT_REQUIRE_POSTGRES=1 forbids skipping", pytrace=False)
        pytest.skip(message)
    name = f"procurebot_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _unmapped_tables(conn) -> list[str]:  # type: ignore[no-untyped-def]
    """Tables a migration made that no model maps (e.g. a library's own), except alembic's."""
    names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
    mapped = {t.name for t in SQLModel.metadata.sorted_tables}
    return [n for n in names if n not in mapped and n != "alembic_version"]


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [t.name for t in SQLModel.metadata.sorted_tables] + _unmapped_tables(conn)
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database: a copy of the SQLite template, or the truncated PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "procurebot.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(engine, directory: Directory, policy: LoadedPolicy, clock: FakeClock) -> ApprovalService:  # type: ignore[no-untyped-def]
    with transaction(engine) as session:
        install_policy(session, policy, at=clock())
    return ApprovalService(engine, directory, clock=clock)
