"""Everything the assistant says, in one place. Each refusal says what to write instead."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from approvals import states

if TYPE_CHECKING:
    from approvals.directory import Directory

EXAMPLE = "need 40 rolls of stretch wrap for Dallas from Uline, about $32 a roll, by Friday"
MAX_MESSAGE = 4000

GREETING = (
    "Hi {first_name}. Tell me what you need in your own words, for example: \u201c"
    + EXAMPLE
    + "\u201d. Say \u201chelp\u201d for everything I can do."
)

HELP = (
    "Tell me what you need in your own words, for example:\n"
    f"  \u2022 {EXAMPLE}\n"
    "I ask only for what is missing, then show a summary to submit.\n"
    "You can also say:\n"
    "  \u2022 status PR-1042 \u2014 where a requisition is\n"
    "  \u2022 where is my stretch wrap order? \u2014 the same, found by what you asked for\n"
    "  \u2022 my requests \u2014 your open requisitions\n"
    "  \u2022 pending \u2014 what waits for your approval\n"
    "  \u2022 delegate to Priya from Dec 20 to Jan 3 \u2014 someone approves for you while you are out\n"
    "  \u2022 cancel my delegation\n"
    "  \u2022 remind me in 2 hours about PR-1042 \u2014 move your next reminder (never past the deadline)\n"
    "  \u2022 stop my daily digest / start my daily digest\n"
    "  \u2022 stats \u2014 how we are doing this week (cycle time, touchless, SLA) for your site\n"
    'While we build a request: "make it 50", "actually Grainger", "site CHI", "by next Friday", "cancel".'
)
ASK_ITEMS = f"What do you need? Write the item and how many, like \u201c{EXAMPLE}\u201d."
ASK_SITE = "Which site is it for?"
ASK_HOW_MANY = "How many? Write a number, like 40."
ASK_HOW_MUCH = "About how much? For example \u201c$32 a roll\u201d or \u201c$1,200 in total\u201d."
NO_DATE = "No date"
EMPTY = f"That message was empty. Tell me what you need, like \u201c{EXAMPLE}\u201d, or say \u201chelp\u201d."
BINARY = f"That looks like binary data, not words. Type your request as plain text, like \u201c{EXAMPLE}\u201d."
EMOJI_ONLY = f"I can't read emoji on their own. Write what you need in words, like \u201c{EXAMPLE}\u201d."
NOT_UNDERSTOOD = (
    "I didn't find a purchase in that. Write the item, how many, the supplier and the site, like "
    f"\u201c{EXAMPLE}\u201d, or say \u201chelp\u201d for everything I can do."
)
INSTRUCTIONS = (
    "I didn't find a purchase in that. I take purchase requests and the commands listed under \u201chelp\u201d; "
    "a message cannot change how I work or approve anything. Approvals happen only when an approver taps Approve."
)
CANCELLED = "Cancelled. Nothing was submitted."
FILE_HELD = "{name} ({size}) is kept with your request and will be attached to it when you submit it."
FILE_HELD_ALREADY = "{name} is already kept with your request."
FILE_NO_DRAFT = "There is no request in progress to keep {name} with."
FILE_LOST = "{name} could not be attached: it was no longer kept. Share it again in the request's thread."


def files_discarded(count: int) -> str:
    return f"The {count} file{'s' if count != 1 else ''} sent with it {'were' if count != 1 else 'was'} discarded."


def held_note(size: str) -> str:
    return f"{size}, attached when you submit"


NOTHING_TO_CANCEL = "There is no request in progress to cancel. Say \u201chelp\u201d to see what I can do."
EDIT = (
    "What should change? For example \u201cmake it 50\u201d, \u201cactually Grainger\u201d, \u201csite CHI\u201d, "
    "\u201c$30 a roll\u201d, \u201cby next Friday\u201d, or \u201cadd 5 cases of tape\u201d."
)
NO_DRAFT_TO_SUBMIT = "There is no request waiting to be submitted. Tell me what you need first."
NOT_COMPLETE = "That request is not complete yet."
NO_DELEGATION = "You have no delegation to cancel."
DUPLICATE_SUBMITTED = "Submitted anyway, after the duplicate warning."
STALE_DRAFT = "That summary is out of date; here is the request as it stands now."
CROSSED = "Two of your messages crossed; here is the request as it stands now."
PRODUCTION_OFF = (
    "The web chat picks who you are from a list, which is only safe on your own machine, so it is off "
    "in production mode. Use Slack or Teams, or the HTTP API with a token (see /docs)."
)


def too_long(size: int) -> str:
    return (
        f"That message is {size:,} characters; I read up to {MAX_MESSAGE:,}. Send a shorter one with the item, "
        "quantity, supplier and site."
    )


def amount(value: Decimal | None, currency: str = "USD") -> str:
    """Money without cents when whole ("$11,760"), for the short recurring sums."""
    text = money(value, currency)
    return text.replace(".00", "", 1) if value is not None and value == value.to_integral() else text


def money(amount: Decimal | None, currency: str = "USD") -> str:
    if amount is None:
        return "?"
    symbol = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3"}.get(currency)
    text = f"{amount:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def qty(value: Decimal | None) -> str:
    if value is None:
        return "?"
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}".rstrip("0")


def ask_quantity(description: str, unit: str | None) -> str:
    unit_word = f"{unit}s of " if unit and unit not in ("each",) else ""
    return f"How many {unit_word}{description}? Write a number, like 40."


def releases(period: str, count: int, each: str) -> str:
    """ "one purchase order a month, 12 times ($980.00 each), the first once approved" """
    return f"one purchase order a {period}, {count} times ({each} each), the first once approved"


def ask_recurring_end(description: str, period: str | None) -> str:
    """A recurring purchase with no end ("$980 a month"): how many periods, each its own purchase order."""
    term = {"week": "52 for a year", "month": "12 for a year", "quarter": "4 for a year", "year": "3 for three years"}
    return (
        f"For how many {period}s should {description} run? It is ordered once a {period} until then. "
        f"Write a number, like {term.get(period or '', '12')}."
    )


def ask_price_kind(text: str, unit: str | None, quantity: Decimal | None) -> str:
    return f"Is {text} the price per {unit or 'item'}, or the total for {qty(quantity)}?"


def price_each(text: str, unit: str | None) -> str:
    return f"{text} per {unit or 'item'}"


def price_total(text: str, quantity: Decimal | None) -> str:
    return f"{text} in total"


def ask_price(description: str, unit: str | None, quantity: Decimal | None) -> str:
    return (
        f"About how much is {description}, per {unit or 'item'}? For example \u201c$32 a {unit or 'item'}\u201d "
        f"or \u201c$1,200 in total\u201d."
    )


def ask_supplier(unknown: str | None) -> str:
    if unknown:
        return (
            f"I don't know {unknown} yet. Pick a supplier we already use for this, or ask procurement to add "
            f"{unknown}: I keep the name on the request for the buyer."
        )
    return "Which supplier? Pick one or type its name."


def ask_procurement_to_add(name: str) -> str:
    return f"Ask procurement to add {name}"


def new_supplier_first(name: str) -> str:
    return (
        f"{name} is not in the supplier list yet, so this cannot be submitted: procurement must add it first. "
        "Ask procurement to add it below (its contact e-mail and website), or pick a known supplier instead with "
        "\u201cactually Grainger\u201d. I keep your request as a draft."
    )


def new_supplier_asked(name: str, request: str) -> str:
    return (
        f"Procurement was asked to add {name} ({request}). This waits as a draft until a buyer decides; "
        "you will get a Continue button once it is added."
    )


ASK_PROCUREMENT = "Ask procurement to add it"
SUPPLIER_NAME = "Supplier name"
SUPPLIER_EMAIL = "Contact e-mail"
SUPPLIER_WEBSITE = "Website"
SUPPLIER_TAX_ID = "Tax id (optional)"
SUPPLIER_TAX_DOCUMENT = "Tax document, e.g. a W-9 (optional)"


def supplier_added_going_on(name: str) -> str:
    return f"{name} is added as a supplier; your request goes on with it. Check it and tap Submit."


def supplier_added_draft_gone(name: str) -> str:
    return (
        f"{name} is added as a supplier, but the request that waited for it is no longer open (it was sent, "
        f"cancelled or timed out), so nothing was brought back. Name {name} in a new request to buy from it."
    )


def supplier_added_other_open(name: str) -> str:
    return (
        f"{name} is added as a supplier, but you have another request open; finish or cancel it, then tap "
        "Continue my request."
    )


def supplier_added_draft_changed(name: str) -> str:
    return (
        f"{name} is added as a supplier, but your request no longer waits for it (you changed its supplier), so it "
        "stays as you left it."
    )


def new_supplier_fact(name: str) -> str:
    return f"{name} \u2014 new: procurement must add it before this can be submitted"


def ask_supplier_which() -> str:
    return "Which supplier did you mean?"


def supplier_blocked(name: str, reason: str) -> str:
    return f"{name} is blocked ({reason}). Pick another supplier or ask procurement."


def ask_site_which(codes: list[str], directory: "Directory") -> str:
    return "Which site: " + " or ".join(codes) + "?"


def ask_cost_center(site: str | None) -> str:
    return f"Which cost center should pay for it at {site}?"


def unknown_site(name: str) -> str:
    return f"I don't know a site called {name}. Which of our sites is it for?"


def unknown_cost_center(code: str, nearest: list[str]) -> str:
    near = " or ".join(nearest)
    return f"I don't know cost center {code}; did you mean {near}?" if near else f"I don't know cost center {code}."


def ask_site_or_cost_center(corporate: bool) -> str:
    if corporate:
        return "Which corporate cost center pays for it?"
    return "Which site is it for, or which corporate cost center pays for it?"


def not_positive(what: str, value: Decimal) -> str:
    return (
        f"A {what} of {qty(value)} can't be ordered: it has to be more than zero. "
        f"I left the {what} open; write the right one."
    )


def ask_price_conflict(description: str, unit_price: Decimal, total: Decimal, currency: str) -> str:
    return (
        f"For {description} you said {money(unit_price, currency)} each and {money(total, currency)} in total, "
        "which don't match. Which is right?"
    )


def conflict_unit(unit_price: Decimal, total: Decimal | None, unit: str | None, currency: str) -> str:
    return f"{money(unit_price, currency)} per {unit or 'item'} (= {money(total, currency)})"


def conflict_total(total: Decimal, unit_price: Decimal, unit: str | None, currency: str) -> str:
    return f"{money(total, currency)} in total (= {money(unit_price, currency)} per {unit or 'item'})"


SOMETHING_ELSE = "Something else"


def catalog_item(name: str, sku: str, price: Decimal | None, unit: str, currency: str) -> str:
    return f"the {name} ({sku}, {money(price, currency)}/{unit})" if price is not None else f"the {name} ({sku})"


def ask_item_choice(description: str, named: list[str]) -> str:
    return f"For \u201c{description}\u201d, did you mean " + " or ".join(named) + " or something else?"


def several_questions(questions: list[str]) -> str:
    """All that is missing, in one message; the person may answer them together."""
    return (
        "A few things before I can show the summary:\n"
        + "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1))
        + "\nAnswer in one message if you like, for example \u201c40, from Uline, by Friday\u201d."
    )


def quoted_words(words: list[str]) -> str:
    """Instruction-like words kept as the requester's own, in quotes, never as a fact."""
    return "Requester's own words: " + "; ".join(f"\u201c{w}\u201d" for w in words)


