"""Block Kit views: the request modal, the reason modal (reject / ask / answer), and the App Home tab.

Only building and reading views lives here; what a submission does is in bot/slack/handlers/modals.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from approvals.directory import Directory
from bot.cards.model import Card
from bot.slack import blocks, texts

REQUEST_VIEW = "pb_request"
REASON_VIEW = "pb_reason"
SUPPLIER_VIEW = "pb_supplier"  # "Ask procurement to add it": a new supplier's name, e-mail, website, tax id
HOME_NEW = "pb_home:new_request"
HOME_DELEGATE = "pb_home:set_delegation"
HOME_DELEGATE_WHO = "pb_home:delegate_who"  # a static_select, or an external_select past 100 people
MAX_OPTIONS = 100  # a static_select holds at most 100 options, and an options answer at most 100 too
SEARCH_ACTION = "pb_search:"  # + the block id: a select whose options come from our options handler, as typed
SEARCH_SCORE = 60  # rapidfuzz WRatio below which a choice is not offered for what was typed
MAX_REASON = 2000
MAX_DESCRIPTION = 300
MAX_JUSTIFICATION = 1000
MAX_META = 3000
META_MESSAGE = "m"  # the message a form was opened from: what it says beyond the form's fields is kept


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str | None = None
) -> dict[str, Any]:
    block = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": "value", **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value[:150]}


def _select(block: str, options: list[tuple[str, str]], initial: str | None, placeholder: str) -> dict[str, Any]:
    """All the choices in the select when they fit (up to 100: nothing to configure, Slack filters as you type);
    more than that, an external_select whose options our options handler finds for what is typed."""
    chosen = next((_option(label, value) for label, value in options if value == initial), None)
    element: dict[str, Any]
    if len(options) <= MAX_OPTIONS:
        element = {"type": "static_select", "options": [_option(label, value) for label, value in options]}
    else:
        element = {"type": "external_select", "action_id": SEARCH_ACTION + block, "min_query_length": 1}
        placeholder = texts.SEARCH_PLACEHOLDER.format(count=len(options))
    element["placeholder"] = {"type": "plain_text", "text": placeholder[:150]}
    if chosen is not None:
        element["initial_option"] = chosen
    return element


def supplier_choices(directory: Directory) -> list[tuple[str, str]]:
    """(label, supplier id) of every supplier one may order from, by name."""
    return [(s.name, s.id) for s in sorted(directory.suppliers, key=lambda s: s.name) if not s.blocked]


def site_choices(directory: Directory) -> list[tuple[str, str]]:
    return [(f"{s.code} ({s.name})", s.code) for s in directory.sites]


def search_options(directory: Directory, block: str, typed: str, *, viewer: str | None = None) -> list[dict[str, Any]]:
    """The options an external select shows for what the person typed (at most 100, best first).

    `block` is "supplier", "site" or "person" (the Home tab's delegate: by name, person id or e-mail,
    never `viewer`, the person searching). A label or alias that starts with the words comes first,
    then one that contains them, then rapidfuzz's WRatio (typos, word order: "uline", "ULine",
    "lines u"), then the name."""
    if block == "supplier":
        usable = [s for s in directory.suppliers if not s.blocked]
        choices = [(s.name, s.id, [s.name, s.id, *s.aliases]) for s in usable]
    elif block == "site":
        choices = [(f"{s.code} ({s.name})", s.code, [s.code, s.name, *s.aliases]) for s in directory.sites]
    elif block == "person":
        choices = [(p.name, p.id, [p.name, p.id, p.email]) for p in directory.people if p.id != viewer]
    else:
        return []
    query = default_process(typed or "")
    if not query:
        ranked = sorted(choices, key=lambda c: c[0].lower())
        return [_option(label, value) for label, value, _ in ranked[:MAX_OPTIONS]]
    scored = []
    for label, value, names in choices:
        words = [default_process(n) for n in names]
        place = 0 if any(w.startswith(query) for w in words) else 1 if any(query in w for w in words) else 2
        scored.append((place, label, value))
    hay = {i: " ".join(names) for i, (_, _, names) in enumerate(choices)}
    fuzzy = {
        i: score
        for _, score, i in process.extract(
            query, hay, scorer=fuzz.WRatio, processor=default_process, limit=None, score_cutoff=SEARCH_SCORE
        )
    }
    kept = [
        (place, -fuzzy.get(i, 0.0), label.lower(), label, value)
        for i, (place, label, value) in enumerate(scored)
        if place < 2 or i in fuzzy
    ]
    return [_option(label, value) for *_, label, value in sorted(kept)[:MAX_OPTIONS]]


def _meta(data: dict[str, Any]) -> str:
    return json.dumps(data)[:MAX_META]


def with_message(meta: dict[str, Any], text: str) -> dict[str, Any]:
    """`meta` and as much of the message `text` as fits in the view's private_metadata (3,000 characters)."""
    room = MAX_META - len(_meta({**meta, META_MESSAGE: ""}))
    while text and len(json.dumps(text)) - 2 > room:  # escapes (quotes, non-ASCII) take more than one character
        text = text[: len(text) - max(len(json.dumps(text)) - 2 - room, 1)]
    return {**meta, META_MESSAGE: text}


