"""A workspace removes procurebot or revokes its tokens: its installation goes, and nothing is retried there."""

from __future__ import annotations

import logging

import pytest
from fake_slack import BOT_USER, TEAM
from slack_harness import TOKEN, WRAP, number_in, running
from sqlalchemy import text
from test_slack_oauth import OAUTH, _install

from approvals.commands import Approve

INSTALLED = f"xoxb-installed-{TEAM}"


def _submit(slack) -> str:  # type: ignore[no-untyped-def]
    slack.dm("jake.miller", WRAP)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    return number_in(slack.card_to("zoe.martin", "approve"))


def _rows(slack, table: str) -> int:  # type: ignore[no-untyped-def]
    with slack.runtime.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table} WHERE team_id = :t"), {"t": TEAM}).scalar())


def _sync_jobs(slack) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    with slack.runtime.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT state, attempts FROM job WHERE kind = 'chat.sync'"))]


def _approve_outside_slack(slack, number: str) -> None:  # type: ignore[no-untyped-def]
    slack.runtime.service.approve(Approve(actor="zoe.martin", number=number))
    slack.settle()


def test_app_uninstalled_deletes_the_installation_and_stops_delivery(db_url, clock, directory):  # type: ignore[no-untyped-def]
    """The workspace uninstalls procurebot: its installation is deleted, and a later approval (in the console)
    sends nothing to Slack and leaves no job retrying."""
    with running(db_url, clock, directory, **OAUTH) as slack:
        assert _install(slack).status_code == 200
        slack.dm("zoe.martin", "hello")  # many workspaces: the app learns Zoe's workspace when she writes
        number = _submit(slack)
        assert _rows(slack, "slack_bots") == 1 and _rows(slack, "slack_installations") == 1

        assert slack.event({"type": "app_uninstalled"}).status_code == 200
        assert _rows(slack, "slack_bots") == 0 and _rows(slack, "slack_installations") == 0
        slack.fake.refuse(INSTALLED, "account_inactive")  # what Slack would answer from now on
        calls = len(slack.fake.calls)

        _approve_outside_slack(slack, number)
        clock.advance(hours=2)
        slack.settle()
        assert slack.runtime.service.view(number).state in ("approved", "po_pending", "po_created")
        assert slack.fake.calls[calls:] == []
        assert _sync_jobs(slack) and all(state == "done" for state, _ in _sync_jobs(slack))


def test_tokens_revoked_deletes_only_the_revoked_tokens(db_url, clock, directory):  # type: ignore[no-untyped-def]
    """A user's token is revoked: the bot still answers. Then the bot's token is revoked: it is deleted and
    the workspace gets nothing more."""
    with running(db_url, clock, directory, **OAUTH) as slack:
        assert _install(slack).status_code == 200
        slack.event({"type": "tokens_revoked", "tokens": {"oauth": ["UINSTALLER"]}})
        assert _rows(slack, "slack_installations") == 0 and _rows(slack, "slack_bots") == 1
        slack.dm("jake.miller", "hello")
        assert slack.posts_to("jake.miller")

        slack.event({"type": "tokens_revoked", "tokens": {"bot": [BOT_USER]}})
        assert _rows(slack, "slack_bots") == 0
        calls = len(slack.fake.calls)
        slack.dm("jake.miller", "hello again")
        assert slack.fake.calls[calls:] == []


def test_revoked_bot_token_in_one_workspace_mode_is_a_permanent_failure(db_url, clock, directory, caplog):  # type: ignore[no-untyped-def]
    """With SLACK_BOT_TOKEN, Slack starts answering token_revoked: the sync tries once, logs how to reconnect,
    finishes its job without retries, and later changes make no Slack calls at all."""
    with running(db_url, clock, directory) as slack:
        number = _submit(slack)
        slack.fake.refuse(TOKEN, "token_revoked")
        calls = len(slack.fake.calls)
        with caplog.at_level(logging.ERROR, logger="procurebot.slack"):
            _approve_outside_slack(slack, number)
        refused = slack.fake.calls[calls:]
        assert len(refused) == 1 and refused[0].result["error"] == "token_revoked"
        assert any("SLACK_BOT_TOKEN" in r.getMessage() and "stops posting" in r.getMessage() for r in caplog.records)
        assert TOKEN not in caplog.text
        assert all(state == "done" for state, _ in _sync_jobs(slack))

        slack.runtime.chat.enqueue_event(number, "erp")
        clock.advance(hours=2)
        slack.settle()
        assert len(slack.fake.calls) == calls + 1


@pytest.mark.parametrize(
    "event", [{"type": "app_uninstalled"}, {"type": "tokens_revoked", "tokens": {"bot": [BOT_USER]}}]
)
def test_uninstall_event_in_one_workspace_mode_stops_posting(db_url, clock, directory, caplog, event):  # type: ignore[no-untyped-def]
    """With SLACK_BOT_TOKEN, Slack says the app was uninstalled (or its bot token revoked): the log says so and
    how to reconnect, and the next change posts nothing to Slack."""
    with running(db_url, clock, directory) as slack:
        number = _submit(slack)
        with caplog.at_level(logging.ERROR, logger="procurebot.slack"):
            assert slack.event(event).status_code == 200
        assert any("SLACK_BOT_TOKEN" in r.getMessage() for r in caplog.records)
        calls = len(slack.fake.calls)
        _approve_outside_slack(slack, number)
        assert slack.fake.calls[calls:] == []
        assert all(state == "done" for state, _ in _sync_jobs(slack))


def test_reminder_for_a_gone_workspace_goes_to_the_fallback(db_url, clock, directory):  # type: ignore[no-untyped-def]
    """Slack refuses the token; a reminder for Zoe and a notice in Jake's thread are not retried against Slack:
    they reach the fallback notifier (the log, the web chat) instead, as for anyone not on chat."""
    from approvals.notices import Notice
    from bot.chat.delivery import ChatNotifier
    from bot.notify import RecordingNotifier

    with running(db_url, clock, directory) as slack:
        number = _submit(slack)
        slack.fake.refuse(TOKEN, "account_inactive")
        fallback = RecordingNotifier()
        notifier = ChatNotifier(slack.runtime.chat, fallback=fallback)
        notifier.send("zoe.martin", Notice(kind="reminder", text=f"{number} waits for you", key="r1", number=number))
        notifier.send("jake.miller", Notice(kind="info", text=f"{number} moved", key="r2", number=number))
        assert [n.key for n in fallback.to("zoe.martin")] == ["r1"]
        assert [n.key for n in fallback.to("jake.miller")] == ["r2"]
        assert len([c for c in slack.fake.calls if c.token == TOKEN and not c.result.get("ok")]) == 1
