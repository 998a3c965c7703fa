"""New suppliers in Teams, as the Bot Framework sends a card's Action.Execute: the "Ask procurement to add it" form
of several fields, the buyer's review card, the ERP, and Continue."""

from __future__ import annotations

import pytest
from fake_teams import execute_actions, texts_of
from teams_harness import Harness, only_card, running

from approvals import new_suppliers
from bot.erp_dispatcher import ErpDispatcher, durable_notifier
from connectors.erp.config import ErpSettings
from connectors.erp.sandbox import SandboxErp

ZORO = "need 40 rolls of stretch wrap for Dallas from Zoro Tools, about $32 a roll"


@pytest.fixture
def teams(db_url, clock, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    yield from running(db_url, clock, tmp_path, monkeypatch)


def dispatch(teams: Harness) -> None:
    """One ERP dispatcher pass: its notices reach people in their Teams chat."""
    rt = teams.runtime
    settings = ErpSettings(_env_file=None, erp_max_attempts=3, erp_backoff_base_seconds=2, erp_backoff_max_seconds=60)
    notifier = durable_notifier(rt.chat, rt.engine, rt.service.clock, assistants=rt.assistant)
    erp = SandboxErp(rt.engine, rt.directory)
    ErpDispatcher(rt.engine, rt.directory, erp, notifier, settings=settings, clock=rt.service.clock).drain()


def the_form(teams: Harness) -> dict:  # type: ignore[type-arg]
    """Jake names Zoro Tools and picks "Ask procurement to add Zoro Tools": the summary with the form."""
    question = only_card(teams.say("jake.miller", ZORO))
    res = teams.tap("jake.miller", question, "choose")  # the last choice is "Ask procurement to add ..."
    return res.json()["value"]


def send_form(teams: Harness, summary: dict, **fields: str):  # type: ignore[no-untyped-def,type-arg]
    data = dict(execute_actions(summary)["supplier.request"]["data"])
    data.update({f"pb_field_{k}": v for k, v in fields.items()})
    return teams.post(teams.fake.execute(teams.user("jake.miller"), "supplier.request", data)).json()


def test_the_form_has_the_fields_a_buyer_needs_and_says_what_is_wrong(teams):  # type: ignore[no-untyped-def]
    """The summary's "Ask procurement to add it" shows a form: the name filled in, a required e-mail (an Email input)
    and website; a website that is not one is named, and nothing reaches procurement."""
    summary = the_form(teams)
    form = next(a for a in summary["actions"] if a["type"] == "Action.ShowCard" and a["title"].startswith("Ask proc"))
    inputs = {i["id"]: i for i in form["card"]["body"]}
    assert inputs["pb_field_name"]["value"] == "Zoro Tools" and inputs["pb_field_email"]["style"] == "Email"
    assert inputs["pb_field_email"]["isRequired"] and not inputs["pb_field_tax_id"]["isRequired"]
    answer = send_form(teams, summary, name="Zoro Tools", email="orders@zoro.example", website="zoro")
    assert "is not a website address" in str(answer["value"])
    assert new_suppliers.listing(teams.runtime.engine) == []


def test_a_buyer_approves_in_teams_and_the_request_goes_on(teams):  # type: ignore[no-untyped-def]
    """Jake sends the form; Ben's chat gets the review card; a forged field cannot change the signed draft; Ben
    approves, the vendor is made once, and Jake's request comes back to his Teams chat by itself, ready to submit."""
    teams.install("ben.turner")
    answer = send_form(
        teams,
        the_form(teams),
        name="Zoro Tools",
        email="orders@zoro.example",
        website="zoro.example",
        tax_id="",
        draft_id="forged",  # only the form's own fields are read from what was typed
    )
    assert "I asked procurement to add Zoro Tools (SUP-1)" in texts_of(answer["value"])
    dispatch(teams)
    [review] = [c["card"] for c in teams.fake.bf.cards_to(teams.user("ben.turner")) if "SUP-1" in texts_of(c["card"])]
    assert {"supplier.approve", "supplier.reject", "supplier.ask"} <= set(execute_actions(review))
    refused = teams.tap("jake.miller", review, "supplier.approve").json()
    assert "Only buyers" in str(refused["value"])
    approved = teams.tap("ben.turner", review, "supplier.approve").json()
    assert "Approved: Zoro Tools is being created in the ERP" in texts_of(approved["value"])
    again = teams.tap("ben.turner", review, "supplier.approve").json()
    assert "already approved by Ben Turner" in str(again["value"])
    dispatch(teams)
    assert new_suppliers.get(teams.runtime.engine, "SUP-1").state == "created"
    jake = teams.user("jake.miller")
    [summary] = [c["card"] for c in teams.fake.bf.cards_to(jake) if "submit" in execute_actions(c["card"])]
    assert "Zoro Tools" in texts_of(summary) and "has no active contract" in texts_of(summary)
    assert not any("supplier.continue" in execute_actions(c["card"]) for c in teams.fake.bf.cards_to(jake))
    teams.tap("jake.miller", summary, "submit")
    [submitted] = teams.runtime.service.list(requester="jake.miller")
    assert submitted.supplier == new_suppliers.get(teams.runtime.engine, "SUP-1").supplier_id
