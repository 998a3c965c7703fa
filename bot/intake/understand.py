"""How the conversation understands what a person types: one small protocol, and the rule-based reader.

The dialogue (bot/intake/dialogue.py) and the answers to its questions (bot/intake/answers.py) read
free text only through `Understanding`; the Slack request form and message shortcut read theirs the same
way. `Extraction` (bot/intake/extract.py) is the contract: what a message said, and what it could not read
(`problems`), never a guess. Another reader (a model, say) replaces `RuleBased` by returning the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.intake import intents
from bot.intake.extract import ExtractedLine, Extraction, Extractor


class Understanding(Protocol):
    def read(self, text: str, *, editing: bool, now: datetime, timezone: str) -> Extraction:
        """What `text` says about a purchase. `editing`: a draft with items exists, so a bare number or price
        ("make it 50") is about it (returned as a line without a description)."""
        ...

    def suppliers(self, text: str) -> list[str]:
        """The ids of the suppliers `text` may name, best first (one id: no doubt)."""
        ...

    def sites(self, text: str) -> list[str]:
        """The codes of the sites `text` may name, best first (one code: no doubt)."""
        ...


class RuleBased:
    """The rule-based reader: patterns, the catalog and the directory's names. No database, no network."""

    def __init__(self, extractor: Extractor) -> None:
        self.extractor = extractor

    def read(self, text: str, *, editing: bool, now: datetime, timezone: str) -> Extraction:
        qty, rest = intents.quantity_fix(text) if editing else (None, text)
        found = self.extractor.extract(rest, now=now, timezone=timezone)
        if qty is not None:
            found.lines.append(ExtractedLine("", qty))
        return found

    def suppliers(self, text: str) -> list[str]:
        return self.extractor.match_supplier(text)

    def sites(self, text: str) -> list[str]:
        return self.extractor.match_site(text)
