"""`policy test`: the policy owner's own examples, "given this request, expect this route".

A cases file (see docs/policy.md and examples/policy-cases.yaml):

    cases:
      - name: Dallas stretch wrap goes to the requester's manager
        request: {requester: jake.miller, site: DAL, cost_center: DAL-OPS, supplier: uline,
                  lines: [{description: stretch wrap, sku: PKG-SW-18, quantity: 40, unit_price: 32}]}
        committed: 0                    # optional: spend already approved on the cost center
        at: 2026-12-01T15:00:00Z        # optional: routing time (delegations depend on it)
        delegations: []                 # optional: {delegator, delegate, starts_at, ends_at, ...}
        expect: {outcome: approval, rule: standard-small, stages: [[zoe.martin]]}

Each case runs the same path a real submission does: RequisitionDraft, validate_draft,
build_facts, route. Only the expectations that are written are compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from approvals.bounded_yaml import POLICY, YamlRefused, check_bounds
from approvals.clock import Clock, utcnow
from approvals.delegation import DelegationWindow
from approvals.directory import Directory
from approvals.errors import PolicyIssue, ProcurebotError
from approvals.policy.loader import SCHEMA_HINTS, LoadedPolicy, human_loc, line_map
from approvals.policy.routing import RoutePlan, route
from approvals.requisition import RequisitionDraft, build_facts, validate_draft


class CasesInvalid(ProcurebotError):
    """The cases file could not be read; no case was run."""

    code = "cases_invalid"

    def __init__(self, issues: list[PolicyIssue]) -> None:
        self.issues = issues
        super().__init__("The cases file is invalid:\n" + "\n".join(i.render() for i in issues))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DelegationCase(_Strict):
    delegator: str
    delegate: str
    starts_at: datetime
    ends_at: datetime
    category: str | None = None
    max_amount: Decimal | None = None


class Expect(_Strict):
    """What the route must be. Anything left out is not compared."""

    outcome: Literal["auto_approve", "approval", "stop"] | None = None
    rule: str | None = None  # write `rule: null` to expect "no rule matched"
    stages: list[list[str] | str] | None = None  # per stage: approver ids, or the stage's name
    approvers: list[str] | None = None  # everyone who approves, any stage
    acting: list[list[str]] | None = None  # per stage: who receives it now (after delegation)
    overlays: list[str] | None = None
    reason_contains: str | None = None
    stop_reason: str | None = None  # the whole stop reason, exactly
    notes_contain: list[str] | str | None = None
    explanation_contains: list[str] | str | None = None  # every fragment must appear
    modes: list[Literal["any", "all", "quorum"]] | None = None  # per stage
    required: list[int] | None = None  # per stage: approvals needed
    sla_hours: list[Decimal] | None = None  # per stage
    reminders: list[dict[Literal["first_after_hours", "every_hours", "max"], Decimal]] | None = None  # per stage
    informed: list[list[str]] | list[str] | None = None  # per stage, or everyone informed on the route
    service_level: str | None = None  # write `service_level: null` to expect none


class Case(_Strict):
    name: str = Field(min_length=1, max_length=200)
    request: RequisitionDraft
    committed: Decimal = Decimal(0)
    history: dict[Literal["avg_qty", "avg_amount"], Decimal] = Field(
        default_factory=dict
    )  # the requester's recent orders
    at: datetime | None = None
    delegations: list[DelegationCase] = Field(default_factory=list)
    expect: Expect


class CasesFile(_Strict):
    cases: list[Case] = Field(min_length=1)


@dataclass(frozen=True)
class Difference:
    what: str
    expected: Any
    got: Any


@dataclass
class CaseResult:
    name: str
    line: int | None
    passed: bool
    differences: list[Difference] = field(default_factory=list)
    plan: RoutePlan | None = None
    refused: list[str] = field(default_factory=list)  # request failed validation

    def render(self, filename: str = "") -> str:
        where = f" ({filename}:{self.line})" if filename and self.line else ""
        if self.passed:
            return f"PASS  {self.name}"
        out = [f"FAIL  {self.name}{where}"]
        for problem in self.refused:
            out.append(f"      request refused: {problem}")
        for d in self.differences:
            out.append(f"      failed: {d.what}: expected {_show(d.expected)}, got {_show(d.got)}")
        if self.plan is not None:
            out.append(f"      route: {self.plan.explanation}")
            for note in self.plan.notes:
                out.append(f"      note: {note}")
        return "\n".join(out)


@dataclass
class CasesReport:
    filename: str
    results: list[CaseResult]

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def passed(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return f"{len(self.results) - len(self.failed)} passed, {len(self.failed)} failed"

    def render(self) -> str:
        return "\n".join([*(r.render(self.filename) for r in self.results), self.summary()])


class DelegationsFile(_Strict):
    """A file of delegation windows for `policy route --delegations` and `policy simulate --delegations`."""

    delegations: list[DelegationCase]


def delegation_windows(items: list[DelegationCase]) -> tuple[DelegationWindow, ...]:
    """Delegation windows as routing reads them (times without a zone are UTC)."""
    return tuple(
        DelegationWindow(d.delegator, d.delegate, _aware(d.starts_at), _aware(d.ends_at), d.category, d.max_amount)
        for d in items
    )


def load_delegations(text: str, filename: str = "<delegations>") -> tuple[DelegationWindow, ...]:
    """Read `delegations: [{delegator, delegate, starts_at, ends_at, category?, max_amount?}]` (YAML or JSON);
    raises CasesInvalid with file:line for every problem."""
    try:
        check_bounds(text, POLICY, "delegations file")
        lines, _ = line_map(text)
        data = yaml.safe_load(text)
    except YamlRefused as exc:
        raise CasesInvalid([PolicyIssue("error", "yaml", exc.message, filename, exc.line, exc.hint)]) from None
    except yaml.YAMLError as exc:
        raise CasesInvalid([PolicyIssue("error", "yaml", f"not valid YAML or JSON: {exc}", filename)]) from None
    try:
        parsed = DelegationsFile.model_validate(data if isinstance(data, dict) else {"delegations": data})
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)
            msg = err["msg"].removeprefix("Value error, ")
            issues.append(
                PolicyIssue("error", "schema", f"{human_loc(loc)}: {msg}", filename, line, "", human_loc(loc))
            )
        raise CasesInvalid(issues) from None
    return delegation_windows(parsed.delegations)


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def load_cases(
    text: str, filename: str = "<cases>", policy: LoadedPolicy | None = None
) -> list[tuple[Case, int | None]]:
    """Parse and validate a cases file; raises CasesInvalid with file:line for every problem."""
    try:
        check_bounds(text, POLICY, "cases file")  # before anything is built: see approvals/bounded_yaml.py
        lines, duplicates = line_map(text)
        data = yaml.safe_load(text)
    except YamlRefused as exc:
        raise CasesInvalid([PolicyIssue("error", "yaml", exc.message, filename, exc.line, exc.hint)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CasesInvalid(
            [
                PolicyIssue(
                    "error",
                    "yaml",
                    f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                    filename,
                    mark.line + 1 if mark else None,
                    "check indentation (spaces, not tabs)",
                )
            ]
        ) from None

    def line_for(loc: tuple[Any, ...]) -> int | None:
        for n in range(len(loc), -1, -1):
            if tuple(loc[:n]) in lines:
                return lines[tuple(loc[:n])]
        return None

    issues = [
        PolicyIssue("error", "schema", f"key `{key}` appears twice", filename, line, "keep one")
        for _, line, key in duplicates
    ]
    if not isinstance(data, dict):
        raise CasesInvalid(
            issues
            + [
                PolicyIssue(
                    "error",
                    "schema",
                    "a cases file is a mapping with `cases:`",
                    filename,
                    1,
                    "start from examples/policy-cases.yaml",
                )
            ]
        )
    try:
        parsed = CasesFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key `{loc[-1]}`"
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
        raise CasesInvalid(issues) from None
    if policy is not None:
        known = {r.id for r in policy.stops} | {r.id for r in policy.rules}
        overlays = {o.id for o in policy.overlays}
        for i, case in enumerate(parsed.cases):
            rule = case.expect.rule
            if rule is not None and rule not in known:
                issues.append(
                    PolicyIssue(
                        "error",
                        "schema",
                        f"case {case.name!r}: rule `{rule}` is not in the policy",
                        filename,
                        line_for(("cases", i, "expect", "rule")),
                        "use the id of a stop or rule",
                    )
                )
            for name in case.expect.overlays or ():
                if name not in overlays:
                    issues.append(
                        PolicyIssue(
                            "error",
                            "schema",
                            f"case {case.name!r}: overlay `{name}` is not in the policy",
                            filename,
                            line_for(("cases", i, "expect", "overlays")),
                            "use an overlay id",
                        )
                    )
    if issues:
        raise CasesInvalid(issues)
    return [(case, lines.get(("cases", i))) for i, case in enumerate(parsed.cases)]


def run_case(
    case: Case, policy: LoadedPolicy, directory: Directory, line: int | None = None, *, clock: Clock = utcnow
) -> CaseResult:
    """Route one case's request and compare with what it expects; a case without `at` is routed at `clock()`."""
    draft = case.request
    errors = validate_draft(draft, directory, policy)
    if errors:
        return CaseResult(case.name, line, False, refused=[f"{e.field}: {e.message}" for e in errors])
    facts = build_facts(
        draft, directory, policy, committed=case.committed, history={str(k): v for k, v in case.history.items()}
    )
    windows = delegation_windows(case.delegations)
    at = _aware(case.at) if case.at else clock()
    plan = route(facts, policy, directory, windows, at)
    diffs = compare(case.expect, plan)
    return CaseResult(case.name, line, not diffs, diffs, plan)


