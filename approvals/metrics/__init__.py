"""Process intelligence: where requisitions stall, computed in SQL from our own tables.

`queries` holds one function per metric (see its docstring for the definitions), `report` the
dashboard and the chat figures, `indexes` the indexes the queries rely on.
"""

from approvals.metrics import indexes  # noqa: F401  (the indexes join the tables' metadata)
from approvals.metrics.queries import Distribution, Rate, Scope, Window
from approvals.metrics.report import Dashboard, WeekFigures, dashboard, last_days, scope_for, week_figures

__all__ = [
    "Dashboard",
    "Distribution",
    "Rate",
    "Scope",
    "WeekFigures",
    "Window",
    "dashboard",
    "last_days",
    "scope_for",
    "week_figures",
]
