"""Single sign-on for the console: OpenID Connect's authorization code flow with PKCE, state and nonce.

Authlib makes the authorization URL (with the S256 code challenge) and exchanges the code at the token endpoint;
joserfc (Authlib's own JOSE library) checks the ID token's RS256 signature against the provider's JWKS, and Authlib's
`CodeIDToken` its issuer, audience, expiry, nonce and authorized party. The provider is found through its discovery
document (`OIDC_DISCOVERY_URL`), so Microsoft Entra ID and any standard provider work the same way; Entra's
multi-tenant issuer (`https://login.microsoftonline.com/{tenantid}/v2.0`) is checked against the token's own `tid`,
which must be one of `OIDC_ALLOWED_TENANTS`.

A valid ID token proves who the account is, not that it may use the console: `person_for` finds the directory person
(Entra object id, then Entra username, then a verified e-mail) and `console_role` the role the settings give them.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    InvalidTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from approvals.directory import Directory, Person
from bot.settings.oidc import TENANT_PLACEHOLDER, OidcSettings

log = logging.getLogger(__name__)

SCOPE = "openid profile email"
# Signatures we accept on an ID token: asymmetric only. "none" and the HMAC family (keyed with the client secret)
# are never taken, whatever the discovery document lists.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY_SECONDS = 60  # clock skew between us and the provider
METADATA_TTL_SECONDS = 3600
JWKS_MIN_REFRESH_SECONDS = 60  # an unknown key id fetches the keys again, at most this often (providers rotate keys)


class Refused(Exception):
    """A sign-in that cannot go on. `reason` is a stable code (audit, logs, tests); the page says
    `texts.SSO_REFUSED[reason]`."""

    def __init__(self, reason: str, detail: str = "", claims: dict[str, Any] | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail
        self.claims = claims or {}  # of a token whose signature held (a refused tenant), for the audit trail


@dataclass(frozen=True)
class Pending:
    """What the browser carries (signed) between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str  # PKCE code_verifier; the provider got only its S256 challenge

    @classmethod
    def new(cls) -> "Pending":
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48))


class Provider:
    """One OpenID provider, from its discovery document; metadata and keys are cached for the process."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, Any] | None = None
        self._keys_at = 0.0

    # ---- the provider's documents
    def _client(self) -> OAuth2Client:
        settings = self.settings
        secret = settings.client_secret.get_secret_value() if settings.client_secret else None
        methods = self.metadata().get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        auth = "client_secret_post" if "client_secret_post" in methods else "client_secret_basic"
        return OAuth2Client(
            client_id=settings.client_id,
            client_secret=secret,
            scope=SCOPE,
            redirect_uri=settings.redirect_url,
            code_challenge_method="S256",
            token_endpoint_auth_method=auth,
            timeout=settings.timeout_seconds,
            trust_env=False,
        )

    def _get(self, url: str) -> dict[str, Any]:
        with httpx.Client(timeout=self.settings.timeout_seconds, trust_env=False) as http:
            answer = http.get(url, headers={"Accept": "application/json"})
        if answer.status_code != 200:
            raise Refused("provider_unavailable", f"GET {url}: HTTP {answer.status_code}")
        try:
            body = answer.json()
        except ValueError as exc:
            raise Refused("provider_unavailable", f"GET {url}: not JSON") from exc
        if not isinstance(body, dict):
            raise Refused("provider_unavailable", f"GET {url}: not a JSON object")
        return body

    def metadata(self) -> dict[str, Any]:
        """The discovery document (OpenID Connect Discovery 1.0, section 4), fetched at most hourly."""
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL_SECONDS:
                return self._metadata
        try:
            document = self._get(str(self.settings.discovery_url))
        except httpx.HTTPError as exc:
            raise Refused("provider_unavailable", f"discovery: {type(exc).__name__}") from exc
        missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(k)]
        if missing:
            raise Refused("provider_unavailable", f"the discovery document lacks {', '.join(missing)}")
        with self._lock:
            self._metadata, self._metadata_at = document, time.monotonic()
        return document

    def _key_set(self, refresh: bool = False) -> KeySet:
        with self._lock:
            keys = self._keys
            fresh_enough = time.monotonic() - self._keys_at < JWKS_MIN_REFRESH_SECONDS
        if keys is None or (refresh and not fresh_enough):
            try:
                keys = self._get(self.metadata()["jwks_uri"])
            except httpx.HTTPError as exc:
                raise Refused("provider_unavailable", f"keys: {type(exc).__name__}") from exc
            with self._lock:
                self._keys, self._keys_at = keys, time.monotonic()
        return KeySet.import_key_set(keys)  # type: ignore[arg-type]

    # ---- the flow
    def authorization_url(self, pending: Pending) -> str:
        """Where the browser goes to sign in: code flow, S256 PKCE challenge, state and nonce."""
        with self._client() as client:
            url, _ = client.create_authorization_url(
                self.metadata()["authorization_endpoint"],
                state=pending.state,
                code_verifier=pending.verifier,
                nonce=pending.nonce,
                response_mode="query",
            )
        return str(url)

    def exchange(self, code: str, pending: Pending) -> str:
        """The code (with the PKCE verifier) for tokens at the token endpoint; the ID token comes back, unchecked."""
        try:
            with self._client() as client:
                token = client.fetch_token(
                    self.metadata()["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.verifier,
                )
        except (OAuthError, OAuth2Error) as exc:  # the provider said no: a used, expired or foreign code
            raise Refused("code_rejected", str(exc.error)) from exc
        except ValueError as exc:  # an answer that is not a token response
            raise Refused("code_rejected", "the token endpoint's answer is not a token response") from exc
        except Exception as exc:
            # the network: Authlib's client runs on httpx2 when it is installed, else httpx, each with its own errors
            raise Refused("provider_unavailable", f"token endpoint: {type(exc).__name__}") from exc
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str) or not id_token:
            raise Refused("code_rejected", "no id_token in the token response")
        return id_token

    def verify(self, id_token: str, pending: Pending, *, now: float) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, times and nonce hold (Core 1.0, 3.1.3.7)."""
        metadata = self.metadata()
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(
            algorithms=[a for a in offered if a in ALGORITHMS] or ["RS256"], strict_check_header=False
        )
        try:
            try:
                token = jwt.decode(id_token, self._key_set(), registry=registry)
            except (BadSignatureError, InvalidKeyIdError):
                token = jwt.decode(id_token, self._key_set(refresh=True), registry=registry)  # keys may have rotated
        except JoseError as exc:
            raise Refused("bad_signature", exc.error) from exc
        except ValueError as exc:  # not a JWS at all
            raise Refused("bad_signature", "not a signed token") from exc
        claims = dict(token.claims)
        tenant = claims.get("tid")
        allowed = self.settings.allowed_tenants
        if allowed and tenant not in allowed:
            raise Refused("tenant_not_allowed", f"tid={tenant}", claims)
        issuer = str(metadata["issuer"])
        if TENANT_PLACEHOLDER in issuer:
            # Entra's /common and /organizations: the issuer names the user's tenant, which must be allowed
            if not allowed or not isinstance(tenant, str):
                raise Refused("tenant_not_allowed", f"tid={tenant}", claims)
            issuer = issuer.replace(TENANT_PLACEHOLDER, tenant)
        options = {
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": self.settings.client_id},
            "nonce": {"essential": True},
        }
        params = {"nonce": pending.nonce, "client_id": self.settings.client_id}
        try:
            CodeIDToken(claims, token.header, options, params).validate(now=int(now), leeway=LEEWAY_SECONDS)
        except ExpiredTokenError as exc:
            raise Refused("expired", exc.error) from exc
        except (InvalidClaimError, MissingClaimError) as exc:
            raise Refused(_claim_reason(exc.claim), exc.error) from exc
        except (InvalidTokenError, JoseError) as exc:  # not yet valid, issued in the future
            raise Refused("expired", exc.error) from exc
        return claims


