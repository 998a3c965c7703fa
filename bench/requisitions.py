"""Random but plausible requisitions against a company directory, deterministic by seed.

Each draft is checked with `validate_draft` (the same gate the workflow uses) before its
facts are built, so the benchmark only ever routes requests the product would accept.
"""

from __future__ import annotations

import math
import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from approvals.directory import Directory, Item, Supplier
from approvals.policy.loader import LoadedPolicy, rate_to_policy_currency
from approvals.requisition import LineDraft, RequisitionDraft, build_facts, validate_draft

CENT = Decimal("0.01")
ITEM_TYPES = ("stock", "non_stock", "mro", "capex", "services")
URGENCY = (("standard", 80), ("urgent", 15), ("emergency", 5))
LINE_COUNTS = ((1, 45), (2, 25), (3, 15), (4, 8), (5, 5), (8, 2))
# people often buy at round figures, which is where policy thresholds sit: keep some on the edge
ROUND_USD = (500, 1000, 2500, 5000, 10000, 20000, 25000, 50000, 100000)


def _weighted(rng: random.Random, pairs: tuple[tuple[Any, int], ...]) -> Any:
    values, weights = zip(*pairs)
    return rng.choices(values, weights=weights)[0]


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _supplier_weight(s: Supplier) -> int:
    # blocked suppliers are rare; uncontracted ones less common than contracted ones
    if s.blocked:
        return 1
    return 10 if s.contracted else 4


def _price(usd: Decimal, currency: str, policy: LoadedPolicy) -> Decimal:
    rate = rate_to_policy_currency(policy, currency) or Decimal(1)
    return max((usd / rate).quantize(CENT, ROUND_HALF_UP), CENT)


def _catalog_line(rng: random.Random, item: Item, currency: str, policy: LoadedPolicy) -> LineDraft:
    usd = item.unit_price or Decimal(100)
    qty = rng.randint(1, 3) if item.item_type == "capex" else max(1, round(_log_uniform(rng, 1, 400)))
    return LineDraft(
        description=item.name,
        quantity=Decimal(qty),
        unit_price=_price(usd, currency, policy),
        unit=item.unit,
        sku=item.sku,
    )


def _free_line(rng: random.Random, supplier: Supplier, currency: str, policy: LoadedPolicy) -> LineDraft:
    category = rng.choice(supplier.categories) if supplier.categories else None
    item_type = _weighted(rng, (("non_stock", 40), ("services", 20), ("mro", 20), ("stock", 12), ("capex", 8)))
    high = 250_000 if item_type == "capex" else 20_000
    usd = Decimal(str(round(_log_uniform(rng, 5, high), 2)))
    qty = Decimal(max(1, round(_log_uniform(rng, 1, 60))))
    return LineDraft(
        description=f"{item_type.replace('_', ' ')} purchase",
        quantity=qty,
        unit_price=_price(usd, currency, policy),
        category=category,
        item_type=item_type,
    )


def generate_drafts(directory: Directory, policy: LoadedPolicy, count: int, seed: int) -> list[RequisitionDraft]:
    """`count` validated drafts: requester, site, cost center, supplier, lines, urgency, currency."""
    rng = random.Random(seed)
    people = list(directory.people)
    sites = [s.code for s in directory.sites]
    suppliers = list(directory.suppliers)
    supplier_weights = [_supplier_weight(s) for s in suppliers]
    items_by_supplier: dict[str, list[Item]] = {}
    for item in directory.items:
        items_by_supplier.setdefault(item.supplier or "", []).append(item)
    site_ccs = {s: [c.code for c in directory.cost_centers if c.site == s] for s in sites}
    corp_ccs = [c.code for c in directory.cost_centers if c.site is None]
    foreign = sorted(policy.spec.rates)

    drafts: list[RequisitionDraft] = []
    while len(drafts) < count:
        person = rng.choice(people)
        site = person.site if person.site and rng.random() < 0.85 else rng.choice(sites)
        local = site_ccs.get(site) or []
        cost_center = rng.choice(local) if local and rng.random() < 0.75 else rng.choice(corp_ccs)
        supplier = rng.choices(suppliers, weights=supplier_weights)[0]
        roll = rng.random()
        if supplier.currency != policy.currency:
            currency = supplier.currency
        elif roll < 0.08 and "EUR" in foreign:
            currency = "EUR"
        elif roll < 0.10 and foreign:
            currency = rng.choice(foreign)
        else:
            currency = policy.currency
        catalog = items_by_supplier.get(supplier.id, [])
        lines = []
        if currency == policy.currency and rng.random() < 0.05:
            lines.append(
                LineDraft(
                    description="quoted job",
                    quantity=Decimal(1),
                    unit_price=Decimal(rng.choice(ROUND_USD)),
                    item_type=rng.choice(ITEM_TYPES),
                    category=rng.choice(supplier.categories) if supplier.categories else None,
                )
            )
        for _ in range(0 if lines else _weighted(rng, LINE_COUNTS)):
            if catalog and rng.random() < 0.65:
                lines.append(_catalog_line(rng, rng.choice(catalog), currency, policy))
            else:
                lines.append(_free_line(rng, supplier, currency, policy))
        draft = RequisitionDraft(
            requester=person.id,
            site=site,
            cost_center=cost_center,
            supplier=supplier.id,
            currency=currency,
            lines=lines,
            urgency=_weighted(rng, URGENCY),
            recurring=rng.random() < 0.2,
            category=rng.choice(supplier.categories) if supplier.categories and rng.random() < 0.1 else None,
        )
        errors = validate_draft(draft, directory, policy)
        if errors:  # a generator bug, not data to skip: the benchmark must route valid requests only
            raise AssertionError(f"generated an invalid draft: {errors}")
        drafts.append(draft)
    return drafts


def generate_facts(directory: Directory, policy: LoadedPolicy, count: int, seed: int) -> list[dict[str, Any]]:
    """Routing facts for `count` generated drafts; some cost centers carry committed spend."""
    rng = random.Random(seed + 1)
    out = []
    for draft in generate_drafts(directory, policy, count, seed):
        committed = Decimal(rng.randrange(0, 40_000)) if rng.random() < 0.3 else Decimal(0)
        out.append(build_facts(draft, directory, policy, committed))
    return out
