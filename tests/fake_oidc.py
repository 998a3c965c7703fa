"""A local OpenID provider shaped like Microsoft Entra ID's v2.0 endpoints, on 127.0.0.1 (OpenID Connect Discovery 1.0
and Core 1.0, the authorization code flow with PKCE):

* `/{tenant}/v2.0/.well-known/openid-configuration`: the discovery document (`common` publishes Entra's
  `{tenantid}` issuer template),
* `/{tenant}/discovery/v2.0/keys`: the JWKS,
* `/{tenant}/oauth2/v2.0/authorize`: signs in `fake.user` and redirects back to the registered redirect URI with
  `code` and `state` (or with `error` when `fake.deny` is set); at once, or (`fake.interactive`) from the button of
  a sign-in page, so a browser comes back on a navigation started by the provider's site,
* `/{tenant}/oauth2/v2.0/token`: checks the client's secret, the redirect URI and the PKCE verifier, redeems each code
  once (a second redemption is `invalid_grant`, as Entra answers), and returns an RS256-signed `id_token` carrying
  the request's nonce.

* `/{tenant}/oauth2/v2.0/logout`: RP-initiated sign-out (OpenID Connect RP-Initiated Logout 1.0): ends the
  provider's session and sends the browser to `post_logout_redirect_uri` when it is a registered redirect URI and
  the `id_token_hint`, if any, is one this provider signed for the client; `fake.end_session = False` leaves the
  endpoint out of the discovery document, as providers without one do.

`fake.rotate()` signs from then on with a new key (new `kid`); the JWKS then publishes the new key, and the old one
too while `keep_old` says so, as providers do while a rotation rolls over.

`fake.tamper` changes the next ID token's claims (wrong audience, issuer, nonce, an expiry in the past; None leaves
a claim out) and
`fake.stranger_key` signs it with a key the JWKS does not hold, so each refusal can be provoked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from erp_fakes import FakeServer, Reply
from jwt.algorithms import RSAAlgorithm

TENANT = "7d3c2b1a-0f9e-4d8c-b7a6-1234567890ab"
OTHER_TENANT = "0a0b0c0d-1111-4222-8333-444455556666"
CLIENT_ID = "5b1f4c2e-8a7d-4e3f-9c6b-0d1e2f3a4b5c"
CLIENT_SECRET = "fake-oidc-client-secret-value-0123456789"

# Priya Nair (finance controller) as Entra knows her; the directory links her by e-mail
PRIYA = {
    "name": "Priya Nair",
    "preferred_username": "priya.nair@lonestar.example",
    "email": "priya.nair@lonestar.example",
    "oid": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
}


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class FakeOidc(FakeServer):
    def __init__(self, redirect_uris: list[str], tenant: str = TENANT) -> None:
        super().__init__()
        self.tenant = tenant
        self.redirect_uris = list(redirect_uris)
        self.key, self.kid = _key(), "fake-key-1"
        self.old_keys: list[tuple[rsa.RSAPrivateKey, str]] = []  # published beside the current key (`rotate`)
        self.jwks_requests = 0
        self.end_session = True  # the discovery document names an end_session_endpoint
        self.post_logout_uris: list[str] = []  # registered post_logout_redirect_uri values
        self.logout_requests: list[dict[str, str]] = []
        self.user: dict[str, Any] = dict(PRIYA)  # who signs in at the authorize endpoint
        self.user_tenant = tenant  # the `tid` of that account
        self.deny: str | None = None  # an authorize error to send back instead of a code
        self.tamper: dict[str, Any] = {}  # claims to override in the next id_token
        self.stranger_key = False  # sign the next id_token with a key the JWKS does not hold
        self.stranger_kid: str | None = None  # ...and name it with this key id
        self.codes: dict[str, dict[str, Any]] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        # the authorize endpoint as a browser reaches it: another site than the console (a test browser maps the
        # name to 127.0.0.1), so the trip there and back is cross-site, as with the real provider
        self.browser_url = self.url
        self.interactive = False  # True: the authorize endpoint shows a sign-in page whose button sends the user back

    # ---- what a test points the console at
    def discovery_url(self, tenant: str | None = None) -> str:
        return f"{self.url}/{tenant or self.tenant}/v2.0/.well-known/openid-configuration"

    def issuer(self, tenant: str | None = None) -> str:
        return f"{self.url}/{tenant or self.tenant}/v2.0"

    def metadata_of(self, tenant: str | None = None) -> dict[str, Any]:
        """The discovery document as the provider serves it now."""
        return self._metadata(tenant or self.tenant)

    def settings(self, redirect_url: str, **more: Any) -> dict[str, Any]:
        """The `oidc` section of the console's settings for this provider."""
        return {
            "discovery_url": self.discovery_url(),
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_url": redirect_url,
            "admins": ["procurement_director"],
            "auditors": ["finance_team", "cfo"],
            **more,
        }

    # ---- the endpoints
    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(path)
        segments = parts.path.strip("/").split("/")
        tenant, rest = segments[0], "/".join(segments[1:])
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if method == "GET" and rest == "v2.0/.well-known/openid-configuration":
            return 200, {}, self._metadata(tenant)
        if method == "GET" and rest == "discovery/v2.0/keys":
            self.jwks_requests += 1
            keys = [self._jwk(self.key, self.kid)] + [self._jwk(key, kid) for key, kid in self.old_keys]
            return 200, {}, {"keys": keys}
        if method == "GET" and rest == "oauth2/v2.0/logout" and self.end_session:
            return self._logout(query)
        if method == "GET" and rest == "oauth2/v2.0/authorize" and self.interactive:
            # the provider's own sign-in page: the way back starts from its form, a navigation by another site
            page = (
                "<!doctype html><title>Sign in</title>"
                f'<form method="post" action="{escape(path)}"><button id="idp-sign-in">Sign in</button></form>'
            )
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()
        if rest == "oauth2/v2.0/authorize" and method in ("GET", "POST"):
            return self._authorize(query)
        if method == "POST" and rest == "oauth2/v2.0/token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            return self._token(form, headers)
        return 404, {}, {"error": "not_found"}

    def _metadata(self, tenant: str) -> dict[str, Any]:
        base = f"{self.url}/{tenant}"
        issuer = f"{self.url}/{{tenantid}}/v2.0" if tenant in ("common", "organizations") else f"{base}/v2.0"
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{self.browser_url}/{tenant}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            **({"end_session_endpoint": f"{self.browser_url}/{tenant}/oauth2/v2.0/logout"} if self.end_session else {}),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nonce",
                "name",
                "preferred_username",
                "email",
                "oid",
                "tid",
                "ver",
            ],
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.url}/oidc/userinfo",
            "frontchannel_logout_supported": True,
            "http_logout_supported": True,
        }

    def rotate(self, *, keep_old: bool = True) -> None:
        """Sign with a new key from now on; the JWKS keeps publishing the old one while `keep_old`."""
        self.old_keys = [(self.key, self.kid)] if keep_old else []
        self.key, self.kid = _key(), f"fake-key-{int(self.kid.rsplit('-', 1)[1]) + 1}"

    def _logout(self, query: dict[str, str]) -> Reply:
        self.logout_requests.append(query)
        back = query.get("post_logout_redirect_uri")
        hint = query.get("id_token_hint")
        if hint:
            keys = {kid: key for key, kid in [(self.key, self.kid), *self.old_keys]}
            try:
                kid = jwt.get_unverified_header(hint).get("kid")
                jwt.decode(
                    hint,
                    keys[kid].public_key(),
                    algorithms=["RS256"],
                    audience=CLIENT_ID,
                    options={"verify_exp": False, "verify_iss": False},
                )
            except (jwt.PyJWTError, KeyError):
                return 400, {}, {"error": "invalid_request", "error_description": "AADSTS50000: bad id_token_hint"}
        if back and back in self.post_logout_uris:
            return 302, {"Location": back}, None
        page = "<!doctype html><title>Signed out</title><p id='idp-signed-out'>You signed out of your account.</p>"
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()

    def _jwk(self, key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        return {**jwk, "kid": kid, "use": "sig", "x5t": kid, "issuer": self.issuer()}

    def _authorize(self, query: dict[str, str]) -> Reply:
        self.authorize_requests.append(query)
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID or redirect not in self.redirect_uris:
            return 400, {}, {"error": "invalid_request", "error_description": "AADSTS50011: redirect URI mismatch"}
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return 400, {}, {"error": "unsupported_response_type"}
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {}, {"error": "invalid_request", "error_description": "AADSTS9002325: PKCE required"}
        back: dict[str, str] = {"state": query.get("state", "")}
        if self.deny:
            back["error"], back["error_description"] = self.deny, "The user canceled the authentication."
        else:
            code = secrets.token_urlsafe(48)
            self.codes[code] = {
                "redirect_uri": redirect,
                "nonce": query.get("nonce"),
                "challenge": query["code_challenge"],
                "user": dict(self.user),
                "tenant": self.user_tenant,
                "redeemed": False,
            }
            back = {"code": code, **back, "session_state": str(uuid.uuid4())}
        return 302, {"Location": f"{redirect}?{urlencode(back)}"}, None

    def _token(self, form: dict[str, str], headers: dict[str, str]) -> Reply:
        self.token_requests.append(form)
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return 401, {}, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."}
        grant = self.codes.get(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {}, {"error": "invalid_grant", "error_description": "AADSTS70000: The code is not valid."}
        if grant["redeemed"]:
            return 400, {}, {"error": "invalid_grant", "error_description": "AADSTS54005: Code already redeemed."}
        grant["redeemed"] = True
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {}, {"error": "invalid_grant", "error_description": "AADSTS500112: redirect_uri mismatch."}
        verifier = form.get("code_verifier", "")
        if _b64(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return 400, {}, {"error": "invalid_grant", "error_description": "AADSTS501481: code_verifier mismatch."}
        now = int(time.time())
        claims = {
            "aud": CLIENT_ID,
            "iss": self.issuer(grant["tenant"]),
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "sub": _b64(hashlib.sha256((grant["user"]["name"] + CLIENT_ID).encode()).digest()),  # pairwise
            "tid": grant["tenant"],
            "nonce": grant["nonce"],
            "ver": "2.0",
            **grant["user"],
            **self.tamper,
        }
        claims = {name: value for name, value in claims.items() if value is not None}  # tamper None: leave out
        self.tamper = {}
        key = _key() if self.stranger_key else self.key
        self.stranger_key = False
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        kid, self.stranger_kid = self.stranger_kid or self.kid, None
        id_token = jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})
        return (
            200,
            {"Cache-Control": "no-store"},
            {
                "token_type": "Bearer",
                "scope": "openid profile email",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": secrets.token_urlsafe(64),
                "id_token": id_token,
            },
        )
