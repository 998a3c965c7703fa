"""Approval matrices as spreadsheets: a delegation-of-authority matrix (CSV) to a policy file and back.

The layout (docs/policy.md, "Spreadsheet matrices"): one header row naming the columns below, then one row per
stage. A rule with several stages takes several rows with the same `section` and `id`, in order; the first row
carries its conditions and description, later rows leave them empty. A rule that approves automatically or
stops takes one row. Columns (any order; unknown columns are refused):

    section       stop | rule | overlay | service_level
    id            the rule's id
    description   what the director calls it ("Over $25,000")
    amount_over   the amount is more than this (policy currency)
    amount_up_to  the amount is at most this
    site, category, item_type, urgency, supplier_risk
                  one value or several separated by commas
    also_when     anything else, in the policy's own condition syntax: {expr: "amount > 1.2 * budget.remaining"}
    outcome       "approve automatically", "stop: <reason>", or empty (the rows' stages)
    stage         the stage's name
    mode          any | all | quorum N
    approvers     resolvers separated by ";": manager, manager 2, role NAME, person ID, group ID, budget owner,
                  category manager; a group inside the stage is any(...), all(...) or N of(...), named by
                  a prefix: `Procurement: any(...)` (in double quotes when the name has : ; ( ) or ")
    informed      resolvers told when the stage starts (or of an automatic approval), never asked
    inform_when   start | start_and_end (the informed people also hear how the stage ended)
    sla_hours, check_limits (yes/no), explain, order, applies_to (overlays: approval | all), escalate_to,
    escalation (add | reassign)
    remind_first_hours, remind_every_hours, remind_max
                  service_level rows only: the reminders of every stage the service level covers

A service_level row is a service level: its conditions, then what it sets (sla_hours, reminders, escalate_to,
escalation) on every stage of a route it covers. The matrix owns the stops, rules, overlays and service levels;
everything else a policy has (its header, rates, settings, escalations) comes from a base policy file, or
defaults. Pure: text in, text out; the caller loads and checks the result.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

import yaml

from approvals.errors import PolicyIssue

COLUMNS = (
    "section",
    "id",
    "description",
    "amount_over",
    "amount_up_to",
    "site",
    "category",
    "item_type",
    "urgency",
    "supplier_risk",
    "also_when",
    "outcome",
    "stage",
    "mode",
    "approvers",
    "informed",
    "sla_hours",
    "check_limits",
    "explain",
    "order",
    "applies_to",
    "escalate_to",
    "escalation",
    "inform_when",
    "remind_first_hours",
    "remind_every_hours",
    "remind_max",
)
_LISTS = {
    "site": "site",
    "category": "category",
    "item_type": "item_type",
    "urgency": "urgency",
    "supplier_risk": "supplier.risk_tier",
}
_AUTO = "approve automatically"
SECTIONS = {"stop": "stops", "rule": "rules", "overlay": "overlays", "service_level": "service_levels"}
_CONDITIONS = ("amount_over", "amount_up_to", *_LISTS, "also_when")
_STAGE = (
    "stage",
    "mode",
    "approvers",
    "informed",
    "inform_when",
    "sla_hours",
    "check_limits",
    "explain",
    "order",
    "escalate_to",
    "escalation",
)
_REMIND = {"remind_first_hours": "first_after_hours", "remind_every_hours": "every_hours", "remind_max": "max"}
# the columns each section reads; anything else written on its row is refused rather than dropped
_USES = {
    "stops": {"section", "id", "outcome", *_CONDITIONS},
    "rules": {"section", "id", "description", "outcome", *_CONDITIONS, *_STAGE},
    "overlays": {"section", "id", "description", "applies_to", *_CONDITIONS, *_STAGE},
    "service_levels": {
        "section",
        "id",
        "description",
        *_CONDITIONS,
        "sla_hours",
        "escalate_to",
        "escalation",
        *_REMIND,
    },
}
_HINT_APPROVERS = (
    "write resolvers separated by ';': manager, manager 2, role NAME, person ID, group ID, budget owner, "
    "category manager; a group: any(...), all(...), 2 of(...)"
)


class MatrixInvalid(Exception):
    def __init__(self, issues: list[PolicyIssue]) -> None:
        super().__init__("; ".join(i.message for i in issues))
        self.issues = issues


@dataclass
class Imported:
    text: str  # the policy YAML
    rows: dict[tuple[str, int], int]  # (section, item index) -> the matrix line its first row is on

    def line_of(self, path: str) -> int | None:
        """The matrix line of a policy location such as `rules[2].stages[0]`, for findings on the result."""
        # the loader writes rules[2].stages[0], the checker rules.2.stages.0
        m = re.match(r"(stops|rules|overlays|service_levels)(?:\[(\d+)\]|\.(\d+))", path or "")
        return self.rows.get((m.group(1), int(m.group(2) or m.group(3)))) if m else None


# ---------------------------------------------------------------- resolvers, both ways


def _split(text: str) -> list[str]:
    """Items separated by ';' at the top level (not inside parentheses or a quoted group name)."""
    out, depth, start, quoted = [], 0, 0, False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted  # a doubled quote inside a name toggles twice: still inside
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("a ')' without its '('")
        elif ch == ";" and depth == 0:
            out.append(text[start:i])
            start = i + 1
    if quoted:
        raise ValueError("a group name's '\"' without its closing '\"'")
    if depth:
        raise ValueError("a '(' without its ')'")
    out.append(text[start:])
    return [p.strip() for p in out if p.strip()]


_GROUP = re.compile(r"^(?:(any|all)|(\d+)\s+of)\s*\((.*)\)$", re.S)
# a group's name, written before it: `Procurement: any(...)`, or `"Ops: night shift": any(...)`
_NAMED = re.compile(r'^(?:"((?:[^"]|"")+)"|([^":;()]+?))\s*:\s*(.*)$', re.S)
_PLAIN_NAME = re.compile(r"[^\":;()]+")


def _show_name(name: str) -> str:
    if _PLAIN_NAME.fullmatch(name) and name == name.strip():
        return name
    return '"' + name.replace('"', '""') + '"'


def parse_approvers(text: str, groups: bool = True) -> list[dict[str, Any]]:
    """`manager; any(role procurement_director; category manager)` -> the policy's approvers list."""
    out: list[dict[str, Any]] = []
    for item in _split(text):
        named = _NAMED.match(item)
        name = None
        if named and _GROUP.match(named.group(3).strip()):
            name = named.group(1).replace('""', '"') if named.group(1) else named.group(2).strip()
            body = named.group(3).strip()
        else:
            body = item
        m = _GROUP.match(body)
        if m:
            if not groups:
                raise ValueError(f"`{item}`: a group is not allowed here")
            members = parse_approvers(m.group(3))
            if not members:
                raise ValueError(f"`{item}`: a group needs at least one member")
            group: dict[str, Any] = {"mode": m.group(1) or "quorum"}
            if m.group(2):
                group["quorum"] = int(m.group(2))
            group["approvers"] = members
            if name is not None:
                group["name"] = name
            out.append(group)
            continue
        if named:
            raise ValueError(f"`{item}`: only a group takes a name (`Name: any(...)`)")
        words = item.split()
        head = words[0].lower()
        if head == "manager" and len(words) <= 2:
            out.append({"manager": int(words[1]) if len(words) == 2 and words[1].isdigit() else 1})
        elif head in ("role", "person", "group") and len(words) == 2:
            out.append({head: words[1]})
        elif [w.lower() for w in words] in (["budget", "owner"], ["category", "manager"]):
            out.append({"_".join(w.lower() for w in words): True})
        elif head == "approver" and len(words) >= 2 and words[1].lower() == "manager":
            out.append({"approver_manager": int(words[2]) if len(words) == 3 and words[2].isdigit() else 1})
        elif [w.lower() for w in words] == ["next", "level"]:
            out.append({"next_level": True})
        else:
            raise ValueError(f"`{item}` is not a resolver")
    return out


