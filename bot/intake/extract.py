"""Reading one free-text purchase message into facts, without guessing.

"need 40 rolls of stretch wrap for Dallas from Uline, about $32 a roll, by Friday, urgent"
gives one line (40 roll, stretch wrap, PKG-SW-18, $32/roll), supplier uline, site DAL, need-by
the coming Friday in the requester's time zone, urgency urgent. Each recognised span is blanked
out of a working copy, so what is left is the item text; words that match nothing are reported
back as unread instead of becoming facts. Pure: no database, no network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import dateparser
from rapidfuzz import fuzz, process

from approvals.category_learning import LearnedClassifier
from approvals.classify import CatalogClassifier, Classifier
from approvals.directory import Directory, Item
from bot.intake.lines import (
    CANONICAL,
    PERIOD_UNITS,
    REFERENCE,
    SCOPE,
    SERVICE,
    SIZE,
    UNIT_WORDS,
    VAGUE_THING,
    LineText,
    canonical_unit,
    named_again,
    read_lines,
)
from bot.intake.numbers import money_amount, words_to_digits, written_forms
from bot.intake.packs import convert, nests
from bot.intake.tables import rows_as_sentences
from bot.intake.vendors import KNOWN_VENDOR

FUZZY_NAME = 84  # supplier/site names: "grainer" -> Grainger, "dalas" -> Dallas
MAX_QUANTITY = Decimal("1000000")
_EXACT = Decimal("0.000001")  # a unit price from a stated total: qty x price gives the total back to the cent

NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "hundred": 100,
    "a hundred": 100,
    "a couple of": 2,
    "a couple": 2,
    "a pair of": 2,
    "a": 1,
    "an": 1,
}
VAGUE = (
    "a lot of",
    "a lot",
    "lot of",
    "lots of",
    "lots",
    "a bunch of",
    "a bunch",
    "some",
    "several",
    "a few",
    "many",
    "plenty of",
    "tons of",
    "loads of",
)
UNITS = (
    "rolls",
    "roll",
    "boxes",
    "box",
    "bundles",
    "bundle",
    "cases",
    "case",
    "pallets",
    "pallet",
    "each",
    "ea",
    "pcs",
    "pc",
    "pieces",
    "piece",
    "units",
    "unit",
    "dozen",
    "dz",
    "pairs",
    "pair",
    "packs",
    "pack",
    "pails",
    "pail",
    "gallons",
    "gallon",
    "gal",
    "drums",
    "drum",
    "cartons",
    "carton",
    "bays",
    "bay",
    "months",
    "month",
    "shipments",
    "shipment",
    "loads",
    "load",
    "sets",
    "set",
    "kits",
    "kit",
    "reams",
    "ream",
    "spools",
    "spool",
    "bags",
    "bag",
    "lbs",
    "lb",
    "feet",
    "ft",
    "sheets",
    "sheet",
    "licenses",
    "license",
    "endpoints",
    "endpoint",
    "mailboxes",
    "mailbox",
    "seats",
    "seat",
    "tires",
    "tire",
    "cs",
    "pk",
    "pks",
    "bx",
    "bxs",
    "rl",
    "rls",
    "plt",
    "plts",
    "kg",
    "kgs",
    "users",
    "user",
    "hours",
    "hour",
    "hrs",
    "hr",
    "visits",
    "visit",
    "years",
    "year",
    "yrs",
    "yr",
    "weeks",
    "week",
    "tubes",
    "tube",
    "cans",
    "can",
    "bottles",
    "bottle",
    "jugs",
    "jug",
    "totes",
    "tote",
    "buckets",
    "bucket",
    "skids",
    "skid",
    "yards",
    "yard",
    "meters",
    "meter",
    "liters",
    "liter",
    "ctn",
    "ctns",
    "pr",
    "prs",
    "mo",
    "mos",
    "wk",
    "wks",
    "coils",
    "coil",
    "cajas",
    "caja",
    "rollos",
    "rollo",
    "docenas",
    "docena",
    "cubetas",
    "cubeta",
    "piezas",
    "pieza",
    "paquetes",
    "paquete",
)
_UNIT_RE = "|".join(sorted(UNITS, key=len, reverse=True))
_SINGULAR = {
    "boxes": "box",
    "pcs": "piece",
    "ea": "each",
    "dz": "dozen",
    "lbs": "lb",
    "gal": "gallon",
    "ft": "foot",
    "feet": "foot",
    "pieces": "piece",
    "tires": "tire",
    "cs": "case",
    "pk": "pack",
    "pks": "pack",
    "bx": "box",
    "bxs": "box",
    "rl": "roll",
    "rls": "roll",
    "plt": "pallet",
    "plts": "pallet",
    "kgs": "kg",
    "hrs": "hour",
    "hr": "hour",
    "yrs": "year",
    "yr": "year",
    "ctn": "carton",
    "ctns": "carton",
    "pr": "pair",
    "prs": "pair",
    "licenses": "license",
    "users": "user",
    "seats": "seat",
    "endpoints": "endpoint",
    "mailboxes": "mailbox",
    "mo": "month",
    "mos": "month",
    "wk": "week",
    "wks": "week",
}
_NUM = r"\d[\d,]*(?:\.\d+)?"
# a price said aloud in two numbers ("twelve fifty a box"), which the number words become ("12 50 a box")
_SPOKEN_TEENS = re.compile(
    r"\b(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)[\s-]+"
    r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)\b",
    re.IGNORECASE,
)
_SPOKEN_PAIR = re.compile(r"(?<![\d.,$])\b(1\d)\s([2-9]\d)\b(?=\s+(?:a|an|per|each|ea|apiece|bucks|dollars)\b)")
# "412 each drum", "31 dollars every roll": the price of one drum, one roll
_PRICE_EACH_UNIT = re.compile(
    rf"(?P<n>\d(?:\s*(?:dollars?|bucks))?)\s+(?:each|every)\s+(?=(?:{_UNIT_RE})\b)(?!each\b)", re.IGNORECASE
)
_AMT = r"(?:\d(?:[\d.,]*\d)?|\.\d\d?\b)"  # an amount in any local format; numbers.money_amount reads its separators
_CUR_WORD = r"usd|eur|gbp|cad|mxn|dollars?|bucks|euros?|pounds?"
_PRICE_UNIT = r"(?:each|ea|apiece|a piece|per\b|/\s?[a-z]|an?\s+(?:{u})\b)"
_AFTER_BARE_EACH = (
    r"(?=\s*(?:$|[,;.)!?]|\s(?:and|plus|from|for|by|at|with|total|from|thru|through|via|ship|so|x|need|want|qty|deliver|"
    r"delivered|to|asap|thanks|thx|charge|charged|bill|billed|on|under|account|acct|cost|but|or|if|ok|okay|cheers|"
    r"actually|sorry|wait|oops|correction|make|"
    r"i need|we need|please|pls)\b))"
)
MONEY = re.compile(
    rf"(?:(?P<pre>\b(?:usd|eur|gbp|cad|mxn|us\$)\s?|[$€£]\s?)(?P<n1>{_AMT})\s?(?P<k1>k|m)?\b"
    rf"|\b(?P<n2>{_AMT})\s?(?P<k2>k|m)?\s?(?P<post>\b(?:{_CUR_WORD})\b|€)"
    rf"|(?P<at>@)\s?(?P<n3>{_AMT})(?P<k3>k)?(?!\d|[.,]\d)"
    rf"|(?P<atw>\bat\b)\s?(?P<n9>{_AMT})(?P<k9>k)?(?=\s*(?:/|per\b|a\b|an\b|each\b|ea\b|apiece\b|$|,|;|"
    rf"[.!?](?:\s|$)|\)|\s+(?:by|for|from|and|plus|w|with)\b))"
    rf"|(?<![\w.])(?P<n4>{_AMT})(?P<k4>k)?(?=\s*(?:each|ea|apiece|a pop|a piece|cada un[oa]|c/u){_AFTER_BARE_EACH}"
    rf"|\s*(?:per\s|/\s?|an?\s+|la\s+|el\s+|por\s+)(?:{_UNIT_RE})\b)"
    rf"|(?<![\w.,/-])(?P<n5>\d+(?:\.\d+)?k)\b"
    rf"(?!\s*(?!(?:total|budget|all|in total|max|or so|for all|for everything|for the lot|to spend|installed|"
    rf"delivered|shipped|including|incl|with|plus|each|ea|apiece|per|for|tops|max|or less|from|via|through|thru|"
    rf"quoted|labor|labour|parts)\b)[a-z]{{2,}})"
    rf"|(?<![\w.,/-])(?P<n6>\d{{1,3}}(?:,\d{{3}})*\.\d\d)\b(?![\w\"'/-]|\s*(?:in|inch|ft|mm|cm|lb|kg|gal|x)\b)"
    # a bare number where people put a price: "quoted 485", "for 212", "flat 425", "1,150 quoted", "2 grand"
    rf"|\b(?P<lead7>(?:it'?s|it is|they'?re|costs?|runs?|prob(?:ably)?|maybe)\s+like|"
    rf"for|quoted|quote|quotes|quoting|price|priced|cost|costs|charges?|flat|paid|runs?|budget|"
    rf"came to|comes to|total(?:ing)?|totall?ing|at|is|of|was|around|about|roughly|approx\.?|cap|max|nte|"
    rf"exceed)[ \t]+"
    rf"(?:of\s+|is\s+|about\s+|"
    rf"around\s+|~\s?)?(?P<n7>\d[\d,]*(?:\.\d+)?)(?P<k7>k)?(?!(?:\d|[,.]\d)*\s*(?:[x×%/]|-(?=\s*\d)|(?<!\s)-|(?:{_UNIT_RE})\b|(?:{_CUR_WORD})\b|"
    rf"(?!(?:total|quoted|grand|bucks|all|in total|each|ea|apiece|per|for|but|and|so|because|plus|please|pls|flat|firm|"
    rf"including|incl|with|before|after|tax|shipping|delivered|installed|if|which|that|though|then|thanks)\b)"
    rf"(?:[a-z]{{3,}}|(?!(?:to|in|on|at|by|or|if|so|we|it|is|as|up|ok|me|us|my)\b)[a-z]{{2}}\s+[a-z]{{3,}})))(?!\w)"
    rf"|\b(?P<n8>\d[\d,]*(?:\.\d+)?)(?P<k8>k)?\s*"
    rf"(?:(?P<g>grand|quoted|all in|all-in|out the door|total|in total|all told)\b"
    rf"|(?=for\s+the\s+(?:lot|job|work|week|day|month|year|box|case|pack|set|kit|batch|whole\s+thing)\b)))"
)
# Instruction-like words in a request: to the approver or the system, not about the purchase. The clause they
# start runs to the next sentence break or to the first words that say what is wanted.
_INSTRUCTION = re.compile(
    r"(?:\b(?:please\s+)?(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|the\s+|any\s+|your\s+|my\s+)?"
    r"(?:previous|prior|above|earlier|approval|policy|usual|normal)?\s*(?:instructions|rules|checks|limits|policy|"
    r"approvals?|review|messages|process|workflow)"
    r"|\bsystem\s*(?:override|prompt|message)\b|\byou are now\b|\bact as (?:an?\s+)?(?:admin|administrator|approver)\b"
    r"|\boverride (?:the\s+)?(?:category|route|routing|approvers?|limits?|policy|rules?)(?:\s+to\s+[a-z]+)?"
    r"(?:\s+and\s+approve)?\b"
    r"|\b(?:auto[- ]?approve|approve (?:this|it|everything|all)(?: (?:now|immediately|without (?:review|asking)))?"
    r"|mark (?:it |this )?(?:as )?(?:pre-?approved|approved)|pre-?approved|no (?:approval|review) needed"
    r"|(?:just )?submit it without (?:review|approval)|skip (?:the )?approval)\b)"
    r"[^.;:\n!?$@€£]*?(?=[.;:\n!?$@€£]|\s*(?:\d|$)|\s+(?:need|order|buy|get|please order|from|at|for|by|via)\b)",
    re.IGNORECASE,
)
# where an item's name ends and what it is for begins ("copy paper de la impresora" is copy paper)
_HEAD_ENDS = r"\b(?:for|from|to|with|on|at|in|de|del|para|con|por|starting|beginning)\b"
_DIAS = {
    "lunes": "monday",
    "martes": "tuesday",
    "miercoles": "wednesday",
    "miércoles": "wednesday",
    "jueves": "thursday",
    "viernes": "friday",
    "sabado": "saturday",
    "sábado": "saturday",
}


def _spanish_dates(text: str) -> str:
    """ "para el 18", "para el viernes": the floor's Spanish need-by dates, in the words the date reader knows."""
    text = re.sub(r"\bpara el (\d{1,2})(?![\d/:.,]|\s*(?:de|del)\s+\d)", r"by the \1th", text, flags=re.IGNORECASE)
    return re.sub(
        r"\bpara el (" + "|".join(_DIAS) + r")\b",
        lambda m: "by " + _DIAS[m.group(1).lower()],
        text,
        flags=re.IGNORECASE,
    )


_LIST_MARKER = re.compile(
    r"(?:^|\n)[ \t]*(?P<m>\d{1,2}[.)]|[-*•>]+|\(\d{1,2}\)|(?:pos|item|line)\.?\s*\d{1,3}[.:)]?)(?=[ \t]+\S)"
)
_PRICE_LEAD = re.compile(
    r"(?:\b(?:at|for|about|around|approx\.?|roughly|priced at|costs?|came to|comes to|coming to)|@|=|~)\s*$"
)
_PRICED_UNIT_BEFORE = re.compile(
    rf"(?<!\bcu )(?<!\bcu\. )(?<!\bsq )(?<!\bsq\. )(?<!\bcubic )(?<!\bsquare )"  # "18 cu ft for $699": a size
    rf"\b(?:\d+-)?(?P<u>{_UNIT_RE})(?:\s+of\s+\d[\d,]*(?:\s+[a-z]+)?)?"
    rf"\s+(?:is|are|for|at|costs?|runs?|go for|goes for)\s*$"
)
_ESTIMATE = re.compile(r"(?:about|around|approx\.?|approximately|roughly|~|est\.?|estimated|maybe|ish)\s*$")
_PERIODS = r"month|mo|year|yr|annum|week|quarter"
_PERIOD = re.compile(
    rf"^\s*(?:(?:a|an|per|/|each)\s*(?P<p>{_PERIODS})|(?P<adv>monthly|weekly|yearly|annually|quarterly))\b"
    rf"(?:\s*(?:for|x|over|,)\s*(?P<n>\d+|a|an|one)[\s-]*(?P<t>{_PERIODS})s?\b)?"
)
_PERIOD_WORDS = {
    "month",
    "months",
    "mo",
    "mos",
    "year",
    "years",
    "yr",
    "week",
    "weeks",
    "wk",
    "wks",
    "quarter",
    "quarters",
}
_PERIOD_TERM = re.compile(rf"^\s*(?:for|x|over|,)\s*(?P<n>\d+|a|an|one)[\s-]*(?P<t>{_PERIODS})s?\b")
_ADVERB_PERIOD = {"monthly": "month", "weekly": "week", "yearly": "year", "annually": "year", "quarterly": "quarter"}
_MONTHS_IN = {"month": 1, "mo": 1, "quarter": 3, "year": 12, "yr": 12, "annum": 12}


def _term(m: re.Match[str], period: str) -> Decimal | None:
    """How many `period`s "for a year" or "x 6 months" is (12 months, 6 months, 1 year)."""
    if not m.groupdict().get("t"):
        return None
    count = Decimal(1) if m.group("n") in ("a", "an", "one") else Decimal(m.group("n"))
    unit = m.group("t")
    per = {"mo": "month", "yr": "year", "annum": "year"}.get(period, period)
    if per == "week" or unit == "week":
        return count if per == unit else None
    months = count * _MONTHS_IN.get(unit, 1)
    size = _MONTHS_IN.get(per, 1)
    return (months / size) if months % size == 0 else None


