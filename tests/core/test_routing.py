"""Routing: the pure function that turns a request into a route plan, with its explanation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from policy_fixtures import AT, facts_for, one_stage, plan_for, small_policy

from approvals.delegation import DelegationWindow
from approvals.policy.routing import route, rule_index

WRAP = [{"description": "stretch wrap", "sku": "PKG-SW-18", "quantity": 40, "unit_price": 32}]  # $1,280


def window(delegator: str, delegate: str, **kw) -> DelegationWindow:
    return DelegationWindow(delegator, delegate, AT - timedelta(days=1), AT + timedelta(days=1), **kw)


# --- outcomes ---------------------------------------------------------------------------------


def test_small_contracted_stock_is_auto_approved(sample_policy, company):
    """20 rolls of stretch wrap from Uline ($640) are approved with no human step."""
    plan = plan_for(sample_policy, company, lines=[{**WRAP[0], "quantity": 20}])
    assert plan.outcome == "auto_approve" and plan.stages == () and plan.rule_id == "touchless-contracted-stock"


def test_blocked_supplier_is_a_hard_stop_with_reason(sample_policy, company):
    """Any order from a blocked supplier stops, saying why it is blocked."""
    plan = plan_for(
        sample_policy,
        company,
        supplier="shady-surplus",
        lines=[{"description": "pallets", "quantity": 5, "unit_price": 10, "category": "packaging"}],
    )
    supplier = company.supplier_by_id["shady-surplus"]
    assert plan.outcome == "stop" and plan.rule_id == "blocked-supplier"
    assert supplier.block_reason in plan.stop_reason


def test_hard_budget_stop_refuses_overspend(sample_policy, company):
    """Phoenix's cost center refuses spend beyond what is left, and says how much is left."""
    cc = company.cost_center_by_code["PHX-OPS"]
    left = cc.budget - cc.spent
    plan = plan_for(
        sample_policy,
        company,
        requester="rosa.silva",
        site="PHX",
        cost_center="PHX-OPS",
        lines=[{"description": "wrap", "quantity": 1, "unit_price": str(left + 1)}],
    )
    assert plan.outcome == "stop" and plan.rule_id == "hard-budget-stop"
    assert f"{left:,}" in plan.stop_reason


def test_within_hard_budget_is_not_stopped(sample_policy, company):
    """The same Phoenix cost center accepts an order that fits in what is left."""
    plan = plan_for(
        sample_policy,
        company,
        requester="rosa.silva",
        site="PHX",
        cost_center="PHX-OPS",
        lines=[{"description": "wrap", "quantity": 1, "unit_price": 1500}],
    )
    assert plan.outcome == "approval"


# --- stages and modes ---------------------------------------------------------------------------


def test_any_mode_needs_one_all_mode_needs_everyone_quorum_needs_n(sample_policy, company):
    """Janitorial services need site AND category (all); capex over $100k needs 2 of the executive committee."""
    services = plan_for(
        sample_policy,
        company,
        requester="eric.larsen",
        site="SEA",
        cost_center="CORP-FAC",
        supplier="cintas",
        lines=[{"description": "janitorial", "sku": "SVC-JAN-MO", "quantity": 6, "unit_price": 2200}],
    )
    first = services.stages[0]
    assert first.mode == "all" and first.required == len(first.steps) == 2
    assert services.stages[1].mode == "any" and services.stages[1].required == 1
    capex = plan_for(
        sample_policy,
        company,
        requester="maria.lopez",
        cost_center="CORP-FAC",
        supplier="grainger",
        lines=[{"description": "forklifts", "sku": "CAP-FLT-5K", "quantity": 3, "unit_price": 38000}],
    )
    committee = capex.stages[1]
    assert committee.mode == "quorum" and committee.required == 2 and len(committee.steps) >= 2


def test_stages_carry_sla_and_escalation(sample_policy, company):
    """Each stage has its SLA (or the policy default) and where it escalates."""
    plan = plan_for(sample_policy, company)
    stage = plan.stages[0]
    assert stage.sla_hours == Decimal(24) and stage.escalate_to == {"approver_manager": 1}


# --- overlays ---------------------------------------------------------------------------------------


