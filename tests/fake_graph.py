"""A small Microsoft Graph on 127.0.0.1 for the directory sync tests, shaped by Graph's documented responses.

It serves `GET /v1.0/users/delta` (an initial round of every user in pages linked by `@odata.nextLink`, the last
page carrying `@odata.deltaLink`; a later round from that link returns only what changed: the changed properties,
`manager@delta`, `@removed` for a deleted user), `GET /v1.0/groups/delta?$select=members&$filter=id eq '…' or …`
(at most 50 ids; an initial round with every member in `members@delta`, a group's members split across several
group objects when they are many; a later round with only the membership changes, a removed member and a deleted
group carrying `@removed`), `GET /v1.0/groups/{id}/members`, and
`GET /v1.0/users/{id}/mailboxSettings/automaticRepliesSetting`. It checks the bearer token FakeEntra issued, and
can throttle (429 with Retry-After, Graph's error body) or fail a page.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.erp_fakes import FakeServer, Reply

COMPANY = Path(__file__).resolve().parents[1] / "examples" / "company.yaml"
TOKEN = "bc-token-1"  # what FakeEntra issues
USER = "#microsoft.graph.user"
FILTER_LIMIT = 50  # object ids one delta query may filter on


def object_id(person_id: str) -> str:
    """The Entra object id the fake tenant gives a sample-company person (stable across runs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"lonestar/{person_id}"))


def group_id(role: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"lonestar/group/{role}"))


