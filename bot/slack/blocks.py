"""Block Kit rendering of the platform-neutral card, within Slack's limits.

Limits (https://api.slack.com/reference/block-kit/blocks): 50 blocks per message (100 in a view),
3,000 characters per section text, 2,000 per section field and button value, 10 fields per section,
75 characters per button label, 150 per header. Content over a limit is cut (an ellipsis, and "Cut
short" when whole blocks had to go) and the card gets a *See the full requisition* button, which opens
the whole requisition in a modal (100 blocks, text split rather than cut) for whoever taps it:
requester, approver or delegate alike, with no page to log in to. Nothing is silently lost.

Every interactive element's action_id is ``pb:<card action id>:<index>`` and its value is the JSON of
the card action's value (ids only: number, idempotency key, draft id); the handlers never trust it
beyond that, the core re-checks who may act.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Callable

from bot.cards.model import Card, CardAction
from bot.slack import texts

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_BUTTONS = 25
MAX_LABEL = 75
MAX_HEADER = 150
MAX_VALUE = 2000
MAX_FALLBACK = 3000
ACTION_PREFIX = "pb:"
FULL = "full"  # the card action that opens the whole requisition in a modal (handlers/actions.py)
FILE = "file"  # a file on a card: tapped, it gives that person a download link of their own (bot/downloads.py)
MAX_OPTIONS = 100  # options of a static select
MAX_OPTION_TEXT = 75
KEPT_PREFIX = "pb-kept-"  # the buttons' block_id on card copies the delivery layer posts and updates
# values a card action may carry back; anything else in a payload is dropped
VALUE_KEYS = {"number", "key", "draft_id", "delegation_id", "field", "value", "request", "name"}
TONE_EMOJI = {"ok": ":white_check_mark:", "bad": ":no_entry:", "warn": ":warning:", "info": ":information_source:"}

Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack mrkdwn escaping: people's words can never become mentions (<!channel>) or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MENTION = re.compile(r"<(?P<kind>[@#!])(?P<id>[A-Z0-9^a-z_-]+)(?:\|(?P<label>[^>]*))?>")
_LINK = re.compile(r"<(?P<url>[a-z]+://[^|>]+)(?:\|(?P<label>[^>]*))?>")


def plain(text: str, name_of: Callable[[str], str | None]) -> str:
    """A message as the person typed it: Slack's <@U123> mentions become names (for "delegate to @Priya"),
    <#C1|ops> becomes #ops, links their label or address, and &amp; &lt; &gt; their characters."""

    def mention(m: re.Match[str]) -> str:
        if m.group("kind") == "@":
            return name_of(m.group("id")) or m.group("label") or "someone"
        if m.group("kind") == "#":
            return "#" + (m.group("label") or m.group("id"))
        return m.group("label") or m.group("id").split("^")[0]

    text = _MENTION.sub(mention, text or "")
    text = _LINK.sub(lambda m: m.group("label") or m.group("url"), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_TYPED = re.compile(r"(?<![\w@<|])@(?P<first>[A-Za-z][\w.'-]*)(?:[ \t]+(?P<second>[A-Za-z][\w.'-]*))?")


def typed_mentions(text: str, name_of: Callable[[str], str | None]) -> str:
    """``@Priya Nair`` or ``@priya`` typed as text (a slash command with should_escape false sends what was typed):
    the person's directory name, when `name_of` knows the words (two words first, then one); else left as typed."""

    def mention(m: re.Match[str]) -> str:
        first, second = m.group("first").rstrip(".'-"), m.group("second")
        if second:
            name = name_of(f"{first} {second.rstrip('.,')}")
            if name:
                return name + m.group(0)[m.group(0).rindex(second) + len(second.rstrip(".,")) :]
        name = name_of(first)
        return m.group(0).replace("@" + first, name, 1) if name else m.group(0)

    return _TYPED.sub(mention, text)


# a time as the neutral card writes it (bot/intake/cards.py), always UTC
_UTC_TIME = re.compile(r"(?<!\|)\b(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}) UTC\b")
LOCAL_TIME = "{date_short_pretty} at {time}"  # Slack: "Nov 23, 2026 at 3:42 PM", or "today at ...", the reader's zone


def slack_date(at: datetime, fallback: str) -> str:
    """Slack's date formatting: each reader sees `at` in their own time zone; `fallback` where it cannot render."""
    return f"<!date^{int(at.timestamp())}^{LOCAL_TIME}|{fallback}>"


def local_times(text: str, limit: int = MAX_SECTION) -> str:
    """Every UTC time in an (escaped) mrkdwn text as Slack's date formatting, the UTC words as its fallback; the
    text as it was when the longer markup would not fit in `limit`."""

    def dated(m: re.Match[str]) -> str:
        year, month, day, hour, minute = (int(g) for g in m.groups())
        try:
            at = datetime(year, month, day, hour, minute, tzinfo=timezone.utc)
        except ValueError:
            return m.group(0)
        return slack_date(at, m.group(0))

    out = _UTC_TIME.sub(dated, text)
    return out if len(out) <= limit else text


def _with_local_times(blocks: list[Block]) -> list[Block]:
    """The blocks with every time in their mrkdwn texts (sections, fields, context) in the reader's time zone."""
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict) and text.get("type") == "mrkdwn":
            text["text"] = local_times(text["text"])
        for field_ in block.get("fields") or []:
            if field_.get("type") == "mrkdwn":
                field_["text"] = local_times(field_["text"], MAX_FIELD)
        if block.get("type") == "context":
            for element in block.get("elements") or []:
                if element.get("type") == "mrkdwn":
                    element["text"] = local_times(element["text"])
    return blocks


