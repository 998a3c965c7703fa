"""Settings, read once at start-up from the environment (and an optional .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCUREBOT_", env_file=".env", extra="ignore")

    env: Literal["dev", "production"] = "dev"
    database_url: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'var' / 'procurebot.db'}",
        validation_alias=AliasChoices("DATABASE_URL", "PROCUREBOT_DATABASE_URL"),
    )
    policy_file: Path = EXAMPLES / "policy.yaml"
    directory_file: Path = EXAMPLES / "company.yaml"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # An admin API token to create at start-up (stored hashed). Dev mode makes one if none exists.
    admin_token: SecretStr | None = None
    max_body_bytes: int = Field(default=1_000_000, ge=10_000)
    var_dir: Path = REPO_ROOT / "var"  # local state of the embedded default (SQLite file, dev token)
    log_level: str = "info"
    chat_draft_ttl_hours: float = Field(default=24, gt=0, le=24 * 30)  # an unanswered chat draft expires
    # requisitions whose Slack/Teams cards the server's delivery worker updates side by side; 0: this
    # process posts no cards, a `procurebot worker` process does (taps then keep the server to themselves)
    chat_delivery_workers: int = Field(default=2, ge=0, le=32)
    # The scheduler (reminders, SLA escalation, delegation windows, digests); None: on in dev, off in production
    scheduler_enabled: bool | None = None
    scheduler_interval_seconds: int = Field(default=30, ge=1, le=3600)
    # ERP dispatcher threads inside the server (the outbox -> ERP); None: one in dev, none in production,
    # where `procurebot erp dispatch` runs them as their own processes
    erp_dispatchers: int | None = Field(default=None, ge=0, le=32)
    working_hours: str = "08:00-17:00"  # in each person's own time zone, Monday to Friday
    quiet_hours: str = "20:00-07:00"
    notify_url: str | None = None  # a chat API taking POST /messages; unset: notices are logged
    # signs the web console's session cookie; unset: a random key per process (sessions end at restart)
    session_secret: SecretStr | None = None

    @field_validator("database_url")
    @classmethod
    def _database_we_run_on(cls, value: str) -> str:
        scheme = value.split("://", 1)[0].split("+", 1)[0].lower() if "://" in value else ""
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("must be a sqlite:/// or postgresql:// URL (the two databases procurebot runs on)")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        # uvicorn and logging both take it: one of the names they share, in lower case
        if value.strip().lower() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.strip().lower()

    @model_validator(mode="after")
    def _production_is_configured(self) -> "Settings":
        if self.env == "production":
            problems = []
            if self.database_url.startswith("sqlite"):
                problems.append("DATABASE_URL must point at PostgreSQL in production (SQLite is for one laptop)")
            if self.admin_token is not None and len(self.admin_token.get_secret_value()) < 32:
                problems.append("PROCUREBOT_ADMIN_TOKEN must be at least 32 random characters")
            if problems:
                raise ValueError("; ".join(problems))
        return self

    @property
    def dev(self) -> bool:
        return self.env == "dev"

    @property
    def erp_dispatcher_threads(self) -> int:
        return (1 if self.dev else 0) if self.erp_dispatchers is None else self.erp_dispatchers

    @property
    def scheduler_on(self) -> bool:
        return self.dev if self.scheduler_enabled is None else self.scheduler_enabled


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
