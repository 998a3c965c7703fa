"""`procurebot llm eval`: how well each classifier files a labelled set of item texts, per category.

The deterministic classifier (catalog, then category keywords) and the learned one the product uses (a strong
catalog match, then the model trained on the seed corpus and the taxonomy, asking when its first choices are
close) always run. When a model is configured (PROCUREBOT_LLM_MODEL, OPENAI_API_KEY / OPENAI_BASE_URL) the LLM
runs too, side by side, with "LLM+fallback" being what intake actually does (a catalog item keeps its category;
otherwise the LLM's answer when it is valid, confident and in the list; a low-confidence one is asked; anything
else falls back to the learned one). "no answer" counts as wrong: the person is asked. `--json` prints the
figures of the product's default path (learned) as one object.
"""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import typer
import yaml

from bot.settings import EXAMPLES, REPO_ROOT

app = typer.Typer(help="The optional LLM helper: evaluation.", no_args_is_help=True)
DEFAULT_SET = REPO_ROOT / "tests" / "data" / "classify_labelled.yaml"
SEED_FILE = EXAMPLES / "category-seed.jsonl"


@dataclass
class Scores:
    total: int = 0
    right: dict[str, int] = field(default_factory=dict)  # classifier -> correct answers
    silent: dict[str, int] = field(default_factory=dict)  # classifier -> no answer

    def add(self, name: str, answer: str | None, label: str) -> None:
        self.right[name] = self.right.get(name, 0) + (answer == label)
        self.silent[name] = self.silent.get(name, 0) + (answer is None)

    def accuracy(self, name: str) -> float:
        return self.right.get(name, 0) / self.total if self.total else 0.0

    def abstention(self, name: str) -> float:
        return self.silent.get(name, 0) / self.total if self.total else 0.0

    def pct(self, name: str) -> str:
        return f"{100 * self.accuracy(name):5.1f}%" if self.total else "    -"


