"""Several `procurebot serve` replicas started at the same instant on one empty PostgreSQL database.

Each replica migrates the schema, activates the policy and creates the admin token at start-up; they
must take turns (a PostgreSQL advisory lock around the migrations), so all of them come up and the
database holds everything once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from conftest import new_postgres_database
from live import child_env, free_port, stop_all, until_healthy
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.multiprocess  # several processes on one database: PostgreSQL only

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
REPLICAS = 3
ADMIN = "replicas-test-admin-token-" + "x" * 24


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A new PostgreSQL database with no tables at all, dropped at the end."""
    with new_postgres_database("procurebot_replicas") as url:
        yield url


def _applied_and_all(current: list[str]) -> tuple[set[str], set[str]]:
    """The migrations the database's alembic_version rows stand for (with their ancestors), and every one we ship."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "alembic"))
    script = ScriptDirectory.from_config(config)
    return (
        {r.revision for r in script.iterate_revisions(tuple(current), "base")},
        {r.revision for r in script.walk_revisions()},
    )


def test_three_servers_started_together_on_an_empty_database_all_come_up(empty_database, tmp_path):
    """Three servers of one company start at the same moment on a brand-new database: all three serve, and the
    schema, the policy and the admin token are there once."""
    env = child_env("PROCUREBOT_", "DATABASE_URL", "SLACK_", "TEAMS_")
    env.update({"DATABASE_URL": empty_database, "PROCUREBOT_LOG_LEVEL": "warning", "PROCUREBOT_ADMIN_TOKEN": ADMIN})
    ports = [free_port() for _ in range(REPLICAS)]
    procs = []
    for i, port in enumerate(ports):
        var = tmp_path / f"replica-{i}"
        var.mkdir()
        procs.append(
            subprocess.Popen(
                [str(BIN / "procurebot"), "serve"],
                cwd=var,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={**env, "PROCUREBOT_PORT": str(port), "PROCUREBOT_VAR_DIR": str(var)},
            )
        )
    try:
        for proc, port in zip(procs, ports):
            until_healthy(proc, f"http://127.0.0.1:{port}", limit=90)
        for port in ports:
            ready = httpx.get(
                f"http://127.0.0.1:{port}/readyz", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10
            )
            assert ready.status_code == 200, ready.text
            assert ready.json()["database"] == "postgresql"
            mine = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/requisitions", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10
            )
            assert mine.status_code == 200, mine.text
    finally:
        stop_all(procs)
    db = create_engine(empty_database)
    try:
        with db.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            policies = conn.execute(text("SELECT count(*) FROM policy_version")).scalar()
            activations = conn.execute(
                text("SELECT count(*) FROM audit_event WHERE kind = 'policy_activated'")
            ).scalar()
            tokens = conn.execute(text("SELECT count(*) FROM api_token WHERE name = 'bootstrap-admin'")).scalar()
    finally:
        db.dispose()
    applied, shipped = _applied_and_all(versions)
    assert applied == shipped and len(versions) == len(set(versions))  # at head, each branch once
    assert (policies, activations, tokens) == (1, 1, 1)
