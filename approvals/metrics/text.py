"""The key figures in plain sentences, shared by the chat answer and the weekly summary notice."""

from __future__ import annotations

from approvals.metrics.report import WeekFigures


def duration(seconds: int) -> str:
    hours = seconds / 3600
    if hours < 1:
        return f"{seconds / 60:.0f} min"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _pct(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.0%}" if denominator else "–"


def figure_lines(f: WeekFigures) -> list[str]:
    """One bullet per figure; figures with nothing behind them say so instead of showing 0 %."""
    plural = "" if f.submitted == 1 else "s"
    lines = [
        f"{f.submitted:,} requisition{plural} submitted, {_pct(f.touchless.numerator, f.touchless.denominator)} "
        "approved by policy alone (touchless)"
        if f.submitted
        else "No requisitions submitted"
    ]
    if f.cycle:
        lines.append(
            f"Request to purchase order: median {duration(f.cycle.median_seconds)}, "
            f"slowest tenth over {duration(f.cycle.p90_seconds)} ({f.cycle.count:,} POs)"
        )
    else:
        lines.append("No purchase orders created")
    if f.sla.denominator:
        lines.append(
            f"Approvals within their SLA: {_pct(f.sla.numerator, f.sla.denominator)} "
            f"({f.sla.denominator - f.sla.numerator:,} escalated)"
        )
    if f.slowest_stage:
        lines.append(f"Slowest stage: {f.slowest_stage.key}, median {duration(f.slowest_stage.median_seconds)}")
    if f.erp.failed or f.erp.failing_now:
        lines.append(
            f"ERP: {f.erp.failed:,} purchase orders refused, {f.erp.recovered:,} recovered since; "
            f"{f.erp.failing_now:,} waiting now"
        )
    lines.append(f"Exceptions (stops, rejections, questions, escalations, ERP failures): {f.exceptions:,}")
    return lines


def weekly_summary(f: WeekFigures) -> str:
    start, end = f.window.start, f.window.end
    head = f"Procurement, week of {start:%b %d} to {end:%b %d} ({f.scope.label()}):"
    return (
        head
        + "\n"
        + "\n".join(f"  \u2022 {line}" for line in figure_lines(f))
        + ("\nThe console's dashboard has the detail per site, stage and approver.")
    )