QUOTED_LABEL = "In your words (not instructions)"
MARK_CATALOG = "catalog price"
MARK_TOTAL = "from your total"
MARK_ASSUMED = "assumed 1"
MARK_ESTIMATE = "estimate"
MARK_HOME = "your home site"
MARK_CC_SITE = "the cost center's site"
MARK_RECORD_SITE = "site of record; the corporate cost center pays"
MARK_DEFAULT_CC = "default cost center"


def recurring_line(description: str, count: str, period: str, price: str, total: str) -> str:
    return f"{description}: {count} {period}s x {price} = {total}"


def unusual_amount(description: str, total: str, reason: str) -> str:
    return f"Check the amount: {description} comes to {total}, {reason}. Tap \u201cThe amount is right\u201d to go on."


def vs_catalog(times: str, expected: str) -> str:
    return f"{times} the catalog price x quantity ({expected})"


def vs_category(category: str) -> str:
    return f"over 100 times a typical {category} line"


AMOUNT_IS_RIGHT = "The amount is right"
CONFIRM_AMOUNT_FIRST = (
    "Before submitting, check the amount flagged on the summary and tap \u201cThe amount is right\u201d."
)
NOTHING_TO_PAY = "The total is zero or less, so there is nothing to submit. Check the quantities and prices."


