"""Console sessions on a real server: signing out ends the session server-side (a copied cookie is worthless), the
sign-in form carries its own CSRF token, and no form is taken from another site's page."""

from __future__ import annotations

import re

import httpx
from security_served import Served

from bot.console.session import COOKIE, LOGIN_COOKIE


def _browser(served: Served) -> httpx.Client:
    return httpx.Client(base_url=served.base, timeout=30, follow_redirects=False)


def _form(client: httpx.Client) -> dict[str, str]:
    page = client.get("/console/login").text
    token = re.search(r'name="login_csrf" value="([^"]+)"', page)
    assert token is not None, "the sign-in form has no CSRF field"
    return {"login_csrf": token.group(1)}


def _sign_in(client: httpx.Client, served: Served) -> str:
    answer = client.post("/console/login", data={"token": served.token, **_form(client)})
    assert answer.status_code == 303, answer.text
    return client.cookies[COOKIE]


def _csrf(client: httpx.Client) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get("/console").text)
    assert match is not None
    return match.group(1)


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(served: Served):
    """Priya signs out on a shared PC; someone who copied her cookie earlier is sent to sign-in, not let in."""
    with _browser(served) as browser:
        cookie = _sign_in(browser, served)
        assert browser.get("/console").status_code == 200
        signed_out = browser.post("/console/logout", data={"csrf": _csrf(browser)})
        assert signed_out.status_code == 200 and "signed out" in signed_out.text.lower()
    with _browser(served) as thief:
        thief.cookies.set(COOKIE, cookie, path="/console")
        again = thief.get("/console")
        assert again.status_code == 303 and again.headers["location"].startswith("/console/login")
        assert thief.get("/console/audit").status_code == 303


def test_sign_in_without_the_forms_token_is_refused(served: Served):
    """Another site posts the sign-in form with its own admin token: without the form's token, 403."""
    with _browser(served) as victim:
        answer = victim.post("/console/login", data={"token": served.token})
        assert answer.status_code == 403 and COOKIE not in victim.cookies
        assert "another site" in answer.text
        stolen_field = _form(victim)  # a token without the cookie it was made for is just as useless
    with _browser(served) as other:
        answer = other.post("/console/login", data={"token": served.token, **stolen_field})
        assert answer.status_code == 403 and COOKIE not in other.cookies


def test_sign_in_from_another_origin_is_refused_even_with_the_token(served: Served):
    """A sign-in posted from another origin is 403 even with the form's token; from our own page it works."""
    with _browser(served) as browser:
        form = {"token": served.token, **_form(browser)}
        evil = browser.post("/console/login", data=form, headers={"Origin": "https://evil.example"})
        assert evil.status_code == 403 and COOKIE not in browser.cookies
        cross = browser.post("/console/login", data=form, headers={"Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 403 and COOKIE not in browser.cookies
        hidden = browser.post("/console/login", data=form, headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"})
        assert hidden.status_code == 403 and COOKIE not in browser.cookies
        own = browser.post("/console/login", data=form, headers={"Origin": served.base})
        assert own.status_code == 303 and COOKIE in browser.cookies


def test_a_signed_in_form_post_from_another_origin_is_refused(served: Served):
    """A hostile page posts sign-out with a leaked CSRF token: refused by Origin, the session lives on."""
    with _browser(served) as browser:
        _sign_in(browser, served)
        csrf = _csrf(browser)
        refused = browser.post("/console/logout", data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403
        assert browser.get("/console").status_code == 200


def test_the_sign_in_cookie_is_httponly_strict_and_scoped_to_sign_in(served: Served):
    """The sign-in form's cookie cannot be read by scripts, is never sent cross-site, and goes only to sign-in."""
    with _browser(served) as browser:
        page = browser.get("/console/login")
        cookie = page.headers["set-cookie"]
        assert cookie.startswith(LOGIN_COOKIE + "=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console/login" in cookie
