"""Routing benchmark: our decision and full route vs GoRules zen-engine, on the same requests.

    .venv/bin/python bench/routing.py [--requests 10000] [--seed 7] [--rules 300] [--repeat 3] [--profile]

Three policies: the sample, the generated one (--rules), and the generated one rewritten as a director would
write it in policy language v2 (`generated-N+v2`): a stop and every tenth rule with an expression
(`amount > 1.2 * budget.remaining`), and every rule's first stage a nested group ("its approvers AND one of the
procurement director or the category manager").

See bench/README.md for what every figure measures. Exits 1 if zen and we ever disagree on
which stop or rule decides a request.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
import zen  # noqa: E402  (the zen-engine package installs the module `zen`)

from approvals.directory import Directory, load_directory  # noqa: E402
from approvals.policy.loader import LoadedPolicy, load_policy, load_policy_text  # noqa: E402
from approvals.policy.routing import match_rule, route  # noqa: E402
from bench.gen_policy import generate_policy  # noqa: E402
from bench.requisitions import generate_facts  # noqa: E402
from bench.zen_jdm import tested_facts, to_context, to_jdm  # noqa: E402

AT = datetime(2026, 11, 16, 15, 0, tzinfo=timezone.utc)  # a fixed "now": same inputs, same plans


@dataclass
class Row:
    engine: str
    policy: str
    measures: str
    requests: int
    seconds: float
    decision: bool  # part of the ours/zen decision comparison

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def micros(self) -> float:
        return self.seconds / self.requests * 1e6


def v2_policy(text: str) -> LoadedPolicy:
    """The generated policy with expressions in its decision and a nested group in every rule's first stage."""
    doc = yaml.safe_load(text)
    doc["stops"] = [
        *doc.get("stops", []),
        {
            "id": "x-far-over-budget",
            "when": {"expr": "amount > 1.2 * budget.remaining"},
            "reason": "{amount} is more than 120% of what {cost_center} has left",
        },
    ]
    for i, rule in enumerate(doc["rules"]):
        if i % 10 == 3 and rule.get("when") and "expr" not in rule["when"]:
            rule["when"]["expr"] = "amount * 4 > budget.remaining"
        for stage in (rule.get("stages") or [])[:1]:
            own = {"mode": stage.pop("mode", "any"), "approvers": stage["approvers"]}
            if "quorum" in stage:
                own["quorum"] = stage.pop("quorum")
            stage["mode"] = "all"
            stage["check_limits"] = False
            stage["approvers"] = [
                own,
                {
                    "mode": "any",
                    "name": "procurement",
                    "approvers": [{"role": "procurement_director"}, {"category_manager": True}],
                },
            ]
    return load_policy_text(yaml.safe_dump(doc, sort_keys=False), "<generated+v2>")


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    """Warm up once, then the best wall time of `repeat` runs."""
    run()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def bench_policy(
    name: str, policy: LoadedPolicy, directory: Directory, facts: list[dict[str, Any]], repeat: int
) -> tuple[list[Row], int, Counter[str], Counter[str]]:
    n = len(facts)
    graph = to_jdm(policy)
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {"policy": graph}}})
    decision = engine.create_decision(json.dumps(graph))
    only = tested_facts(policy)
    ctx_tested = [to_context(f, only) for f in facts]
    ctx_all = [to_context(f) for f in facts]
    batch = [{"key": "policy", "context": c} for c in ctx_tested]

    # correctness first, untimed: every path must pick the same stop/rule for every request
    ours = [match_rule(f, policy) for f in facts]
    others = {
        "plain first-match scan": [
            next((r.id for r in [*policy.stops, *policy.rules] if r.matches(f)), None) for f in facts
        ],
        "zen engine.evaluate": [engine.evaluate("policy", c)["result"].get("id") for c in ctx_tested],
        "zen decision.evaluate": [decision.evaluate(c)["result"].get("id") for c in ctx_tested],
        "zen evaluate_batch": [
            r["data"]["result"].get("id") if r.get("success") else f"error: {r.get('error')}"
            for r in engine.evaluate_batch(batch)
        ],
    }
    disagreements = 0
    for label, ids in others.items():
        wrong = [i for i, (a, b) in enumerate(zip(ours, ids)) if a != b]
        disagreements += len(wrong)
        if wrong:
            i = wrong[0]
            print(
                f"  DISAGREE [{name}] {label}: {len(wrong)} requests, e.g. ours={ours[i]} theirs={ids[i]} "
                f"facts={ {k: str(v) for k, v in facts[i].items()} }"
            )
    outcomes = Counter(route(f, policy, directory, (), AT).outcome for f in facts)
    deciders = Counter(str(i) for i in ours)

    def ours_decide() -> None:
        for f in facts:
            match_rule(f, policy)

    def ours_route() -> None:
        for f in facts:
            route(f, policy, directory, (), AT)

    def zen_engine_eval(contexts: list[dict[str, Any]]) -> Callable[[], None]:
        def run() -> None:
            evaluate = engine.evaluate
            for c in contexts:
                evaluate("policy", c)

        return run

    def zen_decision_eval() -> None:
        evaluate = decision.evaluate
        for c in ctx_tested:
            evaluate(c)

    def zen_batch() -> None:
        engine.evaluate_batch(batch)

    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    zen_batch()
    batch_cores = (time.process_time() - cpu0) / max(time.perf_counter() - wall0, 1e-9)

    rows = [
        Row("ours", name, "match_rule(): which stop/rule decides", n, best_of(repeat, ours_decide), True),
        Row(
            "zen",
            name,
            "engine.evaluate(key, ctx) sync, static loader, tested facts",
            n,
            best_of(repeat, zen_engine_eval(ctx_tested)),
            True,
        ),
        Row(
            "zen",
            name,
            "engine.evaluate(key, ctx) sync, static loader, all facts",
            n,
            best_of(repeat, zen_engine_eval(ctx_all)),
            True,
        ),
        Row(
            "zen",
            name,
            "create_decision() once, decision.evaluate(ctx) sync",
            n,
            best_of(repeat, zen_decision_eval),
            True,
        ),
        Row(
            "zen",
            name,
            f"engine.evaluate_batch(all), tested facts, ~{batch_cores:.1f} cores busy",
            n,
            best_of(repeat, zen_batch),
            True,
        ),
        Row("ours", name, "route(): decision + overlays + approvers resolved", n, best_of(repeat, ours_route), False),
    ]
    return rows, disagreements, outcomes, deciders


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'engine':<6} {'policy':<16} {'requests':>8} {'total s':>8} {'evals/s':>10} {'µs/eval':>8} {'ours/zen':>8}"
        "  what is timed"
    )
    print(header)
    print("-" * len(header) + "-" * 40)
    for policy in dict.fromkeys(r.policy for r in rows):
        group = [r for r in rows if r.policy == policy]
        ours = next(r for r in group if r.engine == "ours" and r.decision)
        for r in group:
            ratio = f"{ours.per_second / r.per_second:8.2f}" if r.engine == "zen" else f"{'':>8}"
            print(
                f"{r.engine:<6} {r.policy:<16} {r.requests:>8} {r.seconds:>8.3f} {r.per_second:>10,.0f} "
                f"{r.micros:>8.2f} {ratio}  {r.measures}"
            )
        fastest_zen = min((r for r in group if r.engine == "zen"), key=lambda r: r.seconds)
        verdict = "ours faster" if ours.seconds <= fastest_zen.seconds else "ZEN FASTER"
        print(
            f"{'':<6} {policy:<16} decision: ours/zen throughput vs fastest zen path = "
            f"{ours.per_second / fastest_zen.per_second:.2f}x ({verdict})"
        )
        print()


