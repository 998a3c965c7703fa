"""What every Slack listener needs: who the Slack user is, the assistant, replies sent back, slow work in threads.

Listeners (bot/slack/handlers) stay thin: they ack, pull ids out of the payload and call these
methods. The synchronous work (the database, the assistant, Web API calls) runs in `background`,
a small thread pool, so bolt's event loop only ever waits on the decision itself.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from approvals.credentials import Credential
from approvals.directory import Person
from bot.chat.dedupe import first_time, forget_before
from bot.chat.identity import Addresses, Identities
from bot.intake.assistant import Assistant, Reply
from bot.settings.slack import SlackSettings
from bot.slack import blocks, texts
from bot.slack.surface import SURFACE, SlackClients, SlackSurface

log = logging.getLogger("procurebot.slack")
PERSON_TTL = 300.0  # seconds a Slack user -> person resolution is kept in memory
PRUNE_SECONDS = 3600.0  # how often handled-event records older than a day are dropped


class Background:
    """Bounded thread pools for the work listeners hand off; `join()` waits for all of it.

    Two lanes, so a burst of slow Web API calls (card redraws, replies) never delays a decision a
    person is waiting on: ``decide`` for the core's work that Slack's answer waits for, the default
    lane for everything after it."""

    def __init__(self, workers: int = 16, deciders: int = 8) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack")
        self.deciders = ThreadPoolExecutor(max_workers=deciders, thread_name_prefix="slack-decide")
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any, decide: bool = False, **kwargs: Any) -> Future[Any]:
        future = (self.deciders if decide else self.pool).submit(self._guard, fn, *args, **kwargs)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    @staticmethod
    def _guard(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception:
            log.exception("Slack work %s failed", getattr(fn, "__name__", fn))
            raise

    def join(self, timeout: float = 30) -> None:
        """Wait until nothing is left (work may start more work)."""
        while True:
            with self._lock:
                pending = set(self._pending)
            if not pending:
                return
            wait(pending, timeout=timeout)

    def shutdown(self) -> None:
        self.deciders.shutdown(wait=True, cancel_futures=False)
        self.pool.shutdown(wait=True, cancel_futures=False)


@dataclass
class Where:
    """Where a listener's reply goes: a channel (a DM, or a channel for ephemeral replies) and a thread.

    `response_url` is the URL Slack sends with every slash command and tap on a message: an ephemeral
    answer posted there appears in place, to this person alone, in any conversation (also one the bot
    is not in, such as a DM between two colleagues), and can replace the message tapped."""

    team: str | None
    user: str
    channel: str | None = None
    thread: str | None = None
    ephemeral: bool = False
    message_ts: str | None = None  # the message whose button was tapped (it is updated in place)
    message_blocks: list[dict[str, Any]] = field(default_factory=list)
    response_url: str | None = None

    def only_to_them(self) -> "Where":
        """The same place, for words only this person sees (an ephemeral message, in place when Slack allows)."""
        return Where(self.team, self.user, self.channel, self.thread, ephemeral=True, response_url=self.response_url)


@dataclass
class SlackBot:
    settings: SlackSettings
    runtime: Any  # bot.runtime.Runtime
    assistant: Assistant
    identities: Identities
    addresses: Addresses
    clients: SlackClients
    surface: SlackSurface
    background: Background = field(default_factory=Background)
    app: Any = None  # the slack_bolt AsyncApp, set by bot.slack.app.build_slack
    _people: dict[tuple[str, str], tuple[Person | None, float]] = field(default_factory=dict, repr=False)
    _dms: dict[str, tuple[str | None, float]] = field(default_factory=dict, repr=False)
    _committed: threading.local = field(default_factory=threading.local, repr=False)
    _pruned_at: Any = field(default=None, repr=False)

    def on_commit(self, change: Any) -> None:
        """After-commit listener: tells a listener waiting in this thread that its decision is durable."""
        signal = getattr(self._committed, "signal", None)
        if signal is not None and not signal.done():
            signal.set_result(change.command)

    def expect_commit(self, signal: Future[Any] | None) -> None:
        self._committed.signal = signal

    @property
    def engine(self) -> Any:
        return self.runtime.engine

    def client(self, team: str | None) -> WebClient:
        return self.clients.client(team)

    # ------------------------------------------------------------------ identity
    def person(self, team: str | None, user: str) -> Person | None:
        """The directory person behind a Slack user (by Slack id, else by their Slack e-mail; cached).

        Resolutions are kept in memory for a few minutes on top of the shared table, so a busy
        approver's taps do not each cost a query; a directory change shows within PERSON_TTL."""
        if not user:
            return None  # an event without a user (a bot's, a system message) is nobody; never users.info("")
        key = (team or "", user)
        now = time.monotonic()
        hit = self._people.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        person = self._resolve(team, user)
        if len(self._people) > 10_000:
            self._people.clear()
        self._people[key] = (person, now + PERSON_TTL)
        return person

    def _resolve(self, team: str | None, user: str) -> Person | None:

        def email() -> str | None:
            try:
                found = self.client(team).users_info(user=user)
            except SlackApiError as exc:
                log.info("users.info for a Slack user failed: %s", exc.response.get("error"))
                return None
            return (found["user"].get("profile") or {}).get("email")

        return self.identities.person_for(SURFACE, user, tenant=team or "", email=email)

    def plain(self, team: str | None, text: str, *, at: bool = False) -> str:
        """What a person typed, with Slack's markup undone and @mentions turned into directory names ("@Priya Nair"
        with `at`, as a comment keeps them so that the person is told)."""
        mark = "@" if at else ""

        def name_of(user: str) -> str | None:
            person = self.person(team, user)
            return mark + person.name if person else None

        def named(words: str) -> str | None:
            name = self.named(words)
            return mark + name if name else None

        return blocks.typed_mentions(blocks.plain(text, name_of), named)

    def named(self, words: str) -> str | None:
        """The directory name of the one active person `words` (typed after an @) stand for: their full name, their
        person id or e-mail name (priya.nair), or a first name no one else has; None when no one or several."""
        key = words.strip().lower()
        if not key:
            return None
        people = [p for p in self.runtime.service.directory.people if p.active]
        for matches in (
            [p for p in people if p.name.lower() == key],
            [p for p in people if p.id.lower() == key or (p.email or "").lower().split("@")[0] == key],
            [p for p in people if p.name.lower().split()[0] == key],
        ):
            if len(matches) == 1:
                return matches[0].name
            if matches:
                return None
        return None

    def unknown(self, team: str | None, user: str) -> str:
        """The polite words for someone who is in Slack but not in the company directory."""
        if not user:
            return texts.UNKNOWN_PERSON_NO_EMAIL
        try:
            found = self.client(team).users_info(user=user)
            address = (found["user"].get("profile") or {}).get("email")
        except SlackApiError:
            address = None
        return texts.UNKNOWN_PERSON.format(email=address) if address else texts.UNKNOWN_PERSON_NO_EMAIL

    def first_time(self, key: str) -> bool:
        """True the first time Slack delivers this event/action; the records of handled events are pruned
        hourly (older than a day: Slack retries within minutes), so the table stays small."""
        now = self.runtime.service.clock()
        if self._pruned_at is None or (now - self._pruned_at).total_seconds() >= PRUNE_SECONDS:
            self._pruned_at = now
            self.background.submit(forget_before, self.engine, clock=self.runtime.service.clock)
        return first_time(self.engine, SURFACE, key, clock=self.runtime.service.clock)

    def remember_dm(self, person: Person, team: str | None, user: str, channel: str) -> None:
        address = {"channel": channel, "user": user, "team": team, "person": person.id}
        if self.dm_of(person.id) != channel:
            self.addresses.remember(SURFACE, person.id, address)
            self._dms[person.id] = (channel, time.monotonic() + PERSON_TTL)

    # ------------------------------------------------------------------ replies
    def dm_channel(self, person: Person | None, where: Where) -> str:
        if person is not None:
            address = self.surface.reach(person)
            if address:
                return str(address["channel"])
        opened = self.client(where.team).conversations_open(users=where.user)
        return str(opened["channel"]["id"])

    def send(self, where: Where, replies: list[Reply], person: Person | None = None) -> None:
        """Post each reply where the person spoke. Ephemeral ones go through the response_url when Slack sent one
        (in place, in any conversation), else chat.postEphemeral; either failing, they come in the person's DM."""
        if where.ephemeral and where.response_url:
            replies = self.respond(where, replies)
            if not replies:
                return
            where = replace(where, response_url=None)
        client = self.client(where.team)
        for done, reply in enumerate(replies):
            text = blocks.fallback(reply.card, reply.text)
            body = blocks.message_blocks(reply.card, reply.text)
            if where.ephemeral and where.channel:
                try:
                    client.chat_postEphemeral(channel=where.channel, user=where.user, text=text, blocks=body)
                    continue
                except SlackApiError as exc:
                    if exc.response.get("error") not in ("channel_not_found", "not_in_channel", "user_not_in_channel"):
                        raise
                    where = Where(where.team, where.user, self.dm_channel(person, where))
            channel = where.channel or self.dm_channel(person, where)
            try:
                client.chat_postMessage(
                    channel=channel,
                    text=text,
                    blocks=body,
                    thread_ts=where.thread,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except SlackApiError as exc:
                # a DM remembered as the bot's that is not (an old address): answer in place if Slack allows
                if exc.response.get("error") not in ("channel_not_found", "not_in_channel") or not where.response_url:
                    raise
                log.info("the Slack DM %s is not the bot's; answering through the response_url", channel)
                if self.respond(where.only_to_them(), replies[done:]):
                    raise
                return

    def say(self, where: Where, text: str, person: Person | None = None) -> None:
        self.send(where, [Reply(text)], person)

    def respond(self, where: Where, replies: list[Reply], *, replace_original: bool = False) -> list[Reply]:
        """Post replies through the command's or tap's response_url, ephemeral (the first replacing the tapped
        message when asked); returns those Slack did not take (the URL expired or was used five times)."""
        if not where.response_url:
            return replies
        hook = WebhookClient(where.response_url, timeout=10)
        for done, reply in enumerate(replies):
            response = hook.send(
                text=blocks.fallback(reply.card, reply.text),
                blocks=blocks.message_blocks(reply.card, reply.text),
                response_type="ephemeral",
                replace_original=replace_original and done == 0,
                unfurl_links=False,
                unfurl_media=False,
            )
            if response.status_code != 200:
                log.info("a Slack response_url refused an answer: %s %s", response.status_code, response.body)
                return replies[done:]
        return []

    def is_bot_dm(self, person: Person | None, team: str | None, user: str, channel: str | None) -> bool:
        """Whether `channel` is this person's DM with the bot. Known only from an event in the bot's IM or from
        conversations.open, never guessed from the channel id: a `D...` channel may be a DM between two people."""
        if not channel or not channel.startswith("D") or not user:
            return False
        if person is not None and self.dm_of(person.id) == channel:
            return True
        try:
            opened = self.client(team).conversations_open(users=user)
        except SlackApiError as exc:
            log.info("conversations.open for a Slack user failed: %s", exc.response.get("error"))
            return False
        dm = str(opened["channel"]["id"])
        if person is not None:
            self.remember_dm(person, team, user, dm)
        return dm == channel

    def own_dm(self, person: Person | None, where: Where) -> bool:
        """The tapped message is in this person's own DM with us (so redrawing it for them shows no one else)."""
        if person is None or not where.channel:
            return False
        return self.dm_of(person.id) == where.channel

    def dm_of(self, person_id: str) -> str | None:
        """The person's DM channel with us (remembered in the database; kept in memory for a few minutes)."""
        now = time.monotonic()
        hit = self._dms.get(person_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        address = self.addresses.get(SURFACE, person_id)
        channel = str(address["channel"]) if address and address.get("channel") else None
        if len(self._dms) > 10_000:
            self._dms.clear()
        self._dms[person_id] = (channel, now + PERSON_TTL)
        return channel

    def refresh_message(
        self, where: Where, replies: list[Reply], note: str | None = None, person: Person | None = None
    ) -> bool:
        """Redraw the message whose button was tapped: with the card as it is now, or as history (no buttons).

        Only a message procurebot drew (one of its buttons on it), and only where no one else sees this person's
        view: their own DM with the bot (chat.update), or an ephemeral message, which is replaced through the
        tap's response_url (replace_original), so no live buttons are left behind."""
        if not where.message_ts or not where.channel:
            return False
        if where.message_blocks and not blocks.is_ours(where.message_blocks):
            return False  # a message that is not one of our cards is never rewritten
        if not where.ephemeral and not self.own_dm(person, where):
            return False
        card = next((r.card for r in replies if r.card is not None and r.card.number), None)
        if card is not None:
            body = blocks.message_blocks(card, "")
            text = blocks.fallback(card, "")
        elif where.message_blocks or note:
            body = blocks.without_actions(where.message_blocks, note)
            text = blocks.escape(note) if note else blocks.summary_text(where.message_blocks)
        else:
            return False
        if where.ephemeral:
            if where.response_url:
                response = WebhookClient(where.response_url, timeout=10).send(
                    text=text, blocks=body, response_type="ephemeral", replace_original=True
                )
                if response.status_code == 200:
                    return True
                log.info("could not replace a tapped ephemeral Slack message: %s", response.body)
            return False
        try:
            self.client(where.team).chat_update(channel=where.channel, ts=where.message_ts, text=text, blocks=body)
        except SlackApiError as exc:  # the message may be gone; the reply still reaches the person
            log.info("could not redraw a tapped Slack message: %s", exc.response.get("error"))
            return False
        return True


def slack_credential(team: str | None, user: str, person_id: str) -> Credential:
    """The credential of a verified Slack request: the workspace and the user it came from, as the audit keeps it."""
    return Credential(kind="slack", id=f"{team or '-'}:{user}", name=f"Slack {team or '-'}/{user}", person=person_id)
