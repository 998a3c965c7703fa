"""Is a message a question that is not a purchase? Pure: words in, a yes or a no out.

A question that is clearly not a request ("can you order stuff for me?", "is uline cheaper than grainger?")
gets an answer or help instead of a draft. The check is deliberately conservative: anything that names a
quantity, a price, or asks to get/order/buy a concrete thing stays a purchase ("can I get 5 boxes of tape
from uline at $65?"), because refusing a real request costs more than drafting from a question.
"""

from __future__ import annotations

import re

from bot.intake.intents import STATUS, form

_START = re.compile(
    r"^(?:what|what's|which|where|where's|when|who|who's|whom|whose|why|how|how's|did|does|do|has|have|is|are|was|"
    r"were|can|could|would|will|should|shall|may|might|any|am|isn't|aren't|don't|doesn't|can't|won't|wouldn't|"
    r"couldn't)\b"
)
_WH = re.compile(r"^(?:what|what's|which|where|where's|when|who|who's|whom|whose|why|how|how's)\b")
_HOW_TO = re.compile(r"^how (?:do|can|should|would|could) (?:i|we|you|one|someone|people)\b")
_MONEY = re.compile(
    r"[$\u20ac\u00a3]\s?\d|\b\d[\d,.]*\s?(?:usd|eur|gbp|dollars|bucks|k)\b|"
    r"\b\d[\d,.]*\s*(?:each|ea|apiece|a piece|per|/)\b|(?:@|\bat)\s*\$?\d"
)
_NOT_AMOUNTS = (
    r"(?:to|and|or|the|pm|am|st|nd|rd|th|days?|hours?|hrs?|weeks?|minutes?|mins?|months?|o'clock|percent|%|times|"
    r"business|working)\b"
)
_NUMBER_WORDS = (
    r"(?:a dozen|dozens? of|a couple(?: of)?|a pair of|a few|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|another|\d+ more)"
)
_QUANTITY = re.compile(rf"\b\d[\d,.]*\s*(?:x\s*)?(?!{_NOT_AMOUNTS})[a-z]{{2,}}|\b{_NUMBER_WORDS}\s+[a-z]{{3,}}")
_REQUEST = re.compile(
    r"\b(?:get|order|buy|purchase|grab|pick up|requisition|source|procure|need|rent|lease|book|replace|restock|"
    r"reorder|re-order|stock up on|bring in|put in (?:an order|a request) for|request)\s+"
    r"(?:(?:me|us|him|her|them|some|a|an|another|new|more|the|extra|a few|few|additional|couple|of|\d[\d,.]*)\s+)*"
    r"(?P<object>[a-z][a-z'-]+)"
)
_NOT_THINGS = frozenset(
    "stuff things thing something anything everything it this that them for from to on with help access approval "
    "approved reimbursed refund status update updates info information answer answers started back done in out "
    "here there through rid paid notified reminded going right now list idea someone somebody anyone permission "
    "sign-off signoff budget my our your his her their what which when where how why if whether stuck sorted "
    "ordered bought purchased things? delivered an a at by faster quicker sooner approve around without quote "
    "quotes receipt receipts invoice invoices over under above".split()
)
_POLICY = re.compile(
    r"\b(?:approval|approve|approves|approver|permission|allowed|policy|limit|threshold|rules?|sign-?off|"
    r"budget left|how much|how many|price of|cost of|cheap|cheaper|cheapest|best price|in stock|lead time|"
    r"anything (?:over|above|under|below|more than|less than)|need (?:a|an|\d+|two|three) quotes?)\b"
)


def is_question(text: str) -> bool:
    """Ends with a question mark, or starts with a question word (after polite padding)."""
    return text.rstrip().endswith("?") or bool(_START.match(form(text)))


def is_purchase(text: str) -> bool:
    """Does `text` ask for something concrete: a thing to get, a quantity, a price?"""
    low = STATUS.sub(" ", text.lower().replace("\u2019", "'"))
    wants = any(m.group("object") not in _NOT_THINGS for m in _REQUEST.finditer(low))
    amounts = bool(_MONEY.search(low) or _QUANTITY.search(low))
    asked = form(text)
    if _WH.match(asked):
        # "what's the price of tape?" is a question; "what if I order 40 rolls from uline?" is not
        # "who has to approve a requisition over $250,000?" asks about the rules, whatever amount it names
        policy_only = bool(_POLICY.search(low)) and not _QUANTITY.search(low)
        return wants and amounts and not _HOW_TO.match(asked) and not policy_only
    return wants or (amounts and not _POLICY.search(low))


def not_a_purchase(text: str) -> bool:
    """A question that should get an answer or help, never a draft."""
    return is_question(text) and not is_purchase(text)