def profile_ours(policy: LoadedPolicy, facts: list[dict[str, Any]]) -> None:
    prof = cProfile.Profile()
    prof.enable()
    for f in facts:
        match_rule(f, policy)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(12)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Routing benchmark: ours vs GoRules zen-engine")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rules", type=int, default=300, help="rules in the generated policy")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure (best is kept)")
    parser.add_argument("--profile", action="store_true", help="cProfile our match_rule on each policy")
    args = parser.parse_args(argv)

    directory = load_directory(ROOT / "examples" / "company.yaml")
    sample = load_policy(ROOT / "examples" / "policy.yaml")
    generated = generate_policy(directory, sample, args.rules, args.seed)
    big = load_policy_text(generated, "<generated>")
    v2 = v2_policy(generated)

    t0 = time.perf_counter()
    facts = generate_facts(directory, sample, args.requests, args.seed)
    built = time.perf_counter() - t0
    eur = sum(f["currency"] == "EUR" for f in facts)
    print(
        f"{len(facts)} requisitions (seed {args.seed}), validated and turned into facts in {built:.2f}s; "
        f"{eur} priced in EUR, {sum(f['currency'] not in ('USD', 'EUR') for f in facts)} in other currencies"
    )
    print(
        f"zen-engine (module `zen`), policies: sample = examples/policy.yaml "
        f"({len(sample.stops)} stops + {len(sample.rules)} rules), generated = "
        f"{len(big.stops)} stops + {len(big.rules)} rules (bench/gen_policy.py, seed {args.seed})"
    )
    print(
        f"each figure: 1 warm-up pass, then best of {args.repeat} passes over all requests, wall clock, one process\n"
    )

    rows: list[Row] = []
    failed = 0
    policies = (("sample", sample), (f"generated-{len(big.rules)}", big), (f"generated-{len(big.rules)}+v2", v2))
    for name, policy in policies:
        policy_rows, disagreements, outcomes, deciders = bench_policy(name, policy, directory, facts, args.repeat)
        rows += policy_rows
        failed += disagreements
        top = ", ".join(f"{k} {v}" for k, v in deciders.most_common(4))
        print(
            f"[{name}] same decider as ours: {len(facts) * 4 - disagreements}/{len(facts) * 4} "
            f"(plain first-match scan, zen engine.evaluate, decision.evaluate, evaluate_batch); "
            f"disagreements: {disagreements}; "
            f"{len(deciders)} distinct deciders (top: {top}); route outcomes: {dict(outcomes)}"
        )
        if args.profile:
            profile_ours(policy, facts)
    print()
    print_table(rows)
    print("ours/zen = our match_rule() throughput divided by that zen row's throughput (>1: ours is faster).")
    print("route() is the whole routing step (stops, rule, overlays, approver resolution, limits, explanation);")
    print("zen has no counterpart for it, so it has no ratio.")
    if failed:
        print(f"FAIL: {failed} disagreements about which stop/rule decides", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