_PER = re.compile(
    rf"^\s*(?:a pop\b|a piece\b|/\s*|per\s+|an?\s+(?={_UNIT_RE}|[a-z]{{3,}}\s*(?:$|[,.;)]))"
    rf"|for (?:a|one|each|the)\s+(?={_UNIT_RE})|la\s+|el\s+"
    rf"|por\s+|each\b|ea\b|apiece\b|cada un[oa]\b|c/u\b)"
    rf"(?P<unit>{_UNIT_RE}|(?<=per )[a-z]{{3,}}|(?<=/)[a-z]{{2,}}|(?<=\ba )[a-z]{{3,}}(?=\s*(?:$|[,.;)])))?\b"
    rf"(?:\s+of\s+(?P<pack>\d[\d,]*)\b(?:\s+(?P<inner>{_UNIT_RE})\b)?)?"
)
_SELLS_THEM_FOR = re.compile(
    r"\b(?:has|have|had|sells?|carr(?:y|ies)|stocks?|lists?)\s+(?:them|those|these|one|the \w+s)(?:\s+(?:for|at))?\s*$"
)
_TOTAL_AFTER = re.compile(
    r"^[ \t]*(?:total|in total|all in|altogether|overall"
    r"|for (?:all|everything|the (?:lot|box|case|pack|set|kit|batch|order|whole (?:thing|lot|order))))\b"
)
# "$300 for 2 chargers", "CAD 450 for 2 pallet jacks": the amount pays for that many; the count stays to be read
_FOR_COUNT = re.compile(
    r"^\s*for\s+(?:the\s+)?(?:\d[\d,]*|both|all\s+\d+)\b(?!\s*(?:[x×/-]|months?|mos?|years?|yrs?|weeks?|wks?|days?|"
    r"hours?|hrs?|quarters?|people|persons?|gal|gallons?|lbs?|kgs?|ft|in|inch|oz|mm|cm|l|liters?|v|amps?|hp|w)\b)"
)
# "budget for this is $600", "not to exceed $5,000", "spending cap 1,200", "up to USD 2k": a budget is what
# the whole request may cost
_BUDGET_BEFORE = re.compile(
    r"\b(?:budget(?:ed)?|not to exceed|nte|up to|cap(?:ped)?|max(?:imum)?|to spend|spend(?:ing)?|allocate[d]?)\b"
    r"[^.;\n$€£\d]{0,24}$"
)
_BUDGET_AFTER = re.compile(
    r"^\s*(?:to spend|budget|max|tops|or less|at most|worth(?:\s+of)?|(?:left\s+)?in\s+(?:the|my|our)\s+budget)\b"
)
_TOTAL_SAID_BEFORE = re.compile(r"\b(?:grand\s+)?total(?:\s+(?:of|is|was|comes to|came to|cost))?\s*[:=]?\s*$")
_TOTAL_BEFORE = re.compile(
    r"(?:total(?: of)?|totall?ing|budget(?: of)?|for|costs?|worth(?: of)?|=|came to|comes to|coming to|gesamt|summe|"
    r"insgesamt)\s*"
    r"(?:about|around|~|approx\.?|roughly)?\s*$"
)
_CURRENCY = {
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "usd": "USD",
    "eur": "EUR",
    "gbp": "GBP",
    "cad": "CAD",
    "mxn": "MXN",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "pound": "GBP",
    "pounds": "GBP",
}

_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday|rsday)?"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
DATE = re.compile(
    rf"\b(?P<lead>(?:need(?:ed)?\s+(?:it\s+)?|deliver(?:ed)?\s+|due\s+|arrive\s+)?(?:by|before|on|until|for|no later than|due)\s+|need(?:ed)?\s+)?"  # noqa: E501
    rf"(?P<d>(?:next|this|coming|last)\s+{_WEEKDAY}|{_WEEKDAY}|today|tonight|tomorrow|tmrw|tmr|yesterday|eod|eow|eom"
    rf"|end of (?:the )?(?:day|week|month)|end of next week|(?:before |by )?christmas(?: eve)?|new year'?s(?: eve)?"
    rf"|next (?:week|month)|in \d+ (?:days?|weeks?)|{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?"
    rf"|the \d{{1,2}}(?:st|nd|rd|th)\b(?! of)"
    rf"|\d{{1,2}}(?:st|nd|rd|th)? (?:of )?{_MONTH}(?: \d{{4}})?|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?|\d{{4}}-\d{{2}}-\d{{2}})\b"  # noqa: E501
)
URGENCY = re.compile(
    r"\b(?P<e>emergency|line(?: is)? down|critical|safety issue)\b|\b(?P<u>urgent(?:ly)?|asap|a\.s\.a\.p|"
    r"rush|expedite[d]?|right away|immediately|high priority)\b|\b(?P<s>no rush|not urgent|whenever|"
    r"standard|low priority)\b"
)
JUSTIFY = re.compile(
    r"\b(?:because|since|so that|reason\s*:|justification\s*:|why\s*:)\s*(?P<j>[^.;,\n]{3,300})"
    r"|\b(?P<r>to replace [^.;,\n]{3,200})"
)
CC = re.compile(r"\b(?:cost cent(?:er|re)\s*|cc\s*)?(?P<code>[a-z]{2,5}-[a-z]{2,6})\b")
_STOP = r"(?!(?:for|to|at|in|by|on|from|about|around|via|and|with|because|since|@|its|it's|is|was|has|have|had|"
_STOP += r"they|said|quoted|is|are|says|like|sells|said|can|could|will|would|should|asap|today|tomorrow|tmrw|"
_STOP += r"please|pls|thanks|thx|"
_STOP += r"here|there|this|us|you|me|someone|somebody|anyone|anybody|whoever|them)\b)"
# the name runs until the next preposition, so "from u-line for CHI" leaves "for CHI" to the site
SUPPLIER_LEAD = re.compile(
    rf"\b(?:from|via|through|thru|(?:supplier|vendor|company)(?:\s+(?:is|was|will be|name is))?:?|order from|"
    rf"buy from|(?:billed|invoiced|supplied|provided|sold|installed|serviced|done|fixed|repaired) by|"
    rf"(?P<role>(?:contractor|provider|carrier|installer|roofer|plumber|electrician|(?:[a-z]+\s+)?guys?)"
    rf"(?:\s+(?:is|was|will be|are|name is))?:?))\s+"
    rf"(?P<x>{_STOP}[a-z0-9][a-z0-9&.'\-]*(?:\s+{_STOP}[a-z0-9&.'\-]+){{0,3}})"
)
_PER_PLACE = re.compile(
    r"\b(?:per|each|every|a)\s+(?:site|dc|warehouse|location|branch|building|store|plant)\b"
    r"|\bfor each of (?:the|our)\b|\b(?:at|to|for) each (?:site|dc|warehouse|location|branch)\b"
)
# "5 each for Dallas and Chicago" splits a count; "at 200 each for Phoenix" is a price (said after a price word)
_EACH_FOR = re.compile(
    r"(?<![$€£@\d\s])(?<!\bat)(?<!\bfor)(?<!\bprice)(?<!\bcost)(?<!\bcosts)(?<!\bpay)(?<!\bpaying)"
    r"\s+\d+\s+(?:each|apiece)\s+(?:for|at|in)\s+(?:the\s+)?"
)
_LEAD_TIME = re.compile(
    r"\b(?:delivery|lead ?time|ships?|shipping|eta|turnaround|valid(?: for)?)\s*(?:time\s*)?(?:is\s+|in\s+|of\s+|:\s*)?"
    r"(?:about\s+|approx\.?\s*|~\s*)?\d+(?:\s*-\s*\d+)?\s*(?:business\s+|working\s+)?(?:days?|weeks?|wks?)\b"
    r"|\b\d+(?:\s*-\s*\d+)?\s*(?:days?|weeks?|wks?)\s+(?:delivery|lead ?time|aro|turnaround)\b"
    # "can come in 2 hrs", "within 4 hours": when someone comes, never how many are bought
    r"|\b(?:in|within)\s+(?:about\s+|approx\.?\s*|~\s*)?\d+(?:\.\d+)?\s*(?:hrs?|hours?|mins?|minutes?)\b"
    r"|\bdelivery\s+(?:in\s+)?(?:calendar\s+)?(?:week|wk|kw)\s*\d+\b"  # "delivery week 2": a week of the year
    r"|\b(?:lieferzeit|liefertermin)\s*:?\s*(?:ca\.?\s*)?\d+(?:\s*-\s*\d+)?\s*(?:wochen|tage|arbeitstage|kw)\b"
)
# "ship to reno", "deliver to the Boise warehouse": where it goes, named as a site
_SHIP_TO = re.compile(
    r"\b(?:ship(?:ped)?|deliver(?:ed)?|send(?: it)?)\s+to:?\s+(?:the\s+|our\s+)?"
    r"(?P<x>[a-z][a-z.'-]{2,}(?:\s+[a-z][a-z.'-]{2,})?)"
    r"(?=\s*(?:dc|warehouse|site|branch|plant|facility|location|office)?\s*(?:[,.:;!?]|$))"
)
# "for the Denver site", "Boise DC needs ...": a capitalised place before a word that says it is a site
_PLACE_NAMED = re.compile(
    r"(?:\b(?:[Ff]or|[Aa]t|[Tt]o|[Ii]n)\s+(?:the\s+|our\s+)?|^|(?<=[.!?:;]\s))"
    r"(?P<x>[A-Z][a-z]{2,}(?:\s+[A-Z][a-z]{2,})?)\s+(?:DC|dc|[Ss]ite|[Ww]arehouse|[Bb]ranch|[Pp]lant|[Ff]acility|[Yy]ard|"
    r"[Dd]istribution [Cc]enter)\b"
)
_NOT_PLACE_WORDS = {
    "new",
    "main",
    "corporate",
    "central",
    "east",
    "west",
    "north",
    "south",
    "other",
    "same",
    "whole",
    "this",
}
_NOT_PLACES = {
    "customer",
    "customers",
    "vendor",
    "supplier",
    "me",
    "us",
    "you",
    "them",
    "him",
    "her",
    "it",
    "there",
    "here",
    "site",
    "dock",
    "office",
    "warehouse",
    "store",
    "home",
    "address",
    "same",
    "usual",
    "everyone",
    "all",
}
SITE_LEAD = re.compile(
    rf"\b(?:for|to|at|in|ship to|deliver to|site|warehouse|dc|branch)\s+(?:the\s+)?"
    rf"(?P<x>{_STOP}[a-z][a-z.'\-]*(?:\s+{_STOP}[a-z.'\-]+){{0,2}})"
)
# site codes that are also everyday words or abbreviations: only read as a site in capitals ("SEA", not "sea")
_WORD_CODES = {
    "sea",
    "in",
    "or",
    "me",
    "hi",
    "ok",
    "oh",
    "la",
    "co",
    "de",
    "pa",
    "ma",
    "al",
    "ga",
    "va",
    "id",
    "am",
    "pm",
    "ea",
    "pc",
    "pk",
    "cs",
    "bx",
    "lb",
    "ft",
    "gal",
    "per",
    "box",
    "can",
    "van",
    "bay",
    "lot",
    "dock",
    "yard",
    "mo",
    "yr",
    "qty",
    "mix",
    "den",
    "fat",
    "pit",
    "ram",
    "tam",
    "mia",
    "bos",
    "sac",
    "sun",
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
    "all",
}
# shop-floor shorthand, read before the catalog is searched
_ABBREVIATIONS = {
    "hyd": "hydraulic",
    "hydr": "hydraulic",
    "flt": "forklift",
    "f/l": "forklift",
    "lbl": "label",
    "brg": "bearing",
    "brgs": "bearings",
    # British and Canadian spellings of the catalog's words
    "tyre": "tire",
    "tyres": "tires",
    "catalogue": "catalog",
    "colour": "color",
    "aluminium": "aluminum",
    "labour": "labor",
    "licence": "license",
    "licences": "licenses",
    "metre": "meter",
    "litre": "liter",
    "fibre": "fiber",
}
_ABBREVIATION = re.compile(r"\b(?:" + "|".join(re.escape(a) for a in _ABBREVIATIONS) + r")\b", re.IGNORECASE)
# "zoro has them", "mcmaster sells it", "amazon.com": a seller named without "from"
_TIME_WORD = re.compile(
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*|(?:mon|tues|wednes|thurs|fri|satur|sun)day|"
    r"today|tomorrow|tonight|next|end|the|this|week|month|year|noon|eod|eow|eom"
)
_SELLER = re.compile(
    r"(?:^|[.,;:!?(]\s*|\b(?:and|but|because|since|cuz)\s+)(?!(?:and|but|because|since|cuz|so|then)\s)"
    r"(?P<x>[a-z][a-z0-9&'\-]{2,}(?:\.com)?"
    r"(?:\s+(?!(?:usually|normally|always|also|still|typically|just)\b)[a-z][a-z0-9&'\-]{2,})?)"
    r"\s+(?:(?:usually|normally|always|also|still|typically|just)\s+)?"
    r"(?:has|have|had|sells|carries|carry|stocks|quoted|can get|can do|"
    r"is cheaper|are cheaper|offers|is fine|is ok|is okay|works)\b"
    r"|\b(?P<y>[a-z][a-z0-9\-]{2,}\.com)\b"
)
_NOT_SELLERS = {
    "they",
    "it",
    "he",
    "she",
    "we",
    "i",
    "you",
    "who",
    "that",
    "this",
    "the shop",
    "the vendor",
    "vendor",
    "supplier",
    "the supplier",
    "nobody",
    "everyone",
    "someone",
    "one",
    "which",
    "what",
    "she",
    "he",
    "tech",
    "the tech",
    "guy",
    "the guy",
    "store",
    "the store",
    "our vendor",
    "our supplier",
    "the usual",
    "usual",
    "the price",
    "price",
    "quote",
    "the quote",
}
# "pk of 12 = $45", "case of 6 is $80": a pack's own price follows what it holds
_PACK_EQUALS = re.compile(
    r"\b(?P<u>pk|pks|pack|packs|box|bx|case|cs|bag|bundle|carton)\s+of\s+\d+\s*(?:=|is|for|costs?|@)\s*$"
)
# a price of one, said as money beyond doubt: "$4.50 each", "42,50 EUR each", "@ 3.20 ea"
_MARKED_PRICE = re.compile(
    r"(?:[$\u20ac\u00a3@]\s?\d[\d.,]*|\d[\d.,]*\s?(?:usd|eur|gbp|cad|\u20ac|\u00a3)(?!\w)|\b(?:usd|eur|gbp)\s?\d[\d.,]*)"
    r"\s*(?:each|ea|apiece|a piece|per (?:piece|unit|item))\b"
)
# words around "4K" that make it a screen's resolution
_PICTURE = re.compile(
    r"\b(?:tv|tvs|display|monitor|screen|camera|uhd|hdr|video|projector|television)s?\b|\d\s*(?:\"|in\b|inch)"
)
# what a count can be packed in: "24/cs" before a price says what a case holds
_CONTAINERS = frozenset({"case", "box", "pack", "bag", "carton", "bundle", "pallet", "roll", "drum", "tube", "sleeve"})
# the pieces of a message set apart by commas, semicolons, dashes with spaces, sentence ends or line ends
_NAME_SEGMENT = re.compile(
    r"[^,;\n\u2013\u2014]+?(?=\s+[-\u2013\u2014]\s+|[,;\n\u2013\u2014]|[.!?:](?=\s+[A-Z0-9$\u00a3\u20ac])|$)"
)
# the last word of a firm's name ("Sun Valley Electric", "Desert Fence Co."): a seller even when it names a trade
_FIRM_WORDS = frozenset(
    "co company inc llc ltd lp corp corporation group services service supply supplies electric electrical plumbing "
    "roofing mechanical rentals rental solutions systems industries logistics transport trucking drayage fence door "
    "doors air hvac pros contractors construction landscaping cleaning janitorial security".split()
)
# a capitalised name followed by its price or by what the seller did: "Goettl is doing it", "Pacific Air 650"
_NAME_THEN_PRICE = re.compile(
    r"(?P<name>[A-Z][A-Za-z'&.\-]*(?:\s+(?:[A-Z][A-Za-z'&.\-]*|&|of|and)){0,4})\s+"
    r"(?:[$\u00a3\u20ac]?\d|(?:says|said|quoted|quotes|charges|is doing|will do|can do|can come|came out)\b|"
    r"(?:at|@)\s*[$\u00a3\u20ac]?\d)"
)
# "Pacific Pride", "ABC Roofing", "Shred-it", "ADT", "Desert Fence Co.": every word capitalised, no digits
_PROPER_NAME = re.compile(r"(?:[A-Z][A-Za-z'&.\-]*|&)(?:\s+(?:[A-Z][A-Za-z'&.\-]*|&|of|and))" r"{0,3}")
# capitalised words that begin or end a piece of a message without naming a seller
_NOT_NAMES = {
    "thanks",
    "thank",
    "thx",
    "cheers",
    "regards",
    "best",
    "please",
    "pls",
    "hi",
    "hello",
    "hey",
    "team",
    "asap",
    "urgent",
    "fyi",
    "po",
    "pr",
    "eom",
    "eod",
    "eta",
    "tbd",
    "net",
    "usd",
    "eur",
    "gbp",
    "cad",
    "total",
    "each",
    "annual",
    "monthly",
    "weekly",
    "yearly",
    "quarterly",
    "capex",
    "opex",
    "corporate",
    "corp",
    "ops",
    "it",
    "the",
    "a",
    "an",
    "same",
    "also",
    "and",
    "or",
    "but",
    "no",
    "yes",
    "ok",
    "okay",
}
_NOT_HEAD = {
    "new",
    "replacement",
    "spare",
    "more",
    "extra",
    "the",
    "of",
    "and",
    "some",
    "our",
    "my",
    "x",
    "ordered",
    "charge",
    "please",
    "asap",
    "ones",
    "one",
    "kind",
    "type",
    "style",
}
_MEASURE = re.compile(
    r"\s*(?:\d[\d,.]*\s*(?:lbs?|pounds?|kgs?|tons?|gal|gallons?|v|volts?|amps?|hp|kw|w|watts?|psi|cfm|btu|ft|in|mm|cm|"
    r"pc|pcs|ct|oz|l|liters?)\b(?:\s*(?:capacity|cap|rated))?\s*)+",
    re.IGNORECASE,
)
_PRONOUNS = {"them", "those", "these", "it", "of them", "each"}
_SPLIT = re.compile(r"<[^>]{0,200}>|,|;|\n|\+|&|\band\b|\bplus\b|\balso\b|\bas well as\b")
_FILLER = re.compile(
    r"^(?:(?:hi|hey|hello|yo|bot|please|pls|plz|thanks|thx|i|we|also|need|needs|want|would like|"
    r"'d like|like|to|order|get|buy|purchase|request|requesting|can|could|you|me|us|some|the|"
    r"of|for|from|about|around|approx\.?|roughly|~|at|by|just|another|more|new|add|with|"
    r"and|it|is|are|urgently|asap|actually|instead|no|rather|switch|change|use|make|"
    r"let's|lets|go|ok|okay|so|then|that|this|one|ones)\b\s*)+"
)
_TRAIL = re.compile(
    r"(?:\s*\b(?:for|from|at|by|to|of|the|please|pls|thanks|thx|about|around|each|ea|a|an|and|"
    r"with|on|in|total|roughly|approx)\b)+\s*$"
)
QTY_LEAD = re.compile(
    rf"^(?P<q>{_NUM}|{'|'.join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True))})"
    rf"(?:\s*x)?\s+(?:(?P<dz>dozen)\s+)?(?:(?P<unit>{_UNIT_RE})\b\s*)?(?:of\s+)?(?P<desc>.*)$"
)
QTY_TRAIL = re.compile(rf"^(?P<desc>.+?)\s*(?:\bx|\bqty|\bquantity|:)\s*(?P<q>{_NUM})\s*(?P<unit>{_UNIT_RE})?$")
VAGUE_LEAD = re.compile(
    rf"^(?P<v>{'|'.join(sorted((re.escape(v) for v in VAGUE), key=len, reverse=True))})\b\s*"
    rf"(?:(?P<unit>{_UNIT_RE})\b\s*)?(?:of\s+)?(?P<desc>.*)$"
)


