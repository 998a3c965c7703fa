"""What a new directory version changes for the requisitions in flight, and its activation.

`changes` is the "what changes" report (the same kind a policy change gets): the open steps that wait on someone
who has left and where each would go (or that nobody may take them), the people who lose their manager, the
reporting loops. `activate` refuses a version that loops, or that leaves a step with nobody unless forced, then
stores and activates it in one transaction and moves the leavers' steps through the (wired) service, so the new
holders get their cards and reminders and the requesters are told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlmodel import Session, select

from approvals.db import transaction
from approvals.directory import Directory, load_directory_text
from approvals.directory_store import LiveDirectory, active_directory, install_directory
from approvals.errors import ProcurebotError
from approvals.models import ApprovalStep, Requisition
from approvals.workflow import ApprovalService


@dataclass(frozen=True)
class StepMove:
    number: str
    stage: str
    leaver: str
    target: str | None  # None: nobody may take it
    why: str

    def line(self) -> str:
        return f"{self.number} step '{self.stage}': {self.why}" + ("" if self.target else "  <- NOBODY")


@dataclass
class ChangeReport:
    moves: list[StepMove] = field(default_factory=list)
    lost_manager: list[str] = field(default_factory=list)  # one sentence each
    loops: list[list[str]] = field(default_factory=list)  # names, the first repeated at the end
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    moved_people: list[str] = field(default_factory=list)  # a new manager or site, one sentence each

    @property
    def stranded(self) -> list[StepMove]:
        return [m for m in self.moves if m.target is None]

    def lines(self) -> list[str]:
        out = [f"error: reporting lines loop: {' -> '.join(loop)}" for loop in self.loops]
        out += [f"joined: {', '.join(self.joined)}"] if self.joined else []
        out += [f"left: {', '.join(self.left)}"] if self.left else []
        out += self.moved_people
        out += self.lost_manager
        out += [m.line() for m in self.moves] or ["no open step waits on anyone who has left"]
        return out


class DirectoryRefused(ProcurebotError):
    """A directory version that would loop the reporting lines or strand a step; nothing was activated."""

    code = "directory_refused"

    def __init__(self, report: ChangeReport, reasons: list[str]) -> None:
        self.report = report
        self.reasons = reasons
        super().__init__("The directory was not activated: " + "; ".join(reasons))


def changes(service: ApprovalService, new: Directory, old: Directory | None = None) -> ChangeReport:
    """What activating `new` would do, read against the requisitions in flight (nothing is written)."""
    report = ChangeReport()
    name = {p.id: p.name for p in new.people}
    for loop in new.manager_cycles():
        report.loops.append([name.get(p, p) for p in loop])
    if old is not None:
        report.joined, report.left, report.moved_people = people_diff(old, new)
    for person in new.people:
        if not person.active:
            continue
        boss = new.person(person.manager) if person.manager else None
        if person.manager and boss is None:
            report.lost_manager.append(
                f"{person.name} reports to {person.manager!r}, who is not in the directory: give them a manager"
            )
        elif boss is not None and not boss.active:
            report.lost_manager.append(f"{person.name} reports to {boss.name}, who has left: give them a new manager")
    checker = ApprovalService(service.engine, new, clock=service.clock)
    with Session(service.engine) as session:
        for number, step_id, leaver in checker.stranded_steps():
            req = session.exec(select(Requisition).where(Requisition.number == number)).one()
            step = session.get(ApprovalStep, step_id)
            assert step is not None
            target, why = checker.leaver_target(session, req, step, leaver)
            report.moves.append(StepMove(number, step.stage_name, leaver, target, why))
    return report


def people_diff(old: Directory, new: Directory) -> tuple[list[str], list[str], list[str]]:
    """Who joined, who left (names), and who moved (a new manager or site, one sentence each) from `old` to `new`:
    the people part of the report, which needs no requisition (the console's history of versions reads it too)."""
    before = {p.id: p for p in old.people if p.active}
    after = {p.id: p for p in new.people if p.active}
    joined = sorted(after[p].name for p in set(after) - set(before))
    left = sorted(before[p].name for p in set(before) - set(after))
    moved: list[str] = []
    for pid in sorted(set(before) & set(after)):
        b, a = before[pid], after[pid]
        if b.manager != a.manager:
            moved.append(f"{a.name}: manager {_name(old, b.manager)} -> {_name(new, a.manager)} (new routes only)")
        if b.site != a.site:
            moved.append(f"{a.name}: site {b.site or '-'} -> {a.site or '-'} (new routes only)")
    return joined, left, moved


def _name(directory: Directory, person_id: str | None) -> str:
    if person_id is None:
        return "nobody"
    person = directory.person(person_id)
    return person.name if person else person_id


@dataclass
class Activation:
    report: ChangeReport
    version_id: int
    changed: bool  # False: this text was already the active version
    moved: list[str]  # one line per leaver's step, as move_from_leavers says it


def activate(
    service: ApprovalService,
    source: str,
    *,
    origin: str = "file",
    filename: str = "",
    note: str = "",
    actor: str = "system",
    surface: str = "cli",
    force: bool = False,
    also: Callable[[Session, int], None] | None = None,
) -> Activation:
    """Check `source` against the requisitions in flight, then make it the active directory version.

    Refused (DirectoryRefused, nothing written) when the reporting lines loop, or when an open step would be left
    with nobody and `force` is not given. The version is stored and activated in one transaction; the leavers'
    steps then move through `service` (wire it, so the new holders get their cards). `also(session, version id)`
    writes with the version, in its transaction (a sync's state), whether or not the text is new."""
    new = load_directory_text(source, filename or "directory")
    with Session(service.engine) as session:
        found = active_directory(session)
    report = changes(service, new, found[1] if found else None)
    reasons = [f"the reporting lines loop: {' -> '.join(loop)}" for loop in report.loops]
    if report.stranded and not force:
        reasons.append(
            "these open steps would be left with nobody: "
            + "; ".join(f"{m.number} step '{m.stage}' ({m.why})" for m in report.stranded)
            + " (fix the directory, reassign them first, or activate with --force)"
        )
    if reasons:
        raise DirectoryRefused(report, reasons)
    with transaction(service.engine) as session:
        row, changed = install_directory(
            session,
            source,
            at=service.clock(),
            origin=origin,
            filename=filename,
            note=note,
            actor=actor,
            surface=surface,
        )
        version_id = row.id
        assert version_id is not None
        if also is not None:
            also(session, version_id)
    live = service.directory
    if isinstance(live, LiveDirectory):
        live.refresh(force=True)
    else:
        service.directory = new.model_copy(update={"version_id": version_id})
    moved = service.move_from_leavers(actor="directory") if changed else []
    if changed:  # where the pinned policy says so, pending steps follow the new directory (default: they keep)
        moved += service.re_resolve_steps(actor="directory")
    return Activation(report, version_id, changed, moved)