def policy_stop(reason: str) -> str:
    return (
        f"The policy would stop this request: {reason} Nothing is submitted: tap Edit to change the amount, "
        "the cost center or the supplier, or Cancel."
    )


def budget_use(amount: Decimal, cost_center: str, remaining: Decimal, currency: str) -> str:
    """The budget a request uses, as the summary says it before Submit."""
    if remaining <= 0:
        over = money(-remaining, currency)
        return f"{cost_center} has no budget left ({over} over already); this needs {money(amount, currency)}"
    if amount > remaining:
        return (
            f"needs {money(amount, currency)}; {cost_center} has {money(remaining, currency)} left "
            f"({money(amount - remaining, currency)} short)"
        )
    return f"uses {money(amount, currency)} of {cost_center}'s {money(remaining, currency)} remaining"


def need_by_past(text: str) -> str:
    return f"\u201c{text}\u201d is in the past. When do you need it by? (Or tap \u201cNo date\u201d.)"


def ask_category(supplier: str) -> str:
    return f"{supplier} sells more than one kind of thing. Which category is this?"


def ask_close_category(item: str) -> str:
    return f"Which category is \u201c{item}\u201d? It reads like more than one; the closest are below."


SUGGESTED_CATEGORY = " (suggested from the item text; tap Change category if it is wrong)"
SUPPLIER_MAIN_CATEGORY = " (the supplier's main category; tap Change category if it is wrong)"
CATEGORY_RECHECKED = (
    "Before you submit: a second look at the item text suggests a different category. Check it below, then submit."
)


