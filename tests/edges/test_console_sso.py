"""Console single sign-on against a local OpenID provider shaped like Entra ID: a sign-in that works, and a refusal
for every way one can go wrong (state, replayed code, nonce, signature, audience, expiry, issuer, unknown person,
no console role), each leaving the browser signed out."""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fake_oidc import CLIENT_SECRET, OTHER_TENANT, TENANT, FakeOidc
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from approvals.models import AuditEvent
from bot.api.app import create_app
from bot.console.session import COOKIE, PENDING_COOKIE, PENDING_PATH
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.tokens import create_token

BASE = "http://127.0.0.1"
REDIRECT = BASE + "/console/login/oidc/callback"


def _console(db_url, tmp_path, fake: FakeOidc | None, **oidc):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=db_url,
        admin_token=None,
        env="dev",
        session_secret="s" * 40,
        var_dir=tmp_path,
        oidc=fake.settings(REDIRECT, **oidc) if fake else {},
        _env_file=None,
    )
    runtime = build_runtime(settings)
    client = TestClient(create_app(settings, runtime=runtime), base_url=BASE, raise_server_exceptions=False)
    client.runtime = runtime  # type: ignore[attr-defined]
    return client


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    with FakeOidc([REDIRECT]) as provider:
        yield provider


@pytest.fixture
def console(db_url, tmp_path, fake):  # type: ignore[no-untyped-def]
    with _console(db_url, tmp_path, fake) as client:
        yield client
    client.runtime.engine.dispose()  # type: ignore[attr-defined]


def leave_for_provider(client: TestClient) -> str:
    """Press "Sign in with Microsoft": the URL the browser is sent to."""
    start = client.get("/console/login/oidc", follow_redirects=False)
    assert start.status_code == 303, start.text
    return start.headers["location"]


def come_back(client: TestClient, authorize_url: str) -> httpx.Response:
    """The provider signs the user in and sends the browser back; the console's answer to that callback."""
    at_provider = httpx.get(authorize_url, follow_redirects=False, trust_env=False)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT
    return client.get(f"{back.path}?{back.query}", follow_redirects=False)


def sign_in(client: TestClient) -> httpx.Response:
    return come_back(client, leave_for_provider(client))


def events(client: TestClient, kind: str) -> list[AuditEvent]:
    with Session(client.runtime.engine) as session:  # type: ignore[attr-defined]
        return list(session.exec(select(AuditEvent).where(AuditEvent.kind == kind)))


def refused(answer: httpx.Response, reason: str, client: TestClient) -> None:
    assert answer.status_code == 403, answer.text
    assert f'data-refusal="{reason}"' in answer.text
    assert COOKIE not in client.cookies
    assert client.get("/console", follow_redirects=False).status_code == 303  # still signed out


def test_finance_controller_signs_in_with_the_provider_and_lands_on_the_dashboard(console, fake):
    """Priya presses "Sign in with Microsoft", signs in there, and is on the dashboard as an auditor; the provider
    saw a PKCE challenge, state and nonce, never the verifier, and the sign-in is in the audit trail."""
    page = console.get("/console/login")
    assert "Sign in with Microsoft" in page.text and 'id="token"' in page.text  # the token form stays
    authorize = leave_for_provider(console)
    asked = parse_qs(urlsplit(authorize).query)
    assert asked["response_type"] == ["code"] and asked["code_challenge_method"] == ["S256"]
    assert asked["state"][0] and asked["nonce"][0] and "code_verifier" not in asked
    assert set(asked["scope"][0].split()) >= {"openid", "email", "profile"}

    answer = come_back(console, authorize)
    assert answer.status_code == 200, answer.text
    assert 'http-equiv="refresh"' in answer.text and COOKIE in console.cookies
    dashboard = console.get("/console")
    assert dashboard.status_code == 200 and "Priya Nair" in dashboard.text and "(auditor)" in dashboard.text
    assert fake.token_requests[0]["code_verifier"] and "client_secret" in fake.token_requests[0]
    (signed_in,) = events(console, "console_signed_in")
    assert signed_in.actor == "oidc:priya.nair@lonestar.example"
    assert signed_in.after["person"] == "priya.nair" and signed_in.after["role"] == "auditor"


