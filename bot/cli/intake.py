"""`procurebot intake eval`: how well the conversation reads a corpus of messages (docs/intake-eval.md).

Exit codes: 0 figures printed, 2 the corpus, directory or --now cannot be used (one line on stderr).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import typer
import yaml

from approvals.directory import load_directory
from approvals.errors import DirectoryInvalid, PolicyInvalid
from approvals.policy import load_policy
from bot.intake.evaluate import DEFAULT_NOW, CorpusError, Evaluator, aggregate, miss_list, read_corpus

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXIT_BAD_INPUT = 2

# --- messages: every user-facing string of this command group --------------------------------
HELP_APP = "The intake conversation: measure how it reads messages."
HELP_EVAL = "Score a JSONL corpus of messages against the conversation every surface uses (docs/intake-eval.md)."
HELP_DATA = "The corpus: one JSON object per line, {text, requester, expect, intent, complete, missing}."
HELP_DIRECTORY = "Company directory YAML (default: the sample company)."
HELP_JSON = "Print one JSON object instead of the table."
HELP_MISSES = "Also list every message that lost a point: what was expected and what was read."
HELP_NOW = "Today, ISO 8601; without a zone it is read in each requester's time zone (default 2026-12-07T10:00)."
MSG_PREFIX = "procurebot intake eval: "
MSG_DIRECTORY = "cannot use directory {path}: {problem}; fix it or give another with --directory"
MSG_POLICY = "cannot use the sample policy {path}: {problem}"
MSG_NOW = "--now must be an ISO 8601 time such as 2026-12-07T10:00, not {value!r}"

app = typer.Typer(help=HELP_APP, no_args_is_help=True)


@app.callback()
def intake() -> None:
    """The intake conversation: measure how it reads messages."""


def _fail(message: str) -> typer.Exit:
    typer.echo(MSG_PREFIX + message, err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _pct(value: float | None) -> str:
    return "     -" if value is None else f"{100 * value:5.1f}%"


def table(figures: dict[str, Any], source: str) -> list[str]:
    """The figures as a short table for a terminal."""
    out = [
        f"{figures['messages']} messages from {source}",
        f"{'field accuracy':<22} {_pct(figures['field_accuracy'])}  "
        f"({figures['fields_right']}/{figures['fields_scored']} fields)",
    ]
    for name, f in figures["per_field"].items():
        out.append(f"  {name:<20} {_pct(f['accuracy'])}  ({f['right']}/{f['scored']})")
    zero, exact = figures["zero_question_rate"], figures["exact_missing_rate"]
    out += [
        f"{'zero-question rate':<22} {_pct(zero)}  (of {figures['complete_requests']} complete requests)",
        f"{'exact-missing rate':<22} {_pct(exact)}  (of {figures['incomplete_requests']} incomplete requests)",
        f"{'wrong amounts':<22} {figures['wrong_amounts']:>6}  (of {figures['totals_compared']} submitted totals "
        "compared)",
        f"{'not finished':<22} {figures['unfinished']:>6}  (could not be answered to Submit; not counted as wrong)",
    ]
    return out


@app.command("eval", help=HELP_EVAL)
def evaluate(
    data: Path = typer.Option(..., "--data", help=HELP_DATA),
    directory_file: Path = typer.Option(EXAMPLES / "company.yaml", "--directory", help=HELP_DIRECTORY),
    as_json: bool = typer.Option(False, "--json", help=HELP_JSON),
    misses: bool = typer.Option(False, "--misses", help=HELP_MISSES),
    now: Optional[str] = typer.Option(None, "--now", help=HELP_NOW),
) -> None:
    try:
        today = datetime.fromisoformat(now) if now else DEFAULT_NOW
    except ValueError:
        raise _fail(MSG_NOW.format(value=now)) from None
    try:
        directory = load_directory(directory_file)
    except (DirectoryInvalid, OSError, ValueError, yaml.YAMLError) as exc:
        raise _fail(MSG_DIRECTORY.format(path=directory_file, problem=_one_line(exc))) from None
    try:
        cases = read_corpus(data, directory)
    except CorpusError as exc:
        raise _fail(str(exc)) from None
    policy_file = EXAMPLES / "policy.yaml"
    try:
        policy = load_policy(policy_file)
    except (PolicyInvalid, OSError, ValueError) as exc:
        raise _fail(MSG_POLICY.format(path=policy_file, problem=_one_line(exc))) from None
    with Evaluator(directory, policy, now=today) as evaluator:
        outcomes = evaluator.run(cases)
    figures = aggregate(outcomes)
    if as_json:
        typer.echo(json.dumps({**figures, **({"misses": miss_list(outcomes)} if misses else {})}, indent=2))
        return
    for line in table(figures, str(data)):
        typer.echo(line)
    if misses:
        for miss in miss_list(outcomes):
            typer.echo(f"\nline {miss['line']}: {miss['text']}")
            for problem in miss["misses"]:
                typer.echo(f"  - {problem}")


def _one_line(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return " ".join(text.split())