def show_approvers(items: Any) -> str:
    """The policy's approvers list as a matrix cell (parse_approvers reads it back)."""
    parts: list[str] = []
    for a in items or ():
        if "approvers" in a:
            inner = show_approvers(a["approvers"])
            head = f"{a['quorum']} of" if a.get("mode") == "quorum" else a.get("mode", "any")
            label = f"{_show_name(str(a['name']))}: " if a.get("name") else ""
            parts.append(f"{label}{head}({inner})")
        elif "manager" in a:
            parts.append("manager" if a["manager"] == 1 else f"manager {a['manager']}")
        elif "approver_manager" in a:
            n = a["approver_manager"]
            parts.append("approver manager" if n == 1 else f"approver manager {n}")
        elif a.get("budget_owner"):
            parts.append("budget owner")
        elif a.get("category_manager"):
            parts.append("category manager")
        elif a.get("next_level"):
            parts.append("next level")
        else:
            (key, value), *_ = a.items()
            parts.append(f"{key} {value}")
    return "; ".join(parts)


# ---------------------------------------------------------------- import


def _values(cell: str) -> Any:
    items = [v.strip() for v in cell.split(",") if v.strip()]
    return items[0] if len(items) == 1 else items


def _number(cell: str) -> int | float:
    text = cell.replace(",", "").replace("$", "").strip()
    value = float(text)
    return int(value) if value == int(value) else value


