"""The Slack section of the settings (`Settings.slack`), read from SLACK_* (names as Slack's own docs use them)."""

from __future__ import annotations

from pydantic import AnyHttpUrl, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API = "https://slack.com/api/"


class SlackSettings(BaseSettings):
    """One workspace: SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET. Many: SLACK_CLIENT_ID/SECRET/STATE_SECRET
    (OAuth, installations stored in our database). SLACK_APP_TOKEN adds Socket Mode (no public URL)."""

    model_config = SettingsConfigDict(env_prefix="SLACK_", env_file=".env", extra="ignore")

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None  # xapp-...: Socket Mode
    client_id: str | None = None
    client_secret: SecretStr | None = None
    state_secret: SecretStr | None = None
    scopes: str = "chat:write,commands,files:read,im:history,im:write,users:read,users:read.email"
    api_base_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_API)  # GovSlack: https://slack-gov.com/api/
    # threads that run decisions (the core serialises approvals on its audit chain, so a few are enough;
    # more only make them queue on its lock while holding Python's) and threads for the slower Web API calls
    decide_threads: int = Field(default=4, ge=1, le=64)
    reply_threads: int = Field(default=16, ge=1, le=256)

    @model_validator(mode="after")
    def _complete(self) -> "SlackSettings":
        if not self.enabled:
            return self
        problems = []
        if self.signing_secret is None and self.app_token is None:
            problems.append("SLACK_SIGNING_SECRET is required to verify requests from Slack")
        if self.oauth and (self.client_secret is None or self.state_secret is None):
            problems.append("OAuth needs SLACK_CLIENT_SECRET and SLACK_STATE_SECRET with SLACK_CLIENT_ID")
        if self.bot_token is not None and not self.bot_token.get_secret_value().startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN must be a bot token (xoxb-...)")
        if self.app_token is not None and not self.app_token.get_secret_value().startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN must be an app-level token (xapp-...) with connections:write")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def oauth(self) -> bool:
        return bool(self.client_id)

    @property
    def enabled(self) -> bool:
        """Slack is configured: a bot token, or OAuth for many workspaces."""
        return self.bot_token is not None or self.oauth

    @property
    def base_url(self) -> str:
        url = str(self.api_base_url)
        return url if url.endswith("/") else url + "/"
