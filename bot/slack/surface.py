"""Slack as a chat surface of the delivery layer (bot/chat): reach a person, post a card, update it.

Calls use slack_sdk's synchronous WebClient (the delivery worker and the listeners' slow work run
in threads). Its RateLimitErrorRetryHandler is the one layer that retries a 429, sleeping for
Slack's Retry-After; every other failure is raised, and the delivery job retries later, except a
workspace that is gone (uninstalled, token revoked): that is `WorkspaceGone`, which the delivery
layer skips for good instead of retrying.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy import Engine
from sqlmodel import Session, select

from approvals.directory import Person
from bot.cards.model import Card
from bot.chat.delivery import Unreachable
from bot.chat.identity import Addresses, Identities
from bot.chat.models import ChatIdentity
from bot.chat.surface import Address
from bot.settings.slack import SlackSettings
from bot.slack import blocks

log = logging.getLogger("procurebot.slack")
SURFACE = "slack"
# a DM channel we remembered is gone (the user left, the app was reinstalled): open it again once
_GONE = {"channel_not_found", "is_archived", "not_in_channel"}
# the token no longer works: the app was uninstalled, the token revoked, the workspace deleted
REFUSED = {"account_inactive", "token_revoked", "invalid_auth"}


class WorkspaceGone(Unreachable, LookupError):
    """procurebot has no working token for a Slack workspace: nothing is posted there until it is installed again."""


class SlackClients:
    """A WebClient per workspace: the one bot token, or the token stored for the team at install time."""

    def __init__(self, settings: SlackSettings, installation_store: Any = None) -> None:
        self.settings = settings
        self.installation_store = installation_store
        self._clients: dict[str, WebClient] = {}
        self._refused: set[str] = set()  # tokens Slack refused for good (kept in memory, never logged)
        self._lock = threading.Lock()

    @property
    def single(self) -> bool:
        """One workspace, one bot token from SLACK_BOT_TOKEN (no installations in our database)."""
        return self.settings.bot_token is not None

    def token_for(self, team: str | None) -> str | None:
        if self.settings.bot_token is not None:
            return self.settings.bot_token.get_secret_value()
        if self.installation_store is None or not team:
            return None
        bot = self.installation_store.find_bot(enterprise_id=None, team_id=team)
        return bot.bot_token if bot is not None else None

    def client(self, team: str | None = None, *, token: str | None = None) -> WebClient:
        token = token or self.token_for(team)
        if token is None:
            raise WorkspaceGone(f"procurebot is not installed in the Slack workspace {team or '(unknown)'}")
        if token in self._refused:
            raise WorkspaceGone(f"Slack refused procurebot's token for the workspace {team or '(unknown)'}")
        with self._lock:
            client = self._clients.get(token)
            if client is None:
                client = WebClient(token=token, base_url=self.settings.base_url, timeout=10)
                client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
                self._clients[token] = client
            return client

    def refuse(self, token: str | None, team: str | None, why: str) -> None:
        """Slack will not take this token any more: stop using it (a new install brings a new token)."""
        if token is None or token in self._refused:
            return
        with self._lock:
            self._refused.add(token)
            self._clients.pop(token, None)
        if self.single:
            log.error(
                "Slack %s for the workspace %s: procurebot stops posting to Slack. Reinstall the app, put its "
                "new bot token in SLACK_BOT_TOKEN and restart procurebot.",
                why,
                team or "(SLACK_BOT_TOKEN)",
            )
        else:
            log.warning(
                "Slack %s for the workspace %s: nothing is posted there until it installs procurebot again",
                why,
                team or "(unknown)",
            )


class SlackSurface:
    """The delivery layer's port to Slack. Addresses are ``{"channel": D.., "user": U.., "team": T.., "person": id}``;
    a message reference is its ``ts`` (the channel is in the address)."""

    name = SURFACE

    def __init__(
        self,
        engine: Engine,
        clients: SlackClients,
        identities: Identities,
        addresses: Addresses,
        settings: SlackSettings,
    ) -> None:
        self.engine = engine
        self.clients = clients
        self.identities = identities
        self.addresses = addresses
        self.settings = settings

    # ------------------------------------------------------------------ the port
    def reach(self, person: Person) -> Address | None:
        known = self.addresses.get(SURFACE, person.id)
        if known and known.get("channel"):
            return known
        try:
            user, team = self._user_of(person)
            if user is None:
                return None
            with self._refusals(team):
                return self._open(person.id, user, team)
        except WorkspaceGone:
            return None  # not reachable on Slack any more; the other platforms still are

    def post(self, address: Address, card: Card | None, text: str, *, thread: str | None = None) -> str:
        with self._refusals(address.get("team")):
            try:
                return self._post(address, card, text, thread)
            except SlackApiError as exc:
                if exc.response.get("error") not in _GONE or not address.get("user") or thread:
                    raise
                log.info("the Slack DM of %s is gone; opening it again", address.get("user"))
                fresh = self._reopen(address)
                return self._post(fresh, card, text, thread)

    def update(self, address: Address, ref: str, card: Card, text: str) -> None:
        with self._refusals(address.get("team")):
            client = self.clients.client(address.get("team"))
            client.chat_update(
                channel=address["channel"],
                ts=ref,
                text=blocks.fallback(card, text),
                blocks=blocks.message_blocks(card, "", kept=True),
            )

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def _refusals(self, team: str | None) -> Iterator[None]:
        """A token Slack refuses for good (uninstalled, revoked) becomes `WorkspaceGone`: skipped, never retried."""
        try:
            yield
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error not in REFUSED:
                raise
            self.clients.refuse(self.clients.token_for(team), team, f"answered {error}")
            raise WorkspaceGone(f"Slack answered {error} for the workspace {team or '(unknown)'}") from exc

    def _post(self, address: Address, card: Card | None, text: str, thread: str | None) -> str:
        client = self.clients.client(address.get("team"))
        response = client.chat_postMessage(
            channel=address["channel"],
            text=blocks.fallback(card, text),
            blocks=blocks.message_blocks(card, "" if card else text, kept=True),
            thread_ts=thread,
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])

    def _user_of(self, person: Person) -> tuple[str | None, str | None]:
        user = self.identities.external_id_for(SURFACE, person)
        team = self._team_of(person.id)
        if user is not None:
            return user, team
        if self.settings.oauth and team is None:
            return None, None  # many workspaces: we cannot guess which one to search
        try:
            with self._refusals(team):
                found = self.clients.client(team).users_lookupByEmail(email=person.email)
        except SlackApiError as exc:
            if exc.response.get("error") in ("users_not_found", "user_not_found"):
                return None, None
            raise
        user = found["user"]["id"]
        team = found["user"].get("team_id") or team
        self.identities.person_for(SURFACE, user, tenant=team or "", email=lambda: person.email)  # cache it
        return user, team

    def _team_of(self, person_id: str) -> str | None:
        with Session(self.engine) as session:
            row = session.exec(
                select(ChatIdentity).where(ChatIdentity.surface == SURFACE, ChatIdentity.person_id == person_id)
            ).first()
            return (row.tenant or None) if row else None

    def _open(self, person_id: str, user: str, team: str | None) -> Address:
        opened = self.clients.client(team).conversations_open(users=user)
        address = {"channel": opened["channel"]["id"], "user": user, "team": team, "person": person_id}
        self.addresses.remember(SURFACE, person_id, address)
        return address

    def _reopen(self, address: Address) -> Address:
        opened = self.clients.client(address.get("team")).conversations_open(users=address["user"])
        fresh = {**address, "channel": opened["channel"]["id"]}
        person_id = address.get("person")
        if person_id is None:
            person = self.identities.person_for(SURFACE, address["user"], tenant=address.get("team") or "")
            person_id = person.id if person else None
        if person_id is not None:
            self.addresses.remember(SURFACE, person_id, fresh)
        return fresh
