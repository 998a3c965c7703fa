"""Routing: facts + policy + directory (+ delegations) -> a route plan with its explanation.

A pure, deterministic function. Every step in the plan names the rule that produced it and
says in one line why that person was chosen, including every substitution made for approval
limits, segregation of duties or delegation.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, TypeVar

from approvals import groups
from approvals.delegation import DelegationWindow, resolve_delegate
from approvals.directory import Directory, Person
from approvals.policy.conditions import (
    All,
    AnyOf,
    Node,
    Not,
    Predicate,
    Test,
    compile_condition,
    describe,
    split_conjunction,
)
from approvals.policy.facts import FACTS, MULTI_VALUED
from approvals.policy.loader import CompiledRule, LoadedPolicy
from approvals.policy.schema import ApproverSpec, GroupSpec, RuleSpec, ServiceLevelSpec, StageSpec

Outcome = Literal["auto_approve", "approval", "stop"]
_INDEX_LIMIT = 4096  # cached masks per fact; values beyond it are computed each time
_T = TypeVar("_T")


def _fills_at_once(cls: type[_T]) -> type[_T]:
    """Give a frozen dataclass an __init__ that fills the new instance's __dict__ in one step.

    The __init__ a frozen dataclass gets calls object.__setattr__ once per field; routing builds a route, its stages
    and their steps for every request, and those calls cost about an eighth of route(). The new __init__ takes the
    same arguments with the same defaults and sets the same fields; the instance stays frozen (assigning a field
    still raises FrozenInstanceError), equal, hashed and printed as before."""
    params: list[str] = []
    items: list[str] = []
    namespace: dict[str, Any] = {"_set": object.__setattr__}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.default_factory is not MISSING or not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: only plain fields and plain defaults are filled at once")
        if f.default is MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        items.append(f"{f.name!r}: {f.name}")
    source = f"def __init__(self, {', '.join(params)}):\n    _set(self, '__dict__', {{{', '.join(items)}}})\n"
    exec(source, namespace)  # noqa: S102 - our own field names only, as dataclasses itself builds __init__
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)
    return cls


@_fills_at_once
@dataclass(frozen=True)
class StepPlan:
    approver: str
    approver_name: str
    resolved_via: str
    explanation: str
    acting: str  # who receives it now: the approver or their delegate
    substitutions: tuple[str, ...] = ()
    # separation of duties decided when people act (settings.separation_of_duties: acted): the earlier stage this
    # approver may approve, which would leave this step to `fallback` ({approver, approver_name, acting})
    provisional: str | None = None
    fallback: dict[str, str] | None = None


@_fills_at_once
@dataclass(frozen=True)
class StagePlan:
    index: int
    name: str
    mode: str
    required: int  # approvals needed to complete the stage
    rule_id: str
    explanation: str
    sla_hours: Decimal
    escalate_to: dict[str, Any] | None
    escalation: str
    steps: tuple[StepPlan, ...]
    notes: tuple[str, ...] = ()  # people a role or group named but who were left out, and why
    check_limits: bool = True
    reminders: dict[str, Any] | None = None  # first_after_hours, every_hours, max for this stage's steps
    informed: tuple[str, ...] = ()  # people told when the stage starts; they never act on it
    service_level: str | None = None  # the service level that set SLA / reminders / escalation, if any
    # a stage decided by a tree of groups (approvals.groups); its `mode` is then "group" and the tree's root says
    # all/any/quorum. Also set when a step is kept provisionally under separation_of_duties: acted.
    group: dict[str, Any] | None = None
    inform_at_end: bool = False  # the informed people are told how the stage ended, too

    @property
    def own_mode(self) -> str:
        """The mode the policy wrote for the stage (the tree's root for a stage of groups)."""
        return str(self.group["mode"]) if self.group else self.mode

    def waiting_text(self) -> str:
        """Who the stage asks, as people read it: "Maria Lopez and one of: Dana Reyes or Sam Ortiz"."""
        if self.group:
            return groups.describe(self.group, lambda i: self.steps[i].approver_name)
        return ", ".join([step.approver_name for step in self.steps])


@_fills_at_once
@dataclass(frozen=True)
class RoutePlan:
    outcome: Outcome
    policy_version: str
    policy_hash: str
    rule_id: str | None
    explanation: str
    stop_reason: str | None = None
    stages: tuple[StagePlan, ...] = ()
    overlays: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    informed: tuple[str, ...] = ()  # everyone informed on the route (stages and an automatic approval)
    service_level: str | None = None
    amount: str = ""  # the amount as people read it: "$1,280", "EUR 4,200 ($4,536)"

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    @property
    def approvers(self) -> list[list[str]]:
        return [[s.approver for s in stage.steps] for stage in self.stages]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _digits(amount: Decimal) -> str:
    """1,280 / 1,280.50: cents only when there are some."""
    text = f"{amount:,.2f}"
    if text.endswith(".00"):
        text = text[:-3]
        if text == "-0" and isinstance(amount, Decimal) and not amount:  # a negative zero (Decimal("-0")) is 0
            return "0"
    return text


def money(amount: Decimal, currency: str) -> str:
    """$1,280 / -$400 / 1,280 XYZ: negative amounts carry the sign before the symbol."""
    return _money(amount, currency) if isinstance(amount, Decimal) and amount.is_finite() else _said(amount, currency)


@lru_cache(maxsize=4096)  # a pure function of the value: approval limits and thresholds are said on most plans
def _money(amount: Decimal, currency: str) -> str:
    return _said(amount, currency)


_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "C$"}


