"""The App Home tab: what waits for me, my open requests, my delegation (set and end), recent activity."""

from __future__ import annotations

import json

import pytest
from slack_harness import TEAM, WRAP, running, slack_id


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def _open_home(slack, person: str) -> dict:  # type: ignore[no-untyped-def]
    slack.event({"type": "app_home_opened", "user": slack_id(person), "channel": "D" + slack_id(person), "tab": "home"})
    return _published(slack, person)


def _published(slack, person: str) -> dict:  # type: ignore[no-untyped-def]
    view = slack.fake.of("views.publish", user_id=slack_id(person))[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def _home_tap(slack, person: str, home: dict, action_id: str, values: dict | None = None) -> None:  # type: ignore[no-untyped-def]
    element = next(
        e
        for b in home["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id", "").startswith(action_id)
    )
    slack.interact(
        {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": slack_id(person), "team_id": TEAM},
            "api_app_id": "A",
            "trigger_id": "trig-h",
            "container": {"type": "view", "view_id": "VHOME"},
            "view": {**home, "id": "VHOME", "state": {"values": values or {}}},
            "actions": [
                {
                    "type": element["type"],
                    "action_id": element["action_id"],
                    "value": element.get("value", ""),
                    "action_ts": "1.5",
                    "block_id": "b",
                }
            ],
        }
    )


def test_home_shows_pending_approvals_with_buttons_and_approving_there_updates_it(slack):  # type: ignore[no-untyped-def]
    """Zoe opens the Home tab: Jake's request waits with Approve; she approves there; the tab and Jake's card follow."""
    slack.dm("jake.miller", WRAP)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    home = _open_home(slack, "zoe.martin")
    text = json.dumps(home)
    assert home["type"] == "home" and "Waiting for your approval" in text and "PR-" in text
    assert len(home["blocks"]) <= 100
    _home_tap(slack, "zoe.martin", home, "pb:approve:")
    number = slack.runtime.service.list(requester="jake.miller")[0].number
    assert slack.runtime.service.view(number).state in ("approved", "po_pending", "po_created")
    after = json.dumps(_published(slack, "zoe.martin"))
    assert "Nothing is waiting for your approval." in after
    assert "Approved by Zoe Martin" in json.dumps(slack.updates_of(slack.root("jake.miller", number))[-1].args)

    mine = json.dumps(_open_home(slack, "jake.miller"))
    assert number in mine and "Your open requests" in mine and "Recent activity" in mine


def test_delegation_set_and_ended_from_home(slack):  # type: ignore[no-untyped-def]
    """Zoe picks Priya and her days away on the Home tab; it is set through the core, shown, and ends with a tap."""
    home = _open_home(slack, "zoe.martin")
    assert "Nobody approves for you right now" in json.dumps(home)
    values = {
        "pb-home-delegate": {
            "pb_home:delegate_who": {"type": "static_select", "selected_option": {"value": "priya.nair"}},
            "pb_home:delegate_from": {"type": "datepicker", "selected_date": "2026-11-23"},
            "pb_home:delegate_to": {"type": "datepicker", "selected_date": "2026-12-04"},
        }
    }
    _home_tap(slack, "zoe.martin", home, "pb_home:set_delegation", values)
    (row,) = slack.runtime.service.delegations(person="zoe.martin")
    assert row.delegate == "priya.nair"
    home = _published(slack, "zoe.martin")
    assert "Priya Nair* approves for you" in json.dumps(home)
    assert "You approve for *Zoe Martin*" in json.dumps(_open_home(slack, "priya.nair"))
    _home_tap(slack, "zoe.martin", home, "pb:cancel_delegation:")
    assert slack.runtime.service.delegations(person="zoe.martin") == []


def test_delegation_form_problems_are_explained_on_the_tab(slack):  # type: ignore[no-untyped-def]
    """Setting a delegation without dates, or to herself, changes nothing and the tab says what to fix."""
    home = _open_home(slack, "zoe.martin")
    _home_tap(slack, "zoe.martin", home, "pb_home:set_delegation", {})
    assert "Pick who approves for you and both dates" in json.dumps(_published(slack, "zoe.martin"))
    values = {
        "pb-home-delegate": {
            "pb_home:delegate_who": {"type": "static_select", "selected_option": {"value": "zoe.martin"}},
            "pb_home:delegate_from": {"type": "datepicker", "selected_date": "2026-11-23"},
            "pb_home:delegate_to": {"type": "datepicker", "selected_date": "2026-11-24"},
        }
    }
    _home_tap(slack, "zoe.martin", home, "pb_home:set_delegation", values)
    assert "other than yourself" in json.dumps(_published(slack, "zoe.martin"))
    assert slack.runtime.service.delegations(person="zoe.martin") == []
