"""The dashboard's charts say honest things on small data: durations in the unit their size calls for, labels
whole or cut with an ellipsis, and names instead of codes."""

from __future__ import annotations

from bot.console.charts import bars
from bot.console.formats import hours


def test_durations_use_the_unit_their_size_calls_for():
    """Forty seconds reads "40 s", not "0 min"; ten minutes, two hours and three days read as such."""
    assert [hours(40), hours(600), hours(7200), hours(3 * 86400), hours(None)] == [
        "40 s",
        "10 min",
        "2.0 h",
        "3.0 d",
        "–",
    ]


def test_a_long_label_is_kept_whole_or_cut_with_an_ellipsis():
    """'Regional operations' fits whole; a 40-character stage name ends in an ellipsis instead of losing its start."""
    chart = bars("t", [("Regional operations", 60, 120), ("A stage name that goes on and on and on", 30, 40)])
    whole, cut = (bar.label for bar in chart.bars)
    assert whole == "Regional operations"
    assert cut.startswith("A stage name") and cut.endswith("…") and len(cut) <= 24


def test_the_dashboard_rows_name_sites_suppliers_and_categories(directory):
    """Distribution rows keyed by codes are labelled 'Dallas DC', 'Uline' and 'Packaging'; an unknown code stays."""
    from approvals.metrics.queries import Distribution
    from bot.console.dashboard import _category_name, _dist_rows, _site_name, _supplier_name

    def rows(keys, name):  # type: ignore[no-untyped-def]
        items = [Distribution(key=k, count=3, median_seconds=60, p90_seconds=90) for k in keys]
        return [label for label, *_ in _dist_rows(items, name(directory))]

    assert rows(["DAL"], _site_name) == ["Dallas DC"]
    assert sorted(rows(["uline", "gone-supplier"], _supplier_name)) == ["Uline", "gone-supplier"]
    assert rows(["packaging"], _category_name) == ["Packaging"]