def _said(amount: Decimal, currency: str) -> str:
    if amount < 0:
        return "-" + money(-amount, currency)
    symbol = _SYMBOLS.get(currency)
    text = _digits(amount)
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def amount_text(facts: dict[str, Any], currency: str) -> str:
    """The request's amount as people read it: in the policy currency, and first in its own when that differs
    ("EUR 4,200 ($4,536)")."""
    return _amount_texts(facts, currency)[0]


def _amount_texts(facts: dict[str, Any], currency: str) -> tuple[str, str]:
    """amount_text(), and the amount in the policy currency alone ("$4,536"); both "" without a decimal amount."""
    amount = facts.get("amount")
    if not isinstance(amount, Decimal):
        return "", ""
    said = _said(amount, currency)  # each request has its own amount: not worth a place in money()'s cache
    own, original = facts.get("currency"), facts.get("amount_original")
    if own and own != currency and isinstance(original, Decimal):
        sign = "-" if original < 0 else ""
        return f"{sign}{own} {_digits(abs(original))} ({said})", said
    return said, said


_PLACEHOLDER = re.compile(r"\{([a-z_.]+)\}")


def render_template(template: str, facts: dict[str, Any], currency: str) -> str:
    """Fill `{fact}` placeholders; unknown placeholders are left as written. `{amount}` shows the request's own
    currency too when it differs; `{amount_original}` is in the request's own currency."""

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in facts:
            return m.group(0)
        value = facts[key]
        if key == "amount":
            return amount_text(facts, currency)
        if key == "amount_original" and isinstance(value, Decimal):
            own = facts.get("currency") or currency
            if own == currency:
                return money(value, currency)
            return f"{'-' if value < 0 else ''}{own} {_digits(abs(value))}"
        if isinstance(value, Decimal) and key.startswith(("amount", "budget")):
            return money(value, currency)
        if isinstance(value, frozenset):
            return ", ".join(sorted(value))
        return str(value)

    return _PLACEHOLDER.sub(sub, template) if "{" in template else template


def held_branches(policy: LoadedPolicy, item: CompiledRule[Any], facts: dict[str, Any]) -> list[str]:
    """For each `any` in a matched condition, the first branch that held, described ("supplier.risk_tier = high")."""
    cache: dict[str, list[tuple[tuple[Node, Predicate], ...]]] = policy.__dict__.setdefault("_any_branches", {})
    groups = cache.get(item.id)
    if groups is None:
        groups = []
        stack: list[Node] = [item.condition]
        while stack:
            node = stack.pop()
            if isinstance(node, AnyOf):
                groups.append(tuple((c, compile_condition(c)) for c in node.children))
            if isinstance(node, (All, AnyOf)):
                stack.extend(reversed(node.children))
        cache[item.id] = groups
    out = []
    for branches in groups:
        held = next((child for child, holds in branches if holds(facts)), None)
        if held is not None:
            out.append(describe(held))
    return out


