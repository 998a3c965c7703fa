"""Separation of duties decided by who acted (`separation_of_duties: acted`) and who may hold a step: a later step
kept only provisionally is not a part its holder has now. It does not stop them from taking a step elsewhere, as a
delegate or by reassignment. It is handed on as soon as they approve an earlier stage, so no card or chain keeps
naming them for it. Unit tests on approvals.eligibility, then the workflow on a real database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from approvals.commands import Approve, Reassign, SetDelegation
from approvals.eligibility import handovers, other_stage
from approvals.errors import StaleAction
from approvals.models import AuditEvent
from approvals.policy import LoadedPolicy, load_policy_text
from tests.factories import boxes, submit
from tests.scheduling_support import at, dallas

# $28,800 of packaging at Dallas: one of Sofia Alvarez (procurement director) or Lucy Chen (packaging category
# manager); then Maria Lopez (Dallas warehouse); then Sofia for the supplier risk, provisionally (if she approves
# the first stage, Marcus Bell takes it)
THREE_STAGES = """\
policy: {id: provisional, version: "1", currency: USD}
settings:
  separation_of_duties: acted
rules:
  - id: big
    when: {amount: {gt: 25000}}
    stages:
      - name: Procurement
        check_limits: false
        approvers:
          - mode: any
            name: procurement
            approvers: [{role: procurement_director}, {category_manager: true}]
      - {name: Site, check_limits: false, approvers: [{role: warehouse_manager}]}
      - {name: Supplier risk, check_limits: false, approvers: [{role: procurement_director}]}
  - id: small
    stages:
      - {name: Manager, approvers: [{manager: 1}]}
"""
BIG = [boxes(600)]


@pytest.fixture
def policy() -> LoadedPolicy:
    return load_policy_text(THREE_STAGES, "provisional.yaml")


# ---------------------------------------------------------------- the rule, on plain steps


@dataclass
class Step:
    id: int
    stage_index: int
    stage_name: str
    approver: str
    acting: str
    state: str = "waiting"
    decided_by: str | None = None
    escalated_from: int | None = None


ROUTE = {
    "stages": [
        {"name": "Procurement", "steps": [{"approver": "sofia.alvarez", "acting": "sofia.alvarez"}]},
        {"name": "Site", "steps": [{"approver": "maria.lopez", "acting": "maria.lopez"}]},
        {
            "name": "Supplier risk",
            "steps": [
                {
                    "approver": "sofia.alvarez",
                    "acting": "sofia.alvarez",
                    "provisional": "Procurement",
                    "fallback": {"approver": "marcus.bell", "approver_name": "Marcus Bell", "acting": "marcus.bell"},
                }
            ],
        },
    ]
}


def _round(risk_approver: str = "sofia.alvarez") -> list[Step]:
    return [
        Step(1, 0, "Procurement", "sofia.alvarez", "sofia.alvarez", state="not_needed"),
        Step(2, 1, "Site", "maria.lopez", "maria.lopez", state="pending"),
        Step(3, 2, "Supplier risk", risk_approver, risk_approver),
    ]


def test_a_provisional_later_step_does_not_make_its_holder_an_approver_elsewhere():
    """Sofia's supplier-risk step is kept only until she approves an earlier stage: she may still take the site step."""
    steps = _round()
    kept = handovers(ROUTE, steps)
    assert kept == {3: ("sofia.alvarez", ROUTE["stages"][2]["steps"][0]["fallback"])}
    assert other_stage("sofia.alvarez", 1, steps, kept) is None
    assert other_stage("sofia.alvarez", 1, steps).stage_name == "Supplier risk"  # without the route: counted, as before


def test_a_later_step_that_is_certain_still_counts():
    """A later step that is not provisional (or has already been handed on) keeps its holder off an earlier stage."""
    certain = {"stages": [dict(s, steps=[dict(p, provisional=None) for p in s["steps"]]) for s in ROUTE["stages"]]}
    steps = _round()
    assert other_stage("sofia.alvarez", 1, steps, handovers(certain, steps)).stage_name == "Supplier risk"
    moved = _round(risk_approver="marcus.bell")
    assert handovers(ROUTE, moved) == {}
    assert other_stage("marcus.bell", 1, moved, handovers(ROUTE, moved)).stage_name == "Supplier risk"


def test_an_earlier_step_is_never_excused():
    """Only a later provisional step is excused: an approval already given at an earlier stage always counts."""
    steps = _round()
    steps[0].state, steps[0].decided_by = "approved", "sofia.alvarez"
    assert other_stage("sofia.alvarez", 1, steps, handovers(ROUTE, steps)).stage_name == "Procurement"


