"""Reads follow rights, on every surface: the API and the web chat of a real server process, Slack and Teams
through their harnesses, and the one pure check behind them all. Whoever may not see a requisition is told
exactly what they would be told about a number that does not exist."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import httpx
import pytest
from security_served import Served
from slack_harness import running as slack_running, slack_id
from teams_harness import running as teams_running

from approvals.db import make_engine
from approvals.delegation import DelegationWindow
from approvals.views import RequisitionView
from approvals.visibility import can_see
from bot.tokens import create_token
from tests.factories import boxes, submit

MISSING = "PR-99999"
# Tasha (Atlanta planner) asks for boxes: her manager Denise (Atlanta warehouse) approves
ATL = {"requester": "tasha.reed", "site": "ATL", "cost_center": "ATL-OPS", "supplier": "uline", "lines": [boxes(50)]}
SEE = ["tasha.reed", "denise.washington", "angela.brooks", "priya.nair", "ben.turner", "sofia.alvarez"]
NOT_SEE = ["jake.miller", "emily.davis", "maria.lopez", "james.carter", "luis.garcia", "zoe.martin"]


def same_as_missing(hidden: Any, missing: Any, number: str) -> bool:
    return json.dumps(hidden).replace(number, MISSING) == json.dumps(missing)


# ---------------------------------------------------------------------------------------------- the API
class Api:
    def __init__(self, served: Served) -> None:
        self.base = served.base
        self.engine = make_engine(served.env["DATABASE_URL"])
        self.portal = create_token(self.engine, name="vis-portal", role="service", act_as=True)
        self.auditor = create_token(self.engine, name="vis-auditor", role="auditor")
        self.people = {p: create_token(self.engine, name=f"vis-{p}", role="service", person=p) for p in SEE + NOT_SEE}
        self.people["frank.novak"] = create_token(self.engine, name="vis-frank", role="service", person="frank.novak")
        made = httpx.post(f"{self.base}/api/v1/requisitions", headers=self.h(self.portal), json=ATL, timeout=30)
        assert made.status_code == 201, made.text
        self.number: str = made.json()["number"]

    @staticmethod
    def h(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def get(self, person: str, number: str) -> httpx.Response:
        return httpx.get(f"{self.base}/api/v1/requisitions/{number}", headers=self.h(self.people[person]), timeout=30)

    def listed(self, person: str) -> list[str]:
        res = httpx.get(f"{self.base}/api/v1/requisitions", headers=self.h(self.people[person]), timeout=30)
        assert res.status_code == 200, res.text
        return [v["number"] for v in res.json()]


@pytest.fixture(scope="module")
def api(served: Served) -> Iterator[Api]:
    a = Api(served)
    yield a
    a.engine.dispose()


def test_api_read_matrix(api):
    """Each person's own token asks for Atlanta's request: those it concerns read it; a Dallas technician and the
    others get the same 404, word for word, as for a made-up number; an auditor token reads it too."""
    for person in SEE:
        res = api.get(person, api.number)
        assert res.status_code == 200 and res.json()["number"] == api.number, (person, res.text)
    for person in NOT_SEE:
        hidden, missing = api.get(person, api.number), api.get(person, MISSING)
        assert hidden.status_code == missing.status_code == 404, person
        assert same_as_missing(hidden.json(), missing.json(), api.number), person
    res = httpx.get(f"{api.base}/api/v1/requisitions/{api.number}", headers=api.h(api.auditor), timeout=30)
    assert res.status_code == 200


def test_api_list_leaves_out_what_you_may_not_see(api):
    """Listing requisitions shows Denise the Atlanta request and never shows it to Jake in Dallas."""
    assert api.number in api.listed("denise.washington")
    assert api.number not in api.listed("jake.miller")
    mine = httpx.post(
        f"{api.base}/api/v1/requisitions",
        headers=api.h(api.people["jake.miller"]),
        json=ATL | {"requester": "jake.miller", "site": "DAL", "cost_center": "DAL-OPS"},
        timeout=30,
    )
    assert mine.status_code == 201, mine.text
    assert api.listed("jake.miller") == [mine.json()["number"]]
    assert api.number in api.listed("priya.nair")


def test_api_delegate_sees_while_the_delegation_runs(api):
    """Denise hands her approvals to Frank for a week: Frank, in Chicago, may now read the Atlanta request."""
    assert api.get("frank.novak", api.number).status_code == 404
    now = datetime.now(timezone.utc)
    body = {
        "actor": "denise.washington",
        "delegator": "denise.washington",
        "delegate": "frank.novak",
        "starts_at": (now - timedelta(minutes=5)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
    }
    made = httpx.post(f"{api.base}/api/v1/delegations", headers=api.h(api.portal), json=body, timeout=30)
    assert made.status_code == 201, made.text
    assert api.get("frank.novak", api.number).status_code == 200, made.json()


def test_api_act_on_a_hidden_requisition_is_missing(api):
    """Jake's token tries to approve the Atlanta request as himself: told it does not exist, as for a made-up one."""

    def act(number: str) -> httpx.Response:
        return httpx.post(
            f"{api.base}/api/v1/requisitions/{number}/actions",
            headers=api.h(api.people["jake.miller"]),
            json={"action": "approve", "actor": "jake.miller"},
            timeout=30,
        )

    hidden, missing = act(api.number), act(MISSING)
    assert hidden.status_code == missing.status_code == 404
    assert same_as_missing(hidden.json(), missing.json(), api.number)


