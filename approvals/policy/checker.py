"""`policy check`: find what is wrong with a policy before anyone's request meets it.

Every finding is a PolicyIssue with file:line and a hint. The reasoning is deliberately
one-sided so that an error is never a false alarm:

* A request is modelled as a point in a product space: one dimension per fact, numbers as
  intervals, names as finite sets (enums from facts.py, value sets from the directory).
  Real requests are a subset of that space (a site fixes its region, a supplier fixes its
  risk tier, ...), and we intersect with those known correlations where it is cheap.
* "Shadowed" and "unsatisfiable" are only claimed when they hold in the over-approximate
  space, so they hold for every real request too.
* Multi-valued facts (requester.role) are kept as opaque literal tests: an earlier rule only
  covers a later one on such a fact when the later rule states at least as much.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol, Sequence

from approvals.directory import Directory
from approvals.errors import PolicyInvalid, PolicyIssue
from approvals.policy.conditions import All, AnyOf, Node, Not, Test, is_conjunctive, top_level_tests
from approvals.policy.expressions import Expr
from approvals.policy.facts import ENUMS, FACTS, MULTI_VALUED
from approvals.policy.loader import CompiledRule, LoadedPolicy, human_loc, load_policy
from approvals.policy.routing import resolve_people
from approvals.policy.schema import ApproverSpec, GroupSpec, StageSpec

MAX_GAPS_REPORTED = 8


class ErpSupplier(Protocol):
    """A vendor as the ERP's master data describes it (approvals.master_data.ErpSupplierRecord)."""

    @property
    def connector(self) -> str: ...
    @property
    def supplier_id(self) -> str: ...
    @property
    def currency(self) -> str | None: ...


_MAX_BOXES = 4000  # beyond this a region is "too complex to reason about": we claim nothing

