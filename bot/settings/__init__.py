"""The one `Settings`, read once at start-up from the environment (and an optional .env file).

The server's own variables (`PROCUREBOT_*`, `DATABASE_URL`) are its fields; each part that talks to something
else reads its own section, under the names that system's docs use: `erp` (`connectors/erp/config.py`), `llm`
(`connectors/llm.py`), `slack` (`bot/settings/slack.py`), `teams` (`bot/settings/teams.py`), `audit`
(`bot/settings/audit.py`, the audit key and checkpoints), `oidc` (`bot/settings/oidc.py`, the console's single
sign-on), `graph` (`connectors/directory/config.py`, the directory sync from Microsoft Graph). The connectors'
sections live with the connectors, which import nothing from bot/. The composition root builds one
`Settings` and hands each part its section.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from approvals.attachments import DEFAULT_MAX_BYTES
from bot.settings.audit import AuditSettings
from bot.settings.oidc import OidcSettings
from bot.settings.slack import SlackSettings
from bot.settings.teams import TeamsSettings
from connectors.directory.config import GraphSettings
from connectors.erp.config import ErpSettings
from connectors.llm_config import LlmSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
# How long a connection to PostgreSQL may take before it fails; without it an address that swallows packets keeps
# start-up waiting forever. A DATABASE_URL that sets its own `connect_timeout` keeps it.
CONNECT_TIMEOUT_SECONDS = 10


# Each section is its own BaseSettings with its own prefix and aliases, so every variable keeps its name and a
# section can still be made alone (tests, benches); a bad value is told under the section's class name.
SECTIONS: dict[str, type[BaseSettings]] = {
    "erp": ErpSettings,
    "llm": LlmSettings,
    "slack": SlackSettings,
    "teams": TeamsSettings,
    "audit": AuditSettings,
    "oidc": OidcSettings,
    "graph": GraphSettings,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCUREBOT_", env_file=".env", extra="ignore")

    # The sections, each read by its own class from the same environment and .env file as the fields below
    # (see __init__). NoDecode: a variable that happens to be named PROCUREBOT_ERP (etc.) is never parsed.
    erp: Annotated[ErpSettings, NoDecode] = Field(default_factory=ErpSettings)
    llm: Annotated[LlmSettings, NoDecode] = Field(default_factory=LlmSettings)
    graph: Annotated[GraphSettings, NoDecode] = Field(default_factory=GraphSettings)
    slack: Annotated[SlackSettings, NoDecode] = Field(default_factory=SlackSettings)
    teams: Annotated[TeamsSettings, NoDecode] = Field(default_factory=TeamsSettings)
    audit: Annotated[AuditSettings, NoDecode] = Field(default_factory=AuditSettings)
    oidc: Annotated[OidcSettings, NoDecode] = Field(default_factory=OidcSettings)

    env: Literal["dev", "production"] = "dev"
    database_url: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'var' / 'procurebot.db'}",
        validation_alias=AliasChoices("DATABASE_URL", "PROCUREBOT_DATABASE_URL"),
    )
    policy_file: Path = EXAMPLES / "policy.yaml"
    directory_file: Path = EXAMPLES / "company.yaml"
    # how often each process looks for a newly activated directory version (docs/directory.md)
    directory_refresh_seconds: float = Field(default=5, ge=0, le=3600)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # An admin API token to create at start-up (stored hashed). Dev mode makes one if none exists.
    admin_token: SecretStr | None = None
    max_body_bytes: int = Field(default=1_000_000, ge=10_000)
    var_dir: Path = REPO_ROOT / "var"  # local state of the embedded default (SQLite file, dev token)
    log_level: str = "info"
    # "json": one JSON object per line (for a log shipper); "text": readable lines; "auto": JSON in production
    log_format: Literal["auto", "json", "text"] = "auto"
    # how long a stopping server lets requests in flight finish (and event streams close) before it cuts them
    shutdown_timeout_seconds: float = Field(default=10, ge=0, le=600)
    # the reverse proxies whose X-Forwarded-Proto/-For are believed (comma-separated addresses, or "*"): behind a
    # proxy that terminates TLS, the console's cookie is marked Secure only when the proxy is listed here
    forwarded_allow_ips: str = "127.0.0.1"
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
    # the chance of missing its SLA at which a pending step is acted on (nudge, requester told); 0: no SLA-risk alerts
    sla_risk_threshold: float = Field(default=0.5, ge=0, le=1)
    # a chat API taking POST /messages; unset: notices for people no chat platform reaches wait in their inbox
    notify_url: str | None = None
    # signs the web console's session cookie; unset: a random key per process (sessions end at restart)
    session_secret: SecretStr | None = None
    # attachments (docs/attachments.md): the largest file accepted, and where files are kept; unset: in the
    # database (the embedded default), set: a directory every replica mounts
    attachment_max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1024, le=200 * 1024 * 1024)
    attachments_dir: Path | None = None
    # ...or an S3-compatible bucket, its path-style URL ending in the bucket (https://s3.us-east-1.amazonaws.com/pb-files)
    attachments_s3_url: str | None = None
    attachments_s3_access_key_id: str | None = None
    attachments_s3_secret_access_key: SecretStr | None = None
    attachments_s3_region: str = "us-east-1"
    # the address people reach procurebot at (https://procurebot.example.com), for the download links Slack and
    # Teams cards hand out; unset: http://<host>:<port>
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")

    def __init__(self, **values: Any) -> None:
        # a section not given is read here, from the .env file the whole is told to read (`_env_file=None`: none)
        source = {key: values[key] for key in ("_env_file",) if key in values}
        for name, section in SECTIONS.items():
            if name not in values:
                values[name] = section(**source)
        super().__init__(**values)

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
    def _one_attachment_store(self) -> "Settings":
        url = self.attachments_s3_url
        if not url:
            return self
        if self.attachments_dir is not None:
            raise ValueError("set PROCUREBOT_ATTACHMENTS_DIR or PROCUREBOT_ATTACHMENTS_S3_URL, not both")
        if not self.attachments_s3_access_key_id or self.attachments_s3_secret_access_key is None:
            raise ValueError(
                "PROCUREBOT_ATTACHMENTS_S3_URL is set: give PROCUREBOT_ATTACHMENTS_S3_ACCESS_KEY_ID and "
                "PROCUREBOT_ATTACHMENTS_S3_SECRET_ACCESS_KEY too (an access key allowed to put and get objects)"
            )
        parts = urlsplit(url)
        local = parts.hostname in ("127.0.0.1", "localhost")
        if parts.scheme != "https" and not (parts.scheme == "http" and local) or not parts.path.strip("/"):
            raise ValueError(
                "PROCUREBOT_ATTACHMENTS_S3_URL must be https and end in the bucket, like "
                "https://s3.us-east-1.amazonaws.com/pb-files"
            )
        return self

    @model_validator(mode="after")
    def _production_is_configured(self) -> "Settings":
        if self.env == "production":
            problems = []
            if self.database_url.startswith("sqlite"):
                problems.append("DATABASE_URL must point at PostgreSQL in production (SQLite is for one laptop)")
            if self.admin_token is not None and not strong_secret(self.admin_token.get_secret_value()):
                problems.append(
                    "PROCUREBOT_ADMIN_TOKEN must be at least 32 random characters "
                    "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
                )
            try:
                self.oidc.check_production()
            except ValueError as exc:
                problems.append(str(exc))
            if problems:
                raise ValueError("; ".join(problems))
        return self

    @property
    def dev(self) -> bool:
        return self.env == "dev"

    @property
    def log_kind(self) -> str:
        """The log format this process writes: "json" or "text"."""
        if self.log_format == "auto":
            return "json" if self.env == "production" else "text"
        return self.log_format

    @property
    def connect_url(self) -> str:
        """The URL every connection is made with: `database_url`, on PostgreSQL with a `connect_timeout` unless it
        names one, so an unreachable database fails start-up in seconds with the one line of bot/cli/startup.py."""
        if self.database_url.startswith("sqlite"):
            return self.database_url
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        if "connect_timeout" in url.query:
            return self.database_url
        with_timeout = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_SECONDS)})
        return with_timeout.render_as_string(hide_password=False)

    @property
    def erp_dispatcher_threads(self) -> int:
        return (1 if self.dev else 0) if self.erp_dispatchers is None else self.erp_dispatchers

    @property
    def scheduler_on(self) -> bool:
        return self.dev if self.scheduler_enabled is None else self.scheduler_enabled


MIN_SECRET_BITS = 100


def strong_secret(value: str) -> bool:
    """At least 32 characters that look random: the characters' spread over the value gives an estimate of
    its entropy, which must reach MIN_SECRET_BITS; "a" * 32, a short pattern repeated, or a word padded
    with one character all fall short."""
    if len(value) < 32:
        return False
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    repeated = any(len(value) % size == 0 and value == value[:size] * (len(value) // size) for size in range(1, 17))
    return not repeated and per_char * len(value) >= MIN_SECRET_BITS


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