# ------------------------------------------------------------------------------------------ the web chat
def web_status(api: Api, person: str, number: str) -> Any:
    res = httpx.post(f"{api.base}/chat/api/messages", json={"person": person, "text": f"status {number}"}, timeout=30)
    assert res.status_code == 200, res.text
    return res.json()


def test_web_chat_status_matrix(api):
    """'status PR-…' in the web chat: the requester, her approver and the regional director get the card; people
    outside Atlanta get the same reply as for a made-up number."""
    for person in ("tasha.reed", "denise.washington", "angela.brooks"):
        assert api.number in json.dumps(web_status(api, person, api.number)), person
    for person in ("jake.miller", "maria.lopez", "james.carter"):
        hidden, missing = web_status(api, person, api.number), web_status(api, person, MISSING)
        assert same_as_missing(hidden, missing, api.number), person


def test_web_chat_card_is_not_shown_to_strangers(api):
    """The web chat's card endpoint shows Atlanta's card to Denise, and to Jake the missing-number 404."""

    def card(person: str, number: str) -> httpx.Response:
        return httpx.get(f"{api.base}/chat/api/cards/{number}", params={"person": person}, timeout=30)

    assert card("denise.washington", api.number).status_code == 200
    hidden, missing = card("jake.miller", api.number), card("jake.miller", MISSING)
    assert hidden.status_code == missing.status_code == 404
    assert same_as_missing(hidden.json(), missing.json(), api.number)


# ---------------------------------------------------------------------------------------- Slack and Teams
@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with slack_running(db_url, clock, directory) as harness:
        yield harness


def slack_reply(slack: Any, person: str, text: str) -> str:
    channel = "D" + slack_id(person)
    before = len(slack.fake.texts_to(channel))
    slack.dm(person, text)
    slack.settle()
    return "\n".join(slack.fake.texts_to(channel)[before:])


def test_slack_status_hidden_is_word_for_word_missing(slack):
    """In Slack a Dallas technician DMs 'status PR-…' for Atlanta's request: told it does not exist, like PR-99999."""
    number = slack.runtime.service.submit(submit("tasha.reed", site="ATL", cost_center="ATL-OPS")).number
    hidden = slack_reply(slack, "jake.miller", f"status {number}")
    missing = slack_reply(slack, "jake.miller", f"status {MISSING}")
    assert hidden and hidden.replace(number, MISSING) == missing
    seen = slack_reply(slack, "denise.washington", f"status {number}")
    assert seen != hidden.replace(number, MISSING) and number in json.dumps(slack.fake.calls[-1].args)