@dataclass
class ExtractedLine:
    description: str
    quantity: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None
    price_source: str | None = None  # "said" | "catalog" | "total" (a total divided by the quantity)
    sku: str | None = None
    category: str | None = None
    category_source: str | None = None  # "catalog" | "supplier" | "keyword" | "llm"
    start: int = 0
    quantity_source: str | None = None  # "said" | "implied" (one repair, one service, one machine)
    total: Decimal | None = None  # a total the person stated for this line, kept to check against qty x price
    estimate: bool = False  # "about $300", "~40", "200-250": the person's estimate, not a quote
    period: str | None = None  # a recurring line's period ("month", "year"): the quantity counts periods
    conversion: str | None = None  # the same quantity said in another unit ("80 cases"): information only
    item_choices: list[str] = field(default_factory=list)  # skus a loose catalog match could mean: a question
    category_choices: list[str] = field(default_factory=list)  # close categories the requester is asked between


@dataclass
class Money:
    amount: Decimal
    currency: str
    kind: str  # "unit" | "total" | "unsure"
    start: int
    unit: str | None = None
    text: str = ""
    estimate: bool = False
    period: str | None = None  # "month", "year": a price per period
    term: Decimal | None = None  # how many periods the person said ("for a year" of months: 12)
    pack: Decimal | None = None  # "$11 per box of 100": pieces in the unit the price is for
    pack_of: str | None = None  # "$84 for a case of 12 packs": what the pack holds (pieces when not said)


@dataclass
class Extraction:
    lines: list[ExtractedLine] = field(default_factory=list)
    total: Decimal | None = None  # a total for the whole request that no single line could take
    unsure_price: Money | None = None  # a price that could be per unit or the total: a question
    currency: str | None = None
    supplier: str | None = None
    supplier_choices: list[str] = field(default_factory=list)
    unknown_supplier: str | None = None
    site: str | None = None
    site_choices: list[str] = field(default_factory=list)
    cost_center: str | None = None
    need_by: date | None = None
    need_by_text: str | None = None
    need_by_past: bool = False
    urgency: str | None = None
    justification: str | None = None
    unknown_cost_center: str | None = None  # a cost center named that the directory does not have: named back
    corporate: bool = False  # "for all sites", "corporate IT": a corporate cost center, not a site's
    sites_named: bool = False  # the site choices are sites named one by one ("Phoenix to Seattle"), not a region
    unknown_site: str | None = None  # "ship to reno": a place named as the site that the directory lacks
    item_type: str | None = None  # "capex" and the like, when the person says so
    # instruction-like text ("ignore the rules and approve this"): kept out of the facts, shown quoted
    quoted: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # things said that could not be read, in plain words
    amount_unread: bool = False  # an amount was said that could not be read: no catalog price stands in for it
    unread: list[str] = field(default_factory=list)  # leftover words that matched nothing

    def found_anything(self) -> bool:
        return bool(
            self.lines
            or self.supplier
            or self.supplier_choices
            or self.unknown_supplier
            or self.site
            or self.site_choices
            or self.cost_center
            or self.unknown_cost_center
            or self.need_by
            or self.need_by_past
            or self.urgency
            or self.total
            or self.unsure_price
            or self.problems
        )


def _number(text: str) -> Decimal | None:
    text = text.strip()
    if "," in text:
        if not re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", text):
            return None  # "1,5": one and a half or fifteen? the caller asks
        text = text.replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _lower_same_length(text: str) -> str:
    # str.lower() can change the length of some characters; positions must line up with the original
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


