"""Generate a large, valid policy for a company directory (default 300 rules), by seed.

Rules cross category x site (or region) x amount band with urgency, supplier.contracted,
item_type, contract_status and requester.role tests, some written with `any` / `not`;
stages only use resolvers that name someone at every site, and the file ends with
category and amount-band catch-alls and one rule with no `when`, so every request routes.

    .venv/bin/python bench/gen_policy.py [--rules 300] [--seed 7] > /tmp/big-policy.yaml
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

import yaml

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from approvals.directory import Directory  # noqa: E402
from approvals.policy.loader import LoadedPolicy  # noqa: E402

BANDS = ((0, 1000), (1000, 5000), (5000, 25000), (25000, 100000), (100000, None))
TEMPLATES = (
    "band",
    "band",
    "band",
    "emergency",
    "contracted",
    "capex",
    "uncontracted",
    "any",
    "not",
    "role",
    "services",
)


def _amount(low: int, high: int | None) -> dict[str, Any]:
    test: dict[str, Any] = {"gt": low} if low else {}
    if high is not None:
        test["lte"] = high
    return test or {"gte": 0}


class _Resolvers:
    """Resolvers that name at least one person at every site, so generated routes resolve."""

    def __init__(self, directory: Directory) -> None:
        sites = [s.code for s in directory.sites]
        roles = sorted(
            r
            for r in directory.roles
            if all(directory.people_with_role(r, s) for s in sites) and r != "category_manager"
        )
        self.pool: list[dict[str, Any]] = [{"manager": 1}, {"category_manager": True}, {"budget_owner": True}]
        self.pool += [{"role": r} for r in roles]
        self.pool += [{"group": g.id} for g in directory.groups]
        self.people = [p.id for p in directory.people if p.approval_limit >= 100000]

    def stages(self, rng: random.Random, count: int) -> list[dict[str, Any]]:
        chosen = rng.sample(self.pool, k=min(count, len(self.pool)))
        out = []
        for i, approver in enumerate(chosen):
            stage: dict[str, Any] = {
                "name": f"Stage {i + 1}",
                "approvers": [dict(approver)],
                "sla_hours": rng.choice([8, 16, 24, 48]),
            }
            if "group" in approver and rng.random() < 0.3:
                stage["mode"] = "all"
            if rng.random() < 0.4:
                stage["escalate_to"] = {"approver_manager": 1}
            if rng.random() < 0.3:
                stage["check_limits"] = False
            out.append(stage)
        return out


def _rule(
    rng: random.Random, template: str, where: dict[str, Any], band: tuple[int, int | None], roles: list[str]
) -> tuple[dict[str, Any], int]:
    """The `when` for one template and how many stages it wants (0 = auto-approve)."""
    low, high = band
    when = dict(where)
    if template == "band":
        when["amount"] = _amount(low, high)
        return when, 1 + (low >= 5000) + (low >= 25000)
    if template == "emergency":
        when.update(urgency="emergency", amount={"lte": rng.choice([1000, 2500, 5000])})
        return when, 0 if rng.random() < 0.5 else 1
    if template == "contracted":
        when.update(
            {
                "amount": {"lte": rng.choice([500, 1000, 2500])},
                "supplier.contracted": True,
                "item_type": ["stock", "mro"],
                "contract_status": ["active", "expiring"],
            }
        )
        return when, 0
    if template == "capex":
        when.update(item_type="capex", amount={"gt": rng.choice([10000, 25000, 50000])})
        return when, 3
    if template == "uncontracted":
        when.update({"supplier.contracted": False, "amount": {"between": [low, high or 10_000_000]}})
        return when, 2
    if template == "any":
        when["amount"] = _amount(low, high)
        when["any"] = [
            {"urgency": ["urgent", "emergency"]},
            {"supplier.risk_tier": "high"},
            {"recurring": True, "line_count": {"gte": 3}},
        ]
        return when, 2
    if template == "not":
        when["amount"] = {"gt": low}
        when["not"] = {"contract_status": "active"}
        return when, 2
    if template == "role":
        when["requester.role"] = rng.sample(roles, k=min(2, len(roles)))
        when["amount"] = {"lte": rng.choice([2500, 5000, 10000])}
        return when, 1
    # services
    when.update(
        {
            "item_type": {"in": ["services"]},
            "urgency": {"ne": "emergency"},
            "amount": {"gt": rng.choice([5000, 10000, 20000])},
        }
    )
    return when, 2


def generate_policy(directory: Directory, base: LoadedPolicy, rules: int = 300, seed: int = 7) -> str:
    """Policy YAML text with exactly `rules` rules (stops and catch-alls included in the structure)."""
    rng = random.Random(seed)
    resolvers = _Resolvers(directory)
    categories = [c.code for c in directory.categories]
    sites = [s.code for s in directory.sites]
    regions = sorted({s.region for s in directory.sites})
    floor_roles = sorted({g.role for p in directory.people for g in p.roles if "*" not in g.sites})

    catch_alls: list[dict[str, Any]] = []
    for cat in categories:
        catch_alls.append(
            {
                "id": f"catch-{cat}-large",
                "when": {"category": cat, "amount": {"gt": 25000}},
                "stages": resolvers.stages(rng, 2),
            }
        )
    for low, high in BANDS:
        catch_alls.append(
            {
                "id": f"catch-amount-{low}",
                "when": {"amount": _amount(low, high)},
                "stages": resolvers.stages(rng, 1 + (low >= 5000) + (low >= 25000)),
            }
        )
    catch_alls.append(
        {
            "id": "catch-all",
            "description": "Anything else",
            "stages": [{"name": "Procurement", "approvers": [{"role": "procurement_director"}]}],
        }
    )

    specific: list[dict[str, Any]] = []
    pairs = [(c, s) for c in categories for s in sites]
    rng.shuffle(pairs)
    i = 0
    while len(specific) < rules - len(catch_alls):
        cat, site = pairs[i % len(pairs)]
        roll = rng.random()
        if roll < 0.70:  # the common shape: one category at one site
            where: dict[str, Any] = {"category": cat, "site": site}
        elif roll < 0.85:  # a category across a region (the site index cannot narrow these)
            where = {"category": cat, "region": rng.choice(regions)}
        elif roll < 0.95:  # several sites or several categories
            where = {"category": rng.sample(categories, k=2), "site": rng.sample(sites, k=2)}
        else:
            where = {"cost_center": {"not_in": ["CORP-IT", "CORP-FRT"]}}
        template = rng.choice(TEMPLATES)
        when, stage_count = _rule(rng, template, where, rng.choice(BANDS), floor_roles)
        rule: dict[str, Any] = {"id": f"r{i:03d}-{template}", "when": when}
        if stage_count:
            rule["stages"] = resolvers.stages(rng, stage_count)
        else:
            rule["auto_approve"] = True
        specific.append(rule)
        i += 1

    doc = {
        "policy": {
            "id": "generated-benchmark",
            "version": f"bench.{seed}",
            "currency": base.currency,
            "description": f"{rules} generated rules for the routing benchmark",
        },
        "rates": {k: float(v) for k, v in base.spec.rates.items()},
        "escalations": dict(base.spec.escalations),
        "stops": [
            {"id": "blocked-supplier", "when": {"supplier.blocked": True}, "reason": "{supplier.name} is blocked."},
            {
                "id": "hard-budget-stop",
                "when": {"budget.hard_stop": True, "budget.over": True},
                "reason": "Cost center {cost_center} does not allow overspend.",
            },
            {
                "id": "high-risk-huge",
                "when": {"supplier.risk_tier": "high", "amount": {"gt": 250000}},
                "reason": "High-risk supplier over $250,000: source it through procurement.",
            },
        ],
        "rules": specific + catch_alls,
    }
    return yaml.safe_dump(doc, sort_keys=False, width=160)


def main(argv: list[str] | None = None) -> int:
    from approvals.directory import load_directory
    from approvals.policy.loader import load_policy, load_policy_text

    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    directory = load_directory(root / "examples" / "company.yaml")
    base = load_policy(root / "examples" / "policy.yaml")
    text = generate_policy(directory, base, args.rules, args.seed)
    load_policy_text(text, "<generated>")  # refuse to print a policy our loader would reject
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
