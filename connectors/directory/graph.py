"""Microsoft Graph, read-only: users (delta query with manager), group membership (delta query), automatic replies.

Tokens come from Microsoft Entra ID through msal (client credentials). Every request goes to the configured base
URL only: a next or delta link that points anywhere else is refused. Graph's paging (`@odata.nextLink`), delta
links (`@odata.deltaLink`) and throttling (429 or 503 with `Retry-After`, waited through the injected sleeper)
follow Microsoft's documentation.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import quote

import httpx

from connectors.directory.config import PUBLIC_AUTHORITY, GraphSettings

# what a sync reads of each user (delta returns changed properties of these, and the manager as manager@delta)
USER_FIELDS = "id,displayName,mail,userPrincipalName,department,jobTitle,officeLocation,accountEnabled"
SCOPE = "https://graph.microsoft.com/.default"
RETRIED = (429, 503, 504)
# Graph's delta query filters on at most this many object ids (`$filter=id eq '…' or id eq '…'`); more are chunked
GROUP_FILTER_LIMIT = 50


class GraphError(Exception):
    """Graph or Entra ID refused or failed; the message says what to check."""


class DeltaExpired(GraphError):
    """A kept delta link is no longer valid (Entra ID's expire after seven days: 400 syncStateNotFound; a reset is a
    410): the changes since it cannot be had, only everything again."""


class GraphTokens:
    """Client-credentials tokens from Microsoft Entra ID through msal, cached by msal until they expire."""

    def __init__(self, settings: GraphSettings) -> None:
        import msal
        import requests

        session = requests.Session()
        if settings.ca_bundle:
            session.verify = str(settings.ca_bundle)
            session.trust_env = False  # REQUESTS_CA_BUNDLE would override the session's own authority
        host = settings.authority_host.rstrip("/")
        secret = settings.client_secret.get_secret_value() if settings.client_secret else ""
        self._app = msal.ConfidentialClientApplication(
            settings.client_id,
            client_credential=secret,
            authority=f"{host}/{settings.tenant_id}",
            http_client=session,
            timeout=settings.timeout_seconds,
            instance_discovery=host == PUBLIC_AUTHORITY,
        )
        self._lock = threading.Lock()

    def __call__(self, *, fresh: bool = False) -> str:
        with self._lock:
            try:
                if fresh:  # Graph said the cached token no longer holds
                    for token in self._app.token_cache.search(self._app.token_cache.CredentialType.ACCESS_TOKEN):
                        self._app.token_cache.remove_at(token)
                result = self._app.acquire_token_for_client(scopes=[SCOPE])
            except Exception as exc:  # noqa: BLE001 - msal raises requests' errors and its own
                raise GraphError(f"could not reach Microsoft Entra ID for a token ({type(exc).__name__})") from exc
        if "access_token" in result:
            return str(result["access_token"])
        error = result.get("error", "unknown_error")
        described = str(result.get("error_description") or "")
        text = described.splitlines()[0][:200] if described else ""
        raise GraphError(
            f"Microsoft Entra ID refused the Graph app credentials ({error}: {text}). "
            "Check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET."
        )


@dataclass
class Delta:
    """One delta round: the users that changed (whole or in part), the ids removed, and the link for the next."""

    users: list[dict[str, Any]] = field(default_factory=list)
    delta_link: str = ""
    pages: int = 0


@dataclass
class GroupDelta:
    """One delta round over the mapped groups: each group object Graph returned (a group may come in several, its
    `members@delta` split across them; `@removed` on a deleted one) and one delta link per chunk of group ids."""

    groups: list[dict[str, Any]] = field(default_factory=list)
    delta_links: list[str] = field(default_factory=list)
    pages: int = 0


def group_chunks(group_ids: list[str], limit: int = GROUP_FILTER_LIMIT) -> list[list[str]]:
    """The group ids in the chunks one delta query each can filter on (sorted, so the chunks are stable)."""
    ids = sorted(group_ids)
    return [ids[i : i + limit] for i in range(0, len(ids), limit)]


class GraphClient:
    def __init__(
        self,
        settings: GraphSettings,
        *,
        tokens: Callable[..., str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base = settings.base_url.rstrip("/")
        self.max_retries = settings.max_retries
        self.tokens = tokens or GraphTokens(settings)
        self.sleep = sleep  # injected: tests see the waits Graph asked for without waiting them
        self.waits: list[float] = []
        self.group_filter_limit = GROUP_FILTER_LIMIT
        self._http = httpx.Client(
            timeout=settings.timeout_seconds,
            verify=ssl.create_default_context(cafile=str(settings.ca_bundle)) if settings.ca_bundle else True,
            trust_env=False,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ requests
    def get(self, url: str, *, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """One GET, retried after 429/503/504 as Graph asks (Retry-After), with a new token once after a 401."""
        if not url.startswith(self.base + "/"):
            raise GraphError(f"Graph answered with a link outside GRAPH_BASE_URL ({url[:80]}); not followed")
        renewed = False
        attempt = 0
        while True:
            try:
                response = self._http.get(
                    url, headers={"Authorization": f"Bearer {self.tokens(fresh=renewed)}", **(headers or {})}
                )
            except httpx.HTTPError as exc:
                raise GraphError(f"could not reach Microsoft Graph ({type(exc).__name__})") from exc
            if response.status_code in RETRIED and attempt < self.max_retries:
                attempt += 1
                wait = _retry_after(response.headers.get("Retry-After"), attempt)
                self.waits.append(wait)
                self.sleep(wait)
                continue
            if response.status_code == 401 and not renewed:
                renewed = True
                continue
            if response.status_code >= 400:
                status = response.status_code
                said = _error(response)
                if status == 410 or said.lower().startswith(("syncstatenotfound", "resyncrequired")):
                    raise DeltaExpired(f"Microsoft Graph answered {status} for {_path(url)}: {said}")
                raise GraphError(f"Microsoft Graph answered {status} for {_path(url)}: {said}")
            try:
                body = response.json()
            except ValueError:
                raise GraphError(f"Microsoft Graph answered {_path(url)} with something that is not JSON") from None
            if not isinstance(body, dict):
                raise GraphError(f"Microsoft Graph answered {_path(url)} with an unexpected shape")
            return body

    def pages(self, url: str) -> Iterator[dict[str, Any]]:
        """Every page of a collection, following @odata.nextLink."""
        while url:
            page = self.get(url)
            yield page
            url = str(page.get("@odata.nextLink") or "")

    # ------------------------------------------------------------------ what a sync reads
    def users_delta(self, delta_link: str | None) -> Delta:
        """All users (no link yet: the initial round) or those changed since `delta_link`, with their managers."""
        url = delta_link or f"{self.base}/users/delta?$select={USER_FIELDS}&$expand=manager($select=id)"
        out = Delta()
        for page in self.pages(url):
            out.pages += 1
            out.users.extend(u for u in page.get("value") or () if isinstance(u, dict) and u.get("id"))
            if page.get("@odata.deltaLink"):
                out.delta_link = str(page["@odata.deltaLink"])
        if not out.delta_link:
            raise GraphError("Microsoft Graph ended the users delta without a delta link; the round is not used")
        return out

    def groups_delta(self, group_ids: list[str], delta_links: list[str] | None) -> GroupDelta:
        """The members of the groups `group_ids` (no links yet: the initial round, every member) or the membership
        changes since `delta_links` (one per chunk of group_chunks(group_ids), in that order), by Graph's group delta
        query with `$select=members`."""
        chunks = group_chunks(group_ids, self.group_filter_limit)
        if delta_links is not None and len(delta_links) != len(chunks):
            raise GraphError("the kept group delta links do not match the mapped groups; run a --full sync")
        urls = delta_links or [
            f"{self.base}/groups/delta?$select=members&$filter="
            + quote(" or ".join(f"id eq '{gid}'" for gid in chunk), safe="")
            for chunk in chunks
        ]
        out = GroupDelta()
        for url in urls:
            link = ""
            for page in self.pages(url):
                out.pages += 1
                out.groups.extend(g for g in page.get("value") or () if isinstance(g, dict) and g.get("id"))
                if page.get("@odata.deltaLink"):
                    link = str(page["@odata.deltaLink"])
            if not link:
                raise GraphError("Microsoft Graph ended the groups delta without a delta link; the round is not used")
            out.delta_links.append(link)
        return out

    def automatic_replies(self, user_id: str) -> dict[str, Any]:
        """The user's automaticRepliesSetting (status, scheduledStartDateTime, scheduledEndDateTime)."""
        body = self.get(f"{self.base}/users/{quote(user_id)}/mailboxSettings/automaticRepliesSetting")
        return body


def _retry_after(value: str | None, attempt: int) -> float:
    """Graph's Retry-After in seconds; without one, a short backoff that grows with each attempt."""
    try:
        return max(0.0, min(float(value or ""), 600.0))
    except ValueError:
        return float(min(2**attempt, 60))


def _path(url: str) -> str:
    return url.split("?", 1)[0].split("/v1.0", 1)[-1][:120]


def _error(response: httpx.Response) -> str:
    try:
        err = response.json().get("error") or {}
        return f"{err.get('code', '')}: {err.get('message', '')}".strip(": ")[:200]
    except Exception:  # noqa: BLE001 - an error page that is not JSON: its start
        return response.text[:200]