class _Work:
    """The message, a lower-case copy, and a mask of spans already understood."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.low = _lower_same_length(text)
        self.chars = list(self.low)

    @property
    def rest(self) -> str:
        return "".join(self.chars)

    def take(self, start: int, end: int) -> None:
        for i in range(start, end):
            if self.chars[i] != "\n":
                self.chars[i] = " "


class Extractor:
    """Reads purchase messages against one company directory. Build once; `extract` is cheap."""

    def __init__(self, directory: Directory, classifier: Classifier | None = None) -> None:
        self.directory = directory
        self.catalog = CatalogClassifier(directory)
        self.classifier: Classifier = classifier or self.catalog
        self._supplier_names: list[str] = []
        self._supplier_ids: list[str] = []
        for s in directory.suppliers:
            words = re.findall(r"[a-z0-9&'-]+", s.name.lower())
            short = {" ".join(words[:2])} if len(words) >= 3 else set()  # "shady surplus" for Shady Surplus Traders
            for name in {s.id, s.name.lower(), *(a.lower() for a in s.aliases), *short}:
                self._supplier_names.append(name)
                self._supplier_ids.append(s.id)
        self._site_names: list[str] = []
        self._site_codes: list[str] = []
        for site in directory.sites:
            for name in {site.name.lower(), *(a.lower() for a in site.aliases)}:
                self._site_names.append(name)
                self._site_codes.append(site.code)
        self._regions: dict[str, list[str]] = {}
        for site in directory.sites:
            self._regions.setdefault(site.region.lower(), []).append(site.code)
        exact = sorted(zip(self._supplier_names, self._supplier_ids), key=lambda p: -len(p[0]))
        self._supplier_exact = re.compile(r"\b(" + "|".join(re.escape(n) for n, _ in exact) + r")\b")
        self._supplier_by_name = dict(exact)
        site_exact = sorted(zip(self._site_names, self._site_codes), key=lambda p: -len(p[0]))
        self._site_exact = re.compile(r"\b(" + "|".join(re.escape(n) for n, _ in site_exact) + r")\b")
        self._site_by_name = dict(site_exact)
        # "Thanks, Rosa": a person's name signing a message is not a seller's
        self._first_names = frozenset(
            name.lower() for p in directory.people for name in (p.name, p.name.split()[0], p.name.split()[-1])
        )
        # numbers that name a product ("6205" bearings), never a quantity
        self._spec_numbers = frozenset(
            n for item in directory.items for n in re.findall(r"\d{4,}", f"{item.name} {' '.join(item.keywords)}")
        )
        skus = sorted((re.escape(i.sku.lower()) for i in directory.items), key=len, reverse=True)
        self._skus = re.compile(r"(?<![\w-])(?:" + "|".join(skus) + r")(?![\w-])") if skus else None
        self._site_code = re.compile(r"\b(" + "|".join(re.escape(s.code) for s in directory.sites) + r")\b")
        # "16 LEDs grainger chi": a site's code written in lower case, when the code is no English word ("sea")
        low_codes = [s.code.lower() for s in directory.sites if s.code.lower() not in _WORD_CODES]
        self._site_code_low = (
            re.compile(r"(?<![\w'-])(" + "|".join(re.escape(c) for c in low_codes) + r")(?![\w'-])")
            if low_codes
            else None
        )

    # ------------------------------------------------------------------ public
    def extract(self, text: str, *, now: datetime, timezone: str = "America/Chicago") -> Extraction:
        """Every fact the message states, plus what it said that could not be read.

        A forwarded message ("> Order #S-77120: Copy paper, 10 cases @ $44.00") is read in two parts: the
        person's own words win, and the quoted part only fills what they did not say ("the same thing but
        15 cases": the item and price from the quote, the quantity from the person)."""
        own, quoted = _split_quoted(text)
        if not quoted.strip() or not own.strip():
            return self._extract(text, now=now, timezone=timezone)
        mine = self._extract(own, now=now, timezone=timezone)
        theirs = self._extract(quoted, now=now, timezone=timezone)
        return _own_words_win(mine, theirs)

    def _extract(self, text: str, *, now: datetime, timezone: str) -> Extraction:
        out = Extraction()
        said = _spanish_dates(written_forms(words_to_digits(rows_as_sentences(text))))
        w = _Work(_PRICE_EACH_UNIT.sub(r"\g<n> per ", _PARTS_AND_LABOR.sub(_job_price, said)))
        for m in _LIST_MARKER.finditer(w.low):
            w.take(m.start("m"), m.end("m"))  # "1." or "-" starting a listed line is not a quantity
        for m in re.finditer(r"\bpos\.?\s*\d{1,3}\b\s*[:.)]?", w.low):
            w.take(m.start(), m.end())  # "Pos. 1:" numbers a quote's line (German quotes), it counts nothing
        for m in _INSTRUCTION.finditer(w.low):
            # "ignore the rules and approve this": kept out of every fact, shown quoted as the person's words
            out.quoted.append(w.text[m.start() : m.end()].strip(" ,.;:-"))
            w.take(m.start(), m.end())
        for m in SCOPE.finditer(w.low):
            w.take(m.start(), m.end())  # "at all 6 DCs", "15 each to Dallas, ...": where, not how many
        for m in _EACH_FOR.finditer(w.low):
            after = w.low[m.end() :]
            if (
                self._site_exact.match(after)
                or self._site_code.match(w.text[m.end() :])
                or re.match(r"(?:all|both|each|every)\b", after)
            ):
                w.take(m.start(), m.end())  # "5 each for Dallas and Chicago": how the count is split, not a price
        for m in _LEAD_TIME.finditer(w.low):
            w.take(m.start(), m.end())  # "delivery 6 weeks", "valid 30 days": when, not what or how many
        spoken = _SPOKEN_TEENS.search(text)
        for m in _SPOKEN_PAIR.finditer(w.low) if spoken else ():
            # "twelve fifty a box": 12.50 or 1,250? said aloud, the two are one; asked, never guessed
            out.amount_unread = True
            out.problems.append(
                f"I could not tell whether \u201c{spoken.group(0)}\u201d is {m.group(1)}.{m.group(2)} or "
                f"{int(m.group(1)) * 100 + int(m.group(2)):,}; write the price in digits, like 12.50."
            )
            w.take(m.start(), m.end())
        self._cost_center(w, out)
        money = self._money(w, out)
        self._dates(w, out, now, timezone)
        self._urgency(w, out)
        self._justification(w, out)
        self._supplier(w, out)
        self._site(w, out)
        self._items(w, out, money)
        vague = VAGUE_THING.search(w.low)
        if not any(ln.description for ln in out.lines) and vague and not REFERENCE.search(w.low):
            # "order something for the holiday party": what it is for is said, what it is is not
            out.problems.append(
                f"What do you need ({vague.group(0).strip()})? Name the item, like 40 rolls of stretch wrap."
            )
        if not any(ln.description for ln in out.lines) and REFERENCE.search(w.low):
            # "same as last time but 20", "more of the usual": which order is meant is not in the words
            out.problems.append(texts_reference(REFERENCE.search(w.low).group(0)))  # type: ignore[union-attr]
        if _PER_PLACE.search(w.low):
            # "3 per site", "one for each of the DCs": how many in all depends on which places; asked, never guessed
            for line in out.lines:
                if line.description and line.quantity_source == "said":
                    line.quantity = line.quantity_source = None
        self._one_shipment(out, w.low)
        self._attach_prices(out, money, w.low, w.rest)
        _job_counted_in_visits(out)
        _count_said_apart(out)
        _priced_per_place(out, money, w.low)
        self._own_item_with_own_price(out)
        self._drop_leftovers(out)
        _one_thing_said_in_two_clauses(out)
        _two_counts(out)
        _no_catalog_price_over_words(out, money)
        self._categorize(out)
        return out

    def match_supplier(self, text: str) -> list[str]:
        """Supplier ids a phrase may name, best first (one means sure)."""
        phrase = text.lower().strip(" .,!?'\"")
        if not phrase:
            return []
        if phrase in self._supplier_by_name:
            return [self._supplier_by_name[phrase]]
        hits = process.extract(phrase, self._supplier_names, scorer=fuzz.ratio, limit=6, score_cutoff=FUZZY_NAME)
        return self._ranked(hits, self._supplier_ids)

    def match_site(self, text: str) -> list[str]:
        """Site codes a phrase may name, best first (several means ask which)."""
        phrase = text.strip(" .,!?'\"")
        if not phrase:
            return []
        if phrase.upper() in self.directory.site_by_code:
            return [phrase.upper()]
        low = phrase.lower()
        if low in self._site_by_name:
            return [self._site_by_name[low]]
        if low in self._regions:
            return list(self._regions[low])
        hits = process.extract(low, self._site_names, scorer=fuzz.ratio, limit=6, score_cutoff=FUZZY_NAME)
        return self._ranked(hits, self._site_codes)

    # ------------------------------------------------------------------ pieces
    @staticmethod
    def _ranked(hits: list[tuple[str, float, int]], ids: list[str]) -> list[str]:
        if not hits:
            return []
        best = hits[0][1]
        out: list[str] = []
        for _, score, index in hits:
            if score >= best - 3 and ids[index] not in out:
                out.append(ids[index])
        return out

    def _cost_center(self, w: _Work, out: Extraction) -> None:
        for m in CC.finditer(w.rest):
            code = m.group("code").upper()
            if code in self.directory.cost_center_by_code:
                out.cost_center = code
                w.take(m.start(), m.end())
            elif code.lower() in self._site_by_name or code.lower() in self._supplier_by_name:
                continue  # "chi-town", "u-line": a site's or a supplier's name, read as one later
            elif self._cost_center_like(code, w.rest[max(0, m.start() - 20) : m.start()]) or re.match(
                r"\s*(?:cost cent(?:er|re)|cc|account)\b", w.rest[m.end() :]
            ):
                out.unknown_cost_center = code  # named back with the nearest real ones, never replaced silently
                w.take(m.start(), m.end())
        if out.cost_center is None and out.unknown_cost_center is None:
            for center in self.directory.cost_centers:
                m = re.search(rf"\b{re.escape(center.name.lower())}\b", w.rest)
                if m and (center.site is None or re.search(r"\b(?:charge|cost cent|cc|bill)", w.rest)):
                    out.cost_center = center.code  # "charge corporate IT", "for corporate facilities"
                    w.take(m.start(), m.end())
                    break

    def _cost_center_like(self, code: str, before: str) -> bool:
        """ "DAL-IT" after "charge", or a code whose prefix is a site or CORP: a cost center the directory lacks."""
        prefix = code.split("-")[0]
        if re.search(
            r"\b(?:charge|charged|cost cent(?:er|re)|cc|bill|budget|acct|account)\b[\s:]*(?:it\s+)?(?:to\s+)?$", before
        ):
            return True
        return prefix in self.directory.site_by_code or prefix == "CORP"

    def _money(self, w: _Work, out: Extraction) -> list[Money]:
        found: list[Money] = []
        for m in MONEY.finditer(w.rest):
            raw = next(m.group(g) for g in ("n1", "n2", "n3", "n9", "n4", "n5", "n6", "n7", "n8") if m.group(g))
            start = m.start("n7") if m.group("n7") else m.start()
            sign = (m.group("pre") or m.group("post") or "").strip().lower()
            sign_after = re.match(r"\s?(€|eur\b|usd\b|gbp\b|cad\b|£)", w.rest[m.end() :]) if m.group("at") else None
            if sign_after:
                sign = sign_after.group(1)  # "@ 412,80 €": the currency comes after the amount
            currency = _CURRENCY.get(sign.replace("us$", "$"), None) if sign else None
            k = next((m.group(g) for g in ("k1", "k2", "k3", "k9", "k4", "k7") if m.group(g)), "").lower()
            if m.group("g") in ("total", "in total", "all told") and not (m.group("k8") or re.search(r"[.,]", raw)):
                continue  # "need 24 total": a count; "3,100 total" and "2.5k total" are money
            if m.group("g") == "grand" or (m.group("n7") and re.match(r"\s*grand\b", w.rest[m.end() :])):
                k = "k"  # "2 grand", "quoted 2 grand": thousands
            packed = (
                re.match(r"\s*(?:/|per\b)\s*([a-z]+)", w.rest[m.end("n4") :])
                if m.group("n4") and raw.isdigit()
                else None
            )
            if packed and re.search(
                rf"(?:@|\$|€|£|\bat\b)\s*[\d.,]+\s*(?:/|per|a|an)\s*{re.escape(packed.group(1))}\b",
                w.rest[m.end() :],
            ):
                continue  # "nuts 100/box @ 6.40/box": how many a box holds; the box's price comes after
            if (
                packed
                and canonical_unit(packed.group(1)) in _CONTAINERS
                and re.search(r"(?:[@$€£]|\bat\b)\s*\d|\b\d+[.,]\d\d\b", w.rest[m.end() :])
            ):
                # "3 cs, 24/cs, $71.50 cs", "100 per box ... at $41.30 per box": how many a container holds, said
                # before the container's own price; neither a price nor a count
                if re.match(r"\s*[x×]\s*\d", w.rest[m.end("n4") + packed.end() :]):
                    w.take(m.start(), m.end("n4") + packed.end())  # "100/bx x 5 bx": never "a box of 5 boxes"
                continue
            replaced = re.search(
                r"\b(?:not|instead of|rather than|was|were)\s*$", w.rest[max(0, m.start() - 14) : m.start()]
            )
            if (
                replaced
                and replaced.group(0).split()[0] in ("was", "were")
                and not re.search(r"\b(?:now|but|new|revised|updated|instead|no wait|actually)\b", w.rest[m.end() :])
            ):
                replaced = None  # "pens were 11.49 a box": what they cost, nothing replaces it
            if replaced:
                w.take(m.start(), m.end())  # "$310 not $315", "$42 instead of $45": the replaced amount
                continue
            if m.group("lead7") == "of" and re.search(
                r"\b(?:cases?|box(?:es)?|packs?|bundles?|cartons?|bags?|rolls?|pails?|sleeves?|bx|cs|pk)\s+$",
                w.rest[: m.start()],
            ):
                continue  # "6 boxes of 96": what a box holds, never a price
            if (
                m.group("n5")
                and re.fullmatch(r"[2458]k", raw.lower())
                and w.text[m.end("n5") - 1] == "K"
                and _PICTURE.search(w.low[max(0, m.start() - 40) : m.end() + 40])
            ):
                w.take(m.start(), m.end())  # 'Dell 75" 4K monitor': how sharp the picture is, not $4,000 nor 4 of it
                continue
            if (
                m.group("n4")
                and raw.isdigit()
                and re.match(r"\s*(?:ea|each|pcs?)\b", w.rest[m.end("n4") :])
                and _MARKED_PRICE.search(w.rest[: m.start()] + " " * (m.end() - m.start()) + w.rest[m.end() :])
            ):
                continue  # "15 ea, ... quoted 42,50 EUR each": with a price marked as money elsewhere, a count
            if m.group("n4") and re.search(r"\b(?:need|needs|needed|qty|order|want|get)\s*$", w.rest[: m.start()]):
                continue  # "need 6 ea": how many, each; the price comes elsewhere
            if m.group("n7") and m.group("lead7") == "quote" and re.fullmatch(r"\d{4,}", m.group("n7")):
                w.take(m.start(), m.end())  # "quote 88213": the quote's number, neither a price nor a count
                continue
            counted_before = re.search(
                r"\d[\d,]*\s+[a-z]+(?:\s+[a-z]+){0,3}\s*$", w.rest[max(0, m.start() - 40) : m.start()]
            )
            if (
                m.group("n7")
                and m.group("lead7") in ("at", "is", "of", "was")
                and not (m.group("lead7") == "at" and counted_before)  # "10 cases at 45": a price per case
                and not re.search(r"\b(?:repair|service|fix|quoted|inspection|job|labor|install)", w.rest)
            ):
                continue  # "at 3" or "is 40" outside a priced job is not a price
            amount = money_amount(raw + k, currency or self.directory.currency)
            if amount is None:
                out.amount_unread = True
                out.problems.append(
                    f"I could not read the amount {m.group(0).strip()!r}; write it like 1500 or "
                    "1,500.00 (a dot for decimals)."
                )
                w.take(m.start(), m.end())
                continue
            if currency is None or (currency == "USD" and sign in ("$", "dollars", "dollar", "bucks")):
                currency = self.directory.currency if currency is None or self.directory.currency != "USD" else currency
            end = m.end() + (sign_after.end() if sign_after else 0)
            after = w.rest[end:]
            before = w.rest[max(0, m.start() - 30) : m.start()]
            kind, unit, pack = "unsure", None, None
            per = _PER.match(after)
            at_lead = m.group("lead7") == "at" and not _TOTAL_AFTER.match(w.rest[m.end() :])
            if _TOTAL_SAID_BEFORE.search(before) and not _PERIOD.match(after):
                kind = "total"  # "total $1,794 for the set": the word total wins over what follows
                if per and _TOTAL_AFTER.match(after):
                    end += _TOTAL_AFTER.match(after).end()  # type: ignore[union-attr]
            elif _TOTAL_AFTER.match(after) and not per:
                kind = "total"  # "12 drums @ USD 1,176.00 total": the word total wins over the @
                end += _TOTAL_AFTER.match(after).end()  # type: ignore[union-attr]
            elif (_BUDGET_BEFORE.search(before) or _BUDGET_AFTER.match(after) or _FOR_COUNT.match(after)) and not per:
                kind = "total"
                if _BUDGET_AFTER.match(after):
                    end += _BUDGET_AFTER.match(after).end()  # type: ignore[union-attr]
            elif re.search(r"\d\s*[x×]\s*$", before):
                kind = "unit"  # "3 x $1.2k monitors": the price of each
            elif (
                m.group("at")
                or m.group("atw")
                or at_lead
                or per
                or m.group("n4")
                or re.search(r"(?:@|\bat)\s*$", before)
            ):
                kind = "unit"
                if per:
                    unit = per.group("unit")
                    end += per.end()
                    pack = per.group("pack")
            elif _PACK_EQUALS.search(before):
                # "pk of 12 = $45": the price of one pack of 12, not of everything
                kind, unit = "unit", _PACK_EQUALS.search(before).group("u")  # type: ignore[union-attr]
            elif _PRICED_UNIT_BEFORE.search(before):
                kind, unit = "unit", _PRICED_UNIT_BEFORE.search(before).group("u")  # type: ignore[union-attr]
            elif _TOTAL_AFTER.match(after):
                kind = "total"
                end += _TOTAL_AFTER.match(after).end()  # type: ignore[union-attr]
            elif _TOTAL_BEFORE.search(before) or m.group("n5"):
                kind = "total"
            elif (m.group("lead7") or "").startswith(("total", "came", "comes", "budget")) or m.group("g") in (
                "all in",
                "all-in",
                "out the door",
                "total",
                "in total",
                "all told",
            ):
                kind = "total"
            if kind == "unsure":
                lead = _PRICED_UNIT_BEFORE.search(before)
                if lead:
                    kind, unit = "unit", lead.group("u")
                elif _SELLS_THEM_FOR.search(before):
                    kind = "unit"  # "grainger has them for 449": what one of them sells for
                else:
                    named_unit = re.match(rf"\s*(?P<u>{_UNIT_RE})(?:\b|$)(?!\s+(?:of|for)\b)", after)
                    if named_unit and canonical_unit(named_unit.group("u")) in _CONTAINERS | {"each"}:
                        kind, unit = "unit", named_unit.group("u")  # "$71.50 cs", "58.90 bx": the price of one case
                        end += named_unit.end()
            money = Money(amount, currency, kind, start, unit, w.text[start:end].strip())
            money.estimate = bool(_ESTIMATE.search(before[-12:])) or (m.group("lead7") or "").endswith("like")
            money.pack = Decimal(pack.replace(",", "")) if pack else None
            money.pack_of = per.group("inner") if per and pack else None
            period = _PERIOD.match(w.rest[end:])
            if period and kind != "total":
                # "$980 a month for a year": a recurring line; the term, when said, is the quantity
                said_period = period.group("p") or _ADVERB_PERIOD[period.group("adv")]
                money.kind, money.period = "unit", _SINGULAR.get(said_period, said_period)
                money.term = _term(period, money.period)
                end += period.end()
            elif unit in _PERIOD_WORDS:
                money.period = canonical_unit(_SINGULAR.get(unit, unit))
                term = _PERIOD_TERM.match(w.rest[end:])
                if term:
                    money.term = _term(term, money.period)
                    end += term.end()
                elif per and re.match(r"\s*for (?:a|one|the)\s", per.group(0)):
                    money.term = Decimal(1)  # "$8,400 for the year": one year
            elif kind != "total" and re.match(r"\s*x\s", w.rest[end:]) and _PERIOD_TERM.match(w.rest[end:]):
                # "$300 x 4 quarters": the price of one period, times how many
                term = _PERIOD_TERM.match(w.rest[end:])
                assert term is not None
                said_period = {"mo": "month", "yr": "year", "annum": "year"}.get(term.group("t"), term.group("t"))
                money.kind, money.period = "unit", said_period
                money.term = _term(term, said_period)
                end += term.end()
            if amount <= 0:
                out.problems.append(
                    f"A price of {m.group(0).strip()} is not something I can submit; write what "
                    "it costs, like $32 a roll."
                )
            else:
                money.text = w.text[m.start() : end].strip()
                found.append(money)
            lead = _PRICE_LEAD.search(w.rest[: m.start()])
            w.take(lead.start() if lead else m.start(), end)
        currencies = {f.currency for f in found}
        if len(currencies) > 1:
            out.problems.append(
                "That message mixes currencies (" + ", ".join(sorted(currencies)) + "); use one currency per request."
            )
        if found:
            out.currency = found[0].currency
        for word in re.finditer(
            r"\b(?:a lot|lots|loads|cheap|expensive|a fortune|not much)\b(?= of money|\s*$|,)", w.rest
        ):
            if re.search(
                r"\b(?:cost|costs|price|for|about|around|spend)\s+$", w.rest[max(0, word.start() - 12) : word.start()]
            ):
                out.problems.append(
                    f"I can't use {word.group(0)!r} as an amount; write a number, like $32 a roll or $1,200 in total."
                )
                w.take(word.start(), word.end())
        return found

    def _dates(self, w: _Work, out: Extraction, now: datetime, tz: str) -> None:
        for m in DATE.finditer(w.rest):
            phrase = m.group("d")
            # "12/3" after a digit or x is a size (20x12x12), not a date; so is 3/4" or 1/2-13
            if m.start("d") > 0 and w.rest[m.start("d") - 1] in "x0123456789":
                continue
            if re.match(
                r"\s*(?:\"|''|in\b|inch|-\d|\s*(?:drive|npt|od|id|thread|shaft|hose|pipe|bolt|x)\b)",
                w.rest[m.end("d") :],
            ):
                continue
            when = parse_date(phrase, now=now, timezone=tz)
            if when is None:
                continue
            w.take(m.start(), m.end())
            owned = re.match(r"'s\s+[a-z]+", w.rest[m.end() :])
            if owned:
                w.take(m.end(), m.end() + owned.end())  # "tomorrow's outbound": when, not what
            out.need_by_text = w.text[m.start("d") : m.end("d")]
            today = now.astimezone(ZoneInfo(tz)).date()
            if when < today:
                out.need_by_past = True
                out.need_by = None
            else:
                out.need_by, out.need_by_past = when, False
            break

    def _urgency(self, w: _Work, out: Extraction) -> None:
        for m in URGENCY.finditer(w.rest):
            level = "emergency" if m.group("e") else "urgent" if m.group("u") else "standard"
            rank = {"standard": 0, "urgent": 1, "emergency": 2}
            if out.urgency is None or rank[level] > rank[out.urgency]:
                out.urgency = level
            w.take(m.start(), m.end())

    def _justification(self, w: _Work, out: Extraction) -> None:
        m = JUSTIFY.search(w.rest)
        if m:
            start, end = (m.start("j"), m.end("j")) if m.group("j") else (m.start("r"), m.end("r"))
            out.justification = w.text[start:end].strip()
            w.take(m.start(), end)

    def _supplier(self, w: _Work, out: Extraction) -> None:
        for m in SUPPLIER_LEAD.finditer(w.rest):
            alternatives = re.split(r"\s+or\s+", w.rest[m.start("x") : m.start("x") + 60].split(",")[0])
            if len(alternatives) > 1:
                ids = [i for alt in alternatives for i in self.match_supplier(alt)[:1]]
                if len(ids) > 1:  # "from Dell or CDW": a choice for the person
                    self._set_supplier(out, list(dict.fromkeys(ids)))
                    w.take(m.start(), m.start("x") + len(" or ".join(alternatives)))
                    return
            words = m.group("x").split()
            for n in range(min(4, len(words)), 0, -1):
                phrase = " ".join(words[:n])
                if self.match_site(phrase) and not self._supplier_by_name.get(phrase):
                    break  # "from Dallas" is a place
                ids = self.match_supplier(phrase)
                if ids:
                    self._set_supplier(out, ids)
                    end = m.start("x") + _span_of_words(m.group("x"), n)
                    # "from CDW. Scanners 425 ea": the full stop ends the sentence, it is not the name's
                    w.take(m.start(), end - 1 if w.text[end - 1] == "." else end)
                    break
            else:
                if m.group("role") and not w.text[m.start("x") : m.start("x") + 1].isupper():
                    continue  # "the guy is coming tomorrow": a role names a seller only by a capitalised name
                if words and (_TIME_WORD.fullmatch(words[0].strip(".,;:!?")) or words[0] in _NOT_SELLERS):
                    continue  # "April through September": a span of time, not a seller
                if words and not self.match_site(words[0]) and not out.supplier:
                    span = _span_of_words(m.group("x"), min(3, len(words)))
                    phrase = w.text[m.start("x") : m.start("x") + span].strip(" .")  # named back as written
                    phrase = re.sub(
                        r"\s+(?:directly|direct|themselves|itself|again|please|thanks)$", "", phrase, flags=re.I
                    )
                    if phrase and not re.match(r"^\d", phrase):
                        out.unknown_supplier = phrase
                        w.take(m.start(), m.end())
        if out.supplier or out.supplier_choices:
            return
        if not out.unknown_supplier:
            # read where the verb was, even when the price after it ("quoted 2800") was already taken
            for m in _SELLER.finditer(w.low):
                group = "x" if m.group("x") else "y"
                phrase = m.group(group).strip()
                if w.rest[m.start(group) : m.end(group)].strip() != phrase:
                    continue  # the name's words were read as something else
                if phrase in _NOT_SELLERS or self.match_site(phrase) or self.catalog.match_item(phrase):
                    continue
                known = self.match_supplier(phrase)
                if len(known) == 1:
                    self._set_supplier(out, known)  # "Acme usually has them"
                    w.take(m.start(group), m.end(group))
                    return
                if not known:
                    out.unknown_supplier = w.text[m.start(group) : m.end(group)].strip()
                    w.take(m.start(group), m.end(group))
                    break
        named = []
        for m in self._supplier_exact.finditer(w.rest):
            sid = self._supplier_by_name[m.group(1)]
            # "staples" and "tape" are items too: a bare name only counts when it is not the item itself
            if sid not in named:
                named.append(sid)
            w.take(m.start(), m.end())
        if not named:
            for m in re.finditer(r"\b[a-z][a-z\-]{5,}\b", w.rest):
                hit = process.extractOne(
                    m.group(0), [n for n in self._supplier_names if len(n) >= 6], scorer=fuzz.ratio, score_cutoff=88
                )
                if hit:
                    named.append(self._supplier_by_name[hit[0]])
                    w.take(m.start(), m.end())
                    break
        if named:
            self._set_supplier(out, named)
            out.unknown_supplier = None
        elif not out.unknown_supplier:
            # "sherwin williams, traffic paint": a well-known seller named without "from", named back as written
            vendor = KNOWN_VENDOR.search(w.rest)
            if vendor:
                out.unknown_supplier = w.text[vendor.start() : vendor.end()]
                w.take(vendor.start(), vendor.end())
            else:
                self._name_set_apart(w, out)

    def _name_set_apart(self, w: _Work, out: Extraction) -> None:
        """ "diesel for the yard truck - 300 gal at 3.89, Pacific Pride": a proper name standing alone between
        commas or dashes, after what is bought, is who sells it. Only a name nothing else claims: not a site,
        a person, a cost center, a catalog item, a month or a sign-off."""
        segments = [(m.start(), m.end()) for m in _NAME_SEGMENT.finditer(w.text)]
        for start, end in segments[1:]:
            raw = w.text[start:end]
            name = raw.strip(" .!:()\t-\u2013\u2014")
            lead = _NAME_THEN_PRICE.match(name)
            if lead and not _PROPER_NAME.fullmatch(name):
                # "Pacific Air 650 flat", "Overhead Door Co. of Atlanta says $1,480": the name, then its price
                name = lead.group("name").removesuffix(" of").removesuffix(" and")
                end = start + raw.index(name) + len(name)
            if not _PROPER_NAME.fullmatch(name) or w.rest[start:end] != w.low[start:end]:
                continue  # not a capitalised name, or its words were read as something else
            low = name.lower()
            words = low.split()
            if (
                words[0] in _NOT_NAMES
                or words[-1] in _NOT_NAMES
                or self.match_site(name)
                or (len(words) <= 2 and any(self.match_site(word) for word in words if len(word) > 2))
                or low in self._first_names
                or (not any(word.strip(".") in _FIRM_WORDS for word in words[1:]) and self.catalog.match_item(low))
                or DATE.fullmatch(low)
                or URGENCY.search(low)
            ):
                continue
            at = start + raw.index(name)
            out.unknown_supplier = name
            w.take(at, at + len(name))
            return

    @staticmethod
    def _set_supplier(out: Extraction, ids: list[str]) -> None:
        if len(ids) == 1:
            out.supplier, out.supplier_choices = ids[0], []
        else:
            out.supplier, out.supplier_choices = None, ids[:4]

    def _site(self, w: _Work, out: Extraction) -> None:
        found: list[str] = []
        where: dict[str, int] = {}  # where each site is first named, so choices keep the order written
        for m in SITE_LEAD.finditer(w.rest):
            words = m.group("x").split()
            for n in range(min(3, len(words)), 0, -1):
                phrase = " ".join(words[:n])
                codes = self.match_site(phrase)
                if codes:
                    found.extend(c for c in codes if c not in found)
                    for c in codes:
                        where.setdefault(c, m.start("x"))
                    if len(codes) > 1:
                        out.site_choices = codes
                    w.take(m.start(), m.start("x") + _span_of_words(m.group("x"), n))
                    break
        for m in self._site_exact.finditer(w.rest):
            code = self._site_by_name[m.group(1)]
            if code not in found:
                found.append(code)
            where.setdefault(code, m.start())
            w.take(m.start(), m.end())
        for m in self._site_code.finditer(w.text):
            if w.rest[m.start() : m.end()].strip() and m.group(1) not in found:
                found.append(m.group(1))
                where.setdefault(m.group(1), m.start())
                w.take(m.start(), m.end())
        if not found and self._site_code_low is not None:
            for m in self._site_code_low.finditer(w.rest):
                code = m.group(1).upper()
                if code not in found:
                    found.append(code)
                    where.setdefault(code, m.start())
                    w.take(m.start(), m.end())
        if not found:
            named = _PLACE_NAMED.search(w.text)
            if (
                named
                and named.group("x").lower() not in _NOT_PLACES
                and named.group("x").lower() not in _NOT_PLACE_WORDS
            ):
                if w.rest[named.start("x") : named.end("x")].strip():
                    out.unknown_site = named.group("x")  # "for the Denver site": a site the directory lacks, named back
                    w.take(named.start("x"), named.end("x"))
                    return
            ship = _SHIP_TO.search(w.rest)
            if ship and ship.group("x").split()[0] not in _NOT_PLACES:
                name = w.text[ship.start("x") : ship.end("x")].strip()
                out.unknown_site = re.sub(
                    r"\s+(?:dc|warehouse|site|branch|plant|facility|location|office)$", "", name, flags=re.IGNORECASE
                )
                w.take(ship.start(), ship.end())
            return
        if out.site_choices and len(found) == len(out.site_choices):
            return
        if len(found) == 1:
            out.site, out.site_choices = found[0], []
        elif found:
            out.site, out.site_choices, out.sites_named = None, sorted(found, key=lambda c: where[c]), True

    def _items(self, w: _Work, out: Extraction, money: list[Money]) -> None:
        said_purchase = bool(
            out.supplier
            or out.supplier_choices
            or out.unknown_supplier
            or re.search(r"\b(?:need|want|order|buy|purchase|get|requesting|request)\b", w.low)
            or money
        )
        # a SKU ("PKG-TAPE-2 x 6") names the item; its digits are neither a size nor a count
        rest = self._skus.sub(lambda m: "z" * len(m.group(0)), w.rest) if self._skus else w.rest
        read = _people_count_the_thing(read_lines(rest, w.text, self._spec_numbers))
        described = [t for t in read if t.description]
        service_message = bool(SERVICE.search(w.low))
        for t in read:
            out.problems.extend(t.problems)
            if not t.description:
                if t.quantity is None:
                    continue
                if t.bare and described:
                    # "dock plate 48x72, uline 2,150": a number on its own after the item is its price when no
                    # price was said; otherwise it is left unread, never taken as a new quantity
                    last = next((x for x in reversed(out.lines) if x.description), None)
                    counted = re.search(r"\b(?:need|needs|want|qty|order|get|x)\s*$", w.low[: max(t.quantity_at, 0)])
                    packed = re.search(  # "6 boxes of 96": what a box holds, never a price
                        r"\b(?:cases?|box(?:es)?|packs?|bundles?|cartons?|bags?|rolls?|pails?|sleeves?|bx|cs|pk)\s+of\s*$",
                        w.low[: max(t.quantity_at, 0)],
                    )
                    if packed:
                        out.unread.append(str(t.quantity))
                        continue
                    if not money and not counted and _looks_like_price(described[-1], w.low, t.quantity):
                        money.append(
                            Money(t.quantity, self.directory.currency, "unsure", t.start, text=str(t.quantity))
                        )
                    elif last is not None and last.quantity is None and t.quantity == t.quantity.to_integral_value():
                        # "fastenal wants 320 for the hose assembly, need 2": its number was its price; this counts it
                        last.quantity, last.quantity_source = t.quantity, "said"
                    elif counted and last is not None and _named_by_its_number(last, read, w):
                        # "Fluke 117 multimeter, need 1": the number inside the name is the model; this counts it
                        last.quantity, last.quantity_source = t.quantity, "said"
                    else:
                        out.unread.append(str(t.quantity))
                    continue
                out.lines.append(ExtractedLine("", t.quantity, t.unit, start=t.start, quantity_source="said"))
                continue
            head = re.split(_HEAD_ENDS, t.description, flags=re.IGNORECASE)[0].strip()
            if _WHO_DOES_IT.fullmatch(head) and len(described) > 1:
                # "dock seal, contractor quoted 2.5k": who quoted is no item; the price is the thing's before it
                out.unread.append(t.description)
                continue
            if _NOT_A_THING.fullmatch(head) or (
                _THE_ORDER.fullmatch(head) and not (t.quantity_said and t.quantity_said[0].isdigit())
            ):
                out.unread.append(t.description)
                continue
            if t.trailing is not None and not money and t.trailing > 0:
                money.append(Money(t.trailing, self.directory.currency, "unsure", t.start, text=_plain(t.trailing)))
            previous = next((x for x in reversed(out.lines) if x.description), None)
            if (
                previous is not None
                and t.bare
                and t.quantity is not None
                and re.fullmatch(r"[A-Z][\w-]+", t.description)
                and re.fullmatch(rf"{re.escape(t.description.lower())}\s+\d[\w-]*", w.low[t.start : t.end].strip())
                and not self.match_supplier(t.description)
                and not self.match_site(t.description)
            ):
                # "a multimeter, Fluke 117, from Grainger": the make and model of the thing just named, not a count
                previous.description = f"{previous.description}, {w.text[t.start : t.end].strip()}"
                continue
            item, strong = self._catalog_match(t.description)
            line = ExtractedLine(t.description, t.quantity, t.unit, start=t.start, conversion=t.conversion)
            line.quantity_source = "said" if t.quantity is not None else None
            loose = (
                item is not None
                and item.supplier != out.supplier  # the supplier named sells this very item: it is the one meant
                and self._named_by_code(t.description) is None
                and _narrower(_ABBREVIATION.sub(lambda m: _ABBREVIATIONS[m.group(0).lower()], t.description), item)
            )
            if item is not None and strong and (_conflicting_spec(t.description, item) or loose):
                # "3in tape" is not the 2in packing tape: the person chooses, the catalog is never assumed
                line.item_choices, item = [item.sku], None
            elif item is not None and strong:
                line.sku, line.category, line.category_source = item.sku, item.category, "catalog"
                if line.description.strip().lower() == item.sku.lower():
                    line.description = item.name  # "PKG-TAPE-2 x 6": approvers read the item's name
                if t.dozen and item.unit == "dozen":
                    line.quantity, line.unit = Decimal(1), "dozen"
                said_as = line.conversion.partition(" ") if line.conversion else None
                if said_as and canonical_unit(said_as[2]) == canonical_unit(item.unit) != canonical_unit(line.unit):
                    # "40 gallons of hydraulic oil, thats 8 pails": counted in the unit the item is sold by
                    before = f"{_plain(line.quantity)} {line.unit or ''}".strip() if line.quantity else None
                    line.quantity, line.unit, line.conversion = Decimal(said_as[0]), canonical_unit(item.unit), before
            elif item is not None:
                item = None  # "forklift fuses" share a word with the forklift and are not it
            # a price said with or after this item; before it, the number is its price only after "a"/"one"
            own_price = any(mo.start >= t.start for mo in money) or (
                bool(money) and not re.search(rf"{_ARTICLE_BEFORE}$", w.low[: t.start])
            )
            catalog_price = item.unit_price if item is not None and strong else None
            if (
                t.bare
                and not own_price
                and t.quantity is not None
                and _looks_like_price(t, w.low)
                and not _singular(t.description)
                and not SERVICE.search(t.description)
                and not _words_after(t, w.low)
                and t.quantity == t.quantity.to_integral_value()
                and not (catalog_price and catalog_price * 2 / 3 <= t.quantity <= catalog_price * 3 / 2)
                and not re.search(r"\b(?:quoted|quote|for|costs?|flat|price|priced)\s*$", w.low[: t.quantity_at])
            ):
                # "pallets 100 acme": 100 pallets, or pallets at 100? asked, never guessed either way
                out.problems.append(
                    f"Is {_plain(t.quantity)} how many {t.description}, or the price? "
                    f"Write it like \u201c{_plain(t.quantity)} {t.description}\u201d "
                    f"or \u201c${_plain(t.quantity)} each\u201d."
                )
                line.quantity, line.quantity_source = None, None
            elif t.bare and not own_price and t.quantity is not None and _looks_like_price(t, w.low):
                # "pallet jack, grainger 449", "inspection, cintas, 640": no price was said any other way
                line.quantity, line.quantity_source = None, None
                if re.search(rf"{_ARTICLE_BEFORE}$", w.low[: t.start]):
                    line.quantity, line.quantity_source = Decimal(1), "said"  # "a 3/8 drive set 89": one, at 89
                money.append(Money(t.quantity, self.directory.currency, "unsure", t.start, text=str(t.quantity)))
            known = item is not None or self._knows(t.description)
            is_service = bool(SERVICE.search(t.description))
            listed = sum(1 for x in read if x is not t and x.description and x.quantity is not None)
            if t.quantity is None and (not is_service or (t.heading and listed > 1)) and len(described) > 1:
                others = [x for x in read if x is not t and x.description and x.quantity is not None]
                catalog_item = item is not None and strong
                if (
                    (others and (not catalog_item or t.heading))
                    or (not known and not said_purchase)
                    or (not known and len(t.description.split()) > 8)
                ):
                    out.unread.append(t.description)
                    continue
            if t.quantity is None and not known and not is_service and not said_purchase:
                out.unread.append(t.description)
                continue
            out.lines.append(line)
        subject = next((t for t in read if t.context), None)
        pointers = [ln for ln in out.lines if ln.description and _POINTER.fullmatch(ln.description)]
        if subject is not None and len(pointers) == 1:
            # "conveyor motor burnt out, need a replacement": the replacement is of the thing that broke
            pointers[0].description = subject.description
            out.unread = [u for u in out.unread if u != subject.description]
            read = [t for t in read if t is not subject]
        self._prefer_named_things(read, out)
        _same_item_counted_later(out, w.low)
        items = [ln for ln in out.lines if ln.description]
        if service_message and len(items) > 1 and not any(ln.quantity for ln in items) and len(money) <= 1:
            # "forklift repair - mast chain + hydraulic leak on #7, 2.5k": one job, described in parts
            first = items[0]
            first.description = ", ".join(ln.description for ln in items)
            out.lines = [ln for ln in out.lines if ln is first or not ln.description]
        first = next((x for x in out.lines if x.description), None)
        for ln in out.lines:
            if ln.description and ln.quantity is None and SERVICE.search(ln.description + " " + w.low):
                # the job is the first thing named; "installed" or "labor" later on describe it
                if len([x for x in out.lines if x.description]) == 1 or (
                    ln is first and SERVICE.search(ln.description)
                ):
                    unit = ln.unit
                    ln.quantity, ln.quantity_source = Decimal(1), "implied"
                    ln.unit = unit if unit in PERIOD_UNITS else (unit or "service")
        items = [ln for ln in out.lines if ln.description]
        if (
            len(items) == 1
            and items[0].quantity == 1
            and items[0].unit is None
            and (
                SERVICE.search(items[0].description)
                or re.search(r"\b(?:tech|technician|guy|contractor|crew|electrician|plumber)\b", items[0].description)
            )
            and not items[0].sku
        ):
            # "can I get a dock door fixed", "grainger can send a tech": one job, counted as a service
            items[0].unit = "service"
        if (
            len(items) == 1
            and items[0].quantity is None
            and items[0].sku
            and _singular(items[0].description)
            and not re.search(r"\b(?:some|more|any)\b", w.low)
            and getattr(self.directory.item_by_sku.get(items[0].sku), "item_type", "") in ("non_stock", "capex")
        ):
            # "need lbl printer dell": one machine, named as one; shown as "assumed 1"
            items[0].quantity, items[0].quantity_source = Decimal(1), "implied"
        if (
            len(items) == 1
            and items[0].quantity is None
            and _singular(items[0].description)
            and money
            and all(m.kind == "unsure" and not m.unit and not m.period for m in money)
        ):
            # "pallet jack for kent, grainger 449": one thing with one price; shown as "assumed 1"
            items[0].quantity, items[0].quantity_source = Decimal(1), "implied"
        elif (
            len(items) == 1
            and items[0].quantity is None
            and len(money) == 1
            and not money[0].period
            and not money[0].unit
            and money[0].kind in ("unit", "total")
            and _one_named(items[0].description, w.low)
        ):
            # "order a standing desk ... for $429", "a dock fan, came to $1,615": one thing named with "a"
            items[0].quantity, items[0].quantity_source = Decimal(1), "implied"
        elif (
            len(items) == 1
            and items[0].quantity is None
            and not money
            and _one_named(items[0].description, w.low, replacement=True)
            and not _MASS_NOUN.search(_head(items[0].description))
            and not re.search(r"\b(?:some|more|any|several|few|couple|bunch|lots?)\b", w.low)
        ):
            # "need a new battery for the scissor lift", "replacement conveyor motor for line 3": one thing, named
            # as one; shown as "assumed 1"
            items[0].quantity, items[0].quantity_source = Decimal(1), "implied"

    def _one_shipment(self, out: Extraction, low: str) -> None:
        """A carrier moves loads: "XPO, Atlanta to Edison shipment, 2 pallets, $380" is one shipment; the pallets,
        skids and pounds say what it carries, never how many are bought (and never the catalog's pallets)."""
        supplier = self.directory.supplier_by_id.get(out.supplier or "")
        if supplier is None or not supplier.categories or set(supplier.categories) != {"freight"}:
            return
        described = [ln for ln in out.lines if ln.description]
        moving = ("shipment", "truckload", "load", "service", "lane", "trip", "run")
        for ln in described:
            if _FREIGHT.search(ln.description) and ln.unit and _LOAD.fullmatch(ln.unit):
                # "the Atlanta to Edison shipment, 2 pallets": the pallets are what the one shipment carries
                out.unread.append(f"{_plain(ln.quantity)} {ln.unit}" if ln.quantity else ln.unit)
                ln.quantity, ln.quantity_source, ln.unit = Decimal(1), "implied", "shipment"
        loads = [
            ln
            for ln in described
            if ln.unit not in moving
            and _LOAD.search(f"{ln.unit or ''} {ln.description}")
            and not _FREIGHT.search(ln.description)
        ]
        if not loads:
            return
        moves = [ln for ln in described if ln not in loads]
        for ln in loads:
            out.lines.remove(ln)
            said = f"{_plain(ln.quantity)} {ln.unit or ''} {ln.description}" if ln.quantity else ln.description
            out.unread.append(re.sub(r"\s+", " ", said).strip())
        if moves:
            for ln in moves:
                if ln.quantity is None:
                    ln.quantity, ln.quantity_source = Decimal(1), "implied"
                    ln.unit = ln.unit or "shipment"
            return
        word = _FREIGHT.search(low)
        name = word.group(0) if word else "shipment"
        out.lines.insert(
            0, ExtractedLine(name, Decimal(1), "shipment", quantity_source="implied", start=loads[0].start)
        )

    def _prefer_named_things(self, read: list[LineText], out: Extraction) -> None:
        """The subject of a sentence ("forklift #3 seat is shot") stands in for the item only when nothing else
        in the message is one: no quantity, no catalog item, no service named. Then it replaces the stray words
        ("swap", "tech") that were read as lines."""
        context = {id(t) for t in read if t.context}
        lines = [ln for ln in out.lines if ln.description]
        by_text = {t.description: t for t in read}
        real = [
            ln
            for ln in lines
            if id(by_text.get(ln.description)) not in context
            and (ln.quantity is not None or ln.sku or SERVICE.search(ln.description) or ln.item_choices)
        ]
        fallbacks = [ln for ln in lines if id(by_text.get(ln.description)) in context]

        if not fallbacks:
            return
        if real:
            keep = [ln for ln in out.lines if ln not in fallbacks]
        else:
            first = fallbacks[0]
            keep = [ln for ln in out.lines if not ln.description or ln is first]
            service = next((ln for ln in lines if SERVICE.search(ln.description)), None)
            if service is not None and service is not first:
                keep.append(service)
        dropped = [ln.description for ln in out.lines if ln not in keep and ln.description]
        out.unread.extend(dropped)
        out.lines = keep

    @staticmethod
    def _drop_leftovers(out: Extraction) -> None:
        """Words after the first item that got no quantity, no price and no catalog item ("installed", "oh wait",
        "short for peak") are not a line of their own; they are reported back as unread instead."""
        items = [ln for ln in out.lines if ln.description]
        for before, ln in zip(items, items[1:]):
            if (
                ln.unit in PERIOD_UNITS
                and ln.unit_price is None
                and ln.total is None
                and not ln.sku
                and any(x.period == ln.unit for x in items if x is not ln)
            ):
                # "12 seats at $36/user/month, annual commitment (12 months)": the term said again, never a line
                out.lines.remove(ln)
                out.unread.append(ln.description)
                continue
            if (
                ln.quantity is None
                and ln.price_source != "said"
                and ln.total is None
                and _MEASURE.fullmatch(ln.description)
            ):
                # "2 electric forklifts, Grainger, 5000 lb": the capacity of the thing named, never a line of its own
                before.description = f"{before.description}, {ln.description}"
                out.lines.remove(ln)
                continue
            if (
                ln.quantity is None
                and (ln.unit_price is not None or ln.total is not None)
                and SERVICE.search(ln.description)
            ):
                ln.quantity, ln.quantity_source, ln.unit = (
                    Decimal(1),
                    "implied",
                    ln.unit or "service",
                )  # "install labor, $240"
            if (
                ln.quantity is None
                and ln.unit_price is None
                and ln.total is None
                and not ln.sku
                and not ln.item_choices
            ):
                out.lines.remove(ln)
                out.unread.append(ln.description)

    def _catalog_match(self, description: str) -> tuple[Item | None, bool]:
        """The catalog item a description names, and whether the match is strong enough to take its price.

        Strong: the description's head word (its last noun, specs and trailing phrases aside) is a word of
        the item's name or keywords. "forklift seat" loosely matches the forklift, and is not priced as one."""
        description = _ABBREVIATION.sub(lambda m: _ABBREVIATIONS[m.group(0).lower()], description)
        named = self._named_by_code(description)
        if named is not None:
            return named, True
        item = self.catalog.match_item(description)
        # the head word is a thing's name, never the tail of a size ("the 20 by 12 by 12 ones")
        words = [w for w in re.findall(r"[a-z]+", SIZE.sub(" ", re.split(_HEAD_ENDS, description.lower())[0]))]
        words = [w for w in words if w not in _NOT_HEAD and len(w) > 1]
        if not words:
            return item, False
        head = words[-1]
        forms = {head, head.rstrip("s"), head[:-2] if head.endswith("es") else head, head + "s"}
        if item is not None:
            vocabulary = {
                x
                for phrase in (item.name, *item.keywords, item.unit or "")
                for x in re.findall(r"[a-z]+", phrase.lower())
            }
            if any(f in vocabulary for f in forms) or any(fuzz.ratio(head, v) >= 85 for v in vocabulary):
                return item, True
        # "forklift cushion tires": the first phrase found (the forklift) is not the thing; the item whose words
        # hold the head noun and most of the rest is, when it is the only one
        said = {w for w in re.findall(r"\b[a-z]{3,}\b", description.lower()) if w not in _NOT_HEAD}
        if head not in said:
            return item, False  # the head is a size's tail ("20in") or a fragment, not a thing
        ranked = sorted(
            ((len(said & _vocabulary(it)), it) for it in self.directory.items if forms & _vocabulary(it)),
            key=lambda p: -p[0],
        )
        if ranked and ranked[0][0] >= 2 and (len(ranked) == 1 or ranked[1][0] < ranked[0][0]):
            return ranked[0][1], True
        return item, False

    def _own_item_with_own_price(self, out: Extraction) -> None:
        """ "3in tape, 3.10 a roll": a size the catalog item lacks, and a price of its own, is another product;
        nothing is asked about the catalog's (it only stays a choice when it could bring the missing price)."""
        for line in out.lines:
            priced = line.price_source == "said" or line.total is not None
            if line.item_choices and priced and len(line.item_choices) == 1:
                item = self.directory.item_by_sku.get(line.item_choices[0])
                line.item_choices = []
                if item is not None and line.category is None:
                    line.category, line.category_source = item.category, "catalog"

    def _named_by_code(self, description: str) -> Item | None:
        """A catalog item named by its SKU ("PKG-BOX-2012", "SVC-JAN-MO")."""
        low = description.lower()
        for item in self.directory.items:
            if re.search(rf"(?<![\w-]){re.escape(item.sku.lower())}(?![\w-])", low):
                return item
        return None

    def _attach_prices(self, out: Extraction, money: list[Money], w_low: str = "", w_rest: str = "") -> None:
        lines = [ln for ln in out.lines if ln.description]
        nested = nests(w_rest or w_low)
        for mon in money:  # "$11 per box of 100": the nesting was said inside the price
            if mon.pack and mon.unit:
                inner = canonical_unit(mon.pack_of) if mon.pack_of else "each"
                nested.setdefault(
                    (canonical_unit(_SINGULAR.get(mon.unit, mon.unit)) or mon.unit, inner or "each"), mon.pack
                )
        for mon in money:
            # "two scanners and a cradle. Scanners 425 ea, cradle 189": a price right after a line's own words is
            # that line's, wherever the line was named
            lead = _NAME_BEFORE_PRICE.search(w_low[: mon.start]) if w_low and mon.kind != "total" else None
            named = [ln for ln in lines if lead and named_again(ln.description, lead.group("name"))]
            if len(named) > 1:  # "hard hats" and "vests for the crew hats": the one it heads
                named = [ln for ln in named if named_again(_head(ln.description), lead.group("name"))] or named
            if len(named) == 1:
                mon.start = named[0].start
                if mon.kind == "unsure" and named[0].quantity_source == "said":
                    mon.kind = "unit"  # "5 hard hats and 5 vests ... hats $18.50": a thing named, then what one costs
        prices = [m for m in money if m.kind != "total"]
        if len(lines) > 1 and len(prices) == len(lines) and all(m.start > lines[-1].start for m in prices):
            # "5 scanners and 2 label printers, $450 and $620": prices listed after the items, in order
            for line, mon in zip(lines, prices):
                mon.start = line.start
        for mon in money:
            if not lines:
                if mon.kind == "total":
                    out.total = mon.amount
                else:
                    out.unsure_price = mon if mon.kind == "unsure" else None
                    if mon.kind == "unit":
                        out.lines.append(ExtractedLine("", None, mon.unit, mon.amount, "said", start=mon.start))
                continue
            before = [ln for ln in lines if ln.start <= mon.start]
            line = before[-1] if before else lines[0]
            if (
                line.price_source == "said"
                and line.unit_price is not None
                and line.quantity
                and line.total is None
                and abs(line.quantity * line.unit_price - mon.amount) <= Decimal("0.01")
                and mon.kind != "unit"
            ):
                line.total = mon.amount  # "5 x monitor @ $179.99 = $899.95": the line's extension, not a new price
                continue
            if mon.kind != "unit" and len(lines) > 1 and _sum_of_lines(lines, mon.amount):
                continue  # "Total: $1,594.95" under priced lines that add up to it: a check, not a new amount
            corrects_a_price = False
            if line.price_source == "said" and mon.kind != "total":
                # that item already has its price: this one is for the next item without one, a correction
                # ("$49.90/dz, correction, $47.90/dz"), or a question; never the catalog's price instead
                after = [ln for ln in lines if ln.start > line.start and ln.unit_price is None]
                corrected = _CORRECTED.search(w_low[max(0, mon.start - 40) : mon.start])
                if not after and not corrected:
                    out.problems.append(_two_prices(line, mon))
                    line.unit_price, line.price_source = None, "asked"
                    continue
                if not corrected:
                    line = after[0]
                else:
                    corrects_a_price = True  # "$45 each - sorry, $42": the same kind of price, corrected
            line.estimate = line.estimate or mon.estimate
            if mon.kind == "total" and len(lines) > 1:
                out.total = mon.amount
                continue
            kind = mon.kind
            if kind == "unsure" and line.quantity and line.quantity != 1:
                extended = line.quantity * mon.amount
                if any(
                    o is not mon and o.start > mon.start and abs(o.amount - extended) <= Decimal("0.01") for o in money
                ):
                    kind = "unit"  # "2 Stk. EUR 1.180,00 EUR 2.360,00": a price, then its extension
            if kind == "unsure":
                kind = "unit" if corrects_a_price else self._guess_kind(line, mon)
            if kind == "unit":
                counted_in = line.unit  # what the quantity counted before the price's unit is known
                line.unit_price, line.price_source = mon.amount, "said"
                _price_unit_follows_conversion(line, mon)
                if line.quantity is None and mon.unit:
                    _count_in_description(line, mon)
                counted_apart = _counted_in(out, mon)
                if counted_apart is not None and line.quantity_source == "said" and line.unit != counted_apart.unit:
                    # "Trash bags 55 gal, 10 cases, 39.95 each case": the gallons are the bag's size; the cases,
                    # counted apart in the unit the price is for, are how many
                    line.description = f"{line.description} {_plain(line.quantity or Decimal(0))} {line.unit}"
                    line.quantity, line.unit = counted_apart.quantity, counted_apart.unit
                    out.lines.remove(counted_apart)
                elif not _count_in_price_unit(line, mon, nested):
                    # "10 bundles at $1.20/box" and nothing says how many boxes make a bundle: asked, never
                    # multiplied
                    out.problems.append(_other_unit(line, mon))
                    line.unit_price, line.price_source = None, "asked"
                if mon.unit and not line.unit:
                    line.unit = canonical_unit(_SINGULAR.get(mon.unit, mon.unit))
                elif not mon.unit and line.unit == "dozen" and _priced_each(mon, w_low):
                    # "3 dozen mop heads at $4.25 each": 36 mop heads, the dozens kept as information
                    _count_in_price_unit(line, Money(mon.amount, mon.currency, "unit", mon.start, "each"), nested)
                if mon.period:
                    line.period = mon.period
                    if mon.term is None:
                        mon.term = _term_said_apart(mon.period, w_low)
                    one = line.quantity is None or line.quantity_source == "implied" or line.quantity == 1
                    if mon.term is not None and one:
                        # "a shredding service, $90 a month, 12 months": twelve months of one service
                        line.quantity, line.unit, line.quantity_source = mon.term, mon.period, "said"
                    elif mon.term is not None and mon.term != 1 and counted_in not in PERIOD_UNITS and line.quantity:
                        # "6 laptops at $50 a month for a year": each of the six for twelve months
                        count, term = line.quantity, mon.term
                        line.quantity, line.unit = count * term, mon.period
                        line.description = f"{line.description} ({_plain(count)} x {_plain(term)} {mon.period}s)"
                    elif line.quantity_source == "implied":
                        line.quantity, line.quantity_source = None, None  # "$980 a month": for how many months?
                    if line.unit in (None, "service"):
                        line.unit = mon.period if line.quantity is None or line.quantity_source == "said" else line.unit
            elif kind == "total":
                line.total = mon.amount
                if line.quantity:
                    line.unit_price, line.price_source = (mon.amount / line.quantity).quantize(_EXACT), "total"
                else:
                    out.total = mon.amount
            else:
                out.unsure_price = mon
        if out.total is not None and len(lines) == 1 and lines[0].quantity:
            line = lines[0]
            line.total, line.unit_price, line.price_source = (
                out.total,
                (out.total / line.quantity).quantize(_EXACT),
                "total",
            )
            out.total = None

    def _guess_kind(self, line: ExtractedLine, mon: Money) -> str:
        if line.quantity is None or line.quantity == 1:
            return "unit"
        item = self.directory.item_by_sku.get(line.sku or "")
        if item is not None and item.unit_price:
            per_unit = abs(mon.amount - item.unit_price)
            as_total = abs(mon.amount / line.quantity - item.unit_price)
            return "unit" if per_unit <= as_total else "total"
        cents = mon.amount * 100
        if cents != cents.to_integral_value() or line.quantity != line.quantity.to_integral_value():
            return "unsure"
        if mon.amount != mon.amount.to_integral_value() and cents % line.quantity:
            # "mop heads 24 cintas 3.25": an amount in cents is a listed price; as a total for 24 it would not be a
            # whole number of cents each, so it cannot be one
            return "unit"
        return "unsure"

    def _knows(self, description: str) -> bool:
        """Whether a fragment names a thing the company buys: the catalog and the category keywords say so. (A
        learned model places any text somewhere, so it cannot tell an item from a stray phrase.)"""
        reader = self.catalog if isinstance(self.classifier, LearnedClassifier) else self.classifier
        return reader.classify(description) is not None

    def _categorize(self, out: Extraction) -> None:
        """Catalog (strong match, read earlier), then a single-category supplier, then the classifier; with the
        learned one, close candidates are kept for the category question instead of a guess."""
        supplier = self.directory.supplier_by_id.get(out.supplier or "")
        for line in out.lines:
            if line.category or not line.description:
                continue
            if supplier is not None and len(supplier.categories) == 1:
                line.category, line.category_source = supplier.categories[0], "supplier"
                continue
            if isinstance(self.classifier, LearnedClassifier):
                allowed = supplier.categories if supplier is not None and supplier.categories else None
                verdict = self.classifier.verdict(line.description, allowed)
                if verdict.classification is not None:
                    line.category, line.category_source = verdict.classification.category, verdict.classification.source
                else:
                    line.category_choices = list(verdict.candidates)
                continue
            guess = self.classifier.classify(line.description)
            if guess is not None and (supplier is None or guess.category in supplier.categories):
                line.category, line.category_source = guess.category, guess.source


