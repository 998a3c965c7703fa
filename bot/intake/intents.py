"""Recognising the short commands people type besides purchase requests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from rapidfuzz import fuzz, process

from bot.intake.extract import NUMBER_WORDS

# "remind me in 2 hours (about PR-1042)", "snooze PR-1042 for 90 minutes"
SNOOZE = re.compile(r"^\s*(?:remind me|snooze)\b(?P<rest>.*)$", re.I)
SNOOZE_FOR = re.compile(
    r"\b(?:in|for)\s+(?P<n>\d+(?:\.\d+)?|an?|one|two|three|four)\s*"
    r"(?P<unit>h|hrs?|hours?|m|mins?|minutes?)\b",
    re.I,
)
# the digest's own instruction, read on `form()`: "digest off", "stop the daily digest", "turn digest back on"
DIGEST = re.compile(r"\bdigests?\b|\b(?:morning|daily|summary|approvals?)\s+(?:summary\s+|digest\s+)?e-?mails?\b")
DIGEST_OFF_WORDS = re.compile(
    r"\b(?:stop|stopping|no more|off|unsubscribe|disable|mute|pause|opt out|cancel|don't|do not|no|kill|silence|"
    r"without|skip|quit|end)\b"
)
DIGEST_ON_WORDS = re.compile(
    r"\b(?:start|on|enable|re-?enable|resume|restart|unmute|subscribe|opt in|back|want|send me|again|yes)\b"
)
# "/purchase stats", "stats this month", "how are we doing this week?"
STATS = re.compile(
    r"^\s*(?:/?purchase\s+)?(?:stats|statistics|metrics|numbers|kpis?)\b(?:\s+(?:this|last|for the)\s+"
    r"(?:week|month))?\s*[.!?]*\s*$|^\s*how (?:are|is|am) (?:we|i|my (?:team|site)|procurement|"
    r"purchasing) (?:doing|going|tracking)\b[^\n]{0,40}$",
    re.I,
)
HELP = re.compile(
    r"^\s*(?:help(?: me| please)?|\?+|what can (?:you|u|i) (?:do|ask|say)(?: here)?|what do you do|commands|"
    r"how does this (?:work|thing work)|how do i use (?:this|you)|menu|options|what are my options)\s*[.!?]*\s*$",
    re.I,
)
CANCEL = re.compile(
    r"^\s*(?:cancel|cancel (?:it|that|this|the request|my request)|never ?mind|nvm|forget (?:it|that)|"
    r"stop|abort|discard|scrap (?:it|that))\s*[.!]*\s*$",
    re.I,
)
CANCEL_DELEGATION = re.compile(
    r"\b(?:cancel|end|stop|remove|delete|turn off|switch off)\b.{0,20}\bdelegations?\b|^\s*i'?m back\b", re.I
)
DELEGATE = re.compile(r"^\s*(?:please\s+)?delegate\b", re.I)
STATUS = re.compile(r"\b(?P<number>PR-?\s?\d{1,9})\b", re.I)
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


_SMALL = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}


def snooze_hours(text: str) -> Decimal | None:
    """How long "remind me in ..." asks for, in hours; None when it gives no duration."""
    m = SNOOZE_FOR.search(text)
    if not m:
        return None
    raw = m.group("n").lower()
    amount = Decimal(_SMALL[raw]) if raw in _SMALL else Decimal(raw)
    return amount / 60 if m.group("unit").lower().startswith("m") else amount


# ---------------------------------------------------------------------------------- how people write
# One reading form for the intents below: lower case, plain apostrophes, polite padding off both ends,
# common shorthand and close misspellings of the few words the intents turn on ("staus", "digset").
_PLAIN = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u2013": "-", "\u2014": "-"})
_SHORTHAND = {
    "wheres": "where's",
    "whers": "where's",
    "wher": "where",
    "whr": "where",
    "whre": "where",
    "whats": "what's",
    "wats": "what's",
    "wat": "what",
    "hows": "how's",
    "whos": "who's",
    "pls": "please",
    "plz": "please",
    "u": "you",
    "ur": "your",
    "r": "are",
    "thx": "thanks",
    "ty": "thanks",
    "im": "i'm",
    "ive": "i've",
    "dont": "don't",
    "didnt": "didn't",
    "hasnt": "hasn't",
    "havent": "haven't",
    "isnt": "isn't",
    "wont": "won't",
    "cant": "can't",
    "ill": "i'll",
    "upd": "update",
    "updt": "update",
    "pto'ing": "pto",
    "thru": "through",
    "o.o.o": "ooo",
    "oof": "ooo",
}
# words the intents turn on, fixed when misspelled ("staus", "digset", "delegatons", "happend")...
_KEYWORDS = (
    "status",
    "update",
    "updates",
    "delegation",
    "delegations",
    "digest",
    "approved",
    "approvals",
    "happened",
    "requisition",
    "requisitions",
    "vacation",
    "covering",
)
# ...and the real words near them, which stay as they are
_REAL_WORDS = frozenset(
    "start starts started starting stats state states stated statue stature statement updated upgrade updater "
    "delegate delegates delegated delegating digests digits digital diggers approve approves approver approving "
    "approval approach happen happens happy covers covered cover coverage vacations request requests requested "
    "requisitioned stamps stands status".split()
)
_PAD_START = re.compile(
    r"^(?:(?:hi|hey|hello|yo|hiya|heya|morning|good (?:morning|afternoon|evening)|sorry|quick (?:question|q)|"
    r"question|q|um+|uh+|so|ok|okay|hmm+|btw|bot|procurebot|@procurebot|please|hey there|hi there|excuse me|"
    r"just|also|and|but|oh|ah|well|team|folks|all|(?:it'?s|this is)\s+[a-z]+(?=\s+(?:uh+|um+|here)\b|\s*[,.!-])|"
    r"[a-z]+\s+here(?=\s*[,.!-]|\s+(?:uh+|um+)\b))\b[\s,:;!.-]*)+"
)
_PAD_END = re.compile(
    r"(?:[\s,;:!.?-]*\b(?:please|thanks|thank you|thanks a lot|many thanks|cheers|asap|lol|haha|again|"
    r"if you can|when you get a chance|thank u)\b|[\s,;:!.?)(-]+|:\))+$"
)
_ASKING = re.compile(
    r"^(?:(?:can|could|would|will) you (?:please )?(?:tell me|check(?: on)?|find out|see|look(?: up| into)?|"
    r"let me know|confirm|show me|give me an update on)|do you know|i was wondering|i wonder|wondering|"
    r"i'd like to know|i would like to know|i want to know|i need to know|tell me|let me know|"
    r"(?:i'm )?just checking(?: in)?(?: on)?|checking in(?: on)?|(?:i )?wanted to (?:check|ask|know)(?: on| about)?|"
    r"any idea)\b[\s,:]*(?:(?:if|whether)\s+)?"
)


def form(text: str) -> str:
    """`text` as the intents read it (never what the dialogue reads)."""
    low = text.translate(_PLAIN).lower().strip()
    words = []
    for word in re.findall(r"[a-z0-9][a-z0-9'./-]*|[?!]", low):
        bare = word.rstrip(".")
        if bare in _SHORTHAND:
            words.append(_SHORTHAND[bare])
        elif len(bare) >= 5 and bare.isalpha() and bare not in _REAL_WORDS:
            near = [k for k in _KEYWORDS if k[0] == bare[0]]  # a typo rarely hits the first letter
            hit = process.extractOne(bare, near, scorer=fuzz.ratio, score_cutoff=80)
            words.append(hit[0] if hit else word)
        else:
            words.append(word)
    out = " ".join(words).replace(" ?", "?").replace(" !", "!")
    out = _PAD_END.sub("", _PAD_START.sub("", out)).strip()
    return _ASKING.sub("", out).strip()


# ---------------------------------------------------------------------------------- "where is my order?"
@dataclass(frozen=True)
class StatusAsk:
    """A status question: about one requisition (`number`), the person's orders of an item (`words`), or all
    of their open ones (neither)."""

    number: str | None = None
    words: str = ""


_DONE = (
    r"(?:approved|ordered|placed|shipped(?: out)?|sent(?: out)?|submitted|rejected|denied|declined|processed|"
    r"delivered|received|arrived?|ship|come in|came in|through|done|ok'?d|okayed|signed off|accepted|finished|"
    r"completed|filled|purchased|bought|here|in|on (?:the|its|their) way|moving|stuck|lost|held up|delayed|late|"
    r"pending|ready|sorted|handled|actioned|reviewed|looked at|seen|out|back|dispatched|confirmed)"
)
_AUX = r"(?:(?:been|get|got|gotten|go|gone|went|be|come|came|getting|being|already|actually|finally|even|ever)\s+)*"
_TAIL = r"(?:\s+(?:yet|already|at all|by now|now|today|or not|or what|so far|still|ok|okay))*"
_WHERE = r"(?:where(?:'s| is| are| r| did| has| have| was| were| do| does|s)?|whereabouts of)"
_STATUS_ASKS = [
    re.compile(rf"^{_WHERE}\s+(?P<what>.+?)(?:\s+(?:at|gone|go|went|now|been|ended up|end up|got to|is|are))*$"),
    re.compile(r"^what(?:'s| is| has)?\s+happen(?:ed|ing|s)?\s+(?:to|with)\s+(?P<what>.+)$"),
    re.compile(
        r"^what(?:'s| is| are)\s+(?:going on|up|the (?:status|story|deal|hold ?up|eta|latest|news)|new)\s+"
        r"(?:with|on|of|for|about)\s+(?P<what>.+)$"
    ),
    re.compile(r"^what(?:'s| is)\s+the\s+(?:status|latest|news|eta|update)(?P<what>)$"),
    re.compile(
        r"^(?:is there |are there |got )?any\s+(?:news|update|updates|word|progress|movement|eta|luck|status)"
        r"(?:\s+(?:yet|at all))?(?:\s+(?:on|about|for|re|regarding|with|from)\s+(?P<what>.+))?$"
    ),
    re.compile(
        r"^(?:status|update|updates|progress|eta|tracking|order status|status update|status check)"
        r"(?:\s+(?:of|on|for|about|re)\b)?\s*(?P<what>.*)$"
    ),
    re.compile(r"^(?:check|track)(?:\s+on)?\s+(?P<what>(?:my|our|the|pr)\b.+)$"),
    re.compile(rf"^(?:did|has|have|is|are|was|were|does|do)\s+(?P<what>.+?)\s+{_AUX}{_DONE}{_TAIL}$"),
    re.compile(
        r"^when\s+(?:will|is|are|does|do|did|should|would)\s+(?P<what>.+?)\s+(?:arrive|come|coming|come in|ship|"
        r"shipping|be (?:here|approved|ordered|delivered|in|shipped|placed|done|ready)|get (?:here|approved|"
        r"ordered|delivered|shipped|in)|land|show up|be done|get done)\b.*$"
    ),
    re.compile(r"^when\s+(?:can|should|will)\s+(?:i|we)\s+(?:expect|get|see|receive)\s+(?P<what>.+)$"),
    re.compile(
        r"^how(?:'s| is| are)\s+(?P<what>(?:my|our)\b.+?)"
        r"(?:\s+(?:going|coming along|coming|doing|looking|progressing))?$"
    ),
    re.compile(
        r"^(?:i\s+)?(?:still\s+)?(?:haven't|have not|never|didn't|did not)\s+(?:got|gotten|get|received?|seen?)\s+"
        r"(?P<what>(?:my|our|the)\b.+)$"
    ),
    re.compile(r"^did (?:you|anyone|someone) (?:get|see|receive|approve) (?P<what>(?:my|our)\b.+)$"),
    re.compile(
        r"^(?P<what>(?:the|my|our)\s+[a-z][a-z -]*?)\s+(?:that\s+)?(?:i|we)\s+(?:ordered|requested|asked for|"
        r"put in(?: for)?|submitted|bought)(?:\s+(?:last|this|on|yesterday|earlier|a|few|couple|of|days?|weeks?|"
        r"months?|ago|(?:mon|tues|wednes|thurs|fri|satur|sun)day))*$"
    ),
    re.compile(
        r"^(?P<what>(?:my|our)\b.+?)\s+(?:was|were|has been|have been|is|are|got|went|has gone|have gone)\s+"
        rf"{_AUX}{_DONE}{_TAIL}$"
    ),
    re.compile(r"^(?P<what>(?:my|our)\b.+?|.+?\b(?:order|request|requisition|po))\s+(?:status|update|eta)$"),
]
_GENERIC = frozenset(
    "my our the a an those these that this his her their all any of for on about re from with to at i we me us you "
    "it its them they everything something anything order orders ordered request requests requested requisition "
    "requisitions purchase purchases purchased po pos pr prs stuff things thing items item delivery deliveries "
    "shipment shipments one ones some new recent latest last week yesterday today month ago put in placed submitted "
    "asked made did go gone went been yet is are was were be now still please thanks up order's request's "
    "monday tuesday wednesday thursday friday saturday sunday morning afternoon earlier before other".split()
)


def status_ask(text: str) -> StatusAsk | None:
    """The status question in `text` (read on `form()`), or None when it is not one."""
    m = STATUS.search(text)
    if m:
        number = f"PR-{int(re.sub(r'[^0-9]', '', m.group('number')))}"
        rest = (text[: m.start()] + " " + text[m.end() :]).strip(" ?!.,")
        cue = re.search(
            r"\?|\b(?:status|update|updates|news|progress|where|happened|approved|going|eta|check|track|through|yet|"
            r"stuck|shipped|ordered|word|what|happen\w*|show|open|how|any|did|has|is|was|when|who|look)\b",
            text,
        )
        return StatusAsk(number=number) if cue or len(rest.split()) <= 2 else None
    first, _, after = text.partition("?")
    # "did my wrap order ever go through? the one from last week": the question, then which order it is
    said = first if after.strip() and not re.search(r"\d", after) and len(after.split()) <= 8 else text
    for pattern in _STATUS_ASKS:
        found = pattern.match(said.rstrip("?!. "))
        if found:
            what = found.group("what") or ""
            if re.search(r"\d", what) and not re.match(r"(?:my|our)\b", what):
                return None  # "is it ok if I order 5 boxes" is a request, not a question about one
            return StatusAsk(words=item_words(what))
    return None


def item_words(what: str) -> str:
    """The item in 'my new laptop order' ('laptop'): the words that are not about orders in general."""
    words = [w.strip("'?.,!") for w in what.replace("'s ", " ").split()]
    return " ".join(w for w in words if w and w not in _GENERIC and not w[0].isdigit())


# ---------------------------------------------------------------------------------- delegations
# "my delegations", "show my delegations", "who covers for me", "am I delegating to anyone"
DELEGATIONS = re.compile(
    r"^(?:(?:show|list|see|view|check|what are|what's|what is)\s+)?(?:me\s+)?(?:my|all my|the|any)\s+"
    r"(?:delegations?|delegates?|cover(?:age)?|backups?|out of office)(?:\s+(?:settings?|status))?$|"
    r"^(?:delegations?|delegation status|who'?s my (?:delegate|backup|cover))$|"
    r"^who(?:'s| is| will| does)?\s+(?:be\s+)?(?:covers?|covering|approv(?:es|ing)|delegated?)\s+(?:for\s+)?"
    r"(?:me|my approvals)(?:\s+now)?$|"
    r"^who(?:'s| is)\s+my\s+(?:delegate|backup|cover)$|"
    r"^(?:do i have|have i got|have i set|did i set|is there|am i)\s+(?:a|any|my)?\s*"
    r"(?:delegations?|delegating|delegate|out of office|backup)(?:\s+(?:set|on|running|active|to anyone))?$|"
    r"^(?:am i|is anyone|is somebody|is someone)\s+(?:covering|approving)\s+for\s+(?:me|anyone|somebody|someone)$"
)


# ---------------------------------------------------------------------------------- out of office
OUT_OF_OFFICE = re.compile(
    r"\b(?:ooo|out of (?:the )?office|out of town|away|on (?:leave|vacation|holiday|holidays|pto|sick leave|"
    r"parental leave|a trip|business travel|annual leave)|pto|vacation|"
    r"(?:i'm|i am|i'll be|ill be|i will be)\s+at\s+(?:a|an|the)\s+(?:[a-z-]+\s+){0,3}(?:meeting|conference|training|"
    r"offsite|off-site|summit|trade ?show|expo|seminar|workshop|course|retreat)s?|"
    r"off (?:work|sick)|taking (?:leave|time off|"
    r"a few days|the week)|(?:i'm|i am|i'll be|ill be|i will be|we're) (?:off|out|travell?ing|not in|offline)"
    r"(?! of (?!(?:the )?office|town))|won't be (?:in|around|available)|"
    r"out (?:from|until|till|til|next|tomorrow|this|on|for|all|between|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*))\b"
)
COVER = re.compile(
    r"\b(?:covers?|covering|cover for me|will cover|approves? for me|will approve|can approve|approving|"
    r"delegate|delegating|backup|back-up|in charge|takes? over|taking over|will handle|handles|handling|"
    r"route|send|forward|hand(?:ing)? (?:over|off)|(?:has|have|gets?|takes?|holds?) my approvals)\b"
)


def digest_switch(said: str) -> bool | None:
    """True for "turn digest back on", False for "digest off" / "stop the daily digest", None otherwise."""
    named = DIGEST.search(said)
    if not named:
        return None
    # "turn off the daily summary e-mails for me, I get the same from the WMS": the clause that names it
    said = next(c for c in re.split(r"[,;.!?]|\s+(?:i|we)\s+(?:get|have|already|use|see)\b", said) if DIGEST.search(c))
    if len(said.split()) > 12 or re.search(r"\d", said):
        return None
    if DIGEST_OFF_WORDS.search(said):
        return False
    return True if DIGEST_ON_WORDS.search(said) else None
