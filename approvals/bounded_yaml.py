"""YAML read within bounds: size, nesting depth and node count checked, anchors and aliases refused, before any
document is built.

PyYAML builds a document from its event stream, and every later step (our line map, the schema) walks what it
built. An alias is a second path to the same node, so a few hundred bytes of nested aliases ("billion laughs")
become billions of nodes to walk, and deep nesting exhausts the recursion of the composer. The event stream
itself costs time in proportion to the text, so counting its events first (and stopping at the first one over a
limit) costs milliseconds whatever the file holds. Policy and directory files never need anchors: a value is
written where it applies, which is also what a reviewer reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

# Limits of a policy file (and of a policy's test cases): far above any real one (the example: 7 levels, 861 events)
POLICY_LIMITS_BYTES = 2_000_000
POLICY_LIMITS_DEPTH = 40
POLICY_LIMITS_NODES = 200_000


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_depth: int
    max_nodes: int


POLICY = Limits(POLICY_LIMITS_BYTES, POLICY_LIMITS_DEPTH, POLICY_LIMITS_NODES)
# a directory lists every person, site and catalog item: larger, but no deeper (the example: 6 levels)
DIRECTORY = Limits(max_bytes=50_000_000, max_depth=40, max_nodes=5_000_000)


class YamlRefused(ValueError):
    """The text is over a limit or uses a YAML feature we refuse; `line` is where it was found (1-based)."""

    def __init__(self, message: str, line: int | None, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.hint = hint


_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_NODES = (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)
# libyaml when PyYAML was built with it: the pure-Python scanner looks ahead quadratically on deep flow nesting
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def check_bounds(text: str | bytes, limits: Limits, what: str = "file") -> None:
    """Raise YamlRefused if `text` is too large, too deep, has too many nodes, or uses an anchor or alias.
    Raises yaml.YAMLError for text that is not YAML at all (the caller reports it as it reports any)."""
    size = len(text)  # a str's UTF-8 form is longer only when some characters take several bytes
    if isinstance(text, str) and size <= limits.max_bytes < 4 * size:
        size = len(text.encode("utf-8", "replace"))
    if size > limits.max_bytes:
        raise YamlRefused(
            f"the {what} is {size:,} bytes; the limit is {limits.max_bytes:,}",
            None,
            "check you chose the right file; a real one is far smaller",
        )
    try:
        _walk(text, limits, what)
    except yaml.YAMLError as exc:
        if "nesting depth" not in str(exc):
            raise
        # libyaml's own limit (1000 levels) can come first: it scans ahead before it hands over the events
        mark = getattr(exc, "problem_mark", None)
        raise _too_deep(limits, what, mark.line + 1 if mark else None) from None


def _too_deep(limits: Limits, what: str, line: int | None) -> YamlRefused:
    return YamlRefused(
        f"the {what} nests deeper than {limits.max_depth} levels", line, "flatten it: a real one needs fewer than ten"
    )


def _walk(text: str | bytes, limits: Limits, what: str) -> None:
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_LOADER):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlRefused(
                f"YAML anchors and aliases (&name, *name, <<: *name) are not allowed in a {what}",
                line,
                "write the value out in full where it applies",
            )
        if isinstance(event, _NODES):
            nodes += 1
            if nodes > limits.max_nodes:
                raise YamlRefused(
                    f"the {what} has more than {limits.max_nodes:,} values",
                    line,
                    "split it up or remove what it does not need",
                )
        if isinstance(event, _OPEN):
            depth += 1
            if depth > limits.max_depth:
                raise _too_deep(limits, what, line)
        elif isinstance(event, _CLOSE):
            depth -= 1