def compare(expect: Expect, plan: RoutePlan) -> list[Difference]:
    """Every way the plan differs from what was written in `expect`."""
    diffs: list[Difference] = []
    given = expect.model_fields_set
    if expect.outcome is not None and expect.outcome != plan.outcome:
        diffs.append(Difference("outcome", expect.outcome, plan.outcome))
    if "rule" in given and expect.rule != plan.rule_id:
        diffs.append(Difference("rule", expect.rule, plan.rule_id))
    if expect.stages is not None:
        got_ids, got_names = plan.approvers, [s.name for s in plan.stages]
        same = len(expect.stages) == len(plan.stages) and all(
            (want == got_names[i]) if isinstance(want, str) else sorted(want) == sorted(got_ids[i])
            for i, want in enumerate(expect.stages)
        )
        if not same:
            shown = [
                got_names[i] if i < len(expect.stages) and isinstance(expect.stages[i], str) else got_ids[i]
                for i in range(len(plan.stages))
            ]
            diffs.append(Difference("stages", expect.stages, shown))
    if expect.approvers is not None:
        got = sorted({a for stage in plan.approvers for a in stage})
        if sorted(set(expect.approvers)) != got:
            diffs.append(Difference("approvers", sorted(set(expect.approvers)), got))
    if expect.acting is not None:
        got_acting = [[step.acting for step in s.steps] for s in plan.stages]
        if [sorted(x) for x in expect.acting] != [sorted(x) for x in got_acting]:
            diffs.append(Difference("acting", expect.acting, got_acting))
    if expect.overlays is not None and sorted(expect.overlays) != sorted(plan.overlays):
        diffs.append(Difference("overlays", expect.overlays, list(plan.overlays)))
    if expect.reason_contains is not None and expect.reason_contains.lower() not in (plan.stop_reason or "").lower():
        diffs.append(Difference("reason contains", expect.reason_contains, plan.stop_reason))
    if expect.stop_reason is not None and expect.stop_reason != plan.stop_reason:
        diffs.append(Difference("stop reason", expect.stop_reason, plan.stop_reason))
    fragments = (
        [expect.explanation_contains]
        if isinstance(expect.explanation_contains, str)
        else expect.explanation_contains or []
    )
    for fragment in fragments:
        if fragment.lower() not in plan.explanation.lower():
            diffs.append(Difference("explanation contains", fragment, plan.explanation))
    per_stage: list[tuple[str, list[Any] | None, list[Any]]] = [
        ("stage modes", expect.modes, [s.own_mode for s in plan.stages]),
        ("required approvals per stage", expect.required, [s.required for s in plan.stages]),
        ("SLA hours per stage", expect.sla_hours, [s.sla_hours for s in plan.stages]),
    ]
    for what, want, got in per_stage:
        if want is not None and list(want) != got:
            diffs.append(Difference(what, want, got))
    if expect.reminders is not None:
        got_reminders = [s.reminders or {} for s in plan.stages]
        same = len(expect.reminders) == len(got_reminders) and all(
            all(Decimal(str(got.get(k))) == v for k, v in want.items())
            for want, got in zip(expect.reminders, got_reminders)
        )
        if not same:
            diffs.append(Difference("reminders per stage", expect.reminders, got_reminders))
    if expect.informed is not None:
        if all(isinstance(x, str) for x in expect.informed):
            if sorted(map(str, expect.informed)) != sorted(plan.informed):
                diffs.append(Difference("informed", expect.informed, list(plan.informed)))
        else:
            got_informed = [list(s.informed) for s in plan.stages]
            want_informed = [sorted(x) for x in expect.informed if isinstance(x, list)]
            if want_informed != [sorted(x) for x in got_informed]:
                diffs.append(Difference("informed per stage", expect.informed, got_informed))
    if "service_level" in given and expect.service_level != plan.service_level:
        diffs.append(Difference("service level", expect.service_level, plan.service_level))
    wanted_notes = [expect.notes_contain] if isinstance(expect.notes_contain, str) else expect.notes_contain or []
    for text in wanted_notes:
        if not any(text.lower() in note.lower() for note in plan.notes):
            diffs.append(Difference("notes contain", text, list(plan.notes)))
    return diffs


def run_cases(policy: LoadedPolicy, directory: Directory, cases: str | Path, *, clock: Clock = utcnow) -> CasesReport:
    """Run every case in a cases file (a path, or the YAML text itself) against a policy."""
    filename = "<cases>"
    if isinstance(cases, Path) or ("\n" not in cases and Path(cases).is_file()):
        filename = str(cases)
        try:
            text = Path(cases).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CasesInvalid([PolicyIssue("error", "file", f"cannot read cases: {exc}", filename)]) from None
    else:
        text = str(cases)
    loaded = load_cases(text, filename, policy)
    return CasesReport(filename, [run_case(case, policy, directory, line, clock=clock) for case, line in loaded])
