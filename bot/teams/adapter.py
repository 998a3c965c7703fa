"""The only module that imports the Teams SDK (microsoft-teams-apps). It only translates.

Inbound: `process(body, headers)` checks the Bot Framework JWT with the SDK's validator (issuer,
audience = our app id, RS256 signature against the Bot Framework JWKS, expiry, and the token's
serviceurl claim against the activity's), reads the activity with the SDK's typed models, and
runs it through the SDK App's pipeline, whose one handler hands an `Inbound` to our handler (in a
worker thread: it talks to the database) and sends its replies with the SDK's connector client.

Outbound: `send`/`update` post or replace a message in a conversation through the connector at
its serviceUrl, with a bot token from msal client credentials (secret or certificate).

The SDK is asyncio with an httpx client bound to one event loop, so all SDK work runs on one
loop in its own thread; the FastAPI route awaits it and the chat delivery worker blocks on it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import warnings
from typing import Any, Callable, Coroutine, TypeVar

import httpx
import jwt
import msal
import requests
from pydantic import ValidationError

from approvals.clock import utcnow
from bot.settings.teams import ENTRA_LOGIN, TeamsSettings
from bot.teams.activity import Inbound, Outcome

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the SDK announces its preview features (HTML widgets) on import
    from microsoft_teams.api import (
        ActivityTypeAdapter,
        InvokeResponse,
        JsonWebToken,
        MessageActivityInput,
    )
    from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
    from microsoft_teams.api.auth.credentials import TokenCredentials
    from microsoft_teams.apps import App
    from microsoft_teams.apps.auth import InboundActivityTokenValidator
    from microsoft_teams.apps.events import ActivityEvent, CoreActivity
    from microsoft_teams.apps.http.adapter import HttpMethod, HttpRouteHandler
    from microsoft_teams.common import ClientOptions

log = logging.getLogger("procurebot.teams")
T = TypeVar("T")
HANDLED_INVOKES = {"adaptiveCard/action"}
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.S)
Handler = Callable[[Inbound, Callable[[], "str | None"]], Outcome]


class Unauthorized(Exception):
    """The request's Bot Framework token is missing or invalid."""


CLOCK_SKEW_SECONDS = 60  # the SDK allows five minutes either way; a token not yet valid a minute from now is refused
MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600  # Bot Framework tokens live about an hour


def stricter(claims: dict[str, Any], *, issuer: str, audience: str, now: float) -> None:
    """What the SDK's validator lets through and we do not (it checks exp and nbf only when present, allows five
    minutes of skew, and takes Entra-issued tokens meant for agents): a Bot Framework token must expire within a
    day, already be valid, and name exactly the Bot Framework as issuer and this bot as audience."""
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise Unauthorized("token without exp")
    if exp - (iat if isinstance(iat, (int, float)) else now) > MAX_TOKEN_LIFETIME_SECONDS:
        raise Unauthorized("token valid for longer than a day")
    for name, value in (("nbf", nbf), ("iat", iat)):
        if value is not None and (not isinstance(value, (int, float)) or value > now + CLOCK_SKEW_SECONDS):
            raise Unauthorized(f"token {name} in the future")
    if claims.get("iss") != issuer:
        raise Unauthorized("unexpected issuer")
    aud = claims.get("aud")
    if (aud if isinstance(aud, str) else aud[0] if isinstance(aud, list) and len(aud) == 1 else None) != audience:
        raise Unauthorized("unexpected audience")


class BadActivity(Exception):
    """The body is not an activity the SDK can read."""


class KeysUnavailable(Exception):
    """The Bot Framework signing keys could not be fetched: the platform should retry later."""


class UnknownInvoke(Exception):
    """An invoke procurebot does not handle (only Adaptive Card actions)."""


class RefusedServiceUrl(Exception):
    """The activity names a connector outside the allow-list."""


class MessageTooLarge(Exception):
    """Teams refused a message for its size (413, MessageSizeTooBig): sending it again cannot help."""


class RefusedTenant(Exception):
    """The activity comes from another Entra tenant than the single-tenant bot's."""


class _Mounted:
    """The SDK's HttpServerAdapter protocol, for an App mounted on someone else's server: the SDK
    registers its route here and we ignore it, as our own FastAPI route calls `process`."""

    def register_route(self, method: HttpMethod, path: str, handler: HttpRouteHandler) -> None:
        return None

    def serve_static(self, path: str, directory: str) -> None:
        return None

    async def start(self, port: int) -> None:
        raise NotImplementedError("procurebot mounts Teams on its own FastAPI app")

    async def stop(self) -> None:
        return None