def _claim_reason(claim: str) -> str:
    reasons = {"iss": "wrong_issuer", "aud": "wrong_audience", "azp": "wrong_audience", "nonce": "wrong_nonce"}
    reasons.update({"exp": "expired", "nbf": "expired", "iat": "expired"})  # issued in the future: clocks disagree
    return reasons.get(claim, "bad_claims")


# ---- who the account is, and what they may do


def person_for(directory: Directory, claims: dict[str, Any]) -> Person | None:
    """The directory person a signed-in account is, the first that matches, e-mails compared case-insensitively:

    1. Entra's object id (`oid`) equal to the person's `teams_object_id`;
    2. Entra's `preferred_username` (the account's UPN, on a domain its tenant has verified) equal to their e-mail;
    3. the `email` claim equal to their e-mail, only when the provider vouches for it (`email_verified`, or Entra's
       `xms_edov`, "email domain owner verified"): Entra's plain `email` is an attribute a tenant's admins type in,
       so an account of another tenant could otherwise claim anyone's address.

    Other providers' `preferred_username` is not used: OpenID Connect Core says it may be anything the user chose.
    """
    people = list(directory.people)
    entra = isinstance(claims.get("tid"), str)
    oid = claims.get("oid")
    if entra and isinstance(oid, str) and oid:
        for person in people:
            if person.teams_object_id and person.teams_object_id.lower() == oid.lower():
                return person
    names = []
    if entra and isinstance(claims.get("preferred_username"), str):
        names.append(claims["preferred_username"])
    vouched = claims.get("email_verified") is True or claims.get("xms_edov") is True
    if isinstance(claims.get("email"), str) and vouched:
        names.append(claims["email"])
    for name in names:
        for person in people:
            if person.email.strip().lower() == name.strip().lower():
                return person
    return None


def _named(directory: Directory, person: Person, names: list[str]) -> bool:
    groups = {g.id for g in directory.groups if person.id in g.members}
    return any(name == person.id or name in groups or person.has_role(name) for name in names)


def console_role(directory: Directory, person: Person, settings: OidcSettings) -> str | None:
    """admin, auditor, manager or None: `OIDC_ADMINS` / `OIDC_AUDITORS` name roles, groups or people; admin wins;
    anyone else with current people reporting to them is a manager (their own team's page only)."""
    if not person.active:
        return None
    if _named(directory, person, settings.admins):
        return "admin"
    if _named(directory, person, settings.auditors):
        return "auditor"
    if any(p.active and directory.manages(person.id, p.id) for p in directory.people):  # stops at the first report
        return "manager"
    return None


def account_of(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims that say who tried, for the audit trail and the log (never a token)."""
    keys = ("iss", "sub", "tid", "oid", "preferred_username", "email", "name")
    return {key: claims[key] for key in keys if isinstance(claims.get(key), str)}
