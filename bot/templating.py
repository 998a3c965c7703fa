"""Server-rendered HTML: each surface (the console, the web chat, cards) renders Jinja2 templates from its
package's templates/ folder.

Every value a template prints is escaped (autoescape on .html templates), so data from requesters, approvers
or policy files is shown as text, never run as markup; a name the view forgot to pass is an error, not an
empty string. Templates ship as package data, so a non-editable install finds them too.
"""

from __future__ import annotations

from typing import Any, Callable

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def environment(package: str, **filters: Callable[..., Any]) -> Environment:
    """The template environment of one surface: `package`'s templates/, plus the filters its pages format with."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters)
    return env