class _MsalTokens:
    """Bot tokens by msal client credentials, one confidential client per tenant (msal caches tokens)."""

    def __init__(self, settings: TeamsSettings) -> None:
        self.settings = settings
        self._clients: dict[str, msal.ConfidentialClientApplication] = {}
        self._lock = threading.Lock()
        self._session = requests.Session()
        if settings.token_ca_bundle:
            self._session.verify = settings.token_ca_bundle
            self._session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override the session

    def _credential(self) -> Any:
        s = self.settings
        if s.certificate_path is not None:
            return certificate_credential(s.certificate_path.read_text(), s.certificate_thumbprint)
        assert s.app_password is not None
        return s.app_password.get_secret_value()

    def _client(self, tenant: str) -> msal.ConfidentialClientApplication:
        with self._lock:
            client = self._clients.get(tenant)
            if client is None:
                host = self.settings.token_authority_host.rstrip("/")
                client = msal.ConfidentialClientApplication(
                    self.settings.app_id,
                    client_credential=self._credential(),
                    authority=f"{host}/{tenant}",
                    http_client=self._session,
                    timeout=self.settings.timeout_seconds,
                    instance_discovery=host == ENTRA_LOGIN,
                )
                self._clients[tenant] = client
            return client

    def acquire(self, scope: str, tenant: str) -> str:
        result = self._client(tenant).acquire_token_for_client(scopes=[scope])
        if "access_token" in result:
            return str(result["access_token"])
        error = result.get("error", "unknown_error")
        detail = (
            str(result.get("error_description") or "").splitlines()[0][:200] if result.get("error_description") else ""
        )
        raise PermissionError(
            f"Microsoft Entra ID gave no bot token ({error}: {detail}); check TEAMS_APP_ID, "
            "TEAMS_APP_PASSWORD or the certificate, and TEAMS_TENANT_ID"
        )

    async def __call__(self, scope: str | list[str], tenant_id: str | None) -> str:
        scope = scope[0] if isinstance(scope, list) else scope
        return await asyncio.to_thread(self.acquire, scope, tenant_id or self.settings.tenant_id or "botframework.com")


def certificate_credential(pem: str, thumbprint: str | None) -> dict[str, str]:
    """msal's certificate credential from a PEM file: with the certificate in the file, msal signs its
    assertion with PS256 and the SHA-256 thumbprint (what Entra recommends); a key alone needs the
    SHA-1 thumbprint shown in Entra (RS256, the older way)."""
    found = {m.group(1): m.group(0) for m in _PEM_BLOCK.finditer(pem)}
    key = next((v for k, v in found.items() if k.endswith("PRIVATE KEY")), None)
    if key is None:
        raise ValueError(f"TEAMS_CERTIFICATE_PATH has no private key (found {', '.join(found) or 'no PEM blocks'})")
    if "CERTIFICATE" in found:
        return {"private_key": key, "public_certificate": found["CERTIFICATE"]}
    if not thumbprint:
        raise ValueError(
            "TEAMS_CERTIFICATE_PATH holds only a private key: add the certificate to the file, or set "
            "TEAMS_CERTIFICATE_THUMBPRINT"
        )
    return {"private_key": key, "thumbprint": thumbprint}


