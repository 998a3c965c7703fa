"""The category classifier the product uses, and how it learns from the company.

Order of evidence for a line of free text (`LearnedClassifier.verdict`):
1. the catalog item, only on a strong match (the text's head noun is one of the item's own words);
2. (the supplier, when it sells one category: the intake knows the supplier and applies it before asking here);
3. the learned model (approvals/category_model.py), among the supplier's categories when it sells several;
4. nothing, when the top candidates are close: the requester is asked, with those two or three as buttons.

`CategoryLearner` trains the model at start-up from the seed corpus, the taxonomy and every category confirmed at
submit (table `category_suggestion`), and again when new confirmations arrive. A missing or unreadable seed file,
or a failed training, falls back to the catalog-and-keyword classifier with one log line, never an error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from approvals.category_model import CategoryModel, Example, UnknownCategory, read_examples, taxonomy_examples, train
from approvals.classify import CatalogClassifier, Classification
from approvals.directory import Directory
from approvals.suggestions import CategorySuggestion

log = logging.getLogger("procurebot.classify")

# The model answers when its first choice leads the second by at least this much probability; closer than that,
# the requester picks between them. Tuned on bench/classify/tune.jsonl (bench/classify_learning.py).
CLOSE_MARGIN = 0.05
# A third candidate is offered only when it is within this share of the first.
THIRD_SHARE = 0.5
# How often a replica looks for confirmations made on other replicas (a monotonic interval, not business time).
RECHECK_SECONDS = 600.0
# A server trains its first model in the background, so it answers health checks at once; a classification asked
# before that model is ready waits for it this long (measured: about 3 s of CPU, a third of it importing the
# library), then the keywords answer.
FIRST_TRAINING_WAIT = 30.0


@dataclass(frozen=True)
class Verdict:
    """What the classifier says about one item text: a category, or the candidates to ask between."""

    classification: Classification | None
    candidates: tuple[str, ...] = ()
    version: str = ""


@dataclass
class _State:
    model: CategoryModel | None = None
    confirmations: tuple[int, int] = (0, 0)  # (count, highest id) of the confirmations trained on
    seed: list[Example] = field(default_factory=list)


def confirmed_examples(engine: Any, valid: Iterable[str]) -> tuple[list[Example], tuple[int, int]]:
    """Every category a requester confirmed (or a buyer corrected) at submit, as training examples; categories the
    company no longer has are left out. Also (count, highest id), to tell when there are new ones."""
    known = set(valid)
    with Session(engine) as session:
        rows = session.exec(
            select(
                CategorySuggestion.requisition_number,
                CategorySuggestion.line_no,
                CategorySuggestion.description,
                CategorySuggestion.confirmed,
            ).order_by(col(CategorySuggestion.id))
        ).all()
        marker = session.exec(select(func.count(), func.max(CategorySuggestion.id))).one()
    # a buyer's later correction of a line replaces what was confirmed for it at submit
    latest = {(number, line_no): (text, category) for number, line_no, text, category in rows}
    examples = [
        Example(text, category, "confirmed") for text, category in latest.values() if category in known and text
    ]
    return examples, (int(marker[0] or 0), int(marker[1] or 0))


def confirmation_marker(engine: Any) -> tuple[int, int]:
    with Session(engine) as session:
        marker = session.exec(select(func.count(), func.max(CategorySuggestion.id))).one()
    return int(marker[0] or 0), int(marker[1] or 0)


class LearnedClassifier:
    """The `Classifier` the product uses: strong catalog match, then the learned model, else ask."""

    def __init__(self, directory: Directory, model: CategoryModel | None = None, *, learner: Any = None) -> None:
        self.directory = directory
        self.catalog = CatalogClassifier(directory)
        self._model = model
        self._learner = learner

    @property
    def model(self) -> CategoryModel | None:
        return self._learner.model if self._learner is not None else self._model

    @property
    def version(self) -> str:
        """The model version suggestions are stored with; "keywords" when the model is not available."""
        model = self.model
        return model.version if model is not None else "keywords"

    def classify(self, text: str) -> Classification | None:
        return self.verdict(text).classification

    def confirmed(self) -> None:
        """New confirmations were recorded: the learner (if any) retrains in the background."""
        if self._learner is not None:
            self._learner.confirmed()

    def verdict(self, text: str, allowed: Sequence[str] | None = None) -> Verdict:
        """The category for `text` (only among `allowed`, a supplier's categories, when given), or the candidates
        to ask between when the model's first choices are close."""
        if self._learner is not None:
            self._learner.recheck()
        item = self.catalog.strong_item(text)
        if item is not None and (not allowed or item.category in allowed):
            found = Classification(item.category, 0.95, "catalog", item.sku, f"catalog item {item.name}")
            return Verdict(found, (item.category,), self.version)
        model = self.model
        if model is None:
            guess = self.catalog.classify(text)  # keywords: the fallback when there is no model
            if guess is not None and allowed and guess.category not in allowed:
                guess = None
            return Verdict(guess, (), "keywords")
        ranked = model.rank(text, allowed)
        if not ranked:
            return Verdict(None, (), model.version)
        first = ranked[0]
        second = ranked[1] if len(ranked) > 1 else (None, 0.0)
        if first[1] - second[1] >= CLOSE_MARGIN:
            name = self.directory.category_by_code[first[0]].name if first[0] in self.directory.category_by_code else ""
            found = Classification(first[0], round(first[1], 4), "model", None, f"the item text reads like {name}")
            return Verdict(found, tuple(c for c, _ in ranked[:3]), model.version)
        candidates = [c for c, _ in ranked[:2]]
        if len(ranked) > 2 and ranked[2][1] >= THIRD_SHARE * first[1]:
            candidates.append(ranked[2][0])
        return Verdict(None, tuple(candidates), model.version)


class CategoryLearner:
    """Holds the current model and retrains it, off the caller's path, when new confirmations arrive."""

    def __init__(self, directory: Directory, seed_file: str | Path | None, engine: Any = None) -> None:
        self.directory = directory
        self.seed_file = Path(seed_file) if seed_file else None
        self.engine = engine
        self.valid = [c.code for c in directory.categories]
        self._state = _State()
        self._lock = threading.Lock()
        self._training = threading.Lock()
        self._again = False
        self._checked = time.monotonic()
        self.classifier = LearnedClassifier(directory, learner=self)
        self.last_training_seconds: float | None = None
        self._ready = threading.Event()
        self._ready.set()  # nothing to wait for until a background start is asked

    @property
    def model(self) -> CategoryModel | None:
        if not self._ready.is_set():
            self._ready.wait(FIRST_TRAINING_WAIT)
        return self._state.model

    def start_in_background(self) -> None:
        """`start` on a thread of its own (a server's start-up); the first classification waits for it."""
        self._ready.clear()

        def first() -> None:
            try:
                self.start()
            finally:
                self._ready.set()

        threading.Thread(target=first, name="category-model-start", daemon=True).start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def start(self) -> CategoryModel | None:
        """Read the seed corpus and train (at start-up). Never raises: without a model, keywords answer."""
        seed = self._read_seed()
        if seed is None:
            return None
        self._state.seed = seed
        return self.refresh(force=True)

    def _read_seed(self) -> list[Example] | None:
        if self.seed_file is None:
            log.warning("category model: no seed file configured; suggesting categories from keywords")
            return None
        try:
            examples, problems = read_examples(self.seed_file, self.valid)
        except (OSError, UnicodeDecodeError) as exc:
            log.warning(
                "category model: seed file %s unreadable (%s); suggesting categories from keywords",
                self.seed_file,
                type(exc).__name__,
            )
            return None
        if not examples:
            log.warning(
                "category model: seed file %s has no usable example (%d refused); suggesting categories from keywords",
                self.seed_file,
                len(problems),
            )
            return None
        if problems:
            log.warning(
                "category model: %d seed line(s) refused, first: %s (valid categories: %s)",
                len(problems),
                problems[0],
                ", ".join(self.valid),
            )
        return examples

    def add_examples(self, examples: Iterable[Example]) -> None:
        """Add labelled examples to the seed (a buyer's corrections, an import): each must name a category the
        company has, or UnknownCategory says which ones are valid and nothing is added."""
        checked = list(examples)
        for ex in checked:
            if ex.category not in self.valid:
                raise UnknownCategory(ex.category, self.valid, f"example {ex.text[:60]!r}")
        with self._lock:
            self._state.seed = [*self._state.seed, *checked]

    def refresh(self, *, force: bool = False) -> CategoryModel | None:
        """Retrain if there are confirmations the model has not seen (or when forced). Returns the current model."""
        if not self._state.seed:
            return self._state.model
        with self._training:
            confirmed: list[Example] = []
            marker = self._state.confirmations
            if self.engine is not None:
                try:
                    if not force and confirmation_marker(self.engine) == marker:
                        return self._state.model
                    confirmed, marker = confirmed_examples(self.engine, self.valid)
                except Exception as exc:  # noqa: BLE001 - a missing table or a lost connection costs freshness only
                    log.warning("category model: confirmations not read (%s); training without them", exc)
            examples = [*self._state.seed, *taxonomy_examples(self.directory), *confirmed]
            started = time.perf_counter()
            try:
                model = train(examples, self.valid)
            except Exception as exc:  # noqa: BLE001 - a failed training must never cost a chat reply
                log.warning("category model: training failed (%s); keeping the previous model or keywords", exc)
                return self._state.model
            self.last_training_seconds = time.perf_counter() - started
            with self._lock:
                self._state.model, self._state.confirmations = model, marker
            log.info(
                "category model %s trained on %d examples (%d confirmed) in %.2f s",
                model.version,
                len(examples),
                len(confirmed),
                self.last_training_seconds,
            )
            return model

    def confirmed(self) -> None:
        """New confirmations were recorded: retrain in the background (once more if one is already running)."""
        if not self._state.seed:
            return
        with self._lock:
            if self._training.locked():
                self._again = True
                return
        threading.Thread(target=self._background, name="category-model", daemon=True).start()

    def _background(self) -> None:
        while True:
            self.refresh()
            with self._lock:
                if not self._again:
                    return
                self._again = False

    def recheck(self) -> None:
        """Now and then, look for confirmations made by other processes (in the background)."""
        if self.engine is None or time.monotonic() - self._checked < RECHECK_SECONDS:
            return
        self._checked = time.monotonic()
        self.confirmed()
