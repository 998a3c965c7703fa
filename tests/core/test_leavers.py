"""People leave: their open steps move on at once, by the routing rules, and new routes never name them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from approvals.commands import Approve, SetDelegation
from approvals.directory import Directory
from approvals.models import AuditEvent
from approvals.workflow import ApprovalService
from tests.factories import boxes, submit

COMPANY = Path(__file__).resolve().parents[2] / "examples" / "company.yaml"


def _company(change) -> Directory:  # type: ignore[no-untyped-def]
    """The sample company with `change` applied to its people (a dict by id)."""
    data: dict[str, Any] = yaml.safe_load(COMPANY.read_text())
    people = {p["id"]: p for p in data["people"]}
    change(people)
    data["people"] = [p for p in people.values() if p is not None]
    return Directory.model_validate(data)


def _left(*ids: str):  # type: ignore[no-untyped-def]
    def change(people: dict[str, Any]) -> None:
        for person_id in ids:
            people[person_id]["active"] = False

    return change


def _seattle(service):  # type: ignore[no-untyped-def]
    """$2,880 for Seattle: Hannah (manager), then Kevin (budget owner, as Hannah already approves a stage)."""
    return service.submit(submit(requester="eric.larsen", site="SEA", cost_center="SEA-OPS", lines=[boxes(60)]))


def _after(service, directory: Directory, clock) -> ApprovalService:  # type: ignore[no-untyped-def]
    """The same database served with the changed directory (a restart after the file changed)."""
    return ApprovalService(service.engine, directory, clock=clock)


def test_a_leavers_step_moves_up_past_someone_on_another_stage(service, clock):
    """Hannah leaves with Eric's request waiting on her: it moves to Marcus, as Kevin already has the next stage."""
    number = _seattle(service).number
    after = _after(service, _company(_left("hannah.berg")), clock)
    report = after.move_from_leavers()
    assert len(report) == 1 and "Hannah Berg has left" in report[0] and "Marcus Bell" in report[0]
    view = after.get(number)
    assert view.waiting_on == ["marcus.bell"]
    assert [s.approver for s in view.steps] == ["marcus.bell", "kevin.nguyen"]
    assert after.approve(Approve(actor="marcus.bell", number=number)).outcome == "advanced"
    with Session(service.engine) as s:
        moved = s.exec(select(AuditEvent).where(AuditEvent.kind == "reassigned")).one()
    assert moved.actor == "directory" and (moved.after or {})["left"] == "hannah.berg"
    assert after.move_from_leavers() == []  # nothing is stranded any more


def test_a_delegate_who_leaves_hands_the_step_back(service, clock):
    """Maria's delegate Frank leaves while he holds her step: it goes back to Maria."""
    service.set_delegation(
        SetDelegation(
            actor="maria.lopez",
            delegator="maria.lopez",
            delegate="frank.novak",
            starts_at=clock.now,
            ends_at=clock.now.replace(year=clock.now.year + 1),
        )
    )
    number = service.submit(submit(lines=[boxes(80)])).number
    assert service.get(number).waiting_on == ["frank.novak"]
    after = _after(service, _company(_left("frank.novak")), clock)
    assert "Frank Novak, who was acting for Maria Lopez, has left" in after.move_from_leavers()[0]
    assert after.get(number).waiting_on == ["maria.lopez"]


def test_nobody_eligible_leaves_the_step_and_says_so(service, clock):
    """Hannah and everyone above her leave, and no procurement director may take it: the report says NOT MOVED."""
    number = _seattle(service).number
    gone = _left("hannah.berg", "marcus.bell", "catherine.moss", "sofia.alvarez")
    after = _after(service, _company(gone), clock)
    report = after.move_from_leavers()
    assert report and report[0].startswith("NOT MOVED") and number in report[0]
    assert after.get(number).waiting_on == ["hannah.berg"]


def test_new_routes_never_name_someone_who_has_left(service, clock):
    """After Hannah leaves, a new Seattle request goes to her manager, and the route says why."""
    after = _after(service, _company(_left("hannah.berg")), clock)
    view = _seattle(after).requisition
    assert "hannah.berg" not in {s.approver for s in view.steps}
    assert any("Hannah Berg has left" in note for note in view.route_notes)


def test_a_leaver_cannot_receive_a_delegated_step(service, clock):
    """Maria delegated to Frank, who has since left: her new step stays with her."""
    service.set_delegation(
        SetDelegation(
            actor="maria.lopez",
            delegator="maria.lopez",
            delegate="frank.novak",
            starts_at=clock.now,
            ends_at=clock.now.replace(year=clock.now.year + 1),
        )
    )
    after = _after(service, _company(_left("frank.novak")), clock)
    view = after.submit(submit(lines=[boxes(80)])).requisition
    assert view.waiting_on == ["maria.lopez"]
    assert any("Frank Novak has left" in note for note in view.route_notes)
