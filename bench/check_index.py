"""Check that the rule index picks exactly the rule a plain first-match scan picks.

Runs the benchmark's requests plus mangled copies (facts removed, set to None, amounts put
on and next to thresholds, values of the wrong type) through several policies. Requests on
which the plain scan itself raises (e.g. a text where a number belongs) are skipped.

    .venv/bin/python bench/check_index.py [--requests 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from approvals.directory import load_directory  # noqa: E402
from approvals.policy.loader import LoadedPolicy, load_policy, load_policy_text  # noqa: E402
from approvals.policy.routing import RuleIndex  # noqa: E402
from bench.gen_policy import generate_policy  # noqa: E402
from bench.requisitions import generate_facts  # noqa: E402

EDGES = (0, 500, 1000, 2500, 5000, 10000, 25000, 100000)
ODD_VALUES: tuple[Any, ...] = (True, False, "DAL", "mro", 1, Decimal(5000), 5000.0, None)


def mangle(facts: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    out = dict(facts)
    for key in rng.sample(sorted(out), 3):
        roll = rng.random()
        if roll < 0.3:
            del out[key]
        elif roll < 0.5:
            out[key] = None
        elif roll < 0.8 and isinstance(out[key], Decimal):
            out[key] = Decimal(rng.choice(EDGES)) + rng.choice((Decimal(0), Decimal("0.01"), Decimal("-0.01")))
        else:
            out[key] = rng.choice(ODD_VALUES)
    return out


def plain_first(policy: LoadedPolicy, facts: dict[str, Any]) -> str | None:
    return next((r.id for r in policy.rules if r.matches(facts)), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    directory = load_directory(ROOT / "examples" / "company.yaml")
    sample = load_policy(ROOT / "examples" / "policy.yaml")
    policies = [sample] + [
        load_policy_text(generate_policy(directory, sample, n, s), f"<generated {n}/{s}>")
        for n, s in ((300, args.seed), (300, args.seed + 4), (60, args.seed + 1))
    ]
    facts = generate_facts(directory, sample, args.requests, args.seed)
    rng = random.Random(args.seed)
    requests = facts + [mangle(f, rng) for f in facts[: args.requests // 2]]

    checked = skipped = mismatches = 0
    for policy in policies:
        index = RuleIndex(policy.rules)
        for f in requests:
            try:
                want = plain_first(policy, f)
            except Exception:  # noqa: BLE001 - the plain scan refuses this request; nothing to compare
                skipped += 1
                continue
            got = index.first_match(f)
            checked += 1
            if (got.id if got else None) != want:
                mismatches += 1
                if mismatches <= 5:
                    print(f"MISMATCH {policy.filename}: index={got.id if got else None} scan={want} facts={f}")
    print(
        f"{checked} checked over {len(policies)} policies, {skipped} skipped (plain scan raised), "
        f"{mismatches} mismatches"
    )
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
