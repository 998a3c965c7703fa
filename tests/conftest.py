"""Shared fixtures: every database test runs on SQLite and, where reachable, on PostgreSQL.

Set PROCUREBOT_REQUIRE_POSTGRES=1 (CI does) to make an unreachable PostgreSQL a failure
instead of a skip. `pytest --clock-ahead=DAYS` runs the session, and every process it starts,
with the wall clock moved ahead: no test may depend on today's date.

Tests are foldered by what they exercise: core/ (the governed core on a database), edges/ (API,
command line, conversation, Slack, Teams, console), connectors/ (ERPs and the LLM against local
fakes) and processes/ (real server, worker and browser processes). Tests marked `multiprocess` race
several processes on one database; they run on PostgreSQL only, since SQLite serves one process.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from policy_fixtures import company, sample_policy  # noqa: F401  (shared fixtures, registered here)
from security_served import served  # noqa: F401  (tests/security's real server, registered here)
from sqlalchemy import Engine, create_engine, text

import bot.all_models  # noqa: F401  (every table on SQLModel.metadata)
from approvals.db import make_engine, transaction, upgrade
from approvals.directory import Directory, load_directory
from approvals.policy import LoadedPolicy, load_policy
from approvals.policy_store import install_policy
from approvals.workflow import ApprovalService
from tests.scheduling_support import notifier, scheduler  # noqa: F401  (shared fixtures, registered here)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
POSTGRES_ADMIN_URL = os.environ.get("PROCUREBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("PROCUREBOT_REQUIRE_POSTGRES") == "1"


CLOCK_AHEAD_ENV = "PROCUREBOT_TEST_CLOCK_AHEAD_DAYS"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-ahead",
        type=float,
        default=0,
        metavar="DAYS",
        help="run with the wall clock moved DAYS ahead (this process and the processes it starts)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "multiprocess: races several processes on one database (PostgreSQL only)")
    config.addinivalue_line("markers", "server_database: needs a database server's behaviour (PostgreSQL only)")
    days = config.getoption("--clock-ahead") or float(os.environ.get(CLOCK_AHEAD_ENV) or 0)
    already = getattr(sys.modules.get("sitecustomize"), "TRAVELLED", False)  # a worker started by this session
    if days and not already:
        import time_machine

        # before collection, so module-level dates move too; children get the same through sitecustomize
        time_machine.travel(datetime.now(timezone.utc) + timedelta(days=days), tick=True).start()
        os.environ[CLOCK_AHEAD_ENV] = str(days)
        child_path = str(Path(__file__).parent / "clock_ahead")
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (child_path, os.environ.get("PYTHONPATH")) if p)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Several processes on one SQLite file is not a supported deployment: race tests run on PostgreSQL only, as
    do tests of what only a database server does (dropping a connection)."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_sqlite = callspec is not None and callspec.params.get("db_url") == "sqlite"
        server_only = item.get_closest_marker("multiprocess") or item.get_closest_marker("server_database")
        (dropped if on_sqlite and server_only else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


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


@pytest.fixture(autouse=True)
def _var_dir_of_its_own(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test's server state (dev token, notices) goes to a folder of its own, never to the checkout's var/."""
    monkeypatch.setenv("PROCUREBOT_VAR_DIR", str(tmp_path_factory.mktemp("var")))


@pytest.fixture(autouse=True)
def _unkeyed_audit_chain() -> Iterator[None]:
    """The audit chain key is per process (set when a runtime is built): each test starts and ends without
    one, so a test that built a server in-process leaves no key behind for the next."""
    from approvals import audit

    audit.use_key(None)
    yield
    audit.use_key(None)


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


@contextmanager
def new_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (its URL), dropped at the end; skipped or failed when unreachable."""
    problem = _postgres_reachable()
    if problem:
        message = f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable ({problem})"
        if REQUIRE_POSTGRES:
            pytest.fail(message + "; PROCUREBOT_REQUIRE_POSTGRES=1 forbids skipping", pytrace=False)
        pytest.skip(message)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test process, dropped at the end."""
    with new_postgres_database("procurebot_test") as url:
        upgrade(url)
        yield url


# One round trip resets the database between tests: only the tables a test wrote to are emptied (truncating
# all of them cost about 110 ms a test), every sequence used is restarted, and the audit chain's head goes
# back to its genesis row.
_RESET_FUNCTION = """
CREATE OR REPLACE FUNCTION procurebot_test_reset() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text;
    has_rows boolean;
    dirty text[] := '{}';
    s record;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables
             WHERE schemaname = 'public' AND tablename NOT IN ('alembic_version', 'audit_head') LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', t) INTO has_rows;
        IF has_rows THEN
            dirty := dirty || format('%I', t);
        END IF;
    END LOOP;
    -- DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE's new files cost more than deleting them;
    -- foreign keys are not checked meanwhile, so the order of the tables does not matter
    SET LOCAL session_replication_role = replica;
    FOREACH t IN ARRAY dirty LOOP
        EXECUTE 'DELETE FROM ' || t;
    END LOOP;
    SET LOCAL session_replication_role = origin;
    FOR s IN SELECT schemaname, sequencename FROM pg_sequences WHERE last_value IS NOT NULL LOOP
        PERFORM setval(format('%I.%I', s.schemaname, s.sequencename), 1, false);
    END LOOP;
    DELETE FROM audit_head;
    INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64));
END $$;
"""


def _reset_postgres(url: str) -> None:
    engine = _reset_engines.get(url)
    if engine is None:
        engine = _reset_engines[url] = create_engine(url, pool_size=1)
        with engine.begin() as conn:
            conn.execute(text(_RESET_FUNCTION))
    with engine.begin() as conn:
        conn.execute(text("SELECT procurebot_test_reset()"))


_reset_engines: dict[str, Engine] = {}


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