def import_matrix(text: str, filename: str = "<matrix>", base: dict[str, Any] | None = None) -> Imported:
    """The matrix as a policy (YAML text), on top of `base` (a policy document); MatrixInvalid with every problem
    at its line otherwise."""
    issues: list[PolicyIssue] = []

    def problem(line: int, column: str, message: str, hint: str = "") -> None:
        issues.append(
            PolicyIssue("error", "matrix", f"{column}: {message}" if column else message, filename, line, hint)
        )

    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows = [(n, r) for n, r in enumerate(reader, start=1) if any(c.strip() for c in r)]
    if not rows:
        raise MatrixInvalid([PolicyIssue("error", "matrix", "the matrix is empty", filename, None, _HINT_HEADER)])
    head_line, header = rows[0]
    names = [h.strip().lower() for h in header]
    unknown = [h for h in names if h and h not in COLUMNS]
    if unknown or "section" not in names or "id" not in names:
        problem(
            head_line,
            "",
            f"unknown column(s) {', '.join(unknown)}" if unknown else "the header needs `section` and `id`",
            _HINT_HEADER,
        )
        raise MatrixInvalid(issues)
    doc: dict[str, Any] = dict(base or {"policy": {"id": "matrix", "version": "1", "currency": "USD"}})
    for section in SECTIONS.values():
        doc[section] = []
    where: dict[tuple[str, int], int] = {}
    current: dict[str, Any] | None = None
    for line, raw in rows[1:]:
        cell = {n: (raw[i].strip() if i < len(raw) else "") for i, n in enumerate(names) if n}
        found = SECTIONS.get(cell.get("section", "").lower())
        if found is None:
            problem(line, "section", f"`{cell.get('section', '')}` is not stop, rule, overlay or service_level")
            continue
        section = found
        ident = cell.get("id", "")
        unused = [c for c in names if c and cell.get(c) and c not in _USES[section]]
        if unused:
            what = cell["section"].lower().replace("_", " ")
            problem(line, unused[0], f"a {what} row has no use for {', '.join(unused)}; leave it empty")
            continue
        if current is not None and current["_section"] == section and current["id"] == ident and section == "rules":
            item = current  # another stage of the same rule
            first = False
        else:
            item = {"_section": section, "id": ident}
            doc[section].append(item)
            where[(section, len(doc[section]) - 1)] = line
            current, first = item, True
        try:
            _fill(item, cell, first, section)
        except ValueError as exc:
            column, _, message = str(exc).partition("|")
            problem(line, column, message, _HINT_APPROVERS if column in ("approvers", "informed") else "")
    if issues:
        raise MatrixInvalid(issues)
    for section in SECTIONS.values():
        for item in doc[section]:
            item.pop("_section", None)
        if not doc[section]:
            doc.pop(section)
    return Imported(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120), where)


_HINT_HEADER = "the first row names the columns: " + ", ".join(COLUMNS)


