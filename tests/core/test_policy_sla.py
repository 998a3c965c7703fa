"""`procurebot policy check` refuses an SLA the scheduler could not keep: zero, negative or absurd hours."""

from __future__ import annotations

import pytest
from policy_fixtures import COMPANY_FILE, line_of
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()

# The clean minimal policy with both SLA places written out: the default (settings) and one stage's.
POLICY = """\
policy: {{id: fixture, version: "1", currency: USD, owner: sofia.alvarez}}
rates: {{EUR: 1.08}}
settings:
  sla_hours: {default}
rules:
  - id: small
    when: {{amount: {{lte: 5000}}}}
    stages:
      - name: Manager
        approvers: [{{manager: 1}}]
        sla_hours: {stage}
  - id: large
    when: {{amount: {{gt: 5000}}}}
    stages:
      - {{name: Regional operations, approvers: [{{role: regional_ops_director}}]}}
"""
DEFAULT_MARK, STAGE_MARK = "  sla_hours:", "        sla_hours:"  # found with line_of


def check(tmp_path, *, default: str = "24", stage: str = "8"):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.format(default=default, stage=stage), encoding="utf-8")
    return path, runner.invoke(app, ["policy", "check", str(path), "--directory", str(COMPANY_FILE)])


def test_sensible_slas_check_clean(tmp_path):
    """A 24-hour default and an 8-hour stage SLA pass the check."""
    _, result = check(tmp_path)
    assert result.exit_code == 0, result.output
    assert "no problems found" in result.output


BAD = [
    ("0", "greater than 0"),
    ("-8", "greater than 0"),
    ("100000", "less than or equal to 720"),
]


@pytest.mark.parametrize("value,says", BAD, ids=["zero", "negative", "absurd"])
def test_a_bad_stage_sla_is_refused_at_its_line(tmp_path, value, says):
    """A stage SLA of zero, negative or 100,000 hours fails the check, pointing at that line and saying why."""
    path, result = check(tmp_path, stage=value)
    assert result.exit_code == 2, result.output
    assert f"{path}:{line_of(path, STAGE_MARK)}: error: [schema] rules[0].stages[0].sla_hours" in result.output
    assert says in result.output
    assert "1 error(s)" in result.output


@pytest.mark.parametrize("value,says", BAD, ids=["zero", "negative", "absurd"])
def test_a_bad_default_sla_is_refused_at_its_line(tmp_path, value, says):
    """The policy-wide default SLA gets the same check, pointing at the settings line."""
    path, result = check(tmp_path, default=value)
    assert result.exit_code == 2, result.output
    assert f"{path}:{line_of(path, DEFAULT_MARK)}: error: [schema] settings.sla_hours" in result.output
    assert says in result.output


def test_an_sla_that_is_not_a_number_is_refused_with_a_hint(tmp_path):
    """'two days' is not an SLA: the check names the line and says to write a plain number."""
    path, result = check(tmp_path, stage="two days")
    assert result.exit_code == 2, result.output
    assert f"{path}:{line_of(path, STAGE_MARK)}:" in result.output
    assert "write a plain number" in result.output
