"""Expressions in conditions: `expr: "amount > 1.2 * budget.remaining"`.

An expression compares facts and computes with them. It is written in zen-engine's expression
language (the one its decision tables use: decimal arithmetic, no I/O, no access to Python),
restricted to a small typed subset that this module parses and checks when the policy loads:

    numbers and 'text' literals, true / false, fact names (budget.remaining),
    + - * / on numbers, > >= < <= on numbers, == != on values of one type,
    and / or / not, parentheses

The whole expression must be true/false. Problems come back with the character they are at,
so the loader can report file:line. The checked text is compiled once by zen-engine
(`zen.compile_expression`) and evaluated there, never by Python's `eval`. Only the facts the
expression names are handed over; if any of them is missing (no history for a first order),
the expression does not hold, as a structured test on a missing fact does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

import zen

from approvals.policy.facts import ENUMS, FACTS, MULTI_VALUED

Facts = dict[str, Any]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<str>'[^'\\]*'|\"[^\"\\]*\")|(?P<op>>=|<=|==|!=|&&|\|\||[-+*/()<>!]))"
)
_WORDS = {"and": "and", "or": "or", "not": "not", "true": "true", "false": "false"}
_BINARY = {
    "or": (1, "bool"),
    "and": (2, "bool"),
    "==": (3, "eq"),
    "!=": (3, "eq"),
    ">": (4, "cmp"),
    ">=": (4, "cmp"),
    "<": (4, "cmp"),
    "<=": (4, "cmp"),
    "+": (5, "arith"),
    "-": (5, "arith"),
    "*": (6, "arith"),
    "/": (6, "arith"),
}


class ExpressionError(ValueError):
    """An expression that does not parse or does not type; `at` is the 0-based character."""

    def __init__(self, message: str, at: int, hint: str = "") -> None:
        super().__init__(message)
        self.at = at
        self.hint = hint


@dataclass(frozen=True)
class Expr:
    """A checked expression, compiled once: `holds(facts)` is its predicate."""

    source: str
    facts: tuple[str, ...]  # the facts it names, in order of first use
    holds: Callable[[Facts], bool]

    def describe(self) -> str:
        return self.source


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            where = len(text) - len(text[pos:].lstrip())
            raise ExpressionError(f"unexpected `{text[where]}`", where, "use facts, numbers, + - * /, > >= < <= == !=")
        kind = m.lastgroup or "op"
        value = m.group(kind)
        start = m.start(kind)
        if kind == "name" and value in _WORDS:
            kind = "word"
        if kind == "op" and value in ("&&", "||", "!"):
            kind, value = "word", {"&&": "and", "||": "or", "!": "not"}[value]
        out.append((kind, value, start))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    """Precedence climbing over the tokens; returns the expression's type, checking as it goes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.names: list[str] = []
        self.zen: list[str] = []  # the text zen-engine compiles: the same expression, `and`/`or`/`not`

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Any:
        kind = self.binary(0)
        tok = self.peek()
        if tok[0] != "end":
            raise ExpressionError(f"unexpected `{tok[1]}`", tok[2], "join conditions with `and` / `or`")
        return kind

    def binary(self, min_prec: int) -> Any:
        left, left_at = self.unary()
        while True:
            kind, value, at = self.peek()
            op = value if (kind == "op" or kind == "word") and value in _BINARY else None
            if op is None or _BINARY[op][0] < min_prec:
                return left
            self.take()
            self.zen.append(f" {op} ")
            prec, family = _BINARY[op]
            right = self.binary(prec + 1)
            left = self.check(op, family, left, right, at, left_at)

    def check(self, op: str, family: str, left: Any, right: Any, at: int, left_at: int) -> Any:
        lt, rt = _type(left), _type(right)
        if family == "bool":
            if lt != "bool" or rt != "bool":
                raise ExpressionError(f"`{op}` joins true/false conditions, not {lt} and {rt}", at)
            return "bool"
        if family == "arith":
            if lt != "number" or rt != "number":
                raise ExpressionError(f"`{op}` needs numbers on both sides, got {lt} and {rt}", at)
            return "number"
        if family == "cmp":
            if lt != "number" or rt != "number":
                raise ExpressionError(f"`{op}` compares numbers, got {lt} and {rt}", at, "compare text with == or !=")
            return "bool"
        if lt != rt:
            raise ExpressionError(f"`{op}` compares a {lt} with a {rt}", at, "compare values of one kind")
        # `urgency == 'emergncy'` would never hold: check literals against the fact's known values
        for fact, lit in ((left, right), (right, left)):
            if isinstance(fact, tuple) and fact[0] == "fact" and isinstance(lit, tuple) and lit[0] == "text":
                allowed = ENUMS.get(fact[1])
                if allowed and lit[1] not in allowed:
                    raise ExpressionError(
                        f"{fact[1]} is one of {', '.join(allowed)}; `{lit[1]}` never matches", left_at
                    )
        return "bool"

    def unary(self) -> tuple[Any, int]:
        kind, value, at = self.take()
        if kind == "word" and value == "not":
            self.zen.append("not ")
            self.zen.append("(")
            inner = self.binary(7)
            self.zen.append(")")
            if _type(inner) != "bool":
                raise ExpressionError("`not` needs a true/false condition", at)
            return "bool", at
        if kind == "op" and value == "-":
            self.zen.append("-")
            inner = self.binary(7)
            if _type(inner) != "number":
                raise ExpressionError("`-` needs a number", at)
            return "number", at
        if kind == "op" and value == "(":
            self.zen.append("(")
            inner = self.binary(0)
            close = self.take()
            if close[1] != ")":
                raise ExpressionError("missing `)`", close[2], "close every `(`")
            self.zen.append(")")
            return inner, at
        if kind == "num":
            self.zen.append(value)
            return "number", at
        if kind == "str":
            self.zen.append("'" + value[1:-1] + "'")
            return ("text", value[1:-1]), at
        if kind == "word" and value in ("true", "false"):
            self.zen.append(value)
            return "bool", at
        if kind == "name":
            if value not in FACTS:
                from difflib import get_close_matches

                nearest = get_close_matches(value, list(FACTS), n=1)
                hint = f"did you mean `{nearest[0]}`?" if nearest else "known facts: " + ", ".join(FACTS)
                raise ExpressionError(f"unknown fact `{value}`", at, hint)
            if value in MULTI_VALUED:
                raise ExpressionError(
                    f"{value} may hold several values; test it as a structured condition", at, f"write `{value}: ...`"
                )
            if value not in self.names:
                self.names.append(value)
            self.zen.append(_zen_name(value))
            return ("fact", value), at
        if kind == "end":
            raise ExpressionError("the expression ends too early", at, "finish the comparison")
        raise ExpressionError(f"unexpected `{value}`", at)