class _Fit:
    """Cuts text to a limit and remembers whether anything of the card was cut."""

    def __init__(self) -> None:
        self.cut = False

    def __call__(self, text: str, limit: int) -> str:
        if len(text) <= limit:
            return text
        self.cut = True
        return text[: limit - 1].rstrip() + "\u2026"


def _plain(text: str, limit: int) -> dict[str, Any]:
    text = text if len(text) <= limit else text[: limit - 1] + "\u2026"
    return {"type": "plain_text", "text": text or " ", "emoji": True}


def section(text: str, *, fit: Callable[[str, int], str] | None = None) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": (fit or _Fit())(text, MAX_SECTION) or " "}}


def action_id(action: CardAction, index: int) -> str:
    return f"{ACTION_PREFIX}{action.id}:{index}"


def button(action: CardAction, index: int) -> Block:
    element: Block = {
        "type": "button",
        "action_id": action_id(action, index),
        "text": _plain(action.label, MAX_LABEL),
        "value": json.dumps(action.value)[:MAX_VALUE],
    }
    if action.style in ("primary", "danger"):
        element["style"] = action.style
    return element


def parse_action(action_id_: str, value: str | None) -> tuple[str, dict[str, str]] | None:
    """(card action id, its value) from a tapped element, or None when it is not one of ours."""
    if not action_id_.startswith(ACTION_PREFIX):
        return None
    name = action_id_[len(ACTION_PREFIX) :].rsplit(":", 1)[0]
    try:
        raw = json.loads(value or "{}")
    except ValueError:
        raw = {}
    if not isinstance(raw, dict):
        raw = {}
    return name, {k: str(v)[:200] for k, v in raw.items() if k in VALUE_KEYS and isinstance(v, (str, int))}


