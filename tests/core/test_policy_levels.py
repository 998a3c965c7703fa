"""Overlays that say whether they reach touchless requests, service levels as data, informed people."""

from __future__ import annotations

from decimal import Decimal

from policy_fixtures import one_stage, plan_for, small_policy

TOUCHLESS = {"id": "touchless", "when": {"amount": {"lte": 5000}}, "auto_approve": True}
MANAGER = {"id": "manager", "stages": [{"name": "Manager", "approvers": [{"manager": 1}], "sla_hours": 24}]}
RISK = {"name": "Supplier risk", "approvers": [{"role": "procurement_director"}]}


def _risk_overlay(**extra: object) -> list[dict[str, object]]:
    return [{"id": "risk", "when": {"supplier": "uline"}, "stage": RISK, **extra}]


def test_an_overlay_for_all_requests_turns_a_touchless_request_into_an_approval(company):
    """`applies_to: all` on a risk overlay: a $1,280 request its rule would approve now needs procurement."""
    plan = plan_for(small_policy([TOUCHLESS, MANAGER], overlays=_risk_overlay(applies_to="all")), company)
    assert plan.outcome == "approval" and plan.approvers == [["sofia.alvarez"]] and plan.overlays == ("risk",)


def test_an_overlay_for_approvals_only_leaves_a_touchless_request_alone(company):
    """`applies_to: approval`: the touchless request stays automatic; a larger one gets the overlay's stage."""
    policy = small_policy([TOUCHLESS, MANAGER], overlays=_risk_overlay(applies_to="approval"))
    small = plan_for(policy, company)
    large = plan_for(policy, company, lines=[{"description": "racking", "quantity": 1, "unit_price": 9000}])
    assert (small.outcome, small.overlays) == ("auto_approve", ())
    assert large.overlays == ("risk",) and [s.name for s in large.stages] == ["Manager", "Supplier risk"]


def test_an_overlay_without_applies_to_keeps_reaching_touchless_requests(company):
    """The default is today's behaviour: an overlay also reaches a request its rule approves automatically."""
    plan = plan_for(small_policy([TOUCHLESS, MANAGER], overlays=_risk_overlay()), company)
    assert plan.outcome == "approval"


def test_emergencies_get_a_shorter_sla_on_every_stage_without_copying_rules(company):
    """A service level `urgency: emergency` sets 4h SLA and hourly reminders on each stage; standard keeps 24h."""
    rule = {
        "id": "two",
        "stages": [
            {"name": "Manager", "approvers": [{"manager": 1}], "sla_hours": 24},
            {"name": "Site", "approvers": [{"role": "warehouse_manager"}], "check_limits": False},
        ],
    }
    levels = [
        {
            "id": "emergency",
            "when": {"urgency": "emergency"},
            "sla_hours": 4,
            "reminders": {"first_after_hours": 1, "every_hours": 1},
        }
    ]
    settings = {"sla_hours": 24, "reminders": {"first_after_hours": 4, "every_hours": 8}}
    policy = small_policy([rule], settings=settings, service_levels=levels)
    urgent = plan_for(policy, company, urgency="emergency")
    normal = plan_for(policy, company)
    assert [s.sla_hours for s in urgent.stages] == [Decimal(4), Decimal(4)]
    assert [s.reminders["every_hours"] for s in urgent.stages if s.reminders] == [Decimal(1), Decimal(1)]
    assert urgent.service_level == "emergency" and "service level emergency" in urgent.explanation
    assert [s.sla_hours for s in normal.stages] == [Decimal(24), Decimal(24)] and normal.service_level is None
    assert normal.stages[0].reminders == {"first_after_hours": Decimal(4), "every_hours": Decimal(8), "max": 3}


def test_escalation_has_a_policy_wide_default(company):
    """settings.escalate_to applies to a stage that names none; a stage's own target still wins."""
    policy = small_policy(
        [
            {
                "id": "r",
                "stages": [
                    {"name": "A", "approvers": [{"manager": 1}]},
                    {
                        "name": "B",
                        "approvers": [{"role": "warehouse_manager"}],
                        "escalate_to": {"person": "david.okafor"},
                        "check_limits": False,
                    },
                ],
            }
        ],
        settings={"escalate_to": {"approver_manager": 1}, "escalation": "reassign"},
    )
    plan = plan_for(policy, company)
    assert [s.escalate_to for s in plan.stages] == [{"approver_manager": 1}, {"person": "david.okafor"}]
    assert [s.escalation for s in plan.stages] == ["reassign", "reassign"]


def test_informed_people_are_shown_and_recorded_but_never_approve(company):
    """The regional director is informed on the rule's stage and the CFO on the overlay's: named, not asked."""
    rule = one_stage({"manager": 1}, informed=[{"role": "regional_ops_director"}])
    rule["informed"] = [{"person": "priya.nair"}]
    overlay = _risk_overlay(informed=[{"person": "david.okafor"}])
    plan = plan_for(small_policy([rule], overlays=overlay), company)
    assert plan.stages[0].informed == ("priya.nair", "james.carter")
    assert plan.stages[1].informed == ("david.okafor",)
    assert set(plan.informed) == {"priya.nair", "james.carter", "david.okafor"}
    assert all(p not in a for a in plan.approvers for p in plan.informed)
    assert "informed: Priya Nair, James Carter" in plan.explanation
    assert plan.to_dict()["stages"][0]["informed"] == ["priya.nair", "james.carter"]


def test_someone_who_approves_the_stage_is_not_also_listed_as_informed(company):
    """Informing the manager who already approves the stage adds nothing."""
    plan = plan_for(small_policy([one_stage({"manager": 1}, informed=[{"manager": 1}])]), company)
    assert plan.stages[0].informed == ()


def test_an_automatic_approval_records_who_is_informed(company):
    """A touchless rule with `informed:` approves straight through and names who is told."""
    rule = dict(TOUCHLESS, informed=[{"role": "regional_ops_director"}])
    plan = plan_for(small_policy([rule, MANAGER]), company)
    assert plan.outcome == "auto_approve" and plan.informed == ("james.carter",)
    assert "informed: James Carter" in plan.explanation