# ---------------------------------------------------------------------------------------
# Intervals and boxes
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A range of numbers; None bounds are infinite."""

    lo: Decimal | None
    lo_closed: bool
    hi: Decimal | None
    hi_closed: bool

    @property
    def empty(self) -> bool:
        if self.lo is None or self.hi is None:
            return False
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_closed and self.hi_closed))

    def intersect(self, other: "Interval") -> "Interval":
        lo, lo_closed = self.lo, self.lo_closed
        if other.lo is not None and (lo is None or other.lo > lo):
            lo, lo_closed = other.lo, other.lo_closed
        elif other.lo is not None and other.lo == lo:
            lo_closed = lo_closed and other.lo_closed
        hi, hi_closed = self.hi, self.hi_closed
        if other.hi is not None and (hi is None or other.hi < hi):
            hi, hi_closed = other.hi, other.hi_closed
        elif other.hi is not None and other.hi == hi:
            hi_closed = hi_closed and other.hi_closed
        return Interval(lo, lo_closed, hi, hi_closed)

    def minus(self, other: "Interval") -> list["Interval"]:
        inner = self.intersect(other)
        if inner.empty:
            return [self]
        pieces = []
        if inner.lo is not None:
            pieces.append(Interval(self.lo, self.lo_closed, inner.lo, not inner.lo_closed))
        if inner.hi is not None:
            pieces.append(Interval(inner.hi, not inner.hi_closed, self.hi, self.hi_closed))
        return [p for p in pieces if not p.empty]

    def render(self) -> str:
        lo = "(-inf" if self.lo is None else ("[" if self.lo_closed else "(") + _num(self.lo)
        hi = "+inf)" if self.hi is None else _num(self.hi) + ("]" if self.hi_closed else ")")
        if self.lo is not None and self.lo == self.hi:
            return f"exactly {_num(self.lo)}"
        return f"{lo}, {hi}"


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


FULL = Interval(None, False, None, False)
_NUMBER_DOMAINS = {
    "amount": Interval(Decimal(0), True, None, False),
    "line_count": Interval(Decimal(1), True, None, False),
}

# A box: fact -> Interval (numbers) | frozenset (names, true/false) | frozenset[Test] (multi-valued
# facts, the literal tests that must hold). A fact that is absent is unconstrained.
Box = dict[str, Any]


def _implies_atom(have: frozenset[Test], need: Test) -> bool:
    """Does one of the tests we have guarantee `need` on a multi-valued fact?"""
    for t in have:
        if t == need:
            return True
        if t.fact != need.fact:
            continue
        positive = {"eq": lambda x: frozenset([x]), "in": lambda x: x}
        negative = {"ne": lambda x: frozenset([x]), "not_in": lambda x: x}
        if t.op in positive and need.op in positive and positive[t.op](t.value) <= positive[need.op](need.value):
            return True
        if t.op in negative and need.op in negative and negative[t.op](t.value) >= negative[need.op](need.value):
            return True
    return False


class Space:
    """The request space for one policy and directory: domains and box algebra."""

    def __init__(self, policy: LoadedPolicy, directory: Directory) -> None:
        regions = {s.region for s in directory.sites}
        self.domains: dict[str, frozenset[Any]] = {
            "currency": frozenset({policy.currency, *policy.spec.rates}),
            "category": frozenset(directory.category_by_code),
            "site": frozenset(directory.site_by_code),
            "region": frozenset(regions),
            "cost_center": frozenset(directory.cost_center_by_code),
            "supplier": frozenset(directory.supplier_by_id),
            "requester": frozenset(directory.person_by_id),
        }
        for fact, (kind, _) in FACTS.items():
            if kind == "bool":
                self.domains[fact] = frozenset({True, False})
        for fact, values in ENUMS.items():
            self.domains[fact] = frozenset(values)
        # Correlations every real request obeys (a site fixes its region and usable cost centers;
        # a supplier fixes its risk tier, contract and block status).
        self.site_boxes: list[Box] = [
            {
                "site": frozenset({s.code}),
                "region": frozenset({s.region}),
                "cost_center": frozenset(c.code for c in directory.cost_centers if c.site in (None, s.code)),
            }
            for s in directory.sites
        ]
        self.supplier_boxes: list[Box] = [
            {
                "supplier": frozenset({s.id}),
                "supplier.risk_tier": frozenset({s.risk_tier}),
                "supplier.contracted": frozenset({s.contracted}),
                "supplier.blocked": frozenset({s.blocked}),
                "contract_status": frozenset({s.contract_status}),
            }
            for s in directory.suppliers
        ]

    # -- single dimensions -----------------------------------------------------------------
    def full(self, fact: str) -> Any:
        if fact in MULTI_VALUED:
            return frozenset()
        if FACTS[fact][0] == "number":
            return _NUMBER_DOMAINS.get(fact, FULL)
        return self.domains[fact]

    def _test_values(self, t: Test) -> list[Any]:
        """The constraint(s) one test puts on its fact; several mean "one of these"."""
        if t.fact in MULTI_VALUED:
            return [frozenset({t})]
        dom = self.full(t.fact)
        if FACTS[t.fact][0] == "number":
            v = t.value
            if t.op == "eq":
                return [Interval(v, True, v, True)]
            if t.op == "gt":
                return [Interval(v, False, None, False)]
            if t.op == "gte":
                return [Interval(v, True, None, False)]
            if t.op == "lt":
                return [Interval(None, False, v, False)]
            if t.op == "lte":
                return [Interval(None, False, v, True)]
            if t.op == "between":
                return [Interval(v[0], True, v[1], True)]
            if t.op == "ne":
                return [Interval(None, False, v, False), Interval(v, False, None, False)]
            if t.op == "in":
                return [Interval(x, True, x, True) for x in sorted(v)]
            # not_in: the gaps between the excluded points
            pieces, lo, lo_closed = [], None, False
            for x in sorted(v):
                pieces.append(Interval(lo, lo_closed, x, False))
                lo, lo_closed = x, False
            pieces.append(Interval(lo, lo_closed, None, False))
            return [p for p in pieces if not p.empty]
        if t.op == "eq":
            return [dom & {t.value}]
        if t.op == "in":
            return [dom & t.value]
        if t.op == "ne":
            return [dom - {t.value}]
        if t.op == "not_in":
            return [dom - t.value]
        return [dom]  # comparisons on names are refused by the loader

    def _meet(self, fact: str, a: Any, b: Any) -> Any | None:
        if fact in MULTI_VALUED:
            return a | b
        if isinstance(a, Interval):
            out = a.intersect(b)
            return None if out.empty else out
        out = a & b
        return out or None

    def intersect(self, a: Box, b: Box) -> Box | None:
        out = dict(a)
        for fact, value in b.items():
            met = self._meet(fact, out.get(fact, self.full(fact)), value)
            if met is None:
                return None
            out[fact] = met
        return out

    # -- regions (lists of boxes: a union) ---------------------------------------------------
    def region(self, node: Node) -> list[Box] | None:
        """The condition as a union of boxes, or None when that would be too large."""
        node = _push_not(node)
        return self._region(node)

    def _region(self, node: Node) -> list[Box] | None:
        if isinstance(node, Test):
            boxes = []
            for value in self._test_values(node):
                met = self._meet(node.fact, self.full(node.fact), value)
                if met is not None:
                    boxes.append({node.fact: met})
            return boxes
        if isinstance(node, AnyOf):
            out: list[Box] = []
            for child in node.children:
                part = self._region(child)
                if part is None:
                    return None
                out.extend(part)
            return out if len(out) <= _MAX_BOXES else None
        if isinstance(node, All):
            current: list[Box] = [{}]
            for child in node.children:
                part = self._region(child)
                if part is None:
                    return None
                current = [m for a in current for b in part if (m := self.intersect(a, b)) is not None]
                if len(current) > _MAX_BOXES:
                    return None
            return current
        return None  # a Not that could not be pushed down

    def minus(self, a: Box, b: Box) -> list[Box]:
        """a without b, as disjoint boxes (a itself when b cannot be subtracted exactly)."""
        if self.intersect(a, b) is None:
            return [a]
        for fact, value in b.items():
            if fact in MULTI_VALUED and not all(_implies_atom(a.get(fact, frozenset()), t) for t in value):
                return [a]  # b needs a role test that a does not guarantee: subtract nothing
        out: list[Box] = []
        current = dict(a)
        for fact, value in b.items():
            if fact in MULTI_VALUED:
                continue
            mine = current.get(fact, self.full(fact))
            if isinstance(mine, Interval):
                rest: list[Any] = mine.minus(value)
                inside: Any = mine.intersect(value)
            else:
                rest = [mine - value] if mine - value else []
                inside = mine & value
            out.extend({**current, fact: piece} for piece in rest)
            current[fact] = inside
        return out

    def uncovered(self, box: Box, cover: list[Box]) -> list[Box] | None:
        """The part of `box` no box in `cover` reaches; None when too complex to tell."""
        remaining = [box]
        for c in cover:
            remaining = [piece for r in remaining for piece in self.minus(r, c)]
            if not remaining:
                return []
            if len(remaining) > _MAX_BOXES:
                return None
        return remaining

    def realistic(self, boxes: list[Box], facts: set[str] | None = None) -> list[Box]:
        """Split boxes by site and supplier, keeping only combinations a real request can have."""
        facts = facts if facts is not None else set(FACTS)
        groups: list[list[Box]] = []
        if facts & {"site", "region", "cost_center"}:
            groups.append(self.site_boxes)
        if facts & {"supplier", "supplier.risk_tier", "supplier.contracted", "supplier.blocked", "contract_status"}:
            groups.append(self.supplier_boxes)
        for group in groups:
            boxes = [m for b in boxes for g in group if (m := self.intersect(b, g)) is not None]
        return boxes


_NEGATE = {"eq": "ne", "ne": "eq", "in": "not_in", "not_in": "in", "gt": "lte", "lte": "gt", "lt": "gte", "gte": "lt"}


def _push_not(node: Node, negate: bool = False) -> Node:
    """Negation normal form: `not` moved onto plain tests and flipped there."""
    if isinstance(node, Not):
        return _push_not(node.child, not negate)
    if isinstance(node, Expr):
        return Not(node) if negate else node  # an expression is opaque to the box reasoning
    if isinstance(node, Test):
        if not negate:
            return node
        if node.op == "between":
            low, high = node.value
            return AnyOf((Test(node.fact, "lt", low), Test(node.fact, "gt", high)))
        return Test(node.fact, _NEGATE[node.op], node.value)
    children = tuple(_push_not(c, negate) for c in node.children)
    if isinstance(node, All):  # not (a and b) = (not a) or (not b); an empty "or" never holds
        return AnyOf(children) if negate else All(children)
    return All(children) if negate else AnyOf(children)


def _facts_in(boxes: list[Box]) -> set[str]:
    return {fact for b in boxes for fact in b}


# ---------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------

_REFERENCE_FACTS = ("site", "category", "supplier", "cost_center", "requester", "region", "requester.role", "currency")


@dataclass
class _Stage:
    spec: StageSpec
    path: tuple[Any, ...]  # e.g. ("rules", 3, "stages", 0) or ("overlays", 1, "stage")
    owner: CompiledRule

    @property
    def label(self) -> str:
        return f"stage '{self.spec.name}' of {self.owner.id}"

    def groups(self) -> list[tuple[tuple[Any, ...], str, int | None, tuple[Any, ...]]]:
        """The stage and every group inside it: (path below the stage, mode, quorum, members)."""
        out: list[tuple[tuple[Any, ...], str, int | None, tuple[Any, ...]]] = []
        todo: list[tuple[tuple[Any, ...], str, int | None, tuple[Any, ...]]] = [
            ((), self.spec.mode, self.spec.quorum, self.spec.approvers)
        ]
        while todo:
            path, mode, quorum, members = todo.pop(0)
            out.append((path, mode, quorum, members))
            base = path + ("approvers",) if path else ("approvers",)
            todo += [
                (base + (k,), m.mode, m.quorum, m.approvers) for k, m in enumerate(members) if isinstance(m, GroupSpec)
            ]
        return out


class _Checker:
    def __init__(self, policy: LoadedPolicy, directory: Directory, erp_suppliers: Iterable[ErpSupplier] = ()) -> None:
        self.policy = policy
        self.directory = directory
        self.erp_suppliers = list(erp_suppliers)
        self.space = Space(policy, directory)
        self.issues: list[PolicyIssue] = []
        self.broken: set[str] = set()  # rules with unknown references: not also called unsatisfiable
        self.regions: dict[str, list[Box] | None] = {}
        items: list[CompiledRule[Any]] = [*policy.stops, *policy.rules, *policy.overlays, *policy.service_levels]
        for item in items:
            self.regions[item.id] = self.space.region(item.condition)

    def add(self, severity: str, kind: str, message: str, path: tuple[Any, ...], hint: str = "") -> None:
        line = self.policy.line_of(*path)
        human = ".".join(str(p) for p in path)
        self.issues.append(PolicyIssue(severity, kind, message, self.policy.filename, line, hint, human))

    def run(self) -> list[PolicyIssue]:
        self.unknown_references()
        self.unsatisfiable()
        self.shadowed()
        self.gaps()
        self.boundary_slips()
        self.duplicate_stages()
        self.missing_rates()
        self.escalation_cycles()
        self.unresolvable()
        self.missing_limits()
        return sorted(self.issues, key=lambda i: (i.line is None, i.line or 0, i.kind))

    # -- iteration helpers -------------------------------------------------------------------
    def stages(self) -> Iterator[_Stage]:
        for i, rule in enumerate(self.policy.rules):
            for j, stage in enumerate(rule.spec.stages or ()):
                yield _Stage(stage, ("rules", i, "stages", j), rule)
        for i, overlay in enumerate(self.policy.overlays):
            yield _Stage(overlay.spec.stage, ("overlays", i, "stage"), overlay)

    def _section_items(self) -> Iterator[tuple[str, int, CompiledRule[Any]]]:
        sections: tuple[tuple[str, Sequence[CompiledRule[Any]]], ...] = (
            ("stops", self.policy.stops),
            ("rules", self.policy.rules),
            ("overlays", self.policy.overlays),
            ("service_levels", self.policy.service_levels),
        )
        for section, items in sections:
            for i, item in enumerate(items):
                yield section, i, item

    def _known(self, fact: str) -> set[Any]:
        if fact == "requester.role":
            return set(self.directory.roles)
        return set(self.space.domains[fact])

    # -- unknown references ------------------------------------------------------------------
    def _unknown(
        self, what: str, value: str, known: set[str], path: tuple[Any, ...], where: str, extra: str = ""
    ) -> None:
        close = get_close_matches(value, sorted(known), n=1)
        if close:
            hint = f"did you mean `{close[0]}`?"
        else:
            names = sorted(known)
            more = f", ... ({len(names) - 10} more)" if len(names) > 10 else ""
            kinds = what[:-1] + "ies" if what.endswith("y") else what + "s"  # "known categories"
            hint = f"known {kinds}: {', '.join(names[:10]) or 'none'}{more}"
        self.add("error", "unknown_reference", f"{where}: unknown {what} `{value}`{extra}", path, hint)

    def unknown_references(self) -> None:
        d = self.directory
        owner = self.policy.spec.policy.owner
        if owner and owner not in d.person_by_id:
            self._unknown("person", owner, set(d.person_by_id), ("policy", "owner"), "policy owner")
        for role, target in self.policy.spec.escalations.items():
            for r in (role, target):
                if r not in d.roles:
                    self._unknown(
                        "role",
                        r,
                        d.roles,
                        ("escalations", role),
                        f"escalations map ({role} -> {target})",
                        "; nobody in the directory holds it",
                    )
        for stage in self.stages():
            specs: list[tuple[tuple[Any, ...], ApproverSpec]] = stage.spec.leaves()
            if stage.spec.escalate_to:
                specs.append((("escalate_to",), stage.spec.escalate_to))
            specs += [(("informed", k), a) for k, a in enumerate(stage.spec.informed)]
            self._check_specs(stage, specs)
        others: list[tuple[tuple[Any, ...], ApproverSpec, str, str]] = []
        for i, rule in enumerate(self.policy.rules):
            others += [
                (("rules", i, "informed", k), a, f"rule {rule.id}", rule.id) for k, a in enumerate(rule.spec.informed)
            ]
        for i, overlay in enumerate(self.policy.overlays):
            others += [
                (("overlays", i, "informed", k), a, f"overlay {overlay.id}", overlay.id)
                for k, a in enumerate(overlay.spec.informed)
            ]
        for i, level in enumerate(self.policy.service_levels):
            if level.spec.escalate_to:
                others.append(
                    (
                        ("service_levels", i, "escalate_to"),
                        level.spec.escalate_to,
                        f"service level {level.id}",
                        level.id,
                    )
                )
        if self.policy.spec.settings.escalate_to:
            others.append((("settings", "escalate_to"), self.policy.spec.settings.escalate_to, "settings", ""))
        for path, spec, where, owner in others:
            self._check_spec(path + (spec.kind,), spec, where, owner)
        self._check_conditions()

    def _check_specs(self, stage: _Stage, specs: list[tuple[tuple[Any, ...], ApproverSpec]]) -> None:
        for sub, spec in specs:
            self._check_spec(stage.path + sub + (spec.kind,), spec, stage.label, stage.owner.id)

    def _check_spec(self, path: tuple[Any, ...], spec: ApproverSpec, where: str, owner: str) -> None:
        d = self.directory
        if spec.kind == "role" and spec.role not in d.roles:
            self._unknown("role", spec.role or "", d.roles, path, where, "; nobody in the directory holds it")
            self.broken.add(owner)
        elif spec.kind == "person" and spec.person not in d.person_by_id:
            self._unknown("person", spec.person or "", set(d.person_by_id), path, where)
            self.broken.add(owner)
        elif spec.kind == "group" and spec.group not in d.group_by_id:
            self._unknown("group", spec.group or "", set(d.group_by_id), path, where)
            self.broken.add(owner)

    def _check_conditions(self) -> None:
        for section, i, item in self._section_items():
            for path, fact, values in _raw_tests(item.spec.when, (section, i, "when")):
                if fact not in _REFERENCE_FACTS:
                    continue
                known = self._known(fact)
                for value in values:
                    if str(value) not in known:
                        self.broken.add(item.id)
                        if fact == "currency":
                            self.add(
                                "error",
                                "unknown_reference",
                                f"{item.id}: currency `{value}` has no rate in `rates:`",
                                path,
                                f"add `{value}: <{self.policy.currency} per 1 {value}>` under `rates:`",
                            )
                        else:
                            self._unknown(
                                fact.replace("_", " ").replace(".", " "),
                                str(value),
                                known,
                                path,
                                f"{item.id}: condition on {fact}",
                            )

    # -- can never match -----------------------------------------------------------------------
    def unsatisfiable(self) -> None:
        for section, i, item in self._section_items():
            region = self.regions[item.id]
            if region is None or item.id in self.broken:
                continue
            if not self.space.realistic(region, _facts_in(region)):
                self.add(
                    "warning",
                    "unsatisfiable",
                    f"{item.id} can never match: its conditions contradict each other",
                    (section, i, "when"),
                    "check the comparisons (e.g. gt 5000 with lt 1000) and that the sites, regions and "
                    "suppliers named can occur together",
                )

    # -- shadowed rules ------------------------------------------------------------------------
    def shadowed(self) -> None:
        earlier: list[tuple[str, CompiledRule, list[Box]]] = []
        for i, stop in enumerate(self.policy.stops):
            region = self.regions[stop.id]
            if region is not None and is_conjunctive(stop.condition):
                earlier.append(("stop", stop, region))
        for i, rule in enumerate(self.policy.rules):
            mine = self.regions[rule.id]
            if mine is None or not is_conjunctive(rule.condition):
                # over-approximate an any/not rule by the tests it always needs: still sound
                mine = self.space.region(All(tuple(top_level_tests(rule.condition))))
            if mine and earlier and rule.id not in self.broken:
                facts = _facts_in(mine) | {f for _, _, r in earlier for f in _facts_in(r)}
                pieces = self.space.realistic(mine, facts)
                if pieces:
                    cover = [b for _, _, r in earlier for b in r]
                    left = [self.space.uncovered(p, cover) for p in pieces]
                    if all(part == [] for part in left):
                        self._report_shadow(i, rule, pieces, earlier)
            region = self.regions[rule.id]
            if region is not None and is_conjunctive(rule.condition):
                earlier.append(("rule", rule, region))

    def _report_shadow(
        self, i: int, rule: CompiledRule, pieces: list[Box], earlier: list[tuple[str, CompiledRule, list[Box]]]
    ) -> None:
        alone = [(kind, e) for kind, e, r in earlier if all(self.space.uncovered(p, r) == [] for p in pieces)]
        if alone:
            culprits = alone[:1]
        else:
            culprits = [
                (kind, e)
                for kind, e, r in earlier
                if any(self.space.intersect(p, b) is not None for p in pieces for b in r)
            ]
        names = " and ".join(f"{kind} {e.id} (line {e.line})" for kind, e in culprits)
        together = "" if len(culprits) == 1 else " together"
        self.add(
            "error",
            "shadowed",
            f"rule {rule.id} can never be reached: every request it matches is already decided by {names}{together}",
            ("rules", i),
            f"move {rule.id} above {culprits[0][1].id}, narrow the earlier condition, or delete {rule.id}",
        )

    # -- gaps ----------------------------------------------------------------------------------
    def gaps(self) -> None:
        cover: list[Box] = []
        for rule in self.policy.rules:
            region = self.regions[rule.id]
            if region is not None:
                cover.extend(region)
        facts = _facts_in(cover)
        pieces = _amount_pieces(self.policy)
        found: dict[tuple[str, str], list[str]] = {}  # (range text, category) -> sites
        for category in sorted(self.directory.category_by_code):
            for site in self.directory.site_by_code:
                uncovered: dict[str, list[Interval]] = {}  # "when ..." (the other facts that make the gap) -> pieces
                for piece in pieces:
                    cell = {"category": frozenset({category}), "site": frozenset({site}), "amount": piece}
                    parts = self.space.realistic([cell], facts | {"site"})
                    left = [self.space.uncovered(p, cover) for p in parts]
                    if any(part not in ([], None) for part in left):
                        boxes = [b for part in left if part for b in part]
                        uncovered.setdefault(self._gap_dimensions(boxes), []).append(piece)
                for when, spans in uncovered.items():
                    for rng in _merge(spans):
                        found.setdefault((rng.render(), category + when), []).append(site)
        # fold categories with the same sites and range into one finding
        folded: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        for (span, category), sites in found.items():
            folded.setdefault((span, tuple(sites)), []).append(category)
        all_sites = tuple(self.directory.site_by_code)
        findings = []
        for (span, at_sites), categories in folded.items():
            where = "any site" if at_sites == all_sites else ", ".join(at_sites)
            amounts = "any amount" if span == "[0, +inf)" else f"amounts in {span}"
            findings.append(f"no rule covers {', '.join(categories)} at {where} for {amounts}")
        path = ("rules",)
        hint = (
            "add a rule for it (or widen a neighbour's condition) so these requests are routed; "
            "otherwise they stop with settings.unrouted_reason. Stops do not count as cover."
        )
        for text in findings[:MAX_GAPS_REPORTED]:
            self.add("warning", "gap", text, path, hint)
        if len(findings) > MAX_GAPS_REPORTED:
            self.add("warning", "gap", f"... and {len(findings) - MAX_GAPS_REPORTED} more gaps like these", path, hint)

    _NOT_DIMENSIONS = frozenset(
        {"category", "site", "region", "cost_center", "amount", "supplier", "requester", "supplier.blocked"}
    )

    def _gap_dimensions(self, boxes: list[Box]) -> str:
        """' when urgency is emergency': the facts every uncovered piece is narrowed by, said in words."""
        if not boxes:
            return ""
        said = []
        for fact in sorted(set(boxes[0]) - self._NOT_DIMENSIONS):
            if fact in MULTI_VALUED or FACTS[fact][0] == "number":
                continue
            full = self.space.full(fact)
            values: set[Any] = set()
            for box in boxes:
                value = box.get(fact, full)
                if value == full:
                    break
                values |= set(value)
            else:
                if values and values != set(full):
                    shown = " or ".join(str(v).lower() for v in sorted(values, key=str))
                    said.append(f"{fact} is {shown}")
        return f" when {' and '.join(said)}" if said else ""

    # -- amount bands that miss their boundary ----------------------------------------------------
    def boundary_slips(self) -> None:
        """`lt 5000` then `gt 5000` leaves exactly 5000 to whatever rule comes later (often a catch-all)."""
        banded: list[CompiledRule] = []
        below: dict[Decimal, list[CompiledRule]] = {}  # threshold -> rules whose band stops just under it
        above: set[Decimal] = set()  # thresholds some band starts just over
        for rule in self.policy.rules:
            if self.regions[rule.id] is None:
                continue
            tests = [t for t in top_level_tests(rule.condition) if t.fact == "amount"]
            if tests:
                banded.append(rule)
            for t in tests:
                if t.op == "lt":
                    below.setdefault(t.value, []).append(rule)
                elif t.op == "gt":
                    above.add(t.value)
        candidates = sorted(x for x in below if x in above)
        if not candidates:
            return
        cover = [b for r in banded for b in self.regions[r.id] or []]
        facts = _facts_in(cover) | {"site"}
        pieces = _amount_pieces(self.policy)
        for at in candidates:
            i = pieces.index(Interval(at, True, at, True))
            hit = self._slip_at(at, pieces[i + 1], below[at], cover, facts)
            if hit:
                self._report_slip(at, banded, hit)

    def _slip_at(
        self, at: Decimal, over: Interval, stoppers: list[CompiledRule], cover: list[Box], facts: set[str]
    ) -> CompiledRule | None:
        """The rule that routes exactly `at` where a band stopping just under it meets one starting just over it."""
        point = Interval(at, True, at, True)
        for rule in stoppers:
            for box in self.regions[rule.id] or []:
                left = [
                    piece
                    for p in self.space.realistic([{**box, "amount": point}], facts)
                    for piece in self.space.uncovered(p, cover) or []
                ]
                if not left:
                    continue
                continued = self.space.realistic([{**box, "amount": over}], facts)
                if not all(self.space.uncovered(p, cover) == [] for p in continued):
                    continue  # the band simply ends here: a gap, not a slip between two bands
                for catcher in self.policy.rules:
                    region = self.regions[catcher.id]
                    if region and any(self.space.intersect(piece, b) is not None for piece in left for b in region):
                        return catcher
        return None

    def _report_slip(self, at: Decimal, banded: list[CompiledRule], catcher: CompiledRule) -> None:
        ends = [(r, t) for r in banded for t in top_level_tests(r.condition) if t.fact == "amount" and t.value == at]
        if not ends:
            return
        named = " and ".join(f"{r.id} ({t.op} {_num(at)})" for r, t in ends)
        first = ends[-1][0]
        index = self.policy.rules.index(first)
        self.add(
            "warning",
            "boundary",
            f"an amount of exactly {_num(at)} is in no amount band ({named}); it is routed by {catcher.id} instead",
            ("rules", index, "when", "amount"),
            f"make one band include {_num(at)}: e.g. `lte: {_num(at)}` below and `gt: {_num(at)}` above",
        )

    # -- two copies of one stage at a band boundary ----------------------------------------------
    def duplicate_stages(self) -> None:
        """Two sources (a rule and an overlay, or two overlays) adding the same stage where their amount bands
        touch: at that amount the request gets the stage twice."""
        sources: list[tuple[str, CompiledRule, StageSpec, tuple[Any, ...]]] = []
        for i, rule in enumerate(self.policy.rules):
            for j, stage in enumerate(rule.spec.stages or ()):
                sources.append(("rule", rule, stage, ("rules", i, "stages", j)))
        for i, overlay in enumerate(self.policy.overlays):
            sources.append(("overlay", overlay, overlay.spec.stage, ("overlays", i, "stage")))
        reported: set[tuple[str, str]] = set()
        for a, (kind_a, src_a, stage_a, _) in enumerate(sources):
            for kind_b, src_b, stage_b, path_b in sources[a + 1 :]:
                if kind_b != "overlay" or src_a.id == src_b.id or (src_a.id, src_b.id) in reported:
                    continue
                if stage_a.approvers != stage_b.approvers:
                    continue
                ra, rb = self.regions[src_a.id], self.regions[src_b.id]
                if not ra or not rb:
                    continue
                both = [m for x in ra for y in rb if (m := self.space.intersect(x, y)) is not None]
                both = self.space.realistic(both, _facts_in(both))
                amounts = {b.get("amount") for b in both}
                points = [i for i in amounts if isinstance(i, Interval) and i.lo is not None and i.lo == i.hi]
                if not both or len(points) != len(amounts):
                    continue  # they overlap on a range, by design; only a shared boundary is a slip
                reported.add((src_a.id, src_b.id))
                at = ", ".join(sorted(_num(p.lo) for p in points if p.lo is not None))
                self.add(
                    "error",
                    "duplicate_stage",
                    f"at an amount of exactly {at}, {kind_a} {src_a.id} and overlay {src_b.id} both add stage "
                    f"'{stage_b.name}' with the same approvers: the request would get it twice",
                    path_b,
                    "make the amount bands meet without overlapping: `lte: X` on one and `gt: X` on the other",
                )

    # -- currencies without a rate -----------------------------------------------------------------
    def missing_rates(self) -> None:
        known = {self.policy.currency, *self.policy.spec.rates}
        used: dict[str, list[str]] = {}
        if self.directory.currency not in known:
            used.setdefault(self.directory.currency, []).append("the company's currency")
        for supplier in self.directory.suppliers:
            if supplier.currency not in known:
                used.setdefault(supplier.currency, []).append(f"supplier {supplier.id}")
        # the ERP's vendor master: a supplier it bills in another currency is used even before anyone routes it
        for record in sorted(self.erp_suppliers, key=lambda r: (r.connector, r.supplier_id)):
            code = (record.currency or "").strip().upper()
            if code and code not in known:
                used.setdefault(code, []).append(f"ERP supplier {record.supplier_id} in {record.connector}")
        for code, who in sorted(used.items()):
            more = f" and {len(who) - 3} more" if len(who) > 3 else ""
            self.add(
                "error",
                "missing_rate",
                f"currency {code} is used ({', '.join(who[:3])}{more}) but has no rate: a request priced in it "
                f"cannot be converted to {self.policy.currency}",
                ("rates",) if self.policy.spec.rates else ("policy", "currency"),
                f"add `{code}: <{self.policy.currency} per 1 {code}>` under `rates:`",
            )

    # -- approvers with no limit on a limit-checked stage -----------------------------------------
    def missing_limits(self) -> None:
        if self.policy.spec.settings.approval_limits != "escalate":
            return
        d = self.directory
        unlimited = {p.id for p in d.people if p.active and "approval_limit" not in p.model_fields_set}
        if not unlimited:
            return
        for stage in self.stages():
            if not stage.spec.check_limits:
                continue
            for where, spec in stage.spec.leaves():
                named = self._may_name(spec, stage) & unlimited
                if named:
                    people = sorted(named)
                    more = f" and {len(people) - 5} more" if len(people) > 5 else ""
                    self.add(
                        "error",
                        "missing_limit",
                        f"{stage.label}: {', '.join(people[:5])}{more} have no approval_limit in the directory, "
                        "so on this limit-checked stage every request would pass them by as over a $0 limit",
                        stage.path + where + (spec.kind,),
                        "set `approval_limit:` for them in the directory (0 if they may approve nothing), "
                        "or `check_limits: false` on the stage",
                    )

    def _may_name(self, spec: ApproverSpec, stage: _Stage) -> set[str]:
        """Everyone a resolver may name for some request this stage can see."""
        d = self.directory
        if spec.kind == "manager":
            n = spec.manager or 1
            return {chain[n - 1] for p in d.people if len(chain := d.manager_chain(p.id)) >= n}
        if spec.kind == "budget_owner":
            return {c.owner for c in d.cost_centers if c.owner}
        out: set[str] = set()
        for site, category in self._contexts(stage.owner):
            out |= self._static_people((spec,), site, category) or set()
        return out

    # -- escalation cycles ---------------------------------------------------------------------
    def escalation_cycles(self) -> None:
        esc = self.policy.spec.escalations
        reported: set[frozenset[str]] = set()
        for start in esc:
            path, current = [start], esc.get(start)
            while current is not None:
                if current in path:
                    loop = path[path.index(current) :] + [current]
                    if frozenset(loop) not in reported:
                        reported.add(frozenset(loop))
                        self.add(
                            "error",
                            "escalation_cycle",
                            "escalations loop: " + " -> ".join(loop),
                            ("escalations", loop[0]),
                            "end the chain at a role that does not escalate further (e.g. coo)",
                        )
                    break
                path.append(current)
                current = esc.get(current)
        uses_managers = []
        default = self.policy.spec.settings.escalate_to
        for stage in self.stages():
            kinds = [a.kind for _, a in stage.spec.leaves()]
            target = stage.spec.escalate_to or default  # a stage that names none escalates as the settings say
            if target:
                kinds.append(target.kind)
            if {"manager", "approver_manager"} & set(kinds):
                uses_managers.append(stage)
            if target:
                self._stage_cycle(stage, target)
        if uses_managers:
            for loop in self.directory.manager_cycles():
                self.add(
                    "error",
                    "escalation_cycle",
                    f"the company directory's reporting lines loop: {' -> '.join(loop)}; "
                    f"{uses_managers[0].label} follows managers",
                    uses_managers[0].path,
                    "fix the `manager:` of one of these people in the directory",
                )

    def _stage_cycle(self, stage: _Stage, target: ApproverSpec) -> None:
        # In a stage of groups each group is looked at with its own members: a step that escalates from one
        # group to a member of another ("the manager's step goes to the procurement director") hands it on
        # and is no loop; escalating round and round inside one group is.
        for _, _, _, members in stage.groups():
            own = tuple(m for m in members if isinstance(m, ApproverSpec))
            if own and self._group_cycle(stage, target, own):
                return

    def _group_cycle(self, stage: _Stage, target: ApproverSpec, members: tuple[ApproverSpec, ...]) -> bool:
        for site, category in self._contexts(stage.owner):
            on_stage = self._static_people(members, site, category)
            if not on_stage:
                continue
            facts = {"site": site, "category": category}
            if target.kind in ("next_level", "approver_manager"):
                # A step escalates from whoever holds it, and again from whoever it reached: it only loops
                # when following it from a member never gets past the stage's own people. (One member
                # escalating to another member of an any-of group whose escalation goes further is fine:
                # runtime escalation carries on from them.)
                for person in sorted(on_stage):
                    loop = self._confined(target, facts, person, on_stage)
                    if loop:
                        self._cycle(stage, f"escalates from {person} back to {', '.join(loop)} at {site}")
                        return True
                continue
            up_people = self._static_people((target,), site, category)
            if up_people and up_people <= on_stage:
                self._cycle(stage, f"escalates back to its own approver(s) {', '.join(sorted(up_people))} at {site}")
                return True
        return False

    def _confined(self, target: ApproverSpec, facts: dict[str, Any], start: str, on_stage: set[str]) -> list[str]:
        """The stage members escalation from `start` keeps returning to, or [] when it leaves the stage or ends."""
        seen: set[str] = set()
        frontier = {start}
        while frontier:
            nxt: set[str] = set()
            for person in frontier:
                up = {
                    p.id
                    for p in resolve_people(
                        target, facts, self.directory, approver=person, escalations=self.policy.spec.escalations
                    )
                }
                if up - on_stage:
                    return []
                nxt |= up
            seen |= frontier
            frontier = nxt - seen
            if not frontier and nxt:
                return sorted(nxt)
        return []

    def _cycle(self, stage: _Stage, text: str) -> None:
        self.add(
            "error",
            "escalation_cycle",
            f"{stage.label} {text}",
            stage.path + ("escalate_to",),
            "escalate to someone above the stage's approvers, e.g. {approver_manager: 1}",
        )

    # -- steps that resolve to nobody -----------------------------------------------------------
    def _contexts(self, owner: CompiledRule) -> list[tuple[str, str]]:
        """(site, category) pairs a rule or overlay can apply to."""
        region = self.regions.get(owner.id)
        if region is None:
            region = self.space.region(All(tuple(top_level_tests(owner.condition)))) or [{}]
        boxes = self.space.realistic(region, {"site"})
        pairs = set()
        for b in boxes:
            for site in b.get("site", self.space.domains["site"]):
                for cat in b.get("category", self.space.domains["category"]):
                    pairs.add((site, cat))
        order = list(self.directory.site_by_code)
        return sorted(pairs, key=lambda p: (order.index(p[0]), p[1]))

    def _static_people(self, specs: tuple[ApproverSpec, ...], site: str, category: str) -> set[str] | None:
        """Who the resolvers name at a site/category, or None when it depends on the requester."""
        out: set[str] = set()
        for spec in specs:
            if spec.kind not in ("role", "person", "group", "category_manager"):
                return None
            out |= {p.id for p in resolve_people(spec, {"site": site, "category": category}, self.directory)}
        return out

    def unresolvable(self) -> None:
        d = self.directory
        for stage in self.stages():
            contexts = self._contexts(stage.owner)
            for where, spec in stage.spec.leaves():
                path = stage.path + where + (spec.kind,)
                if spec.kind == "role" and spec.role in d.roles:
                    sites = _ordered(
                        {s for s, c in contexts if not d.people_with_role(spec.role or "", s)}, list(d.site_by_code)
                    )
                    if sites:
                        self.add(
                            "error",
                            "unresolvable",
                            f"{stage.label}: nobody holds role {spec.role} at {', '.join(sites)}",
                            path,
                            f"grant {spec.role} at those sites in the directory, or limit {stage.owner.id} "
                            f"with `site: [...]`",
                        )
                elif spec.kind == "category_manager":
                    cats = sorted({c for s, c in contexts if not resolve_people(spec, {"category": c}, d)})
                    if cats:
                        self.add(
                            "error",
                            "unresolvable",
                            f"{stage.label}: no category manager for {', '.join(cats)}",
                            path,
                            "set `manager:` on those categories in the directory",
                        )
                elif spec.kind == "group" and spec.group in d.group_by_id and not d.group_by_id[spec.group].members:
                    self.add(
                        "error",
                        "unresolvable",
                        f"{stage.label}: group {spec.group} has no members",
                        path,
                        "add members to the group in the directory",
                    )
                elif spec.kind == "manager":
                    short = [p.id for p in d.people if p.manager and len(d.manager_chain(p.id)) < (spec.manager or 1)]
                    if short:
                        more = f" and {len(short) - 5} more" if len(short) > 5 else ""
                        self.add(
                            "warning",
                            "unresolvable",
                            f"{stage.label}: {', '.join(short[:5])}{more} have fewer than {spec.manager} "
                            f"levels of managers above them, so this step would resolve to nobody for their "
                            f"requests",
                            path,
                            "use {manager: 1} or a role for people near the top of the org",
                        )
            for where, mode, quorum, members in stage.groups():
                if mode == "quorum":
                    self._quorum(stage, contexts, where, quorum or 1, members)

    def _quorum(
        self,
        stage: _Stage,
        contexts: list[tuple[str, str]],
        where: tuple[Any, ...],
        need: int,
        members: tuple[Any, ...],
    ) -> None:
        short: dict[str, int] = {}
        for site, category in contexts:
            count = 0
            named: set[str] = set()
            for spec in members:
                if isinstance(spec, GroupSpec):
                    count += 1  # a group inside counts once, however many people it names
                    continue
                people = self._static_people((spec,), site, category)
                if people is None:
                    count += 1  # a requester-dependent resolver names at most one person
                else:
                    named |= people
            size = count + len(named)
            if size < need:
                short[site] = min(short.get(site, size), size)
        if short:
            sites = ", ".join(f"{s} ({n})" for s, n in short.items())
            self.add(
                "error",
                "unresolvable",
                f"{stage.label}{' ' + human_loc(where) if where else ''}: quorum {need} is more than the approvers "
                f"it can name at {sites}",
                stage.path + where + ("quorum",),
                "lower the quorum or add approvers to the stage",
            )


def _ordered(values: set[str], order: list[str]) -> list[str]:
    return [v for v in order if v in values]


def _raw_tests(when: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str, list[Any]]]:
    """(path, fact, values named) for every fact test in a raw `when:` mapping, nested ones too."""
    if not isinstance(when, dict):
        return
    for key, value in when.items():
        here = path + (key,)
        if key in ("all", "any") and isinstance(value, list):
            for i, child in enumerate(value):
                yield from _raw_tests(child, here + (i,))
        elif key == "not":
            yield from _raw_tests(value, here)
        elif key in FACTS:
            if isinstance(value, list):
                yield here, key, value
            elif isinstance(value, dict):
                for op, operand in value.items():
                    if op in ("eq", "ne", "in", "not_in"):
                        yield here + (op,), key, operand if isinstance(operand, list) else [operand]
            else:
                yield here, key, [value]


def _amount_pieces(policy: LoadedPolicy) -> list[Interval]:
    """Amounts cut at every threshold the rules use: each threshold point and the spans between."""
    cuts: set[Decimal] = {Decimal(0)}
    for rule in policy.rules:
        for t in _all_tests(rule.condition):
            if t.fact != "amount":
                continue
            if t.op == "between":
                cuts.update(t.value)
            elif isinstance(t.value, frozenset):
                cuts.update(t.value)
            else:
                cuts.add(t.value)
    points = sorted(c for c in cuts if c >= 0)
    pieces: list[Interval] = []
    for a, b in zip(points, points[1:] + [None]):
        pieces.append(Interval(a, True, a, True))
        pieces.append(Interval(a, False, b, False))
    return pieces


def _all_tests(node: Node) -> Iterator[Test]:
    if isinstance(node, Test):
        yield node
    elif isinstance(node, Expr):
        return
    elif isinstance(node, Not):
        yield from _all_tests(node.child)
    else:
        for c in node.children:
            yield from _all_tests(c)


def _merge(pieces: list[Interval]) -> list[Interval]:
    """Join touching pieces ([0,0] + (0,5000) -> [0,5000)) into readable ranges."""
    out: list[Interval] = []
    for p in pieces:
        if out and out[-1].hi == p.lo and (out[-1].hi_closed or p.lo_closed):
            last = out[-1]
            out[-1] = Interval(last.lo, last.lo_closed, p.hi, p.hi_closed)
        else:
            out.append(p)
    return out


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------


def check_policy(
    policy: LoadedPolicy, directory: Directory, erp_suppliers: Iterable[ErpSupplier] = ()
) -> list[PolicyIssue]:
    """Every finding about a loaded policy against a directory (and the ERP's vendor master data, when the caller
    has it: approvals.master_data.ErpSupplierRecord rows), in file order."""
    return _Checker(policy, directory, erp_suppliers).run()


def check_policy_file(path: str | Path, directory: Directory) -> tuple[LoadedPolicy | None, list[PolicyIssue]]:
    """Load and check a policy file; load problems come back as issues rather than raising."""
    try:
        policy = load_policy(path)
    except PolicyInvalid as exc:
        return None, list(exc.issues)
    return policy, check_policy(policy, directory)


def exit_code(issues: list[PolicyIssue]) -> int:
    """0 when clean, 1 when there are only warnings, 2 when anything is an error."""
    if any(i.severity == "error" for i in issues):
        return 2
    return 1 if issues else 0


def summary(issues: list[PolicyIssue]) -> str:
    errors = sum(1 for i in issues if i.severity == "error")
    warnings = len(issues) - errors
    if not issues:
        return "policy check: no problems found"
    return f"policy check: {errors} error(s), {warnings} warning(s)"


__all__ = ["check_policy", "check_policy_file", "exit_code", "summary", "Interval", "Space"]
