"""`procurebot llm eval`: accuracy per category on the labelled set, deterministic and LLM side by side."""

from __future__ import annotations

import json

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


def test_eval_without_a_model_prints_the_deterministic_and_learned_columns(monkeypatch):
    """No model configured: the command says so and prints deterministic and learned accuracy per category."""
    for k in CLEAR:
        monkeypatch.delenv(k, raising=False)
    result = CliRunner().invoke(app, ["llm", "eval"], env=CLEAR)
    assert result.exit_code == 0, result.output
    assert "LLM: not configured" in result.output
    rows = [ln.split() for ln in result.output.splitlines()]
    assert {r[0] for r in rows if len(r) == 4 and r[2].endswith("%") and r[3].endswith("%")} >= {
        "mro",
        "packaging",
        "it_hardware",
        "software",
        "freight",
        "facilities_services",
        "office_supplies",
        "all",
    }
    assert "abstention" in result.output and "confusion, learned:" in result.output


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
        {"text": "laptops", "category": "it_hardware"},
        {"text": "zzz unknown", "category": "office_supplies"},
    ]
    with FakeOpenAI() as fake:
        fake.responders["classify"] = lambda user: {"category": "packaging", "confidence": 0.9, "reason": "x"}
        client = LlmClient(LlmSettings(api_key="k", base_url=fake.base_url, model="m"))  # type: ignore[call-arg]
        report = evaluate(cases, directory, LlmClassifier(client, directory))
    assert report.per_category["packaging"].right == {"deterministic": 1, "LLM": 1, "LLM+fallback": 1}
    assert report.per_category["it_hardware"].right == {"deterministic": 1, "LLM": 0, "LLM+fallback": 1}
    assert report.per_category["office_supplies"].right == {"deterministic": 0, "LLM": 0, "LLM+fallback": 0}
    assert report.overall.silent["deterministic"] == 1 and report.outcomes == {"ok": 3}


def test_eval_reads_jsonl_and_prints_one_json_object(tmp_path):
    """`--data FILE.jsonl --json`: one object with n, accuracy and abstention (fractions) of the default path."""
    data = tmp_path / "set.jsonl"
    data.write_text(
        "\n".join(
            json.dumps(row)
            for row in (
                {"text": "stretch wrap 18in", "category": "packaging"},
                {"text": "box truck brake job", "category": "fleet"},
                {"text": "Microsoft 365 licenses", "category": "software"},
                {"text": "nitrile gloves", "category": "safety_ppe"},
            )
        )
        + "\n"
    )
    result = CliRunner().invoke(app, ["llm", "eval", "--data", str(data), "--json"], env=CLEAR)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["n"] == 4 and figures["path"] == "learned"
    assert 0 <= figures["accuracy"] <= 1 and 0 <= figures["abstention"] <= 1
    assert figures["model_version"].startswith("m-")
    assert set(figures["paths"]) == {"deterministic", "learned"}


def test_eval_refuses_a_label_the_company_does_not_have(tmp_path):
    """A JSONL line labelled with a category the directory lacks is refused, with the valid ones listed."""
    data = tmp_path / "set.jsonl"
    data.write_text(json.dumps({"text": "laptops", "category": "it"}) + "\n")
    result = CliRunner().invoke(app, ["llm", "eval", "--data", str(data), "--json"], env=CLEAR)
    assert result.exit_code != 0
    assert "categories not in the directory: it" in result.output and "it_hardware" in result.output
