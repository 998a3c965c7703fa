"""`procurebot llm eval`: how well each classifier files a labelled set of item texts, per category.

The deterministic classifier (catalog, then category keywords) always runs. When a model is
configured (PROCUREBOT_LLM_MODEL, OPENAI_API_KEY / OPENAI_BASE_URL) the LLM runs too, side by side,
with "LLM+fallback" being what intake actually does (a catalog item keeps its category; otherwise the
LLM's answer when it is valid, confident and in the list; a low-confidence one is asked; anything
else falls back to the deterministic one). "no answer" counts as wrong: the person is asked.
"""

from __future__ import annotations

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


@dataclass
class Scores:
    total: int = 0
    right: dict[str, int] = field(default_factory=dict)  # classifier -> correct answers
    silent: dict[str, int] = field(default_factory=dict)  # classifier -> no answer

    def add(self, name: str, answer: str | None, label: str) -> None:
        self.right[name] = self.right.get(name, 0) + (answer == label)
        self.silent[name] = self.silent.get(name, 0) + (answer is None)

    def pct(self, name: str) -> str:
        return f"{100 * self.right.get(name, 0) / self.total:5.1f}%" if self.total else "    -"


@dataclass
class Report:
    columns: list[str]
    per_category: dict[str, Scores]
    overall: Scores
    outcomes: dict[str, int]
    latencies_ms: list[float]
    misses: list[tuple[str, str, dict[str, str | None]]]

    def lines(self) -> list[str]:
        head = f"{'category':<12} {'n':>3}  " + "  ".join(f"{c:>14}" for c in self.columns)
        out = [head, "-" * len(head)]
        for code in sorted(self.per_category):
            s = self.per_category[code]
            out.append(f"{code:<12} {s.total:>3}  " + "  ".join(f"{s.pct(c):>14}" for c in self.columns))
        out.append("-" * len(head))
        o = self.overall
        out.append(f"{'all':<12} {o.total:>3}  " + "  ".join(f"{o.pct(c):>14}" for c in self.columns))
        out.append(f"{'no answer':<12} {'':>3}  " + "  ".join(f"{o.silent.get(c, 0):>14}" for c in self.columns))
        if self.outcomes:
            out.append("LLM outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())))
        if self.latencies_ms:
            out.append(
                f"LLM latency: median {statistics.median(self.latencies_ms):.0f} ms, "
                f"max {max(self.latencies_ms):.0f} ms over {len(self.latencies_ms)} calls"
            )
        return out


def evaluate(
    cases: list[dict[str, str]], directory: object, llm_classifier: object | None = None, workers: int = 4
) -> Report:
    """Run the deterministic classifier (and the LLM's, if given) on every labelled case."""
    from approvals.classify import CatalogClassifier

    deterministic = CatalogClassifier(directory)  # type: ignore[arg-type]
    columns = ["deterministic"] + (["LLM", "LLM+fallback"] if llm_classifier is not None else [])
    per: dict[str, Scores] = {}
    overall = Scores()
    outcomes: dict[str, int] = {}
    latencies: list[float] = []
    misses: list[tuple[str, str, dict[str, str | None]]] = []

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
        if llm is not None:
            suggestion, ms = llm
            latencies.append(ms)
            outcome = suggestion.outcome  # type: ignore[attr-defined]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            own = suggestion.llm_category if outcome in ("ok", "low_confidence") else None  # type: ignore[attr-defined]
            answers["LLM"] = own
            # as intake does it: a catalog item keeps its category; a confident LLM answer is used; a
            # low-confidence one is a question for the person (no answer here); anything else falls back
            if guess is not None and guess.source == "catalog":
                answers["LLM+fallback"] = guess.category
            elif outcome == "ok":
                answers["LLM+fallback"] = own
            elif outcome == "low_confidence":
                answers["LLM+fallback"] = None
            else:
                answers["LLM+fallback"] = answers["deterministic"]
        scores = per.setdefault(label, Scores())
        for target in (scores, overall):
            target.total += 1
            for name in columns:
                target.add(name, answers[name], label)
        if any(answers[c] != label for c in columns):
            misses.append((case["text"], label, answers))
    return Report(columns, per, overall, outcomes, latencies, misses)


@app.command("eval")
def eval_command(
    data: Path = typer.Option(DEFAULT_SET, help="Labelled item texts (YAML list of text/category)"),
    directory_file: Path = typer.Option(
        EXAMPLES / "company.yaml", "--directory", help="The company directory whose categories are the labels"
    ),
    show_misses: bool = typer.Option(False, "--misses", help="List every text some classifier got wrong"),
) -> None:
    """Accuracy per category: the deterministic classifier, and the LLM side by side when a model is configured."""
    from approvals.directory import load_directory
    from bot.settings import get_settings
    from connectors.llm import make_client
    from connectors.llm_tasks import LlmClassifier

    cases = yaml.safe_load(data.read_text(encoding="utf-8"))
    if not isinstance(cases, list) or not all(isinstance(c, dict) and {"text", "category"} <= set(c) for c in cases):
        raise typer.BadParameter(f"{data}: expected a list of {{text: ..., category: ...}}")
    directory = load_directory(directory_file)
    unknown = sorted({c["category"] for c in cases} - set(directory.category_by_code))
    if unknown:
        raise typer.BadParameter(f"{data}: categories not in the directory: {', '.join(unknown)}")
    settings = get_settings().llm
    client = make_client(settings)
    llm = LlmClassifier(client, directory, min_confidence=settings.min_confidence) if client else None
    typer.echo(f"{len(cases)} labelled texts from {data}")
    typer.echo(
        f"LLM: {settings.model} at {settings.base_url or 'the OpenAI API'} (prompt {llm.prompt.version})"
        if llm
        else "LLM: not configured (set PROCUREBOT_LLM_MODEL and OPENAI_API_KEY or OPENAI_BASE_URL "
        "to compare); deterministic only"
    )
    try:
        report = evaluate(cases, directory, llm)
    finally:
        if client is not None:
            client.close()
    for line in report.lines():
        typer.echo(line)
    if show_misses:
        typer.echo("misses:")
        for text, label, answers in report.misses:
            typer.echo(f"  {text!r} is {label}: " + ", ".join(f"{k} {v or '-'}" for k, v in answers.items()))
