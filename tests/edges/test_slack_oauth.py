"""Many workspaces: the OAuth install stores the workspace's bot token in our database, and it is then used."""

from __future__ import annotations

import re

import pytest
from fake_slack import TEAM
from slack_harness import WRAP, running
from sqlalchemy import text

from bot.settings.slack import SlackSettings

OAUTH = {
    "bot_token": None,
    "client_id": "1111.2222",
    "client_secret": "client-secret-value",
    "state_secret": "state-secret-value-0123456789",
}


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory, **OAUTH) as harness:
        yield harness


def _install(slack, code: str = "good-code", tamper: bool = False):  # type: ignore[no-untyped-def]
    page = slack.client.get("/slack/install")
    assert page.status_code == 200
    state = re.search(r"state=([^&\"']+)", page.text).group(1)
    if tamper:
        state = state[:-1] + ("0" if state[-1] != "0" else "1")
    # the browser's state cookie (Secure: the test client, on http, would not send it back by itself)
    cookie = page.headers["set-cookie"].split(";")[0]
    return slack.client.get("/slack/oauth_redirect", params={"code": code, "state": state}, headers={"Cookie": cookie})


def test_install_stores_the_workspace_and_its_token_is_used(slack):  # type: ignore[no-untyped-def]
    """An admin installs the app: the workspace's bot token lands in our database and DMs are answered with it."""
    done = _install(slack)
    assert done.status_code == 200
    with slack.runtime.engine.connect() as conn:
        (team, token) = conn.execute(text("SELECT team_id, bot_token FROM slack_bots")).one()
    assert team == TEAM and token == f"xoxb-installed-{TEAM}"
    slack.dm("jake.miller", WRAP)
    replies = slack.posts_to("jake.miller")
    assert replies and replies[-1].token == f"xoxb-installed-{TEAM}"


def test_forged_oauth_state_is_refused_and_nothing_stored(slack):  # type: ignore[no-untyped-def]
    """A redirect whose state was not issued by us (or was altered) installs nothing."""
    res = _install(slack, tamper=True)
    assert res.status_code >= 400
    with slack.runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM slack_bots")).scalar() == 0


def test_events_from_a_workspace_that_never_installed_are_not_answered(slack):  # type: ignore[no-untyped-def]
    """Without an installation for the team there is no token: nothing is posted, nothing fails loudly."""
    res = slack.dm("jake.miller", "hello")
    assert res.status_code in (200, 401)
    assert slack.posts_to("jake.miller") == []


def test_settings_fail_fast_with_clear_messages():
    """Half-configured Slack settings are refused at start-up, naming what is missing or wrong."""
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        SlackSettings(bot_token="xoxb-1", _env_file=None)
    with pytest.raises(ValueError, match="SLACK_CLIENT_SECRET and SLACK_STATE_SECRET"):
        SlackSettings(client_id="1.2", signing_secret="s", _env_file=None)
    with pytest.raises(ValueError, match="xapp-"):
        SlackSettings(bot_token="xoxb-1", signing_secret="s", app_token="xoxb-wrong", _env_file=None)
    assert not SlackSettings(_env_file=None).enabled
    assert (
        SlackSettings(
            bot_token="xoxb-1", signing_secret="s", api_base_url="https://slack-gov.com/api", _env_file=None
        ).base_url
        == "https://slack-gov.com/api/"
    )
