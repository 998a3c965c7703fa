"""People named in Slack's ways: a <@U...> mention (with or without its |name), "@Priya Nair" typed as text (the
command's should_escape is false), and a users_select value; each is the directory person."""

from __future__ import annotations

import pytest
from fake_slack import TEAM
from slack_harness import running, slack_id


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def _delegate(slack) -> str | None:  # type: ignore[no-untyped-def]
    rows = slack.runtime.service.delegations(person="zoe.martin")
    return rows[0].delegate if rows else None


@pytest.mark.parametrize(
    "who",
    [f"<@{slack_id('priya.nair')}|priya>", f"<@{slack_id('priya.nair')}>", "@Priya Nair", "@priya", "@priya.nair"],
)
def test_delegate_to_a_mention_names_the_person(slack, who):  # type: ignore[no-untyped-def]
    """Zoe types /purchase delegate to <who> from today to Dec 4: Priya approves for her."""
    slack.command("zoe.martin", f"delegate to {who} from today to Dec 4", channel="CPURCHASING")
    assert _delegate(slack) == "priya.nair"


def test_a_typed_name_that_fits_no_one_is_not_guessed(slack):  # type: ignore[no-untyped-def]
    """A typed @Nobody Here is left as typed: no delegation is set to someone else."""
    assert slack.bot.named("Nobody Here") is None and slack.bot.named("") is None
    slack.command("zoe.martin", "delegate to @Nobody Here from today to Dec 4", channel="CPURCHASING")
    assert _delegate(slack) is None


def test_typed_mentions_keep_the_words_around_them(slack):  # type: ignore[no-untyped-def]
    """An e-mail address is no mention; '@Priya Nair.' keeps its full stop; an unknown '@ops' stays as typed."""
    plain = slack.bot.plain(TEAM, "ask @Priya Nair. or jake@example.com or @ops")
    assert plain == "ask Priya Nair. or jake@example.com or @ops"


def test_a_users_select_on_home_names_the_person(slack):  # type: ignore[no-untyped-def]
    """A users_select in the Home tab's delegation row sends Priya's Slack id: the delegation goes to her."""
    slack.event({"type": "app_home_opened", "user": slack_id("zoe.martin"), "tab": "home"})
    assert slack.fake.of("views.publish", user_id=slack_id("zoe.martin"))
    values = {
        "pb-home-delegate": {
            "pb_home:delegate_who": {"type": "users_select", "selected_user": slack_id("priya.nair")},
            "pb_home:delegate_from": {"type": "datepicker", "selected_date": "2026-11-23"},
            "pb_home:delegate_to": {"type": "datepicker", "selected_date": "2026-12-04"},
        }
    }
    slack.interact(
        {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": slack_id("zoe.martin"), "team_id": TEAM},
            "api_app_id": "APROCURE",
            "trigger_id": "trig-home",
            "container": {"type": "view", "view_id": "VHOME"},
            "view": {"type": "home", "id": "VHOME", "state": {"values": values}},
            "actions": [{"type": "button", "action_id": "pb_home:set_delegation", "block_id": "b", "action_ts": "1.5"}],
        }
    )
    assert _delegate(slack) == "priya.nair"
