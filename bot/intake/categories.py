"""Category suggestions inside the draft dialogue: asked for without waiting, taken when they have arrived,
and recorded beside the category the requester confirmed once the requisition is submitted.

The suggester (bot/intake/suggest.py) is optional; without it the catalog, the supplier and the keywords
the reader found are all there is, and nothing here changes a draft.
"""

from __future__ import annotations

import logging
from typing import Any

from approvals.classify import Classifier
from approvals.directory import Directory
from approvals.suggestions import CategorySuggestion, record_suggestions
from approvals.views import RequisitionView
from approvals.workflow import ApprovalService
from bot.intake.draft import DraftLine, DraftState, supplier_main_category
from bot.intake.suggest import CategorySuggester

log = logging.getLogger("procurebot.intake")


class CategoryHints:
    def __init__(
        self,
        service: ApprovalService,
        directory: Directory,
        classifier: Classifier,
        suggester: CategorySuggester | None,
    ) -> None:
        self.service = service
        self.directory = directory
        self.classifier = classifier  # the classifier the reader used (learned or keywords), for the record
        self.suggester = suggester

    def ask(self, draft: DraftState) -> None:
        """Start an LLM suggestion for each line the catalog and the supplier could not place. Never waits.
        Without a suggester, the supplier's main category stands in, marked for the requester to change."""
        if self.suggester is None:
            supplier_main_category(draft, self.directory)
            return
        for line in draft.lines:
            if line.description and line.suggestion is None and line.category_source in (None, "keyword", "model"):
                self.suggester.start(line.description)

    def take(self, draft: DraftState) -> bool:
        """Use the suggestions that have arrived. True when the category shown changed or needs confirming."""
        if self.suggester is None:
            return False
        changed = False
        supplier = self.directory.supplier_by_id.get(draft.supplier or "")
        if supplier is not None and supplier.categories:
            for line in draft.lines:  # a suggestion taken before the supplier was known must still fit it
                if line.category_source == "llm" and line.category not in supplier.categories:
                    one = supplier.categories[0] if len(supplier.categories) == 1 else None
                    line.category, line.category_source = one, ("supplier" if one else None)
                    changed = True
        for line in draft.lines:
            if (
                line.suggestion is not None
                or not line.description
                or line.category_source not in (None, "keyword", "model")
            ):
                continue
            found = self.suggester.ready(line.description)
            if found is None:
                continue  # still on its way: the deterministic answer stands for now
            guess = found.classification
            line.suggestion = {
                "category": guess.category if guess else None,
                "confidence": guess.confidence if guess else 0.0,
                "source": guess.source if guess else "none",
                "outcome": found.outcome,
                "prompt_version": found.prompt_version,
                "model": found.model,
            }
            if guess is None or guess.source != "llm":
                continue  # the LLM gave nothing usable: what the keywords said (or the usual question) stands
            if supplier is not None and supplier.categories and guess.category not in supplier.categories:
                continue  # this supplier does not sell that category: not a suggestion worth showing
            if found.outcome == "ok":
                changed = changed or line.category != guess.category
                line.category, line.category_source = guess.category, "llm"
            else:  # low confidence: the requester picks, the suggestion first
                draft.confirm_category, draft.category = guess.category, None
                changed = True
        return changed

    def record(self, draft: DraftState, view: RequisitionView) -> None:
        """Keep each suggestion beside the category the requester confirmed (the one routing used), with the
        version of the model that made it; a line the requester was asked about is kept too, with no suggestion.
        These rows are what the category model learns from."""
        rows, now = [], self.service.clock()
        version = getattr(self.classifier, "version", "")
        for line, saved in zip(draft.lines, view.lines):
            hint = line.suggestion if line.suggestion is not None else self._own_hint(line)
            if not hint or (not hint.get("category") and hint.get("source") != "none"):
                continue
            rows.append(
                CategorySuggestion(
                    requisition_number=view.number,
                    line_no=saved.line_no,
                    description=line.description[:300],
                    suggested=hint["category"],
                    confidence=float(hint.get("confidence") or 0.0),
                    source=hint.get("source") or "llm",
                    prompt_version=hint.get("prompt_version") or "",
                    model=(hint.get("model") or "")[:80],
                    model_version=str(version)[:40],
                    confirmed=saved.category,
                    accepted=hint["category"] == saved.category,
                    created_at=now,
                )
            )
        try:
            record_suggestions(self.service.engine, rows)
        except Exception:  # noqa: BLE001 - the requisition is submitted; losing the record must not say otherwise
            log.exception("recording category suggestions for %s failed", view.number)
            return
        learned = getattr(self.classifier, "confirmed", None)
        if rows and callable(learned):
            learned()  # the model retrains in the background with these confirmations

    def _own_hint(self, line: DraftLine) -> dict[str, Any] | None:
        """What the classifier suggests for a line the catalog and the supplier did not place; a line the requester
        had to pick for (the classifier abstained) is kept with no suggestion, as a confirmation all the same."""
        if line.category_source not in ("keyword", "model", "said", "supplier_main", None) or not line.description:
            return None
        guess = self.classifier.classify(line.description)
        if guess is not None and guess.source != "catalog":
            return {"category": guess.category, "confidence": guess.confidence, "source": guess.source}
        if line.category_source in ("said", "supplier_main", None):
            return {"category": "", "confidence": 0.0, "source": "none"}
        return None
