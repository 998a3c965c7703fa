"""Routing keeps a stage it has worked out for requests that agree on everything the stage reads; these tests check
that a kept stage is always the stage routing would work out from scratch."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from policy_fixtures import AT, EXAMPLES, facts_for, small_policy

from approvals.delegation import DelegationWindow
from approvals.policy import load_policy
from approvals.policy.routing import route

# requests that share requesters, sites, cost centers and suppliers, so that kept stages are met again and again
BASES = [
    {"requester": "jake.miller", "site": "DAL", "cost_center": "DAL-OPS", "supplier": "uline"},
    {"requester": "emily.davis", "site": "DAL", "cost_center": "DAL-OPS", "supplier": "uline"},
    {"requester": "jake.miller", "site": "DAL", "cost_center": "DAL-OPS", "supplier": "rapid-repair"},
    {"requester": "zoe.martin", "site": "DAL", "cost_center": "DAL-MAINT", "supplier": "grainger"},
    {"requester": "luis.garcia", "site": "CHI", "cost_center": "CHI-OPS", "supplier": "acme-pallets"},
    {"requester": "rosa.silva", "site": "PHX", "cost_center": "CORP-IT", "supplier": "cdw"},
    {"requester": "maria.lopez", "site": "DAL", "cost_center": "DAL-OPS", "supplier": "rapid-repair"},
    {"requester": "tasha.reed", "site": "ATL", "cost_center": "ATL-OPS", "supplier": "euro-conveyor"},
]


def _amounts(directory):
    """Amounts at, just under and just over every approval limit, where a kept stage could go wrong, and a grid
    between them that crosses the policy's own thresholds (another rule, other earlier stages)."""
    out = {Decimal(1.35**k).quantize(Decimal("0.01")) for k in range(46)}
    for limit in directory.approval_limits:
        out |= {limit, limit + Decimal("0.01"), limit - Decimal("0.01")}
    return sorted(a for a in out if a > 0)


@pytest.mark.parametrize("policy_file", ["policy.yaml", "director-policy.yaml"])
@pytest.mark.parametrize("delegated", [False, True])
def test_a_kept_stage_is_the_stage_worked_out_from_scratch(company, policy_file, delegated):
    """Requests from the same people and places at amounts on every side of every approval limit, in a shuffled
    order and each asked twice, route exactly as if every stage were worked out anew, delegations or not."""
    shared, scratch = load_policy(EXAMPLES / policy_file), load_policy(EXAMPLES / policy_file)
    delegations = (
        (DelegationWindow("maria.lopez", "frank.novak", AT - timedelta(days=1), AT + timedelta(days=1)),)
        if delegated
        else ()
    )
    requests = [
        {**base, "lines": [{"description": "item", "quantity": 1, "unit_price": str(amount)}]}
        for base in BASES
        for amount in _amounts(company)
    ]
    random.Random(7).shuffle(requests)
    compared = 0
    for request in requests + requests:
        facts = facts_for(shared, company, **request)
        kept = route(facts, shared, company, delegations, AT)
        scratch.__dict__.pop("_stage_memo", None)  # nothing kept: every stage worked out as if for the first time
        fresh = route(facts, scratch, company, delegations, AT)
        assert kept.to_dict() == fresh.to_dict(), request
        compared += len(kept.stages)
    assert compared > len(requests)  # most requests of the sweep go through stages, not only stops


def test_a_kept_stage_is_a_copy_its_reader_may_change(company):
    """Two requests that get the same kept stage do not share its dicts: changing one plan's reminders leaves the
    other's as routed."""
    policy = load_policy(EXAMPLES / "policy.yaml")
    request = {
        "requester": "jake.miller",
        "site": "DAL",
        "cost_center": "DAL-OPS",
        "supplier": "uline",
        "lines": [{"description": "stretch wrap", "quantity": 100, "unit_price": 32}],
    }
    first = route(facts_for(policy, company, **request), policy, company, (), AT)
    second = route(facts_for(policy, company, **request), policy, company, (), AT)
    assert first.stages and first.to_dict() == second.to_dict()
    stage_one, stage_two = first.stages[0], second.stages[0]
    assert stage_one.reminders is not None and stage_one.reminders is not stage_two.reminders
    stage_one.reminders["every_hours"] = 999
    assert stage_two.reminders.get("every_hours") != 999


@pytest.mark.parametrize("separation", ["named", "acted"])
def test_a_kept_overlay_stage_follows_who_approves_before_it(company, separation):
    """One overlay stage after two different first stages (chosen by urgency, which the overlay does not read): the
    person who approves first is kept out of the overlay, whichever order the requests come in."""
    rules = [
        {
            "id": "urgent",
            "when": {"urgency": "emergency"},
            "stages": [
                {
                    "name": "First",
                    "mode": "any",
                    "check_limits": False,
                    "approvers": [{"person": "maria.lopez"}, {"person": "ben.turner"}],
                }
            ],
        },
        {
            "id": "other",
            "stages": [
                {
                    "name": "First",
                    "mode": "any",
                    "check_limits": False,
                    "approvers": [{"person": "frank.novak"}, {"person": "ben.turner"}],
                }
            ],
        },
    ]
    overlay = [
        {
            "id": "second-look",
            "when": {"amount": {"gt": 100}},
            "stage": {"name": "Second look", "approvers": [{"person": "maria.lopez"}, {"person": "frank.novak"}]},
        }
    ]
    policy = small_policy(rules, settings={"separation_of_duties": separation}, overlays=overlay)
    scratch = small_policy(rules, settings={"separation_of_duties": separation}, overlays=overlay)
    for urgency in ("emergency", "standard", "emergency", "standard"):
        facts = facts_for(policy, company, urgency=urgency)
        plan = route(facts, policy, company, (), AT)
        scratch.__dict__.pop("_stage_memo", None)
        assert plan.to_dict() == route(facts, scratch, company, (), AT).to_dict(), urgency
        first, second = ([step.approver for step in stage.steps] for stage in plan.stages)
        assert first == (["maria.lopez", "ben.turner"] if urgency == "emergency" else ["frank.novak", "ben.turner"])
        if separation == "named":
            assert not set(first) & set(second)
