"""Reading an out-of-office sentence: who covers, and the first and last day away. Pure: no database.

"I'm away from the 2nd to the 9th, Sam covers my approvals", "ooo dec 21-jan 3, priya will approve for me",
"on leave next week; delegate to zoe". Days are read relative to the person's own today (from the injected
clock): "the 2nd" is the next 2nd of a month after today, a last day before the first rolls forward.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import dateparser

_PLAIN = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2013": "-", "\u2014": "-"})

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday|rsday)?"
_ORD = r"\d{1,2}(?:st|nd|rd|th)?"
_DAY = (
    rf"(?:(?:{_WEEKDAY},?\s+)?(?:{_MONTH}\.?\s+{_ORD}(?:,?\s+\d{{4}})?|(?:the\s+)?{_ORD}\s+(?:of\s+)?{_MONTH}"
    rf"(?:,?\s+\d{{4}})?|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?|the\s+{_ORD}|\d{{1,2}}(?:st|nd|rd|th))|"
    rf"(?:next\s+|this\s+|coming\s+)?{_WEEKDAY}|today|tomorrow|tmrw|tonight)"
)
_SEP = r"\s*(?:-|to|through|thru|until|till|til|and|-?>)\s*"
_RANGE = re.compile(
    rf"(?:\bfrom\s+|\bbetween\s+)?\b(?P<a>{_DAY})(?:\s+(?:on|onwards))?{_SEP}(?:the\s+)?(?P<b>{_DAY})\b"
)
_UNTIL = re.compile(
    rf"\b(?P<kind>until|till|til|through|thru|to|back(?: on)?|returning(?: on)?|return(?: on)?)\s+(?P<b>{_DAY})\b"
)
_FOR = re.compile(r"\bfor\s+(?:the\s+)?(?P<n>a|an|one|two|three|four|\d{1,2})\s+(?P<unit>days?|weeks?)\b")
_WEEK = re.compile(r"\b(?P<which>next|this|the rest of the|rest of the)\s+week\b")
_ONE = re.compile(rf"\b(?:on\s+)?(?P<a>{_DAY})\b")
_SMALL = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}

_NAME = r"\b(?P<who>[a-z](?:[a-z'-]|\.(?=[a-z]))*(?:\s+[a-z](?:[a-z'-]|\.(?=[a-z]))*)?)"
_WHO = [
    # "Sam covers my approvals", "priya will approve for me", "Zoe Martin is covering"
    re.compile(
        rf"{_NAME}\s+(?:covers|is covering|will cover|'ll cover|can cover|covering|will be covering|will approve|"
        r"approves|can approve|is approving|will be approving|will handle|handles|is handling|takes over|"
        r"will take over|is taking over|is in charge|has my approvals|is my backup|is backup|is the backup|"
        r"will be my backup|is my delegate|has it|has them)\b"
    ),
    # "delegate to zoe", "route my approvals to Priya", "hand over to sam"
    re.compile(
        r"\b(?:delegate|delegating|delegated|hand(?:ing)? (?:over|off)|hand|route|routing|send|sending|forward|"
        r"forwarding|pass|passing|give|giving|reassign|redirect|assign)\s+(?:(?:all\s+)?(?:my\s+|the\s+)?"
        rf"(?:approvals|approval requests|requests|everything|it|them|things|stuff)\s+)?(?:over\s+)?to\s+{_NAME}"
    ),
    # "backup is Zoe", "cover: sam", "contact priya"
    re.compile(
        r"\b(?:backup|back-up|cover|coverage|covering|delegate|covered by|approvals go to|approvals to|contact|"
        rf"reach|ask)(?:\s+(?:is|will be|:|-))?\s+{_NAME}"
    ),
]
_NOT_NAMES = frozenset(
    "i i'm me my you your it they we he she who someone somebody anyone the a an and from to on for is will can "
    "please while when out away ooo leave vacation approvals approval is me. also then".split()
)
_TRAIL = re.compile(
    r"\s+(?:for|while|when|from|on|until|till|til|through|thru|during|and|please|my|the|to|next|this|tomorrow|today|"
    r"tonight|all|over|starting|between|as|since|in|at|if|because|so)\b.*$"
)


@dataclass(frozen=True)
class Absence:
    """What an out-of-office sentence says; any part may be missing."""

    who: str | None
    start: date | None
    end: date | None


def read(text: str, today: date) -> Absence:
    """Who covers and which days, from `text`; `today` is the person's own date."""
    low = " ".join(text.translate(_PLAIN).lower().split())
    who, rest = _who(low)
    start, end = days(rest, today)
    return Absence(who, start, end)


