"""How Microsoft Entra ID users become the directory's people: the mapping file, and the pure merge.

The mapping (YAML, documented in docs/directory.md, example examples/graph-mapping.yaml) names which site each
`officeLocation` is, which role each group's members hold, and the approval limit a new person starts with by job
title. Everything the identity provider does not know (sites, cost centers, suppliers, the catalog, a person's
approval limit and chat ids) stays as the active directory version says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from approvals.directory import ALL_SITES, Directory, Person, RoleGrant, dump_directory, load_directory_text
from approvals.errors import DirectoryInvalid

USER_KEYS = ("displayName", "mail", "userPrincipalName", "department", "jobTitle", "officeLocation", "accountEnabled")


class GroupRole(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str
    # the sites the role covers: every site ("*"), a list of codes, or "own": the member's own site
    sites: tuple[str, ...] | Literal["own"] = (ALL_SITES,)


class GraphMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # officeLocation as Entra ID spells it -> site code
    sites: dict[str, str] = {}
    # group object id -> the role its members hold ("buyer", or {role: warehouse_manager, sites: own})
    roles: dict[str, GroupRole] = {}
    # jobTitle -> approval limit for a person the directory does not list yet (otherwise theirs is kept)
    approval_limits: dict[str, Decimal] = {}
    # a new person's id: the local part of their mail (or of their user principal name)
    person_id: Literal["mail", "userPrincipalName"] = "mail"

    @field_validator("roles", mode="before")
    @classmethod
    def _role_shorthand(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: ({"role": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value


def load_mapping(path: Path) -> GraphMapping:
    """Read the mapping file; ValueError with every problem and the file's name."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ValueError(f"cannot read the Graph mapping {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    try:
        return GraphMapping.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{path}: {problems}") from None


