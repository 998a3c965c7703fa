"""Every policy command says which directory it used; a forgotten --directory is never silent; a database
that is not migrated or cannot be opened is one clear line, not a traceback."""

from __future__ import annotations

import json

from policy_fixtures import COMPANY_FILE, POLICIES, POLICY_FILE
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


def run(*args: object):
    return runner.invoke(app, ["policy", *map(str, args)])


def test_check_without_directory_says_it_used_the_sample_company(monkeypatch):
    """No --directory: the first line names the sample company and how to pass your own."""
    monkeypatch.delenv("PROCUREBOT_DIRECTORY_FILE", raising=False)
    result = run("check", POLICY_FILE)
    assert result.stderr.splitlines()[0].startswith(f"directory: {COMPANY_FILE} (the sample company")


def test_a_custom_policy_checked_against_the_sample_by_accident_gets_one_clear_hint(monkeypatch):
    """A policy naming someone the sample company lacks, with no --directory: the findings end with the hint."""
    monkeypatch.delenv("PROCUREBOT_DIRECTORY_FILE", raising=False)
    result = run("check", POLICIES / "unknown_person.yaml")
    assert result.exit_code == 2
    assert "no --directory was given; pass --directory FILE" in result.stderr


def test_the_directory_given_is_named_first_and_no_sample_hint_follows():
    """With --directory the first line says so, and unknown names are plain findings."""
    result = run("check", POLICIES / "unknown_person.yaml", "--directory", COMPANY_FILE)
    assert result.stderr.splitlines()[0] == f"directory: {COMPANY_FILE} (from --directory)"
    assert "no --directory was given" not in result.stderr


def test_the_directory_setting_is_used_when_no_flag_is_given(monkeypatch, tmp_path):
    """PROCUREBOT_DIRECTORY_FILE is the default for every policy command, and the first line says it came from there."""
    other = tmp_path / "company.yaml"
    other.write_text(COMPANY_FILE.read_text())
    monkeypatch.setenv("PROCUREBOT_DIRECTORY_FILE", str(other))
    result = run("test", POLICY_FILE, "--cases", POLICIES.parent.parent / "examples" / "policy-cases.yaml")
    assert result.stderr.splitlines()[0] == f"directory: {other} (from PROCUREBOT_DIRECTORY_FILE)"
    assert result.exit_code == 0, result.output


def test_route_json_names_the_directory_and_stays_json(tmp_path):
    """route prints the directory line on stderr and the plan JSON, which carries the directory, on stdout."""
    request = tmp_path / "req.json"
    request.write_text(json.dumps(REQUEST))
    result = run(
        "route", POLICY_FILE, "--request", request, "--directory", COMPANY_FILE, "--at", "2026-12-01T15:00:00Z"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["directory"] == str(COMPANY_FILE)
    assert result.stderr.startswith("directory: ")


def test_simulate_on_an_unmigrated_database_is_one_line(monkeypatch, tmp_path):
    """simulate against an empty SQLite file: one line saying to run `procurebot db upgrade`, exit 2."""
    monkeypatch.setenv("PROCUREBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = run("simulate", POLICY_FILE, "--directory", COMPANY_FILE)
    assert result.exit_code == 2 and result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert lines[0].startswith("directory: ") and len(lines) == 2
    assert "procurebot db upgrade" in lines[1] and "Traceback" not in result.output


def test_activate_on_a_database_that_cannot_be_opened_is_one_line(monkeypatch, tmp_path):
    """activate where the database file cannot be created: one line ending 'not activated', exit 2."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PROCUREBOT_DATABASE_URL", f"sqlite:///{blocker / 'db' / 'x.db'}")
    result = run("activate", POLICY_FILE, "--directory", COMPANY_FILE)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[1].endswith("not activated") and "Traceback" not in result.output


def test_route_takes_delegations_from_a_file(tmp_path):
    """Zoe is away and Maria approves for her: with --delegations the plan's step is acted on by Maria."""
    request = tmp_path / "req.json"
    request.write_text(json.dumps(REQUEST))
    windows = tmp_path / "delegations.yaml"
    windows.write_text(
        "delegations:\n"
        "  - {delegator: zoe.martin, delegate: maria.lopez, "
        "starts_at: 2026-11-30T00:00:00Z, ends_at: 2026-12-05T00:00:00Z}\n"
    )
    args = ["route", POLICY_FILE, "--request", request, "--directory", COMPANY_FILE, "--at", "2026-12-01T15:00:00Z"]
    without = json.loads(run(*args).stdout)
    result = run(*args, "--delegations", windows)
    assert result.exit_code == 0, result.output
    step = json.loads(result.stdout)["stages"][0]["steps"][0]
    assert without["stages"][0]["steps"][0]["acting"] == "zoe.martin"
    assert step["approver"] == "zoe.martin" and step["acting"] == "maria.lopez"


def test_an_invalid_delegations_file_is_refused_at_its_line(tmp_path):
    """A delegation window without its end time: exit 2 and the file:line of the window."""
    request = tmp_path / "req.json"
    request.write_text(json.dumps(REQUEST))
    windows = tmp_path / "delegations.yaml"
    windows.write_text("delegations:\n  - {delegator: zoe.martin, delegate: emily.davis, starts_at: 2026-11-30}\n")
    result = run("route", POLICY_FILE, "--request", request, "--directory", COMPANY_FILE, "--delegations", windows)
    assert result.exit_code == 2 and f"{windows}:2" in result.stderr


def test_simulate_replays_a_file_of_requests_without_a_database(monkeypatch, tmp_path):
    """A JSONL of requests compared between the sample policy and the director's: no database is read, a bad
    line is named, and the report counts the requests that were replayed."""
    monkeypatch.setenv("PROCUREBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'never-created' / 'x.db'}")
    pallets = {
        **REQUEST,
        "supplier": "acme-pallets",
        "lines": [{"description": "pallets", "sku": "PKG-PAL-4840", "quantity": 20, "unit_price": 14}],
    }
    lines = [json.dumps(REQUEST), json.dumps(pallets), json.dumps({**REQUEST, "requester": "nobody.here"})]
    requests = tmp_path / "requests.jsonl"
    requests.write_text("\n".join(lines) + "\n")
    result = run(
        "simulate",
        POLICIES.parent.parent / "examples" / "director-policy.yaml",
        "--requests",
        requests,
        "--before",
        POLICY_FILE,
        "--directory",
        COMPANY_FILE,
    )
    assert result.exit_code == 0, result.output
    assert f"Replayed 2 requests from {requests}" in result.stdout
    assert "Routes changed: 2 of 2" in result.stdout and "now small: zoe.martin -> sofia.alvarez" in result.stdout
    assert f"{requests}: line 3: requester" in result.stderr
    assert not (tmp_path / "never-created").exists()
