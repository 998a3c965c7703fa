"""`procurebot llm eval`: accuracy per category on the labelled set, deterministic and LLM side by side."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.llm import DEFAULT_SET, evaluate
from connectors.llm import LlmClient, LlmSettings
from connectors.llm_tasks import LlmClassifier
from tests.fake_openai import FakeOpenAI

CLEAR = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "PROCUREBOT_LLM_MODEL": ""}


def test_the_labelled_set_covers_every_category(directory):
    """At least 60 labelled lines, every one of the policy's categories with at least 8."""
    cases = yaml.safe_load(DEFAULT_SET.read_text())
    assert len(cases) >= 60
    counts = {code: sum(1 for c in cases if c["category"] == code) for code in directory.category_by_code}
    assert min(counts.values()) >= 8, counts


def test_eval_without_a_model_prints_the_deterministic_column(monkeypatch):
    """No model configured: the command says so and prints the deterministic accuracy per category."""
    for k in CLEAR:
        monkeypatch.delenv(k, raising=False)
    result = CliRunner().invoke(app, ["llm", "eval"], env=CLEAR)
    assert result.exit_code == 0, result.output
    assert "LLM: not configured" in result.output
    rows = [ln.split() for ln in result.output.splitlines()]
    assert {r[0] for r in rows if len(r) == 3 and r[2].endswith("%")} >= {
        "mro",
        "packaging",
        "it",
        "freight",
        "facilities",
        "office",
        "all",
    }


def test_eval_with_a_model_prints_both_side_by_side():
    """A model configured (the local fake): deterministic, LLM and LLM+fallback columns, outcomes and latency."""
    with FakeOpenAI() as fake:
        env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.base_url, "PROCUREBOT_LLM_MODEL": "fake-model"}
        result = CliRunner().invoke(app, ["llm", "eval"], env=env)
    assert result.exit_code == 0, result.output
    assert "deterministic" in result.output and "LLM+fallback" in result.output
    assert "LLM outcomes: ok" in result.output and "LLM latency: median" in result.output
    assert "sk-test" not in result.output


def test_eval_scores_each_classifier_on_its_own_answers(directory):
    """A model that always says packaging scores 100% on packaging and 0% elsewhere; as in intake, the
    LLM+fallback column keeps the catalog's category for a catalog item (laptops)."""
    cases = [
        {"text": "stretch wrap", "category": "packaging"},
        {"text": "laptops", "category": "it"},
        {"text": "zzz unknown", "category": "office"},
    ]
    with FakeOpenAI() as fake:
        fake.responders["classify"] = lambda user: {"category": "packaging", "confidence": 0.9, "reason": "x"}
        client = LlmClient(LlmSettings(api_key="k", base_url=fake.base_url, model="m"))  # type: ignore[call-arg]
        report = evaluate(cases, directory, LlmClassifier(client, directory))
    assert report.per_category["packaging"].right == {"deterministic": 1, "LLM": 1, "LLM+fallback": 1}
    assert report.per_category["it"].right == {"deterministic": 1, "LLM": 0, "LLM+fallback": 1}
    assert report.per_category["office"].right == {"deterministic": 0, "LLM": 0, "LLM+fallback": 0}
    assert report.overall.silent["deterministic"] == 1 and report.outcomes == {"ok": 3}
