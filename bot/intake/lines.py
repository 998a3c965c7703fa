"""The item lines of a message: what is wanted, how many, in which unit, and nothing else.

The reader (bot/intake/extract.py) has already blanked out what it understood elsewhere (money,
dates, suppliers, sites, cost centers, urgency), so what is left is item text, quantities and
chatter. Each clause ("..., 40 rolls", "and 5 bx of ear plugs") is read for one quantity; sizes and
specs (3/4", 20in x 1000ft, 48x40, 60 gauge, 5hp, door 4, #7) are never quantities; a clause that is
only a quantity gives it to the item next to it; "actually make it 50" and "40 not 30" correct the
line before; "(thats 2 pallets)" restates a quantity and is kept as information, never a second line.
Descriptions keep the person's own words and case, without filler or runs of spaces. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from bot.intake.numbers import plain_number

UNIT_WORDS = (
    "rolls roll rls rl boxes box bxs bx bundles bundle cases case cs pallets pallet plts plt skids skid each ea "
    "pcs pc pieces piece units unit dozen dz pairs pair prs pr packs pack pks pk pails pail gallons gallon gal "
    "drums drum cartons carton ctns ctn bays bay months month shipments shipment loads load sets set kits kit "
    "reams ream spools spool bags bag lbs lb kgs kg feet foot ft sheets sheet licenses license licences licence "
    "seats seat users user tires tire hours hour hrs hr visits visit years year yrs yr weeks week tubes tube "
    "cans can bottles bottle jugs jug totes tote buckets bucket yards yard meters meter liters liter"
    " mo mos wk wks coils coil cajas caja rollos rollo docenas docena cubetas cubeta piezas pieza paquetes paquete"
    " tarimas tarima days day count ct endpoints endpoint mailboxes mailbox"
).split()
CANONICAL = {
    "rls": "roll",
    "rl": "roll",
    "bxs": "box",
    "bx": "box",
    "boxes": "box",
    "cs": "case",
    "plts": "pallet",
    "plt": "pallet",
    "ea": "each",
    "pcs": "piece",
    "pc": "piece",
    "pieces": "piece",
    "dz": "dozen",
    "prs": "pair",
    "pr": "pair",
    "pks": "pack",
    "pk": "pack",
    "gal": "gallon",
    "ctns": "carton",
    "ctn": "carton",
    "lbs": "lb",
    "kgs": "kg",
    "feet": "foot",
    # the warehouse floor's Spanish
    "cajas": "case",
    "caja": "case",
    "rollos": "roll",
    "rollo": "roll",
    "docenas": "dozen",
    "docena": "dozen",
    "cubetas": "pail",
    "cubeta": "pail",
    "piezas": "piece",
    "pieza": "piece",
    "paquetes": "pack",
    "paquete": "pack",
    "tarimas": "pallet",
    "tarima": "pallet",
    "count": "each",
    "ct": "each",
    "ft": "foot",
    "licences": "license",
    "licence": "license",
    "hrs": "hour",
    "hr": "hour",
    "yrs": "year",
    "mo": "month",
    "mos": "month",
    "wk": "week",
    "wks": "week",
    "yr": "year",
}
# units that are measures: "60 gal unit", "5 lb bag" are specs when a noun follows, quantities at the end
MEASURES = {"gal", "gallon", "gallons", "lb", "lbs", "kg", "kgs", "ft", "feet", "foot", "yard", "yards", "meter"}
_UNIT = "|".join(sorted(UNIT_WORDS, key=len, reverse=True))
_UNIT_SET = frozenset(canonical for canonical in (*UNIT_WORDS, *CANONICAL.values()))


def canonical_unit(word: str | None) -> str | None:
    if not word:
        return None
    w = word.lower().rstrip(".")
    if w in CANONICAL:
        return CANONICAL[w]
    if w.endswith("ies"):
        return w[:-3] + "y"
    if w.endswith("es") and w[:-2] in ("box", "bus"):
        return w[:-2]
    return w[:-1] if w.endswith("s") and len(w) > 3 and w != "each" else w


# sizes, specs and identifiers: blanked before quantities are looked for
SIZE = re.compile(
    r"\bm\d+(?:\.\d+)?\s*[x×]\s*\d+(?:\.\d+)?(?:\s*mm)?\b|"  # "M12 x 40 bolts": a thread and its length
    r"\d+(?:\.\d+)?\s*(?:\"|''|in\b|inch(?:es)?\b|mm\b|cm\b|ga\b|gauge\b|hp\b|v\b|volts?\b|amps?\b|w\b|oz\b|"
    r"mil\b|psi\b|cfm\b|btu\b|ton\b|tb\b|gb\b|mb\b|ghz\b|mp\b|kw\b|kva\b|w\b|m\b(?!\s*[a-z])|k\b(?=\s*(?:lb|capacity)))"
    r"|(?!\d+\s+[x×]\s+\d+(?:\.\d+)?\s*(?:\"|''|in\b|inch|ft\b|')(?!\s*[x×*]))"  # "5 x 24\" monitor" counts
    r"(?!\d+(?:\.\d+)?\s+[x×]\d)"  # "Latitude 5450 x2": a model, then how many
    # "4x6 x 20 rolls": a size, then how many rolls of it
    r"\d+(?:\.\d+)?\s*(?:\"|in|ft|')?\s*[x×*]\s*\d+(?:\.\d+)?(?:\s*(?:\"|in|ft|'))?"
    r"(?:[x×*]\d+(?:\.\d+)?|\s*[x×*]\s*\d+(?:\.\d+)?(?![\d.]|\s*(?:" + _UNIT + r")\b))?"
    r"(?:\s*(?:\"|in\b|inch(?:es)?\b|ft\b|mm\b|'))?"
    r"|\b\d+/\d+(?:-\d+)?\"?"
    r"|\b\d+(?:\.\d+)?\s+by\s+\d+(?:\.\d+)?(?:\s+by\s+\d+(?:\.\d+)?)?\b"  # "20 by 12 by 12" said aloud: a size
    r"|\b\d+(?:\.\d+)?'(?!\w)"  # "53' dry van": feet
    r"|\b\d+(?:\.\d+)?\s*(?:dia|diam|diameter|od|id|btf|oal)\b"  # "1.9 dia rollers", "24 btf": a size
    # "18 cu ft", "400 sq ft": a volume or an area
    r"|\b\d+(?:\.\d+)?\s*(?:cu\.?\s*ft\.?|cubic\s+f(?:ee|oo)t|cu\.?\s*in\.?|sq\.?\s*ft\.?|square\s+f(?:ee|oo)t)(?!\w)"
    r"|\b\d+-?(?:ct|count)\b(?!\s+of\b)(?<!\d\scount)|\b\d+\s(?:ct|count)\b(?=\s+[a-z])"  # "500ct": what a pack holds
    r"|#\s?\d+"
    r"|\b(?:door|dock|aisle|line|truck|forklift|lift|lane|zone|building|bldg|row|gate|model|part|sku|po|pr|"
    r"rack|station|room|suite|conveyor|belt|motor|no\.?|number|size|grade|class|type|schedule|sch|series|gen|rev|"
    r"version|mk|level|phase|tier|cat|revision|step|floor|store|route|shift|site)"
    r"\s*#?\s*(?!x\d)[a-z]?\d+[a-z]?\b(?!\s*(?:x\b|" + _UNIT + r"))"
    r"|\b(?:ticket|quote|ref|order|invoice|unit)\s*(?:#|no\.?)\s*\d+\b"
    r"|\b\d+(?:\.\d+)?(?:lb|lbs|gal|kg|ft|oz|l)\b(?!\s+of\b)"  # "50lb bags", "5gal pails": a size
    r"|\b\d+[a-z]+\d+[a-z\d-]*\b"  # model numbers: 2rs1, 3m8210
    r"|\b\d{2,}[a-jl-wyz]\b"  # toner 26a, belt 5m
    r"|\b(?!x\d)[a-z]+\d+[a-z\d-]*\b"  # aw32, n95, 6205-2rs's tail
    r"|\b\d{3,}-\d+[a-z\d-]*\b"
    r"|(?<!\d,)\b\d+(?:\.\d+)?\s*(?:gal|gallon|lb|lbs|kg|ft|foot|feet)\b(?=\s+(?!of\b)[a-z])"
    r"|\b\d+(?:st|nd|rd|th)\b"
    # "10% off": a discount
    r"|\b\d+(?:\.\d+)?\s*(?:%|percent\b|pct\b)"
    # "3 lines:", "2 items below": how a quote is laid out, not a count of anything bought
    r"|\b\d+\s+(?:lines|items|rows|positions)(?=\s*(?::|below|as follows))"
    # "4K TVs": a screen's resolution
    r"|\b[48]k\b(?=\s*(?:uhd|ultra|hdr|smart|tvs?|televisions?|monitors?|displays?|screens?|cameras?|projectors?)\b)"
    # "3 phase motor", "2-drawer cabinet", "48-port switch": how the thing is built, never how many
    r"|\b\d\s?-?\s?(?:phase|ph|pole|wire|ply|gang)\b"
    r"|\b\d+-(?:drawer|port|shelf|tier|door|bay|step|wheel|speed|stage|way|seat|seater|bin|light|head|outlet)s?\b",
    re.IGNORECASE,
)
# "at all 6 DCs", "across 3 sites", "for both warehouses": where it goes, never how many are bought
SCOPE = re.compile(
    r"\b(?:at|across|for|to|in|between|over)\s+(?:all|both|the|our|each of the)?\s*\d+\s+"
    r"(?:sites?|dcs?|warehouses?|locations?|branch(?:es)?|buildings?|offices?|stores?|plants?|facilities|depots?)\b"
    r"|(?<![$€£@\d\s])(?<!\bat)(?<!\bfor)\s+\d+\s+(?:each|apiece)\s+to\b|\b\d+\s+(?:to|for|at)\s+each\b",
    re.IGNORECASE,
)
# "same gloves as last time": the thing is named; only the pointing words go
SAME_AS = re.compile(
    r"\bsame\b(?=\s+[a-z][a-z -]*?\s+as\s+(?:before|last\s+time|always|usual|last\s+order)\b)"
    r"|\bas\s+(?:before|last\s+time|always|usual|last\s+order)\b(?<=\S)"
    r"|\b(?:this|that|next)\s+time\b",
    re.IGNORECASE,
)
# "something for the holiday party": what it is for, not what it is
VAGUE_THING = re.compile(
    r"\b(?:something|anything|some stuff|stuff|things)\s+(?:for|to)\s+(?:the\s+|our\s+|my\s+|a\s+)?[a-z' -]+",
    re.IGNORECASE,
)
REPLACED = re.compile(r"\b(?:instead of|rather than|not)\s+(?:the\s+)?\d[\d,]*(?:\s+[a-z]+)?\b", re.IGNORECASE)
# the thing named by pointing at an earlier order: the order it points at says what it is
REFERENCE = re.compile(
    r"\b(?:the\s+)?(?:same\s+(?:thing|stuff|order|items?|as\s+(?:last\s+time|before|always|below|above))|the\s+usual)\b"
    # "same as last order", "same as last month's uline order", "like last time": which order is not in the words
    r"|\bsame\s+as\s+(?:the\s+|my\s+|our\s+)?(?:last|previous|usual)\b(?:\s+(?:time|order|one|week'?s?|month'?s?)\b)?"
    r"(?:\s+[a-z-]+)?\s+order\b|\bsame\s+as\s+(?:the\s+|my\s+|our\s+)?(?:last|previous)\s+(?:time|order|one)\b"
    r"|\blike\s+last\s+time\b|\brepeat\s+(?:the\s+|my\s+|our\s+)?(?:last\s+)?order\b"
    r"|\bsame\s+as\s+(?:the\s+|my\s+|our\s+)?(?:last|previous)\b(?!\s+[a-z]+\s+as\b)",
    re.IGNORECASE,
)
PART_OR_PACK = re.compile(
    r"\b\d{3,}-\d*[a-z][a-z0-9]*\b"
    r"|\b\d+-(?:pack|pk|case|box|bag)\b"
    r"|\b\d+\s*(?:pr|prs|pairs?|pc|pcs|ct)\s+(?:box|bx|case|cs|pack|pk|bag|roll)\b"  # "200pr box": what one holds
    r"|\bmerv\s*\d+\b",  # a filter's rating
    re.IGNORECASE,
)
# how units nest ("cases of 36 rolls", "40 cases each", "4 rolls per case"): read by bot/intake/packs.py,
# never a count of their own; only the nesting words are blanked, so "5 cases of 36 rolls" still counts 5 cases
NESTING = re.compile(
    rf"(?<=[a-z] )of\s+\d[\d,]*(?![\d,]|[a-z\"'])(?:\s+(?!for\b|at\b)[a-z]+)?"
    rf"|(?<=,)\s*\d[\d,]*\s*(?:{_UNIT})\s+each\b"
    rf"|\b\d[\d,]*\s*(?:(?:{_UNIT})\s+)?(?:per|in a|in each|to a|to the)\s+(?:{_UNIT})\b"
    rf"|\b\d[\d,]*\s*(?:{_UNIT})\s+an?\s+(?:{_UNIT})\b"
    # "case x 12 rolls" says what a case holds; "2.5 gal x 10 jugs" counts jugs of that size
    rf"|(?<=[a-z])(?<!gal)(?<!lb)(?<!lbs)(?<!oz)(?<!kg)(?<!ft)(?<!ml)\s*(?:=|x)\s*\d[\d,]*\s*(?:{_UNIT})\b",
    re.IGNORECASE,
)
# "van 22", "box truck 14", "door 3", "aisle 14": a number naming one of the company's things, never a count
_NAMED_BY_NUMBER = (
    "van",
    "truck",
    "door",
    "dock",
    "aisle",
    "bay",
    "lane",
    "zone",
    "room",
    "building",
    "bldg",
    "rack",
    "row",
    "trailer",
    "tractor",
    "forklift",
    "store",
    "no.",
    "line",
    "press",
    "shift",
    "unit",
)
_NOT_AFTER_A_NAME = "".join(f"(?<!{re.escape(w)} )" for w in _NAMED_BY_NUMBER)
QTY = re.compile(
    rf"\b(?:qty|quantity|count)\s*[:=.]?\s*(?P<a>\d[\d,]*)\b(?:\s*(?P<ua>{_UNIT})\b)?"
    rf"|(?<![\w.])[x×]\s?(?P<b>\d[\d,]*)\b(?:\s*(?P<ub>{_UNIT})\b)?"
    rf"|(?<![\w.$€£])(?P<c>\d[\d,]*)\s?[x×](?![\w\d])"
    rf"|(?<![\w.,$€£/#-]){_NOT_AFTER_A_NAME}(?P<neg>-\s?)?(?P<d>\d[\d,]*(?:\.\d+)?)(?![\d/]|,\d{{1,2}}\b)"
    rf"(?:\s*(?P<dz>dozen|dz)\b)?"
    rf"(?:\s*(?P<ud>{_UNIT})\b(?:\.|s\b)?)?",
    re.IGNORECASE,
)
VAGUE = re.compile(
    r"\b(?:a lot of|a lot|lots of|a bunch of|a bunch|several|a few|many|plenty of|tons of|loads of|some more|"
    r"double it|double that|triple it|twice as many|half as many|"
    r"lots)\b",
    re.IGNORECASE,
)
A_DOZEN = re.compile(r"\b(?:a|one)\s+dozen\b", re.IGNORECASE)
ARTICLE = re.compile(r"\b(?:a|an|one|another)(?:\s+(?:new|replacement|spare|single))?\s+$", re.IGNORECASE)
CLAUSE = re.compile(
    r"<[^>]{0,200}>|\n|;|,(?!\d{3}\b)|\.(?=\s|$)|!|\?|\s[-–—]+\s|:\s|\s\+\s|\+|&|\band\b(?!\s+(?:rear|back|front|left|right|top|bottom|inside|outside|sides?)\b)|\bplus\b|\balso\b|"
    r"\((?=\s*(?:that'?s|thats|which|=|i\.?e|about|approx|~|or\b|\d))|(?<=\d)\s*\)|"
    + "|".join(rf"(?<=\d [a-z]{{{n}}})\)" for n in range(2, 9))  # "(thats 98 bags)" ends its clause
    + r"|"
    r"\bas well as\b|\bthen\b|\bbut\b|(?=\bthat'?s\s+\d)"
    r"|(?=\b(?:actually|sorry|oops|wait|correction|make (?:it|that)|scratch that|edit:|update:)(?:\b|\s))",
    re.IGNORECASE,
)
CORRECTION = re.compile(
    r"^\s*(?:actually|sorry|oops|correction|wait|scratch that|no|nope|make (?:it|that)|change (?:it|that) to|"
    r"instead|update|edit|revised|typo)\b",
    re.IGNORECASE,
)
# words that correct the thing itself when a new name follows ("catalogue paper - sorry, copy paper")
ITEM_CORRECTION = re.compile(
    r"^\s*(?:actually|sorry|oops|correction|i mean|scratch that|make (?:it|that)|change (?:it|that) to|no,)",
    re.IGNORECASE,
)
# what a number is when a failure follows it: the things that broke, never a count to buy
BROKEN_ONES = re.compile(
    r"\s*(?:(?:are|is|was|were)\s+(?:dead|down|broken|busted|shot|done|gone|leaking|damaged|out of service|not working)"
    r"|broke|died|failed|stopped|quit|went down|keeps?\s+(?:failing|breaking|dying)"
    r"|(?:is\s+|are\s+)?not\s+(?:working|heating|cooling|starting|running|closing|opening|charging))\b",
    re.IGNORECASE,
)
# "jacks 4 and 6 are down": the numbers name the ones that failed
BROKEN_LIST = re.compile(r"\b\d+(?:\s*(?:,|and|&|\+)\s*\d+)+(?=" + BROKEN_ONES.pattern + ")", re.IGNORECASE)
NOT_INSTEAD = re.compile(r"^\s*(?P<q>\d[\d,]*)\s*(?P<u>[a-z]+\s+)?not\s+\d", re.IGNORECASE)
RESTATED = re.compile(
    r"^\s*(?:that'?s|thats|which is|=|i\.?e\.?|about|approx\.?|~|or|so)\b", re.IGNORECASE
)  # "(thats 2 pallets)", "= 98 bags"
# longest first, so "we're" is taken whole and not as "we" and a stray "'re"
FILLER_START = re.compile(
    r"^(?:(?:correction|sorry|oops|wait|oh wait|oh|ah|um|uh|yeah|yep|yup|alright|reorder|re-order|see below|"
    r"see attached|see thread|"
    r"fwd|fw|your|"
    r"mándame|mandame|mándanos|pide|pídeme|pideme|necesito|necesitamos|porfa|por favor|se acabó|se acabo|"
    r"un pr para|un pr|una|un|el|la|los|las|de|para|y|"
    r"please raise|raise it|raise a pr|raise a requisition|raise|"
    r"put that in|put that|put it in|put it through|log|book|could i get|can i get|"
    r"is it possible to|is it ok to|would it be possible to|possible to|could we|can we|could you|can you|"
    r"nothing fancy|good morning|good afternoon|good evening|good day|happy (?:mon|tues|wednes|thurs|fri)day|"
    r"hope (?:you're|you are|all is) well|please order|putting in|requesting|would like|approx\.?|somewhere|"
    r"thank you|actually|an order|go ahead|ordering|purchase|quantity|shipping|urgently|whatever|'d like|"
    r"another|between|instead|looking|more of|morning|ordered|pasting|placing|quickly|request|roughly|running|"
    r"sending|almost|around|change|charge|kindly|let me|needed|please|put in|rather|spares|switch|thanks|"
    r"organi[sz]e|arrange|source|put|allocate up to|allocate|up to|set aside|"
    r"set up a po for|set up a po|raise a po for|raise a po|a po for|po for|"
    r"would it be ok to|would it be alright to|is it ok if we|any chance we could|"
    r"any chance|ok to|okay to|alright to|"
    r"i've|we've|ive|weve|"
    r"that's|units?|you'll|about|above|below|could|grand|hello|let's|needs|order|place|quick|thats|there|"
    r"these|those|total|we'll|we're|also|asap|both|came|each|flat|from|grab|have|here|i'll|just|lets|like|"
    r"make|more|need|okay|ones|pcs?|said|send|ship|some|team|that|then|they|this|want|we'd|were|with|add|and|"
    r"are|bot|buy|can|for|get|got|has|hey|i'd|i'm|low|new|one|our|out|per|pls|plz|qty|ran|the|thx|use|you|an|"
    r"at|by|ea|go|hi|id|im|is|it|me|my|no|of|ok|on|re|so|to|ty|up|us|we|yo|a|i|u|x|~)\b(?!-\w)\s*)+",
    re.IGNORECASE,
)
FILLER_END = re.compile(
    r"(?:\s*\b(?:for|from|at|by|to|of|the|please|pls|plz|thanks|thx|ty|about|around|each|ea|a|an|and|with|on|"
    r"in|total|roughly|approx|quoted|quote|asap|needed|need|is|are|it|them|em|'em|those|these|more|too|as well|"
    r"again|please order|thank you|so|per|x|qty|each one|apiece|also|warehouse|dc|site|branch|location|"
    r"facility|building|bldg|region|office|plant|de|del|para|por|porfa|y|con|charge|charged|bill|"
    r"ordered|installed)\b)+\s*$",
    re.IGNORECASE,
)
CHATTER = re.compile(
    r"\b(?:is|are|was|were|has|have|had|died|broke|broken|snapped|stuck|shot|leaking|dead|down|went|going|"
    r"gone|ran|run|said|says|quoted|can|could|will|would|should|think|thinks|sent|send|told|called|"
    r"asked|needs?|fixed|fine|ok|okay|thanks|thank|hi|hello|hey|please|burnt|burned|blew|blown|cracked|bent|torn|"
    r"busted|failed|quit|misread)\b(?!-\w)",
    re.IGNORECASE,
)
# a model year before a make ("2019 Toyota", "2016 Crown") or a model number after a brand written with a digit
# ("3M 8210"): they name the thing; the count is elsewhere
MODEL_YEAR_OR_NUMBER = re.compile(
    r"(?<![\d,.$€£])\b(?P<n>(?:19[5-9]\d|20[0-4]\d)(?=\s+[A-Z][a-z]*[A-Za-z]\b)"
    r"|\b\d[A-Z]\s\d{3,6}(?=\s+[A-Za-z])"
    r"|(?<=\d{4}[\s-])\d?(?i:rs|zz|z|rz|2rs|llu|ddu)\b"  # a bearing's seal code ("6205 2RS"), not 2 bearings
    r"|(?<=\()(?i:unit|truck|lift|forklift|asset|machine|door|dock|line|bay)\s*(?:#|no\.?\s*)?\d+(?=\)))"
    r"\b(?!\s*(?:x|each|ea|@)\b)"
)
SERVICE = re.compile(
    r"\b(?:repairs?|repaired|fix|fixed|fixing|service|servicing|serviced|inspections?|inspect|renewals?|renew|"
    r"subscriptions?|maintenance|install|installation|installed|calibrat\w*|labou?r|tech visit|visit|"
    r"overhaul|rebuild|replace(?:ment)? of|swap|pickup|pick-up|pick up|haul|hauling|freight|lane|delivery|"
    r"consult\w*|training|cleaning|pest control|janitorial|removal|rental|rent|lease|support|audit|"
    r"certification|recharge|pm|washing|cleaned|cleanout|roofer|electrician|plumber|locksmith|"
    r"exterminator|landscaping|mowing|snow removal|service call|serviced)\b",
    re.IGNORECASE,
)
PERIOD_UNITS = {"month", "year", "week", "quarter"}


@dataclass
class LineText:
    """One line as read: the description's span in the message, and its quantity and unit."""

    description: str
    quantity: Decimal | None = None
    unit: str | None = None
    start: int = 0
    end: int = 0
    quantity_said: str | None = None  # the words the quantity came from
    dozen: bool = False  # "a dozen" with no other number: 12, or one dozen of a dozen-packed item
    bare: bool = False  # a number with no unit, "x" or "qty": in a message with no price it may be the price
    quantity_at: int = -1  # where the quantity was said
    heading: bool = False  # "label stock for Phoenix:" introduces the lines after it
    context: bool = False  # the subject of a sentence about it ("forklift #3 seat is shot"): an item if nothing else is
    conversion: str | None = None
    problems: list[str] = field(default_factory=list)
    trailing: Decimal | None = None  # a number left at the end after an explicit count ("toner x2 89"): a price


