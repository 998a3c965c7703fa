"""The neutral card as an Adaptive Card 1.5 with Universal Actions (Action.Execute).

Every button's data is the action's value plus the card it came from (number and version) and
an HMAC over all of it, so an invoke whose data was edited on the way is refused before anything
happens. Actions that need words (reject, ask for info, answer) open a small form (Action.ShowCard)
with a required Input.Text and their own Action.Execute; each form's input has an id of its own
(`pb_text_<verb>`), as ids must be unique across the whole card. A requisition card carries a `refresh`
for its approvers: Teams asks for the current card whenever one of them opens the chat.

Teams refuses a bot message over about 100 KB, counted on the whole activity encoded as UTF-16
(413 MessageSizeTooBig; https://learn.microsoft.com/microsoftteams/platform/bots/how-to/format-your-bot-messages,
which recommends staying within 80 KB). A card over `BUDGET_BYTES` is cut: long texts are shortened,
item lines dropped from the end with a note saying so, and a requisition's card gets *See the full
requisition* (verb `full`), which sends the whole requisition to whoever taps it, as Slack's modal does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from bot.cards.model import Card, CardAction, CardFile
from bot.chat.delivery import fingerprint
from bot.teams import texts

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
INPUT_ID = "pb_text"  # the Input.Text of a form is INPUT_ID_<verb>; Teams merges it into the action's data
# a form of several fields ("Ask procurement to add it"): each Input.Text is FIELD_ID + its name, read back into the
# action's value; only these names, so typed fields never stand in for what the card signed
FIELD_ID = "pb_field_"
FORM_FIELDS = ("name", "email", "website", "tax_id")
REFRESH_VERB = "refresh"
_CARD, _VERSION, _SIG = "pb_card", "pb_v", "pb_sig"
_MARKS = (_CARD, _VERSION, _SIG, INPUT_ID)
_COLOR = {"info": "Default", "ok": "Good", "warn": "Warning", "bad": "Attention"}
_STYLE = {"primary": "positive", "danger": "destructive", "default": "default"}
MAX_REFRESH_USERS = 60  # Teams' limit for refresh.userIds
VISIBLE_ACTIONS = 5  # more go to the card's overflow menu
FULL_VERB = "full"  # the action that sends the whole of a requisition whose card had to be cut
FILE_VERB = "file"  # a file on a card: pressed, it sends that person a download link of their own (bot/downloads.py)
MAX_FILES_CUT = 20  # files listed on a card that had to be cut (the full requisition lists them all)
BUDGET_BYTES = 80_000  # a card's message in UTF-16 stays under this (Teams refuses about 100 KB, advises 80)
ENVELOPE_BYTES = 4_000  # what the activity adds around the card: summary line, addresses, ids
MAX_TEXT = 2_000  # characters of one fact, item line or note on a card that had to be cut


def version_of(card: Card) -> str:
    return fingerprint(card)[:16]


def _is_input(key: str) -> bool:
    """A form's text (cards from before per-form ids carried `pb_text` itself, and may still be tapped), or one of
    a form's fields."""
    return key == INPUT_ID or key.startswith(INPUT_ID + "_") or key.startswith(FIELD_ID)