def read_meta(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------------- the request modal
@dataclass
class RequestForm:
    description: str = ""
    quantity: str = ""
    unit_price: str = ""
    supplier: str | None = None
    site: str | None = None
    need_by: str | None = None  # YYYY-MM-DD
    justification: str = ""


def request_modal(directory: Directory, form: RequestForm, meta: dict[str, Any]) -> dict[str, Any]:
    suppliers, sites = supplier_choices(directory), site_choices(directory)
    text = {"type": "plain_text_input", "max_length": MAX_DESCRIPTION}
    need_by: dict[str, Any] = {"type": "datepicker"}
    if form.need_by:
        need_by["initial_date"] = form.need_by
    return {
        "type": "modal",
        "callback_id": REQUEST_VIEW,
        "private_metadata": _meta(meta),
        "title": {"type": "plain_text", "text": texts.REQUEST_TITLE},
        "submit": {"type": "plain_text", "text": texts.REQUEST_SUBMIT},
        "close": {"type": "plain_text", "text": texts.MODAL_CANCEL},
        "blocks": [
            _input(
                "description",
                texts.FIELD_DESCRIPTION,
                {**text, **({"initial_value": form.description[:300]} if form.description else {})},
                hint=texts.FIELD_DESCRIPTION_HINT,
            ),
            _input(
                "quantity",
                texts.FIELD_QUANTITY,
                {
                    "type": "number_input",
                    "is_decimal_allowed": True,
                    **({"initial_value": form.quantity} if form.quantity else {}),
                },
            ),
            _input(
                "unit_price",
                texts.FIELD_UNIT_PRICE,
                {
                    "type": "number_input",
                    "is_decimal_allowed": True,
                    **({"initial_value": form.unit_price} if form.unit_price else {}),
                },
            ),
            _input(
                "supplier", texts.FIELD_SUPPLIER, _select("supplier", suppliers, form.supplier, texts.FIELD_SUPPLIER)
            ),
            _input("site", texts.FIELD_SITE, _select("site", sites, form.site, texts.FIELD_SITE)),
            _input("need_by", texts.FIELD_NEED_BY, need_by, optional=True),
            _input(
                "justification",
                texts.FIELD_JUSTIFICATION,
                {
                    "type": "plain_text_input",
                    "multiline": True,
                    "max_length": MAX_JUSTIFICATION,
                    **({"initial_value": form.justification[:MAX_JUSTIFICATION]} if form.justification else {}),
                },
                optional=True,
            ),
        ],
    }


def _value(values: dict[str, Any], block: str) -> Any:
    element = next(iter((values.get(block) or {}).values()), None) or {}  # an input block holds one element
    kind = element.get("type")
    if kind in ("static_select", "external_select"):
        return (element.get("selected_option") or {}).get("value")
    if kind == "datepicker":
        return element.get("selected_date")
    if kind == "users_select":
        return element.get("selected_user")
    return element.get("value")


@dataclass
class ParsedRequest:
    description: str
    quantity: Decimal
    unit_price: Decimal
    supplier: str
    site: str
    need_by: date | None
    justification: str


def read_request(
    view: dict[str, Any], directory: Directory, today: date
) -> tuple[ParsedRequest | None, dict[str, str]]:
    """The form's values, or the field errors Slack shows under each input (response_action: errors)."""
    values = (view.get("state") or {}).get("values") or {}
    errors: dict[str, str] = {}
    description = (_value(values, "description") or "").strip()
    if not description:
        errors["description"] = texts.ERR_REQUIRED
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = texts.ERR_TOO_LONG.format(limit=MAX_DESCRIPTION)
    numbers = {}
    for block, message in (("quantity", texts.ERR_QUANTITY), ("unit_price", texts.ERR_PRICE)):
        raw = (_value(values, block) or "").strip().lstrip("$").replace(",", "")
        try:
            number = Decimal(raw)
        except (InvalidOperation, ValueError):
            number = None
        if number is None or not number.is_finite() or number <= 0 or number > Decimal("1e9"):
            errors[block] = message
        else:
            numbers[block] = number
    supplier = _value(values, "supplier")
    if not supplier or supplier not in directory.supplier_by_id:
        errors["supplier"] = texts.ERR_REQUIRED
    site = _value(values, "site")
    if not site or site not in directory.site_by_code:
        errors["site"] = texts.ERR_REQUIRED
    need_by = None
    raw_date = _value(values, "need_by")
    if raw_date:
        try:
            need_by = date.fromisoformat(raw_date)
        except ValueError:
            errors["need_by"] = texts.ERR_DATE_PAST
        else:
            if need_by < today:
                errors["need_by"] = texts.ERR_DATE_PAST
    justification = (_value(values, "justification") or "").strip()
    if len(justification) > MAX_JUSTIFICATION:
        errors["justification"] = texts.ERR_TOO_LONG.format(limit=MAX_JUSTIFICATION)
    if errors:
        return None, errors
    return ParsedRequest(
        description, numbers["quantity"], numbers["unit_price"], supplier, site, need_by, justification
    ), {}


# ---------------------------------------------------------------------- the whole requisition
def full_modal(card: Card) -> dict[str, Any]:
    """A card that was cut to fit a message, whole: what *See the full requisition* opens, for any reader."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": (card.number or texts.SEE_ALL)[:24]},
        "close": {"type": "plain_text", "text": texts.FULL_CLOSE},
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": card.title[:150] or " "}},
            *blocks.full_blocks(card, max_blocks=blocks.MAX_VIEW_BLOCKS - 1),
        ],
    }


# ---------------------------------------------------------------------- the reason modal
def reason_modal(action: str, value: dict[str, str], label: str, where: dict[str, Any]) -> dict[str, Any]:
    number = value.get("number", "")
    return {
        "type": "modal",
        "callback_id": REASON_VIEW,
        "private_metadata": _meta({"a": action, "v": value, **where}),
        "title": {"type": "plain_text", "text": texts.REASON_TITLES.get(action, "{number}").format(number=number)[:24]},
        "submit": {"type": "plain_text", "text": texts.REASON_SUBMITS.get(action, texts.MODAL_SUBMIT)},
        "close": {"type": "plain_text", "text": texts.MODAL_CANCEL},
        "blocks": [
            _input("reason", label[:2000], {"type": "plain_text_input", "multiline": True, "max_length": MAX_REASON})
        ],
    }


def supplier_modal(value: dict[str, str], where: dict[str, Any]) -> dict[str, Any]:
    """The "Ask procurement to add it" modal: what a buyer needs to add the supplier, each in its own field."""
    name = {"type": "plain_text_input", "max_length": 200}
    if value.get("name"):
        name["initial_value"] = value["name"][:200]
    return {
        "type": "modal",
        "callback_id": SUPPLIER_VIEW,
        "private_metadata": _meta({"a": "supplier.request", "v": value, **where}),
        "title": {"type": "plain_text", "text": texts.SUPPLIER_TITLE},
        "submit": {"type": "plain_text", "text": texts.SUPPLIER_SUBMIT},
        "close": {"type": "plain_text", "text": texts.MODAL_CANCEL},
        "blocks": [
            _input("name", texts.SUPPLIER_NAME, name),
            _input("email", texts.SUPPLIER_EMAIL, {"type": "email_text_input"}, hint=texts.SUPPLIER_EMAIL_HINT),
            _input("website", texts.SUPPLIER_WEBSITE, {"type": "plain_text_input", "max_length": 300}, hint="acme.com"),
            _input("tax_id", texts.SUPPLIER_TAX_ID, {"type": "plain_text_input", "max_length": 40}, optional=True),
            # Slack's file input (the files:read scope): the file comes back in the submission, downloaded then
            _input("tax_document", texts.SUPPLIER_TAX_DOCUMENT, {"type": "file_input", "max_files": 1}, optional=True),
        ],
    }


def read_supplier(view: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The supplier modal's fields, and what Slack shows under a field that is missing."""
    values = (view.get("state") or {}).get("values") or {}
    fields = {k: (_value(values, k) or "").strip() for k in ("name", "email", "website", "tax_id")}
    errors = {k: texts.ERR_REQUIRED for k in ("name", "email", "website") if not fields[k]}
    return {k: v for k, v in fields.items() if v}, errors


def read_supplier_file(view: dict[str, Any]) -> dict[str, Any] | None:
    """The file given in the supplier modal's file input (Slack's file object), if any."""
    values = (view.get("state") or {}).get("values") or {}
    element = next(iter((values.get("tax_document") or {}).values()), None) or {}
    files = [f for f in element.get("files") or () if isinstance(f, dict) and f.get("id")]
    return files[0] if files else None


def read_reason(view: dict[str, Any]) -> tuple[str, dict[str, str]]:
    values = (view.get("state") or {}).get("values") or {}
    words = (_value(values, "reason") or "").strip()
    if not words:
        return "", {"reason": texts.ERR_REQUIRED}
    if len(words) > MAX_REASON:
        return "", {"reason": texts.ERR_TOO_LONG.format(limit=MAX_REASON)}
    return words, {}


# ---------------------------------------------------------------------- App Home
@dataclass
class HomeData:
    pending: list[Card]
    mine: list[Card]
    delegations: list[str]  # mrkdwn lines
    end_delegation: list[tuple[str, str]]  # (label, delegation id) the person may end
    people: list[tuple[str, str]]  # (name, person id) who could approve for them
    activity: list[str]
    notice: str | None = None
    more_pending: int = 0


def _compact(card: Card) -> list[dict[str, Any]]:
    """A card in a few blocks for the Home tab: title with key facts, why you, status, buttons."""
    facts = " \u00b7 ".join(blocks.escape(f.value) for f in card.facts[1:4])
    body = [blocks.section(f"*{blocks.escape(card.title)}*\n{facts}")]
    if card.why_you:
        body.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Why you: {blocks.escape(card.why_you)}"[:3000]}],
            }
        )
    elif card.status:
        body.append({"type": "context", "elements": [{"type": "mrkdwn", "text": blocks.escape(card.status)[:3000]}]})
    if card.actions:
        body.append(
            {
                "type": "actions",
                "block_id": f"pb-home-{card.number}",
                "elements": [blocks.button(a, i) for i, a in enumerate(card.actions)][:25],
            }
        )
    return body


