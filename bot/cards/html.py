"""The web chat's rendering of a card: escaped HTML (templates/card.html) that the chat page drops in place."""

from __future__ import annotations

import json

from approvals.attachments import KINDS
from bot.cards.model import Card
from bot.templating import environment

# what the file picker offers: the kinds the product may accept (the server checks each file against its limits)
ACCEPT = ",".join("." + ext for kind in KINDS for ext in kind.extensions)
_CARD = environment("bot.cards", json=json.dumps).get_template("card.html")


def render_card(card: Card) -> str:
    """One card as an <article>; every copy of a requisition's card carries data-number to be re-rendered."""
    return _CARD.render(card=card, accept=ACCEPT)
