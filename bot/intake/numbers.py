"""Numbers as people write them: words, misspellings, "a dozen", "2.5k", and money in any local format.

Two libraries do the parts they are made for: `text2num` turns compound number words into digits
("thirty-five" -> 35, "two hundred" -> 200), and `price-parser` decides which mark of "12.500,50 €"
or "EUR 3.250" is the decimal point. What they do not know (common misspellings, "a pair of",
"a couple", and that "3.250" after EUR is three thousand while "19.90" is nineteen) is here.
Pure: text in, text or numbers out.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from price_parser import Price
from text_to_num import alpha2digit

# Misspellings seen in real messages; each maps to the word text2num knows.
MISSPELLED = {
    "ninty": "ninety",
    "nintey": "ninety",
    "ninety-": "ninety-",
    "fourty": "forty",
    "fourtey": "forty",
    "fivty": "fifty",
    "fiftey": "fifty",
    "sixtey": "sixty",
    "seventey": "seventy",
    "eightey": "eighty",
    "twelf": "twelve",
    "tweleve": "twelve",
    "twelv": "twelve",
    "eigth": "eight",
    "thrity": "thirty",
    "thirtey": "thirty",
    "twnety": "twenty",
    "tweny": "twenty",
    "twentey": "twenty",
    "hundered": "hundred",
    "hunderd": "hundred",
    "thousend": "thousand",
    "fiveteen": "fifteen",
}
SMALL = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
}
# "a pair of gloves" is two gloves; "a couple" two; "a dozen" stays a unit word ("2 dozen gloves").
PAIRS = re.compile(
    r"(?<!\d )(?<!\d)\b(?:a\s+)?(?:pair|couple)\s+of\b"
    r"|\b(?:a\s+)?couple\b(?=\s+(?:more\s+)?(?!of\b|days?\b|weeks?\b|hours?\b)[a-z0-9])",
    re.IGNORECASE,
)
HALF_DOZEN = re.compile(r"\b(?:a\s+)?half\s+(?:a\s+)?dozen\b", re.IGNORECASE)
_MISSPELLED = re.compile(r"\b(" + "|".join(re.escape(w) for w in MISSPELLED) + r")\b", re.IGNORECASE)
_SMALL = re.compile(
    r"\b(" + "|".join(SMALL) + r")\b(?=[\s-]+(?:x\s+)?(?!(?:of|or|and|to|in|at|for|more|on|is|was)\b)[a-z$]"
    r"|\s+\d+(?:\.\d+)?\s*(?:in|inch|\"|ft|mm|cm|gal|lb|oz)\b)",  # "two 20in x 1000ft rolls": two of that size
    re.IGNORECASE,
)
# a number word glued to another ("thirty-five", "twenty five", "two hundred"): text2num reads these
_WORDS = re.compile(
    r"\b(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|one|two|three|four|five|six|seven|eight|nine|ten|and)"
    r"(?:[\s-]+|\b)){1,6}",
    re.IGNORECASE,
)


def words_to_digits(text: str) -> str:
    """ "thirty-five boxes" -> "35 boxes", "ninty rolls" -> "90 rolls", "a pair of boots" -> "2 boots".

    Single small words are only read as numbers in front of something counted ("two pallets"), so that
    "one of the printers" or "the one in Dallas" keep their words.
    """
    text = _MISSPELLED.sub(lambda m: _same_case(MISSPELLED[m.group(1).lower()], m.group(1)), text)
    text = HALF_DOZEN.sub("6", text)
    text = _HALF_GRAND.sub("$500", text)
    text = _A_GRAND.sub("$1000", text)
    text = _SPOKEN_PRICE.sub(_spoken_price, text)
    text = PAIRS.sub("2", text)
    # "2 hundred" (from "a couple hundred"): the multiplier on a number already in digits
    text = _TIMES.sub(lambda m: str(int(m.group(1)) * (100 if m.group(2).lower() == "hundred" else 1000)), text)

    def compound(m: re.Match[str]) -> str:
        phrase = m.group(0)
        glued = re.search(r"(?:ty|teen|hundred|thousand)", phrase, re.I)
        if len(phrase.split()) < 2 and "-" not in phrase and not glued:
            return phrase  # one small word alone: handled below, only in front of something counted
        if phrase.strip().lower() in ("and",):
            return phrase
        converted = alpha2digit(phrase, "en")
        return converted if converted != phrase else phrase

    text = _WORDS.sub(compound, text)
    return _SMALL.sub(lambda m: SMALL[m.group(1).lower()], text)


def _spoken_price(m: re.Match[str]) -> str:
    value = _ONES[m.group("h").lower()] * 100 + _TENS[m.group("t").lower()] + _ONES.get((m.group("o") or "").lower(), 0)
    return f"{m.group('lead') or ''}{value}"


_ONES = {w: i for i, w in enumerate("zero one two three four five six seven eight nine".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_HALF_GRAND = re.compile(r"\bhalf\s+a\s+grand\b", re.IGNORECASE)
_A_GRAND = re.compile(r"\ba\s+grand\b(?!\s+total)", re.IGNORECASE)
_TIMES = re.compile(r"\b(\d{1,3})\s+(hundred|thousand)\b", re.IGNORECASE)
# "four-fifty a pop", "quoted six-twenty": how prices are said aloud, read only beside a price word
_SPOKEN_PRICE = re.compile(
    r"(?P<lead>\b(?:for|quoted|costs?|at|@|price(?:d)?(?: at)?|runs?)\s+)?"
    r"\b(?P<h>one|two|three|four|five|six|seven|eight|nine)[- ](?P<t>twenty|thirty|forty|fifty|sixty|seventy|eighty|"
    r"ninety)(?:[- ](?P<o>one|two|three|four|five|six|seven|eight|nine))?\b"
    r"(?(lead)|(?=\s+(?:a pop|each|apiece|ea|bucks|dollars|per|a piece|total)\b))",
    re.IGNORECASE,
)


def _same_case(word: str, like: str) -> str:
    return word.capitalize() if like[:1].isupper() else word


def plain_number(raw: str) -> Decimal | None:
    """A quantity as typed: "40", "1,500", "2.5", "1.5k". A lone comma as decimal mark is refused ("1,5")."""
    text = raw.strip().lower().replace(" ", "")
    factor = Decimal(1)
    if text.endswith("k"):
        text, factor = text[:-1], Decimal(1000)
    if "," in text:
        if not re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", text):
            return None
        text = text.replace(",", "")
    try:
        return Decimal(text) * factor
    except InvalidOperation:
        return None


EUROPEAN = {"EUR", "DKK", "SEK", "NOK", "CHF", "PLN", "CZK", "BRL"}


def money_amount(raw: str, currency: str | None) -> Decimal | None:
    """The amount of a money string, its separators read by its currency.

    "EUR 3.250" and "3.250 €" are 3250 (a dot before exactly three digits groups thousands in euro
    amounts); "12.500,50 €" is 12500.50; "$1,200.50" is 1200.50; "USD 46,20" is 46.20 (two digits after a comma
    group no thousands); "2.5k" and "$1.2k" are 2500 and 1200.
    Anything ambiguous ("$1,5": one and a half, or fifteen?) returns None, and the caller asks.
    """
    text = raw.strip().lower()
    factor = Decimal(1)
    m = re.fullmatch(r"(.*?\d)\s*([km])", text)
    if m:
        text, factor = m.group(1), Decimal(1000) if m.group(2) == "k" else Decimal(1000000)
    digits = re.sub(r"[^\d.,]", "", text)
    if digits.startswith(".") and re.fullmatch(r"\.\d{1,2}", digits):
        digits = "0" + digits  # ".12 ea"
    if not digits or not digits[0].isdigit():
        return None
    if currency in EUROPEAN and re.fullmatch(r"\d{1,3}(\.\d{3})+", digits):
        digits = digits.replace(".", "")
    elif re.fullmatch(r"\d{1,3}(,\d{3})*\.\d+|\d+(\.\d+)?|\d{1,3}(,\d{3})+", digits):
        digits = digits.replace(",", "")
    elif re.fullmatch(r"\d+,\d\d", digits):
        digits = digits.replace(",", ".")  # "USD 46,20": two digits after a comma are cents in any currency
    else:
        parsed = Price.fromstring(digits, decimal_separator="," if currency in EUROPEAN or "," in digits else None)
        if parsed.amount is None:
            return None
        if currency in EUROPEAN or re.search(r"\.\d{3},", digits):
            return Decimal(parsed.amount) * factor
        return None
    try:
        return Decimal(digits) * factor
    except InvalidOperation:
        return None


# how some people write prices that the money reader would otherwise miss or misread
_CENTS = re.compile(r"(?<![\d.,$€£])\b(\d{1,2})\s?(?:cents?|¢)(?=\W|$)", re.IGNORECASE)
# "between 200 and 250 for a chair", "$200-$250 each": a range; the top of it is the estimate (the amount that
# must be approved), never the bottom. Only read as a price when a price word or a currency mark says so.
_RANGE = re.compile(
    r"(?:\bbetween\s+)?(?P<cur>[$€£])?(?<![\w.,])(?P<a>\d[\d,]*(?:\.\d+)?)(?P<ka>k)?\s*(?:and|to|-|–)\s*(?P<cur2>[$€£])?"
    r"(?P<b>\d[\d,]*(?:\.\d+)?)(?P<kb>k)?"
    r"(?=\s*(?:each|ea|apiece|a piece|per\b|/|total|bucks|dollars|usd|eur|for an?\b|for the\b|for one\b|$|[,.;!?]))",
    re.IGNORECASE,
)
_DICTATED_COMMA = re.compile(r"\s+comma\s+", re.IGNORECASE)
_FRENCH_AT = re.compile(r"(?<=\s)à(?=\s+\d)|(?<=,\s)a(?=\s+\d[\d.,]*\s*(?:€|eur\b))", re.IGNORECASE)
# "à 412,80 € pièce": per piece after a price; "2 Stk." (Stück): pieces after a count
_PIECE_PRICE = re.compile(r"(?<=[€$£])\s*pi[eè]ce\b|(?<=\b(?:eur|usd))\s+pi[eè]ce\b", re.IGNORECASE)
_PIECES = re.compile(r"(?<=\d\s)(?:pièces?|stk\.?|stück)(?=\W|$)", re.IGNORECASE)


_ORDINALS = {
    w: n
    for n, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
        "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split(),
        1,
    )
}
_ORDINAL = re.compile(
    r"(?:(?<=\bby\s)|(?<=\bon\s)|(?<=\bdue\s)|(?<=\btill\s)|(?<=\bbefore\s)|(?<=\buntil\s))the\s+"
    r"(?:(?P<tens>twenty|thirty)[\s-](?P<one>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)"
    r"|(?P<word>" + "|".join(_ORDINALS) + r")|(?P<thirtieth>thirtieth|twentieth))\b",
    re.IGNORECASE,
)


def _ordinal(m: re.Match[str]) -> str:
    if m.group("tens"):
        n = (20 if m.group("tens").lower() == "twenty" else 30) + _ORDINALS[m.group("one").lower()]
    elif m.group("word"):
        n = _ORDINALS[m.group("word").lower()]
    else:
        n = 30 if m.group("thirtieth").lower() == "thirtieth" else 20
    suffix = (
        "st"
        if n % 10 == 1 and n != 11
        else "nd"
        if n % 10 == 2 and n != 12
        else "rd"
        if n % 10 == 3 and n != 13
        else "th"
    )
    return f"the {n}{suffix}"


# "48 dolars", "2300 each one": money words as people type them, in the words the money reader knows
_DOLLARS_MISSPELLED = re.compile(r"\b(?:dolars?|dollers?|dolar|dolares|dólares|dolllars?|dlrs)\b", re.IGNORECASE)
_EACH_ONE = re.compile(r"(?<=\d)(\s*(?:dollars?|bucks|usd|eur|euros?)?\s+each)\s+one\b(?!\s+of\b)", re.IGNORECASE)


def written_forms(text: str) -> str:
    """ "9 cents each" -> "$0.09 each", "between 200 and 250 for a chair" -> "about 250 for a chair",
    "310 each comma urgent" (dictated) -> "310 each, urgent", "3 kits à 412,80 € pièce" -> "@ 412,80 € each"."""
    text = _DOLLARS_MISSPELLED.sub("dollars", text)
    text = _EACH_ONE.sub(r"\1", text)
    text = _CENTS.sub(lambda m: f"$0.{int(m.group(1)):02d}", text)
    text = _ORDINAL.sub(_ordinal, text)  # "by the fifteenth": the 15th

    def ranged(m: re.Match[str]) -> str:
        said = m.group(0)
        priced = m.group("cur") or m.group("cur2") or said.lower().startswith("between")
        low, high = (
            plain_number(m.group("a") + (m.group("ka") or "")),
            plain_number(m.group("b") + (m.group("kb") or "")),
        )
        if not priced or low is None or high is None or high <= low:
            return said
        return f"about {m.group('cur') or m.group('cur2') or ''}{m.group('b')}{m.group('kb') or ''}"

    text = _RANGE.sub(ranged, text)
    text = _DICTATED_COMMA.sub(", ", text)
    text = _FRENCH_AT.sub("@", text)
    text = _PIECE_PRICE.sub(" each", text)
    return _PIECES.sub("pcs", text)