def _signature(secret: bytes, verb: str, data: dict[str, Any]) -> str:
    plain = {k: v for k, v in data.items() if k != _SIG and not _is_input(k)}
    message = json.dumps({"verb": verb, "data": plain}, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def action_data(secret: bytes, verb: str, value: dict[str, str], number: str | None, version: str) -> dict[str, str]:
    data = {**value, _CARD: number or "", _VERSION: version}
    data[_SIG] = _signature(secret, verb, data)
    return data


class Tampered(ValueError):
    """The data on an invoke is not what we signed."""

    def __init__(self, number: str | None) -> None:
        self.number = number
        super().__init__("card data does not match its signature")


def read_action(secret: bytes, verb: str, data: Any) -> tuple[dict[str, str], str | None, str | None]:
    """(the action's value, the text the person typed, the card's number) from an invoke's data.

    Raises Tampered when the data is not a flat object of strings we signed for this verb.
    """
    if not isinstance(data, dict):
        raise Tampered(None)
    number = data.get(_CARD) if isinstance(data.get(_CARD), str) else None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise Tampered(number)
    sig = data.get(_SIG, "")
    if not sig or not hmac.compare_digest(sig, _signature(secret, verb, data)):
        raise Tampered(number)
    value = {k: v for k, v in data.items() if k not in _MARKS and not _is_input(k)}
    typed = next((v for k, v in data.items() if _is_input(k) and not k.startswith(FIELD_ID) and v), None)
    for name in FORM_FIELDS:
        field = data.get(FIELD_ID + name, "").strip()
        if field:
            value[name] = field
    return value, typed, number or None


# a time as the neutral card writes it (bot/intake/cards.py), always UTC
_UTC_TIME = re.compile(r"\b(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}) UTC\b")


def teams_time(at: datetime) -> str:
    """Adaptive Cards' date and time functions: each reader's Teams shows `at` in their own locale and time zone
    ("Mon, Nov 23, 2026 3:42 PM"). Upper case, no spaces inside the braces, an RFC 3339 time in UTC."""
    stamp = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}"


def local_times(text: str) -> str:
    """Every UTC time in a card's text as Adaptive Cards' DATE and TIME functions (the card's fallback text and
    the notification line keep the UTC words)."""

    def dated(m: re.Match[str]) -> str:
        year, month, day, hour, minute = (int(g) for g in m.groups())
        try:
            return teams_time(datetime(year, month, day, hour, minute, tzinfo=timezone.utc))
        except ValueError:
            return m.group(0)

    return _UTC_TIME.sub(dated, text)


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": local_times(text), "wrap": True, **extra}


def _file(card: Card, f: CardFile, secret: bytes, version: str) -> dict[str, Any]:
    """A file's line; on a requisition's card, pressing it asks for a download link (never the store's address)."""
    line = _text(f"\U0001f4ce {f.filename} ({f.note})" if f.note else f.filename, size="Small", spacing="None")
    if not card.number or not f.id:
        return line
    line["color"] = "Accent"
    action = CardAction(id=FILE_VERB, label=texts.DOWNLOAD.format(name=f.filename), value={"value": str(f.id)})
    select = _execute(secret, action, card.number, version, associatedInputs="none")
    select.pop("style")  # a select action has no button to style
    return {"type": "Container", "spacing": "None", "items": [line], "selectAction": select}


def _body(card: Card, banner: str | None, banner_tone: str, secret: bytes, version: str) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = []
    if banner:
        body.append(
            {
                "type": "Container",
                "style": "emphasis",
                "bleed": True,
                "items": [_text(banner, color=_COLOR.get(banner_tone, "Default"), weight="Bolder")],
            }
        )
    body.append(_text(card.title, size="Medium", weight="Bolder", style="heading"))
    if card.status:
        body.append(_text(card.status, color=_COLOR.get(card.tone, "Default"), spacing="Small"))
    if card.facts:
        body.append(
            {"type": "FactSet", "facts": [{"title": f.label, "value": local_times(f.value)} for f in card.facts]}
        )
    body += [_text(f"• {line}", spacing="Small") for line in card.lines]
    if card.why_you:
        body.append(_text(texts.FOOTER_WHY.format(why=card.why_you), isSubtle=True, size="Small"))
    if card.chain:
        body.append(_text(texts.CHAIN, weight="Bolder", size="Small", spacing="Medium"))
        body += [_text(local_times(c), size="Small", spacing="None") for c in card.chain]
    if card.comments:
        body.append(_text(texts.COMMENTS, weight="Bolder", size="Small", spacing="Medium"))
        body += [_text(local_times(c), size="Small", spacing="None") for c in card.comments]
    if card.attachments:
        body.append(_text(texts.FILES, weight="Bolder", size="Small", spacing="Medium"))
        body += [_file(card, f, secret, version) for f in card.attachments]
    if card.exceptions:
        body.append(
            {"type": "Container", "style": "warning", "items": [_text(f"⚠ {e}", size="Small") for e in card.exceptions]}
        )
    return body