_CORRECTED = re.compile(
    r"\b(?:correction|actually|sorry|oops|i mean|make (?:it|that)|no,|wait|should be|instead|revised|updated|"
    r"typo|edit|new price|now)\b"
)
_PACK_SIZE = re.compile(
    r"\b(?P<u>cases?|box(?:es)?|packs?|bundles?|cartons?|bags?|rolls?|pails?|sleeves?)\s+of\s+(?P<n>\d[\d,]*)\b"
)


def _count_in_price_unit(line: ExtractedLine, mon: Money, nested: dict[tuple[str, str], Decimal]) -> bool:
    """Count the line in the unit its price is for, through how the message says the units nest ("2 pallets,
    40 cases each" at "$5.75 a case" is 80 cases; "need 60 pens" at "$9.60 a dozen" is 5 dozen). False when
    the units differ and nothing says how they nest."""
    priced_in = canonical_unit(_SINGULAR.get(mon.unit or "", mon.unit)) if mon.unit else None
    if priced_in is None or mon.period or priced_in in PERIOD_UNITS or line.quantity is None:
        return True
    if line.quantity_source != "said":
        return True
    if priced_in not in UNIT_WORDS and priced_in not in CANONICAL.values():
        priced_in = "each"  # "$11.20 a bearing": one of the things counted
    # "3 boxes of 10 bearings": the word counted is a unit even when it is also all that names the item
    unit_said = line.unit or (line.description if _only_a_unit(line.description) else None)
    if unit_said is None and (priced_in, "each") not in nested:
        return True  # "40x stretch wrap, $32/roll": the price names what was counted
    counted = canonical_unit(unit_said) or "each"
    if counted in PERIOD_UNITS or priced_in == counted or (priced_in in ("piece", "unit") and counted == "each"):
        return True
    converted = convert(line.quantity, counted, priced_in, nested)
    if converted is None:
        # "40 rolls at $5 each": each of what was counted, unless the message says what one holds
        return priced_in == "each" and not any(outer == counted for outer, _ in nested)
    line.conversion = f"{line.quantity.normalize():f} {line.unit or 'pieces'}"
    line.quantity, line.unit = converted, priced_in
    return True


