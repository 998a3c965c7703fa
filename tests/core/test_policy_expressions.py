"""Expressions in conditions: facts compared and computed with, checked at load, compiled once."""

from __future__ import annotations

import pytest
from policy_fixtures import facts_for, plan_for, small_policy

from approvals.errors import PolicyInvalid
from approvals.policy import load_policy_text
from approvals.policy.conditions import compile_condition, parse_condition
from approvals.policy.expressions import ExpressionError, compile_expression
from approvals.policy.routing import rule_index


def _stop_when(expr: str, **when: object) -> dict[str, object]:
    return {"id": "too-much", "when": {"expr": expr, **when}, "stop": "over"}


CATCH_ALL = {"id": "rest", "auto_approve": True}


def test_amount_over_120_percent_of_remaining_budget_stops(company):
    """DAL-OPS has $70,000 left: $84,000 is exactly 120% and goes on; $84,000.01 is more and stops."""
    policy = small_policy([_stop_when("amount > 1.2 * budget.remaining"), CATCH_ALL])
    at_limit = plan_for(policy, company, lines=[{"description": "racking", "quantity": 1, "unit_price": 84000}])
    over = plan_for(policy, company, lines=[{"description": "racking", "quantity": 1, "unit_price": "84000.01"}])
    assert (at_limit.rule_id, over.rule_id) == ("rest", "too-much")


def test_amount_over_the_requesters_own_limit(company):
    """Rosa Silva may approve $1,000 herself: a $1,200 request from her is over her own limit."""
    policy = small_policy([_stop_when("amount > requester.limit"), CATCH_ALL])
    rosa = {"requester": "rosa.silva", "site": "PHX", "cost_center": "PHX-OPS"}
    small = plan_for(policy, company, lines=[{"description": "tape", "quantity": 10, "unit_price": 100}], **rosa)
    big = plan_for(policy, company, lines=[{"description": "tape", "quantity": 12, "unit_price": 100}], **rosa)
    assert (small.rule_id, big.rule_id) == ("rest", "too-much")


def test_quantity_over_twice_the_usual_needs_history(company):
    """40 rolls against a usual 12 is more than twice the usual; with no history the expression does not hold."""
    policy = small_policy([_stop_when("quantity > 2 * history.avg_qty"), CATCH_ALL])
    facts = facts_for(policy, company)
    assert rule_index(policy).first_match(facts).id == "rest"  # type: ignore[union-attr]
    facts["history.avg_qty"] = 12
    assert rule_index(policy).first_match(facts).id == "too-much"  # type: ignore[union-attr]
    facts["history.avg_qty"] = 20
    assert rule_index(policy).first_match(facts).id == "rest"  # type: ignore[union-attr]


def test_structured_tests_beside_an_expression_stay_indexed(company):
    """A rule with `category: it` and an expression is never a candidate for an MRO request."""
    policy = small_policy([_stop_when("amount > 0", category="it"), CATCH_ALL])
    index = rule_index(policy)
    facts = facts_for(policy, company)
    assert [r.id for r in index.candidates(facts)] == ["rest"]


@pytest.mark.parametrize(
    "text,problem",
    [
        ("amount > 1.2 * budget.remainig", "unknown fact `budget.remainig`"),
        ("urgency > 'urgent'", "compares numbers"),
        ("urgency == 'emergncy'", "never matches"),
        ("amount + 5", "must be a true/false condition"),
        ("amount > (5000", "missing `)`"),
        ("supplier.contracted and amount", "joins true/false conditions"),
        ("__import__('os')", "unknown fact `__import__`"),
    ],
)
def test_a_wrong_expression_is_refused_at_load_with_its_line(text, problem):
    """An expression that does not parse or type is refused when the policy loads, at its file line."""
    doc = (
        'policy: {id: t, version: "1", currency: USD}\n'
        "rules:\n"
        "  - id: r\n"
        f"    when: {{expr: {text!r}}}\n"
        "    auto_approve: true\n"
    )
    with pytest.raises(PolicyInvalid) as err:
        load_policy_text(doc, "p.yaml")
    issue = err.value.issues[0]
    assert issue.line == 4 and problem in issue.message and "rules[0].when.expr" in issue.message


def test_an_expression_is_compiled_once_and_never_uses_eval():
    """The predicate is built when the condition is parsed; text that looks like Python is refused, not run."""
    node = parse_condition({"expr": "amount >= 10"}, (), [])
    holds = compile_condition(node)
    assert holds({"amount": 10}) and not holds({"amount": 9})
    with pytest.raises(ExpressionError):
        compile_expression("amount.__class__ == 1")


def test_division_by_zero_does_not_hold():
    """An expression that cannot be computed (nothing left to divide by) does not hold rather than crash."""
    expr = compile_expression("amount / budget.remaining > 2")
    assert expr.holds({"amount": 10, "budget.remaining": 0}) is False