def test_over_budget_overlay_adds_the_budget_owner_after_the_base_route(sample_policy, company):
    """An order that takes Atlanta over budget adds the cost center owner as an extra stage after the manager."""
    plan = plan_for(
        sample_policy,
        company,
        requester="tasha.reed",
        site="ATL",
        cost_center="ATL-OPS",
        supplier="grainger",
        committed=48000,
        lines=[{"description": "lights", "sku": "FAC-LED-HB", "quantity": 20, "unit_price": 180}],
    )
    assert plan.overlays == ("over-budget",)
    assert [s.name for s in plan.stages] == ["Manager", "Budget owner"]
    assert [s.rule_id for s in plan.stages] == ["standard-small", "over-budget"]


def test_risky_supplier_overlay_adds_procurement(sample_policy, company):
    """High-risk Acme pallets over $2,500 add the procurement director's supplier-risk stage."""
    plan = plan_for(
        sample_policy,
        company,
        requester="tasha.reed",
        site="ATL",
        cost_center="ATL-OPS",
        supplier="acme-pallets",
        lines=[{"description": "pallets", "sku": "PKG-PAL-4840", "quantity": 300, "unit_price": 14}],
    )
    assert plan.overlays == ("risky-supplier",)
    assert plan.approvers[-1] == [p.id for p in company.people_with_role("procurement_director", "ATL")]


def test_risky_supplier_under_threshold_adds_nothing(sample_policy, company):
    """The same supplier for $1,400 adds no supplier-risk stage."""
    plan = plan_for(
        sample_policy,
        company,
        requester="tasha.reed",
        site="ATL",
        cost_center="ATL-OPS",
        supplier="acme-pallets",
        lines=[{"description": "pallets", "sku": "PKG-PAL-4840", "quantity": 100, "unit_price": 14}],
    )
    assert plan.overlays == ()


# --- each resolver ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "approver,expected",
    [
        ({"manager": 1}, lambda d: [d.person("jake.miller").manager]),
        ({"manager": 2}, lambda d: [d.manager_chain("jake.miller")[1]]),
        ({"role": "warehouse_manager"}, lambda d: [p.id for p in d.people_with_role("warehouse_manager", "DAL")]),
        ({"budget_owner": True}, lambda d: [d.cost_center_by_code["DAL-OPS"].owner]),
        ({"category_manager": True}, lambda d: [d.category_by_code["packaging"].manager]),
        ({"person": "priya.nair"}, lambda d: ["priya.nair"]),
        ({"group": "buyers"}, lambda d: list(d.group_by_id["buyers"].members)),
    ],
    ids=["manager", "manager-2", "role-at-site", "budget-owner", "category-manager", "person", "group"],
)
def test_each_resolver_names_the_right_people(company, approver, expected):
    """Each way of naming an approver resolves to the people the directory says, for a Dallas packaging order."""
    policy = small_policy([one_stage(approver, check_limits=False, mode="all")])
    plan = plan_for(policy, company)
    assert sorted(plan.approvers[0]) == sorted(expected(company))
    assert all(step.resolved_via == next(iter(approver)) for step in plan.stages[0].steps)


def test_role_is_resolved_at_the_requests_site(company):
    """The warehouse manager for a Chicago order is Chicago's, not Dallas's."""
    policy = small_policy([one_stage({"role": "warehouse_manager"}, check_limits=False)])
    plan = plan_for(policy, company, requester="luis.garcia", site="CHI", cost_center="CHI-OPS")
    assert plan.approvers == [[p.id for p in company.people_with_role("warehouse_manager", "CHI")]]


def test_role_nobody_holds_at_the_site_stops_with_a_reason(company):
    """A step nobody can take stops the request and says which stage and why."""
    policy = small_policy([one_stage({"role": "shift_supervisor"})])
    plan = plan_for(policy, company, requester="luis.garcia", site="CHI", cost_center="CHI-OPS")
    assert plan.outcome == "stop" and "Only" in plan.stop_reason and "shift supervisor" in plan.stop_reason


# --- approval limits ---------------------------------------------------------------------------------


def test_approval_limit_escalates_upward_with_a_note(company):
    """Zoe's $2,500 limit is below a $3,200 order, so it goes to her manager and the note says so."""
    policy = small_policy([one_stage({"manager": 1})])
    plan = plan_for(policy, company, lines=[{**WRAP[0], "quantity": 100}])  # $3,200
    zoe = company.person("zoe.martin")
    assert zoe.approval_limit < Decimal(3200)
    assert plan.approvers == [[zoe.manager]]
    assert any("approval limit" in n and zoe.name in n for n in plan.notes)
    assert "approval limit" in plan.stages[0].steps[0].explanation


