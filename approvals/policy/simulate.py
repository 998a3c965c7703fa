"""What-if replay: route stored requisitions under a new policy and report what would change.

Nothing is written: requisitions in flight stay pinned to the version they were routed with.
The report is what a policy owner needs before activating a change: which routes move, the
touchless rate before and after, and the load each approver would carry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable

from approvals.delegation import DelegationWindow
from approvals.directory import Directory
from approvals.policy.facts import FACTS, MULTI_VALUED
from approvals.policy.loader import LoadedPolicy
from approvals.policy.routing import RoutePlan, route


@dataclass(frozen=True)
class StoredRoute:
    """One stored requisition: its number, the facts it was routed on, and the route it got."""

    number: str
    state: str
    facts: dict[str, Any]
    route: dict[str, Any]


@dataclass(frozen=True)
class RouteShape:
    """A route as a page shows it: the outcome, the rule that decided it, and each stage's approver ids (a
    screen puts people's names on them; `summarize` gives the same route as one line of ids)."""

    outcome: str
    rule: str | None
    stages: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class RouteChange:
    number: str
    before: str
    after: str
    # for screens that name people, sites and suppliers: the two routes' parts and the request's own facts
    before_shape: RouteShape | None = None
    after_shape: RouteShape | None = None
    requester: str | None = None
    site: str | None = None
    supplier: str | None = None


@dataclass
class SimulationReport:
    old_versions: list[str]
    new_version: str
    total: int = 0
    changed: list[RouteChange] = field(default_factory=list)
    touchless_before: int = 0
    touchless_after: int = 0
    stopped_before: int = 0
    stopped_after: int = 0
    load_before: Counter[str] = field(default_factory=Counter)
    load_after: Counter[str] = field(default_factory=Counter)

    def rate(self, count: int) -> float:
        return count / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        people = sorted(set(self.load_before) | set(self.load_after))
        return {
            "old_versions": self.old_versions,
            "new_version": self.new_version,
            "requisitions": self.total,
            "routes_changed": len(self.changed),
            "changes": [{"number": c.number, "before": c.before, "after": c.after} for c in self.changed],
            "touchless_rate": {
                "before": round(self.rate(self.touchless_before), 4),
                "after": round(self.rate(self.touchless_after), 4),
            },
            "stopped": {"before": self.stopped_before, "after": self.stopped_after},
            "approver_load": {p: {"before": self.load_before[p], "after": self.load_after[p]} for p in people},
        }


def restore_facts(stored: dict[str, Any]) -> dict[str, Any]:
    """Facts as routing wants them, from their stored JSON form (numbers were kept as text)."""
    facts: dict[str, Any] = {}
    for key, value in stored.items():
        kind = FACTS.get(key, (None,))[0]
        if key in MULTI_VALUED:
            facts[key] = frozenset(value or ())
        elif (kind == "number" or key == "amount_original") and value is not None:
            facts[key] = Decimal(str(value))
        else:
            facts[key] = value
    return facts


def replay_requests(
    lines: Iterable[str], before: LoadedPolicy, after: LoadedPolicy, directory: Directory, at: datetime
) -> tuple[list[StoredRoute], list[str]]:
    """Requests from a JSONL text (one requisition per line, optionally with `committed`), routed under `before`
    as the routes to compare with: what-if without a database. Returns the records and one problem per line
    that could not be replayed ("line 3: requester: unknown person")."""
    import json

    from pydantic import ValidationError

    from approvals.requisition import RequisitionDraft, build_facts, validate_draft

    records: list[StoredRoute] = []
    problems: list[str] = []
    for n, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
            committed = Decimal(str(raw.pop("committed", 0))) if isinstance(raw, dict) else Decimal(0)
            draft = RequisitionDraft.model_validate(raw)
        except (json.JSONDecodeError, ValidationError, ArithmeticError) as exc:
            problems.append(f"line {n}: not a request: {str(exc).splitlines()[0]}")
            continue
        refused = validate_draft(draft, directory, before) or validate_draft(draft, directory, after)
        if refused:
            problems.append(f"line {n}: " + "; ".join(f"{e.field}: {e.message}" for e in refused))
            continue
        facts = build_facts(draft, directory, before, committed=committed)
        plan = route(facts, before, directory, (), at)
        records.append(StoredRoute(f"line {n}", "", facts, {**plan.to_dict(), "policy_label": before.label}))
    return records, problems


def summarize(outcome: str, rule: str | None, stages: list[list[str]]) -> str:
    if outcome == "auto_approve":
        return f"auto-approve ({rule})"
    if outcome == "stop":
        return f"stop ({rule or 'no rule'})"
    return f"{rule}: " + " -> ".join("/".join(stage) for stage in stages)


def _stored_stages(plan: dict[str, Any]) -> list[list[str]]:
    return [[step["approver"] for step in stage.get("steps", [])] for stage in plan.get("stages", [])]


def simulate(
    records: Iterable[StoredRoute],
    new_policy: LoadedPolicy,
    directory: Directory,
    at: datetime,
    delegations: tuple[DelegationWindow, ...] = (),
) -> SimulationReport:
    """Route every record under `new_policy` (with these delegation windows, read at `at`); compare with the
    route it actually got."""
    old_versions: set[str] = set()
    report = SimulationReport([], new_policy.label)
    for record in records:
        report.total += 1
        before = record.route
        old_versions.add(before.get("policy_label") or before.get("policy_version", "?"))
        before_stages = _stored_stages(before)
        after: RoutePlan = route(restore_facts(record.facts), new_policy, directory, delegations, at)
        report.touchless_before += before.get("outcome") == "auto_approve"
        report.touchless_after += after.outcome == "auto_approve"
        report.stopped_before += before.get("outcome") == "stop"
        report.stopped_after += after.outcome == "stop"
        report.load_before.update(p for stage in before_stages for p in stage)
        report.load_after.update(p for stage in after.approvers for p in stage)
        old_text = summarize(before.get("outcome", "?"), before.get("rule_id"), before_stages)
        new_text = summarize(after.outcome, after.rule_id, after.approvers)
        if old_text != new_text:
            facts = record.facts
            report.changed.append(
                RouteChange(
                    record.number,
                    old_text,
                    new_text,
                    RouteShape(
                        before.get("outcome", "?"), before.get("rule_id"), tuple(tuple(s) for s in before_stages)
                    ),
                    RouteShape(after.outcome, after.rule_id, tuple(tuple(s) for s in after.approvers)),
                    facts.get("requester"),
                    facts.get("site"),
                    facts.get("supplier"),
                )
            )
    report.old_versions = sorted(old_versions)
    return report
