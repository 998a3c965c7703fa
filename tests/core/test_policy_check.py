"""`policy check`: each kind of defect is found, located and explained; the sample policy is clean."""

from __future__ import annotations

import pytest
import yaml
from policy_fixtures import AT, COMPANY_FILE, POLICIES, facts_for, line_of, one_stage, small_policy

from approvals.directory import Directory
from approvals.errors import PolicyIssue
from approvals.policy import load_policy_text
from approvals.policy.checker import check_policy, check_policy_file, exit_code
from approvals.policy.routing import route


def _only(issues: list[PolicyIssue], kind: str) -> list[PolicyIssue]:
    return [i for i in issues if i.kind == kind]


def test_sample_policy_is_clean(sample_policy, company):
    """The Lone Star policy as shipped has no errors and no warnings."""
    issues = check_policy(sample_policy, company)
    assert issues == [], "\n".join(i.render() for i in issues)
    assert exit_code(issues) == 0


def test_clean_minimal_fixture_is_clean(company):
    """The baseline the broken fixtures are made from checks clean, so each defect is the only one."""
    _, issues = check_policy_file(POLICIES / "clean_minimal.yaml", company)
    assert issues == []


# (fixture, kind, severity, a text on the line the finding must point at)
DEFECTS = [
    ("bad_yaml.yaml", "yaml", "error", "rules:"),
    ("schema_error.yaml", "schema", "error", "mode: sometimes"),
    ("unknown_role.yaml", "unknown_reference", "error", "regional_director"),
    ("unknown_person.yaml", "unknown_reference", "error", "bob.smith"),
    ("unknown_site.yaml", "unknown_reference", "error", "XYZ"),
    ("shadowed_rule.yaml", "shadowed", "error", "id: mro-medium"),
    ("amount_gap.yaml", "gap", "warning", "rules:"),
    ("escalation_cycle.yaml", "escalation_cycle", "error", "warehouse_manager: regional_ops_director"),
    ("resolves_to_nobody.yaml", "unresolvable", "error", "role: shift_supervisor"),
    ("unsatisfiable.yaml", "unsatisfiable", "warning", "when: {amount: {gt: 5000, lt: 1000}}"),
]


@pytest.mark.parametrize("fixture,kind,severity,marker", DEFECTS, ids=[d[0] for d in DEFECTS])
def test_each_defect_is_found_at_its_line(company, fixture, kind, severity, marker):
    """A policy with one deliberate defect gets exactly that finding, at the right file:line, with a hint."""
    path = POLICIES / fixture
    _, issues = check_policy_file(path, company)
    assert [i.kind for i in issues] == [kind], "\n".join(i.render() for i in issues)
    issue = issues[0]
    assert issue.severity == severity
    assert issue.file == str(path)
    assert issue.line == line_of(path, marker)
    assert issue.hint
    assert exit_code(issues) == (2 if severity == "error" else 1)
    assert f"{path}:{issue.line}: {severity}: [{kind}]" in issue.render()


def test_unknown_role_suggests_the_right_spelling(company):
    """A misspelt role is named and the hint offers the role the directory has."""
    _, issues = check_policy_file(POLICIES / "unknown_role.yaml", company)
    assert "regional_director" in issues[0].message
    assert "regional_ops_director" in issues[0].hint


def test_unknown_site_names_the_site(company):
    """`site: [DAL, XYZ]` reports XYZ, not DAL."""
    _, issues = check_policy_file(POLICIES / "unknown_site.yaml", company)
    assert "`XYZ`" in issues[0].message and "DAL" not in issues[0].message


def test_shadow_names_the_earlier_rule_and_is_real(company):
    """The shadowed rule names the rule that hides it, and routing indeed never picks the hidden rule."""
    path = POLICIES / "shadowed_rule.yaml"
    policy, issues = check_policy_file(path, company)
    assert "standard-small" in issues[0].message
    assert f"line {line_of(path, 'id: standard-small')}" in issues[0].message
    for amount in (1001, 1800, 2500):
        facts = facts_for(
            policy,
            company,
            category="mro",
            lines=[{"description": "parts", "quantity": 1, "unit_price": amount, "category": "mro"}],
        )
        assert route(facts, policy, company, (), AT).rule_id == "standard-small"


def test_gap_is_reported_as_a_readable_range_and_is_real(company):
    """The gap names packaging over $25,000 at every site, and such a request indeed matches no rule."""
    policy, issues = check_policy_file(POLICIES / "amount_gap.yaml", company)
    message = issues[0].message
    assert "packaging" in message and "(25000, +inf)" in message and "any site" in message
    facts = facts_for(
        policy, company, lines=[{"description": "cartons", "sku": "PKG-BOX-2012", "quantity": 600, "unit_price": 48}]
    )
    plan = route(facts, policy, company, (), AT)
    assert plan.outcome == "stop" and plan.rule_id is None