def _fill(item: dict[str, Any], cell: dict[str, str], first: bool, section: str) -> None:
    def fail(column: str, message: str) -> ValueError:
        return ValueError(f"{column}|{message}")

    when: dict[str, Any] = {}
    amount: dict[str, Any] = {}
    try:
        if cell.get("amount_over"):
            amount["gt"] = _number(cell["amount_over"])
        if cell.get("amount_up_to"):
            amount["lte"] = _number(cell["amount_up_to"])
    except ValueError:
        raise fail("amount", "write a number, e.g. 25000") from None
    if amount:
        when["amount"] = amount
    for column, fact in _LISTS.items():
        if cell.get(column):
            when[fact] = _values(cell[column])
    if cell.get("also_when"):
        try:
            more = yaml.safe_load(cell["also_when"])
        except yaml.YAMLError as exc:
            raise fail("also_when", f"not a condition: {str(exc).splitlines()[0]}") from None
        if not isinstance(more, dict):
            raise fail("also_when", 'write a mapping, e.g. {expr: "amount > 1.2 * budget.remaining"}')
        clash = sorted(set(more) & set(when))
        if clash:
            raise fail("also_when", f"{', '.join(clash)} is already given in its own column")
        when.update(more)
    if not first:
        if when or cell.get("description") or cell.get("outcome"):
            raise fail("", f"a later stage of {item['id']} repeats its conditions or outcome; leave them empty")
    else:
        if cell.get("description"):
            item["description"] = cell["description"]
        if when:
            item["when"] = when
    outcome = cell.get("outcome", "")
    if section == "service_levels":
        _service_level(item, cell, fail)
        return
    if section == "stops":
        if not outcome.lower().startswith("stop:"):
            raise fail("outcome", "a stop's outcome is `stop: <reason>`")
        item["reason"] = outcome.split(":", 1)[1].strip()
        return
    if first and outcome.lower() == _AUTO:
        item["auto_approve"] = True
    elif first and outcome.lower().startswith("stop:"):
        item["stop"] = outcome.split(":", 1)[1].strip()
    elif outcome and outcome.lower() != "approval":
        raise fail("outcome", f"`{outcome}`: write `{_AUTO}`, `stop: <reason>`, or leave it empty for the stages")
    informed = _resolvers(cell, "informed", groups=False)
    if "auto_approve" in item or "stop" in item:
        extra = [c for c in _STAGE if c != "informed" and cell.get(c)]
        if extra:
            raise fail(extra[0], f"a rule that does not ask anyone has no stage; leave {', '.join(extra)} empty")
        if informed:
            item["informed"] = informed
        return
    stage = _stage(cell, fail)
    if informed:
        stage["informed"] = informed
    if cell.get("inform_when"):
        if cell["inform_when"].lower() not in ("start", "start_and_end"):
            raise fail("inform_when", "write start or start_and_end")
        stage["inform_when"] = cell["inform_when"].lower()
    if section == "overlays":
        item["stage"] = stage
        if cell.get("applies_to"):
            item["applies_to"] = cell["applies_to"]
    else:
        item.setdefault("stages", []).append(stage)


def _resolvers(cell: dict[str, str], column: str, groups: bool) -> list[dict[str, Any]]:
    try:
        return parse_approvers(cell.get(column, ""), groups)
    except ValueError as exc:
        raise ValueError(f"{column}|{exc}") from None


def _stage(cell: dict[str, str], fail: Any) -> dict[str, Any]:
    stage: dict[str, Any] = {"name": cell.get("stage") or "Approval"}
    mode = cell.get("mode", "").lower()
    m = re.fullmatch(r"quorum\s+(\d+)", mode)
    if m:
        stage["mode"], stage["quorum"] = "quorum", int(m.group(1))
    elif mode in ("any", "all"):
        stage["mode"] = mode
    elif mode:
        raise fail("mode", f"`{mode}`: write any, all or quorum N")
    stage["approvers"] = _resolvers(cell, "approvers", groups=True)
    if not stage["approvers"]:
        raise fail("approvers", "a stage needs at least one approver")
    if cell.get("sla_hours"):
        try:
            stage["sla_hours"] = _number(cell["sla_hours"])
        except ValueError:
            raise fail("sla_hours", "write a number of hours") from None
    if cell.get("check_limits"):
        if cell["check_limits"].lower() not in ("yes", "no", "true", "false"):
            raise fail("check_limits", "write yes or no")
        stage["check_limits"] = cell["check_limits"].lower() in ("yes", "true")
    if cell.get("explain"):
        stage["explain"] = cell["explain"]
    if cell.get("order"):
        try:
            stage["order"] = int(cell["order"])
        except ValueError:
            raise fail("order", "write a whole number") from None
    if cell.get("escalate_to"):
        target = _resolvers(cell, "escalate_to", groups=False)
        if len(target) != 1:
            raise fail("escalate_to", "name one resolver")
        stage["escalate_to"] = target[0]
    _escalation(stage, cell, fail)
    return stage


def _escalation(into: dict[str, Any], cell: dict[str, str], fail: Any) -> None:
    if cell.get("escalation"):
        if cell["escalation"].lower() not in ("add", "reassign"):
            raise fail("escalation", "write add (the escalation target joins) or reassign (the step moves to them)")
        into["escalation"] = cell["escalation"].lower()


