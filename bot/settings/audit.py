"""The audit section of the settings (`Settings.audit`, PROCUREBOT_AUDIT_*) and the audit key itself.

The key chains every new audit event (HMAC-SHA-256, approvals/audit.py) and signs the checkpoints. It must not
live in the database: it comes from PROCUREBOT_AUDIT_KEY (a secret manager, the same on every server), or from a
key file, by default `var/audit-key`, made 0600 on first start. See docs/audit.md.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.settings.private import read_private, write_private

log = logging.getLogger("procurebot.audit")
KEY_FILE = "audit-key"
CHECKPOINT_DIR = "audit-checkpoints"
MIN_KEY_CHARS = 32


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCUREBOT_AUDIT_", env_file=".env", extra="ignore")

    key: SecretStr | None = None  # PROCUREBOT_AUDIT_KEY: 32 or more random characters
    key_file: Path | None = None  # unset: <var dir>/audit-key, made on first start
    checkpoint_dir: Path | None = None  # unset: <var dir>/audit-checkpoints
    # how often the server writes a signed checkpoint of the chain's head (0: only `procurebot audit checkpoint`)
    checkpoint_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)

    @field_validator("key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_KEY_CHARS:
            raise ValueError(f"must be at least {MIN_KEY_CHARS} random characters (e.g. `openssl rand -hex 32`)")
        return value

    def key_path(self, var_dir: Path) -> Path:
        return self.key_file or var_dir / KEY_FILE

    def checkpoints(self, var_dir: Path) -> Path:
        return self.checkpoint_dir or var_dir / CHECKPOINT_DIR


def audit_key(settings: AuditSettings, var_dir: Path, *, create: bool = True) -> bytes | None:
    """The audit key: PROCUREBOT_AUDIT_KEY, else the key file (made 0600 with a new random key when missing and
    `create`). None only when there is neither and `create` is off."""
    if settings.key is not None:
        return settings.key.get_secret_value().strip().encode("utf-8")
    path = settings.key_path(var_dir)
    text = read_private(path)
    if text is not None and text.strip():
        if len(text.strip()) < MIN_KEY_CHARS:
            raise ValueError(f"the audit key file {path} holds fewer than {MIN_KEY_CHARS} characters")
        return text.strip().encode("utf-8")
    if not create:
        return None
    write_private(path, secrets.token_hex(32) + "\n", exclusive=True)
    log.warning(
        "a new audit key was written to %s: keep a copy where the database administrators cannot reach it, and give "
        "every server the same key (PROCUREBOT_AUDIT_KEY or this file); see docs/audit.md",
        path,
    )
    return audit_key(settings, var_dir, create=False)
