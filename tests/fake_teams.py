"""A local stand-in for the Microsoft side of a Teams bot, all on 127.0.0.1:

* the Bot Framework's OpenID metadata and JWKS (the keys inbound tokens are signed with),
* Microsoft Entra ID's token endpoint for the bot's client-credentials grant (https: msal
  speaks nothing else), whose tokens the connector then demands,
* the Bot Framework connector service at a serviceUrl: it records sent and updated activities
  and answers roster lookups.

`FakeTeams.activity(...)` builds activities as Teams sends them, and `headers(...)` signs the
Bot Framework JWT for one, with knobs to forge, expire or mis-address it.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from erp_fakes import FakeServer, Reply, self_signed_cert
from jwt.algorithms import RSAAlgorithm

APP_ID = "00000000-aaaa-4bbb-8ccc-000000000001"
APP_PASSWORD = "test-client-secret-value"
TENANT = "11111111-2222-4333-8444-555555555555"
ISSUER = "https://api.botframework.com"
BOT_ID = f"28:{APP_ID}"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass(frozen=True)
class TeamsUser:
    name: str
    email: str
    aad: str
    id: str  # the Teams user id a bot sees ("29:...")
    conversation: str  # their personal chat with the bot

    @classmethod
    def make(cls, name: str, email: str) -> "TeamsUser":
        tag = uuid.uuid4().hex
        return cls(name, email, str(uuid.UUID(tag)), f"29:1{tag}", f"a:1{tag[:16]}")


class BotFramework(FakeServer):
    """OpenID metadata + JWKS, and the connector service under /teams/."""

    def __init__(self) -> None:
        super().__init__()
        self.key, self.kid = _key(), "bf-key-1"
        self.valid_bot_tokens: set[str] = set()
        self.members: dict[str, dict[str, Any]] = {}
        self.sent: list[dict[str, Any]] = []  # {"conversation", "id", "activity"}
        self.updated: list[dict[str, Any]] = []
        self.refused = 0
        self.deleted: set[str] = set()  # activity ids a person deleted in Teams
        self.files: dict[str, tuple[str, bytes]] = {}  # path -> (type, bytes): files people sent, as OneDrive serves
        self._ids = itertools.count(1)

    @property
    def openid_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    @property
    def service_url(self) -> str:
        return f"{self.url}/teams/"

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if path == "/v1/.well-known/openidconfiguration":
            return (
                200,
                {},
                {
                    "issuer": ISSUER,
                    "jwks_uri": f"{self.url}/v1/.well-known/keys",
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            )
        if path == "/v1/.well-known/keys":
            return 200, {}, {"keys": [_jwk(self.key, self.kid)]}
        if method == "GET" and path in self.files:  # a file's pre-authorized download address (no token)
            kind, data = self.files[path]
            return 200, {"Content-Type": kind}, data
        if not path.startswith("/teams/v3/conversations/"):
            return 404, {}, {"error": {"code": "NotFound", "message": path}}
        if headers.get("authorization", "").removeprefix("Bearer ") not in self.valid_bot_tokens:
            self.refused += 1
            return 401, {}, {"error": {"code": "Unauthorized", "message": "bad bot token"}}
        parts = [unquote(p) for p in path.removeprefix("/teams/v3/conversations/").split("/")]
        conversation = parts[0]
        if method == "GET" and len(parts) == 3 and parts[1] == "members":
            member = self.members.get(parts[2])
            return (200, {}, member) if member else (404, {}, {"error": {"code": "MemberNotFound", "message": ""}})
        activity = json.loads(body or b"{}")
        if method == "POST" and parts[1:] == ["activities"]:
            activity_id = f"act-{next(self._ids)}"
            self.sent.append({"conversation": conversation, "id": activity_id, "activity": activity})
            return 200, {}, {"id": activity_id}
        if method == "PUT" and len(parts) == 3 and parts[1] == "activities":
            if parts[2] in self.deleted:
                return 404, {}, {"error": {"code": "NotFound", "message": "The activity was deleted"}}
            self.updated.append({"conversation": conversation, "id": parts[2], "activity": activity})
            return 200, {}, {"id": parts[2]}
        return 404, {}, {"error": {"code": "NotFound", "message": path}}

    # ------------------------------------------------------------------ what the bot did

    def to(self, user: TeamsUser) -> list[dict[str, Any]]:
        return [s["activity"] for s in self.sent if s["conversation"] == user.conversation]

    def cards_to(self, user: TeamsUser) -> list[dict[str, Any]]:
        return [
            dict(s, card=card(s["activity"]))
            for s in self.sent
            if s["conversation"] == user.conversation and card(s["activity"])
        ]

    def texts_to(self, user: TeamsUser) -> list[str]:
        return [a.get("text", "") for a in self.to(user)]

    def updates_of(self, activity_id: str) -> list[dict[str, Any]]:
        return [card(u["activity"]) for u in self.updated if u["id"] == activity_id]


class EntraTokens(FakeServer):
    """The v2.0 token endpoint (https), client credentials for the bot's app registration."""

    def __init__(self, tls: tuple[str, str], bot_framework: BotFramework, *, secret: str = APP_PASSWORD) -> None:
        super().__init__(tls)
        self.bf, self.secret = bot_framework, secret
        self.issued = 0
        self.assertions_ok = 0
        self.certificates: dict[str, Any] = {}  # x5t / x5t#S256 -> certificate
        self._key = _key()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        tenant = path.split("/")[1]
        base = f"{self.url}/{tenant}"
        if method == "GET" and "/v2.0/.well-known/openid-configuration" in path:
            return (
                200,
                {},
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "issuer": f"{base}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                },
            )
        if method == "POST" and path == f"/{tenant}/oauth2/v2.0/token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if form.get("grant_type") != "client_credentials" or form.get("scope") != f"{ISSUER}/.default":
                return 400, {}, {"error": "invalid_request", "error_description": "AADSTS900144: bad grant"}
            if form.get("client_id") != APP_ID or not (
                form.get("client_secret") == self.secret or self._assertion_ok(form, f"{base}/oauth2/v2.0/token")
            ):
                return 401, {}, {"error": "invalid_client", "error_description": "AADSTS7000215: bad credential"}
            now = int(time.time())
            token = jwt.encode(
                {
                    "aud": ISSUER,
                    "iss": f"{base}/v2.0",
                    "appid": APP_ID,
                    "tid": tenant,
                    "iat": now,
                    "nbf": now,
                    "exp": now + 3600,
                },
                _pem(self._key),
                algorithm="RS256",
            )
            self.bf.valid_bot_tokens.add(token)
            self.issued += 1
            return 200, {}, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}
        return 404, {}, {"error": "not_found"}

    def _assertion_ok(self, form: dict[str, str], endpoint: str) -> bool:
        """A certificate credential: a JWT signed by a registered certificate's key, for this endpoint."""
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return False
        assertion = form.get("client_assertion", "")
        header = jwt.get_unverified_header(assertion)
        cert = self.certificates.get(header.get("x5t#S256") or header.get("x5t") or "")
        if cert is None:
            return False
        try:
            claims = jwt.decode(
                assertion, cert.public_key(), algorithms=["PS256", "RS256"], audience=endpoint, issuer=APP_ID
            )
        except jwt.InvalidTokenError:
            return False
        self.assertions_ok += claims.get("sub") == APP_ID
        return claims.get("sub") == APP_ID

    def register_certificate(self, cert: Any) -> None:
        """Upload a certificate to the app registration (both thumbprints Entra accepts)."""
        from cryptography.hazmat.primitives import hashes

        for algorithm in (hashes.SHA256(), hashes.SHA1()):
            encoded = base64.urlsafe_b64encode(cert.fingerprint(algorithm)).decode()
            self.certificates[encoded] = self.certificates[encoded.rstrip("=")] = cert