def merge_delta(state: dict[str, dict[str, Any]], changed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The users as known after a delta round: each changed user's properties laid over what was known (a delta
    carries only what changed), its manager from `manager@delta` (or `manager`), a removed one marked removed."""
    users = {k: dict(v) for k, v in state.items()}
    for u in changed:
        gid = str(u["id"])
        record = users.setdefault(gid, {"id": gid})
        if "@removed" in u:
            record["removed"] = True
            continue
        record["removed"] = False
        for key in USER_KEYS:
            if key in u:
                record[key] = u[key]
        if "manager@delta" in u:
            links = [m for m in u.get("manager@delta") or () if isinstance(m, dict) and "@removed" not in m]
            record["manager"] = str(links[0]["id"]) if links else None
        elif "manager" in u:
            record["manager"] = str((u.get("manager") or {}).get("id") or "") or None
    return users


def merge_group_delta(
    members: dict[str, list[str]], changed: list[dict[str, Any]]
) -> tuple[dict[str, list[str]], int, int]:
    """The groups' user members as known after a group delta round, with how many memberships were added and
    removed: each `members@delta` entry adds a user, or takes one out when it carries `@removed`; a group that
    carries `@removed` itself (deleted) has no members left. Members that are not users (nested groups, devices)
    are not read: a role is held by the users named in its group."""
    out = {gid: list(ids) for gid, ids in members.items()}
    added = removed = 0
    for group in changed:
        gid = str(group["id"])
        current = out.setdefault(gid, [])
        if "@removed" in group:
            removed += len(current)
            current.clear()
            continue
        for member in group.get("members@delta") or ():
            if not isinstance(member, dict) or not member.get("id"):
                continue
            if not str(member.get("@odata.type") or "#microsoft.graph.user").endswith(".user"):
                continue
            uid = str(member["id"])
            if "@removed" in member:
                if uid in current:
                    current.remove(uid)
                    removed += 1
            elif uid not in current:
                current.append(uid)
                added += 1
    return out, added, removed


@dataclass
class Built:
    directory: Directory | None
    text: str
    problems: list[str] = field(default_factory=list)  # the sync is refused
    notes: list[str] = field(default_factory=list)  # reported, not guessed


def _local(address: str) -> str:
    part = address.split("@", 1)[0].lower()
    return re.sub(r"[^a-z0-9._-]+", ".", part).strip(".") or "person"


def build_directory(
    base: Directory, users: dict[str, dict[str, Any]], members: dict[str, list[str]], mapping: GraphMapping
) -> Built:
    """The directory `base` with its people from Entra ID (pure). People of `base` that Entra ID does not list
    stay, marked as having left, so names in history still read right."""
    notes: list[str] = []
    problems: list[str] = []
    by_object = {p.teams_object_id: p for p in base.people if p.teams_object_id}
    by_email = {p.email.lower(): p for p in base.people}
    managed = {r.role for r in mapping.roles.values()}
    taken = {p.id for p in base.people}
    known = [u for u in users.values() if u.get("mail") or u.get("userPrincipalName")]
    known.sort(key=lambda u: (str(u.get("displayName") or ""), u["id"]))
    pid_of: dict[str, str] = {}
    base_of: dict[str, Person | None] = {}
    for u in known:
        email = str(u.get("mail") or u.get("userPrincipalName")).lower()
        match = by_object.get(u["id"]) or by_email.get(email)
        if match is None:
            seed = _local(str(u.get(mapping.person_id) or email))
            pid, n = seed, 2
            while pid in taken:
                pid, n = f"{seed}{n}", n + 1
            taken.add(pid)
        else:
            pid = match.id
        pid_of[u["id"]], base_of[u["id"]] = pid, match
    groups_of: dict[str, list[str]] = {}
    for group_id, ids in members.items():
        for gid in ids:
            groups_of.setdefault(gid, []).append(group_id)
    synced: dict[str, dict[str, Any]] = {}
    for u in known:
        gid, pid, match = u["id"], pid_of[u["id"]], base_of[u["id"]]
        name = str(u.get("displayName") or (match.name if match else pid))
        active = u.get("accountEnabled") is not False and not u.get("removed")
        office = u.get("officeLocation")
        site = mapping.sites.get(office) if office else None
        if site is None:
            site = match.site if match else None
            if office and active:
                notes.append(f"{name}: office {office!r} is not in the mapping; site kept as {site or 'none'}")
        manager_gid = u.get("manager")
        manager = pid_of.get(manager_gid) if manager_gid else None
        if active and manager_gid is None:
            notes.append(f"{name} has no manager in Entra ID (none is guessed)")
        elif active and manager is None:
            notes.append(f"{name}'s manager in Entra ID is not a user the sync reads (none is guessed)")
        roles = [g for g in (match.roles if match else ()) if g.role not in managed]
        for group_id in groups_of.get(gid, ()):
            spec = mapping.roles[group_id]
            if spec.sites == "own":
                if site is None:
                    notes.append(f"{name}: role {spec.role} is for their own site, and they have none")
                    continue
                roles.append(RoleGrant(role=spec.role, sites=(site,)))
            else:
                roles.append(RoleGrant(role=spec.role, sites=spec.sites))
        limit = match.approval_limit if match else mapping.approval_limits.get(str(u.get("jobTitle") or ""), Decimal(0))
        synced[pid] = {
            **({k: v for k, v in match.model_dump().items()} if match else {}),
            "id": pid,
            "name": name,
            "email": str(u.get("mail") or u.get("userPrincipalName")),
            "title": str(u.get("jobTitle") or (match.title if match else "")),
            "site": site,
            "manager": manager,
            "roles": [g.model_dump() for g in roles],
            "approval_limit": limit,
            "teams_object_id": gid,
            "active": active,
        }
    people: list[dict[str, Any]] = []
    for p in base.people:
        if p.id in synced:
            people.append(synced.pop(p.id))
        else:
            if p.active:
                notes.append(f"{p.name} is not in Entra ID: kept as having left")
            people.append({**p.model_dump(), "active": False})
    people.extend(synced.values())
    values = {k: getattr(base, k) for k in type(base).model_fields if k not in ("source_hash", "version_id")}
    values["people"] = people
    try:
        directory = Directory.model_validate(values)
    except DirectoryInvalid as exc:
        return Built(None, "", exc.problems, notes)
    except ValidationError as exc:
        return Built(None, "", [str(exc)], notes)
    text = dump_directory(directory)
    return Built(load_directory_text(text, "graph sync"), text, problems, notes)
