"""Many workspaces: Slack's OAuth install flow, with installations and OAuth states in our database.

slack_sdk's SQLAlchemy stores are synchronous; bolt's AsyncApp wants async stores, so each call
runs in a thread. SLACK_STATE_SECRET signs every state we issue, so a forged or altered state is
refused before any database lookup.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine

from bot.settings.slack import SlackSettings
from bot.slack.oauth_models import BOTS, INSTALLATIONS, STATES

STATE_SECONDS = 600


def installation_store(settings: SlackSettings, engine: Engine) -> SQLAlchemyInstallationStore:
    return SQLAlchemyInstallationStore(
        client_id=settings.client_id or "", engine=engine, installations_table_name=INSTALLATIONS, bots_table_name=BOTS
    )


class ThreadedInstallationStore(AsyncInstallationStore):
    """slack_sdk's synchronous SQLAlchemy store behind the async interface bolt's AsyncApp calls."""

    def __init__(self, store: SQLAlchemyInstallationStore) -> None:
        self.store = store

    @property
    def logger(self) -> Any:
        return self.store.logger

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.store.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.store.save_bot, bot)

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        return await asyncio.to_thread(
            self.store.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await asyncio.to_thread(
            self.store.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.store.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            self.store.delete_installation, enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )


class SignedStateStore(AsyncOAuthStateStore):
    """OAuth states kept in our database (any replica can finish an install), signed with the state secret."""

    def __init__(self, engine: Engine, secret: str) -> None:
        self.store = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine, table_name=STATES)
        self.secret = secret.encode()

    @property
    def logger(self) -> Any:
        return self.store.logger

    def _sign(self, state: str) -> str:
        return hmac.new(self.secret, state.encode(), hashlib.sha256).hexdigest()[:32]

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = await asyncio.to_thread(self.store.issue)
        return f"{state}.{self._sign(state)}"

    async def async_consume(self, state: str) -> bool:
        raw, _, signature = state.rpartition(".")
        if not raw or not hmac.compare_digest(signature, self._sign(raw)):
            return False
        return await asyncio.to_thread(self.store.consume, raw)


def oauth_flow(settings: SlackSettings, engine: Engine, client: AsyncWebClient) -> AsyncOAuthFlow:
    """/slack/install and /slack/oauth_redirect, storing each workspace's bot token in our database."""
    assert settings.client_secret is not None and settings.state_secret is not None  # checked by SlackSettings
    store = ThreadedInstallationStore(installation_store(settings, engine))
    return AsyncOAuthFlow(
        client=client,
        settings=AsyncOAuthSettings(
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            scopes=settings.scopes.split(","),
            installation_store=store,
            installation_store_bot_only=True,
            state_store=SignedStateStore(engine, settings.state_secret.get_secret_value()),
            install_path="/slack/install",
            redirect_uri_path="/slack/oauth_redirect",
        ),
    )