def certificate_pem(directory: Path) -> tuple[Path, Any]:
    """A PEM file with a new private key and its self-signed certificate, as an Entra app would use."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "procurebot-teams-bot")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    path = directory / "teams-bot.pem"
    path.write_bytes(_pem(key) + cert.public_bytes(serialization.Encoding.PEM))
    return path, cert


def card(activity: dict[str, Any]) -> dict[str, Any] | None:
    for attachment in activity.get("attachments") or []:
        if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
            return attachment["content"]
    return None


class FakeTeams:
    """Both fakes, the environment that points procurebot at them, and activity builders."""

    def __init__(self, tmp: Path) -> None:
        self.bf = BotFramework()
        self.cert = self_signed_cert(tmp)
        self.entra = EntraTokens(self.cert, self.bf)
        self._ids = itertools.count(1)
        self.forger = _key()

    def __enter__(self) -> "FakeTeams":
        self.bf.__enter__()
        self.entra.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.entra.__exit__(*exc)
        self.bf.__exit__(*exc)

    def env(self) -> dict[str, str]:
        return {
            "TEAMS_APP_ID": APP_ID,
            "TEAMS_APP_PASSWORD": APP_PASSWORD,
            "TEAMS_TENANT_ID": TENANT,
            "TEAMS_OPENID_METADATA_URL": self.bf.openid_url,
            "TEAMS_TOKEN_AUTHORITY_HOST": self.entra.url,
            "TEAMS_TOKEN_CA_BUNDLE": self.cert[0],
            "TEAMS_SERVICE_URL_ALLOW": json.dumps([r"http://127\.0\.0\.1:\d+/teams/"]),
            "TEAMS_FILE_URL_ALLOW": json.dumps([r"http://127\.0\.0\.1:\d+/personal/files/.*"]),
        }

    def add_user(self, name: str, email: str) -> TeamsUser:
        user = TeamsUser.make(name, email)
        self.bf.members[user.id] = {
            "id": user.id,
            "aadObjectId": user.aad,
            "name": name,
            "email": email,
            "userPrincipalName": email,
            "tenantId": TENANT,
        }
        return user

    # ------------------------------------------------------------------ inbound

    def token(
        self,
        *,
        aud: str = APP_ID,
        expires_in: int = 3600,
        forged: bool = False,
        service_url: str | None = None,
        iss: str = ISSUER,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": iss,
            "aud": aud,
            "iat": now - 10,
            "nbf": now - 10,
            "exp": now + expires_in,
            "serviceurl": service_url or self.bf.service_url,
        }
        key = self.forger if forged else self.bf.key
        return jwt.encode(claims, _pem(key), algorithm="RS256", headers={"kid": self.bf.kid})

    def headers(self, **token: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**token)}"}

    def activity(self, user: TeamsUser, type_: str = "message", **extra: Any) -> dict[str, Any]:
        return {
            "type": type_,
            "id": f"1{next(self._ids):012d}",
            "channelId": "msteams",
            "serviceUrl": self.bf.service_url,
            "timestamp": "2026-11-23T15:00:00.000Z",
            "from": {"id": user.id, "name": user.name, "aadObjectId": user.aad},
            "conversation": {"id": user.conversation, "conversationType": "personal", "tenantId": TENANT},
            "recipient": {"id": BOT_ID, "name": "procurebot"},
            "channelData": {"tenant": {"id": TENANT}},
            **extra,
        }

    def message(self, user: TeamsUser, text: str) -> dict[str, Any]:
        return self.activity(user, "message", text=text, textFormat="plain")

    def file_message(self, user: TeamsUser, text: str, name: str, kind: str, data: bytes) -> dict[str, Any]:
        """A message with a file sent in the personal chat, as Teams sends it to a bot with supportsFiles: a
        file.download.info attachment whose downloadUrl is pre-authorized (here served by the fake)."""
        unique = uuid.uuid4().hex
        path = f"/personal/files/{unique}/{quote(name)}"
        self.bf.files[path] = (kind, data)
        attachment = {
            "contentType": "application/vnd.microsoft.teams.file.download.info",
            "contentUrl": f"{self.bf.url}/personal/Documents/{name}",
            "name": name,
            "content": {
                "downloadUrl": f"{self.bf.url}{path}",
                "uniqueId": unique,
                "fileType": name.rsplit(".", 1)[-1],
            },
        }
        return self.activity(user, "message", text=text, textFormat="plain", attachments=[attachment])

    def execute(self, user: TeamsUser, verb: str, data: dict[str, Any], *, trigger: str = "manual") -> dict[str, Any]:
        return self.activity(
            user,
            "invoke",
            name="adaptiveCard/action",
            value={"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": trigger},
        )


def execute_actions(content: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every Action.Execute on an Adaptive Card (also inside Action.ShowCard forms), by verb."""
    found: dict[str, dict[str, Any]] = {}
    for action in content.get("actions") or []:
        if action["type"] == "Action.Execute":
            found[action["verb"]] = action
        elif action["type"] == "Action.ShowCard":
            found.update(execute_actions(action["card"]))
    return found


def texts_of(content: dict[str, Any]) -> str:
    """All the words on a card, for asserting on what a person reads."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                out.append(node["text"])
            if node.get("type") == "FactSet":
                out.extend(f"{f['title']}: {f['value']}" for f in node["facts"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(content.get("body"))
    return "\n".join(out)