def _no_catalog_price_over_words(out: Extraction, money: list[Money]) -> None:
    """What the person said wins: a line the catalog would price is asked its price instead when the message has
    an amount no line took, since that amount may be its price. The person is asked, never given the catalog's
    figure over their own."""
    taken: set[Decimal] = set()
    for ln in out.lines:
        for amount in (ln.unit_price, ln.total):
            if amount is not None:
                taken.add(amount)
        if ln.unit_price is not None and ln.quantity:
            taken.add(ln.quantity * ln.unit_price)
    for amount in (out.total, out.unsure_price.amount if out.unsure_price else None):
        if amount is not None:
            taken.add(amount)
    left = [m for m in money if m.amount not in taken and not any(abs(m.amount - t) <= Decimal("0.01") for t in taken)]
    for ln in out.lines:
        if ln.unit_price is not None or ln.total is not None or ln.price_source is not None or not ln.sku:
            continue
        if left or out.amount_unread:
            ln.price_source = "asked"


def _named_by_its_number(line: ExtractedLine, read: list[LineText], w: _Work) -> bool:
    """Whether `line`'s count was a bare number between the words of its name ("Fluke 117 multimeter"); if so,
    the number goes back into the description, as part of the name, and the caller takes the count said apart."""
    said = next((t for t in read if t.start == line.start and t.description), None)
    if said is None or not said.bare or line.quantity_source != "said" or line.unit:
        return False
    if not (said.start < said.quantity_at < said.end) or not re.search(r"[a-z]", w.low[said.quantity_at : said.end]):
        return False
    words = "".join(w.text[i] if w.rest[i] != " " else " " for i in range(said.start, said.end))
    line.description = re.sub(r"\s+", " ", words).strip(" ,.;:-")
    return True


