"""Policy expressions: how fast and how exact each candidate engine is on the conditions directors write.

    .venv/bin/python -m bench.policy_expressions [--n 20000]

Compares, on `amount > 1.2 * budget.remaining`, `amount > requester.limit` and
`quantity > 2 * history.avg_qty`:

* zen-engine's expression language, as the policy uses it (approvals/policy/expressions.py:
  checked by our typed parser, compiled once by zen, evaluated with only the facts it names);
* a structured test (`amount: {gt: 5000}`), the floor;
* common-expression-language (CEL, Rust) and cel-python (CEL, pure Python), when installed.
  They are not project dependencies: put them in another environment and point
  BENCH_EXTRA_SITE at its site-packages to include them.

It also prints the exactness probes that decided the choice: does 0.1 + 0.2 == 0.3 hold, and
can an integer amount be multiplied by 1.2 without a conversion.
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit
from decimal import Decimal
from typing import Any, Callable

from approvals.policy.conditions import compile_condition, parse_condition
from approvals.policy.expressions import compile_expression

EXPRESSIONS = (
    "amount > 1.2 * budget.remaining",
    "amount > requester.limit",
    "quantity > 2 * history.avg_qty",
)
FACTS: dict[str, Any] = {
    "amount": Decimal("5400.00"),
    "budget.remaining": Decimal("4000.00"),
    "requester.limit": Decimal("5000"),
    "quantity": Decimal(40),
    "history.avg_qty": Decimal(12),
}


def per_call_us(fn: Callable[[], Any], n: int) -> float:
    return min(timeit.repeat(fn, number=n, repeat=3)) / n * 1e6


def nested(facts: dict[str, Any], convert: Callable[[Decimal], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in facts.items():
        head, _, tail = key.partition(".")
        if tail:
            out.setdefault(head, {})[tail] = convert(value)
        else:
            out[key] = convert(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    n = parser.parse_args().n
    extra = os.environ.get("BENCH_EXTRA_SITE")
    if extra:
        sys.path.append(extra)  # after ours: the project's own packages win

    print(f"{'engine':<36}{'expression':<36}{'us/eval':>9}{'compile us':>12}")
    structured = compile_condition(parse_condition({"amount": {"gt": 5000}}, (), []))
    print(f"{'structured test (floor)':<36}{'amount: {gt: 5000}':<36}{per_call_us(lambda: structured(FACTS), n):>9.2f}")
    for text in EXPRESSIONS:
        expr = compile_expression(text)
        compile_us = per_call_us(lambda text=text: compile_expression(text), 200)
        print(
            f"{'zen-engine (as the policy uses it)':<36}{text:<36}{per_call_us(lambda: expr.holds(FACTS), n):>9.2f}"
            f"{compile_us:>12.1f}"
        )

    try:
        import cel  # common-expression-language
    except ImportError:
        print("common-expression-language: not installed (set BENCH_EXTRA_SITE)")
    else:
        ctx = nested(FACTS, float)
        for text in EXPRESSIONS:
            text = text.replace(" 2 * ", " 2.0 * ")  # CEL will not multiply an int by a double
            program = cel.compile(text)
            compile_us = per_call_us(lambda text=text: cel.compile(text), 200)
            t = per_call_us(lambda: program.execute(ctx), n)
            print(f"{'common-expression-language (CEL)':<36}{text:<36}{t:>9.2f}{compile_us:>12.1f}")
    try:
        import celpy  # cel-python
    except ImportError:
        print("cel-python: not installed (set BENCH_EXTRA_SITE)")
    else:
        env = celpy.Environment()
        act = {
            k: (
                celpy.celtypes.MapType(
                    {celpy.celtypes.StringType(kk): celpy.celtypes.DoubleType(vv) for kk, vv in v.items()}
                )
                if isinstance(v, dict)
                else celpy.celtypes.DoubleType(v)
            )
            for k, v in nested(FACTS, float).items()
        }
        for text in EXPRESSIONS:
            text = text.replace(" 2 * ", " 2.0 * ")
            program = env.program(env.compile(text))
            compile_us = per_call_us(lambda text=text: env.program(env.compile(text)), 20)
            t = per_call_us(lambda: program.evaluate(act), max(n // 50, 50))
            print(f"{'cel-python (CEL)':<36}{text:<36}{t:>9.2f}{compile_us:>12.1f}")

    route_figures()

    print()
    print("exactness probes")
    import zen

    print(
        f"  zen-engine                  0.1 + 0.2 == 0.3 -> {zen.evaluate_expression('0.1 + 0.2 == 0.3', {})}; "
        f"5000 > 1.2 * 4000 (int facts) -> {zen.evaluate_expression('a > 1.2 * b', {'a': 5000, 'b': 4000})}"
    )
    try:
        import cel
    except ImportError:
        pass
    else:
        try:
            mixed: Any = cel.evaluate("a > 1.2 * b", {"a": 5000, "b": 4000})
        except Exception as exc:  # CEL refuses int * double without a conversion
            mixed = f"error: {str(exc).splitlines()[0][:60]}"
        print(
            f"  common-expression-language  0.1 + 0.2 == 0.3 -> {cel.evaluate('0.1 + 0.2 == 0.3', {})}; "
            f"5000 > 1.2 * 4000 (int facts) -> {mixed}"
        )


def route_figures(requests: int = 5000) -> None:
    """route() on the generated 300-rule policy, as generated and with a stop and two overlays that use
    expressions (evaluated for every request, since stops and overlays are not indexed; their thresholds are set
    so they never hold, so the difference is the evaluation alone)."""
    import time
    from datetime import datetime, timezone
    from pathlib import Path

    import yaml

    from approvals.directory import load_directory
    from approvals.policy.loader import load_policy, load_policy_text
    from approvals.policy.routing import route
    from bench.gen_policy import generate_policy
    from bench.requisitions import generate_facts

    root = Path(__file__).resolve().parent.parent
    directory = load_directory(root / "examples" / "company.yaml")
    sample = load_policy(root / "examples" / "policy.yaml")
    text = generate_policy(directory, sample, 300, 7)
    doc = yaml.safe_load(text)
    doc["stops"] = [
        *doc.get("stops", []),
        {"id": "x-far-over", "when": {"expr": "amount > 1.2 * budget.remaining + 1000000"}, "reason": "over"},
    ]

    def stage() -> dict[str, Any]:
        return {"name": "Review", "approvers": [{"role": "procurement_director"}], "check_limits": False}

    doc["overlays"] = [
        *doc.get("overlays", []),
        {"id": "x-own-limit", "when": {"expr": "amount > 50 * requester.limit + 1000000"}, "stage": stage()},
        {"id": "x-qty", "when": {"expr": "quantity > 200 * history.avg_qty"}, "stage": stage()},
    ]
    plain = load_policy_text(text, "<generated>")
    with_expr = load_policy_text(yaml.safe_dump(doc, sort_keys=False), "<generated+expr>")
    facts = generate_facts(directory, sample, requests, 7)
    for i, f in enumerate(facts):  # the facts the expressions name, so every one is computed, not skipped
        f.setdefault("requester.limit", directory.person_by_id[f["requester"]].approval_limit)
        f.setdefault("quantity", Decimal(10 + i % 40))
        f.setdefault("history.avg_qty", Decimal(12))
    at = datetime(2026, 11, 16, 15, 0, tzinfo=timezone.utc)
    print()
    print(f"{'route() on the generated 300-rule policy':<44}{'plans/s':>10}")
    for label, policy in (("as generated", plain), ("+ 1 stop and 2 overlays with expressions", with_expr)):
        for f in facts[:500]:
            route(f, policy, directory, (), at)
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for f in facts:
                route(f, policy, directory, (), at)
            best = min(best, time.perf_counter() - start)
        print(f"{label:<44}{len(facts) / best:>10,.0f}")


if __name__ == "__main__":
    main()
