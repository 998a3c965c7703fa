"""How the console writes times, durations, shares and amounts (the templates' filters)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from approvals.attachments import megabytes
from approvals.clock import as_utc


def when(at: datetime | None) -> str:
    at = as_utc(at)
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "–"


def hours(seconds: float | None) -> str:
    """A duration in the unit its size calls for: seconds, minutes, hours, days (never "0 min" for 40 seconds)."""
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    h = seconds / 3600
    return f"{h:.1f} h" if h < 48 else f"{h / 24:.1f} d"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def thousands(value: int) -> str:
    return f"{value:,}"


def money(value: Any) -> str:
    """Whole units, as budgets are read."""
    return f"{value:,.0f}"


def amount(value: Any) -> str:
    """To the cent, as a requisition's amount is read."""
    return f"{value:,.2f}"


def plain(value: Decimal) -> str:
    """A decimal without trailing zeros or an exponent: 24, 40, 0.5."""
    return f"{value.normalize():f}"


FILTERS = {
    "when": when,
    "hours": hours,
    "pct": pct,
    "thousands": thousands,
    "money": money,
    "amount": amount,
    "plain": plain,
    "filesize": megabytes,
}