class RuleIndex:
    """Finds the first matching rule without testing every rule in turn.

    Every single-valued fact a rule tests in its conjunctive part ("and" of plain tests) is
    indexed: per fact value, a bitmask (bit i = rule i) of the rules whose tests on that fact
    hold. Text and true/false facts are keyed by value; number facts by the interval between
    the policy's thresholds the value falls in, since every test on the fact gives the same
    answer for any two values in one interval. AND-ing the masks leaves exactly the rules
    whose indexed tests all hold; the lowest such bit whose remaining condition (`any`, `not`,
    multi-valued facts) holds is the first match, as a plain first-match scan would find.
    Masks are built lazily and their caches are bounded; a value the index cannot key
    (unhashable, not comparable, NaN) falls back to the plain scan.
    """

    def __init__(self, rules: list[CompiledRule[RuleSpec]]) -> None:
        self._rules = rules
        everyone = (1 << len(rules)) - 1
        per_fact: dict[str, list[tuple[int, list[Test]]]] = {}
        residuals: list[Predicate | None] = []
        for i, rule in enumerate(rules):
            tests, rest = _indexable(*split_conjunction(rule.condition))
            by_fact: dict[str, list[Test]] = {}
            for t in tests:
                if t.fact in MULTI_VALUED:
                    rest.append(t)
                else:
                    by_fact.setdefault(t.fact, []).append(t)
            for fact, fact_tests in by_fact.items():
                per_fact.setdefault(fact, []).append((i, fact_tests))
            residuals.append(None if not rest else compile_condition(rest[0] if len(rest) == 1 else All(tuple(rest))))
        self._residuals = residuals
        self._facts = [_FactIndex(fact, constrained, everyone) for fact, constrained in per_fact.items()]
        # per fact: its name, the masks already worked out by value when the value is the key (text and true/false
        # facts; number facts are keyed by interval, so None), and its index
        self._lookups = [(index.fact, None if index.numeric else index.by_value, index) for index in self._facts]
        self._everyone = everyone

    def mask(self, facts: dict[str, Any]) -> int | None:
        """Bits of the rules whose indexed tests all hold; None when a value cannot be indexed."""
        mask = self._everyone
        get = facts.get
        for fact, by_value, index in self._lookups:
            value = get(fact)
            hit = None
            if by_value is not None:  # a value seen before is one dict look-up, without a call into its _FactIndex
                try:
                    hit = by_value.get(value)
                except TypeError:  # an unhashable value
                    return None
            if hit is None:
                try:
                    hit = index.mask(value)
                except _Unindexable:
                    return None
            mask &= hit
            if not mask:
                break
        return mask

    def candidates(self, facts: dict[str, Any]) -> tuple[CompiledRule[RuleSpec], ...]:
        """Rules that may match, in policy order (their indexed tests hold)."""
        mask = self.mask(facts)
        if mask is None:
            return tuple(self._rules)
        return tuple(rule for i, rule in enumerate(self._rules) if mask >> i & 1)

    def first_match(self, facts: dict[str, Any]) -> CompiledRule[RuleSpec] | None:
        mask = self.mask(facts)
        if mask is None:
            return next((rule for rule in self._rules if rule.matches(facts)), None)
        residuals = self._residuals
        while mask:
            low = mask & -mask
            i = low.bit_length() - 1
            residual = residuals[i]
            if residual is None or residual(facts):
                return self._rules[i]
            mask ^= low
        return None


# `not` of an (in)equality is the opposite (in)equality for every value, a missing one (None) included:
# not (x == v) is x != v, not (x in S) is x not in S. Comparisons are not: a missing amount is neither > nor <=.
_OPPOSITE = {"eq": "ne", "ne": "eq", "in": "not_in", "not_in": "in"}


def _indexable(tests: list[Test], rest: list[Node]) -> tuple[list[Test], list[Node]]:
    """A rule's conjunctive tests plus each `not` of a single (in)equality in the rest, as the opposite test (so the
    index decides it instead of the rule's remaining condition); the rest without those."""
    left: list[Node] = []
    for node in rest:
        child = node.child if isinstance(node, Not) else None
        if isinstance(child, Test) and child.op in _OPPOSITE and child.fact not in MULTI_VALUED:
            tests.append(Test(child.fact, _OPPOSITE[child.op], child.value))
        else:
            left.append(node)
    return tests, left


class _Unindexable(Exception):
    """A fact value the index cannot key; the caller scans instead."""


class _FactIndex:
    """Per-value masks for one fact (see RuleIndex)."""

    def __init__(self, fact: str, constrained: list[tuple[int, list[Test]]], everyone: int) -> None:
        self.fact = fact
        self._checks = [(1 << i, tuple(compile_condition(t) for t in tests)) for i, tests in constrained]
        self._free = everyone
        for bit, _ in self._checks:
            self._free &= ~bit
        self.by_value: dict[Any, int] = {}
        self.numeric = FACTS.get(fact, ("text",))[0] == "number"
        if self.numeric:
            points: set[Decimal] = set()
            for _, tests in constrained:
                for t in tests:
                    values = t.value if isinstance(t.value, (frozenset, tuple)) else (t.value,)
                    points.update(values)
            self._thresholds = sorted(points)

    def _compute(self, value: Any) -> int:
        probe = {self.fact: value}
        mask = self._free
        for bit, checks in self._checks:
            if all(check(probe) for check in checks):
                mask |= bit
        return mask

    def mask(self, value: Any) -> int:
        if self.numeric and value is not None:
            try:
                if value != value:  # NaN orders against nothing: intervals do not apply
                    raise _Unindexable
                thresholds = self._thresholds
                i = bisect_left(thresholds, value)
                key: Any = 2 * i + 1 if i < len(thresholds) and thresholds[i] == value else 2 * i
            except (TypeError, ArithmeticError):
                raise _Unindexable from None
        else:
            key = value
        try:
            hit = self.by_value.get(key)
        except TypeError:
            raise _Unindexable from None
        if hit is None:
            hit = self._compute(value)
            if len(self.by_value) < _INDEX_LIMIT:
                self.by_value[key] = hit
        return hit


def rule_index(policy: LoadedPolicy) -> RuleIndex:
    index = getattr(policy, "_rule_index", None)
    if index is None:
        index = RuleIndex(policy.rules)
        object.__setattr__(policy, "_rule_index", index)
    return index


def _decision(policy: LoadedPolicy) -> tuple[tuple[tuple[Predicate, str], ...], RuleIndex]:
    """The stops' tests with their ids, and the rule index: what match_rule reads for every request."""
    decision = policy.__dict__.get("_decision")
    if decision is None:
        decision = (tuple((stop.matches, stop.id) for stop in policy.stops), rule_index(policy))
        policy.__dict__["_decision"] = decision
    return decision


