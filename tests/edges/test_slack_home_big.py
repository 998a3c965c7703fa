"""A company with more than 100 people: the Home tab's "who approves for you" searches as the person types."""

from __future__ import annotations

import json

import pytest
from slack_harness import STRANGER, TEAM, running, slack_id

from approvals.directory import Directory
from bot.slack import views

FIRST = "Ava Liam Mia Noah Ella Owen Ruby Jack Ivy Leo Nora Eli Cora Max Lena".split()
LAST = "Hughes Ward Foster Price Bennett Gray Hayes Myers Ford Wells".split()


def _bigger(directory: Directory) -> Directory:
    """The example company with 150 more staff, one of them Zoe Quintero (e-mail zq@...), a second Zoe."""
    people = [p.model_dump() for p in directory.people]
    people += [
        {"id": f"{f}.{last}".lower(), "name": f"{f} {last}", "email": f"{f}.{last}@lonestar.example".lower()}
        for f in FIRST
        for last in LAST
    ]
    people.append({"id": "zoe.quintero", "name": "Zoe Quintero", "email": "zq@lonestar.example"})
    return Directory.model_validate({**directory.model_dump(), "people": people})


@pytest.fixture(scope="module")
def big(directory):  # type: ignore[no-untyped-def]
    return _bigger(directory)


@pytest.fixture
def slack(db_url, clock, directory, big):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        # the directory file of a bigger company: what the Home tab lists and what the core checks
        harness.runtime.directory = big
        harness.runtime.service.directory = big
        yield harness


def _open_home(slack, person: str) -> dict:  # type: ignore[no-untyped-def]
    slack.event({"type": "app_home_opened", "user": slack_id(person), "channel": "D" + slack_id(person), "tab": "home"})
    view = slack.fake.of("views.publish", user_id=slack_id(person))[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def _who_row(home: dict) -> dict:
    return next(b for b in home["blocks"] if b.get("block_id") == "pb-home-delegate")


def _who(home: dict) -> dict:
    return next(e for e in _who_row(home)["elements"] if e["action_id"] == views.HOME_DELEGATE_WHO)


def _typed(slack, user: str, home: dict, value: str) -> list[str]:  # type: ignore[no-untyped-def]
    """What Slack shows in the delegate select after `user` (a Slack id) types `value`: person ids, in order."""
    res = slack.interact(
        {
            "type": "block_suggestion",
            "team": {"id": TEAM},
            "api_app_id": "A",
            "user": {"id": user, "team_id": TEAM},
            "container": {"type": "view", "view_id": "VHOME"},
            "view": {**home, "id": "VHOME"},
            "block_id": "pb-home-delegate",
            "action_id": views.HOME_DELEGATE_WHO,
            "value": value,
        }
    )
    assert res.status_code == 200
    options = res.json()["options"]
    assert len(options) <= views.MAX_OPTIONS
    return [o["value"] for o in options]


def _set_delegation(slack, person: str, home: dict, values: dict) -> None:  # type: ignore[no-untyped-def]
    button = next(e for e in _who_row(home)["elements"] if e["action_id"] == views.HOME_DELEGATE)
    slack.interact(
        {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": slack_id(person), "team_id": TEAM},
            "api_app_id": "A",
            "trigger_id": "trig-h",
            "container": {"type": "view", "view_id": "VHOME"},
            "view": {**home, "id": "VHOME", "state": {"values": values}},
            "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "pb-home-delegate"}],
        }
    )


def test_many_people_are_searched_as_typed_and_the_pick_becomes_the_delegate(slack):  # type: ignore[no-untyped-def]
    """With 181 staff Zoe Martin's delegate select searches: 'zoe', Zoe Quintero's id or e-mail find her first,
    Zoe Martin never sees herself, and picking Zoe Quintero with dates sets the delegation through the core."""
    home = _open_home(slack, "zoe.martin")
    who = _who(home)
    assert who["type"] == "external_select" and "options" not in who
    assert who["min_query_length"] == 1 and "180" in who["placeholder"]["text"]

    me = slack_id("zoe.martin")
    assert _typed(slack, me, home, "zoe") == ["zoe.quintero"]
    assert _typed(slack, me, home, "zoe.quintero")[0] == "zoe.quintero"
    assert _typed(slack, me, home, "zq@lonestar")[0] == "zoe.quintero"
    assert _typed(slack, me, home, "quintro")[0] == "zoe.quintero"  # a typo
    assert _typed(slack, me, home, "ava")[:10] == sorted(f"ava.{last.lower()}" for last in LAST)  # by name
    assert "zoe.martin" not in _typed(slack, me, home, "martin")
    assert "zoe.martin" in _typed(slack, slack_id("jake.miller"), home, "zoe")  # others can pick her

    values = {
        "pb-home-delegate": {
            views.HOME_DELEGATE_WHO: {"type": "external_select", "selected_option": {"value": "zoe.quintero"}},
            "pb_home:delegate_from": {"type": "datepicker", "selected_date": "2026-11-23"},
            "pb_home:delegate_to": {"type": "datepicker", "selected_date": "2026-12-04"},
        }
    }
    _set_delegation(slack, "zoe.martin", home, values)
    (row,) = slack.runtime.service.delegations(person="zoe.martin")
    assert row.delegate == "zoe.quintero"
    again = slack.fake.of("views.publish", user_id=me)[-1].args["view"]
    assert "Zoe Quintero* approves for you" in (again if isinstance(again, str) else json.dumps(again))


def test_someone_outside_the_directory_is_offered_nobody(slack):  # type: ignore[no-untyped-def]
    """A Slack user who is not in the company directory types a name in the delegate select: no one is listed."""
    home = _open_home(slack, "zoe.martin")
    assert _typed(slack, STRANGER, home, "zoe") == []


def test_a_small_company_keeps_everyone_in_the_select(db_url, clock, directory):  # type: ignore[no-untyped-def]
    """The example company (30 people): Zoe's delegate select lists all 29 others at once, nothing to search."""
    with running(db_url, clock, directory) as slack:
        who = _who(_open_home(slack, "zoe.martin"))
    assert who["type"] == "static_select"
    assert {o["value"] for o in who["options"]} == {p.id for p in directory.people} - {"zoe.martin"}
