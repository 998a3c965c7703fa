"""People, for admins and auditors: the directory version every server reads and where it came from, what each
recent version changed (who joined, left or moved), the steps moved off people who left, the steps still waiting on
someone who left (and where they would go, or that nobody may take them), and who is out by their automatic
replies. Read-only: the actions are on Delegations, the requisition pages and Chat users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlmodel import Session, col, select

from approvals.absences import covered, out_at
from approvals.directory_changes import changes, people_diff
from approvals.directory_store import Absence, DirectorySync, DirectoryVersion, directory_for, unlayered
from approvals.models import AuditEvent
from bot.console import html
from bot.console.formats import when
from bot.console.guard import guard

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
VERSIONS_SHOWN = 10
MOVES_DAYS = 30


@dataclass(frozen=True)
class VersionChange:
    id: int
    label: str
    loaded: str
    active: bool
    joined: list[str]
    left: list[str]
    moved: list[str]


def _read(runtime: object) -> dict[str, object]:
    engine = runtime.engine  # type: ignore[attr-defined]
    service = runtime.service  # type: ignore[attr-defined]
    directory = runtime.directory  # type: ignore[attr-defined]
    now = service.clock()

    def name(person_id: str | None) -> str:
        person = directory.person(person_id or "")
        return person.name if person else (person_id or "")

    with Session(engine) as session:
        rows = list(
            session.exec(select(DirectoryVersion).order_by(col(DirectoryVersion.id).desc()).limit(VERSIONS_SHOWN + 1))
        )
        syncs = list(session.exec(select(DirectorySync)))
        moved_events = list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.kind == "reassigned", AuditEvent.actor == "directory")
                .where(AuditEvent.at >= now - timedelta(days=MOVES_DAYS))
                .order_by(col(AuditEvent.seq).desc())
                .limit(200)
            )
        )
        absences = list(session.exec(select(Absence).order_by(col(Absence.person_id))))
        out = [
            (
                name(a.person_id),
                when(a.starts_at),
                when(a.ends_at),
                "yes" if a.asked_at else "not yet",
                "yes" if covered(session, a.person_id, now) else "nobody",
            )
            for a in absences
            if out_at(a, now)
        ]
    history: list[VersionChange] = []
    for newer, older in zip(rows, rows[1:] + [None]):
        if len(history) == VERSIONS_SHOWN:
            break
        joined: list[str] = []
        left: list[str] = []
        moved: list[str] = []
        if older is not None:
            joined, left, moved = people_diff(directory_for(older), directory_for(newer))
        assert newer.id is not None
        history.append(VersionChange(newer.id, newer.label, when(newer.loaded_at), newer.active, joined, left, moved))
    moves = [
        (
            e.requisition_number or "",
            when(e.at),
            name((e.after or {}).get("left")),
            name((e.after or {}).get("approver")),
            str((e.after or {}).get("reason", "")),
        )
        for e in moved_events
    ]
    # the steps still waiting on someone who has left: where the next move would take them (read, nothing moved)
    pending = changes(service, unlayered(directory)).moves
    return {
        "active_label": next((h.label for h in history if h.active), "none"),
        "syncs": [(s.source, when(s.synced_at), f"v{s.version_id}" if s.version_id else "") for s in syncs],
        "history": history,
        "moves": moves,
        "stranded": [
            (m.number, m.stage, name(m.leaver), name(m.target) if m.target else "NOBODY", m.why) for m in pending
        ],
        "out": out,
    }


@router.get("/people")
async def people_page(request: Request) -> Response:
    """Leavers, movers and absences, as the directory and the requisitions in flight say them."""
    who = guard(request)
    if isinstance(who, Response):
        return who
    data = await run_in_threadpool(_read, request.app.state.runtime)
    return html.page("people.html", "People", who=who, active="people", **data)