def match_rule(facts: dict[str, Any], policy: LoadedPolicy) -> str | None:
    """Which stop or rule decides these facts (the decision-table part of routing)."""
    stops, index = policy.__dict__.get("_decision") or _decision(policy)
    for matches, stop_id in stops:
        if matches(facts):
            return stop_id
    rule = index.first_match(facts)
    return rule.id if rule else None


def route(
    facts: dict[str, Any],
    policy: LoadedPolicy,
    directory: Directory,
    delegations: tuple[DelegationWindow, ...] | list[DelegationWindow],
    at: datetime,
) -> RoutePlan:
    """Decide the route for one requisition at instant `at` (delegation windows are read at it).
    Same inputs, same plan."""
    version, content_hash, currency = policy.version, policy.content_hash, policy.currency
    amt, said = _amount_texts(facts, currency)
    shown = f" ({amt})" if amt else ""

    stops, index = policy.__dict__.get("_decision") or _decision(policy)
    for i, (matches, stop_id) in enumerate(stops):
        if matches(facts):
            reason = render_template(policy.stops[i].spec.reason, facts, currency)
            return RoutePlan(
                "stop", version, content_hash, stop_id, f"Stopped by {stop_id}{shown}: {reason}", reason, amount=amt
            )

    base = index.first_match(facts)
    if base is None:
        reason = policy.spec.settings.unrouted_reason
        return RoutePlan("stop", version, content_hash, None, f"{reason}{shown}", reason, amount=amt)
    spec: RuleSpec = base.spec
    rule_text = render_template(spec.description or spec.id, facts, currency)
    head = rule_text + (shown if amt and amt not in rule_text else "")
    branches = held_branches(policy, base, facts)
    if branches:
        head += f", because {' and '.join(branches)}"
    if spec.stop is not None:
        reason = render_template(spec.stop, facts, currency)
        return RoutePlan("stop", version, content_hash, spec.id, f"{head}: {reason}", reason, amount=amt)

    staged: list[tuple[StageSpec, str, str, tuple[ApproverSpec, ...]]] = [
        (s, spec.id, rule_text, spec.informed if i == 0 else ()) for i, s in enumerate(spec.stages or ())
    ]
    overlays: list[str] = []
    shaped: list[str] = []  # "overlay risky-supplier (because ...)": every overlay that changed the route
    touchless = spec.auto_approve is True
    for overlay in policy.overlays:
        if touchless and overlay.spec.applies_to == "approval":
            continue
        if overlay.matches(facts):
            overlays.append(overlay.id)
            text = render_template(overlay.spec.description or overlay.id, facts, currency)
            staged.append((overlay.spec.stage, overlay.id, text, overlay.spec.informed))
            why = held_branches(policy, overlay, facts)
            shaped.append(f"overlay {overlay.id}" + (f" (because {' and '.join(why)})" if why else ""))
    # A stage's position is its `order`, or else its place in the list (the rule's stages 0, 1, ...,
    # then matching overlays in file order); ties keep list order. So `order: 50` on an overlay
    # keeps it after the base route and orders overlays among themselves.
    if any(item[0].order is not None for item in staged):
        staged = [
            item
            for _, item in sorted(enumerate(staged), key=lambda p: p[1][0].order if p[1][0].order is not None else p[0])
        ]

    level = next((sl for sl in policy.service_levels if sl.matches(facts)), None) if policy.service_levels else None
    # only the windows in force for this request can hand a step on; usually there are none, and then no step
    # needs to look for a delegate at all
    category, amount = facts.get("category"), facts.get("amount")
    in_force = tuple(w for w in delegations if w.covers(at, category, amount))
    resolver = _StageResolver(facts, policy, directory, in_force, at, level.spec if level else None)
    resolver.amount_said = said or None
    if not staged:
        told = resolver.informed(spec.informed, set())
        explanation = f"{head}: approved automatically within policy limits"
        if told:
            explanation += f"; informed: {', '.join(resolver._name(p) for p in told)}"
        return RoutePlan(
            "auto_approve",
            version,
            content_hash,
            spec.id,
            explanation,
            overlays=tuple(overlays),
            informed=told,
            amount=amt,
        )

    stages = []
    notes: list[str] = []
    for index, (stage_spec, rule_id, text, extra_informed) in enumerate(staged):
        stage, problem = resolver.resolve(index, stage_spec, rule_id, text, extra_informed)
        if problem:
            reason = (
                f"Stage '{stage_spec.name}' ({rule_id}) has no eligible approver: {problem}. "
                "Procurement must fix the directory or policy."
            )
            return RoutePlan(
                "stop",
                version,
                content_hash,
                spec.id,
                reason,
                reason,
                overlays=tuple(overlays),
                notes=tuple(notes),
                amount=amt,
            )
        assert stage is not None
        stages.append(stage)
        for step in stage.steps:
            notes.extend(step.substitutions)
        notes.extend(stage.notes)
    explanation = f"{head} -> " + " then ".join(
        [
            f"{s.name} ({s.waiting_text()}; informed: {', '.join([resolver._name(p) for p in s.informed])})"
            if s.informed
            else f"{s.name} ({s.waiting_text()})"
            for s in stages
        ]
    )
    if shaped:
        explanation += "; with " + ", ".join(shaped)
    if level is not None:
        explanation += f" [service level {level.id}]"
    informed = tuple(dict.fromkeys([p for s in stages for p in s.informed]))
    return RoutePlan(
        "approval",
        version,
        content_hash,
        spec.id,
        explanation,
        None,
        tuple(stages),
        tuple(overlays),
        tuple(notes),
        informed,
        level.id if level else None,
        amt,
    )


