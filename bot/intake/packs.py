"""How units nest in a message: "2 pallets, 40 cases each", "cases of 36 rolls", "4 rolls per case", "24-pack".

A price is for one unit ("$5.75 a case"); the quantity may be said in another ("2 pallets"). The line
is counted in the price's unit when the message says how the two nest (80 cases), and asked otherwise:
a quantity is never multiplied by a price for a different unit. Pure.
"""

from __future__ import annotations

import re
from decimal import Decimal

from bot.intake.lines import UNIT_WORDS, canonical_unit

_U = "|".join(sorted(UNIT_WORDS, key=len, reverse=True))
_INNER = rf"(?:{_U}|[a-z]{{3,}})"
# each pattern gives (outer, how many, inner): one outer holds that many inner
_NESTS = (
    # "2 pallets, 40 cases each", "2 pallets x 40 cases", "1 pallet = 36 pails"
    re.compile(
        rf"\b\d[\d,]*\s*(?P<outer>{_U})\s*(?:,|x|of|with|=|\()?\s*(?P<n>\d[\d,]*)\s*(?P<inner>{_INNER})\s+each\b"
    ),
    re.compile(rf"\b\d[\d,]*\s*(?P<outer>{_U})\s*(?:x|=)\s*(?P<n>\d[\d,]*)\s*(?P<inner>{_INNER})\b"),
    # "cases of 36 rolls", "a case of 12 packs", "bag of 250"
    re.compile(rf"\b(?P<outer>{_U})\s+of\s+(?P<n>\d[\d,]*)(?:\s+(?P<inner>{_INNER}))?"),
    # "4 rolls per case", "25 bundles a skid", "500 per roll", "6 dozen per case"
    re.compile(
        rf"\b(?P<n>\d[\d,]*)\s*(?P<inner>{_INNER})?(?:\s+(?:per|a|an|/|in a|in each|to a|to the)\s+|\s*/\s*)"
        rf"(?P<outer>{_U})\b"
    ),
    # "24-pack"
    re.compile(r"\b(?P<n>\d+)-(?P<outer>pack|pk|case|box|bag)\b"),
)
_BUILT_IN = {("dozen", "each"): Decimal(12)}


def nests(text: str) -> dict[tuple[str, str], Decimal]:
    """(outer, inner) -> how many inner one outer holds, as the message says it. Inner words that are not
    units ("bearings", "labels") count as pieces."""
    found: dict[tuple[str, str], Decimal] = dict(_BUILT_IN)
    for pattern in _NESTS:
        for m in pattern.finditer(text):
            outer = canonical_unit(m.group("outer"))
            inner_word = m.groupdict().get("inner")
            inner = _unit_or_each(inner_word)
            n = Decimal(m.group("n").replace(",", ""))
            if outer and inner and outer != inner and n > 0:
                found.setdefault((outer, inner), n)
    return found


# units that hold other units: a count in one of them is never "of what a case holds"
_PACKINGS = frozenset(
    {"case", "box", "pack", "bag", "carton", "bundle", "pallet", "skid", "drum", "tote", "kit", "set"}
)


def _unit_or_each(word: str | None) -> str:
    if not word:
        return "each"
    unit = canonical_unit(word)
    return unit if unit and word.lower() in UNIT_WORDS else "each"


# Units whose size is in the word itself: "3 dozen mop heads at $4.25 each" is 36 mop heads.
_FIXED = {("dozen", "each"): Decimal(12), ("pair", "each"): Decimal(2)}


def convert(quantity: Decimal, unit: str | None, to_unit: str, known: dict[tuple[str, str], Decimal]) -> Decimal | None:
    """`quantity` of `unit` counted in `to_unit`, through what the message says (one or two steps), or None
    when it does not say or the count is not whole."""
    start = canonical_unit(unit) or "each"
    target = canonical_unit(to_unit) or "each"
    start, target = ("each" if u in ("piece", "unit") else u for u in (start, target))  # "1,500 pcs": pieces
    if start == target:
        return quantity
    known = {**_FIXED, **known}  # what the message says wins over the word's own size
    for (outer, inner), n in known.items():
        if outer == start and inner == target:
            return quantity * n
        if outer == target and inner == start:
            packs = quantity / n
            return packs if packs == packs.to_integral_value() else None
    if start not in _PACKINGS:
        for (outer, inner), n in known.items():
            if outer == target and inner == "each":
                # "48 rolls of tape, sold in cases of 12 at $54/case": a case of 12 of what is counted
                packs = quantity / n
                return packs if packs == packs.to_integral_value() else None
    for (outer, inner), n in known.items():  # two steps: pallets of cases of rolls
        if outer == start:
            through = convert(quantity * n, inner, target, {k: v for k, v in known.items() if k != (outer, inner)})
            if through is not None:
                return through
    return None
