"""Building the Slack app: the bolt AsyncApp with our listeners, the Slack surface registered for delivery."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.identity import Addresses, Identities
from bot.intake.assistant import Assistant
from bot.runtime import Runtime
from bot.settings.slack import SlackSettings
from bot.slack.bot import Background, SlackBot
from bot.slack.handlers import actions, commands, home, messages, modals, options, shortcuts, uninstall
from bot.slack.surface import SURFACE, SlackClients, SlackSurface

log = logging.getLogger("procurebot.slack")


class _KnownNoise(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN itself and warns that the token in our client wins; it does, on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("As you gave `client` as well")


BOLT_LOG = logging.getLogger("procurebot.slack.bolt")
BOLT_LOG.addFilter(_KnownNoise())


def build_slack(runtime: Runtime, settings: SlackSettings) -> SlackBot:
    """The Slack app for this runtime. Registers the Slack surface, so every card copy in Slack stays true."""
    from bot.slack.oauth import installation_store, oauth_flow

    engine, directory, service = runtime.engine, runtime.directory, runtime.service
    identities = Identities(engine, directory, clock=service.clock)
    addresses = Addresses(engine, clock=service.clock)
    clients = SlackClients(settings, installation_store(settings, engine) if settings.oauth else None)
    surface = SlackSurface(engine, clients, identities, addresses, settings)
    assistant = Assistant(
        service,
        directory,
        surface=SURFACE,
        draft_ttl=timedelta(hours=runtime.settings.chat_draft_ttl_hours),
        calendars=runtime.scheduler.calendars,
        classifier=runtime.llm.categories.classifier if runtime.llm.categories else None,
        suggester=runtime.llm.suggester,  # LLM category suggestions, when a model is configured
        summaries=runtime.llm.summaries,  # approvers' notes
    )
    bot = SlackBot(
        settings=settings,
        runtime=runtime,
        assistant=assistant,
        identities=identities,
        addresses=addresses,
        clients=clients,
        surface=surface,
        background=Background(settings.reply_threads, settings.decide_threads),
    )
    token = settings.bot_token.get_secret_value() if settings.bot_token and not settings.oauth else None
    client = AsyncWebClient(token=token, base_url=settings.base_url, timeout=10)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    secret = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
    # process_before_response: the HTTP answer goes when the listener returns; every listener acks first
    # and hands slow work to `bot.background`, so Slack never waits more than the decision itself.
    app = AsyncApp(
        client=client,
        signing_secret=secret,
        process_before_response=True,
        request_verification_enabled=bool(secret),
        logger=BOLT_LOG,
        oauth_flow=oauth_flow(settings, engine, client) if settings.oauth else None,
        raise_error_for_unhandled_request=False,
        name="procurebot",
    )
    for module in (messages, commands, actions, modals, options, home, shortcuts, uninstall):
        module.register(app, bot)
    actions.register_fallback(app, bot)  # last: only actions no listener above takes
    bot.app = app
    if bot.on_commit not in runtime.commit_listeners:
        runtime.commit_listeners.append(bot.on_commit)  # a tap's HTTP answer waits for its commit, not its reply
    chat = runtime.chat
    chat.surfaces[:] = [s for s in chat.surfaces if getattr(s, "name", None) != SURFACE] + [surface]
    return bot
