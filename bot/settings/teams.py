"""The Teams section of the settings (`Settings.teams`), read from TEAMS_* environment variables (and .env).

The overrides at the bottom exist for tests (a local fake Bot Framework on 127.0.0.1); in
production they must keep their defaults, and `check_production` says so at start-up.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BOT_FRAMEWORK_OPENID = "https://login.botframework.com/v1/.well-known/openidconfiguration"
ENTRA_LOGIN = "https://login.microsoftonline.com"
# Where Teams' Bot Framework connector lives (public cloud, GCC, GCC High, DoD); activities from
# anywhere else are refused and nothing is ever sent there.
# OneDrive for Business and SharePoint, where Teams keeps a file sent in a personal chat
FILE_URLS = (r"https://[A-Za-z0-9-]+\.sharepoint\.com/.*",)
SERVICE_URLS = (
    r"https://smba\.trafficmanager\.net/[^\s]*",
    r"https://smba\.infra\.(gcc|gov|dod)\.teams\.microsoft\.(com|us)/[^\s]*",
    r"https://[a-z0-9.-]+\.botframework\.(com|us|azure\.us)/[^\s]*",
)


class TeamsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEAMS_", env_file=".env", extra="ignore")

    app_id: str | None = None  # the bot's Microsoft App ID (Entra app registration, client id)
    app_password: SecretStr | None = None  # a client secret of that registration...
    certificate_path: Path | None = None  # ...or a PEM file with the private key and its certificate
    certificate_thumbprint: str | None = None  # only for a key-only PEM: the SHA-1 thumbprint shown in Entra
    tenant_id: str | None = None  # the Entra tenant of a single-tenant bot (Azure Bot "SingleTenant")
    # HMAC key for the data on card buttons; unset: derived from the app password or certificate
    card_secret: SecretStr | None = None
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)

    # ---- test-only overrides (production refuses anything but the defaults)
    openid_metadata_url: str = BOT_FRAMEWORK_OPENID  # its sibling ".../keys" is the JWKS
    token_authority_host: str = ENTRA_LOGIN  # msal client credentials: {host}/{tenant}
    token_ca_bundle: str | None = None  # a CA file msal trusts (a local fake with its own certificate)
    service_url_allow: list[str] = Field(default_factory=lambda: list(SERVICE_URLS))  # regexes, whole URL
    # where a file sent to the bot in a personal chat may be downloaded from (its pre-authorized downloadUrl, in the
    # sender's OneDrive); regexes, whole URL. Anything else is never fetched.
    file_url_allow: list[str] = Field(default_factory=lambda: list(FILE_URLS))

    @field_validator("service_url_allow", "file_url_allow")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"TEAMS_*_URL_ALLOW has a bad pattern {pattern!r}: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _credentials_complete(self) -> "TeamsSettings":
        if not self.app_id:
            return self
        if self.app_password is None and self.certificate_path is None:
            raise ValueError(
                "TEAMS_APP_ID is set but neither TEAMS_APP_PASSWORD nor TEAMS_CERTIFICATE_PATH is: "
                "give the bot's client secret or certificate from its Entra app registration"
            )
        if self.certificate_path is not None and not self.certificate_path.is_file():
            raise ValueError(f"TEAMS_CERTIFICATE_PATH {self.certificate_path} is not a readable file")
        if self.app_password is not None and len(self.app_password.get_secret_value()) < 8:
            raise ValueError("TEAMS_APP_PASSWORD looks truncated; paste the whole client secret value")
        for name in ("openid_metadata_url", "token_authority_host"):
            url = urlsplit(getattr(self, name))
            if url.scheme != "https" and url.hostname not in ("127.0.0.1", "localhost"):
                raise ValueError(f"TEAMS_{name.upper()} must be https")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.app_id)

    def overridden(self) -> list[str]:
        """The test-only settings that differ from their production defaults."""
        names = []
        if self.openid_metadata_url != BOT_FRAMEWORK_OPENID:
            names.append("TEAMS_OPENID_METADATA_URL")
        if self.token_authority_host != ENTRA_LOGIN:
            names.append("TEAMS_TOKEN_AUTHORITY_HOST")
        if self.service_url_allow != list(SERVICE_URLS):
            names.append("TEAMS_SERVICE_URL_ALLOW")
        if self.file_url_allow != list(FILE_URLS):
            names.append("TEAMS_FILE_URL_ALLOW")
        return names

    def check_production(self) -> None:
        """Fail fast when test-only overrides reach a production server."""
        names = self.overridden()
        if names:
            raise ValueError(
                f"{', '.join(names)} are for tests against a local fake Bot Framework; unset them in "
                "production so tokens are checked against the real Bot Framework keys"
            )

    def service_url_allowed(self, url: str) -> bool:
        return any(re.fullmatch(p, url) for p in self.service_url_allow)

    def file_url_allowed(self, url: str) -> bool:
        return any(re.fullmatch(p, url) for p in self.file_url_allow)

    def card_key(self) -> bytes:
        """The HMAC key for card button data: TEAMS_CARD_SECRET, else derived from the bot's credential."""
        import hashlib
        import hmac

        if self.card_secret is not None:
            return self.card_secret.get_secret_value().encode()
        base = (
            self.app_password.get_secret_value().encode()
            if self.app_password is not None
            else self.certificate_path.read_bytes()
            if self.certificate_path is not None
            else b""
        )
        return hmac.new(base, b"procurebot teams card data", hashlib.sha256).digest()