def _who(low: str) -> tuple[str | None, str]:
    for pattern in _WHO:
        for m in pattern.finditer(low):
            name = _TRAIL.sub("", m.group("who")).strip(" .,'")
            words = [w for w in name.split() if w not in _NOT_NAMES]
            dates = [w for w in words if re.fullmatch(_DAY, w)]  # "until friday zoe approves": friday is a day
            words = [w for w in words if w not in dates]
            if not words:
                continue
            # what is left says when: everything but the name and the words that named the cover
            end = m.end() if pattern is _WHO[0] else m.start("who") + len(name)
            return " ".join(words), " ".join([low[: m.start()], *dates, low[end:]])
    return None, low


def mentions_days(text: str) -> bool:
    """Does `text` name a day or a span of days at all (cheap: no date parsing)?"""
    return any(p.search(text) for p in (_RANGE, _WEEK, _UNTIL, _FOR, _ONE))


def days(text: str, today: date) -> tuple[date | None, date | None]:
    """The first and last day in `text` (either None when it does not say)."""
    m = _RANGE.search(text)
    if m:
        start = day(m.group("a"), today)
        end = day(m.group("b"), start or today, inclusive=True)
        return start, end
    m = _WEEK.search(text)
    if m:
        monday = today - timedelta(days=today.weekday())
        if m.group("which") == "next":
            return monday + timedelta(days=7), monday + timedelta(days=11)
        return today, monday + timedelta(days=4) if today.weekday() < 5 else today
    m = _UNTIL.search(text)
    if m:
        end = day(m.group("b"), today, inclusive=True)
        if end is not None and m.group("kind").startswith(("back", "return")):
            end -= timedelta(days=1)  # back on the 9th: away through the 8th
        first = _ONE.search(text[: m.start()])
        start = day(first.group("a"), today) if first else today
        return start, end
    m = _FOR.search(text)
    if m:
        first = _ONE.search(text[: m.start()] + " " + text[m.end() :])
        start = (day(first.group("a"), today) if first else None) or today
        n = _SMALL.get(m.group("n"), None) or int(m.group("n"))
        return start, start + timedelta(days=n * (7 if m.group("unit").startswith("week") else 1) - 1)
    m = _ONE.search(text)
    if m:
        one = day(m.group("a"), today)
        return one, one
    return None, None


def day(phrase: str, after: date, *, inclusive: bool = False) -> date | None:
    """One day: "the 2nd" (the next 2nd of a month after `after`), "dec 21", "12/21", "friday", "tomorrow"."""
    p = phrase.strip().lower()
    ordinal = re.fullmatch(r"(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?", p)
    if ordinal:
        n = int(ordinal.group(1))
        if not 1 <= n <= 31:
            return None
        probe = after if inclusive else after + timedelta(days=1)
        for _ in range(400):
            if probe.day == n:
                return probe
            probe += timedelta(days=1)
        return None
    settings = {
        "RELATIVE_BASE": datetime.combine(after, datetime.min.time()),
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "MDY",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    cleaned = re.sub(r"\b(?:next|this|coming)\s+", "", p).replace("tmrw", "tomorrow")
    parsed = dateparser.parse(cleaned, languages=["en"], settings=settings)  # type: ignore[arg-type]
    if parsed is None:
        return None
    result = parsed.date()
    if re.search(r"\d{4}", p) is None:
        while result < after:
            result = result.replace(year=result.year + 1)
    return result
