"""`policy test`: the policy owner's cases run, pass, fail with a readable diff, and bad files are located."""

from __future__ import annotations

import pytest
import yaml
from policy_fixtures import CASES_FILE, line_of

from approvals.policy.cases import CasesInvalid, run_cases

ONE_CASE = """\
cases:
  - name: Dallas stretch wrap goes to the requester's manager
    request: {requester: jake.miller, site: DAL, cost_center: DAL-OPS, supplier: uline,
              lines: [{description: stretch wrap, sku: PKG-SW-18, quantity: 40, unit_price: 32}]}
    expect: {outcome: approval, rule: RULE, stages: STAGES}
"""


def test_sample_cases_all_pass(sample_policy, company):
    """Every case in examples/policy-cases.yaml passes against the sample policy."""
    report = run_cases(sample_policy, company, CASES_FILE)
    assert report.passed, report.render()
    assert len(report.results) == len(yaml.safe_load(CASES_FILE.read_text())["cases"])


def test_sample_cases_cover_every_stop_rule_and_overlay(sample_policy, company):
    """Between them the sample cases reach every stop, every rule and every overlay of the policy."""
    report = run_cases(sample_policy, company, CASES_FILE)
    reached = {r.plan.rule_id for r in report.results} | {o for r in report.results for o in r.plan.overlays}
    ids = {x.id for x in [*sample_policy.stops, *sample_policy.rules, *sample_policy.overlays]}
    assert ids - reached == set()


def test_sample_cases_include_limit_and_sod_substitutions(sample_policy, company):
    """The sample cases show an approval-limit hand-up and a segregation-of-duties hand-up."""
    notes = [n for r in run_cases(sample_policy, company, CASES_FILE).results for n in r.plan.notes]
    assert any("approval limit" in n for n in notes)
    assert any("is the requester" in n for n in notes)
    assert any("already approves an earlier stage" in n for n in notes)


def test_a_failing_case_shows_expected_and_got_with_the_route(sample_policy, company):
    """A case expecting the wrong approver fails, showing what was expected, what came back and why."""
    text = ONE_CASE.replace("RULE", "standard-small").replace("STAGES", "[[maria.lopez]]")
    report = run_cases(sample_policy, company, text)
    assert not report.passed
    result = report.results[0]
    got = report.results[0].plan.approvers
    rendered = report.render()
    assert "FAIL" in rendered and "stages: expected [['maria.lopez']]" in rendered
    assert f"got {got}" in rendered
    assert result.plan.explanation in rendered
    assert report.summary() == "0 passed, 1 failed"


def test_the_matching_case_passes(sample_policy, company):
    """The same case with the route the policy really gives passes."""
    probe = run_cases(sample_policy, company, ONE_CASE.replace("RULE", "standard-small").replace("STAGES", "[]"))
    actual = probe.results[0].plan.approvers
    text = ONE_CASE.replace("RULE", "standard-small").replace("STAGES", str(actual))
    assert run_cases(sample_policy, company, text).passed


def test_wrong_rule_is_a_difference(sample_policy, company):
    """Expecting the wrong rule is reported on the `rule` line of the diff."""
    text = ONE_CASE.replace("RULE", "standard-medium").replace(", stages: STAGES", "")
    result = run_cases(sample_policy, company, text).results[0]
    assert [d.what for d in result.differences] == ["rule"]
    assert (result.differences[0].expected, result.differences[0].got) == ("standard-medium", "standard-small")


def test_unknown_key_in_a_case_is_located(sample_policy, company, tmp_path):
    """A misspelt key in the cases file is refused with its file:line before any case runs."""
    path = tmp_path / "cases.yaml"
    path.write_text(ONE_CASE.replace("RULE", "standard-small").replace("STAGES", "[]") + "    expected_by: tomorrow\n")
    with pytest.raises(CasesInvalid) as caught:
        run_cases(sample_policy, company, path)
    issue = caught.value.issues[0]
    assert issue.file == str(path) and issue.line == line_of(path, "expected_by")
    assert "expected_by" in issue.message


def test_bad_request_field_in_a_case_is_located(sample_policy, company):
    """A negative quantity in a case's request is refused at that line."""
    text = ONE_CASE.replace("quantity: 40", "quantity: -4").replace("RULE", "standard-small").replace("STAGES", "[]")
    with pytest.raises(CasesInvalid) as caught:
        run_cases(sample_policy, company, text)
    assert caught.value.issues[0].line == 4 and "quantity" in caught.value.issues[0].message


def test_case_naming_a_rule_the_policy_lacks_is_refused(sample_policy, company):
    """Expecting a rule id that is not in the policy is a file error, not a silent failure."""
    with pytest.raises(CasesInvalid) as caught:
        run_cases(sample_policy, company, ONE_CASE.replace("RULE", "no-such-rule").replace("STAGES", "[]"))
    assert "no-such-rule" in caught.value.issues[0].message and caught.value.issues[0].line == 5