def _type(node: Any) -> str:
    if isinstance(node, tuple):
        if node[0] == "fact":
            return {"number": "number", "bool": "bool", "text": "text"}[FACTS[node[1]][0]]
        return node[0]
    return str(node)


def _zen_name(fact: str) -> str:
    # zen reads a dotted name as member access; fact names are flat keys, so each is one variable
    return "f_" + fact.replace(".", "__")


def compile_expression(text: str) -> Expr:
    """Parse, type-check and compile one expression; raises ExpressionError."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression is a non-empty text, e.g. 'amount > 1.2 * budget.remaining'", 0)
    parser = _Parser(text)
    kind = parser.parse()
    if _type(kind) != "bool":
        raise ExpressionError("the expression must be a true/false condition", 0, "compare it, e.g. `... > 5000`")
    source = "".join(parser.zen)
    try:
        program = zen.compile_expression(source)
    except Exception as exc:  # zen reports its own parse errors as plain exceptions
        raise ExpressionError(f"cannot compile: {exc}", 0) from None
    names = tuple(parser.names)
    keys = tuple((_zen_name(n), n) for n in names)
    evaluate = program.evaluate

    if len(keys) == 2:  # most expressions compare two facts ("amount > 1.2 * budget.remaining"): unrolled
        (key_a, fact_a), (key_b, fact_b) = keys

        def holds(facts: Facts) -> bool:
            a = facts.get(fact_a)
            b = facts.get(fact_b)
            if a is None or b is None:
                return False
            if isinstance(a, Decimal):  # zen reads a decimal back from the float's shortest repr
                a = float(a)
            if isinstance(b, Decimal):
                b = float(b)
            try:
                return evaluate({key_a: a, key_b: b}) is True
            except Exception:  # a division by zero and the like: the condition cannot be shown to hold
                return False

    else:

        def holds(facts: Facts) -> bool:
            # routing asks this for every request a stop or a candidate rule with an expression sees: one pass that
            # both checks for missing facts and builds zen's context
            context = {}
            for key, fact in keys:
                value = facts.get(fact)
                if value is None:
                    return False
                context[key] = (
                    float(value) if isinstance(value, Decimal) else value
                )  # zen reads a decimal back from the float's shortest repr
            try:
                return evaluate(context) is True
            except Exception:  # a division by zero and the like: the condition cannot be shown to hold
                return False

    return Expr(text.strip(), names, holds)
