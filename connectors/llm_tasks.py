"""The two things the LLM is allowed to do, each boxed in and each with a deterministic fallback.

- `LlmClassifier`: item text + the company's category list -> one category code with a confidence.
  A code outside the list, invalid output, a refusal, a timeout or an error gives the deterministic
  classifier's answer instead. It implements `approvals.classify.Classifier`.
- `LlmSummarizer`: our computed facts -> a 2-3 sentence note for the approver. Kept only if every
  number in it is one of our facts' numbers (approvals.summary.check_summary); otherwise the
  deterministic summary is used.
Neither ever decides a route, an amount, an approver or an action: their output is text or a
suggested category that a person confirms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import BaseModel

from approvals.classify import CatalogClassifier, Classification, Classifier
from approvals.directory import Directory
from approvals.summary import SummaryFacts, check_summary, deterministic_summary
from connectors.llm import LlmClient
from connectors.prompts import load_prompt

MAX_ITEM_TEXT = 300
MAX_EXAMPLES = 8


class CategoryAnswer(BaseModel):
    """What the classify prompt must answer (no constraints in the schema: servers differ; checked here)."""

    category: str
    confidence: float
    reason: str


class SummaryAnswer(BaseModel):
    summary: str


@dataclass(frozen=True)
class Suggestion:
    """A category suggestion and where it came from. `classification` is None when nobody could tell."""

    classification: Classification | None
    outcome: str  # ok | low_confidence | not_in_list | unknown | refused | invalid | timeout | ... | off
    prompt_version: str = ""
    model: str = ""
    llm_category: str | None = None  # what the LLM said, even when it was not used

    @property
    def needs_confirmation(self) -> bool:
        """The requester should pick the category rather than have it filled in."""
        return self.outcome in ("low_confidence",) or self.classification is None


class LlmClassifier:
    """LLM first, deterministic classifier as the fallback; `min_confidence` separates fill-in from ask."""

    def __init__(
        self, llm: LlmClient, directory: Directory, *, fallback: Classifier | None = None, min_confidence: float = 0.75
    ) -> None:
        self.llm = llm
        self.directory = directory
        self.fallback: Classifier = fallback or CatalogClassifier(directory)
        self.min_confidence = min_confidence
        self.prompt = load_prompt("classify")
        # the taxonomy as context: each category's description, typical items and keywords, and a few of its
        # catalog items' names
        self._categories = json.dumps(
            [
                {
                    "code": c.code,
                    "name": c.name,
                    "description": c.description,
                    "typical_items": list(c.typical_items),
                    "keywords": list(c.keywords),
                    "catalog_examples": [i.name for i in directory.items if i.category == c.code][:MAX_EXAMPLES],
                }
                for c in directory.categories
            ]
        )

    def suggest(self, text: str, allowed: tuple[str, ...] | None = None) -> Suggestion:
        """The LLM's suggestion for `text` (limited to `allowed` codes, e.g. what the supplier sells),
        or the deterministic one, with why."""
        codes = set(allowed or self.directory.category_by_code)
        result = self.llm.structured(
            self.prompt,
            CategoryAnswer,
            task="classify",
            categories=self._categories,
            item=json.dumps(text[:MAX_ITEM_TEXT]),
        )
        meta = {"prompt_version": result.prompt_version, "model": result.model}
        answer = result.parsed
        if not result.ok or answer is None:
            return self._fallback(text, codes, result.outcome, **meta)
        code = answer.category.strip().lower()
        confidence = min(max(float(answer.confidence), 0.0), 1.0)
        if code == "unknown":
            return self._fallback(text, codes, "unknown", llm_category=code, **meta)
        if code not in codes:  # a made-up category, or one this supplier does not sell: never used
            return self._fallback(text, codes, "not_in_list", llm_category=code[:40], **meta)
        guess = Classification(code, confidence, "llm", None, answer.reason[:120])
        if confidence < self.min_confidence:
            return Suggestion(guess, "low_confidence", llm_category=code, **meta)
        return Suggestion(guess, "ok", llm_category=code, **meta)

    def _fallback(
        self, text: str, codes: set[str], outcome: str, llm_category: str | None = None, **meta: str
    ) -> Suggestion:
        guess = self.fallback.classify(text)
        if guess is not None and guess.category not in codes:
            guess = None
        return Suggestion(guess, outcome, llm_category=llm_category, **meta)

    def classify(self, text: str) -> Classification | None:
        """The Classifier protocol: the suggestion's category, or None when it should be asked."""
        suggestion = self.suggest(text)
        return suggestion.classification


class LlmSummarizer:
    """A short exception note from our facts; the deterministic one whenever the LLM's does not check out."""

    def __init__(self, llm: LlmClient) -> None:
        self.llm = llm
        self.prompt = load_prompt("exception_summary")

    def summarize(self, facts: SummaryFacts) -> tuple[str, str, str, str, str] | None:
        """(text, source, outcome, prompt_version, model), or None when nothing is unusual."""
        fallback = deterministic_summary(facts)
        if fallback is None:
            return None
        result = self.llm.structured(
            self.prompt,
            SummaryAnswer,
            task="exception_summary",
            facts=json.dumps(facts.to_prompt(), ensure_ascii=False),
        )
        if not result.ok or result.parsed is None:
            return fallback, "deterministic", result.outcome, result.prompt_version, result.model
        text = " ".join(result.parsed.summary.split())
        problem = check_summary(text, facts)
        if problem is not None:
            return fallback, "deterministic", f"dropped: {problem}"[:80], result.prompt_version, result.model
        return text, "llm", "ok", result.prompt_version, result.model
