"""Console sign-in: who is looking, in a signed, HttpOnly session cookie, with a CSRF token per session.

The cookie holds an `Identity` (signed with HMAC-SHA256, never encrypted: it carries no
secret) and expires after `MAX_AGE`. Each request checks the signature, the expiry, the
session's row (`console_session`: signing out ends it on every server, whoever kept a copy of
the cookie) and the sign-in method's own rule: an API-token session ends as soon as its token is
revoked. The sign-in form carries its own CSRF token (a signed double-submit of a cookie), and
every form post must come from the console's own origin. Single sign-on (bot/console/sso.py) is the second
method: it makes the same `Identity` (`via="oidc"`, the subject a directory person's id) and its session lives as
long as that person is active with a console role; the pages only ever see the `Identity`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import urlsplit

from fastapi import Request, Response
from sqlalchemy import Engine
from sqlmodel import Session

from approvals.clock import as_utc, utcnow
from approvals.directory import Person
from approvals.models import ApiToken
from bot.console import oidc
from bot.console.models import ConsoleSession
from bot.tokens import find_token

COOKIE = "pb_console"
LOGIN_COOKIE = "pb_console_login"  # the sign-in form's double-submit nonce (before there is a session)
MAX_AGE = 8 * 3600  # one working day
CONSOLE_ROLES = ("admin", "auditor")  # an API token's roles that may sign in
# a session's roles: single sign-on also lets in managers, person-bound, for their own team's page only
SESSION_ROLES = (*CONSOLE_ROLES, "manager")


@dataclass(frozen=True)
class Identity:
    """A signed-in console user."""

    subject: str  # the token id for API-token sessions, the provider's subject for OIDC
    name: str
    role: str  # admin, auditor, or manager (single sign-on only: a person with people reporting to them)
    via: str  # "token" (or "oidc")
    csrf: str
    expires: int
    sid: str = ""  # the session's id; its row says whether it was ended (a cookie without one is refused)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def person_id(self) -> str | None:
        """The directory person signed in (single sign-on), or None for an API-token session."""
        return self.subject if self.via == "oidc" else None


class SignInMethod(Protocol):
    def still_valid(self, runtime: Any, identity: Identity) -> bool:
        """Whether the credential behind a session still holds (checked on every request, with the runtime)."""
        ...


class TokenSignIn:
    """Sign in with an API token (admin or auditor); the session lives only as long as the token."""

    def identify(self, engine: Engine, plain: str) -> ApiToken | None:
        with Session(engine) as session:
            return find_token(session, plain.strip())

    def still_valid(self, runtime: Any, identity: Identity) -> bool:
        with Session(runtime.engine) as session:
            row = session.get(ApiToken, int(identity.subject))
        return row is not None and row.revoked_at is None and row.role == identity.role


class OidcSignIn:
    """Single sign-on: the session lives while its person is in the directory, active, with the same console role
    (a leaver, or someone whose role was taken away, is out at their next click)."""

    def still_valid(self, runtime: Any, identity: Identity) -> bool:
        settings = runtime.settings.oidc
        person = runtime.directory.person(identity.subject)
        return (
            settings.configured
            and person is not None
            and oidc.console_role(runtime.directory, person, settings) == identity.role
        )


METHODS: dict[str, SignInMethod] = {"token": TokenSignIn(), "oidc": OidcSignIn()}


def secret_for(request: Request) -> bytes | None:
    """The signing key: the configured secret, or (dev, unset) a random one kept for this process."""
    settings = request.app.state.runtime.settings
    configured = getattr(settings, "session_secret", None)
    if configured is not None:
        return configured.get_secret_value().encode()
    if not settings.dev:
        return None  # production needs a shared key so every replica accepts the same sessions
    key = getattr(request.app.state, "console_secret", None)
    if key is None:
        key = request.app.state.console_secret = secrets.token_bytes(32)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def encode(key: bytes, identity: Identity) -> str:
    body = _b64(json.dumps(asdict(identity), separators=(",", ":")).encode())
    return f"{body}.{_sign(key, body)}"


def decode(key: bytes, value: str, now: float | None = None) -> Identity | None:
    """The identity in a cookie value, or None if it is forged, damaged or expired."""
    body, _, signature = value.partition(".")
    if not body or not signature or not hmac.compare_digest(_sign(key, body), signature):
        return None
    try:
        data: dict[str, Any] = json.loads(_unb64(body))
        identity = Identity(**data)
    except (ValueError, TypeError):
        return None
    if identity.expires <= (now or utcnow().timestamp()) or identity.role not in SESSION_ROLES:
        return None
    return identity


def new_identity(token: ApiToken) -> Identity:
    return _identity(str(token.id), token.name, token.role, "token")


def person_identity(person: Person, role: str) -> Identity:
    """The identity of a directory person signed in through single sign-on."""
    return _identity(person.id, person.name, role, "oidc")


def _identity(subject: str, name: str, role: str, via: str) -> Identity:
    return Identity(
        subject=subject,
        name=name,
        role=role,
        via=via,
        csrf=secrets.token_urlsafe(24),
        expires=int(utcnow().timestamp()) + MAX_AGE,
        sid=secrets.token_urlsafe(32),
    )


def _row_id(identity: Identity) -> str:
    return hashlib.sha256(identity.sid.encode()).hexdigest()


def session_ref(identity: Identity) -> str:
    """The session as the audit trail names it: its row's id (a hash), never the session id the cookie carries."""
    return "session:" + _row_id(identity)[:16] if identity.sid else identity.subject


