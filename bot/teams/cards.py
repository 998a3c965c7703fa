"""The neutral card as an Adaptive Card 1.5 with Universal Actions (Action.Execute).

Every button's data is the action's value plus the card it came from (number and version) and
an HMAC over all of it, so an invoke whose data was edited on the way is refused before anything
happens. Actions that need words (reject, ask for info, answer) open a small form (Action.ShowCard)
with a required Input.Text and their own Action.Execute. A requisition card carries a `refresh`
for its approvers: Teams asks for the current card whenever one of them opens the chat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Iterable

from bot.cards.model import Card, CardAction
from bot.chat.delivery import fingerprint
from bot.teams import texts

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
INPUT_ID = "pb_text"  # the Input.Text of a form; Teams merges it into the action's data
REFRESH_VERB = "refresh"
_CARD, _VERSION, _SIG = "pb_card", "pb_v", "pb_sig"
_MARKS = (_CARD, _VERSION, _SIG, INPUT_ID)
_COLOR = {"info": "Default", "ok": "Good", "warn": "Warning", "bad": "Attention"}
_STYLE = {"primary": "positive", "danger": "destructive", "default": "default"}
MAX_REFRESH_USERS = 60  # Teams' limit for refresh.userIds
VISIBLE_ACTIONS = 5  # more go to the card's overflow menu


def version_of(card: Card) -> str:
    return fingerprint(card)[:16]


def _signature(secret: bytes, verb: str, data: dict[str, Any]) -> str:
    plain = {k: v for k, v in data.items() if k not in (_SIG, INPUT_ID)}
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
    value = {k: v for k, v in data.items() if k not in _MARKS}
    return value, data.get(INPUT_ID), number or None


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


def _body(card: Card, banner: str | None, banner_tone: str) -> list[dict[str, Any]]:
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
        body.append({"type": "FactSet", "facts": [{"title": f.label, "value": f.value} for f in card.facts]})
    body += [_text(f"• {line}", spacing="Small") for line in card.lines]
    if card.why_you:
        body.append(_text(texts.FOOTER_WHY.format(why=card.why_you), isSubtle=True, size="Small"))
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


def _action(secret: bytes, action: CardAction, number: str | None, version: str) -> dict[str, Any]:
    if not action.input_label:
        return _execute(secret, action, number, version, associatedInputs="none")
    form = {
        "type": "AdaptiveCard",
        "body": [
            {
                "type": "Input.Text",
                "id": INPUT_ID,
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


def render(
    card: Card,
    *,
    secret: bytes,
    refresh_user_ids: Iterable[str] = (),
    banner: str | None = None,
    banner_tone: str = "info",
) -> dict[str, Any]:
    """The Adaptive Card for `card`; `refresh_user_ids` (Teams user ids) get the live refresh."""
    version = version_of(card)
    actions = [_action(secret, a, card.number, version) for a in card.actions]
    for extra in actions[VISIBLE_ACTIONS:]:
        extra["mode"] = "secondary"
    out: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": "1.5",
        "body": _body(card, banner, banner_tone),
        "msteams": {"width": "Full"},
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