def confirm_category(item: str, suggested: str | None) -> str:
    if suggested:
        return (
            f"I'm not sure about the category of \u201c{item}\u201d; it looks like {suggested}. "
            "Please confirm the category."
        )
    return f"Which category is \u201c{item}\u201d? Please confirm the category."


def unusual(summary: str) -> str:
    """The exception summary line on an approver's card."""
    return f"What is unusual: {summary}"


def didnt_catch(question: str) -> str:
    return f"I didn't catch that. {question}"


def expired(title: str, hours: float) -> str:
    return (
        f"Your draft request ({title}) expired after {hours:g} hours without an answer, so I discarded it. "
        "Nothing was submitted; tell me again whenever you are ready."
    )


def duplicate_warning(number: str, title: str, requester: str, state: str) -> str:
    return (
        f"This looks like {number} ({title}, requested by {requester}, {states.label(state)}). "
        "Submit anyway only if it is really a second order."
    )


def delegation_set(delegate: str, start: str, end: str) -> str:
    return f"Done: {delegate} approves for you from {start} to {end}. It starts and ends by itself."


def delegation_cancelled(delegate: str) -> str:
    return f"Your delegation to {delegate} is cancelled; approvals come back to you."


def delegation_help() -> str:
    return (
        "Say it like \u201cdelegate to Priya from Dec 20 to Jan 3\u201d: who, and the first and last day you are out."
    )


def unknown_person(name: str) -> str:
    return f"I don't know who \u201c{name}\u201d is. Use their full name as in the directory, like Priya Nair."


def which_person(names: list[str]) -> str:
    return "Which person: " + " or ".join(names) + "?"