_ABBREVIATED = {
    "cs",
    "pk",
    "ea",
    "bx",
    "rl",
    "plt",
    "dz",
    "pr",
    "gal",
    "ft",
    "lb",
    "kg",
    "pc",
    "ct",
    "mo",
    "wk",
    "hr",
    "yr",
}


def _names_the_item(unit_word: str, count: Decimal | None, after: str) -> bool:
    """Whether a unit word after a count is part of the item's name: singular after a count above one, and
    followed by a noun ("2 pallet jacks"), not by "of", a price word or the end ("40 rolls stretch wrap" counts)."""
    word = unit_word.lower().rstrip(".")
    if count is None or count <= 1 or word in _ABBREVIATED or word.endswith("s"):
        return False
    nxt = re.match(r"\s+([a-z]+)", after, re.IGNORECASE)
    return bool(nxt) and nxt.group(1).lower().rstrip("s") in _COMPOUNDS.get(word, ())  # type: ignore[union-attr]


# things named after a unit word: "pallet jack", "box cutter", "drum pump"
_COMPOUNDS = {
    "pallet": {"jack", "truck", "rack", "racking", "wrapper", "scale", "inverter", "dispenser", "label", "puller"},
    "box": {"cutter", "truck", "fan", "knife", "opener"},
    "seat": {"cushion", "cover", "belt", "pad", "switch"},
    "case": {"sealer", "erector", "packer", "cutter"},
    "roll": {"cage", "holder", "dispenser"},
    "drum": {"pump", "dolly", "heater", "truck", "lifter"},
    "bag": {"sealer", "holder", "stand"},
    "tube": {"cutter", "bender"},
    "bay": {"light", "door"},
}