def _execute(secret: bytes, action: CardAction, number: str | None, version: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Action.Execute",
        "title": action.label,
        "verb": action.id,
        "data": action_data(secret, action.id, action.value, number, version),
        "style": _STYLE[action.style],
        **extra,
    }


def input_id(verb: str, taken: set[str]) -> str:
    """The id of a form's text field: named after its verb, and unique across the card."""
    base = f"{INPUT_ID}_{verb}"
    found, n = base, 1
    while found in taken:
        n += 1
        found = f"{base}_{n}"
    taken.add(found)
    return found


def _action(secret: bytes, action: CardAction, number: str | None, version: str, taken: set[str]) -> dict[str, Any]:
    if action.fields:
        return _form(secret, action, number, version)
    if not action.input_label:
        return _execute(secret, action, number, version, associatedInputs="none")
    form = {
        "type": "AdaptiveCard",
        "body": [
            {
                "type": "Input.Text",
                "id": input_id(action.id, taken),
                "label": action.input_label,
                "isRequired": True,
                "isMultiline": True,
                "maxLength": 1000,
                "errorMessage": texts.NEED_TEXT.format(button=action.label),
            }
        ],
        "actions": [_execute(secret, action, number, version, associatedInputs="auto")],
    }
    return {"type": "Action.ShowCard", "title": action.label, "card": form}


def _form(secret: bytes, action: CardAction, number: str | None, version: str) -> dict[str, Any]:
    """An action that is a small form of several fields (a new supplier's name, e-mail, website): one Input.Text
    each, their values merged into the action's data by id (FIELD_ID + name)."""
    inputs = [
        {
            "type": "Input.Text",
            "id": FIELD_ID + f.name,
            "label": f.label,
            "value": f.value,
            "isRequired": f.required,
            "maxLength": 300,
            "style": {"email": "Email", "url": "Url"}.get(f.kind, "Text"),
            "errorMessage": texts.NEED_FIELD.format(field=f.label),
        }
        for f in action.fields
        if f.name in FORM_FIELDS
    ]
    form = {
        "type": "AdaptiveCard",
        "body": inputs,
        "actions": [_execute(secret, action, number, version, associatedInputs="auto")],
    }
    return {"type": "Action.ShowCard", "title": action.label, "card": form}


def render(
    card: Card,
    *,
    secret: bytes,
    refresh_user_ids: Iterable[str] = (),
    banner: str | None = None,
    banner_tone: str = "info",
) -> dict[str, Any]:
    """The Adaptive Card for `card`, cut to fit a Teams message (`fit`); `refresh_user_ids` (Teams user ids)
    get the live refresh."""
    version = version_of(card)  # the whole card's, also when cut: the signed data names what the card shows

    def draw(shown: Card) -> dict[str, Any]:
        return _render(shown, secret, refresh_user_ids, banner, banner_tone, version)

    out = draw(card)
    if message_bytes(out) <= BUDGET_BYTES - ENVELOPE_BYTES:
        return out
    return draw(fit(card, lambda shown: message_bytes(draw(shown)) <= BUDGET_BYTES - ENVELOPE_BYTES))


def _render(
    card: Card,
    secret: bytes,
    refresh_user_ids: Iterable[str],
    banner: str | None,
    banner_tone: str,
    version: str,
) -> dict[str, Any]:
    taken: set[str] = set()
    actions = [_action(secret, a, card.number, version, taken) for a in card.actions]
    for extra in actions[VISIBLE_ACTIONS:]:
        extra["mode"] = "secondary"
    out: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": "1.5",
        "body": _body(card, banner, banner_tone, secret, version),
        "msteams": {"width": "full"},  # the Teams SDK's TeamsCardWidth: "full" is its one value
        "fallbackText": f"{card.title}: {card.status}" if card.status else card.title,
    }
    if actions:
        out["actions"] = actions
    users = sorted(set(u for u in refresh_user_ids if u))[:MAX_REFRESH_USERS]
    if card.number and users:
        out["refresh"] = {
            "action": {
                "type": "Action.Execute",
                "title": texts.REFRESH,
                "verb": REFRESH_VERB,
                "data": action_data(secret, REFRESH_VERB, {"number": card.number}, card.number, version),
            },
            "userIds": users,
        }
    return out


