"""Translate a compiled policy's decision (stops, then rules, first hit) into a GoRules JDM graph.

The graph is inputNode -> one decisionTableNode (hitPolicy "first") -> outputNode; the table's
single output `id` is the id of the stop or rule that decides, and no row matching yields `{}`.

Columns: every fact tested by a plain conjunctive test gets an input column whose cells use
zen's unary syntax against `$` (e.g. `"mro"`, `"DAL", "CHI"`, `> 5000`, `[0..1000]`). Whatever
is left (`any`, `not`) goes into one expression column without a field, written as a full ZEN
expression over the input. Fact names are flattened (`budget.over` -> `budget_over`) because a
dotted field would be read by zen as a nested path.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Iterable

from approvals.policy.conditions import All, Node, Not, Test, split_conjunction
from approvals.policy.expressions import Expr
from approvals.policy.facts import MULTI_VALUED
from approvals.policy.loader import CompiledRule, LoadedPolicy

EXPR_COLUMN = "expr"
OUTPUT_COLUMN = "out_id"


def flat(fact: str) -> str:
    return fact.replace(".", "_")


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))


def _list(values: Iterable[Any]) -> str:
    return "[" + ", ".join(literal(v) for v in sorted(values, key=str)) + "]"


_CMP = {"eq": "==", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def expression(t: Test, subject: str) -> str:
    """A full boolean ZEN expression for one test; `subject` is `$`, `#` or a field name."""
    if t.fact in MULTI_VALUED:
        inner = expression(Test("_", t.op, t.value), "#")
        # a multi-valued fact matches when any value does; negative tests must hold for all
        return f"{'all' if t.op in ('ne', 'not_in') else 'some'}({subject}, {inner})"
    if t.op in _CMP:
        return f"{subject} {_CMP[t.op]} {literal(t.value)}"
    if t.op == "in":
        return f"{subject} in {_list(t.value)}"
    if t.op == "not_in":
        return f"not ({subject} in {_list(t.value)})"
    low, high = t.value
    return f"({subject} >= {literal(low)} and {subject} <= {literal(high)})"


def unary(tests: list[Test]) -> str:
    """One cell for one column: idiomatic unary syntax for a single test, `$`-form otherwise."""
    if len(tests) == 1 and tests[0].fact not in MULTI_VALUED:
        t = tests[0]
        if t.op == "eq":
            return literal(t.value)
        if t.op in _CMP:
            return f"{_CMP[t.op]} {literal(t.value)}"
        if t.op == "in":
            return ", ".join(literal(v) for v in sorted(t.value, key=str))
        if t.op == "not_in":
            return f"not in {_list(t.value)}"
        if t.op == "between":
            return f"[{literal(t.value[0])}..{literal(t.value[1])}]"
    return " and ".join(expression(t, "$") for t in tests)


def full_expression(node: Node) -> str:
    """A condition tree as one ZEN expression over the (flattened) input."""
    if isinstance(node, Test):
        return expression(node, flat(node.fact))
    if isinstance(node, Expr):
        # the policy's expressions are zen's own language: only the fact names are flattened for the input
        names = sorted(node.facts, key=len, reverse=True)
        pattern = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in names) + r")(?![\w.])")
        return "(" + pattern.sub(lambda m: flat(m.group(1)), node.source) + ")" if names else f"({node.source})"
    if isinstance(node, Not):
        return f"not ({full_expression(node.child)})"
    if not node.children:
        return "true"
    joiner = " and " if isinstance(node, All) else " or "
    return "(" + joiner.join(full_expression(c) for c in node.children) + ")"


def decision_rules(policy: LoadedPolicy) -> list[CompiledRule]:
    """The rows in evaluation order: stops first, then rules (overlays are not part of the decision)."""
    return list(policy.stops) + list(policy.rules)


def to_jdm(policy: LoadedPolicy) -> dict[str, Any]:
    """The JDM graph (a dict, ready for json.dumps) for the policy's decision."""
    rows = [(r.id, *split_conjunction(r.condition)) for r in decision_rules(policy)]
    facts: list[str] = []
    for _, tests, _ in rows:
        for t in tests:
            if t.fact not in facts:
                facts.append(t.fact)
    needs_expr = any(rest for _, _, rest in rows)

    inputs = [{"id": f"in_{flat(f)}", "name": f, "field": flat(f)} for f in facts]
    if needs_expr:
        inputs.append({"id": EXPR_COLUMN, "name": "any / not"})
    table_rules = []
    for rule_id, tests, rest in rows:
        row: dict[str, str] = {"_id": rule_id}
        for f in facts:
            on_fact = [t for t in tests if t.fact == f]
            row[f"in_{flat(f)}"] = unary(on_fact) if on_fact else ""
        if needs_expr:
            row[EXPR_COLUMN] = " and ".join(full_expression(n) for n in rest)
        row[OUTPUT_COLUMN] = json.dumps(rule_id)
        table_rules.append(row)

    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
            {
                "id": "decide",
                "type": "decisionTableNode",
                "name": f"{policy.spec.policy.id} {policy.version}",
                "position": {"x": 300, "y": 0},
                "content": {
                    "hitPolicy": "first",
                    "inputs": inputs,
                    "outputs": [{"id": OUTPUT_COLUMN, "name": "Decided by", "field": "id"}],
                    "rules": table_rules,
                },
            },
            {"id": "response", "type": "outputNode", "name": "Response", "position": {"x": 600, "y": 0}},
        ],
        "edges": [
            {"id": "e1", "type": "edge", "sourceId": "request", "targetId": "decide"},
            {"id": "e2", "type": "edge", "sourceId": "decide", "targetId": "response"},
        ],
    }


def tested_facts(policy: LoadedPolicy) -> set[str]:
    """Every fact the decision tests anywhere (columns and any / not expressions)."""
    out: set[str] = set()

    def walk(node: Node) -> None:
        if isinstance(node, Test):
            out.add(node.fact)
        elif isinstance(node, Expr):
            out.update(node.facts)
        elif isinstance(node, Not):
            walk(node.child)
        else:
            for c in node.children:
                walk(c)

    for r in decision_rules(policy):
        walk(r.condition)
    return out


def to_context(facts: dict[str, Any], only: set[str] | None = None) -> dict[str, Any]:
    """Our facts as zen input: flattened keys, Decimal -> float, frozenset -> sorted list."""
    out: dict[str, Any] = {}
    for key, value in facts.items():
        if only is not None and key not in only:
            continue
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, frozenset):
            value = sorted(value)
        out[flat(key)] = value
    return out
