"""`procurebot policy check / route / test` from the command line: output and exit codes."""

from __future__ import annotations

import json

import pytest
import yaml
from policy_fixtures import CASES_FILE, COMPANY_FILE, POLICIES, POLICY_FILE
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()
REQUEST = {
    "requester": "jake.miller",
    "site": "DAL",
    "cost_center": "DAL-OPS",
    "supplier": "uline",
    "lines": [{"description": "stretch wrap", "sku": "PKG-SW-18", "quantity": 40, "unit_price": 32}],
}


def run(*args: str):
    return runner.invoke(app, ["policy", *map(str, args)])


def test_check_sample_policy_exits_0():
    """Checking the shipped policy prints a clean summary and exits 0."""
    result = run("check", POLICY_FILE)
    assert result.exit_code == 0, result.output
    assert "no problems found" in result.output


@pytest.mark.parametrize(
    "fixture,code",
    [
        ("amount_gap.yaml", 1),
        ("unsatisfiable.yaml", 1),
        ("shadowed_rule.yaml", 2),
        ("unknown_role.yaml", 2),
        ("bad_yaml.yaml", 2),
        ("schema_error.yaml", 2),
    ],
)
def test_check_exit_code_follows_the_worst_finding(fixture, code):
    """Warnings only exit 1; any error (including a file that does not load) exits 2; findings are printed."""
    path = POLICIES / fixture
    result = run("check", path)
    assert result.exit_code == code, result.output
    assert f"{path}:" in result.output


def test_check_json_is_machine_readable():
    """--json prints the findings and the exit code as JSON."""
    result = run("check", POLICIES / "shadowed_rule.yaml", "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == data["exit_code"] == 2
    assert [i["kind"] for i in data["issues"]] == ["shadowed"] and data["issues"][0]["line"]


def test_check_uses_the_directory_given(tmp_path):
    """With --directory pointing at a company without regional directors, the shipped policy has errors."""
    data = yaml.safe_load(COMPANY_FILE.read_text())
    for person in data["people"]:
        person["roles"] = [
            r for r in person.get("roles", []) if not (isinstance(r, dict) and "regional_ops_director" in r)
        ]
    other = tmp_path / "company.yaml"
    other.write_text(yaml.safe_dump(data))
    result = run("check", POLICY_FILE, "--directory", other)
    assert result.exit_code == 2 and "regional_ops_director" in result.output


def test_route_prints_the_plan_as_json(tmp_path):
    """Routing a request file prints the plan with its rule, stages and policy version."""
    request = tmp_path / "req.json"
    request.write_text(json.dumps(REQUEST))
    result = run("route", POLICY_FILE, "--request", request, "--at", "2026-12-01T15:00:00Z")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["rule_id"] == "standard-small" and plan["outcome"] == "approval"
    assert plan["stages"][0]["steps"][0]["approver"] == "zoe.martin"


def test_route_committed_spend_changes_the_route(tmp_path):
    """--committed uses up the budget, so the over-budget stage is added."""
    request = tmp_path / "req.json"
    request.write_text(json.dumps(REQUEST))
    result = run("route", POLICY_FILE, "--request", request, "--committed", "69999")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["overlays"] == ["over-budget"]


@pytest.mark.parametrize(
    "change,field",
    [
        ({"requester": "nobody.here"}, "requester"),
        ({"lines": [{"description": "wrap", "quantity": 0, "unit_price": 32}]}, "quantity"),
        ({"currency": "JPY"}, "currency"),
    ],
)
def test_route_invalid_request_prints_field_errors_and_exits_2(tmp_path, change, field):
    """A request that fails validation names the field to fix and exits 2."""
    request = tmp_path / "req.json"
    request.write_text(json.dumps({**REQUEST, **change}))
    result = run("route", POLICY_FILE, "--request", request)
    assert result.exit_code == 2
    assert field in result.output and "request refused" in result.output


def test_test_sample_cases_exit_0():
    """The shipped cases all pass: exit 0 and a PASS line per case."""
    result = run("test", POLICY_FILE, "--cases", CASES_FILE)
    assert result.exit_code == 0, result.output
    count = len(yaml.safe_load(CASES_FILE.read_text())["cases"])
    assert result.output.count("PASS") == count and f"{count} passed, 0 failed" in result.output


def test_test_failing_case_exits_1(tmp_path):
    """A case that does not match exits 1 and prints the diff."""
    cases = yaml.safe_load(CASES_FILE.read_text())
    cases["cases"][0]["expect"]["rule"] = "standard-small"
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(cases))
    result = run("test", POLICY_FILE, "--cases", path)
    assert result.exit_code == 1
    assert "FAIL" in result.output and "rule: expected 'standard-small'" in result.output


def test_test_invalid_cases_file_exits_2(tmp_path):
    """A cases file with a schema error exits 2 and points at the line."""
    path = tmp_path / "cases.yaml"
    path.write_text("cases:\n  - name: x\n    reqest: {}\n    expect: {}\n")
    result = run("test", POLICY_FILE, "--cases", path)
    assert result.exit_code == 2 and f"{path}:3" in result.output
