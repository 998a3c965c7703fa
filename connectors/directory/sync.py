"""One sync from Microsoft Graph: read what changed, build the directory, check it, activate it.

Nothing is written until everything was read and the new version passed its checks: the version, the sync's state
(the delta links, the users and the mapped groups' members as known) and its audit event commit in one transaction,
so a sync that fails halfway (a page that never comes, a refused version) leaves the directory and the next delta
exactly as they were.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from approvals import absences
from approvals.db import transaction
from approvals.directory_changes import Activation, activate
from approvals.directory_store import DirectorySync, pinned, unlayered
from approvals.policy_store import active_policy
from approvals.workflow import ApprovalService
from connectors.directory.graph import DeltaExpired, GraphClient, GraphError, group_chunks
from connectors.directory.mapping import GraphMapping, build_directory, merge_delta, merge_group_delta

log = logging.getLogger("procurebot.directory")
SOURCE = "graph"
# where the sync state's `users` keeps the group round: {"ids": mapped group ids, "links": one delta link per chunk,
# "members": group id -> user ids}; no Entra object id starts with "@"
GROUPS = "@groups"


@dataclass
class SyncReport:
    initial: bool
    pages: int
    changed: int
    removed: int
    notes: list[str] = field(default_factory=list)
    groups_initial: bool = True
    group_pages: int = 0
    members_added: int = 0
    members_removed: int = 0
    activation: Activation | None = None
    waits: list[float] = field(default_factory=list)
    out: list[str] = field(default_factory=list)  # out of office now, by their automatic replies
    asked: list[str] = field(default_factory=list)  # asked who approves for them

    def lines(self) -> list[str]:
        kind = "initial (every user)" if self.initial else "delta (what changed since the last sync)"
        out = [f"Microsoft Graph: {kind}: {self.pages} page(s), {self.changed} user(s) changed, {self.removed} removed"]
        out.append(
            f"groups: {'initial (every member)' if self.groups_initial else 'delta'}: {self.group_pages} page(s), "
            f"{self.members_added} membership(s) added, {self.members_removed} removed"
        )
        if self.waits:
            out.append(f"throttled {len(self.waits)} time(s); waited {sum(self.waits):g} s as Graph asked")
        out += [f"note: {n}" for n in self.notes]
        if self.activation is not None:
            out += self.activation.report.lines()
            out.append(
                f"activated: directory v{self.activation.version_id}"
                if self.activation.changed
                else f"no change: directory v{self.activation.version_id} stays active"
            )
            out += [f"moved: {line}" for line in self.activation.moved]
        if self.out:
            out.append(
                f"out of office: {', '.join(self.out)}"
                + (f"; asked who approves: {', '.join(self.asked)}" if self.asked else "")
            )
        return out


class SyncRefused(GraphError):
    def __init__(self, problems: list[str], notes: list[str]) -> None:
        self.problems, self.notes = problems, notes
        super().__init__("the directory built from Microsoft Graph is not valid: " + "; ".join(problems))


def sync_from_graph(
    service: ApprovalService,
    client: GraphClient,
    mapping: GraphMapping,
    *,
    full: bool = False,
    force: bool = False,
    actor: str = "graph-sync",
    surface: str = "scheduler",
    absences_too: bool = True,
) -> SyncReport:
    """Read users and the mapped groups' members from Graph (delta queries: after the first sync only what changed;
    `full` starts both over), build the directory on the active version and activate it through `service`
    (approvals.directory_changes.activate: refused when it loops or strands a step). When the kept delta links have
    expired (a sync that did not run for a week), it reads everything again, as Graph asks, and says so."""
    kwargs: dict[str, Any] = {"force": force, "actor": actor, "surface": surface, "absences_too": absences_too}
    try:
        return _sync(service, client, mapping, full=full, **kwargs)
    except DeltaExpired as exc:
        if full:
            raise
        log.warning("Graph delta links expired (%s); reading every user and group again", exc)
        report = _sync(service, client, mapping, full=True, **kwargs)
        report.notes.insert(0, f"the kept delta links had expired ({exc}), so every user and group was read again")
        return report


def _sync(
    service: ApprovalService,
    client: GraphClient,
    mapping: GraphMapping,
    *,
    full: bool = False,
    force: bool = False,
    actor: str = "graph-sync",
    surface: str = "scheduler",
    absences_too: bool = True,
) -> SyncReport:
    """sync_from_graph's one attempt."""
    with Session(service.engine) as session:
        state = session.get(DirectorySync, SOURCE)
        known: dict[str, Any] = dict(state.users) if state and not full else {}
        link = state.delta_link if state and not full else ""
    kept_groups = known.pop(GROUPS, None)
    group_ids = sorted(mapping.roles)
    notes: list[str] = []
    group_links: list[str] | None = None
    known_members: dict[str, list[str]] = {gid: [] for gid in group_ids}
    if isinstance(kept_groups, dict) and kept_groups.get("ids") == group_ids:
        links = [str(x) for x in kept_groups.get("links") or ()]
        if len(links) == len(group_chunks(group_ids, client.group_filter_limit)):
            group_links = links
            kept = kept_groups.get("members") or {}
            known_members = {gid: [str(m) for m in kept.get(gid) or ()] for gid in group_ids}
    elif kept_groups is not None:
        notes.append("the mapping names other groups than the last sync read: their members are read in full")
    delta = client.users_delta(link or None)
    users = merge_delta(known, delta.users)
    groups = client.groups_delta(group_ids, group_links) if group_ids else None
    members, added, dropped = merge_group_delta(known_members, groups.groups if groups else [])
    if groups is not None and group_links is None:
        seen = {str(g["id"]) for g in groups.groups}
        notes += [
            f"group {gid} ({mapping.roles[gid].role}) is not in Entra ID: nobody holds the role from it"
            for gid in group_ids
            if gid not in seen
        ]
    built = build_directory(unlayered(service.directory), users, members, mapping)
    report = SyncReport(
        initial=not link,
        pages=delta.pages,
        changed=sum(1 for u in delta.users if "@removed" not in u),
        removed=sum(1 for u in delta.users if "@removed" in u),
        notes=notes + built.notes,
        groups_initial=group_links is None,
        group_pages=groups.pages if groups else 0,
        members_added=added,
        members_removed=dropped,
        waits=list(client.waits),
    )
    if built.problems or built.directory is None:
        raise SyncRefused(built.problems, built.notes)
    now = service.clock()

    def keep_state(session: Session, version_id: int) -> None:
        row = session.get(DirectorySync, SOURCE) or DirectorySync(source=SOURCE, synced_at=now)
        kept = {**users, GROUPS: {"ids": group_ids, "links": groups.delta_links if groups else [], "members": members}}
        row.delta_link, row.users, row.synced_at, row.version_id = delta.delta_link, kept, now, version_id
        session.add(row)

    report.activation = activate(
        service,
        built.text,
        origin="graph",
        filename="microsoft-graph",
        note=f"sync from Microsoft Graph ({'initial' if report.initial else 'delta'}, {report.changed} changed)",
        actor=actor,
        surface=surface,
        force=force,
        also=keep_state,
    )
    if absences_too:
        read_absences(service, client, report)
    return report


