"""'/purchase stats' or 'how are we doing this week?': the key figures for what the asker may see."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Engine

from approvals.directory import Directory, Person
from approvals.metrics import last_days, scope_for, week_figures
from approvals.metrics.text import figure_lines
from bot.intake import texts

MONTH = re.compile(r"\bmonth\b|\b30 days\b", re.I)


def answer(engine: Engine, directory: Directory, person: Person, text: str, now: datetime) -> str:
    """The last 7 days (or 30 when the question says month) in the asker's scope, in a few lines."""
    scope = scope_for(person, directory)
    if scope.empty:
        return texts.STATS_NO_SCOPE
    days = 30 if MONTH.search(text) else 7
    figures = week_figures(engine, last_days(now, days), scope)
    return texts.stats(days, scope.label(), figure_lines(figures))