@dataclass
class Report:
    columns: list[str]
    per_category: dict[str, Scores]
    overall: Scores
    outcomes: dict[str, int]
    latencies_ms: list[float]
    misses: list[tuple[str, str, dict[str, str | None]]]
    # classifier -> (label, answer) -> count, answers that were wrong (None: no answer)
    confusion: dict[str, dict[tuple[str, str | None], int]] = field(default_factory=dict)
    model_version: str = ""

    def lines(self) -> list[str]:
        width = max([12, *(len(c) for c in self.per_category)])
        head = f"{'category':<{width}} {'n':>3}  " + "  ".join(f"{c:>14}" for c in self.columns)
        out = [head, "-" * len(head)]
        for code in sorted(self.per_category):
            s = self.per_category[code]
            out.append(f"{code:<{width}} {s.total:>3}  " + "  ".join(f"{s.pct(c):>14}" for c in self.columns))
        out.append("-" * len(head))
        o = self.overall
        out.append(f"{'all':<{width}} {o.total:>3}  " + "  ".join(f"{o.pct(c):>14}" for c in self.columns))
        out.append(f"{'no answer':<{width}} {'':>3}  " + "  ".join(f"{o.silent.get(c, 0):>14}" for c in self.columns))
        out.append(
            f"{'abstention':<{width}} {'':>3}  " + "  ".join(f"{100 * o.abstention(c):>13.1f}%" for c in self.columns)
        )
        if self.model_version:
            out.append(f"learned model: {self.model_version}")
        for name in self.columns:
            pairs = sorted(self.confusion.get(name, {}).items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1] or ""))
            if pairs:
                shown = ", ".join(f"{label}->{answer or 'asked'} {n}" for (label, answer), n in pairs[:8])
                more = f" (+{len(pairs) - 8} more)" if len(pairs) > 8 else ""
                out.append(f"confusion, {name}: {shown}{more}")
        if self.outcomes:
            out.append("LLM outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())))
        if self.latencies_ms:
            out.append(
                f"LLM latency: median {statistics.median(self.latencies_ms):.0f} ms, "
                f"max {max(self.latencies_ms):.0f} ms over {len(self.latencies_ms)} calls"
            )
        return out

    def summary(self, path: str) -> dict[str, object]:
        """One object for scripts: the figures of `path` (the product's default), and every path's beside them."""
        o = self.overall
        return {
            "path": path,
            "n": o.total,
            "accuracy": round(o.accuracy(path), 4),
            "abstention": round(o.abstention(path), 4),
            "model_version": self.model_version,
            "per_category": {
                code: {"n": s.total, "accuracy": round(s.accuracy(path), 4), "abstention": round(s.abstention(path), 4)}
                for code, s in sorted(self.per_category.items())
            },
            "paths": {
                c: {"accuracy": round(o.accuracy(c), 4), "abstention": round(o.abstention(c), 4)} for c in self.columns
            },
        }


def evaluate(
    cases: list[dict[str, str]],
    directory: object,
    llm_classifier: object | None = None,
    workers: int = 4,
    learned: object | None = None,
) -> Report:
    """Run the deterministic classifier, the learned one (if given) and the LLM's (if given) on every case."""
    from approvals.classify import CatalogClassifier

    deterministic = CatalogClassifier(directory)  # type: ignore[arg-type]
    columns = ["deterministic"] + (["learned"] if learned is not None else [])
    columns += ["LLM", "LLM+fallback"] if llm_classifier is not None else []
    per: dict[str, Scores] = {}
    overall = Scores()
    outcomes: dict[str, int] = {}
    latencies: list[float] = []
    misses: list[tuple[str, str, dict[str, str | None]]] = []
    confusion: dict[str, dict[tuple[str, str | None], int]] = {}

    def ask(text: str) -> tuple[object, float]:
        started = time.perf_counter()
        suggestion = llm_classifier.suggest(text)  # type: ignore[union-attr]
        return suggestion, (time.perf_counter() - started) * 1000

    llm_answers: list[tuple[object, float] | None] = [None] * len(cases)
    if llm_classifier is not None:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            llm_answers = list(pool.map(ask, [c["text"] for c in cases]))
    for case, llm in zip(cases, llm_answers):
        label = case["category"]
        guess = deterministic.classify(case["text"])
        answers: dict[str, str | None] = {"deterministic": guess.category if guess else None}
        base = guess  # what intake falls back to: the learned classifier when there is one
        if learned is not None:
            base = learned.classify(case["text"])  # type: ignore[attr-defined]
            answers["learned"] = base.category if base else None
        if llm is not None:
            suggestion, ms = llm
            latencies.append(ms)
            outcome = suggestion.outcome  # type: ignore[attr-defined]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            own = suggestion.llm_category if outcome in ("ok", "low_confidence") else None  # type: ignore[attr-defined]
            answers["LLM"] = own
            # as intake does it: a catalog item keeps its category; a confident LLM answer is used; a
            # low-confidence one is a question for the person (no answer here); anything else falls back
            if base is not None and base.source == "catalog":
                answers["LLM+fallback"] = base.category
            elif outcome == "ok":
                answers["LLM+fallback"] = own
            elif outcome == "low_confidence":
                answers["LLM+fallback"] = None
            else:
                answers["LLM+fallback"] = base.category if base else None
        scores = per.setdefault(label, Scores())
        for target in (scores, overall):
            target.total += 1
            for name in columns:
                target.add(name, answers[name], label)
        for name in columns:
            if answers[name] != label:
                cell = confusion.setdefault(name, {})
                cell[(label, answers[name])] = cell.get((label, answers[name]), 0) + 1
        if any(answers[c] != label for c in columns):
            misses.append((case["text"], label, answers))
    version = str(getattr(learned, "version", "")) if learned is not None else ""
    return Report(columns, per, overall, outcomes, latencies, misses, confusion, version)


def read_cases(data: Path) -> list[dict[str, str]]:
    """Labelled texts from a YAML list or JSONL lines, each {text, category}; BadParameter names the bad line."""
    raw = data.read_text(encoding="utf-8")
    if data.suffix == ".jsonl" or raw.lstrip().startswith("{"):
        cases: list[dict[str, str]] = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise typer.BadParameter(f"{data}:{number}: not a JSON object") from None
            if not isinstance(row, dict) or not {"text", "category"} <= set(row):
                raise typer.BadParameter(f'{data}:{number}: expected {{"text": ..., "category": ...}}')
            cases.append({"text": str(row["text"]), "category": str(row["category"])})
        return cases
    loaded = yaml.safe_load(raw)
    if not isinstance(loaded, list) or not all(isinstance(c, dict) and {"text", "category"} <= set(c) for c in loaded):
        raise typer.BadParameter(f"{data}: expected a list of {{text: ..., category: ...}}")
    return loaded


def learned_classifier(directory: object, seed: Path, confirmed: list[object] | None = None) -> object:
    """The classifier the product uses, trained as at start-up on the seed and the taxonomy, plus `confirmed`
    examples as if requesters had confirmed them (none by default)."""
    from approvals.category_learning import CategoryLearner

    learner = CategoryLearner(directory, seed)  # type: ignore[arg-type]
    if learner.start() is not None and confirmed:
        learner.add_examples(confirmed)  # type: ignore[arg-type]
        learner.refresh(force=True)
    return learner.classifier


def confirmations_from(path: Path, directory: object, limit: int | None) -> list[object]:
    """Labelled lines of a JSONL file taken as confirmed categories (the first `limit`); a line whose category
    the company lacks is refused with the valid ones."""
    from approvals.category_model import Example, read_examples

    valid = list(directory.category_by_code)  # type: ignore[attr-defined]
    try:
        examples, problems = read_examples(path, valid)
    except OSError as exc:
        raise typer.BadParameter(f"{path}: {exc.strerror or exc}") from None
    if problems:
        raise typer.BadParameter("; ".join(problems[:3]))
    chosen = examples if limit is None else examples[:limit]
    return [Example(ex.text, ex.category, "confirmed") for ex in chosen]


@app.command("eval")
def eval_command(
    data: Path = typer.Option(
        DEFAULT_SET, help="Labelled item texts: a YAML list of text/category, or JSONL lines {text, category}"
    ),
    directory_file: Path = typer.Option(
        EXAMPLES / "company.yaml", "--directory", help="The company directory whose categories are the labels"
    ),
    seed: Path = typer.Option(SEED_FILE, help="The seed corpus the learned classifier trains on (JSONL)"),
    confirmations: Path | None = typer.Option(
        None, help="JSONL {text, category} lines the learned classifier also trains on, as confirmed categories"
    ),
    confirmations_limit: int | None = typer.Option(
        None, "--confirmations-limit", min=0, help="Only the first N lines of --confirmations"
    ),
    show_misses: bool = typer.Option(False, "--misses", help="List every text some classifier got wrong"),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object: n, accuracy, abstention of the default path (learned)"
    ),
) -> None:
    """Accuracy per category: the deterministic classifier, the learned one, and the LLM side by side when a model
    is configured."""
    from approvals.directory import load_directory
    from bot.settings import get_settings
    from connectors.llm import make_client
    from connectors.llm_tasks import LlmClassifier

    cases = read_cases(data)
    directory = load_directory(directory_file)
    unknown = sorted({c["category"] for c in cases} - set(directory.category_by_code))
    if unknown:
        raise typer.BadParameter(
            f"{data}: categories not in the directory: {', '.join(unknown)} "
            f"(valid: {', '.join(directory.category_by_code)})"
        )
    settings = get_settings().llm
    client = make_client(settings)
    confirmed = confirmations_from(confirmations, directory, confirmations_limit) if confirmations else None
    learned = learned_classifier(directory, seed, confirmed)
    llm = LlmClassifier(client, directory, min_confidence=settings.min_confidence) if client else None
    if not as_json:
        typer.echo(f"{len(cases)} labelled texts from {data}")
        typer.echo(
            f"LLM: {settings.model} at {settings.base_url or 'the OpenAI API'} (prompt {llm.prompt.version})"
            if llm
            else "LLM: not configured (set PROCUREBOT_LLM_MODEL and OPENAI_API_KEY or OPENAI_BASE_URL "
            "to compare); deterministic and learned only"
        )
    try:
        report = evaluate(cases, directory, llm, learned=learned)
    finally:
        if client is not None:
            client.close()
    if as_json:
        typer.echo(json.dumps(report.summary("learned")))
        return
    for line in report.lines():
        typer.echo(line)
    if show_misses:
        typer.echo("misses:")
        for text, label, answers in report.misses:
            typer.echo(f"  {text!r} is {label}: " + ", ".join(f"{k} {v or '-'}" for k, v in answers.items()))
