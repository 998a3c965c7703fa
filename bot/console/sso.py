"""Single sign-on routes: off to the OpenID provider, back with a code, then signed in (or refused, saying why).

`GET /console/login/oidc` keeps a fresh state, nonce and PKCE verifier in a signed, ten-minute cookie and sends the
browser to the provider. `GET /console/login/oidc/callback` checks the state against that cookie (once: the cookie
is cleared whatever happens), exchanges the code, checks the ID token (bot/console/oidc.py), finds the directory
person and their console role, and opens the same server-side session an API-token sign-in opens. A refusal before
a valid ID token counts as a failed sign-in for the address (bot/ratelimit.py) and is logged; a refusal of a
verified account (not in the directory, no console role, another tenant) is also written to the audit trail, and so
is every single sign-on that succeeds.

Signing out of a single sign-on session also signs out at the provider when its discovery document names an
`end_session_endpoint` (OpenID Connect RP-Initiated Logout 1.0). After the console's own session has ended, a page
that moves on by itself takes the browser there with the ID token it signed in with (`id_token_hint`, kept in an
HttpOnly cookie that only the sign-out post carries) and `post_logout_redirect_uri` = `/console/signed-out` on the
console's own origin, which the provider must know (Entra ID: one more Web redirect URI of the app registration). A
provider without one, or one that cannot be reached, gets the console's local sign-out: the session ends all the same.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from approvals import audit
from approvals.clock import utcnow
from approvals.db import transaction
from bot.console import html, texts
from bot.console.oidc import Pending, Provider, Refused, account_of, console_role, person_for
from bot.console.session import (
    MAX_AGE,
    clear_pending,
    open_session,
    person_identity,
    read_pending,
    secret_for,
    set_cookie,
    set_pending,
)
from bot.ratelimit import limiter_for, source_of
from bot.settings.oidc import LOOPBACK

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)

# the ID token of a single sign-on, for the provider's sign-out (`id_token_hint`); sent with the sign-out post only
ID_TOKEN_COOKIE = "pb_console_idt"
ID_TOKEN_PATH = "/console/logout"
ID_TOKEN_MAX = 3800  # a cookie holds about 4 KB; a longer token is not kept (the provider then asks who signs out)
SIGNED_OUT_PATH = "/console/signed-out"
SIGNING_OUT = "You are signed out of the console. Now signing you out at {provider} ..."
SIGN_OUT_THERE = "Sign out at {provider}"

# refusals of an account the provider vouched for: written to the audit trail (the others are only logged, so a
# stranger replaying junk at the callback cannot grow the chain)
AUDITED = ("unknown_user", "no_console_role", "tenant_not_allowed")


def provider_of(request: Request) -> Provider | None:
    """This app's provider (metadata and keys cached across requests), or None when single sign-on is not set up."""
    settings = request.app.state.runtime.settings.oidc
    if not settings.configured:
        return None
    provider: Provider | None = getattr(request.app.state, "console_oidc", None)
    if provider is None or provider.settings is not settings:
        provider = request.app.state.console_oidc = Provider(settings)
    return provider


def _refused(request: Request, refused: Refused, status: int = 403, **words: Any) -> Response:
    settings = request.app.state.runtime.settings.oidc
    template = texts.SSO_REFUSED.get(refused.reason, texts.SSO_REFUSED["bad_claims"])
    text = template.format(provider=settings.provider_name, **{"error": refused.detail, "account": "", **words})
    page = html.page("sso_refused.html", texts.SSO_FAILED_TITLE, status=status, text=text, reason=refused.reason)
    clear_pending(page)
    return page


def _audit(request: Request, kind: str, claims: dict[str, Any], **after: Any) -> None:
    account = account_of(claims)
    actor = "oidc:" + (account.get("preferred_username") or account.get("email") or account.get("sub") or "unknown")
    runtime = request.app.state.runtime
    with transaction(runtime.engine) as session:
        audit.append_event(
            session,
            kind=kind,
            actor=actor[:80],  # the audit column's width
            at=runtime.service.clock(),
            surface="console",
            after={**after, "account": account},
        )


@router.get("/login/oidc")
def sso_start(request: Request) -> Response:
    key = secret_for(request)
    if key is None:
        return html.message("Sign in", texts.NO_SECRET, "bad", status=503)
    provider = provider_of(request)
    if provider is None:
        return html.message("Sign in", texts.SSO_OFF, "warn", status=404)
    pending = Pending.new()
    try:
        url = provider.authorization_url(pending)
    except Refused as refused:
        log.warning("console single sign-on: %s", refused)
        return _refused(request, refused, status=502)
    response = RedirectResponse(url, status_code=303)
    set_pending(request, response, key, pending)
    return response