class FakeGraph(FakeServer):
    def __init__(self, tls: tuple[str, str], *, page_size: int = 10) -> None:
        super().__init__(tls)
        self.page_size = page_size
        self.users: dict[str, dict[str, Any]] = {}  # object id -> the user's properties, "manager": object id
        self.groups: dict[str, list[str]] = {}
        self.replies: dict[str, dict[str, Any]] = {}
        self.seq = 0
        self.changes: list[tuple[int, str, set[str]]] = []  # (seq, object id, properties changed)
        self.deleted: set[str] = set()
        self.group_changes: list[tuple[int, str, str, bool]] = []  # (seq, group id, member id or "", removed)
        self.deleted_groups: set[str] = set()
        self._group_tokens: dict[str, tuple[int, list[str]]] = {}  # deltatoken -> (seq, the group ids filtered on)
        self._rounds: dict[str, list[dict[str, Any]]] = {}  # skiptoken -> the pages still to serve
        self.throttle_next = 0
        self.throttle_only = ""  # throttle only requests whose path contains this
        self.retry_after = "1"
        self.fail_pages = False  # every page after the first answers 500
        # delta tokens issued before this seq have expired, as Entra ID's do after seven days: Graph answers 400
        # syncStateNotFound ("The delta token is expired and data must be synchronized again")
        self.expired_before = -1

    # ------------------------------------------------------------------ the tenant
    @classmethod
    def sample(cls, tls: tuple[str, str], **kw: Any) -> "FakeGraph":
        """The sample company's people as Entra users, with a group per role named in `group_roles`."""
        fake = cls(tls, **kw)
        data = yaml.safe_load(COMPANY.read_text())
        sites = {s["code"]: s["name"] for s in data["sites"]}
        for p in data["people"]:
            fake.users[object_id(p["id"])] = {
                "id": object_id(p["id"]),
                "displayName": p["name"],
                "mail": p["email"],
                "userPrincipalName": p["email"],
                "jobTitle": p.get("title") or None,
                "department": None,
                "officeLocation": sites.get(p.get("site")) if p.get("site") else None,
                "accountEnabled": True,
                "manager": object_id(p["manager"]) if p.get("manager") else None,
            }
            for role in p.get("roles") or ():
                name = role if isinstance(role, str) else next(iter(role))
                fake.groups.setdefault(group_id(name), []).append(object_id(p["id"]))
        return fake

    def update(self, person_id: str, **props: Any) -> None:
        """Change a user as an Entra administrator would; the next delta round returns it."""
        gid = object_id(person_id) if person_id in self._people() else person_id
        self.users[gid].update(props)
        self.seq += 1
        self.changes.append((self.seq, gid, set(props)))

    def add(self, user: dict[str, Any]) -> None:
        self.users[user["id"]] = {"accountEnabled": True, "manager": None, **user}
        self.seq += 1
        self.changes.append((self.seq, user["id"], set(user) | {"manager"}))

    def delete(self, person_id: str) -> None:
        gid = object_id(person_id)
        self.deleted.add(gid)
        self.seq += 1
        self.changes.append((self.seq, gid, set()))
        for group, members in self.groups.items():
            if gid in members:
                members.remove(gid)
                self.group_changes.append((self.seq, group, gid, True))

    def add_member(self, role: str, person_id: str) -> None:
        """Add a user to the group of `role`, as an Entra administrator would."""
        group, member = group_id(role), object_id(person_id)
        self.groups.setdefault(group, []).append(member)
        self.seq += 1
        self.group_changes.append((self.seq, group, member, False))

    def remove_member(self, role: str, person_id: str) -> None:
        group, member = group_id(role), object_id(person_id)
        self.groups[group].remove(member)
        self.seq += 1
        self.group_changes.append((self.seq, group, member, True))

    def delete_group(self, role: str) -> None:
        group = group_id(role)
        self.deleted_groups.add(group)
        self.seq += 1
        self.group_changes.append((self.seq, group, "", True))

    def _people(self) -> set[str]:
        return {u["mail"].split("@")[0] for u in self.users.values() if u.get("mail")}

    # ------------------------------------------------------------------ Graph's shapes
    def error_body(self, status: int, message: str) -> Any:
        code = {429: "TooManyRequests", 401: "InvalidAuthenticationToken", 404: "Request_ResourceNotFound"}
        return {"error": {"code": code.get(status, "generalException"), "message": message, "innerError": {}}}

    def expire_delta_tokens(self) -> None:
        """Every delta token issued so far expires (a sync that did not run for more than seven days)."""
        self.seq += 1
        self.expired_before = self.seq

    def expired_body(self) -> Any:
        message = (
            "The sync state generation is not found. The delta token is expired and data must be synchronized again."
        )
        return {"error": {"code": "syncStateNotFound", "message": message, "innerError": {}}}

    def _user(self, gid: str, props: set[str] | None = None) -> dict[str, Any]:
        u = self.users[gid]
        keys = [k for k in u if k not in ("id", "manager")] if props is None else [k for k in props if k != "manager"]
        out: dict[str, Any] = {"@odata.type": USER, "id": gid, **{k: u.get(k) for k in keys}}
        if props is None or "manager" in props:
            manager = u.get("manager")
            out["manager@delta"] = (
                [{"@odata.type": USER, "id": manager}]
                if manager
                else ([] if props is None else [{"@odata.type": USER, "id": "x", "@removed": {"reason": "deleted"}}])
            )
        return out

    def _groups_delta(self, query: dict[str, str]) -> Reply:
        base = f"{self.url}/v1.0/groups/delta"
        if "$deltatoken" in query:
            kept = self._group_tokens.get(query["$deltatoken"])
            if kept is None or kept[0] < self.expired_before:
                return 400, {}, self.expired_body()
            since, ids = kept
        else:
            if "members" not in (query.get("$select") or "").split(","):
                return 400, {}, self.error_body(400, "This fake serves membership: $select=members.")
            ids = re.findall(r"id eq '([^']+)'", query.get("$filter") or "")
            if not ids or len(ids) > FILTER_LIMIT:
                return 400, {}, self.error_body(400, f"Filter on 1 to {FILTER_LIMIT} object ids.")
            since = -1
        items: list[dict[str, Any]] = []
        for group in ids:
            if group not in self.groups and group not in self.deleted_groups:
                continue  # no such group: Graph returns nothing for it
            if since < 0:
                if group in self.deleted_groups:
                    continue
                members = [{"@odata.type": USER, "id": m} for m in self.groups[group]]
                # a group with many members comes as several objects, its members split across them
                chunks = [members[i : i + self.page_size] for i in range(0, len(members), self.page_size)] or [[]]
                items += [{"id": group, "members@delta": chunk} for chunk in chunks]
                continue
            net: dict[str, bool] = {}
            gone = False
            for seq, g, member, removed in self.group_changes:
                if seq > since and g == group:
                    if member:
                        net[member] = removed
                    else:
                        gone = True
            if gone:
                items.append({"id": group, "@removed": {"reason": "changed"}})
            elif net:
                items.append(
                    {
                        "id": group,
                        "members@delta": [
                            {"@odata.type": USER, "id": m, **({"@removed": {"reason": "deleted"}} if r else {})}
                            for m, r in net.items()
                        ],
                    }
                )
        token = uuid.uuid4().hex
        self._group_tokens[token] = (self.seq, ids)
        return self._pages(items, base, {"@odata.deltaLink": f"{base}?$deltatoken={token}"}, "groups")

    def _pages(self, items: list[dict[str, Any]], base: str, final: dict[str, str], kind: str = "users") -> Reply:
        chunks = [items[i : i + self.page_size] for i in range(0, len(items), self.page_size)] or [[]]
        pages: list[dict[str, Any]] = []
        for i, chunk in enumerate(chunks):
            page: dict[str, Any] = {"@odata.context": f"{self.url}/v1.0/$metadata#{kind}", "value": chunk}
            pages.append(page)
        token = uuid.uuid4().hex
        for i, page in enumerate(pages[:-1]):
            nxt = f"{token}-{i + 1}"
            page["@odata.nextLink"] = f"{base}?$skiptoken={nxt}"
            self._rounds[nxt] = pages
        pages[-1].update(final)
        return 200, {}, pages[0]

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {}, self.error_body(401, "Access token is empty or invalid.")
        if self.throttle_next > 0 and self.throttle_only in path:
            self.throttle_next -= 1
            return 429, {"Retry-After": self.retry_after}, self.error_body(429, "Too many requests.")
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route = parts.path
        if method != "GET":
            return 405, {}, self.error_body(405, "Only GET here.")
        if "$skiptoken" in query:
            if self.fail_pages:
                return 500, {}, self.error_body(500, "The service is unavailable.")
            token = query["$skiptoken"]
            pages = self._rounds.get(token)
            if pages is None:
                return 400, {}, self.error_body(400, "Invalid skip token.")
            return 200, {}, pages[int(token.rsplit("-", 1)[1])]
        if route == "/v1.0/users/delta":
            base = f"{self.url}/v1.0/users/delta"
            final = {"@odata.deltaLink": f"{base}?$deltatoken={self.seq}"}
            if "$deltatoken" in query:
                since = int(query["$deltatoken"])
                if since < self.expired_before:
                    return 400, {}, self.expired_body()
                changed: dict[str, set[str]] = {}
                for seq, gid, props in self.changes:
                    if seq > since:
                        changed.setdefault(gid, set()).update(props)
                items = [
                    {"id": gid, "@removed": {"reason": "changed"}} if gid in self.deleted else self._user(gid, props)
                    for gid, props in changed.items()
                ]
            else:
                items = [self._user(gid) for gid in self.users if gid not in self.deleted]
            return self._pages(items, base, final)
        if route == "/v1.0/groups/delta":
            return self._groups_delta(query)
        if route.startswith("/v1.0/groups/") and route.endswith("/members"):
            gid = route.split("/")[3]
            members = [{"@odata.type": USER, "id": m} for m in self.groups.get(gid, []) if m not in self.deleted]
            return self._pages(members, f"{self.url}{route}", {})
        if route.startswith("/v1.0/users/") and route.endswith("/mailboxSettings/automaticRepliesSetting"):
            gid = route.split("/")[3]
            if gid not in self.users:
                return 404, {}, self.error_body(404, f"Resource '{gid}' does not exist.")
            setting = self.replies.get(gid) or {"status": "disabled"}
            return 200, {}, {"@odata.context": f"{self.url}/v1.0/$metadata#automaticRepliesSetting", **setting}
        return 404, {}, self.error_body(404, f"No route {route}")