def _same_thing(a: str, b: str) -> bool:
    """Whether two descriptions name the same thing: the same head word, plural or not."""
    heads = [re.findall(r"[a-z]+", x.lower())[-1:] for x in (a, b)]
    return bool(heads[0] and heads[1]) and heads[0][0].rstrip("s") == heads[1][0].rstrip("s")


def named_again(named: str, said: str) -> bool:
    """ "paper" after "2 cases paper": a line's own words, alone, pointing back at it."""
    words = said.lower().split()
    return 0 < len(words) <= 2 and set(words) <= set(named.lower().split())


def _nesting_blank(text: str, m: re.Match[str]) -> str:
    if m.group(0).lower().startswith("of") and not re.search(rf"(?:{_UNIT})\s+$", text[: m.start()]):
        return m.group(0)  # "a couple of 5 gal pails": not a nesting
    if re.match(r"\s*x\s*\d", m.group(0), re.IGNORECASE):
        clause = re.split(r"[,;\n]|\band\b", text[: m.start()])[-1]
        if not re.search(r"\d", clause):
            return m.group(0)  # "stretch wrap x 24 rolls": nothing counted before, so this is the count
    return " " * len(m.group(0))


def _blank(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = " "


def _clean(original: str, rest: str, start: int, end: int) -> tuple[str, int]:
    """The kept words of rest[start:end], in the original's case, filler trimmed; and where they start."""
    seg = rest[start:end]
    cut = len(seg) - len(seg.lstrip())
    lead = FILLER_START.match(seg[cut:])
    cut += lead.end() if lead else 0
    tail = FILLER_END.search(seg[cut:])
    stop = cut + tail.start() if tail else len(seg)
    kept = "".join(original[start + i] if rest[start + i] != " " else " " for i in range(cut, stop))
    kept = re.sub(r"\s+", " ", kept).strip(" .,:;!?-–—'\"()[]/=@~")
    kept = re.sub(r"^(?:of|for|x|de|del|para)\s+", "", kept, flags=re.IGNORECASE)
    greeting = re.match(r"^[A-Z][a-z]+ here\b\W*", kept)
    if greeting:
        kept = kept[greeting.end() :]  # "Sofia here - 50 pallets": who is writing, not what they need
    lead = _RUNNING_LOW.match(kept)
    if lead and re.search(r"[a-zA-Z]{3,}", kept[lead.end() :]):
        # "its rosa, we're running low on boxes": the thing runs from what they are low on
        at = original.lower().find(kept[lead.end() :].lower(), start + cut)
        return kept[lead.end() :], at if at >= 0 else start + cut
    return kept, start + cut


_RUNNING_LOW = re.compile(
    r"^.*?\b(?:running low on|running out of|low on|ran out of|out of|short on|short of|almost out of)\s+"
    r"(?:the\s+|our\s+|those\s+)?",
    re.IGNORECASE,
)


def _number(raw: str) -> Decimal | None:
    try:
        return plain_number(raw)
    except (InvalidOperation, ValueError):
        return None


def read_lines(rest: str, original: str, spec_numbers: frozenset[str] = frozenset()) -> list[LineText]:
    """Lines from the leftover text of a message (same length as `original`, understood spans blanked).

    `spec_numbers` are numbers that name a product rather than count it ("6205" bearings)."""
    # "15 cases instead of 10" (the 10 is what it replaces) and "the same thing" (an earlier order says what)
    said_rest = rest  # corrections are read from what was said ("24 not 20")
    for pattern in (REPLACED, REFERENCE, SAME_AS, VAGUE_THING, BROKEN_LIST):
        rest = pattern.sub(lambda m: " " * len(m.group(0)), rest)
    rest = NESTING.sub(lambda m: _nesting_blank(rest, m), rest)
    chars = list(rest)
    for m in re.finditer(r"\b\d{4,}(?:-[a-z0-9]+)?\b", rest):
        if m.group(0).split("-")[0] in spec_numbers:  # "100 x 6205 bearing": 6205 names the bearing
            _blank(chars, m.start(), m.end())
    for m in MODEL_YEAR_OR_NUMBER.finditer(original):  # "the 2016 Crown RC5500", "3M 8210 masks": never a count
        _blank(chars, m.start("n"), m.end("n"))
    for m in PART_OR_PACK.finditer(rest):  # "6206-2rs", "24-pack": they name or pack it, never count it
        _blank(chars, m.start(), m.end())

    specless = "".join(chars)
    for m in SIZE.finditer(specless):
        _blank(chars, m.start(), m.end())
    no_specs = "".join(chars)

    clauses: list[tuple[int, int]] = []
    pos = 0
    for m in CLAUSE.finditer(rest):
        clauses.append((pos, m.start()))
        pos = m.end()
    clauses.append((pos, len(rest)))

    lines: list[LineText] = []
    pending_qty: LineText | None = None  # a clause that was only a quantity, waiting for its item
    after_correction_word = False  # "Edit: 9 scanners": the clause after the word corrects
    for start, end in clauses:
        seg = no_specs[start:end]
        if not seg.strip():
            continue
        corrected_by_word, after_correction_word = (
            after_correction_word,
            bool(
                re.fullmatch(
                    r"\s*(?:edit|update|correction|sorry|actually|wait|oops|typo|no wait|scratch that|my bad"
                    r"|i mean|no|nope)\W*",
                    rest[start:end],
                    re.I,
                )
            ),
        )
        if after_correction_word:
            continue  # "scratch that," on its own: the next clause corrects, this one names nothing
        if re.match(r"\s*not\s+\d", seg):
            continue  # "make that 12 bundles, not 10": the number that was replaced
        correction = (
            corrected_by_word
            or bool(CORRECTION.match(rest[start:end]))
            or bool(NOT_INSTEAD.match(said_rest[start:end]))
        )
        restated = bool(RESTATED.match(rest[start:end]))
        quantity, unit, said, dozen, problems, bare, quantity_at = None, None, None, False, [], False, -1
        trailing: Decimal | None = None
        after_number = ""  # what follows the quantity in its clause
        work = list(rest[start:end])  # the description keeps sizes and specs; only the quantity is taken out
        dz = A_DOZEN.search(seg)
        vague = VAGUE.search(seg)
        if vague:
            problems.append(f"I can't tell how many from {vague.group(0).strip()!r}; write a number, like 40.")
            work[vague.start() : vague.end()] = " " * (vague.end() - vague.start())
        elif dz:
            quantity, unit, said, dozen = Decimal(12), None, dz.group(0), True
            work[dz.start() : dz.end()] = " " * (dz.end() - dz.start())
        else:
            m = QTY.search(seg)
            if m and m.group("d") is not None and not m.group("ud") and not m.group("dz"):
                # "Latitude 5450 laptop x4": an x or "qty" says which number counts; the other names the thing
                explicit = next(
                    (x for x in QTY.finditer(seg, m.end()) if x.group("a") or x.group("b") or x.group("c")), None
                )
                m = explicit or m
            if m:
                raw = m.group("a") or m.group("b") or m.group("c") or m.group("d")
                unit = m.group("ua") or m.group("ub") or m.group("ud")
                if m.group("dz"):
                    unit = "dozen"
                value = _number(raw)
                said = m.group(0).strip()
                grouped = (
                    re.match(r" (\d{3})(?=\s+[a-z])(?!\s+(?:" + _UNIT + r"|x|by)\b)", seg[m.end("d") :], re.IGNORECASE)
                    if m.group("d")
                    else None
                )
                if grouped and value is not None and value < 1000 and "." not in raw and "," not in raw:
                    # "2 500 labels": 2,500 written with a space, or 2 of something numbered 500? asked, never guessed
                    problems.append(
                        f"I can't tell whether {raw} {grouped.group(1)} means {raw}{grouped.group(1)} or {raw}; "
                        "write the quantity without spaces, like 2500."
                    )
                    value = None
                    m_end_extra = grouped.end()
                else:
                    m_end_extra = 0
                bare = bool(m.group("d")) and not unit and not m.group("dz")
                quantity_at = start + m.start()
                if value is None and grouped:
                    pass
                elif value is None:
                    problems.append(f"I could not read the quantity {raw!r}; write it like 1500 or 1,500.")
                elif m.group("neg"):
                    problems.append(f"A quantity of -{raw} is not something to order; how many do you need?")
                elif value <= 0:
                    problems.append(f"A quantity of {raw} is not something to order; how many do you need?")
                elif value > Decimal(1000000):
                    problems.append(f"{raw} is more than the 1,000,000 a single line allows; check the quantity.")
                else:
                    quantity = value
                taken_end = m.end() + m_end_extra
                if m.group("ud") and _names_the_item(m.group("ud"), value, seg[m.end() :]):
                    # "2 pallet jacks", "3 box cutters": a singular unit word before a noun is part of the name
                    unit, bare, taken_end = None, True, m.start("ud")
                    said = seg[m.start() : taken_end].strip()
                work[m.start() : taken_end] = " " * (taken_end - m.start())
                after_number = seg[taken_end:]
                if not m.group("d"):
                    tail = re.search(r"(?<=\s)(\d[\d,]*(?:\.\d\d)?)\s*$", seg[taken_end:])
                    if tail and not re.search(r"\d", seg[taken_end:][: tail.start()]):
                        # "toner x2, staples 89": counted with an x, so the number left at the end is a price
                        trailing = _number(tail.group(1))
                        at = taken_end + tail.start(1)
                        work[at : taken_end + tail.end(1)] = " " * (tail.end(1) - tail.start(1))
        if quantity is not None and BROKEN_ONES.match(after_number):
            continue  # "forklift 7 and 9 are dead", "2 broke this week": which ones failed, not how many to buy
        left = "".join(work)
        description, desc_start = _clean(original, rest[:start] + left + rest[end:], start, end)
        if NOT_INSTEAD.match(seg):
            description = ""
        if description and unit and not re.search(r"[a-z]{3,}", SIZE.sub(" ", description.lower())):
            # "200 pallets 48x40": the unit word is what is counted, the size describes it
            description = f"{_unit_said(said, unit)} {description}"
        unit = canonical_unit(unit)
        if description and quantity is None and CHATTER.search(description) and not SERVICE.search(description):
            # "the door is stuck open" is context; "forklift #3 seat is shot" still names the thing, before
            # its verb: kept as a fallback item in case the message names nothing better
            head = description[: CHATTER.search(description).start()].strip(" ,.-")  # type: ignore[union-attr]
            head = re.sub(r"^(?:the|our|my|a|an|this|that)\s+", "", head, flags=re.IGNORECASE)
            if re.search(r"[a-zA-Z]{3,}", head) and not FILLER_START.fullmatch(head + " "):
                fallback = LineText(head, None, None, desc_start, end, problems=problems)
                fallback.context = True
                lines.append(fallback)
            continue
        if not description:
            if quantity is None and unit and problems:
                # "0 boxes": the unit word is the item, and the quantity is asked again
                lines.append(LineText(canonical_unit(unit) or unit, None, None, start, end, problems=problems))
                continue
            if quantity is None:
                continue
            if unit is None and rest[max(0, start - 1) : start] == "(" and rest[end : end + 1] == ")":
                continue  # "(1)": a numbered note, not a quantity
            restated = restated or (rest[max(0, start - 1) : start] == "(" and unit is not None)
            if restated and lines and lines[-1].quantity is not None:
                lines[-1].conversion = f"{quantity.normalize():f} {unit or ''}".strip()
                continue
            if correction and lines:
                lines[-1].quantity, lines[-1].quantity_said = quantity, said
                if unit:
                    lines[-1].unit = unit
                continue
            if lines and lines[-1].quantity is None and lines[-1].description:
                lines[-1].quantity, lines[-1].unit, lines[-1].quantity_said = quantity, unit or lines[-1].unit, said
                lines[-1].bare, lines[-1].quantity_at = bare, quantity_at
                continue
            if lines and lines[-1].description and lines[-1].quantity is not None and unit and not lines[-1].unit:
                lines[-1].conversion = f"{quantity.normalize():f} {unit}"
                continue
            pending_qty = LineText("", quantity, unit, start, end, said, problems=problems, bare=bare)
            pending_qty.quantity_at = quantity_at
            lines.append(pending_qty)
            continue
        if (
            (corrected_by_word or ITEM_CORRECTION.match(rest[start:end]))
            and quantity is None
            and lines
            and lines[-1].description
            and not problems
            and not CHATTER.search(rest[start:end])
            and not re.match(r"\s*(?:\W+\s*)?(?:i|we|they|he|she|you|it|not|no)\b", description, re.IGNORECASE)
            and re.search(r"[a-zA-Z]{3,}", description)
            and description.lower() not in ("now", "then", "that", "this", "one", "instead", "please", "not")
        ):
            # "some catalogue paper - sorry, copy paper - 12 cases": the thing itself corrected
            lines[-1].description, lines[-1].start = description, desc_start
            continue
        if (
            quantity is None
            and lines
            and lines[-1].description
            and re.match(r"[a-z]+-?[a-z]*ed\b", description, re.IGNORECASE)
            and not SERVICE.search(description)
        ):
            # "grey stretch wrap, colour-coded for the returns area": how the thing is, not another thing
            lines[-1].description = f"{lines[-1].description}, {description}"
            continue
        if (
            quantity is not None
            and lines
            and lines[-1].description
            and lines[-1].quantity is None
            and re.match(r"\s*\d[\d,]*\s+(?:more\s+|of them\s+)?(?:for|to)\s+(?:the|our|my|a|an)\b", seg)
        ):
            # "same laptops from CDW, 2 more for the new hires": who they are for, and how many of the thing before
            lines[-1].quantity, lines[-1].quantity_said, lines[-1].quantity_at = quantity, said, quantity_at
            lines[-1].unit = unit or lines[-1].unit
            continue
        if (
            correction
            and quantity is not None
            and lines
            and (
                (lines[-1] is pending_qty and not lines[-1].description and lines[-1].unit)
                or canonical_unit(lines[-1].description.lower()) in _UNIT_SET
            )
        ):
            # "18 reams? sorry, 18 cases of copy paper": the correction says again, whole, what the last line meant
            last = lines[-1]
            last.description, last.start, last.quantity, last.quantity_said = description, desc_start, quantity, said
            last.unit, last.bare, last.quantity_at = unit, bare, quantity_at
            continue
        if (
            quantity is None
            and not problems
            and any(x.description and named_again(x.description, description) for x in lines)
        ):
            continue  # "two scanners and a cradle. Scanners $425 ea": a line named again, for its price
        if bare and quantity is not None and not correction and re.search(r"[a-z]\s+" + re.escape(raw) + r"\s*$", seg):
            named = next(
                (
                    x
                    for x in lines
                    if x.description and x.quantity is not None and named_again(x.description, description)
                ),
                None,
            )
            if named is not None and named.trailing is None:
                # "2 cases paper, 1 box pens. paper 45, pens 8.99": a line named again with a bare number is priced
                named.trailing = quantity
                continue
        if correction and quantity is not None:
            again = next(
                (x for x in reversed(lines) if x.description and _same_thing(x.description, description)), None
            )
            if again is not None:
                again.quantity, again.quantity_said, again.unit = quantity, said, unit or again.unit
                continue
        if quantity is None and canonical_unit(description) in _UNIT_SET and any(x.description for x in lines):
            continue  # "wire connectors, bag of 250 for $27.80": the unit the price is for, not another item
        line = LineText(description, quantity, unit, desc_start, end, said, dozen, problems=problems, bare=bare)
        line.quantity_at = quantity_at
        line.trailing = trailing
        line.heading = rest[end : end + 1] == ":"
        if quantity is None and lines and not lines[-1].description and lines[-1] is pending_qty:
            # "40 rolls, stretch wrap": the quantity came first, in a clause of its own
            pending_qty.description, pending_qty.start = description, desc_start
            pending_qty = None
            continue
        if quantity is None and not vague and ARTICLE.search(original[max(0, desc_start - 20) : desc_start]):
            line.quantity, line.quantity_said = Decimal(1), "a"
        lines.append(line)
    for line in lines:
        if not line.description and line.unit and line.unit not in _ONLY_PACKING:
            # "80 boxes" with nothing else: the unit word is the item
            line.description, line.unit = _unit_as_item(original, line), None
    return lines


# "6 bundles", "10 cases" with nothing else: a count of packs of something not said, never the thing itself
_ONLY_PACKING = {"each", "piece", "unit", "dozen", "pair", "bundle", "case", "pack", "set", "lot", "order", "kit"}


def _unit_said(said: str | None, unit: str) -> str:
    m = re.search(r"[a-z]+\.?$", (said or "").lower())
    return m.group(0).rstrip(".") if m else unit


def _unit_as_item(original: str, line: LineText) -> str:
    m = re.search(r"[a-z]+\.?$", (line.quantity_said or "").lower())
    return m.group(0).rstrip(".") if m else line.unit or ""
