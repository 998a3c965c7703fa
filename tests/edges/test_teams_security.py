"""Teams security: every request's Bot Framework token is checked, only the assigned approver acts,
retries act once, and bad input is answered clearly with nothing written."""

from __future__ import annotations

import json

import pytest
from fake_teams import APP_ID, card, execute_actions, texts_of
from sqlalchemy import func
from sqlmodel import Session, select
from teams_harness import WRAP, Harness, only_card, running

from approvals.models import Decision, Requisition
from bot.chat.models import ChatAddress, ChatIdentity, InboundEvent


@pytest.fixture
def teams(db_url, clock, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    yield from running(db_url, clock, tmp_path, monkeypatch)


def _count(teams: Harness, model: type) -> int:
    with Session(teams.runtime.engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _nothing_written(teams: Harness) -> bool:
    return all(_count(teams, m) == 0 for m in (InboundEvent, ChatAddress, ChatIdentity, Requisition, Decision))


def _approval(teams: Harness) -> tuple[str, dict]:  # type: ignore[type-arg]
    teams.install("zoe.martin")
    summary = only_card(teams.say("jake.miller", WRAP))
    res = teams.tap("jake.miller", summary, "submit")
    number = texts_of(res.json()["value"]).split()[0]
    teams.drain()
    (approval,) = teams.fake.bf.cards_to(teams.user("zoe.martin"))
    return number, approval["card"]


@pytest.mark.parametrize(
    "token",
    [
        {"forged": True},
        {"expires_in": -900},
        {"aud": "some-other-bot"},
        {"iss": "https://login.example.com"},
        {"service_url": "http://127.0.0.1:1/other/"},
    ],
    ids=["forged-signature", "expired", "wrong-audience", "wrong-issuer", "other-service-url"],
)
def test_bad_tokens_get_401_and_nothing_is_written(teams, token):  # type: ignore[no-untyped-def]
    """A forged, expired, wrong-audience, wrong-issuer or other-connector token is refused with 401; nothing happens."""
    user = teams.user("jake.miller")
    res = teams.post(teams.fake.message(user, WRAP), **token)
    assert res.status_code == 401
    assert res.json()["error"]["code"] == "unauthorized"
    assert teams.fake.bf.sent == [] and _nothing_written(teams)


def test_missing_or_malformed_authorization_gets_401(teams):  # type: ignore[no-untyped-def]
    """No Authorization header, a Basic one, or a bearer that is not a JWT: 401, nothing happens."""
    body = teams.fake.message(teams.user("jake.miller"), "help")
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer not.a.jwt"}):
        res = teams.client.post("/api/messages", json=body, headers=headers)
        assert res.status_code == 401, headers
    assert teams.fake.bf.sent == [] and _nothing_written(teams)


def test_a_service_url_outside_the_allow_list_is_refused(teams):  # type: ignore[no-untyped-def]
    """A genuine token for a connector procurebot does not talk to: refused, and nothing is sent anywhere."""
    activity = teams.fake.message(teams.user("jake.miller"), "help")
    activity["serviceUrl"] = "http://127.0.0.1:9/elsewhere/"
    res = teams.post(activity, service_url=activity["serviceUrl"])
    assert res.status_code == 403 and teams.fake.bf.sent == [] and _nothing_written(teams)


def test_an_activity_from_another_tenant_is_refused(teams):  # type: ignore[no-untyped-def]
    """A genuine token, but the conversation belongs to another organization's tenant: 403, nothing stored."""
    activity = teams.fake.message(teams.user("jake.miller"), WRAP)
    activity["conversation"] = {**activity["conversation"], "tenantId": "99999999-0000-4000-8000-000000000000"}
    activity["channelData"] = {"tenant": {"id": "99999999-0000-4000-8000-000000000000"}}
    res = teams.post(activity)
    assert res.status_code == 403 and res.json()["error"]["code"] == "tenant_refused"
    assert teams.fake.bf.sent == [] and _nothing_written(teams)


def test_an_unassigned_users_execute_is_refused_and_nothing_is_decided(teams):  # type: ignore[no-untyped-def]
    """Emily replays Zoe's Approve button: the core refuses her, and, as she may not see the request, she is told
    what she would be told of a number that does not exist; no decision is recorded."""
    number, approval = _approval(teams)
    teams.install("emily.davis")
    res = teams.tap("emily.davis", approval, "approve")
    assert res.status_code == 200
    shown = res.json()["value"]
    assert shown == f"There is no requisition {number}. Check the number (it looks like PR-1042)."
    assert teams.runtime.service.view(number).state == "pending_approval"
    assert _count(teams, Decision) == 0 or all(
        d.actor != "emily.davis" for d in teams.runtime.service.view(number).decisions
    )


def test_a_retried_message_is_answered_once(teams):  # type: ignore[no-untyped-def]
    """Teams delivers the same message twice: one summary card, one draft."""
    user = teams.user("jake.miller")
    activity = teams.fake.message(user, WRAP)
    assert teams.post(activity).status_code == 200
    assert teams.post(activity).status_code == 200
    assert len(teams.fake.bf.cards_to(user)) == 1


def test_a_retried_approve_invoke_decides_once_and_answers_with_the_card(teams):  # type: ignore[no-untyped-def]
    """The same Approve invoke arrives twice: one decision; the retry gets the current card back."""
    number, approval = _approval(teams)
    zoe = teams.user("zoe.martin")
    invoke = teams.fake.execute(zoe, "approve", execute_actions(approval)["approve"]["data"])
    first, second = teams.post(invoke), teams.post(invoke)
    assert first.status_code == second.status_code == 200
    assert "approve" not in execute_actions(second.json()["value"])
    assert len([d for d in teams.runtime.service.view(number).decisions if d.action == "approve"]) == 1


def test_tampered_card_data_is_refused_before_anything_happens(teams):  # type: ignore[no-untyped-def]
    """A button whose number, key or verb was edited, or whose data is not flat strings: a clear error, no decision."""
    number, approval = _approval(teams)
    zoe = teams.user("zoe.martin")
    data = execute_actions(approval)["approve"]["data"]
    forgeries = [
        ("approve", {**data, "number": "PR-9999"}),
        ("approve", {**data, "key": "other"}),
        ("reject", data),
        ("approve", {k: v for k, v in data.items() if k != "pb_sig"}),
        ("approve", {**data, "number": {"$ne": ""}}),
    ]
    for shapeless in ("PR-1001", None, ["approve"]):  # not an object at all: not a card action the SDK can read
        res = teams.post(teams.fake.execute(zoe, "approve", shapeless))  # type: ignore[arg-type]
        assert res.status_code == 400 and res.json()["error"]["code"] == "bad_activity"
    for verb, forged in forgeries:
        res = teams.post(teams.fake.execute(zoe, verb, forged))  # type: ignore[arg-type]
        assert res.status_code == 200, (verb, forged)
        body = res.json()
        assert body["statusCode"] == 400 and body["type"] == "application/vnd.microsoft.error", forged
        assert "nothing was done" in body["value"]["message"]
    assert teams.runtime.service.view(number).state == "pending_approval"
    assert teams.runtime.service.view(number).decisions == [] or all(
        d.action == "submit" for d in teams.runtime.service.view(number).decisions
    )


def test_malformed_activities_get_a_clear_400_and_nothing_is_written(teams):  # type: ignore[no-untyped-def]
    """Not JSON, a JSON list, no sender, no conversation, an unknown type: 400 saying what is wrong; nothing stored."""
    user = teams.user("jake.miller")
    good = teams.fake.message(user, "help")
    headers = teams.fake.headers()
    assert teams.client.post("/api/messages", content=b"{nope", headers=headers).status_code == 400
    assert teams.client.post("/api/messages", json=[good], headers=headers).status_code == 400
    for broken in (
        {k: v for k, v in good.items() if k != "from"},
        {k: v for k, v in good.items() if k != "conversation"},
        {**good, "type": "definitely-not-an-activity"},
        {**good, "from": "jake"},
        {**good, "id": None},
    ):
        res = teams.client.post("/api/messages", json=broken, headers=headers)
        assert res.status_code == 400, broken
        assert res.json()["error"]["code"] == "bad_activity"
        assert "Bot Framework activity" in res.json()["error"]["message"]
    assert teams.fake.bf.sent == [] and _nothing_written(teams)


def test_unknown_invoke_names_and_verbs_are_answered_clearly(teams):  # type: ignore[no-untyped-def]
    """An invoke procurebot does not handle gets 501 naming it; an adaptiveCard/action without a verb gets an error."""
    user = teams.user("jake.miller")
    for name in ("composeExtension/query", "task/fetch", "made/up"):
        res = teams.post(teams.fake.activity(user, "invoke", name=name, value={}))
        assert res.status_code == 501 and name in res.json()["error"]["message"]
    res = teams.post(
        teams.fake.activity(
            user, "invoke", name="adaptiveCard/action", value={"action": {"type": "Action.Execute", "data": {}}}
        )
    )
    assert res.status_code in (200, 400)
    if res.status_code == 200:
        assert res.json()["statusCode"] == 400
    assert _nothing_written(teams) or _count(teams, Requisition) == 0


def test_a_person_not_in_the_directory_is_told_what_to_do(teams):  # type: ignore[no-untyped-def]
    """A Teams user whose e-mail is not in the directory is told to ask the administrator; nothing else happens."""
    stranger = teams.fake.add_user("Sam Stranger", "sam@elsewhere.example")
    res = teams.post(teams.fake.message(stranger, WRAP))
    assert res.status_code == 200
    (reply,) = teams.fake.bf.to(stranger)
    assert "directory" in reply["text"] and card(reply) is None
    assert _count(teams, Requisition) == 0 and _count(teams, ChatAddress) == 0


def test_entra_object_id_in_the_directory_is_used_without_a_roster_lookup(teams, monkeypatch):  # type: ignore[no-untyped-def]
    """A person whose Entra object id is in the directory is known from the activity alone."""
    user = teams.user("jake.miller")
    teams.fake.bf.members.clear()  # the roster cannot help
    bot = teams.client.app.state.teams_bot
    person = bot.directory.person("jake.miller")
    monkeypatch.setitem(bot.identities._by_platform_id["teams"], user.aad, person)
    res = teams.post(teams.fake.message(user, "help"))
    assert res.status_code == 200 and "status PR-1042" in teams.fake.bf.to(user)[-1]["text"]


def test_settings_refuse_half_configured_credentials_and_test_overrides_in_production(tmp_path):  # type: ignore[no-untyped-def]
    """An app id without a secret or certificate fails fast; a production server refuses the test-only overrides."""
    from pydantic import ValidationError

    from bot.settings.teams import TeamsSettings

    with pytest.raises(ValidationError, match="TEAMS_APP_PASSWORD"):
        TeamsSettings(app_id=APP_ID, _env_file=None)
    with pytest.raises(ValidationError, match="must be https"):
        TeamsSettings(
            app_id=APP_ID, app_password="x" * 20, openid_metadata_url="http://bf.example/openid", _env_file=None
        )
    overridden = TeamsSettings(
        app_id=APP_ID, app_password="x" * 20, _env_file=None, service_url_allow=[r"http://127\.0\.0\.1:\d+/teams/"]
    )
    with pytest.raises(ValueError, match="TEAMS_SERVICE_URL_ALLOW"):
        overridden.check_production()
    TeamsSettings(app_id=APP_ID, app_password="x" * 20, _env_file=None).check_production()
    assert json.dumps(TeamsSettings(_env_file=None).configured) == "false"


def test_a_certificate_credential_gets_the_bot_token(db_url, clock, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """With a certificate instead of a client secret, msal signs an assertion Entra accepts and cards still go out."""
    from fake_teams import certificate_pem

    def use_certificate(fake, env):  # type: ignore[no-untyped-def]
        path, cert = certificate_pem(tmp_path)
        fake.entra.register_certificate(cert)
        env.delenv("TEAMS_APP_PASSWORD")
        env.setenv("TEAMS_CERTIFICATE_PATH", str(path))
        env.setenv("TEAMS_CARD_SECRET", "a-card-secret-for-the-certificate-test")

    for teams in running(db_url, clock, tmp_path, monkeypatch, prepare=use_certificate):
        number, approval = _approval(teams)
        assert "approve" in execute_actions(approval)
        assert teams.fake.entra.assertions_ok >= 1 and teams.fake.bf.refused == 0


def test_unreachable_signing_keys_answer_503_so_teams_retries(teams):  # type: ignore[no-untyped-def]
    """The Bot Framework keys cannot be fetched: 503 (Teams retries), nothing happens; the retry then works."""
    activity = teams.fake.message(teams.user("jake.miller"), "help")
    teams.fake.bf.faults.append("500")
    res = teams.post(activity)
    assert res.status_code == 503 and res.json()["error"]["code"] == "unavailable"
    assert _nothing_written(teams)
    assert teams.post(activity).status_code == 200
    assert "status PR-1042" in teams.fake.bf.to(teams.user("jake.miller"))[-1]["text"]


def test_generic_sdk_variables_cannot_override_the_teams_settings(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A stray CLIENT_SECRET or TENANT_ID in the environment would steer the SDK: start-up refuses and says which."""
    from bot.settings.teams import TeamsSettings
    from bot.teams.adapter import TeamsAdapter

    settings = TeamsSettings(app_id=APP_ID, app_password="x" * 20, tenant_id="t-1", _env_file=None)
    for name, value in (("CLIENT_SECRET", "from-another-app"), ("TENANT_ID", "another-tenant")):
        with monkeypatch.context() as env:
            env.setenv(name, value)
            if name == "TENANT_ID":
                settings = TeamsSettings(app_id=APP_ID, app_password="x" * 20, _env_file=None)
            with pytest.raises(ValueError, match="CLIENT_SECRET or TENANT_ID"):
                TeamsAdapter(settings, lambda inbound, email: None)  # type: ignore[arg-type,return-value]


def test_an_email_on_the_activity_identifies_the_person_without_the_roster(teams):  # type: ignore[no-untyped-def]
    """When Teams puts the user's e-mail on the activity, it is enough: no roster call is made."""
    user = teams.user("jake.miller")
    teams.fake.bf.members.clear()
    activity = teams.fake.message(user, "help")
    activity["from"] = {**activity["from"], "email": "Jake.Miller@lonestar.example"}
    assert teams.post(activity).status_code == 200
    assert "status PR-1042" in teams.fake.bf.to(user)[-1]["text"]
    assert not [r for r in teams.fake.bf.requests if "/members/" in r[1]]
