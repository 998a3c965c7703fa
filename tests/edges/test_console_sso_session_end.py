"""Console single sign-on, the end of a session and the provider's keys: signing out also signs out at the provider
(RP-initiated logout) when it offers an end_session_endpoint, locally otherwise; a provider that rotates its signing
keys is followed (a new key id fetches the keys again), and a token naming a key nobody published is refused."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from fake_oidc import CLIENT_ID

from bot.console import oidc
from bot.console.session import COOKIE
from bot.console.sso import ID_TOKEN_COOKIE
from tests.edges.test_console_sso import BASE, console, fake, refused, sign_in  # noqa: F401  (shared fixtures)

SIGNED_OUT = BASE + "/console/signed-out"


def csrf_of(client) -> str:  # type: ignore[no-untyped-def]
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/console").text).group(1)  # type: ignore[union-attr]


def test_signing_out_signs_out_at_the_provider_and_comes_back_signed_out(console, fake):  # noqa: F811
    """Priya signs out: her console session ends, the browser goes to the provider's sign-out with the ID token she
    signed in with and the console's signed-out page to come back to, and she lands there, signed out everywhere."""
    fake.post_logout_uris = [SIGNED_OUT]
    assert sign_in(console).status_code == 200
    session_cookie = console.cookies[COOKIE]
    kept = console.cookies.get(ID_TOKEN_COOKIE)
    assert kept and jwt.decode(kept, options={"verify_signature": False})["preferred_username"].startswith("priya")

    out = console.post("/console/logout", data={"csrf": csrf_of(console)}, follow_redirects=False)
    assert out.status_code == 200 and "signed out of the console" in out.text, out.text
    onward = html.unescape(re.search(r'id="provider-sign-out"[^>]* href="([^"]+)"', out.text).group(1))  # type: ignore[union-attr]
    assert f'content="0; url={html.escape(onward)}"' in out.text  # the page moves on by itself
    where = urlsplit(onward)
    assert f"{where.scheme}://{where.netloc}{where.path}" == fake.metadata_of()["end_session_endpoint"]
    asked = {k: v[0] for k, v in parse_qs(where.query).items()}
    assert asked["post_logout_redirect_uri"] == SIGNED_OUT and asked["client_id"] == CLIENT_ID
    assert asked["id_token_hint"] == kept
    assert ID_TOKEN_COOKIE in out.headers.get("set-cookie", "")  # the kept token is cleared

    at_provider = httpx.get(onward, follow_redirects=False, trust_env=False)
    assert at_provider.status_code == 302 and at_provider.headers["location"] == SIGNED_OUT
    assert fake.logout_requests and fake.logout_requests[0]["id_token_hint"] == kept
    back = console.get("/console/signed-out")
    assert back.status_code == 200 and "You are signed out." in back.text
    console.cookies.set(COOKIE, session_cookie, path="/console")  # a copy of the old cookie is worthless
    assert console.get("/console", follow_redirects=False).status_code == 303


def test_a_provider_without_a_sign_out_endpoint_gets_a_local_sign_out(console, fake):  # noqa: F811
    """A provider whose discovery document names no end_session_endpoint: signing out ends the console's session and
    shows the signed-out page, without sending the browser anywhere."""
    fake.end_session = False
    assert sign_in(console).status_code == 200
    out = console.post("/console/logout", data={"csrf": csrf_of(console)}, follow_redirects=False)
    assert out.status_code == 200 and "You are signed out." in out.text and "provider-sign-out" not in out.text
    assert fake.logout_requests == []
    assert console.get("/console", follow_redirects=False).status_code == 303


def test_a_break_glass_token_session_signs_out_locally(console, fake):  # noqa: F811
    """An admin signed in with an API token (single sign-on set up beside it) signs out on the console only."""
    from bot.tokens import create_token

    token = create_token(console.runtime.engine, name="break-glass", role="admin")
    page = console.get("/console/login").text
    form = {"token": token, "login_csrf": re.search(r'name="login_csrf" value="([^"]*)"', page).group(1)}  # type: ignore[union-attr]
    assert console.post("/console/login", data=form, follow_redirects=False).status_code == 303
    out = console.post("/console/logout", data={"csrf": csrf_of(console)}, follow_redirects=False)
    assert out.status_code == 200 and "You are signed out." in out.text and "provider-sign-out" not in out.text
    assert fake.logout_requests == []


@pytest.fixture
def later(monkeypatch):  # type: ignore[no-untyped-def]
    """Move the console's monotonic clock on (the keys are fetched again at most once a minute)."""
    moved = {"by": 0.0}
    real = oidc.time.monotonic
    monkeypatch.setattr(oidc.time, "monotonic", lambda: real() + moved["by"])

    def advance(seconds: float) -> None:
        moved["by"] += seconds

    return advance


def test_a_rotated_signing_key_is_fetched_and_accepted(console, fake, later):  # noqa: F811
    """The provider rotates its keys and drops the old one: the next sign-in's token names a key id the console has
    not seen, so it fetches the keys again and Priya signs in."""
    assert sign_in(console).status_code == 200
    fetched = fake.jwks_requests
    fake.rotate(keep_old=False)
    later(120)
    console.cookies.clear()
    answer = sign_in(console)
    assert answer.status_code == 200, answer.text
    assert fake.jwks_requests == fetched + 1
    assert jwt.get_unverified_header(console.cookies[ID_TOKEN_COOKIE])["kid"] == fake.kid == "fake-key-2"
    assert "Priya Nair" in console.get("/console").text


def test_a_token_naming_an_unknown_key_is_refused_and_fetches_the_keys_at_most_once_a_minute(
    console,  # noqa: F811
    fake,  # noqa: F811
    later,
):
    """A token signed with a key id the provider never published is refused (after one fresh look at the keys), and a
    second one within the minute does not make the console fetch them again."""
    assert sign_in(console).status_code == 200
    console.cookies.clear()
    later(120)
    fetched = fake.jwks_requests
    fake.stranger_key, fake.stranger_kid = True, "nobody-published-this"
    refused(sign_in(console), "bad_signature", console)
    assert fake.jwks_requests == fetched + 1
    fake.stranger_key, fake.stranger_kid = True, "nor-this"
    refused(sign_in(console), "bad_signature", console)
    assert fake.jwks_requests == fetched + 1
    assert sign_in(console).status_code == 200  # the provider's own key still signs people in
