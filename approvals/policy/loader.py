"""Load a policy file: YAML with line numbers, schema validation, compiled conditions.

A policy either loads completely or is refused with every problem located at file:line
and a hint; a half-loaded policy never exists.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import ValidationError

from approvals.bounded_yaml import POLICY, YamlRefused, check_bounds
from approvals.errors import PolicyInvalid, PolicyIssue
from approvals.policy.conditions import ConditionProblem, Node, Predicate, compile_condition, parse_condition
from approvals.policy.schema import (
    APPROVER_TAG,
    GROUP_TAG,
    OverlaySpec,
    PolicyFile,
    RuleSpec,
    ServiceLevelSpec,
    StopSpec,
)

MAX_POLICY_BYTES = POLICY.max_bytes

Path_ = tuple[Any, ...]

# what a compiled rule holds: a stop, a routing rule or an overlay, as the section it came from says
SpecT = TypeVar("SpecT", bound=RuleSpec | StopSpec | OverlaySpec | ServiceLevelSpec)


@dataclass(frozen=True)
class CompiledRule(Generic[SpecT]):
    spec: SpecT
    condition: Node
    matches: Predicate
    line: int | None

    @cached_property
    def id(self) -> str:  # cached: routing says which stop or rule decided every request
        return self.spec.id


@dataclass
class LoadedPolicy:
    """A validated policy, its identity (version + content hash) and its compiled rules."""

    spec: PolicyFile
    content_hash: str
    source: str
    filename: str
    stops: list[CompiledRule[StopSpec]]
    rules: list[CompiledRule[RuleSpec]]
    overlays: list[CompiledRule[OverlaySpec]]
    lines: dict[Path_, int] = field(repr=False, default_factory=dict)
    service_levels: list[CompiledRule[ServiceLevelSpec]] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.spec.policy.version

    @property
    def currency(self) -> str:
        return self.spec.policy.currency

    @property
    def label(self) -> str:
        return f"{self.version} (sha256:{self.content_hash[:12]})"

    def line_of(self, *path: Any) -> int | None:
        """Best line for a path: the deepest prefix we know."""
        for n in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:n]))
            if line is not None:
                return line
        return None


class _LineLoader(yaml.SafeLoader):
    """A safe loader that also records duplicate keys (plain PyYAML keeps the last silently)."""


def line_map(text: str) -> tuple[dict[Path_, int], list[tuple[Path_, int, str]]]:
    """The line of every key and item of a YAML text, and the keys that appear twice (with their lines)."""
    root = yaml.compose(text, Loader=_LineLoader)
    lines: dict[Path_, int] = {}
    duplicates: list[tuple[Path_, int, str]] = []

    def walk(node: yaml.Node, path: Path_) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    duplicates.append((path + (key,), key_node.start_mark.line + 1, str(key)))
                seen.add(key)
                lines[path + (key,)] = key_node.start_mark.line + 1
                walk(value_node, path + (key,))
                lines[path + (key,)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (i,))

    if root is not None:
        walk(root, ())
    return lines, duplicates


# what to do about a schema error, by pydantic error type (policy files and cases files)
SCHEMA_HINTS = {
    "extra_forbidden": "remove it or check the spelling; docs/policy.md lists every key",
    "missing": "add this key; docs/policy.md shows an example",
    "literal_error": "use one of the listed values",
    "decimal_parsing": "write a plain number, e.g. 5000 or 12.5",
    "int_parsing": "write a whole number",
    "greater_than": "use a positive number",
    "too_short": "add at least one entry",
    "string_pattern_mismatch": "use lower-case letters, digits, dots, dashes and underscores",
    "bool_parsing": "write true or false",
    "dict_type": "this must be a mapping (key: value lines)",
    "tuple_type": "this must be a list (lines starting with '- ')",
}


def human_loc(loc: Path_) -> str:
    """A location in the YAML as people write it: rules[2].when.amount."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top>"