def message_bytes(payload: Any) -> int:
    """A payload's size as Teams counts it against its message limit: its JSON text in UTF-16."""
    return len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-16-le"))


def _short(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def fit(card: Card, fits: Callable[[Card], bool]) -> Card:
    """`card` cut until `fits` says yes: long texts shortened, then item lines dropped from the end (a line
    says how many), and for a requisition a *See the full requisition* action. The title, status and actions
    stay, so whoever reads it can still act."""
    shortened = card.model_copy(
        update={
            "facts": [f.model_copy(update={"value": _short(f.value)}) for f in card.facts],
            "lines": [_short(line) for line in card.lines],
            "exceptions": [_short(e) for e in card.exceptions],
            "chain": [_short(c) for c in card.chain],
            "comments": [_short(c) for c in card.comments],
            "why_you": _short(card.why_you) if card.why_you else None,
            "attachments": card.attachments[:MAX_FILES_CUT]
            + (
                [CardFile(id=0, filename=texts.FILES_CUT.format(count=len(card.attachments) - MAX_FILES_CUT))]
                if len(card.attachments) > MAX_FILES_CUT
                else []
            ),
            "actions": card.actions
            + ([CardAction(id=FULL_VERB, label=texts.SEE_ALL, value={"number": card.number})] if card.number else []),
        }
    )

    def keeping(count: int) -> Card:
        if count >= len(shortened.lines):
            return shortened
        left = len(shortened.lines) - count
        return shortened.model_copy(update={"lines": shortened.lines[:count] + [texts.LINES_CUT.format(count=left)]})

    if fits(keeping(len(shortened.lines))):
        return keeping(len(shortened.lines))
    low, high = 0, len(shortened.lines) - 1  # the most lines that fit, by halving
    while low < high:
        middle = (low + high + 1) // 2
        if fits(keeping(middle)):
            low = middle
        else:
            high = middle - 1
    return keeping(low)


def full_text(card: Card, limit: int) -> list[str]:
    """Everything a card says, as plain messages of at most `limit` characters each (split between lines)."""
    parts = [card.title]
    parts += [f"{f.label}: {f.value}" for f in card.facts]
    parts += [f"\u2022 {line}" for line in card.lines]
    if card.why_you:
        parts.append(texts.FOOTER_WHY.format(why=card.why_you))
    if card.chain:
        parts.append(texts.CHAIN + ":\n" + "\n".join(card.chain))
    if card.comments:
        parts.append(texts.COMMENTS + ":\n" + "\n".join(card.comments))
    if card.attachments:
        parts.append(texts.FILES + ":\n" + "\n".join(f"{f.filename} ({f.note})" for f in card.attachments))
    parts += [f"\u26a0 {e}" for e in card.exceptions]
    if card.status:
        parts.append(card.status)
    messages: list[str] = []
    current = ""
    for part in parts:
        for piece in [part[i : i + limit] for i in range(0, len(part), limit)] or [""]:
            if current and len(current) + 2 + len(piece) > limit:
                messages.append(current)
                current = ""
            current = f"{current}\n\n{piece}" if current else piece
    if current:
        messages.append(current)
    return messages


def attachment(content: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CONTENT_TYPE, "content": content}


def invoke_card(content: dict[str, Any]) -> dict[str, Any]:
    """The body of an adaptiveCard/action response that replaces the card the person acted on."""
    return {"statusCode": 200, "type": CONTENT_TYPE, "value": content}


def invoke_message(text: str) -> dict[str, Any]:
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text}


def invoke_error(message: str, *, status: int = 400) -> dict[str, Any]:
    return {
        "statusCode": status,
        "type": "application/vnd.microsoft.error",
        "value": {"code": "BadRequest" if status == 400 else "InternalError", "message": message},
    }
