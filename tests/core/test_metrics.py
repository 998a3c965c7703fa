"""Process metrics on a generated history whose answers are known, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest

from approvals.commands import Approve, Escalate
from approvals.metrics import queries as q
from approvals.metrics.queries import Scope, Window
from approvals.metrics.report import budgets, dashboard, scope_for
from tests import metrics_history as h
from tests.factories import boxes, submit

WINDOW = Window(h.T0, h.T0 + timedelta(days=60))
ALL = Scope.all()


@pytest.fixture
def history(engine):  # type: ignore[no-untyped-def]
    specs = h.build(1000)
    h.load(engine, specs)
    return specs


def _cycles(specs, key=lambda s: "all"):  # type: ignore[no-untyped-def]
    groups: dict[str, list[int]] = defaultdict(list)
    for s in specs:
        if s.po_created_at:
            groups[key(s)].append(int((s.po_created_at - s.submitted_at).total_seconds()))
    return {k: (len(v), h.nearest_rank(v, 0.5), h.nearest_rank(v, 0.9)) for k, v in groups.items()}


def _as_dict(dists):  # type: ignore[no-untyped-def]
    return {d.key: (d.count, d.median_seconds, d.p90_seconds) for d in dists}


def test_cycle_time_median_and_p90_by_site_category_supplier_and_month(engine, history):
    """1,000 requisitions with set submit-to-PO times: median and p90 by site, category, supplier, month are exact."""
    assert _as_dict(q.cycle_time(engine, WINDOW, ALL)) == _cycles(history)
    assert _as_dict(q.cycle_time(engine, WINDOW, ALL, "site")) == _cycles(history, lambda s: s.site)
    assert _as_dict(q.cycle_time(engine, WINDOW, ALL, "category")) == _cycles(history, lambda s: s.category)
    assert _as_dict(q.cycle_time(engine, WINDOW, ALL, "supplier")) == _cycles(history, lambda s: s.supplier)
    by_month = _as_dict(q.cycle_time(engine, WINDOW, ALL, "month"))
    assert by_month == _cycles(history, lambda s: s.po_created_at.strftime("%Y-%m"))
    assert set(by_month) == {"2026-01", "2026-02"}
    assert sum(n for n, _, _ in by_month.values()) == 800


def test_cycle_time_counts_only_pos_created_in_the_window(engine, history):
    """A window of the first week counts only the POs created in it; an empty window gives no figures."""
    week = Window(h.T0, h.T0 + timedelta(days=7))
    inside = [s for s in history if s.po_created_at and s.po_created_at < week.end]
    assert _as_dict(q.cycle_time(engine, week, ALL)) == _cycles(inside)
    assert q.cycle_time(engine, Window(h.T0 - timedelta(days=30), h.T0), ALL) == []


def test_step_turnaround_per_stage_and_per_approver(engine, history):
    """Activation-to-decision time of every step a person decided, grouped by stage and by the person."""
    steps = h.human_steps(history)
    for by, key in (("stage", lambda st: st["stage"]), ("approver", lambda st: st["approver"])):
        groups: dict[str, list[int]] = defaultdict(list)
        for _, st in steps:
            groups[key(st)].append(int((st["decided"] - st["activated"]).total_seconds()))
        expected = {k: (len(v), h.nearest_rank(v, 0.5), h.nearest_rank(v, 0.9)) for k, v in groups.items()}
        assert _as_dict(q.step_turnaround(engine, WINDOW, ALL, by)) == expected  # type: ignore[arg-type]
    assert "marcus.bell" in _as_dict(q.step_turnaround(engine, WINDOW, ALL, "approver"))


def test_touchless_sla_escalation_and_info_request_rates(engine, history):
    """Touchless is approved with no step; SLA met is never escalated; rates are over every submitted requisition."""
    touch = q.touchless(engine, WINDOW, ALL)
    assert (touch.numerator, touch.denominator) == (
        sum(1 for s in history if s.state == "po_created" and not s.steps),
        1000,
    )
    enforced = [st for s in history for st in s.steps if st["escalate_to"] and st["decided"]]
    [(key, sla)] = q.sla_adherence(engine, WINDOW, ALL)
    assert key == "all" and sla.denominator == len(enforced) > 0
    assert sla.numerator == sum(1 for st in enforced if st["state"] != "escalated")
    assert 0 < sla.value < 1  # type: ignore[operator]
    esc, info = q.escalation_and_info_rates(engine, WINDOW, ALL)
    assert (esc.numerator, esc.denominator) == (sum(1 for s in history if len(s.steps) == 2), 1000)
    assert (info.numerator, info.denominator) == (sum(1 for s in history if s.asked_info), 1000)


def test_exceptions_by_kind_and_site(engine, history):
    """Stops (by rule), rejections, questions, escalations and ERP dead letters are counted per site."""
    expected: Counter[tuple[str, str]] = Counter()
    for s in history:
        if s.stop_rule:
            expected[(f"stopped:{s.stop_rule}", s.site)] += 1
        if s.state == "rejected":
            expected[("rejected", s.site)] += 1
        if s.asked_info:
            expected[("info_requested", s.site)] += 1
        if len(s.steps) == 2:
            expected[("escalated", s.site)] += 1
        if s.po_failed_at:
            expected[("erp_failed", s.site)] += 1
    got = {(e.kind, e.site): e.count for e in q.exceptions(engine, WINDOW, ALL)}
    assert got == dict(expected)
    assert {k for k, _ in got} >= {"stopped:blocked_supplier", "stopped:hard_budget_stop", "erp_failed"}


def test_erp_failures_and_time_to_recover(engine, history):
    """Dead-lettered POs in the window, all since created: count, and first failure to PO, median and p90."""
    failed = [s for s in history if s.po_failed_at]
    erp = q.erp_recovery(engine, WINDOW, ALL)
    waits = [int((s.po_created_at - s.po_failed_at).total_seconds()) for s in failed]
    assert (erp.failed, erp.recovered, erp.failing_now) == (len(failed), len(failed), 0)
    assert erp.time_to_recover is not None
    assert (erp.time_to_recover.count, erp.time_to_recover.median_seconds, erp.time_to_recover.p90_seconds) == (
        len(waits),
        h.nearest_rank(waits, 0.5),
        h.nearest_rank(waits, 0.9),
    )


def test_delegation_usage_and_open_commitments(engine, history, directory):
    """Steps decided on someone's behalf per pair; money in approval and ordered per cost center beside its budget."""
    steps = h.human_steps(history)
    usage = q.delegation_usage(engine, WINDOW, ALL)
    delegated = Counter(("james.carter", st["approver"]) for _, st in steps if st["on_behalf_of"])
    assert (usage.decided, usage.on_behalf) == (len(steps), sum(delegated.values()))
    assert usage.by_pair == sorted(((a, b, n) for (a, b), n in delegated.items()), key=lambda p: (-p[2], p[0], p[1]))
    in_approval: Counter[str] = Counter()
    ordered: Counter[str] = Counter()
    for s in history:
        if s.state == "pending_approval":
            in_approval[s.cost_center] += s.amount
        if s.state == "po_created":
            ordered[s.cost_center] += s.amount
    ordered["DAL-OPS"] += history[0].amount  # the old requisition outside the window is still committed
    got = {c.cost_center: (c.in_approval, c.approved_not_ordered, c.ordered) for c in q.open_commitments(engine, ALL)}
    assert got == {cc: (Decimal(in_approval[cc]), Decimal(0), Decimal(ordered[cc])) for cc in h.COST_CENTERS.values()}
    dal = next(b for b in budgets(engine, directory, Scope(sites=frozenset({"DAL"}))) if b.cost_center == "DAL-OPS")
    assert dal.remaining == dal.budget - dal.spent_before - in_approval["DAL-OPS"] - ordered["DAL-OPS"]
    assert {b.cost_center for b in budgets(engine, directory, Scope(sites=frozenset({"DAL"})))} == {
        "DAL-OPS",
        "DAL-MAINT",
    }


