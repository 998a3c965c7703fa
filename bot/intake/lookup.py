"""Finding requisitions for a status question: who may see one, which of a person's match an item, which are open.

Pure: views and the directory in, views out. "Where are my boxes?" matches "Corrugated box 20x12x12" through
the words of the lines, the title, the supplier and the catalog item's keywords, spelled loosely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from rapidfuzz import fuzz, process

from approvals.clock import as_utc
from approvals.delegation import DelegationWindow
from approvals.directory import Directory, Person
from approvals.views import RequisitionView
from approvals.visibility import can_see

CLOSED = frozenset({"rejected", "withdrawn", "stopped"})
ORDERED_RECENTLY = timedelta(days=30)  # an order placed this long ago still counts as "where is my order"
WORD_MATCH = 80  # "laptp" is a laptop and "glvoes" are gloves; "box" is no "fox"
MIN_SHARE = 0.5  # at least half the words asked about must be found


def may_see(
    person: Person, view: RequisitionView, directory: Directory, delegations: Iterable[DelegationWindow] = ()
) -> bool:
    """The one visibility check (approvals.visibility.can_see): the requester, anyone on its route or acting
    for them, and the roles that cover it (procurement, finance, the site's managers, auditors, admins)."""
    return can_see(person.id, view, directory, delegations)


def open_ones(views: list[RequisitionView], now: datetime) -> list[RequisitionView]:
    """Still on their way: not closed, and not ordered longer ago than a month."""
    return [
        v
        for v in views
        if v.state not in CLOSED
        and not (v.state == "po_created" and now - as_utc(v.decided_at or v.created_at) > ORDERED_RECENTLY)
    ]


def by_item(words: str, views: list[RequisitionView], directory: Directory) -> list[RequisitionView]:
    """The views that look like `words` ("boxes", "laptop", "stretch wrap uline"), best first."""
    asked = [_stem(w) for w in _words(words)]
    if not asked:
        return []
    scored = []
    for view in views:
        known = _known(view, directory)
        if not known:
            continue
        found = sum(1 for w in asked if process.extractOne(w, known, scorer=fuzz.ratio, score_cutoff=WORD_MATCH))
        share = found / len(asked)
        if share >= MIN_SHARE:
            scored.append((share, view))
    if not scored:
        return []
    best = max(s for s, _ in scored)
    return [v for s, v in scored if s == best]


def _known(view: RequisitionView, directory: Directory) -> list[str]:
    phrases = [view.title, view.supplier_name, view.category, *(ln.description for ln in view.lines)]
    items = {i.sku: i for i in directory.items}
    for ln in view.lines:
        item = items.get(ln.sku or "")
        if item is not None:
            phrases += [item.name, *item.keywords]
    return sorted({_stem(w) for p in phrases if p for w in _words(p)})


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z'-]+", text.lower()) if len(w) > 2]


def _stem(word: str) -> str:
    """Plural to singular, roughly: boxes -> box, batteries -> battery, gloves -> glove."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("xes", "ches", "shes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word