def test_procurement_director_is_an_admin_and_signing_out_ends_the_session(console, fake):
    """Sofia (procurement director, named in OIDC_ADMINS) signs in as an admin; after she signs out, a copy of her
    cookie is worthless."""
    fake.user = {
        "name": "Sofia Alvarez",
        "preferred_username": "sofia.alvarez@lonestar.example",
        "oid": "1a2b3c4d-0000-4000-8000-00000000aaaa",
    }
    assert sign_in(console).status_code == 200
    assert "(admin)" in console.get("/console").text
    cookie = console.cookies[COOKIE]
    csrf = re.search(r'name="csrf" value="([^"]+)"', console.get("/console").text).group(1)  # type: ignore[union-attr]
    assert console.post("/console/logout", data={"csrf": csrf}).status_code == 200
    console.cookies.set(COOKIE, cookie, path="/console")
    assert console.get("/console", follow_redirects=False).status_code == 303


def test_a_callback_with_another_state_is_refused(console, fake):
    """Someone hands Priya a callback link from their own sign-in (login CSRF): its state is not hers, refused."""
    authorize = leave_for_provider(console)
    at_provider = httpx.get(authorize, follow_redirects=False, trust_env=False)
    query = parse_qs(urlsplit(at_provider.headers["location"]).query)
    answer = console.get("/console/login/oidc/callback", params={"code": query["code"][0], "state": "not-hers"})
    refused(answer, "state_mismatch", console)
    assert fake.token_requests == []  # the code was never even exchanged
    assert PENDING_COOKIE not in console.cookies  # the attempt is used up


def test_a_replayed_code_is_refused(console, fake):
    """A callback URL (code and state) is replayed after it was used, even with the sign-in cookie copied back: the
    provider redeems a code once, and the console refuses the second try."""
    authorize = leave_for_provider(console)
    pending = console.cookies[PENDING_COOKIE]
    at_provider = httpx.get(authorize, follow_redirects=False, trust_env=False)
    back = urlsplit(at_provider.headers["location"])
    assert console.get(f"{back.path}?{back.query}").status_code == 200
    console.cookies.clear()
    again = console.get(f"{back.path}?{back.query}", follow_redirects=False)
    refused(again, "state_mismatch", console)  # the browser's sign-in cookie is gone after the first use
    console.cookies.set(PENDING_COOKIE, pending, path=PENDING_PATH)
    stolen = console.get(f"{back.path}?{back.query}", follow_redirects=False)
    refused(stolen, "code_rejected", console)
    assert "already used" in stolen.text


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"nonce": "a-nonce-from-another-sign-in"}, "wrong_nonce"),
        ({"aud": "00000000-0000-4000-8000-000000000bad"}, "wrong_audience"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200, "nbf": int(time.time()) - 7200}, "expired"),
        ({"iss": "https://login.example.net/someone-else/v2.0"}, "wrong_issuer"),
        ("stranger_key", "bad_signature"),
    ],
    ids=["wrong-nonce", "wrong-audience", "expired", "wrong-issuer", "bad-signature"],
)
def test_an_id_token_that_does_not_hold_is_refused(console, fake, tamper, reason):
    """The provider's answer carries an ID token with another nonce, another audience, an expiry in the past,
    another issuer, or a signature not made by the provider's keys: refused, nobody signed in."""
    if tamper == "stranger_key":
        fake.stranger_key = True
    else:
        fake.tamper = dict(tamper)
    answer = sign_in(console)
    refused(answer, reason, console)
    assert events(console, "console_signed_in") == []


def test_someone_the_directory_does_not_know_is_refused_and_audited(console, fake):
    """A contractor with a valid account signs in: the directory has no such person; the page says so and who to
    ask, and the refusal is in the audit trail."""
    fake.user = {
        "name": "Sam Stone",
        "preferred_username": "sam.stone@contractor.example",
        "oid": "2b3c4d5e-0000-4000-8000-00000000bbbb",
    }
    answer = sign_in(console)
    refused(answer, "unknown_user", console)
    assert "sam.stone@contractor.example" in answer.text and "directory" in answer.text
    (event,) = events(console, "console_sign_in_refused")
    assert event.after["reason"] == "unknown_user" and event.surface == "console"
    assert event.after["account"]["preferred_username"] == "sam.stone@contractor.example"