def home_view(data: HomeData) -> dict[str, Any]:
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": texts.HOME_TITLE}},
        blocks.section(texts.HOME_INTRO),
        {
            "type": "actions",
            "block_id": "pb-home-top",
            "elements": [
                {
                    "type": "button",
                    "action_id": HOME_NEW,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": texts.HOME_NEW},
                }
            ],
        },
    ]
    if data.notice:
        out.append(blocks.section(f":information_source: {blocks.escape(data.notice)}"))
    out += [{"type": "divider"}, {"type": "header", "text": {"type": "plain_text", "text": texts.HOME_PENDING}}]
    if not data.pending:
        out.append(blocks.section(texts.HOME_PENDING_NONE))
    for card in data.pending:
        out += _compact(card)
    if data.more_pending:
        out.append(blocks.section(texts.HOME_MORE.format(count=data.more_pending)))
    out += [{"type": "divider"}, {"type": "header", "text": {"type": "plain_text", "text": texts.HOME_MINE}}]
    if not data.mine:
        out.append(blocks.section(texts.HOME_MINE_NONE))
    for card in data.mine:
        out += _compact(card)
    out += [{"type": "divider"}, {"type": "header", "text": {"type": "plain_text", "text": texts.HOME_DELEGATION}}]
    out.append(blocks.section("\n".join(data.delegations) if data.delegations else texts.HOME_DELEGATION_NONE))
    if data.end_delegation:
        out.append(
            {
                "type": "actions",
                "block_id": "pb-home-end-delegation",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"{blocks.ACTION_PREFIX}cancel_delegation:{i}",
                        "style": "danger",
                        "text": {"type": "plain_text", "text": label[:75]},
                        "value": json.dumps({"delegation_id": ident}),
                    }
                    for i, (label, ident) in enumerate(data.end_delegation[:5])
                ],
            }
        )
    out.append(
        {
            "type": "actions",
            "block_id": "pb-home-delegate",
            "elements": [
                # all the people in the select up to 100, else searched as typed (handlers/options.py)
                {**_select("person", data.people, None, texts.HOME_DELEGATE_WHO), "action_id": HOME_DELEGATE_WHO},
                {
                    "type": "datepicker",
                    "action_id": "pb_home:delegate_from",
                    "placeholder": {"type": "plain_text", "text": texts.HOME_DELEGATE_FROM},
                },
                {
                    "type": "datepicker",
                    "action_id": "pb_home:delegate_to",
                    "placeholder": {"type": "plain_text", "text": texts.HOME_DELEGATE_TO},
                },
                {
                    "type": "button",
                    "action_id": HOME_DELEGATE,
                    "text": {"type": "plain_text", "text": texts.HOME_DELEGATE_SAVE},
                },
            ],
        }
    )
    out += [
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": texts.HOME_ACTIVITY}},
        blocks.section("\n".join(data.activity) if data.activity else texts.HOME_ACTIVITY_NONE),
    ]
    return {"type": "home", "blocks": out[: blocks.MAX_VIEW_BLOCKS]}


def read_delegation_form(view: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(delegate person id, first day, last day) from the Home tab's delegation row."""
    values = ((view or {}).get("state") or {}).get("values") or {}
    row = values.get("pb-home-delegate") or {}
    picked = row.get(HOME_DELEGATE_WHO) or {}
    who = (picked.get("selected_option") or {}).get("value")  # static or external: the same
    start = (row.get("pb_home:delegate_from") or {}).get("selected_date")
    end = (row.get("pb_home:delegate_to") or {}).get("selected_date")
    # a users_select gives a Slack user id, which the Home handler resolves to the directory person
    return who or picked.get("selected_user"), start, end