def card_blocks(
    card: Card, *, max_blocks: int = MAX_BLOCKS, with_actions: bool = True, note: str | None = None, kept: bool = False
) -> list[Block]:
    """The card as blocks: header, items, facts, why you, exceptions, status, buttons; never over `max_blocks`.
    A requisition's card that had to be cut gets the *See the full requisition* button (`full_modal`).

    `kept`: a copy the delivery layer keeps up to date (its buttons' block says so, see `is_kept_copy`)."""
    fit = _Fit()
    blocks: list[Block] = [{"type": "header", "text": _plain(card.title, MAX_HEADER)}]
    if card.kind == "question" and len(card.title) > MAX_HEADER:
        # a question is its title ("did you mean ... or something else?"): a section holds it whole
        blocks = [section(f"*{escape(card.title)}*", fit=fit)]
    if card.lines:
        blocks.append(section("\n".join(f"\u2022 {escape(line)}" for line in card.lines), fit=fit))
    facts = [f"*{escape(f.label)}*\n{fit(escape(f.value), MAX_FIELD - len(f.label) - 8)}" for f in card.facts]
    for start in range(0, len(facts), MAX_FIELDS):
        fields = [{"type": "mrkdwn", "text": t} for t in facts[start : start + MAX_FIELDS]]
        blocks.append({"type": "section", "fields": fields})
    if card.why_you:
        blocks.append(section(f":bust_in_silhouette: *Why you:* {escape(card.why_you)}", fit=fit))
    if card.chain:
        blocks.append(section(f"*{texts.CHAIN}*\n" + "\n".join(escape(c) for c in card.chain), fit=fit))
    if card.comments:
        blocks.append(section(f"*{texts.COMMENTS}*\n" + "\n".join(escape(c) for c in card.comments), fit=fit))
    if card.attachments:
        blocks.append(_with_download(section(_files(card), fit=fit), card))
    if card.exceptions:
        blocks.append(section("\n".join(f":warning: {escape(e)}" for e in card.exceptions), fit=fit))
    notes: list[Block] = []
    if card.status:
        status = fit(f"{TONE_EMOJI.get(card.tone, '')} {escape(card.status)}", MAX_SECTION)
        notes.append({"type": "context", "elements": [{"type": "mrkdwn", "text": status}]})
    if note:
        notes.append({"type": "context", "elements": [{"type": "mrkdwn", "text": fit(escape(note), MAX_SECTION)}]})
    actions = list(card.actions) if with_actions else []
    tail = notes + _action_blocks(card, actions, kept)
    if card.number and (fit.cut or len(blocks) + len(tail) > max_blocks):
        full = CardAction(id=FULL, label=texts.SEE_ALL, value={"number": card.number})
        tail = notes + _action_blocks(card, actions + [full], kept)
    room = max_blocks - len(tail)
    if len(blocks) > room:  # keep the header, the first blocks and the buttons; say what was cut
        blocks = blocks[: max(room - 1, 1)]
        more = texts.TRUNCATED + (" " + texts.SEE_ALL_HINT if card.number else "")
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return _with_local_times((blocks + tail)[:max_blocks])


def _files(card: Card) -> str:
    """The files the requisition carries, one a line (shared in its thread to add one)."""
    return f"*{texts.FILES}*\n" + "\n".join(
        f":paperclip: {escape(f.filename)} ({escape(f.note)})" for f in card.attachments
    )


def _with_download(block: Block, card: Card) -> Block:
    """The files' section with a way to download them beside it (a button for one file, a menu for more), in the
    section's own accessory, so listing files never costs the card a block. Tapped, the person gets a link of
    their own (never the store's address: bot/downloads.py); a draft's files have nothing to download yet."""
    if not card.number:
        return block
    files = card.attachments[:MAX_OPTIONS]

    def value(file_id: int) -> str:
        return json.dumps({"number": card.number, "value": str(file_id)})

    if len(files) == 1:
        block["accessory"] = {
            "type": "button",
            "action_id": f"{ACTION_PREFIX}{FILE}:0",
            "text": _plain(texts.DOWNLOAD, MAX_LABEL),
            "value": value(files[0].id),
        }
    else:
        block["accessory"] = {
            "type": "static_select",
            "action_id": f"{ACTION_PREFIX}{FILE}:0",
            "placeholder": _plain(texts.DOWNLOAD_WHICH, MAX_LABEL),
            "options": [{"text": _plain(f.filename, MAX_OPTION_TEXT), "value": value(f.id)} for f in files],
        }
    return block


def _action_blocks(card: Card, actions: list[CardAction], kept: bool) -> list[Block]:
    buttons = [button(a, i) for i, a in enumerate(actions)]
    block_id = f"{KEPT_PREFIX if kept else 'pb-actions-'}{card.number or card.kind}"
    return [
        {"type": "actions", "block_id": f"{block_id}-{start}"[:255], "elements": buttons[start : start + MAX_BUTTONS]}
        for start in range(0, len(buttons), MAX_BUTTONS)
    ]