def test_a_person_without_a_console_role_is_refused_and_audited(console, fake):
    """Jake, a maintenance technician, signs in: he is in the directory but no console role names him."""
    fake.user = {
        "name": "Jake Miller",
        "preferred_username": "jake.miller@lonestar.example",
        "oid": "3c4d5e6f-0000-4000-8000-00000000cccc",
    }
    answer = sign_in(console)
    refused(answer, "no_console_role", console)
    assert "Jake Miller" in answer.text and "OIDC_AUDITORS" in answer.text
    (event,) = events(console, "console_sign_in_refused")
    assert event.after["reason"] == "no_console_role" and event.after["person"] == "jake.miller"


def test_the_provider_cancelling_is_a_clear_refusal(console, fake):
    """Priya cancels on the provider's page: she is back on the console with a page that says so."""
    fake.deny = "access_denied"
    answer = sign_in(console)
    refused(answer, "provider_error", console)
    assert "access_denied" in answer.text


def test_a_multi_tenant_endpoint_takes_only_the_allowed_tenants(db_url, tmp_path, fake):
    """With Entra's /organizations endpoint, an account of another organization is refused (and audited); one of
    the allowed tenant signs in."""
    with _console(
        db_url, tmp_path, fake, discovery_url=fake.discovery_url("organizations"), allowed_tenants=TENANT
    ) as client:
        fake.user_tenant = OTHER_TENANT
        refused(sign_in(client), "tenant_not_allowed", client)
        assert events(client, "console_sign_in_refused")[0].after["account"]["tid"] == OTHER_TENANT
        fake.user_tenant = TENANT
        assert sign_in(client).status_code == 200
        assert "Priya Nair" in client.get("/console").text
    client.runtime.engine.dispose()  # type: ignore[attr-defined]


def test_without_the_settings_nothing_changes_and_tokens_still_work(db_url, tmp_path):
    """No OIDC_DISCOVERY_URL: the sign-in page offers only the token form, and the single sign-on URL says it is off."""
    with _console(db_url, tmp_path, None) as client:
        page = client.get("/console/login")
        assert "Sign in with" not in page.text and 'id="token"' in page.text
        off = client.get("/console/login/oidc", follow_redirects=False)
        assert off.status_code == 404 and "not set up" in off.text
    client.runtime.engine.dispose()  # type: ignore[attr-defined]