def _service_level(item: dict[str, Any], cell: dict[str, str], fail: Any) -> None:
    """A service_level row: what it sets on every stage it covers."""
    if cell.get("sla_hours"):
        try:
            item["sla_hours"] = _number(cell["sla_hours"])
        except ValueError:
            raise fail("sla_hours", "write a number of hours") from None
    reminders: dict[str, Any] = {}
    for column, key in _REMIND.items():
        if cell.get(column):
            try:
                reminders[key] = int(cell[column]) if key == "max" else _number(cell[column])
            except ValueError:
                raise fail(column, "write a whole number" if key == "max" else "write a number of hours") from None
    if reminders:
        item["reminders"] = reminders
    if cell.get("escalate_to"):
        target = _resolvers(cell, "escalate_to", groups=False)
        if len(target) != 1:
            raise fail("escalate_to", "name one resolver")
        item["escalate_to"] = target[0]
    _escalation(item, cell, fail)


# ---------------------------------------------------------------- export


def export_matrix(doc: dict[str, Any]) -> str:
    """A policy document's stops, rules, overlays and service levels as the matrix (CSV text)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for section, key in SECTIONS.items():
        for item in doc.get(key) or ():
            base = {"section": section, "id": item["id"], "description": item.get("description") or ""}
            base |= _conditions(dict(item.get("when") or {}))
            if section == "service_level":
                writer.writerow(_row(base | _level_cells(item)))
                continue
            if section == "stop":
                writer.writerow(_row(base | {"outcome": f"stop: {item['reason']}"}))
                continue
            if item.get("auto_approve") or item.get("stop"):
                outcome = _AUTO if item.get("auto_approve") else f"stop: {item['stop']}"
                writer.writerow(_row(base | {"outcome": outcome, "informed": show_approvers(item.get("informed"))}))
                continue
            stages = [item["stage"]] if section == "overlay" else list(item.get("stages") or ())
            for n, stage in enumerate(stages):
                # a rule's or overlay's informed people are told with its (first) stage, before the stage's own:
                # routing does the same, so writing them on the stage changes nobody's notice
                told = (list(item.get("informed") or ()) if n == 0 else []) + list(stage.get("informed") or ())
                row = (base if n == 0 else {"section": section, "id": item["id"]}) | _stage_cells(stage, told)
                if section == "overlay" and item.get("applies_to"):
                    row["applies_to"] = item["applies_to"]
                writer.writerow(_row(row))
    return out.getvalue()


def _row(values: dict[str, Any]) -> list[str]:
    return [str(values.get(c, "")) for c in COLUMNS]


def _flat(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _conditions(when: dict[str, Any]) -> dict[str, str]:
    cells: dict[str, str] = {}
    amount = when.get("amount")
    if isinstance(amount, dict) and set(amount) <= {"gt", "lte"}:
        when.pop("amount")
        if "gt" in amount:
            cells["amount_over"] = str(amount["gt"])
        if "lte" in amount:
            cells["amount_up_to"] = str(amount["lte"])
    for column, fact in _LISTS.items():
        value = when.get(fact)
        plain = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        if value is not None and (plain or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
            cells[column] = _flat(value)
            when.pop(fact)
    if when:
        cells["also_when"] = yaml.safe_dump(when, default_flow_style=True, sort_keys=False, width=10_000).strip()
    return cells


def _stage_cells(stage: dict[str, Any], told: list[Any]) -> dict[str, str]:
    cells = {"stage": stage["name"], "approvers": show_approvers(stage["approvers"])}
    mode = stage.get("mode", "any")
    cells["mode"] = f"quorum {stage['quorum']}" if mode == "quorum" else mode
    if told:
        cells["informed"] = show_approvers(told)
    for key in ("sla_hours", "explain", "order"):
        if stage.get(key) is not None:
            cells[key] = str(stage[key])
    if "check_limits" in stage:
        cells["check_limits"] = "yes" if stage["check_limits"] else "no"
    if stage.get("escalate_to"):
        cells["escalate_to"] = show_approvers([stage["escalate_to"]])
    for key in ("escalation", "inform_when"):
        if stage.get(key):
            cells[key] = str(stage[key])
    return cells


def _level_cells(level: dict[str, Any]) -> dict[str, str]:
    cells: dict[str, str] = {}
    if level.get("sla_hours") is not None:
        cells["sla_hours"] = str(level["sla_hours"])
    for column, key in _REMIND.items():
        if (level.get("reminders") or {}).get(key) is not None:
            cells[column] = str(level["reminders"][key])
    if level.get("escalate_to"):
        cells["escalate_to"] = show_approvers([level["escalate_to"]])
    if level.get("escalation"):
        cells["escalation"] = str(level["escalation"])
    return cells