@router.get("/login/oidc/callback")
def sso_callback(
    request: Request,
    code: str = Query(default="", max_length=4096),
    state: str = Query(default="", max_length=512),
    error: str = Query(default="", max_length=200),
) -> Response:
    key = secret_for(request)
    if key is None:
        return html.message("Sign in", texts.NO_SECRET, "bad", status=503)
    provider = provider_of(request)
    if provider is None:
        return html.message("Sign in", texts.SSO_OFF, "warn", status=404)
    limiter, source = limiter_for(request.app.state), source_of(request.client)
    wait = limiter.retry_after(source)
    if wait:
        page = html.message("Sign in", texts.TOO_MANY_TRIES.format(seconds=wait), "bad", status=429)
        page.headers["Retry-After"] = str(wait)
        return page
    pending = read_pending(request, key)
    try:
        if error:
            raise Refused("provider_error", error)
        if pending is None or not state or not hmac.compare_digest(state, pending.state):
            raise Refused("state_mismatch")
        if not code:
            raise Refused("code_rejected", "no code")
        id_token = provider.exchange(code, pending)
        claims = provider.verify(id_token, pending, now=utcnow().timestamp())
    except Refused as refused:
        log.warning("console single sign-on refused: %s", refused)
        if refused.reason in AUDITED:
            _audit(request, "console_sign_in_refused", refused.claims, reason=refused.reason)
        elif refused.reason != "provider_unavailable":
            limiter.failed(source)
        return _refused(request, refused, status=502 if refused.reason == "provider_unavailable" else 403)

    runtime = request.app.state.runtime
    person = person_for(runtime.directory, claims)
    if person is None:
        account = account_of(claims)
        shown = account.get("preferred_username") or account.get("email") or account.get("name") or "this account"
        _audit(request, "console_sign_in_refused", claims, reason="unknown_user")
        log.warning("console single sign-on refused: unknown_user %s", account)
        return _refused(request, Refused("unknown_user"), account=shown)
    role = console_role(runtime.directory, person, runtime.settings.oidc)
    if role is None:
        _audit(request, "console_sign_in_refused", claims, reason="no_console_role", person=person.id)
        log.warning("console single sign-on refused: no_console_role for %s", person.id)
        return _refused(request, Refused("no_console_role"), name=person.name)

    identity = person_identity(person, role)
    open_session(runtime.engine, identity)
    _audit(request, "console_signed_in", claims, person=person.id, role=role, via="oidc")
    page = html.page("sso_signed_in.html", "Signed in")
    set_cookie(request, page, identity, key)
    clear_pending(page)
    if len(id_token) <= ID_TOKEN_MAX:
        page.set_cookie(
            ID_TOKEN_COOKIE,
            id_token,
            max_age=MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path=ID_TOKEN_PATH,
        )
    return page


def _browser_url(url: object, discovery_url: object) -> bool:
    """Whether a URL the discovery document gives is one to send a browser to: https, or http when the discovery
    document itself is read over http (allowed only on this machine: a local provider in development)."""
    scheme = urlsplit(str(url)).scheme
    return scheme == "https" or (scheme == "http" and urlsplit(str(discovery_url)).hostname in LOOPBACK)


def provider_sign_out(request: Request, who: Any) -> Response | None:
    """After the console's own session has ended: the redirect that signs a single sign-on user out at the provider
    too (RP-Initiated Logout), or None for a local sign-out (an API-token session, no provider set up, a provider
    without an end_session_endpoint or not answering)."""
    if getattr(who, "via", "") != "oidc":
        return None
    provider = provider_of(request)
    if provider is None:
        return None
    try:
        endpoint = provider.metadata().get("end_session_endpoint")
    except Refused as refused:
        log.warning("console sign-out: the provider's sign-out is skipped: %s", refused)
        return None
    if not endpoint or not _browser_url(endpoint, provider.settings.discovery_url):
        return None
    settings = provider.settings
    back = urlsplit(str(settings.redirect_url))
    params = {
        "client_id": settings.client_id or "",
        "post_logout_redirect_uri": urlunsplit(back._replace(path=SIGNED_OUT_PATH, query="", fragment="")),
    }
    hint = request.cookies.get(ID_TOKEN_COOKIE, "")
    if hint and len(hint) <= ID_TOKEN_MAX and hint.count(".") == 2:
        params["id_token_hint"] = hint
    parts = urlsplit(str(endpoint))
    url = urlunsplit(parts._replace(query="&".join(q for q in (parts.query, urlencode(params)) if q)))
    name = settings.provider_name
    return html.page(
        "sso_signing_out.html",
        "Signing out",
        url=url,
        text=SIGNING_OUT.format(provider=name),
        button=SIGN_OUT_THERE.format(provider=name),
    )


def signed_out_response(request: Request, who: Any) -> Response:
    """The answer to a sign-out whose session has ended: off to the provider's sign-out, or the signed-out page; the
    kept ID token goes either way."""
    response = provider_sign_out(request, who) or html.page("signed_out.html", "Signed out")
    response.delete_cookie(ID_TOKEN_COOKIE, path=ID_TOKEN_PATH)
    return response


@router.get("/signed-out")
def signed_out(request: Request) -> Response:
    """Where the provider sends the browser back after its sign-out (post_logout_redirect_uri)."""
    page = html.page("signed_out.html", "Signed out")
    page.delete_cookie(ID_TOKEN_COOKIE, path=ID_TOKEN_PATH)
    return page