def full_blocks(card: Card, *, max_blocks: int = MAX_VIEW_BLOCKS) -> list[Block]:
    """Everything the card says, for a modal: long text is split over sections rather than cut, no buttons."""
    parts = []
    if card.lines:
        parts.append("\n".join(f"\u2022 {escape(line)}" for line in card.lines))
    parts += [f"*{escape(f.label)}*: {escape(f.value)}" for f in card.facts]
    if card.why_you:
        parts.append(f":bust_in_silhouette: *Why you:* {escape(card.why_you)}")
    if card.chain:
        parts.append(f"*{texts.CHAIN}*\n" + "\n".join(escape(c) for c in card.chain))
    if card.comments:
        parts.append(f"*{texts.COMMENTS}*\n" + "\n".join(escape(c) for c in card.comments))
    files_at = len(parts) if card.attachments else -1
    if card.attachments:
        parts.append(_files(card))
    parts += [f":warning: {escape(e)}" for e in card.exceptions]
    if card.status:
        parts.append(f"{TONE_EMOJI.get(card.tone, '')} {escape(card.status)}")
    out: list[Block] = []
    for at, part in enumerate(parts):
        pieces = [section(part[i : i + MAX_SECTION]) for i in range(0, len(part), MAX_SECTION)]
        if at == files_at:
            pieces[0] = _with_download(pieces[0], card)
        out += pieces
    if len(out) > max_blocks:
        out = out[: max_blocks - 1] + [{"type": "context", "elements": [{"type": "mrkdwn", "text": texts.TRUNCATED}]}]
    return _with_local_times(out) or [section(" ")]


def fallback(card: Card | None, text: str) -> str:
    """The notification / screen-reader text that goes with blocks."""
    words = text or (card.title if card else "")
    if card is not None and card.status and card.status not in words:
        words = f"{words}: {card.status}" if words else card.status
    return escape(words or " ")[:MAX_FALLBACK]  # the fallback is mrkdwn too: no mentions from people's words


def text_blocks(text: str) -> list[Block]:
    """Plain words as mrkdwn sections (split rather than cut: a long answer stays whole)."""
    body = escape(text)
    parts = [body[i : i + MAX_SECTION] for i in range(0, len(body), MAX_SECTION)] or [" "]
    return _with_local_times([section(p) for p in parts[:MAX_BLOCKS]])


def message_blocks(card: Card | None, text: str, *, kept: bool = False) -> list[Block]:
    """A bot message: its words (if any) above its card (if any)."""
    blocks = text_blocks(text) if text and card is None else ([section(escape(text))] if text else [])
    if card is not None:
        blocks += card_blocks(card, max_blocks=MAX_BLOCKS - len(blocks), kept=kept)
    return _with_local_times(blocks[:MAX_BLOCKS])


def is_kept_copy(message_blocks: list[Block]) -> bool:
    """A tapped message is a card copy the delivery layer keeps true (it redraws it after any change)."""
    return any(
        b.get("type") == "actions" and str(b.get("block_id", "")).startswith(KEPT_PREFIX) for b in message_blocks
    )


def is_ours(message_blocks: list[Block]) -> bool:
    """A message procurebot drew: one of its buttons is on it (a card, a summary, a question)."""
    return any(
        b.get("type") == "actions"
        and any(str(e.get("action_id", "")).startswith(ACTION_PREFIX) for e in b.get("elements") or [])
        for b in message_blocks
    )


def summary_text(message_blocks: list[Block]) -> str:
    """A message's words for its notification text, read back from its blocks (a header or the first section)."""
    for block in message_blocks:
        text = (block.get("text") or {}).get("text")
        if block.get("type") in ("header", "section") and text:
            return str(text)[:MAX_FALLBACK]
    return " "


def without_actions(blocks: list[Block], note: str | None = None) -> list[Block]:
    """A posted message turned into history: the same blocks with the buttons gone (and a note)."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    if note:
        kept.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(note)[:MAX_SECTION]}]})
    return kept[:MAX_BLOCKS]