@pytest.mark.parametrize(
    "settings_, stage",
    [({"approval_limits": "ignore"}, {}), ({}, {"check_limits": False})],
    ids=["policy-ignores-limits", "stage-skips-limits"],
)
def test_limits_can_be_switched_off(company, settings_, stage):
    """With limits ignored (policy-wide or for the stage) Zoe gets the $3,200 order herself."""
    policy = small_policy([one_stage({"manager": 1}, **stage)], settings=settings_)
    plan = plan_for(policy, company, lines=[{**WRAP[0], "quantity": 100}])
    assert plan.approvers == [["zoe.martin"]] and plan.notes == ()


# --- segregation of duties -------------------------------------------------------------------------------


def test_requester_never_approves_their_own_request(sample_policy, company):
    """Maria, Dallas's warehouse manager, asks for cartons: the warehouse-manager step goes above her."""
    plan = plan_for(
        sample_policy,
        company,
        requester="maria.lopez",
        lines=[{"description": "cartons", "sku": "PKG-BOX-2012", "quantity": 200, "unit_price": 48}],
    )
    assert "maria.lopez" not in [a for stage in plan.approvers for a in stage]
    assert any("Maria Lopez is the requester" in n for n in plan.notes)


def test_one_person_is_not_on_two_stages(sample_policy, company):
    """James would be on both stages of Maria's request, so the second goes to the next eligible person, explained."""
    plan = plan_for(
        sample_policy,
        company,
        requester="maria.lopez",
        lines=[{"description": "cartons", "sku": "PKG-BOX-2012", "quantity": 200, "unit_price": 48}],
    )
    flat = [a for stage in plan.approvers for a in stage]
    assert len(flat) == len(set(flat))
    second = plan.stages[1].steps[0]
    assert second.approver == company.manager_chain("james.carter")[0]
    assert "already approves an earlier stage" in second.explanation


def test_same_person_on_two_stages_is_allowed_when_policy_says_so(company):
    """With same_approver_across_stages: true, Priya can approve both stages."""
    rule = {
        "id": "two",
        "stages": [
            {"name": "A", "approvers": [{"person": "priya.nair"}]},
            {"name": "B", "approvers": [{"person": "priya.nair"}]},
        ],
    }
    allowed = small_policy([rule], settings={"same_approver_across_stages": True})
    assert plan_for(allowed, company).approvers == [["priya.nair"], ["priya.nair"]]
    refused = small_policy([rule])
    assert plan_for(refused, company).approvers == [["priya.nair"], [company.person("priya.nair").manager]]


# --- delegation ---------------------------------------------------------------------------------------------


def test_delegate_receives_the_step(company):
    """Zoe is out and Maria covers: the step stays Zoe's but Maria receives it, and the note says so."""
    policy = small_policy([one_stage({"manager": 1})])
    plan = plan_for(policy, company, delegations=(window("zoe.martin", "frank.novak"),))
    step = plan.stages[0].steps[0]
    assert (step.approver, step.acting) == ("zoe.martin", "frank.novak")
    assert any("delegated to Frank Novak" in n for n in plan.notes)


def test_delegation_outside_its_window_is_ignored(company):
    """A delegation that ended yesterday changes nothing."""
    policy = small_policy([one_stage({"manager": 1})])
    past = DelegationWindow("zoe.martin", "frank.novak", AT - timedelta(days=5), AT - timedelta(days=1))
    assert plan_for(policy, company, delegations=(past,)).stages[0].steps[0].acting == "zoe.martin"


def test_delegate_who_is_the_requester_is_refused(company):
    """Zoe delegated to Jake, but Jake is asking: it stays with Zoe and the note explains."""
    policy = small_policy([one_stage({"manager": 1})])
    plan = plan_for(policy, company, delegations=(window("zoe.martin", "jake.miller"),))
    assert plan.stages[0].steps[0].acting == "zoe.martin"
    assert any("requester" in n for n in plan.notes)


def test_delegation_loop_is_cut(company):
    """Zoe -> Frank -> Zoe is a loop: the step lands on the last person before the loop, noted."""
    policy = small_policy([one_stage({"manager": 1})])
    plan = plan_for(
        policy, company, delegations=(window("zoe.martin", "frank.novak"), window("frank.novak", "zoe.martin"))
    )
    assert plan.stages[0].steps[0].acting == "frank.novak"
    assert any("loop" in n for n in plan.notes)