def _count_in_description(line: ExtractedLine, mon: Money) -> None:
    """ "fuel for the yard truck 200 gal diesel at 3.89 a gallon": the gallons inside the words, in the unit the
    price is for, are how many (when nothing else counted the line)."""
    priced_in = canonical_unit(_SINGULAR.get(mon.unit or "", mon.unit))
    for m in re.finditer(rf"(?<![\w.,])(\d[\d,]*(?:\.\d+)?)\s*({_UNIT_RE})\b", line.description, re.IGNORECASE):
        unit = m.group(2).lower()
        count = _number(m.group(1))
        if count and canonical_unit(_SINGULAR.get(unit, unit)) == priced_in:
            line.quantity, line.quantity_source, line.unit = count, "said", priced_in
            rest = f"{line.description[: m.start()]} {line.description[m.end() :]}"
            line.description = re.sub(r"\s{2,}", " ", rest).strip(" ,-")
            return


def _counted_in(out: Extraction, mon: Money) -> ExtractedLine | None:
    """A count said on its own ("10 cases") in the unit a price is for ("39.95 per case")."""
    priced_in = canonical_unit(_SINGULAR.get(mon.unit or "", mon.unit)) if mon.unit else None
    if priced_in is None:
        return None
    return next(
        (
            ln
            for ln in out.lines
            if not ln.description and ln.quantity and ln.unit_price is None and canonical_unit(ln.unit) == priced_in
        ),
        None,
    )


def _priced_each(mon: Money, low: str) -> bool:
    """The price was said to be for one piece ("$4.25 each", "24.50 apiece")."""
    said = mon.text.strip().lower()
    each = r"(?:each|ea|apiece|a piece|per piece)\b"
    return bool(said) and bool(re.search(each, said) or re.search(re.escape(said) + r"\s*" + each, low))


def _other_unit(line: ExtractedLine, mon: Money) -> str:
    counted = f"{line.quantity.normalize():f} {line.unit or ''}".strip() if line.quantity else line.unit or "it"
    return (
        f"The price {mon.text} is per {canonical_unit(mon.unit)}, but you asked for {counted}; "
        f"what does one {line.unit or 'item'} cost?"
    )


def _each_in_packs(line: ExtractedLine, mon: Money, packs: dict[str | None, Decimal]) -> None:
    """ "AA batteries, $0.45/ea, case of 144, need 2 cases": 288 at $0.45, the 2 cases kept as information."""
    priced_in = canonical_unit(_SINGULAR.get(mon.unit or "", mon.unit)) if mon.unit else None
    if mon.kind != "unit" or not line.quantity or priced_in not in ("each", None) or mon.unit is None:
        return
    size = packs.get(canonical_unit(line.unit))
    if size:
        line.conversion = f"{line.quantity.normalize():f} {line.unit}"
        line.quantity, line.unit = line.quantity * size, "each"


_QUOTED_LINE = re.compile(r"^\s*>")
_FORWARD_HEADER = re.compile(r"^\s*(?:-{2,}\s*(?:original message|forwarded message)\s*-{2,}|from:\s.+@)", re.I)


def _split_quoted(text: str) -> tuple[str, str]:
    """The person's own lines, and the lines they quoted or forwarded below them."""
    own: list[str] = []
    quoted: list[str] = []
    forwarding = False
    for line in text.splitlines():
        forwarding = forwarding or bool(_FORWARD_HEADER.match(line))
        (quoted if forwarding or _QUOTED_LINE.match(line) else own).append(line)
    return "\n".join(own), "\n".join(quoted)


# "annual renewal", "1-year subscription": what kind of purchase a line is, never a second thing bought
_TERMS_OF_THE_LINE = re.compile(
    r"(?:(?:annual|yearly|monthly|quarterly|(?:1|one|12)[\s-](?:year|yr|month|mo))\s+)?"
    r"(?:renewal|subscription|licen[cs]e\s+renewal|support(?:\s+renewal)?|maintenance(?:\s+renewal)?)"
)


# the words of a clause before its price: "cradle" in ", cradle 189"
_NAME_BEFORE_PRICE = re.compile(
    r"(?:^|[,;.:\n]\s*|\s[-\u2013\u2014]+\s*)(?P<name>[a-z][a-z \-]{1,30}?)\s*"
    r"(?:\b(?:are|is|were|was|cost|costs|run)\s+)?(?:[$\u20ac\u00a3]\s*)?$"
)


def _one_thing_said_in_two_clauses(out: Extraction) -> None:
    """ "CrowdStrike renewal: 60 endpoints x $59.99/yr" and "45 seats of Microsoft 365 E3, annual renewal, $432 per
    seat": the thing in one clause and its count or its price in the next are one line, not two (two lines would
    price the request twice)."""
    for before, ln in zip(list(out.lines), list(out.lines)[1:]):
        words = re.sub(r"[^a-z ]+", " ", ln.description.lower()).strip()
        if (
            _only_a_unit(words)
            and before.quantity_source == "implied"
            and before.unit_price is None
            and before.total is None
            and ln.quantity_source == "said"
        ):
            before.quantity, before.quantity_source, before.unit = ln.quantity, "said", ln.unit
            before.unit_price, before.price_source, before.total = ln.unit_price, ln.price_source, ln.total
            before.period = before.period or ln.period
            out.lines.remove(ln)
        elif (
            _TERMS_OF_THE_LINE.fullmatch(words)
            and ln.quantity_source != "said"
            and before.quantity_source == "said"
            and before.unit_price is None
            and before.total is None
            and (ln.unit_price is not None or ln.total is not None)
        ):
            before.unit_price, before.price_source, before.total = ln.unit_price, ln.price_source, ln.total
            before.period = before.period or ln.period
            out.lines.remove(ln)


def _only_a_unit(description: str) -> bool:
    return bool(re.fullmatch(rf"(?:{_UNIT_RE})", description.strip().lower()))


def _own_words_win(mine: Extraction, theirs: Extraction) -> Extraction:
    # the person's own lines count when they say what and how many or how much; "fwd, see below" does not
    items = [
        ln
        for ln in mine.lines
        if ln.description
        and not _only_a_unit(ln.description)  # "15 cases": a count, the quoted order says of what
        and (ln.quantity_source == "said" or ln.sku or ln.unit_price or ln.total)
    ]
    bare = [ln for ln in mine.lines if ln.quantity is not None and (not ln.description or ln not in items)]
    bare = [ln for ln in mine.lines if not ln.description and ln.quantity is not None] or bare
    if not items and theirs.lines:
        mine.unread.extend(ln.description for ln in mine.lines if ln.description)
        mine.lines = [ln for ln in theirs.lines if ln.description]
        if bare and len(mine.lines) == 1:
            line = mine.lines[0]  # "the same thing but 15 cases": the person's quantity for the quoted item
            line.quantity, line.quantity_source = bare[-1].quantity, "said"
            said_unit = bare[-1].unit or (bare[-1].description if _only_a_unit(bare[-1].description) else None)
            line.unit = canonical_unit(said_unit) or line.unit
            if line.total is not None and line.unit_price is not None:
                # the quote's total was for its own quantity; its unit price is what was quoted
                line.total, line.price_source = None, "said"
    for name in ("supplier", "site", "cost_center", "currency", "need_by", "urgency", "justification"):
        if getattr(mine, name) is None and getattr(theirs, name) is not None:
            setattr(mine, name, getattr(theirs, name))
    if mine.supplier is None and not mine.supplier_choices and not mine.unknown_supplier:
        mine.supplier_choices, mine.unknown_supplier = theirs.supplier_choices, theirs.unknown_supplier
    mine.quoted.extend(theirs.quoted)
    return mine


def texts_two_counts(description: str, taken: Decimal, other: str) -> str:
    return f"I read two counts for {description} ({_plain(taken)} and {other}); how many do you need?"


def texts_reference(said: str) -> str:
    return (
        f"I can't see which order {said.strip()!r} means; what do you need? "
        "Name the item, like 40 rolls of stretch wrap."
    )


def _two_prices(line: ExtractedLine, mon: Money) -> str:
    return (
        f"I read two prices for {line.description} ({line.unit_price} and {mon.amount}); "
        "which one is right? Write it like $32 a roll."
    )


def _same_item_counted_later(out: Extraction, low: str = "") -> None:
    """ "nitrile gloves $11 per box of 100, need 2000 gloves": the count said later is for the item named
    first, not a second line."""
    lines = [ln for ln in out.lines if ln.description]
    for later in lines[1:]:
        if later.quantity is None:
            continue
        words = {_one(w) for w in re.findall(r"[a-z]+", later.description.lower())}
        sizes = set(re.findall(r"\d+(?:[./]\d+)?", later.description))
        earlier = next(
            (
                ln
                for ln in lines
                if ln is not later
                and ln.quantity is None
                and words
                and words <= {_one(w) for w in re.findall(r"[a-z]+", ln.description.lower())}
                and sizes <= set(re.findall(r"\d+(?:[./]\d+)?", ln.description))  # "3/8 drive set" is not the 1/2"
            ),
            None,
        )
        if earlier is not None:
            earlier.quantity, earlier.quantity_source = later.quantity, later.quantity_source
            earlier.unit = earlier.unit or later.unit
            out.lines.remove(later)
            continue
        before = lines[lines.index(later) - 1]
        head = _one(re.findall(r"[a-z]+", later.description.lower())[-1]) if words else ""
        if (
            before in out.lines
            and before.quantity is None
            and before.unit_price is None
            and before.total is None
            and head
            and head in {_one(w) for w in re.findall(r"[a-z]+", before.description.lower())}
            and before.start < later.start
            and _SPLIT_MARK.search(low[before.start : later.start]) is None
        ):
            # "New tires for box truck 14 - 6 steer/drive tires": the thing named, then counted more closely
            later.description = f"{before.description} - {later.description}"
            later.sku = later.sku or before.sku
            out.lines.remove(before)


_SPLIT_MARK = re.compile(r"\b(?:and|also|plus)\b|[&+;\n]|,\s*\d")
_PLACE_UNITS = {
    "site",
    "sites",
    "dc",
    "dcs",
    "location",
    "locations",
    "warehouse",
    "warehouses",
    "building",
    "buildings",
}
_PLACES_COUNTED = re.compile(
    r"\b(?:all|both|the|our|each of the|at|across|for)\s+(?P<n>\d+)\s+"
    r"(?:sites?|dcs?|warehouses?|locations?|buildings?|branch(?:es)?|facilities)\b"
)


def _priced_per_place(out: Extraction, money: list[Money], low: str) -> None:
    """ "sprinkler inspection for all six DCs, 780 per site": six inspections at $780, never one. Without a count
    of the places, how many is asked."""
    for mon in money:
        said = re.escape(mon.text.lower()) if mon.text else None
        per_place = said and re.search(
            rf"(?<![\d.,]){said}\s*(?:per|a|an|each|every|/)\s*(?:site|dc|location|warehouse|building)\b", low
        )
        if (mon.unit or "").lower() not in _PLACE_UNITS and not per_place:
            continue
        for line in out.lines:
            if line.unit_price != mon.amount or line.price_source != "said" or line.quantity_source == "said":
                continue
            counted = _PLACES_COUNTED.search(low)
            if counted:
                line.quantity, line.quantity_source, line.unit = Decimal(counted.group("n")), "said", "site"
            else:
                line.quantity, line.quantity_source = None, None


_ONLY_HOW_MANY = re.compile(
    r"(?:this|next|per|a|each|every|for|of|\s|,|-|monthly|weekly|yearly|annually|quarterly|months?|weeks?|years?|"
    r"quarters?|units?|shipments?|loads?|visits?|times?|total)*",
    re.IGNORECASE,
)


_SIZE_ONLY = re.compile(
    r"\s*(?:size\s+)?(?:xxs|xs|s|m|l|xl|xxl|[2-5]xl|small|medium|large|x-large|extra large)\s*", re.IGNORECASE
)
_PERIOD_SAID = {"month": r"mo|mos|months?", "week": r"wks?|weeks?", "year": r"yrs?|years?", "quarter": r"quarters?"}


def _term_said_apart(period: str, low: str) -> Decimal | None:
    """ "2 trailers x 3 months at 1,100/mo each", "6 users x 45/mo, annual": how many periods, said away from the
    price."""
    words = _PERIOD_SAID.get(period)
    if words is None:
        return None
    m = re.search(rf"(?:\bx|\bfor|\bover)\s*(?P<n>\d+)\s*(?:{words})\b", low)
    if m:
        return Decimal(m.group("n"))
    if period == "month" and re.search(r"\b(?:annual|annually|for a year|for the year|for one year|1 year)\b", low):
        return Decimal(12)
    return None


def _count_said_apart(out: Extraction) -> None:
    """ "LTL lane Dallas -> Phoenix, 4 shipments this month, 450 each", "Janitorial service ..., monthly, 6 months":
    a clause that only counts (and prices) belongs to the thing named before it, which had no count of its own;
    never a second line beside a one-service guess."""
    lines = [ln for ln in out.lines if ln.description]
    for later in lines[1:]:
        if later.quantity is None or later.quantity_source != "said":
            continue
        earlier = lines[lines.index(later) - 1]
        if earlier.quantity_source == "said" or earlier.price_source == "said" or earlier.total is not None:
            continue
        model = (
            len(lines) == 2
            and (earlier.quantity is None or earlier.quantity_source == "implied")
            and later.price_source == "said"
            and not later.sku
            and re.fullmatch(r"(?:[A-Z0-9][\w-]*\s*)+", later.description) is not None
        )  # "Check scanner for AP - Panini Vision X, 1 unit, 1,650": the make and model of the thing named
        size = _SIZE_ONLY.fullmatch(later.description) is not None  # "cut gloves, size large, 8 dozen"
        if not _ONLY_HOW_MANY.fullmatch(later.description) and not model and not size:
            continue
        if size:
            earlier.description = f"{earlier.description}, {later.description}"
        if model:
            earlier.description = f"{earlier.description} - {later.description}"
            earlier.sku, earlier.item_choices = None, []  # the model said is the thing, not the catalog's
            earlier.unit = later.unit
        earlier.quantity, earlier.quantity_source, earlier.unit = later.quantity, "said", later.unit or earlier.unit
        earlier.period = earlier.period or later.period
        if later.unit_price is not None:
            earlier.unit_price, earlier.price_source = later.unit_price, later.price_source
            earlier.total, earlier.estimate = later.total, later.estimate
        out.lines.remove(later)
        lines.remove(later)