def test_break_glass_token_sign_in_works_beside_single_sign_on(console):
    """The provider is down for the day: an admin still signs in with an API token."""
    token = create_token(console.runtime.engine, name="break-glass", role="admin")  # type: ignore[attr-defined]
    page = console.get("/console/login").text
    login_csrf = re.search(r'name="login_csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = console.post("/console/login", data={"token": token, "login_csrf": login_csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert "break-glass" in console.get("/console").text


def test_the_client_secret_never_reaches_the_log(console, fake, caplog):
    """Sign-ins that work and that fail log what happened, never the client secret."""
    caplog.set_level(logging.DEBUG)
    sign_in(console)
    fake.stranger_key = True
    sign_in(console)
    assert caplog.records and all(CLIENT_SECRET not in r.getMessage() for r in caplog.records)


def test_half_set_single_sign_on_stops_the_start_naming_what_is_missing(monkeypatch):
    """An operator sets only OIDC_DISCOVERY_URL: the server does not start, and says which settings are missing."""
    monkeypatch.setenv("OIDC_DISCOVERY_URL", "https://login.microsoftonline.com/" + TENANT + "/v2.0/x")
    with pytest.raises(ValueError) as refused:
        Settings(_env_file=None)
    text = str(refused.value)
    assert "OIDC_CLIENT_ID" in text and "OIDC_CLIENT_SECRET" in text and "OIDC_REDIRECT_URL" in text
    assert "OIDC_ADMINS or OIDC_AUDITORS" in text


def test_production_refuses_a_provider_reached_over_plain_http(fake):
    """The local fake provider's http URLs are for tests: a production server with them does not start."""
    with pytest.raises(ValueError, match="OIDC_DISCOVERY_URL must be https in production"):
        Settings(
            env="production",
            database_url="postgresql://procurebot@db/procurebot",
            oidc=fake.settings(REDIRECT),
            _env_file=None,
        )


def test_junk_at_the_callback_is_refused_without_an_error(console, fake):
    """Malformed callbacks (no state, nul bytes, oversized values, a forged error, a garbage code) get 4xx, sign
    nobody in, and never reach the provider's token endpoint with a state that is not this browser's."""
    leave_for_provider(console)  # this browser has a sign-in in progress
    junk = [
        "",
        "?code=%00&state=%00",
        "?code=" + "A" * 5000 + "&state=x",
        "?state=" + "s" * 600,
        "?error=%00&error_description=%FF",
        "?code[]=a&state[]=b",
        "?code=abc&state=%F0%9F%92%A9",
    ]
    statuses = [
        console.get("/console/login/oidc/callback" + query, follow_redirects=False).status_code for query in junk
    ]
    assert all(400 <= status < 500 for status in statuses), statuses
    assert COOKIE not in console.cookies and fake.token_requests == []


def test_an_unverified_email_claim_does_not_make_someone_priya(console, fake):
    """An account of another organization whose admins typed Priya's address into its e-mail attribute (Entra's
    unverified `email` claim) is not Priya: refused as unknown, audited."""
    fake.user = {
        "name": "Mallory",
        "preferred_username": "mallory@evil.example",
        "email": "priya.nair@lonestar.example",
        "oid": "4d5e6f70-0000-4000-8000-00000000dddd",
    }
    refused(sign_in(console), "unknown_user", console)
    assert events(console, "console_sign_in_refused")[0].after["account"]["email"] == "priya.nair@lonestar.example"


def test_another_provider_matches_a_verified_email(console, fake):
    """A standard provider (no Entra tenant claim) that vouches for the e-mail (`email_verified`) signs Priya in;
    its `preferred_username`, which the user may choose, is not used."""
    fake.user = {"name": "Priya Nair", "preferred_username": "sofia.alvarez@lonestar.example", "oid": None}
    fake.tamper = {"tid": None, "email": "priya.nair@lonestar.example", "email_verified": True}
    assert sign_in(console).status_code == 200
    assert "Priya Nair" in console.get("/console").text and "(auditor)" in console.get("/console").text


def test_a_provider_that_drops_the_connection_gets_a_clear_page(console, fake):
    """The token endpoint hangs up mid-sign-in: a 502 page that says to try again or use a token, not an error."""
    authorize = leave_for_provider(console)
    at_provider = httpx.get(authorize, follow_redirects=False, trust_env=False)
    back = urlsplit(at_provider.headers["location"])
    fake.faults = ["drop"]
    answer = console.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert answer.status_code == 502 and 'data-refusal="provider_unavailable"' in answer.text
    assert "API token" in answer.text and COOKIE not in console.cookies


def test_a_session_ends_when_the_person_loses_the_console_role(console, fake):
    """Priya is signed in; finance is taken off OIDC_AUDITORS (and the server restarted with it): her next click
    sends her to sign-in, and signing in again makes her only the manager of her own team (Olivia reports to her)."""
    assert sign_in(console).status_code == 200
    assert console.get("/console", follow_redirects=False).status_code == 200
    console.runtime.settings.oidc.auditors = ["cfo"]  # type: ignore[attr-defined]
    assert console.get("/console", follow_redirects=False).status_code == 303
    assert console.get("/console", follow_redirects=False).headers["location"].startswith("/console/login")
    assert sign_in(console).status_code == 200
    home = console.get("/console", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/console/team"
    assert console.get("/console/audit").status_code == 403
    assert "Olivia Grant" in console.get("/console/team").text


def test_someone_nobody_reports_to_loses_the_console_with_their_role(console, fake):
    """Olivia (AP analyst, nobody reports to her) is let in as an auditor while finance is on OIDC_AUDITORS; once it
    is not, signing in is refused."""
    fake.user = {"name": "Olivia Grant", "preferred_username": "olivia.grant@lonestar.example", "oid": "0a1b2c3d"}
    console.runtime.settings.oidc.auditors = ["ap_analyst"]  # type: ignore[attr-defined]
    assert sign_in(console).status_code == 200
    console.runtime.settings.oidc.auditors = ["cfo"]  # type: ignore[attr-defined]
    assert console.get("/console", follow_redirects=False).status_code == 303
    again = sign_in(console)
    assert again.status_code == 403 and 'data-refusal="no_console_role"' in again.text
    assert console.get("/console", follow_redirects=False).status_code == 303
