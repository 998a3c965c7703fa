"""Sellers people name without a "from" that the company's directory may not have yet.

"sherwin williams, traffic paint, 8 gal", "Team lunch ... 18 people, Costco": a well-known store or distributor
named on its own. When the directory does not know it, it is named back to the person (and kept for the buyer),
never left in the item's description. Product brands (HP, 3M, Honeywell) are not here: they name what is bought,
not who sells it. Words that are also ordinary English (Target, Subway) are left out too."""

from __future__ import annotations

import re

_NAMES = (
    r"home\s*depot",
    r"lowe'?s",
    r"menards",
    r"ace\s+hardware",
    r"costco",
    r"sam'?s\s+club",
    r"walmart",
    r"amazon(?:\s+business)?",
    r"best\s*buy",
    r"office\s*depot",
    r"office\s*max",
    r"w\.?\s?b\.?\s+mason",
    r"quill",
    r"zoro",
    r"mcmaster(?:[\s-]+carr)?",
    r"global\s+industrial",
    r"northern\s+tool",
    r"harbor\s+freight",
    r"tractor\s+supply",
    r"sherwin[\s-]+williams",
    r"sherwin",
    r"airgas",
    r"sunbelt\s+rentals",
    r"united\s+rentals",
    r"herc\s+rentals",
    r"orkin",
    r"terminix",
    r"ecolab",
    r"aramark",
    r"unifirst",
    r"newegg",
    r"b\s?&\s?h(?:\s+photo)?",
    r"sysco",
    r"restaurant\s+depot",
    r"princess\s+auto",
    r"canadian\s+tire",
    r"red\s+wing(?:\s+shoes)?",
    r"kelly\s+services",
    r"robert\s+half",
    r"manpower",
    r"vistaprint",
    r"1-800-flowers",
    r"domino'?s",
    r"panera",
)
KNOWN_VENDOR = re.compile(r"(?<![\w-])(?:" + "|".join(_NAMES) + r")(?![\w-])", re.IGNORECASE)