@pytest.fixture
def teams(db_url, clock, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    yield from teams_running(db_url, clock, tmp_path, monkeypatch)


def test_teams_status_hidden_is_word_for_word_missing(teams):
    """In Teams a Dallas technician asks for Atlanta's request: the same answer as for a number that does not exist."""
    for person in ("jake.miller", "denise.washington"):
        teams.install(person)
    number = teams.runtime.service.submit(submit("tasha.reed", site="ATL", cost_center="ATL-OPS")).number
    hidden = json.dumps(teams.say("jake.miller", f"status {number}"))
    missing = json.dumps(teams.say("jake.miller", f"status {MISSING}"))
    assert "no requisition" in hidden.lower()
    assert _without_ids(hidden).replace(number, MISSING) == _without_ids(missing)
    assert number in json.dumps(teams.say("denise.washington", f"status {number}"))
    assert "no requisition" not in json.dumps(teams.say("denise.washington", f"status {number}")).lower()


def _without_ids(text: str) -> str:
    """Activities carry their own ids and times; compare what the person reads."""
    out = []
    for activity in json.loads(text):
        out.append({k: v for k, v in activity.items() if k in ("text", "attachments", "type")})
    return json.dumps(out)


# ------------------------------------------------------------------------------------- the one pure check
def _view(service: Any, **overrides: Any) -> RequisitionView:
    return service.view(service.submit(submit(**overrides)).number)


def test_can_see_roles_sites_and_delegations(service, directory, clock):
    """The rule itself: participants, covering roles, site managers of their own sites only, and active delegates."""
    view = _view(service, requester="tasha.reed", site="ATL", cost_center="ATL-OPS")
    assert all(can_see(p, view, directory) for p in SEE)
    assert not any(can_see(p, view, directory) for p in NOT_SEE)
    assert not can_see("nobody.at.all", view, directory)
    week = DelegationWindow(
        "denise.washington", "frank.novak", clock() - timedelta(hours=1), clock() + timedelta(days=7)
    )
    assert can_see("frank.novak", view, directory, [week], at=clock())
    assert not can_see("frank.novak", view, directory, [week], at=clock() + timedelta(days=8))
    # a delegation from someone who is not on the request grants nothing
    other = DelegationWindow("maria.lopez", "frank.novak", clock(), clock() + timedelta(days=7))
    assert not can_see("frank.novak", view, directory, [other], at=clock())


# ------------------------------------------------------------------------------ chat credentials in the audit
def _credentials(runtime: Any, number: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    from sqlmodel import Session

    from approvals.audit import iter_events

    with Session(runtime.engine) as session:
        return [
            (e.kind, e.surface, (e.after or {}).get("credential"))
            for e in iter_events(session, requisition_number=number)
        ]


def test_slack_actions_record_the_workspace_and_user(slack):
    """Jake submits and Zoe approves in Slack: each event names the Slack workspace and user that acted."""
    from fake_slack import TEAM
    from slack_harness import WRAP, number_in

    slack.dm("jake.miller", WRAP)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    card = slack.card_to("zoe.martin", "approve")
    number = number_in(card)
    slack.tap("zoe.martin", card, "approve")
    events = _credentials(slack.runtime, number)
    submitted = next(c for k, s, c in events if s == "slack" and c and c["person"] == "jake.miller")
    assert submitted == {
        "kind": "slack",
        "id": f"{TEAM}:{slack_id('jake.miller')}",
        "name": f"Slack {TEAM}/{slack_id('jake.miller')}",
        "person": "jake.miller",
    }
    approved = [c for k, s, c in events if c and c["person"] == "zoe.martin"]
    assert approved and all(c["id"] == f"{TEAM}:{slack_id('zoe.martin')}" for c in approved)


def test_api_delegations_are_read_by_the_people_in_them(api):
    """Denise hands her approvals to Frank: both read the window, an auditor does too; Jake's token lists none
    of it and gets the same 404 for its id as for a made-up one."""
    now = datetime.now(timezone.utc)
    body = {
        "actor": "denise.washington",
        "delegator": "denise.washington",
        "delegate": "frank.novak",
        "starts_at": (now + timedelta(days=30)).isoformat(),
        "ends_at": (now + timedelta(days=37)).isoformat(),
    }
    made = httpx.post(f"{api.base}/api/v1/delegations", headers=api.h(api.portal), json=body, timeout=30)
    assert made.status_code == 201, made.text
    window = made.json()["id"]

    def ids(token: str) -> list[int]:
        res = httpx.get(f"{api.base}/api/v1/delegations", headers=api.h(token), timeout=30)
        assert res.status_code == 200, res.text
        return [d["id"] for d in res.json()]

    assert window in ids(api.people["denise.washington"]) and window in ids(api.people["frank.novak"])
    assert window in ids(api.auditor)
    assert window not in ids(api.people["jake.miller"])
    hidden = httpx.get(f"{api.base}/api/v1/delegations/{window}", headers=api.h(api.people["jake.miller"]), timeout=30)
    missing = httpx.get(f"{api.base}/api/v1/delegations/999999", headers=api.h(api.people["jake.miller"]), timeout=30)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["message"].replace(str(window), "999999") == missing.json()["error"]["message"]