def status_missing(number: str) -> str:
    return f"There is no requisition {number}. Check the number (it looks like PR-1042)."


def queue_empty_pending() -> str:
    return "Nothing is waiting for your approval."


def queue_empty_mine() -> str:
    return "You have no requisitions yet. Tell me what you need to start one."


def need_reason(verb: str) -> str:
    return f"To {verb}, write a reason the requester can act on."


NEED_QUESTION = "Write the question you want the requester to answer."
NEED_ANSWER = "Write your answer first."
NEED_COMMENT = "Write your comment first, e.g. comment PR-1042 can we use the contract price?"


def file_note(size: str, uploaded_by: str) -> str:
    return f"{size}, from {uploaded_by}"


def earlier_comments(count: int) -> str:
    return f"({count} earlier comment{'s' if count != 1 else ''}: see the full requisition)"


# ---------------------------------------------------------------------------------- the ERP side of a status answer
PO_STATUS_WORDS = {
    "open": "open, nothing received yet",
    "partially_received": "partly received",
    "received": "goods received",
    "closed": "closed",
}


def erp_line(state: str, po_number: str | None, po_status: str | None, reason: str | None) -> str:
    """One sentence on where the purchase order stands, from the outbox's view of it."""
    if po_number:
        status = PO_STATUS_WORDS.get(po_status or "open", (po_status or "open").replace("_", " "))
        return f"Purchase order {po_number} in the ERP: {status}."
    if state == "failed":
        return (
            f"The ERP would not take its purchase order: {reason} The buyers were told and can press Retry "
            "once the cause is fixed."
        )
    if state == "retrying":
        return f"The ERP has not taken the purchase order yet ({reason}); it is tried again automatically."
    return "The purchase order is on its way to the ERP."


def no_order_found(words: str) -> str:
    return (
        f"None of your recent requests looks like \u201c{words}\u201d. Say \u201cmy requests\u201d to see them "
        "all, or \u201cstatus PR-1042\u201d with the number."
    )


def which_order(words: str) -> str:
    return f"Several of your requests look like \u201c{words}\u201d. Which one?"


SNOOZE_HOW = "Say how long, for example \u201cremind me in 2 hours about PR-1042\u201d (at most until the deadline)."
SNOOZE_WHICH = (
    "Several requests wait for you; say which one, for example \u201cremind me in 2 hours about PR-1042\u201d."
)
SNOOZE_NOTHING = "Nothing waits for your approval, so there is no reminder to move."
DIGEST_OFF = "Done: no daily digest for you any more. Say \u201cstart my digest\u201d to get it back."
DIGEST_ON = "Done: you will get a daily digest of what waits for you, on working days."


STATS_NO_SCOPE = (
    "I have no figures to show you: you are not linked to a site or a cost center. Ask an admin to "
    "add your site in the company directory, or look at the web console's dashboard."
)


def stats(days: int, scope: str, lines: list[str]) -> str:
    """'/purchase stats': the key figures, one per line."""
    return (
        f"The last {days} days for {scope}:\n"
        + "\n".join(f"  \u2022 {line}" for line in lines)
        + "\nSay \u201cstats this month\u201d for 30 days."
    )


# what a person did, for "You already ... this": one past tense per decision a card offers
_DID = {
    "approve": "approved",
    "reject": "rejected",
    "request_info": "asked about",
    "answer_info": "answered",
    "withdraw": "withdrew",
}
_SURFACES = {"slack": "Slack", "teams": "Teams", "web": "the web chat", "api": "the API", "email": "e-mail"}


def already_did(action: str, number: str, at: datetime, surface: str | None, zone: ZoneInfo) -> str:
    """A second tap of a decision the person already made (on this surface or another): what, when, where."""
    when = at.astimezone(zone).strftime("%H:%M %Z on %a %b %d")
    where = f" in {_SURFACES[surface]}" if surface in _SURFACES else ""
    return f"You already {_DID.get(action, 'acted on')} {number} at {when}{where}; nothing more was recorded."
