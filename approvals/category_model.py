"""The learned category classifier: labelled item texts in, a model that ranks the company's categories out.

Trained offline, in the process, from three sources: the seed corpus shipped for the default taxonomy
(examples/category-seed.jsonl), the taxonomy itself (each category's name, description, typical items and
keywords, and the catalog's items), and every category a requester confirmed or a buyer corrected. Nothing is
downloaded and nothing reads the clock. The same examples always give the same model and the same `version`
(a hash of the examples, the categories and the library's version), which is stored with every suggestion.

Why this model: TF-IDF over character n-grams (2-5, within words) reads typos, plurals and part numbers ("strech
wrap", "nitrile", "6205-2rs") that whole words miss; word uni- and bigrams add phrases ("oil change", "dock
door"). A multinomial logistic regression on top gives probabilities for all categories at once, trains on a few
hundred lines in a fraction of a second, and works from a single example of a newly added category, where a
calibrated SVM needs several per category for its cross-validation.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A confirmation is the company's own words for its own categories: it counts for more than a seed line.
CONFIRMED_WEIGHT = 3.0
TAXONOMY_WEIGHT = 0.5
_PARAMS = "tfidf(char_wb 2-5 min_df 2 + word 1-2, sublinear) + logreg(C=16, tol 1e-3) v1"
_CACHE_SIZE = 4


class UnknownCategory(ValueError):
    """A training example names a category the company does not have."""

    def __init__(self, category: str, valid: Iterable[str], where: str = "") -> None:
        self.category = category
        self.valid = sorted(valid)
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}unknown category {category!r}; valid categories: {', '.join(self.valid)}")


@dataclass(frozen=True)
class Example:
    """One labelled item text."""

    text: str
    category: str
    source: str = "seed"  # seed | taxonomy | confirmed

    @property
    def weight(self) -> float:
        return {"confirmed": CONFIRMED_WEIGHT, "taxonomy": TAXONOMY_WEIGHT}.get(self.source, 1.0)


def check_examples(examples: Iterable[Example], valid: Iterable[str]) -> list[Example]:
    """The examples, or UnknownCategory (with the list of valid codes) for the first whose category is unknown."""
    known = set(valid)
    out = list(examples)
    for ex in out:
        if ex.category not in known:
            raise UnknownCategory(ex.category, known, f"example {ex.text[:60]!r}")
    return out


def read_examples(path: str | Path, valid: Iterable[str]) -> tuple[list[Example], list[str]]:
    """Labelled lines of a JSONL file ({"text": ..., "category": ...}) and the problems of the lines refused
    (unreadable, or a category the company does not have, with the valid ones). OSError if the file is missing."""
    known = set(valid)
    examples: list[Example] = []
    problems: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except ValueError:
                problems.append(f"{where}: not a JSON object")
                continue
            if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row.get("text", "").strip():
                problems.append(f'{where}: expected {{"text": ..., "category": ...}}')
                continue
            category = row.get("category")
            if not isinstance(category, str) or category not in known:
                problems.append(str(UnknownCategory(str(category), known, where)))
                continue
            examples.append(Example(row["text"].strip(), category, str(row.get("source") or "seed")))
    return examples, problems


def taxonomy_examples(directory: Any) -> list[Example]:
    """What the directory itself says about each category: its name, description, typical items, keywords, and
    the catalog's items. Lets a renamed or newly added category be suggested before anyone has confirmed one."""
    out: list[Example] = []
    for c in directory.categories:
        for text in (c.name, c.description, *c.typical_items, *c.keywords):
            if text and text.strip():
                out.append(Example(text.strip(), c.code, "taxonomy"))
    for item in directory.items:
        for text in (item.name, *item.keywords):
            out.append(Example(text, item.category, "taxonomy"))
    return out


def library_version() -> str:
    import sklearn  # type: ignore[import-untyped]

    return str(sklearn.__version__)


def version_of(examples: Sequence[Example], categories: Sequence[str]) -> str:
    """The model's identity: the same examples, categories and library give the same version."""
    digest = hashlib.sha256()
    digest.update(f"{_PARAMS}|sklearn {library_version()}|{','.join(categories)}\n".encode())
    for ex in sorted(examples, key=lambda e: (e.category, e.text, e.source)):
        digest.update(f"{ex.category}\t{ex.source}\t{ex.text}\n".encode())
    return "m-" + digest.hexdigest()[:12]


class CategoryModel:
    """A trained model: ranks the categories for an item text, with probabilities that sum to 1."""

    def __init__(self, pipeline: Any, categories: Sequence[str], version: str, examples: int) -> None:
        self._pipeline = pipeline
        self.categories = tuple(categories)
        self.version = version
        self.examples = examples
        self._classes = [str(c) for c in pipeline.classes_]

    def rank(self, text: str, allowed: Iterable[str] | None = None) -> list[tuple[str, float]]:
        """Every category the model knows, most likely first; only `allowed` ones (renormalised) when given."""
        probabilities = self._pipeline.predict_proba([text])[0]
        pairs = [(c, float(p)) for c, p in zip(self._classes, probabilities)]
        if allowed is not None:
            keep = set(allowed)
            pairs = [(c, p) for c, p in pairs if c in keep]
            total = sum(p for _, p in pairs)
            if total > 0:
                pairs = [(c, p / total) for c, p in pairs]
        return sorted(pairs, key=lambda cp: (-cp[1], cp[0]))


_trained: OrderedDict[str, CategoryModel] = OrderedDict()
_lock = threading.Lock()


def train(examples: Sequence[Example], categories: Sequence[str]) -> CategoryModel:
    """Train on the examples (every category must be one of `categories`: UnknownCategory otherwise). The same
    examples give the same model; one trained earlier in this process is reused."""
    check_examples(examples, categories)
    if len({ex.category for ex in examples}) < 2:
        raise ValueError("a category model needs examples of at least two categories")
    version = version_of(examples, categories)
    with _lock:
        if version in _trained:
            _trained.move_to_end(version)
            return _trained[version]
    model = CategoryModel(_fit(examples), categories, version, len(examples))
    with _lock:
        _trained[version] = model
        while len(_trained) > _CACHE_SIZE:
            _trained.popitem(last=False)
    return model


_one_thread: Any = None


def _single_threaded() -> None:
    """Train and predict on one thread: BLAS's own threads, on small sparse problems and a shared machine, cost
    ten times the work they save (measured: 2.8 s of CPU for one fit instead of 0.25 s)."""
    global _one_thread
    if _one_thread is None:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        _one_thread = threadpool_limits(limits=1)


def _fit(examples: Sequence[Example]) -> Any:
    _single_threaded()
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.pipeline import FeatureUnion, Pipeline  # type: ignore[import-untyped]

    features = FeatureUnion(
        [
            # an n-gram seen once is noise more often than signal; dropping them halves the training time
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
            (
                "words",
                TfidfVectorizer(
                    analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=True, token_pattern=r"[a-z0-9]+"
                ),
            ),
        ]
    )
    model = LogisticRegression(C=16.0, tol=1e-3, max_iter=2000)  # C and tol chosen on bench/classify/tune.jsonl
    pipeline = Pipeline([("features", features), ("model", model)])
    texts = [ex.text for ex in examples]
    labels = [ex.category for ex in examples]
    weights = [ex.weight for ex in examples]
    pipeline.fit(texts, labels, model__sample_weight=weights)
    return pipeline
