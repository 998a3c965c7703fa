"""The dashboard in one call, budgets beside commitments, and the short figures chat answers with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from approvals.directory import Directory, Person
from approvals.metrics import queries as q
from approvals.metrics.queries import (
    Commitment,
    DelegationUsage,
    Distribution,
    ErpRecovery,
    ExceptionCount,
    Rate,
    Scope,
    Window,
)

# Roles that see every site's figures; everyone else sees their site and the cost centers they own.
COMPANY_WIDE_ROLES = (
    "procurement_director",
    "category_manager",
    "buyer",
    "finance_controller",
    "ap_analyst",
    "cfo",
    "coo",
    "ceo",
)
PROCUREMENT_LEAD_ROLES = ("procurement_director",)


@dataclass(frozen=True)
class BudgetLine:
    cost_center: str
    name: str
    budget: Decimal
    spent_before: Decimal  # spend already booked outside procurebot (from the directory)
    commitment: Commitment

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.spent_before - self.commitment.total

    @property
    def used(self) -> float:
        return float((self.spent_before + self.commitment.total) / self.budget) if self.budget else 0.0


@dataclass(frozen=True)
class Dashboard:
    window: Window
    scope: Scope
    cycle_all: Distribution | None
    cycle_by_site: list[Distribution]
    cycle_by_category: list[Distribution]
    cycle_by_supplier: list[Distribution]
    cycle_by_month: list[Distribution]
    step_by_stage: list[Distribution]
    step_by_approver: list[Distribution]
    touchless: Rate
    sla: Rate
    sla_by_stage: list[tuple[str, Rate]]
    escalation: Rate
    info_requests: Rate
    exceptions: list[ExceptionCount]
    erp: ErpRecovery
    delegation: DelegationUsage
    budgets: list[BudgetLine]


def last_days(now: datetime, days: int) -> Window:
    return Window(now - timedelta(days=days), now)


def budgets(engine: Engine, directory: Directory, scope: Scope) -> list[BudgetLine]:
    """Open commitments per cost center next to its budget from the directory (cost centers in scope)."""
    found = {c.cost_center: c for c in q.open_commitments(engine, scope)}
    out = []
    for cc in directory.cost_centers:
        if not (scope.everything or cc.code in scope.cost_centers or (cc.site in scope.sites)):
            continue
        zero = Decimal(0)
        out.append(
            BudgetLine(cc.code, cc.name, cc.budget, cc.spent, found.pop(cc.code, Commitment(cc.code, zero, zero, zero)))
        )
    # cost centers no longer in the directory still show their spend
    out += [BudgetLine(code, code, Decimal(0), Decimal(0), c) for code, c in sorted(found.items())]
    return out


def dashboard(engine: Engine, directory: Directory, window: Window, scope: Scope) -> Dashboard:
    """Every figure of the console's dashboard for one window and scope."""
    overall = q.cycle_time(engine, window, scope)
    sla = q.sla_adherence(engine, window, scope)
    esc, info = q.escalation_and_info_rates(engine, window, scope)
    return Dashboard(
        window=window,
        scope=scope,
        cycle_all=overall[0] if overall else None,
        cycle_by_site=q.cycle_time(engine, window, scope, "site"),
        cycle_by_category=q.cycle_time(engine, window, scope, "category"),
        cycle_by_supplier=q.cycle_time(engine, window, scope, "supplier"),
        cycle_by_month=q.cycle_time(engine, window, scope, "month"),
        step_by_stage=q.step_turnaround(engine, window, scope, "stage"),
        step_by_approver=q.step_turnaround(engine, window, scope, "approver"),
        touchless=q.touchless(engine, window, scope),
        sla=sla[0][1] if sla else Rate(0, 0),
        sla_by_stage=q.sla_adherence(engine, window, scope, "stage"),
        escalation=esc,
        info_requests=info,
        exceptions=q.exceptions(engine, window, scope),
        erp=q.erp_recovery(engine, window, scope),
        delegation=q.delegation_usage(engine, window, scope),
        budgets=budgets(engine, directory, scope),
    )


def scope_for(person: Person, directory: Directory) -> Scope:
    """What a person may see in chat: everything for procurement and finance, else their site and cost centers."""
    if any(person.has_role(r) for r in COMPANY_WIDE_ROLES):
        return Scope.all()
    sites = {person.site} if person.site else set()
    sites |= {s for g in person.roles for s in g.sites if s != "*"}
    owned = {cc.code for cc in directory.cost_centers if cc.owner == person.id}
    return Scope(frozenset(sites), frozenset(owned))


@dataclass(frozen=True)
class WeekFigures:
    """The handful of numbers a chat answer or the weekly summary shows."""

    scope: Scope
    window: Window
    submitted: int
    cycle: Distribution | None
    touchless: Rate
    sla: Rate
    escalation: Rate
    slowest_stage: Distribution | None
    erp: ErpRecovery
    exceptions: int


def week_figures(engine: Engine, window: Window, scope: Scope) -> WeekFigures:
    cycle = q.cycle_time(engine, window, scope)
    sla = q.sla_adherence(engine, window, scope)
    esc, _ = q.escalation_and_info_rates(engine, window, scope)
    stages = q.step_turnaround(engine, window, scope, "stage")
    slowest = max(stages, key=lambda d: d.median_seconds) if stages else None
    touch = q.touchless(engine, window, scope)
    return WeekFigures(
        scope,
        window,
        touch.denominator,
        cycle[0] if cycle else None,
        touch,
        sla[0][1] if sla else Rate(0, 0),
        esc,
        slowest,
        q.erp_recovery(engine, window, scope),
        sum(e.count for e in q.exceptions(engine, window, scope)),
    )
