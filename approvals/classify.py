"""Classifying free-text items: the small interface, and the keyword/catalog classifier behind it.

The core needs a category for a line nobody named one for. Who suggests it is pluggable: the
catalog and category keywords now, an LLM later, through the same `Classifier` protocol. A
suggestion is never a decision: the catalog's category always wins (see requisition.resolve_lines)
and the requester sees the category on the summary before submitting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol

from rapidfuzz import fuzz, process

from approvals.directory import Directory, Item

Source = Literal["catalog", "keyword", "llm", "model"]
# Below this a fuzzy catalog hit is more likely a different item than a typo of this one.
CATALOG_SCORE = 86
_WORD = re.compile(r"[a-z0-9]+")
# Where the thing named ends: "hydraulic oil for forklift 3" names the oil, not the forklift.
_HEAD_ENDS = re.compile(r"\b(?:for|to|at|from|with|in|on|per|by|x|asap|please|needed|need)\b")
# Units and counts after the thing ("stretch wrap 40 rolls"): not its head noun.
_TRAILING = frozenset(
    "rolls roll cases case boxes box packs pack each ea pcs pieces units unit pails pail gallons gal dozen qty "
    "bundles bundle pairs pair sets set lots".split()
)


@dataclass(frozen=True)
class Classification:
    """A suggested category for a line of free text, and why."""

    category: str
    confidence: float  # 0..1
    source: Source
    sku: str | None = None
    reason: str = ""


class Classifier(Protocol):
    """Anything that suggests a category for an item description (or None when it cannot tell)."""

    def classify(self, text: str) -> Classification | None: ...


def _plural_forms(word: str) -> set[str]:
    forms = {word}
    if word.endswith("s") and len(word) > 3:
        forms.add(word[:-1])
    else:
        forms.add(word + "s")
    return forms


class CatalogClassifier:
    """Catalog items first (exact keywords, then typo-tolerant), then category keywords."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        # longest keyword first, so "forklift tire" beats "forklift" (the capex truck)
        phrases: list[tuple[str, Item]] = []
        for item in directory.items:
            for phrase in (*item.keywords, item.name):
                head, _, last = phrase.lower().rpartition(" ")
                for form in _plural_forms(last):  # "forklift tires" is the tire, not the forklift
                    phrases.append(((head + " " + form).strip(), item))
        phrases.sort(key=lambda p: -len(p[0]))
        self._phrases = phrases
        self._choices = [p for p, _ in phrases]
        self._category_words: dict[str, str] = {}
        for category in directory.categories:
            for kw in category.keywords:
                for form in _plural_forms(kw.lower()):
                    self._category_words.setdefault(form, category.code)

    def match_item(self, text: str) -> Item | None:
        """The catalog item a description names, tolerating typos ("strech wrap")."""
        return self._match(text)[0]

    def _match(self, text: str) -> tuple[Item | None, str]:
        lowered = " ".join(_WORD.findall(text.lower()))
        if not lowered:
            return None, ""
        padded = f" {lowered} "
        for phrase, item in self._phrases:
            if f" {phrase} " in padded:
                return item, phrase
        for phrase, _, index in process.extract(
            lowered, self._choices, scorer=fuzz.partial_ratio, limit=3, score_cutoff=CATALOG_SCORE
        ):
            # a short phrase inside a long text matches too easily; ask for most of its letters in one word run
            if len(phrase) >= 4 and fuzz.token_set_ratio(lowered, phrase) >= 70:
                return self._phrases[index][1], phrase
        return None, ""

    def strong_item(self, text: str) -> Item | None:
        """The catalog item only on a strong match: the text's head noun is one of the item's own words, and either
        a phrase of two words or more matched ("stretch wrap") or the text says nothing but the item's words.
        "forklift tires" is the tire; "forklift fuses" is not the forklift; "brake pads and tires for box truck 12"
        is not the forklift's tire; "janitorial supplies" is not the janitorial service."""
        item, phrase = self._match(text)
        if item is None:
            return None
        named = _HEAD_ENDS.split(" ".join(_WORD.findall(text.lower())))[0].split()
        words = [w for w in named if not w.isdigit() and len(w) > 1 and w not in _TRAILING]
        if not words:
            return None
        vocabulary = {w for said in (item.name, *item.keywords) for w in _WORD.findall(said.lower())}

        def known(word: str) -> bool:
            return bool(_plural_forms(word) & vocabulary) or any(
                fuzz.ratio(word, v) >= 85 for v in vocabulary if len(v) > 3
            )

        if not known(words[-1]):
            return None
        if len(phrase.split()) >= 2 or all(known(w) for w in words):
            return item
        return None

    def classify(self, text: str) -> Classification | None:
        item = self.match_item(text)
        if item is not None:
            return Classification(item.category, 0.95, "catalog", item.sku, f"catalog item {item.name}")
        votes: dict[str, int] = {}
        for word in _WORD.findall(text.lower()):
            code = self._category_words.get(word)
            if code:
                votes[code] = votes.get(code, 0) + 1
        if not votes:
            return None
        ranked = sorted(votes.items(), key=lambda kv: -kv[1])
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            return None  # a tie is a question for the person, not a coin toss
        code, count = ranked[0]
        return Classification(
            code,
            min(0.5 + 0.2 * count, 0.9),
            "keyword",
            None,
            f"the words point to {self.directory.category_by_code[code].name}",
        )