# --- currency ------------------------------------------------------------------------------------------------


def test_euro_request_is_converted_before_routing(sample_policy, company):
    """A conveyor priced at EUR 8,000 routes as $8,640 (the policy rate), so it is Dallas MRO over $5,000."""
    facts = facts_for(
        sample_policy,
        company,
        supplier="euro-conveyor",
        currency="EUR",
        cost_center="DAL-MAINT",
        lines=[{"description": "conveyor", "quantity": 2, "unit_price": 4000}],
    )
    rate = sample_policy.spec.rates["EUR"]
    assert facts["amount"] == (Decimal(8000) * rate).quantize(Decimal("0.01"))
    assert facts["amount_original"] == Decimal(8000) and facts["currency"] == "EUR"
    assert route(facts, sample_policy, company, (), AT).rule_id == "mro-dal-large"


# --- properties ---------------------------------------------------------------------------------------------


def _requests(directory):
    sites = [s.code for s in directory.sites]
    suppliers = [s.id for s in directory.suppliers]
    people = [p.id for p in directory.people]

    @st.composite
    def build(draw):
        site = draw(st.sampled_from(sites))
        ccs = [c.code for c in directory.cost_centers if c.site in (None, site)]
        return {
            "requester": draw(st.sampled_from(people)),
            "site": site,
            "cost_center": draw(st.sampled_from(ccs)),
            "supplier": draw(st.sampled_from(suppliers)),
            "urgency": draw(st.sampled_from(["standard", "urgent", "emergency"])),
            "lines": [
                {
                    "description": "item",
                    "quantity": draw(st.integers(1, 500)),
                    "unit_price": str(draw(st.decimals(min_value=Decimal("0.5"), max_value=Decimal(3000), places=2))),
                }
            ],
        }

    return build()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_same_request_same_plan_and_never_the_requester(sample_policy, company, data):
    """Any request routes to the same plan twice, and the requester is never an approver or acting for one."""
    request = data.draw(_requests(company))
    delegations = tuple(
        data.draw(
            st.lists(
                st.builds(
                    window,
                    st.sampled_from([p.id for p in company.people]),
                    st.sampled_from([p.id for p in company.people]),
                ),
                max_size=3,
            )
        )
    )
    first = plan_for(sample_policy, company, delegations=delegations, **request)
    second = plan_for(sample_policy, company, delegations=delegations, **request)
    assert first == second and first.to_dict() == second.to_dict()
    for stage in first.stages:
        for step in stage.steps:
            assert request["requester"] not in (step.approver, step.acting)


def test_group_member_left_out_is_explained(company, sample_policy):
    """Ten laptops: the AP analyst's limit is too low, so finance is the controller alone and the plan says why."""
    from approvals.policy.routing import route
    from approvals.requisition import RequisitionDraft, build_facts

    draft = RequisitionDraft.model_validate(
        {
            "requester": "luis.garcia",
            "site": "CHI",
            "cost_center": "CORP-IT",
            "supplier": "cdw",
            "lines": [{"description": "Laptops", "sku": "IT-LAP-14", "quantity": 10, "unit_price": 1400}],
        }
    )
    plan = route(build_facts(draft, company, sample_policy), sample_policy, company, (), AT)
    assert [s.approver for s in plan.stages[1].steps] == ["priya.nair"]
    assert "so they are left out of 'Finance'" in plan.stages[1].notes[0]


def test_quorum_that_cannot_be_met_stops_with_reason(company, sample_policy):
    """The COO requests $120,000 of forklifts: too few executives remain for the quorum, so it stops and says why."""
    from approvals.policy.routing import route
    from approvals.requisition import RequisitionDraft, build_facts

    draft = RequisitionDraft.model_validate(
        {
            "requester": "marcus.bell",
            "site": "DAL",
            "cost_center": "DAL-OPS",
            "supplier": "grainger",
            "lines": [{"description": "Electric forklift", "sku": "CAP-FLT-5K", "quantity": 4, "unit_price": 30000}],
        }
    )
    plan = route(build_facts(draft, company, sample_policy), sample_policy, company, (), AT)
    assert plan.outcome == "stop"
    assert "Executive committee" in plan.stop_reason and "quorum 2" in plan.stop_reason


# --- explanations: money, amount, branches -----------------------------------------------------