def test_unresolvable_role_names_the_empty_sites_and_routing_agrees(company):
    """A role held only at Dallas, used everywhere: the finding lists the other five sites, and Chicago stops."""
    policy, issues = check_policy_file(POLICIES / "resolves_to_nobody.yaml", company)
    named = issues[0].message.split(" at ")[-1].split(", ")
    empty = [s.code for s in company.sites if not company.people_with_role("shift_supervisor", s.code)]
    assert sorted(named) == sorted(empty) and "DAL" not in named
    facts = facts_for(
        policy,
        company,
        requester="luis.garcia",
        site="CHI",
        cost_center="CHI-OPS",
        lines=[{"description": "cartons", "sku": "PKG-BOX-2012", "quantity": 200, "unit_price": 48}],
    )
    assert route(facts, policy, company, (), AT).outcome == "stop"


def test_escalation_cycle_names_the_loop(company):
    """warehouse_manager -> regional_ops_director -> warehouse_manager is reported as a loop."""
    _, issues = check_policy_file(POLICIES / "escalation_cycle.yaml", company)
    assert "warehouse_manager -> regional_ops_director -> warehouse_manager" in issues[0].message


def test_schema_error_keeps_the_loader_message(company):
    """A schema error from loading comes back as a finding, not an exception."""
    policy, issues = check_policy_file(POLICIES / "schema_error.yaml", company)
    assert policy is None
    assert "rules[0].stages[0].mode" in issues[0].message


# --- reasoning: no false shadows, union shadows --------------------------------------------------


def _kinds(policy, company) -> list[str]:
    return [i.kind for i in check_policy(policy, company)]


def test_a_wider_later_rule_is_not_shadowed(company):
    """An earlier MRO-only rule does not hide a later rule for all categories."""
    policy = small_policy(
        [
            {"id": "mro", "when": {"category": "mro", "amount": {"lte": 5000}}, "auto_approve": True},
            {"id": "small", "when": {"amount": {"lte": 2500}}, "auto_approve": True},
            {"id": "rest", "auto_approve": True},
        ]
    )
    assert "shadowed" not in _kinds(policy, company)


def test_an_any_rule_never_shadows(company):
    """An earlier rule with `any:` is not used to claim a shadow, even when it would cover the later one."""
    policy = small_policy(
        [
            {
                "id": "either",
                "when": {"any": [{"amount": {"lte": 5000}}, {"amount": {"gt": 5000}}]},
                "auto_approve": True,
            },
            {"id": "rest", "auto_approve": True},
        ]
    )
    assert "shadowed" not in _kinds(policy, company)


def test_two_earlier_rules_together_shadow_a_catch_all(company):
    """Up to $5,000 and over $5,000 together leave nothing for a later catch-all rule."""
    policy = small_policy(
        [
            {"id": "low", "when": {"amount": {"lte": 5000}}, "auto_approve": True},
            {"id": "high", "when": {"amount": {"gt": 5000}}, "auto_approve": True},
            {"id": "rest", "auto_approve": True},
        ]
    )
    shadows = _only(check_policy(policy, company), "shadowed")
    assert len(shadows) == 1 and "rest" in shadows[0].message
    assert "low" in shadows[0].message and "high" in shadows[0].message


def test_all_sites_listed_explicitly_shadows_via_directory_values(company):
    """Naming every site of the company is the same as naming none, so a later rule is hidden."""
    every_site = [s.code for s in company.sites]
    policy = small_policy(
        [
            {"id": "everywhere", "when": {"site": every_site}, "auto_approve": True},
            {"id": "dallas", "when": {"site": "DAL", "amount": {"gt": 100}}, "auto_approve": True},
        ]
    )
    assert _kinds(policy, company) == ["shadowed"]


def test_region_implied_by_site_shadows(company):
    """A rule for the central region hides a later Dallas rule, because Dallas is in central."""
    policy = small_policy(
        [
            {"id": "central", "when": {"region": "central"}, "auto_approve": True},
            {"id": "dallas", "when": {"site": "DAL"}, "auto_approve": True},
            {"id": "rest", "auto_approve": True},
        ]
    )
    assert [i.message.split()[1] for i in _only(check_policy(policy, company), "shadowed")] == ["dallas"]


def test_a_stop_shadows_a_rule_that_only_matches_stopped_requests(company):
    """A rule for blocked suppliers can never run because the blocked-supplier stop comes first."""
    text = yaml.safe_dump(
        {
            "policy": {"id": "t", "version": "1", "currency": "USD"},
            "rates": {"EUR": 1.08},
            "stops": [{"id": "blocked", "when": {"supplier.blocked": True}, "reason": "blocked"}],
            "rules": [
                {"id": "blocked-review", "when": {"supplier.blocked": True}, "auto_approve": True},
                {"id": "rest", "auto_approve": True},
            ],
        },
        sort_keys=False,
    )
    issues = check_policy(load_policy_text(text), company)
    assert [i.kind for i in issues] == ["shadowed"] and "stop blocked" in issues[0].message


# --- more defects -------------------------------------------------------------------------------