def test_invalid_yaml_is_located(sample_policy, company):
    """A cases file that is not YAML is refused with a line."""
    with pytest.raises(CasesInvalid) as caught:
        run_cases(sample_policy, company, "cases:\n  - name: [unclosed\n    expect: {}\n")
    assert caught.value.issues[0].kind == "yaml" and caught.value.issues[0].line


def test_request_the_directory_refuses_fails_the_case(sample_policy, company):
    """A case whose request names an unknown catalog item fails and says why, instead of routing."""
    text = ONE_CASE.replace("PKG-SW-18", "PKG-NOPE").replace("RULE", "standard-small").replace("STAGES", "[]")
    result = run_cases(sample_policy, company, text).results[0]
    assert not result.passed and result.plan is None
    assert any("PKG-NOPE" in r for r in result.refused)


def test_stop_case_with_reason(sample_policy, company):
    """A stop case matches on the reason text; a wrong reason is a difference."""
    text = """\
cases:
  - name: blocked supplier
    request: {requester: jake.miller, site: DAL, cost_center: DAL-OPS, supplier: shady-surplus,
              lines: [{description: pallets, quantity: 5, unit_price: 10, category: packaging}]}
    expect: {outcome: stop, reason_contains: REASON}
"""
    assert run_cases(sample_policy, company, text.replace("REASON", "compliance audit")).passed
    wrong = run_cases(sample_policy, company, text.replace("REASON", "out of stock")).results[0]
    assert [d.what for d in wrong.differences] == ["reason contains"]


SHAPE_CASE = """\
cases:
  - name: a large Dallas IT order
    request: {requester: jake.miller, site: DAL, cost_center: DAL-OPS, supplier: uline, urgency: emergency,
              lines: [{description: rugged tablets, category: it_hardware, quantity: 4, unit_price: 2000}]}
    expect:
      rule: it-large
      EXPECT
"""


def _shape(sample_policy, company, expect: str):
    text = SHAPE_CASE.replace("EXPECT", expect)
    return run_cases(sample_policy, company, text).results[0]


def test_a_case_asserts_mode_required_count_and_sla_per_stage(sample_policy, company):
    """IT over $5,000: IT review then Finance, each any-of, one approval, 24 hours; all three assertions pass."""
    result = _shape(sample_policy, company, "modes: [any, any]\n      required: [1, 1]\n      sla_hours: [24, 24]")
    assert result.passed, result.render()


@pytest.mark.parametrize(
    "expect,named",
    [
        ("modes: [any, all]", "stage modes"),
        ("required: [1, 2]", "required approvals per stage"),
        ("sla_hours: [24, 4]", "SLA hours per stage"),
        ("reminders: [{every_hours: 1}, {every_hours: 8}]", "reminders per stage"),
        ("informed: [david.okafor]", "informed"),
        ("stop_reason: blocked", "stop reason"),
        ("explanation_contains: [IT hardware, Procurement]", "explanation contains"),
        ("service_level: emergency", "service level"),
    ],
)
def test_a_wrong_shape_fails_and_says_which_assertion(sample_policy, company, expect, named):
    """A case whose stage shape, reminders, informed people or stop reason differ fails and names that assertion."""
    result = _shape(sample_policy, company, expect)
    assert not result.passed
    assert f"failed: {named}: expected" in result.render()


def test_a_case_asserts_reminders_and_informed_people(company):
    """A policy with an emergency service level and an informed director: the case checks both and passes."""
    from policy_fixtures import small_policy

    policy = small_policy(
        [
            {
                "id": "all",
                "stages": [{"name": "Manager", "approvers": [{"manager": 1}]}],
                "informed": [{"role": "regional_ops_director"}],
            }
        ],
        service_levels=[
            {"id": "emergency", "when": {"urgency": "emergency"}, "sla_hours": 4, "reminders": {"every_hours": 1}}
        ],
    )
    text = SHAPE_CASE.replace("rule: it-large", "rule: all").replace(
        "EXPECT",
        "sla_hours: [4]\n      reminders: [{every_hours: 1, first_after_hours: 4}]\n"
        "      informed: [[james.carter]]\n      service_level: emergency",
    )
    result = run_cases(policy, company, text).results[0]
    assert result.passed, result.render()


def test_the_directors_example_checks_clean_and_its_cases_pass(company):
    """examples/director-policy.yaml (expressions, nested groups, informed people, service levels, a risk overlay
    on touchless requests) has no findings, and every scenario in its cases file routes as the director expects."""
    from policy_fixtures import EXAMPLES

    from approvals.policy import load_policy
    from approvals.policy.checker import check_policy

    policy = load_policy(EXAMPLES / "director-policy.yaml")
    assert check_policy(policy, company) == []
    report = run_cases(policy, company, EXAMPLES / "director-policy-cases.yaml")
    assert report.passed and len(report.results) == 9, report.render()