@dataclass
class _StageResolver:
    facts: dict[str, Any]
    policy: LoadedPolicy
    directory: Directory
    delegations: tuple[DelegationWindow, ...]
    at: datetime
    level: ServiceLevelSpec | None = None  # the service level that holds for this request
    used: set[str] = field(default_factory=set)  # approvers of earlier stages
    # separation_of_duties: acted: people an earlier stage names but can do without -> that stage's name
    maybe: dict[str, str] = field(default_factory=dict)
    amount_said: str | None = None  # the request's amount as a limit check says it ("$4,536"), once known
    requester: str = field(init=False)
    escalate_limits: bool = field(init=False)  # approval_limits: escalate (an approver under the amount is passed by)

    def __post_init__(self) -> None:
        self.requester = self.facts["requester"]
        self.escalate_limits = self.policy.spec.settings.approval_limits == "escalate"

    def informed(self, specs: tuple[ApproverSpec, ...], acting: set[str]) -> tuple[str, ...]:
        """Who these resolvers name to be told, leaving out the requester, leavers and whoever acts here."""
        out: list[str] = []
        for spec in specs:
            for person in resolve_people(spec, self.facts, self.directory):
                if person.active and person.id != self.requester and person.id not in acting and person.id not in out:
                    out.append(person.id)
        return tuple(out)

    def service(self, spec: StageSpec) -> tuple[Decimal, dict[str, Any] | None, str, dict[str, Any]]:
        """SLA, escalation target, escalation kind and reminders: service level, then stage, then settings."""
        level = self.level
        # worked out once per stage and service level of a policy: routing runs this for every stage of every request
        cache: dict[tuple[int, str | None], Any] = self.policy.__dict__.setdefault("_stage_service", {})
        key = (id(spec), level.id if level else None)
        hit = cache.get(key)
        if hit is None:
            settings = self.policy.spec.settings
            sla = (level.sla_hours if level else None) or spec.sla_hours or settings.sla_hours
            target = (level.escalate_to if level else None) or spec.escalate_to or settings.escalate_to
            kind = (level.escalation if level else None) or spec.escalation or settings.escalation
            reminders = settings.reminders.model_dump()
            if level and level.reminders:
                reminders.update(level.reminders.model_dump(exclude_none=True))
            hit = (spec, sla, target.model_dump(exclude_none=True) if target else None, kind, reminders)
            cache[key] = hit
        _, sla, target_dict, kind, reminders = hit  # the spec is kept in the entry so its id stays its own
        return sla, dict(target_dict) if target_dict is not None else None, kind, dict(reminders)

    def resolve(
        self, index: int, spec: StageSpec, rule_id: str, rule_text: str, extra_informed: tuple[ApproverSpec, ...] = ()
    ) -> tuple[StagePlan | None, str | None]:
        steps: list[StepPlan] = []
        chosen: set[str] = set()
        missing: list[str] = []
        dropped: list[str] = []
        tree: dict[str, Any] | None = None
        if spec.has_groups:
            tree = self._group(
                spec.approvers, spec.mode, spec.quorum, None, spec, rule_text, steps, chosen, missing, dropped
            )
        else:
            for approver_spec in spec.approvers:
                assert not isinstance(approver_spec, GroupSpec)
                self._leaf(approver_spec, spec, rule_text, steps, chosen, missing, dropped)
        return self._finish(index, spec, rule_id, rule_text, extra_informed, steps, chosen, missing, dropped, tree)

    def _group(
        self,
        members: tuple[ApproverSpec | GroupSpec, ...],
        mode: str,
        quorum: int | None,
        name: str | None,
        spec: StageSpec,
        rule_text: str,
        steps: list[StepPlan],
        chosen: set[str],
        missing: list[str],
        dropped: list[str],
    ) -> dict[str, Any]:
        """A group of the stage as a tree of step positions (approvals.groups); its people become steps."""
        kids: list[Any] = []
        for member in members:
            if isinstance(member, GroupSpec):
                sub = self._group(
                    member.approvers,
                    member.mode,
                    member.quorum,
                    member.name,
                    spec,
                    rule_text,
                    steps,
                    chosen,
                    missing,
                    dropped,
                )
                if sub["members"]:
                    kids.append(sub)
                else:
                    missing.append(f"nobody eligible in {self._group_label(member)}")
            else:
                kids += [
                    p for p in self._leaf(member, spec, rule_text, steps, chosen, missing, dropped) if p not in kids
                ]
        need = {"any": 1, "all": len(kids), "quorum": quorum or 1}[mode]
        return {"mode": mode, "need": need, "name": name, "members": kids}

    def _group_label(self, group: GroupSpec) -> str:
        return group.name or f"({self._describe_members(group.approvers, group.mode, group.quorum, False)})"

    def _leaf(
        self,
        approver_spec: ApproverSpec,
        spec: StageSpec,
        rule_text: str,
        steps: list[StepPlan],
        chosen: set[str],
        missing: list[str],
        dropped: list[str],
    ) -> list[int]:
        """Resolve one resolver of the stage into steps (appended to `steps`); their positions back."""
        taken: list[int] = []
        people = resolve_people(approver_spec, self.facts, self.directory)
        if not people:
            missing.append(f"nobody is {self._describe(approver_spec)}")
            return taken
        if len(people) > 1:
            # several people hold this role or group: leave out the ineligible ones (saying so)
            # and only go up a manager chain when none of them may approve
            reasons = [(p, self._why_not(p, spec.check_limits, chosen)) for p in people]
            eligible = [p for p, why in reasons if why is None]
            if eligible:
                dropped.extend(f"{why}, so they are left out of '{spec.name}'" for _, why in reasons if why is not None)
                people = eligible
            else:
                people = people[:1]
        for person in people:
            step = self._eligible_step(person, approver_spec, spec, rule_text, chosen)
            if step is None:
                missing.append(f"no eligible person above {person.name}")
                continue
            if step.approver in chosen:
                taken += [i for i, s in enumerate(steps) if s.approver == step.approver]
                continue
            chosen.add(step.approver)
            taken.append(len(steps))
            steps.append(step)
        return taken

    def _finish(
        self,
        index: int,
        spec: StageSpec,
        rule_id: str,
        rule_text: str,
        extra_informed: tuple[ApproverSpec, ...],
        steps: list[StepPlan],
        chosen: set[str],
        missing: list[str],
        dropped: list[str],
        tree: dict[str, Any] | None,
    ) -> tuple[StagePlan | None, str | None]:
        settings = self.policy.spec.settings
        # one person acts once per stage: a delegate who also holds (or acts on) another step here
        # does not take this one; it stays with its approver
        for i, step in enumerate(steps):
            if step.acting == step.approver:
                continue
            others = [s for j, s in enumerate(steps) if j != i]
            if any(step.acting in (s.approver, s.acting) for s in others):
                steps[i] = StepPlan(
                    step.approver,
                    step.approver_name,
                    step.resolved_via,
                    step.explanation,
                    step.approver,
                    step.substitutions
                    + (
                        f"{self.directory.person_by_id[step.acting].name} already acts at "
                        f"'{spec.name}', so this step stays with {step.approver_name}",
                    ),
                )
        if not steps:
            return None, "; ".join(missing) or "no approvers resolved"
        if tree is not None:
            short = _short_group(tree)
            if short is not None:
                return None, short + (f" ({'; '.join(missing)})" if missing else "")
            required = groups.minimum(tree)
        else:
            required = {"any": 1, "all": len(steps), "quorum": spec.quorum or 1}[spec.mode]
            if required > len(steps):
                return None, f"quorum {required} but only {len(steps)} eligible approver(s)"
        notes = list(dropped)
        if self.maybe:
            steps = self._provisional(spec, rule_text, steps, chosen, notes)
            if tree is None and any(s.provisional for s in steps):
                # evaluated as a tree so that a step handed on to someone already here counts once (approvals.groups)
                tree = {"mode": spec.mode, "need": required, "name": None, "members": list(range(len(steps)))}
        if not settings.same_approver_across_stages:
            acting = {s.acting for s in steps}
            if settings.separation_of_duties == "acted" and tree is None and required >= len(steps):
                # a flat stage that needs every step (one approver, or all of them) cannot do without anyone on it
                self.used.update(chosen, acting)
            elif settings.separation_of_duties == "acted":
                # only the people the stage cannot do without are certain to act on it; the others are kept on
                # later stages, provisionally, and left out when they do approve here
                for person in sorted(chosen | acting):
                    gone = {i for i, s in enumerate(steps) if person in (s.approver, s.acting)}
                    if tree is None:  # a flat stage can do without them if enough other steps remain
                        needed = len(steps) - len(gone) < required
                    else:
                        needed = not _possible_without(tree, gone)
                    if needed:
                        self.used.add(person)
                    elif person not in self.used:
                        self.maybe.setdefault(person, spec.name)
            else:
                # a delegate who acts on this stage has used their authority here, like an approver: a later stage
                # that names them goes past them by the same rule (and its plan says so)
                self.used.update(chosen, acting)
        explanation = spec.explain or self._stage_said(spec)
        sla, escalate_to, escalation, reminders = self.service(spec)
        specs = extra_informed + spec.informed
        told = self.informed(specs, chosen | {s.acting for s in steps}) if specs else ()
        return StagePlan(
            index,
            spec.name,
            "group" if tree is not None else spec.mode,
            required,
            rule_id,
            f"{rule_text} -> {explanation}",
            sla,
            escalate_to,
            escalation,
            tuple(steps),
            tuple(notes),
            spec.check_limits,
            reminders,
            told,
            self.level.id if self.level else None,
            tree,
            inform_at_end=bool(told) and spec.inform_when == "start_and_end",
        ), None

    def _provisional(
        self, spec: StageSpec, rule_text: str, steps: list[StepPlan], chosen: set[str], notes: list[str]
    ) -> list[StepPlan]:
        """Steps held by someone an earlier stage may or may not need: kept, with who takes them should that person
        approve the earlier stage (the decider hands them over when this stage starts)."""
        out: list[StepPlan] = []
        for step in steps:
            earlier = self.maybe.get(step.approver) or self.maybe.get(step.acting)
            if earlier is None:
                out.append(step)
                continue
            person = self.directory.person_by_id.get(step.approver)
            fallback: dict[str, str] | None = None
            if step.approver in self.maybe and person is not None:
                self.used.add(step.approver)
                try:
                    other = self._eligible_step(
                        person, ApproverSpec(person=person.id), spec, rule_text, chosen - {person.id}
                    )
                finally:
                    self.used.discard(step.approver)
                if other is not None and other.approver != step.approver:
                    fallback = {
                        "approver": other.approver,
                        "approver_name": other.approver_name,
                        "acting": other.acting,
                    }
            else:  # only the delegate approves earlier: the step stays with its approver
                fallback = {"approver": step.approver, "approver_name": step.approver_name, "acting": step.approver}
            then = self._name(fallback["acting"]) if fallback else None
            notes.append(groups.provisional_note(self._name(step.acting), spec.name, earlier, then))
            out.append(
                StepPlan(
                    step.approver,
                    step.approver_name,
                    step.resolved_via,
                    step.explanation,
                    step.acting,
                    step.substitutions,
                    earlier,
                    fallback,
                )
            )
        return out

    def _stage_said(self, spec: StageSpec) -> str:
        """The stage's resolvers as written, worked out once per policy, directory and the facts they name."""
        facts = self.facts
        cache: dict[tuple[Any, ...], tuple[StageSpec, Directory, str]] = self.policy.__dict__.setdefault(
            "_stage_said", {}
        )
        key = (id(spec), id(self.directory), facts.get("site"), facts.get("category"), facts.get("cost_center"))
        hit = cache.get(key)
        if hit is not None and hit[0] is spec and hit[1] is self.directory:  # ids are only unique while alive
            return hit[2]
        text = self._describe_members(spec.approvers, spec.mode, spec.quorum)
        if len(cache) < 4096:
            cache[key] = (spec, self.directory, text)
        return text

    def _describe_members(
        self, members: tuple[ApproverSpec | GroupSpec, ...], mode: str, quorum: int | None, top: bool = True
    ) -> str:
        """The resolvers as written: "the requester's manager, (one of: the procurement director or ...)"."""
        if top and not any(isinstance(m, GroupSpec) for m in members):  # a flat stage, said as always
            return ", ".join(self._describe(m) for m in members if isinstance(m, ApproverSpec))
        parts = [
            self._describe(m)
            if isinstance(m, ApproverSpec)
            else f"({self._describe_members(m.approvers, m.mode, m.quorum, False)})"
            for m in members
        ]
        if mode == "all":
            return " and ".join(parts)
        if mode == "any":
            return "one of: " + " or ".join(parts)
        return f"{quorum} of: " + ", ".join(parts)

    def _describe(self, spec: ApproverSpec) -> str:
        site = self.facts.get("site")
        if spec.kind == "role":
            return f"the {spec.label()} at {site}"
        if spec.kind == "category_manager":
            return f"the category manager for {self.facts.get('category')}"
        if spec.kind == "budget_owner":
            return f"the budget owner of {self.facts.get('cost_center')}"
        if spec.kind == "person":
            p = self.directory.person(spec.person or "")
            return p.name if p else f"person {spec.person}"
        return f"the {spec.label()}"

    def _why_not(self, person: Person, check_limits: bool, taken: set[str]) -> str | None:
        """Why this person may not take the step, or None if they may."""
        amount: Decimal = self.facts["amount"]
        if not person.active:
            return f"{person.name} has left"
        if person.id == self.requester:
            return f"{person.name} is the requester and cannot approve their own request"
        if person.id in self.used:
            return f"{person.name} already approves an earlier stage"
        if person.id in taken:
            return f"{person.name} is already an approver of this stage"
        if check_limits and self.escalate_limits and person.approval_limit < amount:
            cur = self.policy.currency
            if self.amount_said is None:  # the request's own amount: said once, not kept in money()'s cache
                self.amount_said = _said(amount, cur)
            return f"{person.name}'s approval limit {money(person.approval_limit, cur)} is below {self.amount_said}"
        return None

    def _name(self, person_id: str) -> str:
        person = self.directory.person(person_id)
        return person.name if person else person_id

    def _why_not_delegate(self, person_id: str, check_limits: bool, taken: set[str]) -> str | None:
        person = self.directory.person(person_id)
        if person is None:
            return f"{person_id} is not in the directory"
        return self._why_not(person, check_limits, taken)

    def _eligible_step(
        self, person: Person, approver_spec: ApproverSpec, stage: StageSpec, rule_text: str, taken: set[str]
    ) -> StepPlan | None:
        substitutions: list[str] = []
        candidate: Person | None = person
        reason = self._why_not(person, stage.check_limits, taken)
        if reason and person.id in taken:
            # a second resolver naming someone already on this stage adds nobody
            return StepPlan(person.id, person.name, approver_spec.kind, "", person.id)
        if reason:
            candidate = None
            skipped = [reason]  # keep why the named approver was passed over, not only the last hop
            for manager_id in self.directory.manager_chain(person.id):
                manager = self.directory.person_by_id[manager_id]
                why = self._why_not(manager, stage.check_limits, taken)
                if why is None:
                    candidate = manager
                    substitutions.append(f"{'; '.join(skipped)}, so it goes up to {manager.name}")
                    break
                skipped.append(why)
            if candidate is None:
                return None
        assert candidate is not None
        why = f"{rule_text} -> {stage.explain or self._describe(approver_spec)}"
        if candidate.id != person.id:
            why += f" ({substitutions[-1]})"
        if not self.delegations:
            return StepPlan(candidate.id, candidate.name, approver_spec.kind, why, candidate.id, tuple(substitutions))
        delegation = resolve_delegate(
            candidate.id,
            self.delegations,
            self.at,
            category=self.facts.get("category"),
            amount=self.facts.get("amount"),
            requester=self.requester,
            # a delegate passes the controls the approver passed: their own limit, not already on a stage
            barrier=lambda person_id: self._why_not_delegate(person_id, stage.check_limits, taken),
            name=self._name,
        )
        if delegation.acting != candidate.id:
            acting_name = (
                self.directory.person_by_id[delegation.acting].name
                if delegation.acting in self.directory.person_by_id
                else delegation.acting
            )
            substitutions.append(f"{candidate.name} has delegated to {acting_name}")
        if delegation.note:
            substitutions.append(delegation.note)
        return StepPlan(candidate.id, candidate.name, approver_spec.kind, why, delegation.acting, tuple(substitutions))


