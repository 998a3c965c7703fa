"""One requisition, two platforms: a requester in Teams and an approver in Slack (and the other way
round) work on the same request, and every card on both platforms stays true."""

from __future__ import annotations

import itertools
from typing import Iterator

import pytest
from fake_slack import FakeSlackServer
from fake_teams import FakeTeams, execute_actions, texts_of
from fastapi.testclient import TestClient
from slack_harness import SECRET, TOKEN, Slack, has_button, slack_id, text_of
from teams_harness import WRAP, Harness, only_card

from bot.api.app import create_app
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.settings.slack import SlackSettings
from bot.slack import mount as slack_mount

IN_TEAMS = {"jake.miller", "maria.lopez"}  # everyone else is in Slack


@pytest.fixture
def both(db_url, clock, directory, tmp_path, monkeypatch) -> Iterator[tuple[Harness, Slack]]:  # type: ignore[no-untyped-def]
    """The real server with Slack and Teams both configured, each against its local fake."""
    server = FakeSlackServer()
    server.fake.users = {slack_id(p.id): p.email for p in directory.people if p.id not in IN_TEAMS}
    with server as slack_api, FakeTeams(tmp_path) as teams_api:
        for key, value in teams_api.env().items():
            monkeypatch.setenv(key, value)
        settings = Settings(database_url=db_url, admin_token=None, env="dev", var_dir=tmp_path / "var", _env_file=None)
        runtime = build_runtime(settings)
        runtime.service.clock = clock
        runtime.chat.clock = clock
        app = create_app(settings, runtime=runtime)
        slack_mount.install(
            app, SlackSettings(api_base_url=server.base_url, bot_token=TOKEN, signing_secret=SECRET, _env_file=None)
        )
        with TestClient(app) as client:
            assert {s.name for s in runtime.chat.surfaces} == {"slack", "teams"}
            yield Harness(client, teams_api, runtime), Slack(client, slack_api, runtime, clock, itertools.count(1))
        runtime.engine.dispose()


def test_teams_requester_slack_approver_both_cards_updated(both):  # type: ignore[no-untyped-def]
    """Jake asks in Teams; Zoe gets the card in Slack and approves there; Jake's Teams card and thread follow."""
    teams, slack = both
    summary = only_card(teams.say("jake.miller", WRAP))
    res = teams.tap("jake.miller", summary, "submit")
    number = texts_of(res.json()["value"]).split()[0]
    slack.settle()
    zoe_card = slack.card_to("zoe.martin", "approve", number)
    assert "Why you:" in text_of(zoe_card)
    jake = teams.user("jake.miller")
    (root,) = [c for c in teams.fake.bf.cards_to(jake) if texts_of(c["card"]).startswith(number)]
    assert slack.posts_to("jake.miller") == []  # Jake is not on Slack

    slack.tap("zoe.martin", zoe_card, "approve")
    assert teams.runtime.service.view(number).state in ("approved", "po_pending", "po_created")
    assert not has_button(slack.updates_of(zoe_card)[-1], "approve")
    now = teams.fake.bf.updates_of(root["id"])[-1]
    assert "Zoe Martin" in texts_of(now) and "withdraw" not in execute_actions(now)
    assert any("Zoe Martin approved" in t for t in teams.fake.bf.texts_to(jake))


def test_slack_requester_teams_approver_both_cards_updated(both):  # type: ignore[no-untyped-def]
    """Emily asks in Slack; Maria approves from her Teams card; Emily's Slack card and thread follow."""
    teams, slack = both
    teams.install("maria.lopez")
    slack.dm("emily.davis", WRAP)
    slack.tap("emily.davis", slack.card_to("emily.davis", "submit"), "submit")
    maria = teams.user("maria.lopez")
    (approval,) = teams.fake.bf.cards_to(maria)
    number = texts_of(approval["card"]).split(":")[0]
    assert number.startswith("PR-") and "approve" in execute_actions(approval["card"])
    root = slack.root("emily.davis", number)

    res = teams.tap("maria.lopez", approval["card"], "approve")
    assert res.status_code == 200 and "approve" not in execute_actions(res.json()["value"])
    slack.settle()
    assert teams.runtime.service.view(number).state in ("approved", "po_pending", "po_created")
    assert "Approved by Maria Lopez" in text_of(slack.updates_of(root)[-1])
    assert any("Maria Lopez approved" in t for t in slack.thread(root))
    assert "approve" not in execute_actions(teams.fake.bf.updates_of(approval["id"])[-1])
