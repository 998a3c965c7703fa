"""The database every command works on: the configured one, migrated to the latest schema first.

Commands may run before the server ever started (a fresh checkout), so each brings the schema
up to date itself instead of failing on a missing table.
"""

from __future__ import annotations

import os

from sqlalchemy import Engine

from approvals import audit
from approvals.db import make_engine, upgrade
from bot.settings import get_settings
from bot.settings.audit import audit_key
from bot.settings.private import private_database


def database_engine() -> Engine:
    """The configured database, migrated; every audit event this process writes is keyed with the audit key."""
    settings = get_settings()
    url = settings.connect_url
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    private_database(url)
    audit.use_key(audit_key(settings.audit, settings.var_dir))
    upgrade(url)
    return make_engine(url)
