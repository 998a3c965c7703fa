"""Operators run commands before the server ever started: each migrates the database itself."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import get_settings


@pytest.fixture
def fresh_database(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'not-yet' / 'procurebot.db'}")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "command, expected",
    [
        (["audit", "verify"], "audit chain intact: 0 events"),
        (["erp", "status"], "create PO jobs: 0 waiting"),
        (["scheduler", "status"], "due 0"),
        (["token", "list"], ""),
    ],
)
def test_commands_work_on_a_database_that_does_not_exist_yet(fresh_database, command, expected):
    """`audit verify`, `erp status`, `scheduler status` and `token list` answer plainly on a fresh checkout."""
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert expected in result.output