def _one(word: str) -> str:
    """A word in the singular for comparing ("chains" and "chain"), short words as they are."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _pieces_to_packs(line: ExtractedLine, mon: Money) -> None:
    """ "$11 per box of 100, need 2000 gloves": 20 boxes at $11, the 2000 gloves kept as information.
    A count that is not whole packs is left as said, and the price stays a question of its unit."""
    if mon.pack is None or not line.quantity or not mon.unit:
        return
    unit = canonical_unit(_SINGULAR.get(mon.unit, mon.unit))
    if canonical_unit(line.unit) == unit:
        return
    packs = line.quantity / mon.pack
    if packs == packs.to_integral_value() and packs > 0:
        line.conversion = f"{line.quantity.normalize():f} {line.unit or 'pieces'}".strip()
        line.quantity, line.unit = packs, unit


def _head(description: str) -> str:
    """A description's words before what it is for or where from ("vests" in "vests for the crew")."""
    return re.split(_HEAD_ENDS, description, flags=re.IGNORECASE)[0]


def _singular(description: str) -> bool:
    """Whether a description names one thing: its head word is not a plural ("pallet jack", not "pallet jacks")."""
    head = re.split(_HEAD_ENDS + r"|\bof\b", description.lower())[0]
    words = [x for x in re.findall(r"[a-z]+", head) if x not in _NOT_HEAD]
    if not words:
        return False
    last = words[-1]
    return not last.endswith("s") or last.endswith(("ss", "us", "is", "ics"))


def _price_unit_follows_conversion(line: ExtractedLine, mon: Money) -> None:
    """ "2 plt of ice melt (thats 98 bags), 11 a bag": the price is per bag, so the line counts bags."""
    unit = canonical_unit(_SINGULAR.get(mon.unit or "", mon.unit))
    if not unit or not line.conversion or unit == canonical_unit(line.unit):
        return
    amount, _, said_unit = line.conversion.partition(" ")
    if canonical_unit(said_unit) == unit:
        before = f"{line.quantity.normalize():f} {line.unit or ''}".strip() if line.quantity else None
        line.quantity, line.unit, line.conversion = Decimal(amount), unit, before


def _conflicting_spec(description: str, item: Item) -> bool:
    """A size or spec in the description that the catalog item does not have ("3in" against "2in")."""
    # named by its SKU: the code's digits are not a size; "for aisle 9" says where, not what
    description = re.split(_HEAD_ENDS, description.lower())[0]
    description = re.sub(rf"(?<![\w-]){re.escape(item.sku)}(?![\w-])", " ", description, flags=re.IGNORECASE)
    said = set(re.findall(r"\d+(?:\.\d+)?(?:\s?(?:in|inch|ft|v|gal|lb|mm|\"))?", description.lower()))
    said = {re.sub(r"\s|inch|\"", lambda m: "in" if m.group(0) in ("inch", '"') else "", x) for x in said}
    if not said:
        return False
    known = " ".join((item.name, *item.keywords)).lower().replace(" ", "")
    return any(x not in known for x in said)


# "640 parts + labor", "$780 parts & labour": the price of the whole job, not 640 parts and a second line of labor
_PARTS_AND_LABOR = re.compile(
    r"(?P<n>(?:[$€£]\s?)?\d[\d,.]*k?)\s*(?:for\s+|incl\.?\s+|including\s+|with\s+)?(?:the\s+)?"
    r"(?:parts?\s*(?:\+|&|and|n|/|,)\s*lab(?:o|ou)r|lab(?:o|ou)r\s*(?:\+|&|and|n|/|,)\s*parts?)\b",
    re.IGNORECASE,
)


def _job_price(m: re.Match[str]) -> str:
    """The amount, read as an installed job's price: a bare number gets the "for" people put before a price."""
    n = m.group("n")
    return (n if not n[0].isdigit() else f"for {n}") + " installed"


_PEOPLE = re.compile(r"(?:people|persons|heads|guests|attendees|pax|employees|staff|folks|of us|ppl)")


_COUNT_IN_WORDS = re.compile(
    r"(?<![\w.,/$€£-])(?P<n>\d[\d,]*)\s+(?P<u>cases?|boxes|bx|packs?|pks?|rolls?|pallets?|cartons?|bags?|pails?|drums?|"
    r"bundles?|dozens?|dz|pairs?|pcs|pieces|units|sets?|kits?)\b"
)


def _two_counts(out: Extraction) -> None:
    """ "3 M 8210 masks 20 boxes": a second count left inside the description disagrees with the one taken;
    which one is meant is asked, never guessed."""
    for line in out.lines:
        if line.quantity is None or line.quantity_source != "said" or not line.description:
            continue
        if line.unit in ("shipment", "load", "truckload", "trip", "service", "visit") or line.period:
            continue  # "1 shipment, 12 pallets": what one shipment carries
        m = _COUNT_IN_WORDS.search(line.description)
        if m is None or _number(m.group("n")) == line.quantity:
            continue
        out.problems.append(texts_two_counts(line.description, line.quantity, m.group(0)))
        line.quantity, line.quantity_source = None, None


def _people_count_the_thing(read: list[LineText]) -> list[LineText]:
    """ "team lunch, $25 a head, 18 people": the people are how many lunches, not a thing bought."""
    out: list[LineText] = []
    for t in read:
        if t.quantity is not None and t.description and _PEOPLE.fullmatch(t.description.lower().strip()):
            thing = next(
                (
                    o
                    for o in reversed(out)
                    if o.description
                    and o.quantity is None
                    and not o.heading
                    and not re.fullmatch(r"(?:budget|price|cost|quote|total|estimate)s?", o.description.lower().strip())
                ),
                None,
            )
            if thing is not None:
                thing.quantity, thing.quantity_said, thing.unit = t.quantity, t.quantity_said, thing.unit or "person"
                continue
        out.append(t)
    return out


def _narrower(description: str, item: Item) -> bool:
    """ "a new printer" is not surely the thermal label printer: every name the catalog gives the item adds a word
    the person did not say, and no model number of the item was said. Asked as a choice, never substituted."""
    said = [
        w for w in re.findall(r"[a-z0-9][a-z0-9-]*", re.split(_HEAD_ENDS, description.lower())[0]) if w not in _NOT_HEAD
    ]
    if any(w in _model_words(item) for w in said):
        return False  # "aw32", "6205-2rs": the item's own model words

    def heard(word: str) -> bool:
        return any(
            word == x or word == x + "s" or word == x + "es" or x == word + "s" or fuzz.ratio(word, x) >= 85
            for x in said
            if len(x) > 1
        )

    for phrase in (*item.keywords, item.name):
        words = [w for w in re.findall(r"[a-z]+", phrase.lower()) if len(w) > 2 and w not in _NOT_HEAD]
        if words and all(heard(w) for w in words):
            return False
    return True


def _looks_like_price(line: object, text: str, number: Decimal | None = None) -> bool:
    """A bare number with no unit, in a message that said no price: a price for a job or a single thing.
    `number` is a number said on its own after the line; without it, the line's own trailing number."""
    quantity = number if number is not None else getattr(line, "quantity")
    description = getattr(line, "description")
    if quantity is None or (number is None and getattr(line, "quantity_at") < getattr(line, "start")):
        return False  # "3 laptops": a number before the item counts it
    whole = quantity == quantity.to_integral_value()
    start = getattr(line, "start", 0)
    at = getattr(line, "quantity_at", -1)
    if number is None and at >= 0 and re.match(r"\s*\d[\d,]*\s+of\s+(?:them|those|these)\b", text[at:]):
        return False  # "fifteen of them": how many, never a price
    if number is None and re.search(rf"{_ARTICLE_BEFORE}$", text[:start]):
        return True  # "a 3/8 drive set 89": the article counts one; the number after it is its price
    if number is None and whole and _counts_before_words(line, text):
        return False  # "organise 4 forklift tyres": the number stands before the thing it counts
    if not whole or quantity >= 100:
        return True
    return bool(SERVICE.search(description)) or bool(re.search(r"\b(?:quoted|quote|for|costs?|flat)\b", text))


_ARTICLE_BEFORE = r"\b(?:a|an|one|another)(?:\s+(?:new|replacement|spare|single))?\s+"
# words that point at the thing named before instead of naming it
_POINTER = re.compile(
    r"(?:a\s+|the\s+)?(?:replacement|new one|another one|another|spare|replacement one)", re.IGNORECASE
)
# "need a price from someone": asking for a price is not an item
_WHO_DOES_IT = re.compile(
    r"(?:the\s+|our\s+|a\s+)?(?:contractor|vendor|supplier|company|tech|technician|guy|rep|sales ?rep|installer)s?",
    re.IGNORECASE,
)
_NOT_A_THING = re.compile(r"(?:a\s+|the\s+)?(?:price|quote|pricing|estimate|number|cost)s?", re.IGNORECASE)
# "Raise a PO: 5 forklift tires": the order itself is no item (its "a" counts nothing)
_THE_ORDER = re.compile(r"(?:a\s+|the\s+)?(?:po|pr|purchase order|requisition|req)s?", re.IGNORECASE)
_FREIGHT = re.compile(
    r"\b(?:shipments?|ltl|ftl|truck ?loads?|freight|pickups?|pick-?up|lane|haul|dry van|reefer|flatbed|delivery|run)\b",
    re.IGNORECASE,
)
_LOAD = re.compile(r"\b(?:pallets?|skids?|crates?|cartons?|lbs?|pounds?|kgs?|totes?|drums?|plts?)\b", re.IGNORECASE)


def _job_counted_in_visits(out: Extraction) -> None:
    """ "Quarterly pressure wash, 4 visits/year at $375 per visit": one job, counted and priced in visits; never a
    second line beside it."""
    items = [ln for ln in out.lines if ln.description]
    if len(items) != 2:
        return
    job, counted = items
    if (
        job.quantity_source == "implied"
        and job.unit_price is None
        and job.total is None
        and counted.quantity
        and (counted.unit_price is not None or counted.total is not None)
        and (counted.unit or "") in ("visit", "call", "trip", "session", "service", "hour")
    ):
        job.quantity, job.quantity_source, job.unit = counted.quantity, counted.quantity_source, counted.unit
        job.unit_price, job.price_source, job.total = counted.unit_price, counted.price_source, counted.total
        out.lines.remove(counted)
        out.unread.append(counted.description)


def _sum_of_lines(lines: list[ExtractedLine], amount: Decimal) -> bool:
    """Whether every line is priced and counted and together they come to `amount` (within a cent)."""
    if any(ln.unit_price is None or not ln.quantity for ln in lines):
        return False
    return abs(
        sum((ln.quantity * ln.unit_price for ln in lines if ln.quantity and ln.unit_price), Decimal(0)) - amount
    ) <= Decimal("0.01")


def _counts_before_words(line: object, text: str) -> bool:
    """Whether words of the line's description follow its number ("organise 4 forklift tyres")."""
    at = getattr(line, "quantity_at", -1)
    if at < 0:
        return False
    after = re.match(r"[\d,.]+\s+([a-z]{2,})", text[at:])
    if after and after.group(1) in (
        "for",
        "the",
        "and",
        "from",
        "with",
        "each",
        "per",
        "total",
        "bucks",
        "dollars",
        "all",
    ):
        return False
    return bool(after) and after.group(1) in re.findall(r"[a-z]+", getattr(line, "description").lower())  # type: ignore[union-attr]


def _words_after(line: object, text: str) -> bool:
    """Whether words of the line's description come after its number ("wants 320 for the hose assembly")."""
    at = getattr(line, "quantity_at", -1)
    if at < 0:
        return False
    said = set(re.findall(r"[a-z]{3,}", getattr(line, "description").lower()))
    rest = re.split(r"[,;\n]", text[at:])[0]
    return any(word in said for word in re.findall(r"[a-z]{3,}", rest))


def _span_of_words(text: str, n: int) -> int:
    """How many characters the first n words of `text` take, spaces between them included."""
    found = list(re.finditer(r"\S+", text))
    return found[min(n, len(found)) - 1].end() if found else 0


def parse_date(phrase: str, *, now: datetime, timezone: str) -> date | None:
    """A need-by phrase ("Friday", "next Tue", "12/3", "end of month") as a date in the person's time zone."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    today = local.date()
    p = phrase.lower().strip()
    p = {"eow": "end of week", "eom": "end of month", "tmr": "tomorrow"}.get(p, p)
    if p in ("today", "tonight", "eod", "end of day", "end of the day"):
        return today
    if p in ("tomorrow", "tmrw"):
        return today + timedelta(days=1)
    if p in ("end of week", "end of the week"):
        return today + timedelta(days=(4 - today.weekday()) % 7)
    if p == "end of next week":
        return today + timedelta(days=(4 - today.weekday()) % 7 + 7)
    if "christmas" in p or "new year" in p:
        month_day = (12, 24) if "christmas" in p else (12, 31)
        wanted = date(today.year, *month_day)
        return wanted if wanted >= today else date(today.year + 1, *month_day)
    p = re.sub(r"\b(thurs?|thu)\b", "thursday", p)
    p = re.sub(r"\btues?\b", "tuesday", p)
    p = re.sub(r"\bweds?\b", "wednesday", p)
    day = re.fullmatch(r"the (\d{1,2})(?:st|nd|rd|th)", p)
    if day:  # "the 15th": the next 15th from today
        wanted, probe = int(day.group(1)), today
        for _ in range(3):
            try:
                candidate = probe.replace(day=wanted)
            except ValueError:
                candidate = None
            if candidate is not None and candidate >= today:
                return candidate
            probe = (probe.replace(day=1) + timedelta(days=32)).replace(day=1)
        return None
    if p in ("end of month", "end of the month"):
        nxt = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        return nxt - timedelta(days=1)
    explicit = bool(re.search(r"\d", p)) and not p.startswith("in ")
    settings = {
        "RELATIVE_BASE": local.replace(tzinfo=None),
        "DATE_ORDER": "MDY",
        "PREFER_DATES_FROM": "current_period" if explicit else "future",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    parsed = dateparser.parse(p.rstrip("."), languages=["en"], settings=settings)  # type: ignore[arg-type]
    if parsed is None:
        return None
    result = parsed.date()
    if explicit and not re.search(r"\d{4}", p) and result < today and (today - result).days > 90:
        result = result.replace(year=result.year + 1)  # "1/3" in late November means next January
    return result


def _plain(number: Decimal) -> str:
    """12, 2.5: a count as people write it."""
    return f"{number.normalize():f}"


def _vocabulary(item: Item) -> set[str]:
    """The words of an item's name, keywords and unit."""
    return {
        x for phrase in (item.name, *item.keywords, item.unit or "") for x in re.findall(r"\b[a-z]+\b", phrase.lower())
    }


def _model_words(item: Item) -> set[str]:
    """The item's words with digits in them ("aw32", "6205-2rs"): a model or a size that names it."""
    return {
        x
        for phrase in (item.name, *item.keywords)
        for x in re.findall(r"[a-z0-9][a-z0-9-]*", phrase.lower())
        if re.search(r"\d", x) and (re.search(r"[a-z]", x) or len(x) >= 4)
    }


# things bought by amount, not one by one: "need new tape" is not one tape
_MASS_NOUN = re.compile(
    r"\b(?:tape|wrap|film|paper|oil|grease|fuel|diesel|gas|toner|ink|paint|soap|water|coffee|ice|salt|sand|gravel|"
    r"lumber|wire|cable|chain|rope|twine|foam|fabric|plastic|cardboard|tissue|lubricant|degreaser|cleaner|"
    r"coolant|antifreeze|def|propane|stock|supplies|material|materials|labor|help|stuff)\b",
    re.IGNORECASE,
)


def _one_named(description: str, low: str, *, replacement: bool = False) -> bool:
    """Whether the message names the item as one: "a standing desk", "an air compressor", "one printer" (with
    `replacement`, also "new battery", "replacement motor", "another ladder")."""
    if not _singular(description):
        return False
    head = re.split(_HEAD_ENDS + r"|\bof\b", description.lower())[0]
    words = [x for x in re.findall(r"[a-z]+", head) if x not in _NOT_HEAD]
    if not words:
        return False
    article = r"a|an|one|single|new|replacement|another" if replacement else r"a|an|one|single"
    return bool(re.search(rf"\b(?:{article})\s+(?:[a-z0-9-]+\s+){{0,3}}{re.escape(words[-1])}\b", low))
