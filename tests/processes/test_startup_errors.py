"""`procurebot serve` that cannot start says why in one line on stderr, exits 1, and shows no traceback (unless
--debug); a dev token left from another database is replaced at start instead of answering 401."""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from live import child_env, free_port, until_healthy

BIN = Path(sys.executable).parent


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The embedded default in `tmp_path`, with nothing inherited from the developer's own settings."""
    env = child_env("PROCUREBOT_", "DATABASE_URL", "SLACK_", "TEAMS_", "OPENAI_")
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'procurebot.db'}",
            "PROCUREBOT_VAR_DIR": str(tmp_path),
            "PROCUREBOT_PORT": str(free_port()),
        }
    )
    env.update(settings)
    return env


def _serve(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "procurebot"), "serve", *args],
        env=_env(tmp_path, **settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _the_line(run: subprocess.CompletedProcess[str]) -> str:
    """The failed start's last stderr line, checked to be its only message and to come without a traceback."""
    assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    assert [line for line in lines if line.startswith("procurebot: ")] == [lines[-1]], run.stderr
    return lines[-1]


def test_a_port_already_in_use_is_named_before_any_start_up_work(tmp_path):
    """Another program already listens on the port: serve says which port and to set PROCUREBOT_PORT, and touches
    no database."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _the_line(_serve(tmp_path, PROCUREBOT_PORT=str(port)))
    assert f"port {port} on 127.0.0.1 is in use" in line
    assert "another process is listening; set PROCUREBOT_PORT" in line
    assert not (tmp_path / "procurebot.db").exists()  # told before migrating anything


def test_a_port_that_is_not_a_number_names_the_setting(tmp_path):
    """PROCUREBOT_PORT=abc: serve names the setting and its value, and says to fix or unset it."""
    line = _the_line(_serve(tmp_path, PROCUREBOT_PORT="abc"))
    assert line.startswith("procurebot: PROCUREBOT_PORT='abc' is not valid: ")
    assert "valid integer" in line and "unset it" in line


def test_an_unknown_erp_connector_names_the_setting_and_the_choices(tmp_path):
    """PROCUREBOT_ERP_CONNECTOR=sap: serve names the setting and the connectors there are, before migrating."""
    line = _the_line(_serve(tmp_path, PROCUREBOT_ERP_CONNECTOR="sap"))
    assert line.startswith("procurebot: PROCUREBOT_ERP_CONNECTOR='sap' is not valid: ")
    assert "'sandbox'" in line and "'odoo'" in line and "'netsuite'" in line
    assert not (tmp_path / "procurebot.db").exists()


def test_an_unreachable_database_is_named_without_its_password(tmp_path):
    """DATABASE_URL points at a PostgreSQL nobody runs: serve names the URL with the password hidden and the reason."""
    run = _serve(tmp_path, DATABASE_URL="postgresql://u:secret@127.0.0.1:1/x")
    line = _the_line(run)
    assert "cannot use the database at postgresql://u:***@127.0.0.1:1/x: " in line
    assert "refused" in line.lower() and "DATABASE_URL" in line
    assert "secret" not in run.stdout + run.stderr


def test_a_database_that_never_answers_fails_start_up_in_seconds(tmp_path):
    """DATABASE_URL points at an address that takes the connection and never speaks: serve gives up after the
    connect timeout and names the database in one line, instead of waiting forever."""
    import time

    from bot.settings import CONNECT_TIMEOUT_SECONDS

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the handshake; nobody ever answers PostgreSQL's start-up message
        port = silent.getsockname()[1]
        started = time.monotonic()
        line = _the_line(_serve(tmp_path, DATABASE_URL=f"postgresql://u:secret@127.0.0.1:{port}/x"))
    assert time.monotonic() - started < CONNECT_TIMEOUT_SECONDS + 30
    assert f"cannot use the database at postgresql://u:***@127.0.0.1:{port}/x: " in line
    assert "timeout" in line.lower() and "DATABASE_URL" in line


def test_debug_shows_the_traceback_as_well(tmp_path):
    """With --debug, or the log level at debug, the developer sees the traceback too, and the one line still ends it."""
    run = _serve(tmp_path, "--debug", PROCUREBOT_PORT="abc")
    assert run.returncode == 1
    assert "Traceback" in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("procurebot: PROCUREBOT_PORT='abc' is not valid")
    run = _serve(tmp_path, DATABASE_URL="postgresql://u:secret@127.0.0.1:1/x", PROCUREBOT_LOG_LEVEL="debug")
    assert run.returncode == 1
    assert "Traceback" in run.stderr and "OperationalError" in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("procurebot: cannot use the database at postgresql://u:***@")


def test_a_dev_token_left_from_another_database_is_replaced(tmp_path):
    """var/dev-admin-token holds a token this database never issued: the server writes a working one there, says
    so in one warning line, and never shows the token."""
    env = _env(tmp_path)
    made = subprocess.run(
        [str(BIN / "procurebot"), "token", "create", "--name", "ops", "--role", "admin"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr  # this database has an admin token, just not the one in the file
    stale = "pb_" + secrets.token_urlsafe(32)
    (tmp_path / "dev-admin-token").write_text(stale + "\n")
    proc = subprocess.Popen(
        [str(BIN / "procurebot"), "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{env['PROCUREBOT_PORT']}"
    try:
        until_healthy(proc, base, limit=90)
        fresh = (tmp_path / "dev-admin-token").read_text().strip()
        assert fresh != stale and oct((tmp_path / "dev-admin-token").stat().st_mode)[-3:] == "600"
        assert httpx.get(f"{base}/api/v1/requisitions", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
        assert httpx.get(f"{base}/api/v1/requisitions", headers={"Authorization": f"Bearer {stale}"}).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    said = [line for line in output.splitlines() if "dev-admin-token" in line]
    assert len(said) == 1 and "WARNING" in said[0] and "a new admin API token was written there" in said[0], output
    assert stale not in output and fresh not in output
