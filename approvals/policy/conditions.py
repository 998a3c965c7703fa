"""Conditions: parsed from the policy's `when:` mappings into a small tree, compiled to closures.

Forms (a mapping is an implicit "all of its entries"):

    category: mro                     # equals
    site: [DAL, ATL]                  # one of
    amount: {gt: 5000, lte: 25000}    # comparisons, combined with "and"
    supplier.contracted: true
    any: [{urgency: emergency}, {amount: {lt: 500}}]
    all: [...]
    not: {supplier.risk_tier: high}
    expr: "amount > 1.2 * budget.remaining"   # an expression over facts (approvals/policy/expressions.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from approvals.policy.expressions import Expr, ExpressionError, compile_expression
from approvals.policy.facts import ENUMS, FACTS, MULTI_VALUED

Facts = dict[str, Any]
Predicate = Callable[[Facts], bool]

COMPARISONS = ("gt", "gte", "lt", "lte")
OPERATORS = ("eq", "ne", "in", "not_in", "between", *COMPARISONS)


@dataclass(frozen=True)
class Test:
    fact: str
    op: str
    value: Any  # Decimal for numbers, str/bool, or a frozenset for in/not_in, tuple for between


@dataclass(frozen=True)
class All:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    child: "Node"


Node = Test | All | AnyOf | Not | Expr
ALWAYS = All(())


@dataclass
class ConditionProblem:
    path: tuple[Any, ...]
    message: str
    hint: str = ""


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a number, got true/false")
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"expected a number, got {value!r}") from None


def _scalar(fact: str, value: Any) -> Any:
    kind = FACTS[fact][0]
    if kind == "number":
        return _number(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{fact} is true or false, got {value!r}")
        return value
    if isinstance(value, (dict, list)):
        raise ValueError(f"expected a single value, got {value!r}")
    text = str(value)
    allowed = ENUMS.get(fact)
    if allowed and text not in allowed:
        raise ValueError(f"{fact} must be one of {', '.join(allowed)}; got {text!r}")
    return text


def parse_condition(raw: Any, path: tuple[Any, ...], problems: list[ConditionProblem]) -> Node:
    """Parse a `when:` value; problems are appended with their path, never raised."""
    if raw is None:
        return ALWAYS
    if not isinstance(raw, dict):
        problems.append(
            ConditionProblem(
                path,
                "a condition must be a mapping of fact: test",
                "write e.g. `when: {category: mro, amount: {gt: 5000}}`",
            )
        )
        return ALWAYS
    children: list[Node] = []
    for key, value in raw.items():
        here = path + (key,)
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                problems.append(ConditionProblem(here, f"`{key}` takes a non-empty list of conditions"))
                continue
            parts = tuple(parse_condition(v, here + (i,), problems) for i, v in enumerate(value))
            children.append(All(parts) if key == "all" else AnyOf(parts))
        elif key == "not":
            children.append(Not(parse_condition(value, here, problems)))
        elif key == "expr":
            texts = value if isinstance(value, list) else [value]
            for i, text in enumerate(texts):
                where = here + (i,) if isinstance(value, list) else here
                try:
                    children.append(compile_expression(text))
                except ExpressionError as exc:
                    shown = text if isinstance(text, str) else repr(text)
                    problems.append(
                        ConditionProblem(where, f"expression {shown!r}, at character {exc.at + 1}: {exc}", exc.hint)
                    )
        elif key in FACTS:
            children.extend(_parse_tests(key, value, here, problems))
        else:
            from difflib import get_close_matches

            close = get_close_matches(str(key), list(FACTS) + ["all", "any", "not", "expr"], n=1)
            hint = f"did you mean `{close[0]}`?" if close else "known facts: " + ", ".join(FACTS)
            problems.append(ConditionProblem(here, f"unknown fact `{key}`", hint))
    return children[0] if len(children) == 1 else All(tuple(children))


def _parse_tests(fact: str, value: Any, path: tuple[Any, ...], problems: list[ConditionProblem]) -> list[Test]:
    try:
        if isinstance(value, list):
            return [Test(fact, "in", frozenset(_scalar(fact, v) for v in value))]
        if not isinstance(value, dict):
            return [Test(fact, "eq", _scalar(fact, value))]
        tests = []
        for op, operand in value.items():
            if op not in OPERATORS:
                problems.append(
                    ConditionProblem(path + (op,), f"unknown operator `{op}`", "use one of " + ", ".join(OPERATORS))
                )
                continue
            if op in COMPARISONS:
                if FACTS[fact][0] != "number":
                    problems.append(ConditionProblem(path + (op,), f"`{op}` needs a number fact; {fact} is not"))
                    continue
                tests.append(Test(fact, op, _number(operand)))
            elif op in ("in", "not_in"):
                items = operand if isinstance(operand, list) else [operand]
                tests.append(Test(fact, op, frozenset(_scalar(fact, v) for v in items)))
            elif op == "between":
                if not (isinstance(operand, list) and len(operand) == 2):
                    problems.append(ConditionProblem(path + (op,), "`between` takes [low, high]"))
                    continue
                low, high = _number(operand[0]), _number(operand[1])
                if low > high:
                    problems.append(
                        ConditionProblem(path + (op,), f"`between` low {low} is above high {high}", "write [low, high]")
                    )
                    continue
                tests.append(Test(fact, "between", (low, high)))
            else:
                tests.append(Test(fact, op, _scalar(fact, operand)))
        return tests
    except ValueError as exc:
        problems.append(ConditionProblem(path, str(exc)))
        return []


def _test_predicate(t: Test) -> Predicate:
    fact, value = t.fact, t.value
    if fact not in MULTI_VALUED:
        # one closure per test, not a check wrapped in a getter: routing calls these per request
        if t.op == "eq":
            return lambda f: f.get(fact) == value
        if t.op == "ne":
            return lambda f: f.get(fact) != value
        if t.op == "in":
            return lambda f: f.get(fact) in value
        if t.op == "not_in":
            return lambda f: f.get(fact) not in value
        if t.op == "gt":
            return lambda f: (v := f.get(fact)) is not None and v > value
        if t.op == "gte":
            return lambda f: (v := f.get(fact)) is not None and v >= value
        if t.op == "lt":
            return lambda f: (v := f.get(fact)) is not None and v < value
        if t.op == "lte":
            return lambda f: (v := f.get(fact)) is not None and v <= value
        low, high = value
        return lambda f: (v := f.get(fact)) is not None and low <= v <= high
    if t.op == "eq":
        check = lambda v: v == value  # noqa: E731
    elif t.op == "ne":
        check = lambda v: v != value  # noqa: E731
    elif t.op == "in":
        check = lambda v: v in value  # noqa: E731
    elif t.op == "not_in":
        check = lambda v: v not in value  # noqa: E731
    elif t.op == "gt":
        check = lambda v: v is not None and v > value  # noqa: E731
    elif t.op == "gte":
        check = lambda v: v is not None and v >= value  # noqa: E731
    elif t.op == "lt":
        check = lambda v: v is not None and v < value  # noqa: E731
    elif t.op == "lte":
        check = lambda v: v is not None and v <= value  # noqa: E731
    else:
        low, high = value
        check = lambda v: v is not None and low <= v <= high  # noqa: E731
    if t.op in ("ne", "not_in"):
        return lambda f: all(check(v) for v in f.get(fact) or ())
    return lambda f: any(check(v) for v in f.get(fact) or ())


def compile_condition(node: Node) -> Predicate:
    """Turn a parsed condition into a fast predicate over a facts dict."""
    if isinstance(node, Test):
        return _test_predicate(node)
    if isinstance(node, Expr):
        return node.holds
    if isinstance(node, Not):
        inner = compile_condition(node.child)
        return lambda f: not inner(f)
    preds = tuple(compile_condition(c) for c in node.children)
    if isinstance(node, All):
        if not preds:
            return lambda f: True
        if len(preds) == 1:
            return preds[0]
        if len(preds) == 2:
            a, b = preds
            return lambda f: bool(a(f) and b(f))
        return lambda f: all(p(f) for p in preds)
    if len(preds) == 2:
        a, b = preds
        return lambda f: bool(a(f) or b(f))
    return lambda f: any(p(f) for p in preds)


def top_level_tests(node: Node) -> list[Test]:
    """The plain tests that must all hold (the conjunctive part), used for indexing and checks."""
    if isinstance(node, Test):
        return [node]
    if isinstance(node, All):
        out: list[Test] = []
        for c in node.children:
            out.extend(top_level_tests(c))
        return out
    return []


def split_conjunction(node: Node) -> tuple[list[Test], list[Node]]:
    """A condition as (plain tests that must all hold, other parts (any / not) that must all hold)."""
    if isinstance(node, Test):
        return [node], []
    if isinstance(node, All):
        tests: list[Test] = []
        rest: list[Node] = []
        for child in node.children:
            t, r = split_conjunction(child)
            tests += t
            rest += r
        return tests, rest
    return [], [node]


def is_conjunctive(node: Node) -> bool:
    """True when the condition is only an "and" of plain tests (no any / not)."""
    if isinstance(node, Test):
        return True
    if isinstance(node, All):
        return all(is_conjunctive(c) for c in node.children)
    return False


def describe(node: Node) -> str:
    """A short human rendering of a condition, for explanations and reports."""
    if isinstance(node, Test):
        v = node.value
        if isinstance(v, frozenset):
            v = "{" + ", ".join(sorted(map(str, v))) + "}"
        elif isinstance(v, tuple):
            v = f"{v[0]}..{v[1]}"
        symbol = {
            "eq": "=",
            "ne": "!=",
            "in": "in",
            "not_in": "not in",
            "gt": ">",
            "gte": ">=",
            "lt": "<",
            "lte": "<=",
            "between": "in",
        }[node.op]
        return f"{node.fact} {symbol} {v}"
    if isinstance(node, Expr):
        return node.source
    if isinstance(node, Not):
        return f"not ({describe(node.child)})"
    if not node.children:
        return "always"
    joiner = " and " if isinstance(node, All) else " or "
    return "(" + joiner.join(describe(c) for c in node.children) + ")"
