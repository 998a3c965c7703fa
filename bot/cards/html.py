"""The web console's rendering of a card: plain, escaped HTML that the chat page drops in place."""

from __future__ import annotations

import json
from html import escape

from bot.cards.model import Card, CardAction


def _action(action: CardAction) -> str:
    value = escape(json.dumps(action.value), quote=True)
    label = escape(action.label)
    if action.input_label:
        # actions that need words carry their own small form; the text is required before it is sent
        return (f'<form class="needs-text" data-action="{escape(action.id)}" data-value="{value}">'
                f'<input name="text" required maxlength="2000" placeholder="{escape(action.input_label)}" '
                f'aria-label="{escape(action.input_label)}">'
                f'<button type="submit" class="{action.style}">{label}</button></form>')
    return (f'<button type="button" class="{action.style}" data-action="{escape(action.id)}" '
            f'data-value="{value}">{label}</button>')


def render_card(card: Card) -> str:
    """One card as an <article>; every copy of a requisition's card carries data-number to be re-rendered."""
    number = f' data-number="{escape(card.number)}"' if card.number else ""
    parts = [f'<article class="card tone-{card.tone} kind-{card.kind}" data-kind="{card.kind}"{number}>',
             f"<header>{escape(card.title)}</header>"]
    if card.lines:
        parts.append('<ul class="lines">' + "".join(f"<li>{escape(ln)}</li>" for ln in card.lines) + "</ul>")
    if card.facts:
        parts.append('<dl class="facts">' + "".join(f"<dt>{escape(f.label)}</dt><dd>{escape(f.value)}</dd>"
                                                   for f in card.facts) + "</dl>")
    if card.why_you:
        parts.append(f'<p class="why"><strong>Why you:</strong> {escape(card.why_you)}</p>')
    if card.exceptions:
        parts.append('<ul class="exceptions">' + "".join(f"<li>{escape(e)}</li>" for e in card.exceptions) + "</ul>")
    if card.status:
        parts.append(f'<p class="status">{escape(card.status)}</p>')
    if card.actions:
        parts.append('<div class="actions">' + "".join(_action(a) for a in card.actions) + "</div>")
    parts.append("</article>")
    return "".join(parts)
