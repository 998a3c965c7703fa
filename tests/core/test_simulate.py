"""What-if replay of stored requisitions under a candidate policy, and activating a policy from the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from approvals.policy import load_policy_text
from approvals.policy.simulate import StoredRoute, simulate
from bot.cli import app
from bot.settings import get_settings
from tests.factories import boxes, submit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RAISED_TOUCHLESS = (
    (EXAMPLES / "policy.yaml")
    .read_text()
    .replace('version: "2026.11.1"', 'version: "2026.12.0"')
    .replace(
        "description: Contracted stock or MRO up to $1,000\n    when:\n      amount: {lte: 1000}",
        "description: Contracted stock or MRO up to $5,000\n    when:\n      amount: {lte: 5000}",
    )
)


def _history(service) -> list[str]:
    numbers = [service.submit(submit(lines=[boxes(q)])).number for q in (10, 40, 80, 180)]
    numbers.append(service.submit(submit(requester="maria.lopez", lines=[boxes(180)])).number)
    return numbers


def _stored(service, numbers) -> list[StoredRoute]:
    from sqlmodel import Session, select

    from approvals.models import Requisition

    with Session(service.engine) as s:
        rows = s.exec(select(Requisition).where(Requisition.number.in_(numbers))).all()  # type: ignore[attr-defined]
        return [StoredRoute(r.number, r.state, dict(r.facts), dict(r.route)) for r in rows]


def test_raising_touchless_limit_shows_what_changes(service, directory, clock):
    """Raising the touchless limit to $5,000 makes two manager approvals automatic; Zoe and Maria each lose one step."""
    numbers = _history(service)
    assert RAISED_TOUCHLESS.count("5,000") > (EXAMPLES / "policy.yaml").read_text().count("5,000")
    candidate = load_policy_text(RAISED_TOUCHLESS, "candidate.yaml")
    report = simulate(_stored(service, numbers), candidate, directory, clock.now)
    assert report.total == 5
    assert report.touchless_before == 1 and report.touchless_after == 3
    assert len(report.changed) == 2
    assert all(c.after.startswith("auto-approve") for c in report.changed)
    # the $1,920 order no longer waits on Zoe, the $3,840 one no longer on Maria
    assert (report.load_before["zoe.martin"], report.load_after["zoe.martin"]) == (1, 0)
    assert (report.load_before["maria.lopez"], report.load_after["maria.lopez"]) == (2, 1)
    assert report.old_versions == [f"2026.11.1 (sha256:{service_policy_hash(service)[:12]})"]


def service_policy_hash(service) -> str:
    from sqlmodel import Session

    from approvals.policy_store import active_policy

    with Session(service.engine) as s:
        return active_policy(s)[0].content_hash


def test_same_policy_replay_changes_nothing(service, directory, policy, clock):
    """Replaying history under the policy it was routed with reports no change."""
    numbers = _history(service)
    report = simulate(_stored(service, numbers), policy, directory, clock.now)
    assert report.changed == [] and report.total == 5


@pytest.fixture
def cli_env(db_url, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_simulate_command_writes_nothing(service, cli_env, tmp_path):
    """`policy simulate` prints the touchless change and leaves every stored route as it was."""
    numbers = _history(service)
    before = [service.get(n).model_dump() for n in numbers]
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(RAISED_TOUCHLESS)
    result = CliRunner().invoke(app, ["policy", "simulate", str(candidate)])
    assert result.exit_code == 0, result.output
    assert "Routes changed: 2 of 5" in result.output
    assert "Touchless rate: 20.0% -> 60.0%" in result.output
    assert [service.get(n).model_dump() for n in numbers] == before


def test_activate_refuses_broken_policy_and_activates_good_one(service, cli_env, tmp_path):
    """A policy with errors is not activated; a good one becomes active for new requests only."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(RAISED_TOUCHLESS.replace("role: warehouse_manager", "role: warehouse_boss"))
    refused = CliRunner().invoke(app, ["policy", "activate", str(broken)])
    assert refused.exit_code == 2
    assert service_policy_hash(service) != ""
    in_flight = service.submit(submit(lines=[boxes(80)])).number
    good = tmp_path / "good.yaml"
    good.write_text(RAISED_TOUCHLESS)
    activated = CliRunner().invoke(app, ["policy", "activate", str(good)])
    assert activated.exit_code == 0, activated.output
    assert service.submit(submit(lines=[boxes(80)])).outcome == "auto_approved"
    assert service.get(in_flight).state == "pending_approval"
