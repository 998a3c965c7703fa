"""Secrets and the database are files only their owner can read, including ones made before this rule."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from approvals import audit
from bot.runtime import build_runtime
from bot.settings import Settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _start(tmp_path: Path) -> None:
    before = audit.current_key()
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'procurebot.db'}", var_dir=tmp_path, _env_file=None)
    try:
        build_runtime(settings).engine.dispose()
    finally:
        audit.use_key(before)


def test_first_start_makes_the_token_the_key_and_the_database_private(tmp_path: Path):
    """A first start under umask 022 makes the dev token, the audit key and the SQLite file 0600."""
    old = os.umask(0o022)
    try:
        _start(tmp_path)
    finally:
        os.umask(old)
    for name in ("dev-admin-token", "audit-key", "procurebot.db"):
        assert _mode(tmp_path / name) == 0o600, f"{name} is {oct(_mode(tmp_path / name))}"


def test_files_left_readable_by_an_older_version_are_tightened(tmp_path: Path):
    """A 0644 dev token, audit key and database left by an older version become 0600 and are kept."""
    _start(tmp_path)
    token = (tmp_path / "dev-admin-token").read_text()
    key = (tmp_path / "audit-key").read_text()
    for name in ("dev-admin-token", "audit-key", "procurebot.db"):
        os.chmod(tmp_path / name, 0o644)
    _start(tmp_path)
    for name in ("dev-admin-token", "audit-key", "procurebot.db"):
        assert _mode(tmp_path / name) == 0o600, f"{name} is {oct(_mode(tmp_path / name))}"
    assert (tmp_path / "dev-admin-token").read_text() == token and (tmp_path / "audit-key").read_text() == key
