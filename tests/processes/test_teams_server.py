"""`procurebot serve` with Teams configured: the real uvicorn server, its delivery worker and the SDK
loop, against the local fake Bot Framework, from install to an approval updating the requester's card."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_teams import FakeTeams, execute_actions, texts_of
from live import child_env, eventually, free_port, until_healthy
from teams_harness import WRAP

BIN = Path(sys.executable).parent


@pytest.fixture
def served(tmp_path):  # type: ignore[no-untyped-def]
    with FakeTeams(tmp_path) as fake:
        port = free_port()
        env = child_env("PROCUREBOT_", "DATABASE_URL", "TEAMS_")
        env.update(fake.env())
        env.update(
            {
                "DATABASE_URL": f"sqlite:///{tmp_path / 'procurebot.db'}",
                "PROCUREBOT_VAR_DIR": str(tmp_path),
                "PROCUREBOT_PORT": str(port),
                "PROCUREBOT_LOG_LEVEL": "warning",
                "PROCUREBOT_SCHEDULER_ENABLED": "false",
            }
        )
        proc = subprocess.Popen(
            [str(BIN / "procurebot"), "serve"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"

        until_healthy(proc, base)
        try:
            yield base, fake
        finally:
            proc.terminate()
            proc.wait(15)


def test_serve_with_teams_from_install_to_approval(served):  # type: ignore[no-untyped-def]
    """Zoe installs procurebot; Jake asks and submits in Teams; Zoe gets her card unasked, approves; Jake sees it."""
    base, fake = served
    zoe, jake = (
        fake.add_user("Zoe Martin", "zoe.martin@lonestar.example"),
        fake.add_user("Jake Miller", "jake.miller@lonestar.example"),
    )

    def post(activity: dict, **token: Any) -> httpx.Response:  # type: ignore[type-arg]
        return httpx.post(f"{base}/api/messages", json=activity, headers=fake.headers(**token), timeout=30)

    assert post(fake.activity(zoe, "installationUpdate", action="add")).status_code == 200
    assert post(fake.message(jake, WRAP)).status_code == 200
    (summary,) = fake.bf.cards_to(jake)
    submitted = post(fake.execute(jake, "submit", execute_actions(summary["card"])["submit"]["data"]))
    assert submitted.status_code == 200
    number = texts_of(submitted.json()["value"]).split()[0]
    approval = eventually(
        lambda: [c for c in fake.bf.cards_to(zoe) if "approve" in execute_actions(c["card"])],
        "posted Zoe's approval card",
    )[-1]
    approved = post(fake.execute(zoe, "approve", execute_actions(approval["card"])["approve"]["data"]))
    assert approved.status_code == 200 and f"{number} is approved" in texts_of(approved.json()["value"])
    root = next(c for c in fake.bf.cards_to(jake) if texts_of(c["card"]).startswith(number))
    now = eventually(lambda: fake.bf.updates_of(root["id"]), "updated Jake's card")[-1]
    assert "Zoe Martin" in texts_of(now)
    assert post(fake.message(jake, "help"), forged=True).status_code == 401
    assert fake.entra.issued == 1 and fake.bf.refused == 0