def load_policy_text(text: str, filename: str = "<policy>") -> LoadedPolicy:
    """Validate and compile policy text. Raises PolicyInvalid listing every problem found."""
    try:
        check_bounds(text, POLICY, "policy file")  # before anything is built: see approvals/bounded_yaml.py
        lines, duplicates = line_map(text)
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader
    except YamlRefused as exc:
        raise PolicyInvalid([PolicyIssue("error", "yaml", exc.message, filename, exc.line, exc.hint)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        hint = "check indentation (spaces, not tabs) and that every `key:` has a value"
        issue = PolicyIssue("error", "yaml", f"not valid YAML: {problem}", filename, line, hint)
        raise PolicyInvalid([issue]) from None

    issues = [
        PolicyIssue(
            "error",
            "schema",
            f"key `{key}` appears twice",
            filename,
            line,
            "keep one; with two, only the last would count",
        )
        for _, line, key in duplicates
    ]
    if not isinstance(data, dict):
        issues.append(
            PolicyIssue(
                "error",
                "schema",
                "a policy file is a mapping with `policy:` and `rules:`",
                filename,
                1,
                "start from examples/policy.yaml",
            )
        )
        raise PolicyInvalid(issues)

    def line_for(loc: Path_) -> int | None:
        for n in range(len(loc), -1, -1):
            if tuple(loc[:n]) in lines:
                return lines[tuple(loc[:n])]
        return None

    try:
        spec = PolicyFile.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # a list whose items failed is also "too short" after validation: only the items' own errors are news
        inner = [tuple(e["loc"]) for e in errors]
        errors = [
            e
            for e in errors
            if not (
                e["type"] == "too_short"
                and any(len(o) > len(e["loc"]) and o[: len(e["loc"])] == tuple(e["loc"]) for o in inner)
            )
        ]
        for err in errors:
            # a group's members are a tagged union: the tag says which shape was tried, not where in the file
            loc = tuple(part for part in err["loc"] if part not in (GROUP_TAG, APPROVER_TAG))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key `{loc[-1]}`" if loc else msg
            issues.append(
                PolicyIssue(
                    "error",
                    "schema",
                    f"{human_loc(loc)}: {msg}",
                    filename,
                    line_for(loc),
                    SCHEMA_HINTS.get(err["type"], ""),
                    human_loc(loc),
                )
            )
        raise PolicyInvalid(issues) from None

    problems: list[ConditionProblem] = []

    def compiled(section: str, items: tuple[SpecT, ...]) -> list[CompiledRule[SpecT]]:
        out: list[CompiledRule[SpecT]] = []
        for i, item in enumerate(items):
            node = parse_condition(item.when, (section, i, "when"), problems)
            out.append(CompiledRule(item, node, compile_condition(node), lines.get((section, i))))
        return out

    stops = compiled("stops", spec.stops)
    rules = compiled("rules", spec.rules)
    overlays = compiled("overlays", spec.overlays)
    service_levels = compiled("service_levels", spec.service_levels)
    for p in problems:
        issues.append(
            PolicyIssue(
                "error",
                "condition",
                f"{human_loc(p.path)}: {p.message}",
                filename,
                line_for(p.path),
                p.hint,
                human_loc(p.path),
            )
        )
    if issues:
        raise PolicyInvalid(issues)

    content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return LoadedPolicy(spec, content_hash, text, filename, stops, rules, overlays, lines, service_levels)


def load_policy(path: str | Path) -> LoadedPolicy:
    """Read a policy file from disk (see load_policy_text)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise PolicyInvalid([PolicyIssue("error", "file", f"cannot read policy: {exc.strerror}", str(p))]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyInvalid(
            [PolicyIssue("error", "file", "policy is not UTF-8 text", str(p), hint="save the file as UTF-8")]
        ) from None
    return load_policy_text(text, str(p))


def rate_to_policy_currency(policy: LoadedPolicy, currency: str) -> Decimal | None:
    """Units of policy currency per one unit of `currency`; None if the policy has no rate."""
    if currency == policy.currency:
        return Decimal(1)
    return policy.spec.rates.get(currency)