def open_session(engine: Engine, identity: Identity) -> None:
    """Record a new sign-in, so it can be ended server-side."""
    with Session(engine) as session:
        session.add(
            ConsoleSession(
                id=_row_id(identity),
                subject=identity.subject,
                created_at=utcnow(),
                expires_at=datetime.fromtimestamp(identity.expires, timezone.utc),
            )
        )
        session.commit()


def end_session(engine: Engine, identity: Identity) -> None:
    """Sign out: the session ends for every copy of its cookie, on every server."""
    with Session(engine) as session:
        row = session.get(ConsoleSession, _row_id(identity))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            session.add(row)
            session.commit()


def _live(engine: Engine, identity: Identity) -> bool:
    if not identity.sid:
        return False
    with Session(engine) as session:
        row = session.get(ConsoleSession, _row_id(identity))
    expires = as_utc(row.expires_at) if row is not None else None
    return row is not None and row.ended_at is None and expires is not None and expires > utcnow()


def current(request: Request) -> Identity | None:
    """The signed-in user of this request, re-checked against their credential."""
    key = secret_for(request)
    raw = request.cookies.get(COOKIE)
    if key is None or not raw:
        return None
    identity = decode(key, raw)
    if identity is None:
        return None
    method = METHODS.get(identity.via)
    engine = request.app.state.runtime.engine
    if method is None or not method.still_valid(request.app.state.runtime, identity) or not _live(engine, identity):
        return None
    return identity


def set_cookie(request: Request, response: Response, identity: Identity, key: bytes) -> None:
    response.set_cookie(
        COOKIE,
        encode(key, identity),
        max_age=MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/console",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/console")


def csrf_ok(identity: Identity, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(identity.csrf, submitted or "")


def same_origin(request: Request) -> bool:
    """Whether a form post comes from the console's own pages: its Origin, when the browser names one, is this host,
    and the browser does not call the request cross-site. A client that sends neither (curl) is let through to the
    CSRF token check."""
    origin = request.headers.get("origin")
    # "null": the console's pages send no referrer (Referrer-Policy: no-referrer), and a browser then sends an
    # opaque Origin even from our own page; Sec-Fetch-Site still tells same-origin from cross-site
    if origin not in (None, "null") and urlsplit(origin).netloc != request.headers.get("host", ""):
        return False
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def _login_signature(key: bytes, nonce: str) -> str:
    return _sign(key, "sign-in form:" + nonce)


def login_form_token(request: Request, response: Response, key: bytes) -> str:
    """The sign-in form's CSRF token, for the nonce in this browser's sign-in cookie (set on `response` if the
    browser has none yet). Another site can post the form but can neither read nor set that cookie."""
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    if len(nonce) < 20:
        nonce = secrets.token_urlsafe(24)
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            max_age=MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/console/login",
        )
    return _login_signature(key, nonce)


def login_form_ok(request: Request, key: bytes, submitted: str | None) -> bool:
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    return len(nonce) >= 20 and bool(submitted) and hmac.compare_digest(_login_signature(key, nonce), submitted or "")


PENDING_COOKIE = "pb_console_oidc"  # a single sign-on in progress: state, nonce and PKCE verifier, signed
PENDING_PATH = "/console/login/oidc"
PENDING_SECONDS = 600  # the provider's sign-in page must be done within ten minutes


def set_pending(request: Request, response: Response, key: bytes, pending: oidc.Pending) -> None:
    """Keep a sign-in's state, nonce and verifier in the browser, signed, for its way back from the provider.
    SameSite=Lax: the provider's redirect back is a cross-site navigation, which a Strict cookie would miss."""
    body = _b64(json.dumps({**asdict(pending), "until": int(utcnow().timestamp()) + PENDING_SECONDS}).encode())
    response.set_cookie(
        PENDING_COOKIE,
        f"{body}.{_sign(key, 'sso:' + body)}",
        max_age=PENDING_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=PENDING_PATH,
    )


def read_pending(request: Request, key: bytes) -> oidc.Pending | None:
    """The sign-in this browser started, or None: no cookie, a forged one, or one older than ten minutes."""
    body, _, signature = (request.cookies.get(PENDING_COOKIE) or "").partition(".")
    if not body or not signature or not hmac.compare_digest(_sign(key, "sso:" + body), signature):
        return None
    try:
        data = json.loads(_unb64(body))
        until = int(data.pop("until"))
        pending = oidc.Pending(**data)
    except (ValueError, TypeError, KeyError):
        return None
    return pending if until > utcnow().timestamp() else None


def clear_pending(response: Response) -> None:
    response.delete_cookie(PENDING_COOKIE, path=PENDING_PATH)
