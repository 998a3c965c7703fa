"""Amendments beyond tolerance go back for approval; policy changes never rewrite requests in flight."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from approvals.commands import Amend, Approve
from approvals.db import transaction
from approvals.policy import load_policy_text
from approvals.policy_store import active_policy, install_policy
from tests.factories import boxes, submit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_amend_within_tolerance_stays_approved(service):
    """Raising an approved $3,840 order by $192 (5%) keeps it approved and audits the change."""
    number = service.submit(submit(lines=[boxes(80)])).number
    service.approve(Approve(actor="maria.lopez", number=number))
    result = service.amend(Amend(actor="jake.miller", number=number, lines=[boxes(84)]))
    assert result.outcome == "amended"
    assert result.requisition.state == "approved"
    assert str(result.requisition.total) == "4032.0000" or float(result.requisition.total) == 4032


def test_amend_beyond_tolerance_goes_back_for_approval(service):
    """Raising an approved order from $3,840 to $4,800 (25%) sends it back to Maria in a new round."""
    number = service.submit(submit(lines=[boxes(80)])).number
    service.approve(Approve(actor="maria.lopez", number=number))
    result = service.amend(Amend(actor="jake.miller", number=number, lines=[boxes(100)], reason="more demand"))
    assert result.outcome.startswith("reapproval")
    view = result.requisition
    assert view.state == "pending_approval" and view.round == 1
    assert view.waiting_on == ["maria.lopez"]
    assert service.approve(Approve(actor="maria.lopez", number=number)).requisition.state == "approved"


def test_in_flight_request_stays_on_its_policy_version(service, engine, directory):
    """A new policy version routes new requests differently; the one in flight keeps its old route and version."""
    old = service.submit(submit(lines=[boxes(80)]))
    text = (EXAMPLES / "policy.yaml").read_text()
    stricter = text.replace('version: "2026.11.1"', 'version: "2026.12.0"').replace(
        "- id: standard-small\n    description: Up to $5,000\n    when: {amount: {lte: 5000}}\n    stages:\n"
        "      - {name: Manager, approvers: [{manager: 1}]",
        "- id: standard-small\n    description: Up to $5,000\n    when: {amount: {lte: 5000}}\n    stages:\n"
        "      - {name: Manager, approvers: [{role: regional_ops_director}]",
    )
    assert stricter != text
    with transaction(engine) as session:
        install_policy(session, load_policy_text(stricter, "policy-v2.yaml"), at=service.clock())
    new = service.submit(submit(lines=[boxes(81)]))
    assert new.requisition.policy_version == "2026.12.0"
    assert new.requisition.waiting_on == ["james.carter"]
    again = service.get(old.number)
    assert again.policy_version == "2026.11.1"
    assert again.waiting_on == ["maria.lopez"]
    with Session(engine) as session:
        assert active_policy(session)[0].version == "2026.12.0"


def test_reinstalling_same_policy_is_a_no_op(service, engine, policy):
    """Starting the server twice with the same file does not create a second version."""
    with transaction(engine) as session:
        _, changed = install_policy(session, policy, at=service.clock())
    assert changed is False


def test_committed_spend_reduces_budget_and_triggers_overlay(service):
    """Approved spend counts against Seattle's budget, so the next request adds the budget owner stage."""
    first = service.submit(submit(requester="eric.larsen", site="SEA", cost_center="SEA-OPS", lines=[boxes(25)]))
    # $1,200 of $1,500 left: within budget, manager approves
    assert [s.stage_name for s in first.requisition.steps] == ["Manager"]
    service.approve(Approve(actor="hannah.berg", number=first.number))
    second = service.submit(submit(requester="eric.larsen", site="SEA", cost_center="SEA-OPS", lines=[boxes(30)]))
    # only $300 left now, so $1,440 goes over budget: the budget owner is added after the manager;
    # Hannah is both, so the budget stage goes up to her manager (one person, one stage)
    steps = second.requisition.steps
    assert [(s.stage_name, s.approver) for s in steps] == [("Manager", "hannah.berg"), ("Budget owner", "kevin.nguyen")]
    assert "already approves an earlier stage" in steps[1].explanation


def test_over_budget_removes_touchless(service):
    """A small contracted order that would be touchless needs the budget owner once the budget is spent."""
    result = service.submit(submit(requester="eric.larsen", site="SEA", cost_center="SEA-OPS", lines=[boxes(30)]))
    service.approve(Approve(actor="hannah.berg", number=result.number))
    small = service.submit(submit(requester="eric.larsen", site="SEA", cost_center="SEA-OPS", lines=[boxes(2)]))
    assert small.outcome == "routed"
    assert [s.stage_name for s in small.requisition.steps] == ["Budget owner"]


def test_restart_keeps_an_administrators_activation(db_url, tmp_path):
    """An admin activates a new version; restarting the server with the old file does not switch back."""
    from bot.runtime import build_runtime
    from bot.settings import Settings

    settings = Settings(database_url=db_url, var_dir=tmp_path, _env_file=None)
    runtime = build_runtime(settings)
    newer = (EXAMPLES / "policy.yaml").read_text().replace('version: "2026.11.1"', 'version: "2026.12.0"')
    with transaction(runtime.engine) as session:
        install_policy(session, load_policy_text(newer, "policy-v2.yaml"), at=runtime.service.clock())
    runtime.engine.dispose()
    restarted = build_runtime(settings)
    with Session(restarted.engine) as session:
        assert active_policy(session)[0].version == "2026.12.0"
    restarted.engine.dispose()