def _possible_without(node: dict[str, Any], gone: set[int]) -> bool:
    """groups.possible(node, status) for a stage just planned, every step open but those at `gone` (rejected): can
    the group still get the approvals it needs without them? Without building the statuses for each person."""
    can = 0
    for m in node["members"]:
        if (m not in gone) if isinstance(m, int) else _possible_without(m, gone):
            can += 1
    return can >= node["need"]


def _short_group(node: dict[str, Any]) -> str | None:
    """Why a group of a stage can never be satisfied with the people it resolved to, or None."""
    for member in node["members"]:
        if isinstance(member, dict):
            problem = _short_group(member)
            if problem:
                return problem
    if not node["members"]:
        return f"nobody eligible in {node.get('name') or 'a group'}"
    if node["need"] > len(node["members"]):
        where = f" in {node['name']}" if node.get("name") else ""
        return f"quorum {node['need']} but only {len(node['members'])} eligible member(s){where}"
    return None


def resolve_people(
    spec: ApproverSpec,
    facts: dict[str, Any],
    directory: Directory,
    approver: str | None = None,
    escalations: dict[str, str] | None = None,
) -> list[Person]:
    """Who a resolver names for these facts (before eligibility checks), in directory order."""
    kind = spec.kind
    people = directory.person_by_id
    if kind == "manager":
        chain = directory.manager_chain(facts["requester"])
        level = spec.manager or 1  # kind "manager" is {manager: n}, so n is always there
        return [people[chain[level - 1]]] if len(chain) >= level else []
    if kind == "approver_manager":
        if not approver:
            return []
        chain = directory.manager_chain(approver)
        n = spec.approver_manager or 1
        return [people[chain[n - 1]]] if len(chain) >= n else []
    if kind == "role":
        return directory.people_with_role(spec.role or "", facts.get("site"))
    if kind == "budget_owner":
        owner = facts.get("budget.owner")
        if owner is None:
            cc = directory.cost_center_by_code.get(facts.get("cost_center", ""))
            owner = cc.owner if cc else None
        return [people[owner]] if owner in people else []
    if kind == "category_manager":
        cat = directory.category_by_code.get(facts.get("category", ""))
        return [people[cat.manager]] if cat and cat.manager in people else []
    if kind == "person":
        return [people[spec.person]] if spec.person in people else []
    if kind == "group":
        group = directory.group_by_id.get(spec.group or "")
        return [people[m] for m in group.members if m in people] if group else []
    if kind == "next_level":
        if not approver or not escalations:
            return []
        holder = people.get(approver)
        for grant in holder.roles if holder else ():
            if grant.role in escalations:
                return directory.people_with_role(escalations[grant.role], facts.get("site"))
        return []
    return []
