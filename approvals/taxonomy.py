"""The spend taxonomy's own rules: one category per code, parents that exist and never loop.

The directory (approvals/directory.py) holds the categories; this module checks them. A file is checked on its
raw YAML first, so a duplicate code or a cycle of parents is refused with the file and line of the entry to fix;
a directory built in code is checked again without lines.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml


def problems(entries: Sequence[tuple[str, str | None]], where: Sequence[str] | None = None) -> list[str]:
    """Duplicate codes, unknown parents and parent cycles among (code, parent) pairs; `where[i]` names entry i
    ("company.yaml:61") in the messages when given."""
    at = list(where) if where is not None else [""] * len(entries)

    def named(i: int) -> str:
        return f"{at[i]}: " if at[i] else ""

    out: list[str] = []
    first: dict[str, int] = {}
    for i, (code, _) in enumerate(entries):
        if code in first:
            out.append(
                f"{named(i)}duplicate category code {code!r} (first defined"
                + (f" at {at[first[code]]})" if at[first[code]] else " earlier)")
                + "; give each category its own code, or merge the two entries"
            )
        else:
            first[code] = i
    parent_of = {code: parent for code, parent in entries}
    for i, (code, parent) in enumerate(entries):
        if parent is not None and parent not in parent_of:
            out.append(f"{named(i)}category {code}: parent {parent!r} is not a category")
    reported: set[frozenset[str]] = set()
    for i, (code, _) in enumerate(entries):
        loop = _cycle_from(code, parent_of)
        if loop and frozenset(loop) not in reported and first.get(code) == i:
            reported.add(frozenset(loop))
            out.append(
                f"{named(i)}categories form a cycle of parents: {' -> '.join(loop + [loop[0]])}; "
                "a category cannot be its own ancestor"
            )
    return out


def _cycle_from(code: str, parent_of: dict[str, str | None]) -> list[str] | None:
    path: list[str] = []
    current: str | None = code
    while current is not None and current in parent_of:
        if current in path:
            loop = path[path.index(current) :]
            return loop if loop[0] == code else None  # reported from the cycle's own members only
        path.append(current)
        current = parent_of[current]
    return None


def check_file(raw: bytes, name: str) -> list[str]:
    """The taxonomy problems of a directory file, each starting with `name:line` of the category to fix."""
    try:
        root = yaml.compose(raw)
    except yaml.YAMLError:
        return []  # the loader reports unreadable YAML itself
    if not isinstance(root, yaml.MappingNode):
        return []
    node = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "categories"), None)
    if not isinstance(node, yaml.SequenceNode):
        return []
    entries: list[tuple[str, str | None]] = []
    where: list[str] = []
    for entry in node.value:
        if not isinstance(entry, yaml.MappingNode):
            continue
        fields = {k.value: v for k, v in entry.value if isinstance(k, yaml.ScalarNode)}
        code, parent = fields.get("code"), fields.get("parent")
        if not isinstance(code, yaml.ScalarNode):
            continue
        parent_code = (
            parent.value if isinstance(parent, yaml.ScalarNode) and parent.value not in ("", "~", "null") else None
        )
        entries.append((str(code.value), parent_code))
        where.append(f"{name}:{code.start_mark.line + 1}")
    return problems(entries, where)


def ancestors(code: str, parent_of: dict[str, str | None]) -> list[str]:
    """The category's parents, nearest first (the taxonomy was checked: no cycles)."""
    out: list[str] = []
    current = parent_of.get(code)
    while current is not None and current not in out:
        out.append(current)
        current = parent_of.get(current)
    return out