class TeamsAdapter:
    def __init__(self, settings: TeamsSettings, handler: Handler) -> None:
        if not settings.app_id:
            raise ValueError("TEAMS_APP_ID is not set")
        self.settings = settings
        self.handler = handler
        self.cloud = with_overrides(
            PUBLIC,
            openid_metadata_url=settings.openid_metadata_url,
            login_endpoint=settings.token_authority_host.rstrip("/"),
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="teams-sdk", daemon=True)
        self._thread.start()
        self.tokens = _MsalTokens(settings)
        try:
            self.app = self._run(self._build())
        except BaseException:
            self.close()
            raise

    async def _build(self) -> App:
        app = App(
            client_id=self.settings.app_id,
            tenant_id=self.settings.tenant_id,
            token=self.tokens,
            cloud=self.cloud,
            http_server_adapter=_Mounted(),
            messaging_endpoint="/api/messages",
            client=ClientOptions(timeout=self.settings.timeout_seconds),
        )
        credentials = app.credentials
        # the SDK also reads generic CLIENT_ID / CLIENT_SECRET / TENANT_ID variables; only TEAMS_* may decide
        if not isinstance(credentials, TokenCredentials) or credentials.tenant_id != self.settings.tenant_id:
            raise ValueError(
                "CLIENT_SECRET or TENANT_ID is set in the environment and the Teams SDK would use it "
                "instead of the TEAMS_* settings; unset it (procurebot reads TEAMS_APP_PASSWORD and "
                "TEAMS_TENANT_ID)"
            )
        app.on_activity(self._on_activity)
        self._validator = InboundActivityTokenValidator(self.settings.app_id or "", cloud=self.cloud)
        await app.initialize()
        return app

    # ------------------------------------------------------------------ running SDK coroutines

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run on the SDK loop and wait (from any thread but the loop's own)."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=self.settings.timeout_seconds * 4)

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)

    # ------------------------------------------------------------------ inbound

    async def process(self, body: dict[str, Any], authorization: str) -> tuple[int, Any]:
        """Authenticate and handle one activity; (HTTP status, JSON body or None). Raises
        Unauthorized, RefusedServiceUrl, RefusedTenant, UnknownInvoke or BadActivity before anything is handled."""
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(self._process(body, authorization), self._loop)
        )

    async def _process(self, body: dict[str, Any], authorization: str) -> tuple[int, Any]:
        if not authorization.startswith("Bearer "):
            raise Unauthorized("no bearer token")
        raw = authorization.removeprefix("Bearer ").strip()
        service_url = body.get("serviceUrl")
        try:
            # only Bot Framework tokens: an Entra issuer would send the SDK to fetch that tenant's keys first
            issuer = jwt.decode(raw, options={"verify_signature": False}).get("iss")
        except Exception as exc:  # noqa: BLE001 - not a JWT at all
            raise Unauthorized(type(exc).__name__) from exc
        if issuer != self.cloud.token_issuer:
            raise Unauthorized("unexpected issuer")
        try:
            claims = await self._validator.validate_token(raw, service_url if isinstance(service_url, str) else None)
        except jwt.PyJWKClientConnectionError as exc:
            raise KeysUnavailable(str(exc)[:200]) from exc
        except Exception as exc:  # noqa: BLE001 - pyjwt raises many kinds; all mean the token is not good
            raise Unauthorized(type(exc).__name__) from exc
        stricter(claims, issuer=self.cloud.token_issuer, audience=self.settings.app_id or "", now=utcnow().timestamp())
        if not isinstance(service_url, str) or not self.settings.service_url_allowed(service_url):
            raise RefusedServiceUrl(str(service_url)[:100])
        if body.get("type") == "invoke" and body.get("name") not in HANDLED_INVOKES:
            raise UnknownInvoke(str(body.get("name"))[:80])
        body = _sdk_readable(body)
        try:
            activity = ActivityTypeAdapter.validate_python(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"][1:] if not str(p).startswith("tagged-union"))
            raise BadActivity(f"{where or 'type'}: {first['msg']}"[:200]) from exc
        if not activity.id or not activity.from_ or not activity.from_.id or not activity.conversation.id:
            raise BadActivity("id, from.id and conversation.id are required")
        tenant = self._inbound(activity).tenant_id
        if self.settings.tenant_id and tenant.lower() != self.settings.tenant_id.lower():
            raise RefusedTenant(tenant[:64])
        event = ActivityEvent(body=CoreActivity.model_validate(body), token=JsonWebToken(raw))
        assert self.app.server.on_request is not None
        response = await self.app.server.on_request(event)
        if isinstance(response, InvokeResponse):
            return response.status, response.body
        return 200, None

    async def _on_activity(self, ctx: Any) -> InvokeResponse[Any]:
        inbound = self._inbound(ctx.activity)
        outcome = await asyncio.to_thread(self.handler, inbound, lambda: self._email_blocking(inbound))
        for reply in outcome.replies:
            try:
                await ctx.send(MessageActivityInput.model_validate(reply))
            except Exception as exc:  # noqa: BLE001 - the action is committed; its answer must still go back
                log.warning("Teams reply not delivered (%s); the person can ask again", type(exc).__name__)
                break
        return InvokeResponse[Any](status=outcome.status, body=outcome.body)

    @staticmethod
    def _inbound(a: Any) -> Inbound:
        conversation, user = a.conversation, a.from_
        tenant = conversation.tenant_id or ""
        if not tenant and getattr(a, "channel_data", None) is not None and a.channel_data.tenant is not None:
            tenant = a.channel_data.tenant.id or ""
        added = tuple(m.id for m in (getattr(a, "members_added", None) or []))
        return Inbound(
            type=str(a.type),
            id=a.id,
            service_url=a.service_url,
            conversation_id=conversation.id,
            user_id=user.id,
            bot_id=a.recipient.id if a.recipient else "",
            tenant_id=tenant,
            conversation_type=conversation.conversation_type,
            aad_object_id=user.aad_object_id,
            user_name=user.name,
            user_email=getattr(user, "email", None),
            name=getattr(a, "name", None),
            text=getattr(a, "text", None) or "",
            value=_plain(getattr(a, "value", None)),
            action=getattr(a, "action", None),
            members_added=added,
            files=_files(getattr(a, "attachments", None) or ()),
        )

    def _email_blocking(self, inbound: Inbound) -> str | None:
        """The user's e-mail: from the activity, else e-mail or UPN from the roster (from the handler's thread)."""
        return inbound.user_email or self._run(self._email(inbound))

    async def _email(self, inbound: Inbound) -> str | None:
        api = self.app.api.clone(service_url=inbound.service_url)
        try:
            member = await api.conversations.get_member_by_id(inbound.conversation_id, inbound.user_id)
        except Exception as exc:  # noqa: BLE001 - no roster answer: the person stays unknown, and is told so
            log.warning("Teams roster lookup failed: %s", type(exc).__name__)
            return None
        return getattr(member, "email", None) or getattr(member, "user_principal_name", None)

    # ------------------------------------------------------------------ outbound

    def send(self, address: dict[str, Any], activity: dict[str, Any]) -> str:
        """Post a message activity into the conversation at `address`; returns the new activity id."""
        return self._run(self._send(address, activity))

    def update(self, address: dict[str, Any], activity_id: str, activity: dict[str, Any]) -> bool:
        """Replace the message `activity_id` in the conversation at `address`. False when Teams no longer
        has it (deleted by the person, or the chat removed): there is nothing left to keep true."""
        try:
            self._run(self._send(address, {**activity, "id": activity_id}))
        except MessageTooLarge:
            raise
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code in (403, 404):
                log.info("Teams message %s is gone (%s); not updated", activity_id[:40], exc.response.status_code)
                return False
            raise
        return True

    async def _send(self, address: dict[str, Any], activity: dict[str, Any]) -> str:
        url = address.get("service_url", "")
        if not self.settings.service_url_allowed(url):
            raise RefusedServiceUrl(url[:100])
        try:
            sent = await self.app.send(
                address["conversation_id"], MessageActivityInput.model_validate(activity), service_url=url
            )
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 413:
                raise MessageTooLarge(exc.response.text[:200]) from exc
            raise
        return str(sent.id)


def _sdk_readable(body: dict[str, Any]) -> dict[str, Any]:
    """The SDK (2.1) types an adaptiveCard/action's `trigger` as "manual" only, but Teams sends
    "automatic" for a card's refresh; the handlers do not need the trigger (the verb says refresh)."""
    value = body.get("value")
    if body.get("name") == "adaptiveCard/action" and isinstance(value, dict) and value.get("trigger") == "automatic":
        return {**body, "value": {**value, "trigger": "manual"}}
    return body


def _plain(value: Any) -> Any:
    """An activity's value as plain JSON (the SDK parses adaptiveCard/action values into models)."""
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    dump: Callable[..., Any] | None = getattr(value, "model_dump", None)
    return dump(by_alias=True, exclude_none=True) if dump else value


__all__ = ["TeamsAdapter", "Unauthorized", "BadActivity", "RefusedServiceUrl"]


FILE_INFO = "application/vnd.microsoft.teams.file.download.info"


def _files(attachments: Any) -> tuple[dict[str, str], ...]:
    """The files a personal-chat message carries: Teams sends each as a file.download.info attachment whose content
    has a short-lived, pre-authorized downloadUrl (no token goes with it)."""
    out = []
    for att in attachments:
        if getattr(att, "content_type", None) != FILE_INFO:
            continue
        content = att.content if isinstance(att.content, dict) else _plain(att.content) or {}
        if not isinstance(content, dict):
            continue
        url = content.get("downloadUrl") or content.get("download_url")
        if not url:
            continue
        out.append(
            {
                "name": str(getattr(att, "name", None) or "file"),
                "download_url": str(url),
                "file_type": str(content.get("fileType") or content.get("file_type") or ""),
                "id": str(content.get("uniqueId") or content.get("unique_id") or url),
            }
        )
    return tuple(out)