def test_scope_limits_every_figure_to_the_sites_and_cost_centers_given(engine, history, directory):
    """A Dallas view counts only Dallas requisitions; a scope with nothing in it counts nothing."""
    dal = Scope(sites=frozenset({"DAL"}))
    board = dashboard(engine, directory, WINDOW, dal)
    assert board.cycle_all is not None
    assert (board.cycle_all.count, board.cycle_all.median_seconds) == _cycles([s for s in history if s.site == "DAL"])[
        "all"
    ][:2]
    assert board.touchless.denominator == sum(1 for s in history if s.site == "DAL")
    assert {e.site for e in board.exceptions} == {"DAL"}
    assert [d.key for d in board.cycle_by_site] == ["DAL"]
    by_cc = Scope(cost_centers=frozenset({"CHI-OPS"}))
    assert q.touchless(engine, WINDOW, by_cc).denominator == sum(1 for s in history if s.site == "CHI")
    nothing = Scope()
    assert q.touchless(engine, WINDOW, nothing).denominator == 0 and q.cycle_time(engine, WINDOW, nothing) == []


def test_scope_for_a_person_follows_roles_sites_and_owned_cost_centers(directory):
    """Procurement and finance see everything; a warehouse manager sees their site and the cost centers they own."""
    assert scope_for(directory.person("sofia.alvarez"), directory).everything
    assert scope_for(directory.person("priya.nair"), directory).everything
    maria = scope_for(directory.person("maria.lopez"), directory)
    assert not maria.everything and maria.sites == {"DAL"} and maria.cost_centers == {"DAL-OPS"}
    james = scope_for(directory.person("james.carter"), directory)
    assert james.sites == {"DAL", "CHI"} and "DAL-MAINT" in james.cost_centers


def test_metrics_read_what_the_workflow_writes(service, clock, engine):
    """Real actions: a small order auto-approves (touchless), one waits 3 h for approval, one escalates (SLA missed)."""
    start = clock()
    small = service.submit(submit(lines=[boxes(1)]))
    assert small.outcome == "auto_approved"
    routed = service.submit(submit(lines=[boxes(80)]))
    waiting_on = routed.requisition.waiting_on
    clock.advance(hours=3)
    service.approve(Approve(actor=waiting_on[0], number=routed.number))
    late = service.submit(submit(lines=[boxes(80)]))
    clock.advance(hours=30)
    service.escalate(
        Escalate(actor="scheduler", number=late.number, reason="SLA of 24 h ran out", surface="scheduler"),
        as_admin=True,
    )
    window = Window(start, clock() + timedelta(seconds=1))
    assert q.touchless(engine, window, ALL).numerator == 1
    assert q.touchless(engine, window, ALL).denominator == 3
    [turn] = q.step_turnaround(engine, window, ALL)
    assert (turn.count, turn.median_seconds) == (1, 3 * 3600)
    esc, _ = q.escalation_and_info_rates(engine, window, ALL)
    assert (esc.numerator, esc.denominator) == (1, 3)
    [(_, sla)] = q.sla_adherence(engine, window, ALL)
    assert sla.numerator == 1 and sla.denominator == 2
