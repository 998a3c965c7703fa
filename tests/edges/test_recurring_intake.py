"""The intake and recurring purchases: a repeat with no end is asked for one; a term becomes a release schedule."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.intake.draft import DraftState, merge, questions
from bot.intake.extract import Extractor

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)


def _draft(directory, text: str) -> DraftState:  # type: ignore[no-untyped-def]
    draft = DraftState()
    merge(draft, Extractor(directory).extract(text, now=NOW))
    return draft


def test_a_repeat_with_no_end_is_asked_how_long_it_runs(directory):
    """ "$980 a month" with no term: the first question is how many months, saying each month is its own order."""
    draft = _draft(directory, "janitorial service from cintas $980 a month for DAL")
    first = questions(draft, directory)[0]
    assert first.field == "quantity"
    assert first.text.startswith("For how many months should janitorial service run?")
    assert "12 for a year" in first.text


def test_a_repeat_with_its_term_asks_nothing_about_it(directory):
    """ "$980 a month for a year" says its end: no question about how long."""
    draft = _draft(directory, "janitorial service from cintas $980 a month for a year for DAL")
    assert all(q.field != "quantity" for q in questions(draft, directory))