def test_escalating_to_the_stage_only_approver_is_a_cycle(company):
    """A stage that escalates from Priya to Priya goes nowhere."""
    policy = small_policy([one_stage({"person": "priya.nair"}, escalate_to={"person": "priya.nair"})])
    issues = _only(check_policy(policy, company), "escalation_cycle")
    assert len(issues) == 1 and "priya.nair" in issues[0].message


def test_next_level_from_a_role_mapped_to_itself_is_a_cycle(company):
    """escalations: {warehouse_manager: warehouse_manager} with next_level is reported."""
    policy = small_policy(
        [one_stage({"role": "warehouse_manager"}, escalate_to={"next_level": True})],
        escalations={"warehouse_manager": "warehouse_manager"},
    )
    assert "escalation_cycle" in _kinds(policy, company)


def test_manager_loop_in_directory_is_reported_when_policy_follows_managers(company):
    """If the CEO 'reports to' a technician, a policy using manager resolvers gets an escalation_cycle error."""
    data = yaml.safe_load(COMPANY_FILE.read_text())
    for person in data["people"]:
        if person["id"] == "catherine.moss":
            person["manager"] = "jake.miller"
    looped = Directory.model_validate(data)
    _, issues = check_policy_file(POLICIES / "clean_minimal.yaml", looped)
    cycles = _only(issues, "escalation_cycle")
    assert cycles and "catherine.moss" in cycles[0].message
    # a policy without manager resolvers is not affected by the directory loop
    no_managers = small_policy([one_stage({"role": "finance_controller"})])
    assert "escalation_cycle" not in _kinds(no_managers, looped)


def test_quorum_larger_than_group_is_an_error(company):
    """Asking for 3 approvals from the 2-person finance team can never complete."""
    policy = small_policy([one_stage({"group": "finance_team"}, mode="quorum", quorum=3)])
    issues = _only(check_policy(policy, company), "unresolvable")
    assert issues and issues[0].severity == "error" and "quorum 3" in issues[0].message


def test_manager_levels_beyond_the_chain_warn_with_the_people(company):
    """`manager: 3` warns, naming people with fewer than 3 managers above them; the CEO is exempt."""
    policy = small_policy([one_stage({"manager": 3})])
    issues = _only(check_policy(policy, company), "unresolvable")
    assert len(issues) == 1 and issues[0].severity == "warning"
    short = [p.id for p in company.people if p.manager and len(company.manager_chain(p.id)) < 3]
    assert short and all(pid in issues[0].message for pid in short[:5])
    assert "catherine.moss" not in issues[0].message


def test_unknown_group_owner_and_currency_are_errors(company):
    """An unknown group, an unknown policy owner and a currency without a rate are each reported."""
    text = yaml.safe_dump(
        {
            "policy": {"id": "t", "version": "1", "currency": "USD", "owner": "nobody.here"},
            "rules": [
                {"id": "yen", "when": {"currency": "JPY"}, "auto_approve": True},
                one_stage({"group": "purchasing_council"}),
            ],
        },
        sort_keys=False,
    )
    messages = [i.message for i in check_policy(load_policy_text(text), company) if i.kind == "unknown_reference"]
    assert any("nobody.here" in m for m in messages)
    assert any("JPY" in m for m in messages)
    assert any("purchasing_council" in m for m in messages)


def test_unknown_role_in_escalations_map_is_an_error(company):
    """A role in the escalations map that nobody holds is reported at that line."""
    policy = small_policy([one_stage({"manager": 1})], escalations={"warehouse_manager": "vp_ops"})
    issues = _only(check_policy(policy, company), "unknown_reference")
    assert len(issues) == 1 and "vp_ops" in issues[0].message
    assert issues[0].line == policy.line_of("escalations", "warehouse_manager")


def test_gaps_are_capped_and_summarised(company):
    """A policy with a different small limit per site and category reports a few gaps and a count of the rest."""
    from approvals.policy.checker import MAX_GAPS_REPORTED

    policy = small_policy(
        [
            {
                "id": f"{c.code}-{s.code.lower()}",
                "when": {"category": c.code, "site": s.code, "amount": {"lte": 1000 * (i + 1) + j}},
                "auto_approve": True,
            }
            for i, s in enumerate(company.sites)
            for j, c in enumerate(company.categories[:2])
        ]
    )
    gaps = _only(check_policy(policy, company), "gap")
    assert len(gaps) == MAX_GAPS_REPORTED + 1
    assert "more gaps" in gaps[-1].message


def test_exit_codes_follow_severity():
    """No findings is 0, warnings only is 1, any error is 2."""
    warning = PolicyIssue("warning", "gap", "x")
    error = PolicyIssue("error", "shadowed", "y")
    assert (exit_code([]), exit_code([warning]), exit_code([warning, error])) == (0, 1, 2)


def test_budget_facts_do_not_create_false_gaps(company):
    """Rules split only by amount cover every category and site whatever the budget says."""
    policy = small_policy(
        [
            {"id": "low", "when": {"amount": {"lte": 5000}, "budget.over": [True, False]}, "auto_approve": True},
            {"id": "high", "when": {"amount": {"gt": 5000}}, "auto_approve": True},
        ]
    )
    assert check_policy(policy, company) == []