# ---------------------------------------------------------------- the workflow


def _events(service, number: str, kind: str) -> list[AuditEvent]:
    with Session(service.engine) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.requisition_number == number, AuditEvent.kind == kind))
        return list(rows.all())


def _risk(view) -> tuple[str, str]:
    [step] = [s for s in view.steps if s.stage_name == "Supplier risk"]
    return step.approver, step.acting


def test_sofia_approving_the_first_stage_is_taken_off_the_risk_stage_at_once(service):
    """Sofia approves the procurement stage: the supplier-risk step goes to Marcus Bell right away (audited once),
    so while the site stage waits on Maria no card names Sofia for it, and she can never act on it."""
    number = service.submit(submit(lines=BIG)).number
    planned = service.get(number)
    assert _risk(planned) == ("sofia.alvarez", "sofia.alvarez") and len(planned.provisional) == 1
    moved = service.approve(Approve(actor="sofia.alvarez", number=number)).requisition
    assert moved.waiting_on == ["maria.lopez"]
    assert _risk(moved) == ("marcus.bell", "marcus.bell") and moved.provisional == []
    assert len(_events(service, number, "separated")) == 1
    assert service.approve(Approve(actor="maria.lopez", number=number)).requisition.waiting_on == ["marcus.bell"]
    with pytest.raises(StaleAction, match="You already approved PR-.* at stage 'Procurement'"):
        service.approve(Approve(actor="sofia.alvarez", number=number))
    assert service.approve(Approve(actor="marcus.bell", number=number)).outcome == "approved"
    assert len(_events(service, number, "separated")) == 1


def test_sofia_may_approve_the_site_stage_for_maria_and_the_risk_stage_moves_on(service, clock):
    """Lucy passes the procurement stage; Maria is away and delegates to Sofia, whose supplier-risk step is only
    provisional: Sofia's tap for Maria counts, and the supplier-risk step goes to Marcus Bell."""
    number = service.submit(submit(lines=BIG)).number
    service.approve(Approve(actor="lucy.chen", number=number))
    service.set_delegation(
        SetDelegation(
            actor="maria.lopez",
            delegator="maria.lopez",
            delegate="sofia.alvarez",
            starts_at=clock.now,
            ends_at=clock.now + timedelta(days=3),
        )
    )
    result = service.approve(Approve(actor="sofia.alvarez", number=number))
    assert result.outcome == "advanced", result.message
    assert result.requisition.waiting_on == ["marcus.bell"]
    [separated] = _events(service, number, "separated")
    assert separated.before["approver"] == "sofia.alvarez" and separated.after["approver"] == "marcus.bell"


def test_an_administrator_may_give_the_site_step_to_someone_only_provisionally_on_the_risk_stage(service):
    """Reassigning Maria's site step to Sofia is allowed while Sofia's later step is provisional; once Sofia approves
    the site stage, the supplier-risk step is Marcus Bell's."""
    number = service.submit(submit(lines=BIG)).number
    service.approve(Approve(actor="lucy.chen", number=number))
    service.reassign(
        Reassign(actor="admin", number=number, from_person="maria.lopez", to_person="sofia.alvarez", reason="cover")
    )
    after = service.approve(Approve(actor="sofia.alvarez", number=number)).requisition
    assert after.waiting_on == ["marcus.bell"]


def test_a_window_that_starts_hands_the_site_step_to_someone_only_provisionally_later(service, clock, scheduler):
    """Lucy passes the procurement stage; at 10:00 Maria's window to Sofia starts: the site step goes to Sofia (her
    supplier-risk step is only provisional), and her approval hands the risk stage to Marcus Bell."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    number = service.submit(submit(lines=BIG)).number
    service.approve(Approve(actor="lucy.chen", number=number))
    service.set_delegation(
        SetDelegation(
            actor="maria.lopez",
            delegator="maria.lopez",
            delegate="sofia.alvarez",
            starts_at=dallas(2026, 11, 23, 10, 0),
            ends_at=dallas(2026, 11, 30, 9, 0),
        )
    )
    assert service.get(number).waiting_on == ["maria.lopez"]
    at(clock, scheduler, dallas(2026, 11, 23, 10, 0))
    assert service.get(number).waiting_on == ["sofia.alvarez"]
    assert service.approve(Approve(actor="sofia.alvarez", number=number)).requisition.waiting_on == ["marcus.bell"]
