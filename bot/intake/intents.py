"""Recognising the short commands people type besides purchase requests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from bot.intake.extract import NUMBER_WORDS

# "remind me in 2 hours (about PR-1042)", "snooze PR-1042 for 90 minutes"
SNOOZE = re.compile(r"^\s*(?:remind me|snooze)\b(?P<rest>.*)$", re.I)
SNOOZE_FOR = re.compile(
    r"\b(?:in|for)\s+(?P<n>\d+(?:\.\d+)?|an?|one|two|three|four)\s*"
    r"(?P<unit>h|hrs?|hours?|m|mins?|minutes?)\b",
    re.I,
)
DIGEST_OFF = re.compile(r"\b(?:stop|no more|turn off|unsubscribe(?: from)?|disable|don'?t send)\b.*\bdigests?\b", re.I)
DIGEST_ON = re.compile(r"\b(?:start|turn on|send me|enable|resume)\b.*\bdigests?\b", re.I)
# "/purchase stats", "stats this month", "how are we doing this week?"
STATS = re.compile(
    r"^\s*(?:/?purchase\s+)?(?:stats|statistics|metrics|numbers|kpis?)\b(?:\s+(?:this|last|for the)\s+"
    r"(?:week|month))?\s*[.!?]*\s*$|^\s*how (?:are|is|am) (?:we|i|my (?:team|site)|procurement|"
    r"purchasing) (?:doing|going|tracking)\b[^\n]{0,40}$",
    re.I,
)
HELP = re.compile(r"^\s*(?:help|\?+|what can you do\??|commands|how does this work\??|menu)\s*[.!?]*\s*$", re.I)
CANCEL = re.compile(
    r"^\s*(?:cancel|cancel (?:it|that|this|the request|my request)|never ?mind|nvm|forget (?:it|that)|"
    r"stop|abort|discard|scrap (?:it|that))\s*[.!]*\s*$",
    re.I,
)
CANCEL_DELEGATION = re.compile(r"\b(?:cancel|end|stop|remove|delete)\b.{0,20}\bdelegation\b|^\s*i'?m back\b", re.I)
DELEGATE = re.compile(r"^\s*(?:please\s+)?(?:delegate|i'?m out|i am out|out of office)\b", re.I)
DELEGATE_PARTS = re.compile(
    r"\bto\s+(?P<who>[a-z][a-z.'\- ]{1,40}?)\s+(?:from\s+(?P<start>.+?)\s+(?:to|until|till|"
    r"through|thru|-)\s+(?P<end>.+?)|(?:until|till|through|thru)\s+(?P<until>.+?))\s*[.!]*$",
    re.I,
)
STATUS = re.compile(r"\b(?P<number>PR-?\s?\d{1,9})\b", re.I)
STATUS_WORDS = re.compile(r"^\s*(?:status|where(?:'s| is)|what about|check|show|open|how is|any news on)\b", re.I)
MINE = re.compile(
    r"^\s*(?:(?:show |list )?my (?:requests|requisitions|orders|prs|purchases)|what did i (?:ask for|order)"
    r"|my stuff)\s*[.!?]*\s*$",
    re.I,
)
PENDING = re.compile(
    r"^\s*(?:pending|my queue|queue|approvals|my approvals|inbox|(?:what(?:'s| is) )?(?:waiting|pending)"
    r"(?: (?:for|on) me)?|what do i need to approve|to approve)\s*[.!?]*\s*$",
    re.I,
)
CONFIRM = re.compile(
    r"^\s*(?:submit|submit it|yes|yep|yeah|confirm|looks good|lgtm|send(?: it)?|go(?: ahead)?|ok|okay|"
    r"do it|correct)\s*[.!]*\s*$",
    re.I,
)
EDIT = re.compile(r"^\s*(?:edit|change(?: it)?|no|nope|wait|modify)\s*[.!]*\s*$", re.I)
INJECTION = re.compile(
    r"ignore (?:all |the |any )?(?:previous|prior|above|earlier) (?:instructions|rules|messages)|"
    r"system prompt|you are now|disregard (?:your|all|the) |approve (?:everything|all of them|it all)|"
    r"act as (?:an? )?(?:admin|administrator)",
    re.I,
)
APPEND = re.compile(r"^\s*(?:also|add|plus|and also|and)\b", re.I)
QUANTITY_FIX = re.compile(
    r"\b(?:make (?:it|that|them)|change (?:it|that|the quantity|the qty|qty|quantity) to|"
    r"actually|instead,?|no,?)\s+(?P<q>\d[\d,]*(?:\.\d+)?|"
    + "|".join(w for w in NUMBER_WORDS if len(w) > 2 and " " not in w)
    + r")\b(?!\s*(?:[$€£%]|usd|eur|dollars|bucks|each|per|a\s|/|pm|am))",
    re.I,
)
NO_DATE = re.compile(
    r"^\s*(?:none|no date|no deadline|skip|whenever|no rush|doesn'?t matter|any ?time)\s*[.!]*\s*$", re.I
)


def quantity_fix(text: str) -> tuple[Decimal | None, str]:
    """'make it 50' -> (50, the rest of the message)."""
    m = QUANTITY_FIX.search(text)
    if not m:
        return None, text
    q = m.group("q").lower().replace(",", "")
    value = Decimal(NUMBER_WORDS[q]) if q in NUMBER_WORDS else Decimal(q)
    return value, text[: m.start()] + " " + text[m.end() :]


def status_number(text: str) -> str | None:
    m = STATUS.search(text)
    if not m:
        return None
    digits = re.sub(r"\D", "", m.group("number"))
    if STATUS_WORDS.search(text) or len(text.strip()) <= len(m.group(0)) + 2:
        return f"PR-{int(digits)}"
    return None


@dataclass
class DelegationAsk:
    who: str
    start: str | None
    end: str


WHERE_ORDER = re.compile(
    r"^\s*(?:where(?:['\u2019]s| is| are)|status of|any news on|what(?:['\u2019]s| is) happening "
    r"with)\s+(?:my|our|the)\s+(?P<words>.+?)\s+(?:order|orders|po|purchase order|request|"
    r"requisition|purchase)\s*[?.!]*\s*$",
    re.I,
)


def order_words(text: str) -> str | None:
    """'where is my stretch wrap order?' -> 'stretch wrap'."""
    m = WHERE_ORDER.match(text)
    return m.group("words").strip() if m else None


_SMALL = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}


def snooze_hours(text: str) -> Decimal | None:
    """How long "remind me in ..." asks for, in hours; None when it gives no duration."""
    m = SNOOZE_FOR.search(text)
    if not m:
        return None
    raw = m.group("n").lower()
    amount = Decimal(_SMALL[raw]) if raw in _SMALL else Decimal(raw)
    return amount / 60 if m.group("unit").lower().startswith("m") else amount
