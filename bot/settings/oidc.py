"""The console's single sign-on (`Settings.oidc`), read from OIDC_* (and .env): an OpenID Connect provider found by
its discovery URL (Microsoft Entra ID, or any provider that publishes /.well-known/openid-configuration).

Unset (`OIDC_DISCOVERY_URL` empty), nothing changes: the console signs in with API tokens only. Set, the sign-in page
offers the provider first and keeps the API-token form for break-glass admins. Who may come in is the directory's
answer, not the provider's: the signed-in account must be a directory person (docs/console.md says how they are
matched), and that person must be named, by a role, a group or their id, in `OIDC_ADMINS` or `OIDC_AUDITORS`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CALLBACK_PATH = "/console/login/oidc/callback"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Entra's multi-tenant endpoints (/common, /organizations) publish this placeholder in their issuer
TENANT_PLACEHOLDER = "{tenantid}"


def _names(value: object) -> object:
    """Names as "a, b" (an environment variable) or a list (code) -> a list of stripped, non-empty names."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class OidcSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OIDC_", env_file=".env", extra="ignore")

    # https://login.microsoftonline.com/<tenant id>/v2.0/.well-known/openid-configuration for Entra ID
    discovery_url: str | None = None
    client_id: str | None = None  # the app registration's Application (client) ID
    client_secret: SecretStr | None = None  # a client secret of that registration; never logged or shown
    # the console's callback as the provider knows it (Entra: a "Web" redirect URI), e.g.
    # https://procurebot.example.com/console/login/oidc/callback
    redirect_url: str | None = None
    # the Entra tenant ids (`tid`) whose accounts may sign in; required with a multi-tenant discovery URL
    allowed_tenants: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # who gets which console role: directory role names, group ids or person ids (comma-separated)
    admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    auditors: Annotated[list[str], NoDecode] = Field(default_factory=list)
    provider_name: str = Field(default="Microsoft", max_length=40)  # the sign-in button: "Sign in with Microsoft"
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @field_validator("allowed_tenants", "admins", "auditors", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _names(value)

    @model_validator(mode="after")
    def _complete(self) -> "OidcSettings":
        if not self.configured:
            return self
        problems = []
        for name in ("client_id", "client_secret", "redirect_url"):
            if not getattr(self, name):
                problems.append(f"OIDC_{name.upper()} is required with OIDC_DISCOVERY_URL")
        for name in ("discovery_url", "redirect_url"):
            value = getattr(self, name)
            if value and not _https_or_loopback(value):
                problems.append(f"OIDC_{name.upper()} must be an https:// URL (http only on 127.0.0.1 or localhost)")
        if self.redirect_url and urlsplit(self.redirect_url).path != CALLBACK_PATH:
            problems.append(f"OIDC_REDIRECT_URL must end in {CALLBACK_PATH} (the console's callback)")
        if not self.admins and not self.auditors:
            problems.append(
                "OIDC_ADMINS or OIDC_AUDITORS must name who may use the console (directory roles, groups or "
                "person ids, comma-separated), or nobody could sign in with single sign-on"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def configured(self) -> bool:
        return bool(self.discovery_url)

    def check_production(self) -> None:
        """Production talks to the provider over TLS only: a loopback http URL is for tests against a local fake."""
        for name in ("discovery_url", "redirect_url"):
            value = getattr(self, name)
            if value and urlsplit(value).scheme != "https":
                raise ValueError(f"OIDC_{name.upper()} must be https in production")


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)
