"""What the assistant says for the intents besides purchase requests: questions, status, delegations, out of office.

Kept apart from bot/intake/texts.py (the draft dialogue's words) so each can change without the other.
"""

from __future__ import annotations

from bot.intake import texts

QUESTION = "That sounds like a question, so I didn't start a purchase request. " + texts.HELP
NO_OPEN = (
    "You have no open requests right now. Say \u201cmy requests\u201d to see the ones already decided, or tell me "
    "what you need to start one."
)
OPEN_TITLE = "Your open requests"
DELEGATIONS_TITLE = "Your delegations"
NO_DELEGATIONS = (
    "Nobody approves for you right now, and you approve for nobody. Say it like \u201cI'm away Dec 20 to Jan 3, "
    "Priya covers my approvals\u201d to set one."
)
OOO_WHO = (
    "Who approves for you while you are away? Say it like \u201cI'm away Dec 20 to Jan 3, Priya covers my "
    "approvals\u201d."
)
OOO_WHEN = (
    "Which days are you away? Say it like \u201cI'm away Dec 20 to Jan 3, Priya covers my approvals\u201d "
    "(the first and the last day)."
)
PROPOSAL_TITLE = "Set this delegation?"
CONFIRM = "Yes, set it"
DISMISS = "No"
SOMEONE_ELSE = "Someone else"
DISMISSED = "All right, no delegation was set."
PROPOSAL_STALE = "That delegation card is out of date. Tell me again when you are away and who covers for you."


def no_item_found(words: str) -> str:
    return (
        f"None of your requests looks like \u201c{words}\u201d. Say \u201cmy requests\u201d to see them all, or "
        "\u201cstatus PR-1042\u201d with the number."
    )


def which_order(words: str) -> str:
    return f"Several of your requests look like \u201c{words}\u201d. Which one?"


def proposal(delegate: str, start: str, end: str, zone: str) -> str:
    return (
        f"{delegate} would approve for you from {start} through {end} ({zone} time), then approvals come back to "
        "you by themselves. Nothing changes until you tap \u201cYes, set it\u201d."
    )


def who_instead(first: str, last: str) -> str:
    return f"Who approves for you from {first} through {last}?"


def type_someone(first: str, last: str) -> str:
    return f"Someone not listed? Type \u201cdelegate to NAME from {first} to {last}\u201d."


def which_delegate(names: list[str]) -> str:
    return "Who covers for you: " + " or ".join(names) + "?"


def unknown_delegate(name: str) -> str:
    return (
        f"I don't know who \u201c{name}\u201d is. Use their name as in the company directory, like "
        "\u201cPriya covers my approvals\u201d or \u201cdelegate to Priya Nair\u201d."
    )


def not_yourself() -> str:
    return "You can't delegate to yourself; name the person who approves while you are away."


def in_the_past(day: str) -> str:
    return f"{day} is in the past; give a last day from today on."


def approves_for_you(delegate: str, start: str, end: str) -> str:
    return f"{delegate} approves for you, {start} to {end}"


def you_approve_for(delegator: str, start: str, end: str) -> str:
    return f"You approve for {delegator}, {start} to {end}"