def test_money_shows_a_negative_amount_with_the_sign_first():
    """A budget $400 short reads '-$400', not '$-400'."""
    from approvals.policy.routing import money

    assert money(Decimal(-400), "USD") == "-$400" and money(Decimal("1280.5"), "USD") == "$1,280.50"


def test_a_euro_request_is_explained_in_euros_and_dollars(sample_policy, company):
    """EUR 4,200 from EuroConveyor: the plan shows 'EUR 4,200 ($4,536)' and {amount_original} is in euros."""
    from approvals.policy.routing import render_template

    plan = plan_for(
        sample_policy,
        company,
        supplier="euro-conveyor",
        currency="EUR",
        cost_center="DAL-MAINT",
        lines=[{"description": "conveyor rollers", "quantity": 1, "unit_price": 4200}],
    )
    assert plan.amount == "EUR 4,200 ($4,536)" and "(EUR 4,200 ($4,536))" in plan.explanation
    facts = facts_for(
        sample_policy,
        company,
        supplier="euro-conveyor",
        currency="EUR",
        cost_center="DAL-MAINT",
        lines=[{"description": "conveyor rollers", "quantity": 1, "unit_price": 4200}],
    )
    assert render_template("{amount_original}", facts, "USD") == "EUR 4,200"


def test_every_plan_carries_the_amount_even_when_the_rule_text_does_not(sample_policy, company):
    """'Up to $5,000' does not say how much: the plan adds '($1,280)' and keeps it in `amount`."""
    plan = plan_for(sample_policy, company)
    assert plan.amount == "$1,280" and plan.explanation.startswith("Up to $5,000 ($1,280) ->")
    stopped = plan_for(sample_policy, company, supplier="shady-surplus")
    assert stopped.amount == "$1,280"


def test_the_explanation_says_which_branch_of_an_any_held_and_names_the_overlay(sample_policy, company):
    """The risky-supplier overlay holds through 'no contract', and the top line says so and names it."""
    plan = plan_for(
        sample_policy,
        company,
        supplier="euro-conveyor",
        currency="EUR",
        cost_center="DAL-MAINT",
        lines=[{"description": "conveyor rollers", "quantity": 1, "unit_price": 4200}],
    )
    assert "with overlay risky-supplier (because contract_status in {expired, none})" in plan.explanation


def test_a_plan_is_a_frozen_value_with_every_field_set(sample_policy, company):
    """A routed plan, its stages and steps cannot be changed after routing, and hold every field with its default."""
    import dataclasses

    plan = plan_for(sample_policy, company)
    stage = plan.stages[0]
    for value in (plan, stage, stage.steps[0]):
        assert set(vars(value)) == {f.name for f in dataclasses.fields(value)}
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.explanation = "changed"  # type: ignore[misc]
    assert stage.informed == () and stage.steps[0].provisional is None and plan.stop_reason is None
    assert dataclasses.replace(plan, amount="x") == dataclasses.replace(plan, amount="x") != plan


def test_a_not_of_an_equality_is_decided_by_the_rule_index_as_a_scan_would(company):
    """'not an active contract' holds for expired, none and a missing status; 'not over $5,000' holds with no amount."""
    policy = small_policy(
        [
            {"id": "no-contract", "when": {"not": {"contract_status": "active"}}, "auto_approve": True},
            {"id": "not-big", "when": {"not": {"amount": {"gt": 5000}}}, "auto_approve": True},
            {"id": "rest", "auto_approve": True},
        ]
    )
    index = rule_index(policy)
    facts = facts_for(policy, company)
    seen = {}
    for status in ("active", "expired", "none", None, "missing"):
        for amount in (Decimal(100), Decimal(9000), None):
            probe = {**facts, "contract_status": status, "amount": amount}
            if status == "missing":
                del probe["contract_status"]
            scan = next(r.id for r in policy.rules if r.matches(probe))
            assert index.first_match(probe).id == scan  # type: ignore[union-attr]
            seen[status, amount] = scan
    assert seen["active", Decimal(9000)] == "rest" and seen["active", None] == "not-big"
    assert seen["missing", Decimal(9000)] == seen[None, None] == seen["expired", Decimal(100)] == "no-contract"
    active = {**facts, "contract_status": "active", "amount": Decimal(9000)}
    assert [r.id for r in index.candidates(active)] == ["not-big", "rest"]  # the index alone leaves no-contract out
