"""Policy v2 at run time: an emergency gets its service level's reminder cadence, the people a stage informs are
told once when it starts, and history facts ("twice the usual quantity") are known to live submissions."""

from __future__ import annotations

from pathlib import Path

import yaml

from approvals.commands import Approve
from approvals.db import transaction
from approvals.policy import load_policy_text
from approvals.policy_store import install_policy
from tests.factories import submit
from tests.scheduling_support import _reminders, at, dallas

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.yaml"


def _with_levels(service, clock) -> None:  # type: ignore[no-untyped-def]
    """The sample policy plus an emergency service level (reminders after 1 h, then hourly) and the regional
    director informed on the small-purchase manager stage."""
    spec = yaml.safe_load(POLICY.read_text())
    spec["policy"]["version"] = "levels-1"
    spec["service_levels"] = [
        {"id": "emergency", "when": {"urgency": "emergency"}, "reminders": {"first_after_hours": 1, "every_hours": 1}}
    ]
    rule = next(r for r in spec["rules"] if r["id"] == "standard-small")
    rule["stages"][0]["informed"] = [{"role": "regional_ops_director"}]
    with transaction(service.engine) as session:
        install_policy(session, load_policy_text(yaml.safe_dump(spec, sort_keys=False), "levels.yaml"), at=clock())


def test_an_emergency_is_reminded_after_an_hour_and_a_standard_request_after_four(service, clock, scheduler, notifier):
    """Jake's emergency waits on Zoe: her first reminder comes at 10:00, not at 13:00 as for a standard request."""
    clock.now = dallas(2026, 11, 23, 9, 0)  # Monday
    _with_levels(service, clock)
    service.submit(submit(urgency="emergency"))
    at(clock, scheduler, dallas(2026, 11, 23, 9, 59))
    assert _reminders(notifier, "zoe.martin") == []
    at(clock, scheduler, dallas(2026, 11, 23, 10, 0))
    assert len(_reminders(notifier, "zoe.martin")) == 1
    at(clock, scheduler, dallas(2026, 11, 23, 11, 0))
    assert len(_reminders(notifier, "zoe.martin")) == 2


def test_the_regional_director_is_informed_once_and_never_asked(service, clock, scheduler, notifier):
    """James Carter is informed when Jake's request reaches Zoe's stage: one notice, and no step of his own."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    _with_levels(service, clock)
    number = service.submit(submit()).number
    at(clock, scheduler, dallas(2026, 11, 23, 9, 1))
    at(clock, scheduler, dallas(2026, 11, 23, 9, 5))
    told = notifier.to("james.carter", "informed")
    assert len(told) == 1 and number in told[0].text and "nothing is needed from you" in told[0].text
    assert "james.carter" not in {s.approver for s in service.get(number).steps}


def test_the_informed_director_also_hears_how_the_stage_ended_when_the_policy_asks(service, clock, scheduler, notifier):
    """With `inform_when: start_and_end`, James hears when Jake's request reaches Zoe and again when she approves it;
    without it (the test above), only the start."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    spec = yaml.safe_load(POLICY.read_text())
    spec["policy"]["version"] = "ends-1"
    stage = next(r for r in spec["rules"] if r["id"] == "standard-small")["stages"][0]
    stage["informed"], stage["inform_when"] = [{"role": "regional_ops_director"}], "start_and_end"
    with transaction(service.engine) as session:
        install_policy(session, load_policy_text(yaml.safe_dump(spec, sort_keys=False), "ends.yaml"), at=clock())
    number = service.submit(submit()).number
    at(clock, scheduler, dallas(2026, 11, 23, 9, 5))
    service.approve(Approve(actor="zoe.martin", number=number))
    at(clock, scheduler, dallas(2026, 11, 23, 9, 10))
    told = [n.text for n in notifier.to("james.carter", "informed")]
    assert len(told) == 2 and "ended: approved by Zoe Martin" in told[1] and number in told[1]
    assert "ended" not in told[0]


def _with_unusual_quantity(service, clock) -> None:  # type: ignore[no-untyped-def]
    """The sample policy plus: more than twice the requester's usual quantity adds a category review (any amount)."""
    spec = yaml.safe_load(POLICY.read_text())
    spec["policy"]["version"] = "history-1"
    spec["overlays"].append(
        {
            "id": "unusual-quantity",
            "description": "More than twice the usual quantity",
            "applies_to": "all",
            "when": {"expr": "quantity > 2 * history.avg_qty"},
            "stage": {"name": "Category review", "approvers": [{"category_manager": True}], "check_limits": False},
        }
    )
    with transaction(service.engine) as session:
        install_policy(session, load_policy_text(yaml.safe_dump(spec, sort_keys=False), "history.yaml"), at=clock())


def test_an_order_far_above_the_requesters_usual_quantity_gets_a_category_review(service, clock):
    """Jake usually orders 10 rolls of wrap; 60 rolls (over twice his average) adds the category review, 15 does not."""
    _with_unusual_quantity(service, clock)
    wrap = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "unit_price": 32}
    first = service.submit(submit(lines=[{**wrap, "quantity": 10}]))
    assert "Category review" not in {s.stage_name for s in first.requisition.steps}  # no history yet: no review
    for _ in range(2):
        service.submit(submit(lines=[{**wrap, "quantity": 10}]))
    usual = service.submit(submit(lines=[{**wrap, "quantity": 15}])).requisition
    assert "Category review" not in {s.stage_name for s in usual.steps}
    unusual = service.submit(submit(lines=[{**wrap, "quantity": 60}])).requisition
    assert "Category review" in {s.stage_name for s in unusual.steps}


def test_the_audit_trail_names_who_the_policy_informs(service, clock):
    """Jake's request reaches Zoe's stage, which informs the regional director: the `routed` audit event lists
    James Carter as informed on that stage, by id, beside the explanation."""
    from sqlmodel import Session, select

    from approvals.models import AuditEvent

    clock.now = dallas(2026, 11, 23, 9, 0)
    _with_levels(service, clock)
    number = service.submit(submit()).number
    with Session(service.engine) as session:
        [routed] = session.exec(
            select(AuditEvent).where(AuditEvent.requisition_number == number, AuditEvent.kind == "routed")
        ).all()
    assert routed.after["informed"] == [["james.carter"]]
    assert "informed: James Carter" in routed.after["explanation"]
