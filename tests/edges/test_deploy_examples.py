"""The operator's worked examples (examples/deploy/) describe a topology the product really runs: every setting
they name exists, production accepts them, each process runs the command it should, the proxy reaches both
replicas, and the image copies what an install needs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "examples" / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
SECRET = "Xq7!mR2v-Lp9_Zt4Wk8nBc3Yh6Jd1Fs5Ge0Ua"  # a strong-looking stand-in for the operator's token


def _known_variables() -> set[str]:
    """Every environment variable the settings read (the root's and each section's)."""
    names = set()
    for model in (
        Settings,
        *(type(v) for v in Settings(_env_file=None).__dict__.values() if hasattr(v, "model_config")),
    ):
        prefix = model.model_config.get("env_prefix", "")
        for name, field in model.model_fields.items():
            alias = field.validation_alias
            choices = getattr(alias, "choices", None)
            names.update(str(c) for c in choices or ())
            names.add(f"{prefix}{name}".upper())
    return names


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_every_setting_the_examples_name_is_one_procurebot_reads():
    """A misspelt variable in the compose file, the env template or a systemd unit would be silently ignored."""
    known = _known_variables()
    texts = [COMPOSE.read_text(), (DEPLOY / "env.example").read_text()]
    texts += [p.read_text() for p in (DEPLOY / "systemd").glob("*.service")]
    named = {m for text in texts for m in re.findall(r"\b((?:PROCUREBOT|SLACK|TEAMS)_[A-Z_]+|DATABASE_URL)\b", text)}
    named -= {"PROCUREBOT_DOMAIN"}  # the proxy's, not procurebot's
    assert named, "the examples name no settings"
    assert sorted(named - known) == []


def test_the_compose_topology_runs_two_replicas_a_worker_and_a_proxy():
    """Two servers (cards left to the worker), one worker with the scheduler and dispatchers, a proxy over both."""
    services = _compose()["services"]
    assert set(services) == {"db", "app1", "app2", "worker", "proxy"}
    for replica in ("app1", "app2"):
        assert services[replica]["command"] == ["procurebot", "serve"]
        assert services[replica]["environment"]["PROCUREBOT_CHAT_DELIVERY_WORKERS"] == "0"
    worker = services["worker"]
    assert worker["command"][:2] == ["procurebot", "worker"]
    assert worker["environment"]["PROCUREBOT_SCHEDULER_ENABLED"] == "true"
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert "app1:8000" in caddy and "app2:8000" in caddy and "health_uri /healthz" in caddy


def test_production_accepts_the_examples_settings():
    """The compose environment, with its secrets filled in, is a valid production configuration."""
    env = {k: str(v) for k, v in _compose()["services"]["app1"]["environment"].items()}
    env["DATABASE_URL"] = "postgresql://procurebot:pw@db:5432/procurebot"
    settings = Settings(
        _env_file=None,
        env=env["PROCUREBOT_ENV"],
        database_url=env["DATABASE_URL"],
        admin_token=SECRET,
        log_format=env["PROCUREBOT_LOG_FORMAT"],
        shutdown_timeout_seconds=float(env["PROCUREBOT_SHUTDOWN_TIMEOUT_SECONDS"]),
        forwarded_allow_ips=env["PROCUREBOT_FORWARDED_ALLOW_IPS"],
        chat_delivery_workers=int(env["PROCUREBOT_CHAT_DELIVERY_WORKERS"]),
    )
    assert settings.log_kind == "json" and not settings.scheduler_on


def test_the_image_copies_every_package_the_install_needs():
    """Each top-level package and data folder the project installs or reads is copied into the image."""
    copied = set(re.findall(r"^COPY (\S+) ", (DEPLOY / "Dockerfile").read_text(), re.M))
    needed = {"approvals", "bot", "connectors", "prompts", "alembic", "examples"}
    assert needed <= copied


def test_the_systemd_units_run_the_server_and_the_worker():
    """One unit per server replica (its port from the instance name), one for the worker."""
    server = (DEPLOY / "systemd" / "procurebot@.service").read_text()
    worker = (DEPLOY / "systemd" / "procurebot-worker.service").read_text()
    assert "procurebot serve" in server and "PROCUREBOT_PORT=%i" in server
    assert "procurebot worker" in worker and "EnvironmentFile=/etc/procurebot/env" in worker


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


@pytest.mark.skipif(_compose_cli() is None, reason="Docker Compose is not installed on this machine")
def test_docker_compose_accepts_the_file(tmp_path):
    """`docker compose config` reads the file as Docker would, with an .env like the template."""
    cli = _compose_cli()
    assert cli is not None
    (DEPLOY / ".env").write_text("POSTGRES_PASSWORD=pw\nPROCUREBOT_DOMAIN=procure.example.com\n")
    try:
        done = subprocess.run([*cli, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True)
    finally:
        (DEPLOY / ".env").unlink()
    assert done.returncode == 0, done.stderr
