"""A company with more than 100 suppliers or sites: the request form's selects search as the person types."""

from __future__ import annotations

import json

import pytest
from slack_harness import TEAM, running, slack_id, text_of

from approvals.directory import Directory
from approvals.master_data import ErpSupplierRecord, MasterData, overlay
from bot.slack import views

CITIES = ["Laredo", "El Paso", "Tulsa", "Wichita", "Omaha", "Boise", "Reno", "Tucson", "Fresno", "Spokane"]


def _bigger(directory: Directory) -> Directory:
    """The example company with 150 more suppliers from the ERP's master data and 120 more sites."""
    erp = {
        f"V{i:04d}": ErpSupplierRecord(connector="erp", supplier_id=f"V{i:04d}", name=f"Gulf Coast Supply {i:03d}")
        for i in range(150)
    }
    erp["V9001"] = ErpSupplierRecord(connector="erp", supplier_id="V9001", name="Zephyr Industrial Fasteners")
    erp["V9002"] = ErpSupplierRecord(connector="erp", supplier_id="V9002", name="Zephyr Blocked Goods", blocked=True)
    with_suppliers = overlay(directory, MasterData(suppliers=erp))
    sites = [s.model_dump() for s in with_suppliers.sites]
    sites += [
        {"code": f"S{i:03d}", "name": f"{CITIES[i % len(CITIES)]} branch {i}", "region": "west"} for i in range(120)
    ]
    return Directory.model_validate({**with_suppliers.model_dump(), "sites": sites})


@pytest.fixture(scope="module")
def big(directory):  # type: ignore[no-untyped-def]
    return _bigger(directory)


@pytest.fixture
def slack(db_url, clock, directory, big):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        harness.runtime.service.directory = big  # what the ERP master-data refresh does
        yield harness


def _form(slack) -> dict:  # type: ignore[no-untyped-def]
    slack.interact(
        {
            "type": "shortcut",
            "callback_id": "pb_new_request",
            "team": {"id": TEAM},
            "user": {"id": slack_id("jake.miller"), "team_id": TEAM},
            "trigger_id": "trig-1",
            "api_app_id": "A",
        }
    )
    view = slack.fake.of("views.open")[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def _typed(slack, form: dict, block: str, value: str) -> list[str]:  # type: ignore[no-untyped-def]
    """What Slack shows in the select after the person types `value` (the option values, in order)."""
    element = next(b["element"] for b in form["blocks"] if b["block_id"] == block)
    res = slack.interact(
        {
            "type": "block_suggestion",
            "team": {"id": TEAM},
            "api_app_id": "A",
            "user": {"id": slack_id("jake.miller"), "team_id": TEAM},
            "container": {"type": "view", "view_id": "V1"},
            "view": {**form, "id": "V1"},
            "block_id": block,
            "action_id": element["action_id"],
            "value": value,
        }
    )
    assert res.status_code == 200
    options = res.json()["options"]
    assert len(options) <= views.MAX_OPTIONS
    return [o["value"] for o in options]


def test_many_suppliers_are_searched_as_typed_and_the_pick_is_submitted(slack):  # type: ignore[no-untyped-def]
    """With 160 suppliers (most from the ERP) the supplier select searches: 'zephyr', a typo and an alias find the
    right one first, a blocked supplier is never offered, and the one picked becomes the request's supplier."""
    form = _form(slack)
    supplier = next(b["element"] for b in form["blocks"] if b["block_id"] == "supplier")
    assert supplier["type"] == "external_select" and "options" not in supplier
    assert _typed(slack, form, "supplier", "zephyr") == ["V9001"]
    assert _typed(slack, form, "supplier", "zephr industral")[0] == "V9001"
    assert _typed(slack, form, "supplier", "u-line")[0] == "uline"
    assert len(_typed(slack, form, "supplier", "gulf coast")) == views.MAX_OPTIONS

    chosen = {"value": {"type": "external_select", "selected_option": {"value": "V9001"}}}
    values = {
        "description": {"value": {"type": "plain_text_input", "value": "Hex bolts M12"}},
        "quantity": {"value": {"type": "number_input", "value": "200"}},
        "unit_price": {"value": {"type": "number_input", "value": "0.40"}},
        "supplier": {supplier["action_id"]: chosen["value"]},
        "site": {"value": {"type": "static_select", "selected_option": {"value": "DAL"}}},
        "need_by": {"value": {"type": "datepicker", "selected_date": None}},
        "justification": {"value": {"type": "plain_text_input", "value": ""}},
    }
    res = slack.submit_view("jake.miller", form, values)
    assert res.status_code == 200 and res.text in ("", "null"), res.text
    summary = slack.card_to("jake.miller", "submit")
    assert "Zephyr Industrial Fasteners" in text_of(summary)


def test_many_sites_are_searched_too(slack):  # type: ignore[no-untyped-def]
    """With 125 sites the site select searches as well: a city name finds its branches, a site code finds it."""
    form = _form(slack)
    site = next(b["element"] for b in form["blocks"] if b["block_id"] == "site")
    assert site["type"] == "external_select"
    laredo = _typed(slack, form, "site", "laredo")
    assert laredo and all(code.startswith("S") and int(code[1:]) % len(CITIES) == 0 for code in laredo)
    assert _typed(slack, form, "site", "dallas")[0] == "DAL"


def test_few_choices_stay_in_the_form_itself(directory):  # type: ignore[no-untyped-def]
    """The example company (a handful of suppliers and sites): plain selects with every choice, nothing to search."""
    form = views.request_modal(directory, views.RequestForm(supplier="uline"), {})
    elements = {b["block_id"]: b["element"] for b in form["blocks"]}
    assert elements["supplier"]["type"] == elements["site"]["type"] == "static_select"
    assert elements["supplier"]["initial_option"]["value"] == "uline"
    assert {o["value"] for o in elements["supplier"]["options"]} == {s.id for s in directory.suppliers if not s.blocked}
