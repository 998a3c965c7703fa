"""A real `procurebot serve` process for the attacks in tests/security: Slack and Teams configured against the
local fakes, the API, the console, the web chat; its log kept for the traceback checks, its /proc figures for CPU
and memory."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from fake_slack import FakeSlackServer
from fake_teams import FakeTeams
from live import child_env, free_port, until_healthy

BIN = Path(sys.executable).parent
SIGNING_SECRET = "8f2b1c0e9d7a6b5c4d3e2f1a0b9c8d7e"
TICKS = 100  # clock ticks per second in /proc/<pid>/stat (USER_HZ, 100 on Linux)


@dataclass
class Served:
    base: str
    var: Path
    env: dict[str, str]
    proc: subprocess.Popen[str]
    log: Path
    teams: FakeTeams

    @property
    def token(self) -> str:
        return (self.var / "dev-admin-token").read_text().strip()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def memory_kb(self, field: str = "VmRSS") -> int:
        """The server's resident memory now (VmRSS) or at its peak so far (VmHWM), in KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc status")

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server process for a module's attacks (SQLite, dev mode, Slack and Teams on)."""
    tmp = tmp_path_factory.mktemp("served")
    slack = FakeSlackServer()
    with slack, FakeTeams(tmp) as teams:
        port = free_port()
        env = child_env("PROCUREBOT_", "DATABASE_URL", "SLACK_", "TEAMS_")
        env.update(teams.env())
        env.update(
            {
                "DATABASE_URL": f"sqlite:///{tmp / 'procurebot.db'}",
                "PROCUREBOT_VAR_DIR": str(tmp),
                "PROCUREBOT_PORT": str(port),
                "PROCUREBOT_LOG_LEVEL": "info",
                "PROCUREBOT_SCHEDULER_ENABLED": "false",
                "PROCUREBOT_ERP_DISPATCHERS": "0",
                "PROCUREBOT_SESSION_SECRET": "c0nsole-s3ssion-key-for-the-attack-tests-0123456789",
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_BOT_TOKEN": "xoxb-attack-tests",
                "SLACK_API_BASE_URL": slack.base_url,
            }
        )
        log = tmp / "server.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [str(BIN / "procurebot"), "serve"], env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT, text=True
            )
        base = f"http://127.0.0.1:{port}"
        until_healthy(proc, base, limit=60, output=lambda: log.read_text(errors="replace"))
        try:
            yield Served(base, tmp, env, proc, log, teams)
        finally:
            proc.terminate()
            proc.wait(15)


def post_file(served: Served, path: str, content: bytes, name: str = "policy.yaml", **kw: Any) -> httpx.Response:
    return httpx.post(
        served.base + path, headers=served.auth, files={"file": (name, content, "application/x-yaml")}, timeout=30, **kw
    )
