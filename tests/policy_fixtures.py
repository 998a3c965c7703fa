"""Fixtures and helpers for policy, routing and CLI tests (tests/conftest.py is the database's).

Import what you need: `from policy_fixtures import company, sample_policy, plan_for, ...`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from approvals.delegation import DelegationWindow
from approvals.directory import Directory, load_directory
from approvals.policy import LoadedPolicy, load_policy, load_policy_text
from approvals.policy.routing import RoutePlan, route
from approvals.requisition import RequisitionDraft, build_facts, validate_draft

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
POLICIES = Path(__file__).resolve().parent / "policies"
COMPANY_FILE = EXAMPLES / "company.yaml"
POLICY_FILE = EXAMPLES / "policy.yaml"
CASES_FILE = EXAMPLES / "policy-cases.yaml"
AT = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def company() -> Directory:
    return load_directory(COMPANY_FILE)


@pytest.fixture(scope="session")
def sample_policy() -> LoadedPolicy:
    return load_policy(POLICY_FILE)


def draft(**overrides: Any) -> RequisitionDraft:
    """A Dallas stretch-wrap request ($1,280 from Uline by Jake Miller), changed by `overrides`."""
    data: dict[str, Any] = {
        "requester": "jake.miller",
        "site": "DAL",
        "cost_center": "DAL-OPS",
        "supplier": "uline",
        "lines": [{"description": "stretch wrap", "sku": "PKG-SW-18", "quantity": 40, "unit_price": 32}],
    }
    data.update(overrides)
    return RequisitionDraft.model_validate(data)


def facts_for(
    policy: LoadedPolicy, directory: Directory, committed: Decimal | int = 0, **overrides: Any
) -> dict[str, Any]:
    d = draft(**overrides)
    errors = validate_draft(d, directory, policy)
    assert not errors, errors
    return build_facts(d, directory, policy, committed=Decimal(committed))


def plan_for(
    policy: LoadedPolicy,
    directory: Directory,
    *,
    committed: Decimal | int = 0,
    delegations: tuple[DelegationWindow, ...] = (),
    at: datetime = AT,
    **overrides: Any,
) -> RoutePlan:
    """Route a request built by `draft(**overrides)` the way a submission would."""
    return route(facts_for(policy, directory, committed, **overrides), policy, directory, delegations, at)


def small_policy(
    rules: list[dict[str, Any]],
    settings: dict[str, Any] | None = None,
    overlays: list[dict[str, Any]] | None = None,
    escalations: dict[str, str] | None = None,
    service_levels: list[dict[str, Any]] | None = None,
) -> LoadedPolicy:
    """A policy built in the test from rules given as data."""
    doc: dict[str, Any] = {
        "policy": {"id": "test", "version": "1", "currency": "USD"},
        "rates": {"EUR": 1.08},
        "rules": rules,
    }
    if settings:
        doc["settings"] = settings
    if overlays:
        doc["overlays"] = overlays
    if escalations:
        doc["escalations"] = escalations
    if service_levels:
        doc["service_levels"] = service_levels
    return load_policy_text(yaml.safe_dump(doc, sort_keys=False), "<test>")


def one_stage(*approvers: dict[str, Any], when: dict[str, Any] | None = None, **stage: Any) -> dict[str, Any]:
    """A single rule with one stage naming `approvers`."""
    rule: dict[str, Any] = {"id": "only", "stages": [{"name": "Only", "approvers": list(approvers), **stage}]}
    if when:
        rule["when"] = when
    return rule


def line_of(path: Path, marker: str) -> int:
    """The 1-based line of the first line in `path` containing `marker`."""
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if marker in text and not text.lstrip().startswith("#"):
            return number
    raise AssertionError(f"{marker!r} not in {path}")