def read_absences(service: ApprovalService, client: GraphClient, report: SyncReport) -> None:
    """The automatic replies of everyone an open requisition waits on: who is out, and a suggested delegation for
    those out with nobody approving for them (approvals/absences.py). A mailbox that cannot be read is a note."""
    directory = pinned(service.directory)
    now = service.clock()
    with Session(service.engine) as session:
        holders = absences.holders_of_open_steps(session)
        rule = active_policy(session)[1].spec.settings.absence
    seen: list[absences.Seen] = []
    for pid in sorted(holders):
        person = directory.person(pid)
        if person is None or not person.active or not person.teams_object_id:
            continue
        try:
            setting = client.automatic_replies(person.teams_object_id)
        except GraphError as exc:
            report.notes.append(f"automatic replies of {person.name} not read: {exc}")
            continue
        seen.append(
            absences.Seen(
                pid,
                str(setting.get("status") or "disabled"),
                _when(setting.get("scheduledStartDateTime")),
                _when(setting.get("scheduledEndDateTime")),
            )
        )
    with transaction(service.engine) as session:
        report.out = absences.record(session, seen, now)
        report.asked = absences.ask_who_approves(session, directory, report.out, now, rule=rule)


def _when(value: Any) -> datetime | None:
    """Graph's dateTimeTimeZone ({"dateTime": "2026-12-21T08:00:00.0000000", "timeZone": "UTC"}) as UTC."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        return None
    text = str(value["dateTime"])
    head, _, fraction = text.partition(".")
    try:
        moment = datetime.fromisoformat(head + (f".{fraction[:6]}" if fraction else ""))
    except ValueError:
        return None
    try:
        zone: tzinfo = ZoneInfo(str(value.get("timeZone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        zone = timezone.utc  # a Windows zone name: mailbox settings are asked for in UTC, which Graph honours
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(timezone.utc)
