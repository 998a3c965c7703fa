"""The request form: opened from a shortcut, a message, the Home tab or Edit; checked field by field."""

from __future__ import annotations

import json

import pytest
from slack_harness import TEAM, has_button, running, slack_id, text_of


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def _opened(slack) -> dict:  # type: ignore[no-untyped-def]
    view = slack.fake.of("views.open")[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def _values(
    description="Stretch wrap 18in",
    quantity="40",
    price="32",
    supplier="uline",
    site="DAL",
    need_by="2026-11-27",
    why="",
):  # type: ignore[no-untyped-def]
    def text(v):  # type: ignore[no-untyped-def]
        return {"value": {"type": "plain_text_input", "value": v}}

    def number(v):  # type: ignore[no-untyped-def]
        return {"value": {"type": "number_input", "value": v}}

    def select(v):  # type: ignore[no-untyped-def]
        return {"value": {"type": "static_select", "selected_option": {"value": v} if v else None}}

    return {
        "description": text(description),
        "quantity": number(quantity),
        "unit_price": number(price),
        "supplier": select(supplier),
        "site": select(site),
        "need_by": {"value": {"type": "datepicker", "selected_date": need_by}},
        "justification": text(why),
    }


def _shortcut(slack, person: str = "jake.miller") -> dict:  # type: ignore[no-untyped-def]
    slack.interact(
        {
            "type": "shortcut",
            "callback_id": "pb_new_request",
            "team": {"id": TEAM},
            "user": {"id": slack_id(person), "team_id": TEAM},
            "trigger_id": "trig-1",
            "api_app_id": "A",
        }
    )
    return _opened(slack)


def test_global_shortcut_form_becomes_a_summary_then_a_request(slack):  # type: ignore[no-untyped-def]
    """Jake fills the form from the shortcut: his DM gets the summary with Submit; submitting routes it to Zoe."""
    form = _shortcut(slack)
    assert form["callback_id"] == "pb_request"
    kinds = {b["block_id"]: b["element"]["type"] for b in form["blocks"]}
    assert kinds["supplier"] == kinds["site"] == "static_select" and kinds["need_by"] == "datepicker"
    assert kinds["quantity"] == kinds["unit_price"] == "number_input"
    res = slack.submit_view("jake.miller", form, _values())
    assert res.status_code == 200 and res.text in ("", "null")
    summary = slack.card_to("jake.miller", "submit")
    assert "Ready to submit?" in text_of(summary) and "$1,280.00" in text_of(summary)
    slack.tap("jake.miller", summary, "submit")
    assert slack.card_to("zoe.martin", "approve")


def test_form_field_errors_come_back_under_each_field(slack):  # type: ignore[no-untyped-def]
    """A zero quantity, a price with letters, no supplier and a past date are refused field by field."""
    form = _shortcut(slack)
    bad = _values(quantity="0", price="abc", supplier=None, need_by="2020-01-01")
    res = slack.submit_view("jake.miller", form, bad)
    body = res.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"quantity", "unit_price", "supplier", "need_by"}
    assert "above zero" in body["errors"]["quantity"]
    assert slack.posts_to("jake.miller") == []


def test_message_shortcut_prefills_the_form_from_the_message(slack):  # type: ignore[no-untyped-def]
    """'Create purchase request' on a colleague's message opens the form filled with what the message says."""
    slack.interact(
        {
            "type": "message_action",
            "callback_id": "pb_request_from_message",
            "team": {"id": TEAM},
            "user": {"id": slack_id("jake.miller"), "team_id": TEAM},
            "trigger_id": "trig-2",
            "channel": {"id": "COPS"},
            "api_app_id": "A",
            "message": {
                "type": "message",
                "user": slack_id("maria.lopez"),
                "ts": "1.1",
                "text": "we need 40 rolls of stretch wrap from Uline at $32 a roll for Dallas",
            },
        }
    )
    form = _opened(slack)
    initial = {b["block_id"]: b["element"] for b in form["blocks"]}
    assert initial["quantity"].get("initial_value") == "40"
    assert initial["supplier"]["initial_option"]["value"] == "uline"
    assert initial["site"]["initial_option"]["value"] == "DAL"
    assert "stretch wrap" in initial["description"]["initial_value"].lower()


def test_edit_opens_the_form_with_the_draft_and_replaces_it(slack):  # type: ignore[no-untyped-def]
    """Edit on the summary opens the form filled from the draft; changing the quantity gives a new summary."""
    slack.dm("jake.miller", "need 40 rolls of stretch wrap for Dallas from Uline, about $32 a roll, by Friday")
    summary = slack.card_to("jake.miller", "submit")
    slack.tap("jake.miller", summary, "edit")
    form = _opened(slack)
    initial = {b["block_id"]: b["element"] for b in form["blocks"]}
    assert initial["quantity"]["initial_value"] == "40" and initial["supplier"]["initial_option"]["value"] == "uline"
    slack.submit_view("jake.miller", form, _values(quantity="50"))
    latest = slack.card_to("jake.miller", "submit")
    assert "$1,600.00" in text_of(latest)
    assert not has_button(slack.current(summary), "submit")  # the old summary is history
    slack.tap("jake.miller", summary, "submit")  # a stale client's tap on the old summary submits nothing
    assert slack.runtime.service.list(requester="jake.miller") == []
    slack.tap("jake.miller", latest, "submit")
    assert len(slack.runtime.service.list(requester="jake.miller")) == 1


def test_home_new_request_button_opens_the_form(slack):  # type: ignore[no-untyped-def]
    """'New purchase request' on the Home tab opens the same request form."""
    home = {"type": "home", "blocks": []}
    slack.interact(
        {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": slack_id("jake.miller"), "team_id": TEAM},
            "api_app_id": "A",
            "trigger_id": "trig-3",
            "container": {"type": "view", "view_id": "VH"},
            "view": {**home, "id": "VH", "state": {"values": {}}},
            "actions": [
                {"type": "button", "action_id": "pb_home:new_request", "action_ts": "1.1", "block_id": "pb-home-top"}
            ],
        }
    )
    form = _opened(slack)
    assert form["callback_id"] == "pb_request" and form["type"] == "modal"
