"""Measuring the intake: a corpus of messages, each with what it should be read as, scored (docs/intake-eval.md).

Two halves. The pure half reads and checks a corpus line (`parse_case`), scores a draft against its
expectations (`score_draft`, `asked_fields`, `exact_missing`, `expected_total`) and adds the outcomes up
(`aggregate`). The driver (`Evaluator`) sends each message through `Assistant`, the conversation every
surface uses, in a scratch SQLite database with a fixed clock, answers its questions with the expected
facts and submits; it scores nothing itself.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from approvals import outbox
from approvals.db import make_engine, transaction, upgrade
from approvals.directory import Directory
from approvals.models import Requisition
from approvals.policy import LoadedPolicy
from approvals.policy_store import install_policy
from approvals.workflow import ApprovalService
from bot.intake.assistant import Assistant
from bot.intake.draft import DraftState, Question, questions

CENT = Decimal("0.01")
KEYS = ("text", "requester", "expect", "intent", "complete", "missing")
EXPECT_KEYS = ("lines", "supplier", "site", "cost_center", "need_by", "urgency", "currency")
LINE_KEYS = ("qty", "unit_price", "total", "item~", "unit")
INTENTS = ("purchase", "status", "delegations", "digest_off", "digest_on", "out_of_office", "help", "question")
MISSING = ("item", "qty", "price", "supplier", "site", "cost_center", "site_or_cost_center", "need_by")
URGENCIES = ("standard", "urgent", "emergency")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# what a question about a field is called in `missing`; a question outside this list keeps its own name
# a loose catalog match is asked instead of the price ("the label printer at $620, or something else?")
ASKED_AS = {"items": "item", "quantity": "qty", "price": "price", "price_kind": "price", "item_choice": "price"}
UNIT_SYNONYMS = {
    "cs": "case",
    "pk": "pack",
    "ea": "each",
    "pc": "each",
    "pcs": "each",
    "piece": "each",
    "unit": "each",
    "bx": "box",
    "gallon": "gal",
    "foot": "ft",
    "feet": "ft",
    "pound": "lb",
    "lbs": "lb",
}
DEFAULT_REQUESTER = "jake.miller"
DEFAULT_NOW = datetime(2026, 12, 7, 10, 0)  # Monday 10:00, in each requester's own time zone
MAX_TURNS = 12


class CorpusError(ValueError):
    """A corpus that cannot be scored; the message names the line and what to fix."""


@dataclass(frozen=True)
class Case:
    """One corpus line, checked."""

    line_no: int
    text: str
    requester: str = DEFAULT_REQUESTER
    expect: dict[str, Any] = field(default_factory=dict)
    intent: str = "purchase"
    intent_given: bool = False
    complete: bool | None = None
    missing: tuple[str, ...] | None = None

    @property
    def purchase(self) -> bool:
        return self.intent == "purchase"


# ---------------------------------------------------------------------------------- reading the corpus


def _amount(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise CorpusError(f"{where} must be a number, not {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise CorpusError(f"{where} must be a number, not {value!r}") from None
    if not number.is_finite():
        raise CorpusError(f"{where} must be a number, not {value!r}")
    return number


def _unknown(given: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    extra = [k for k in given if k not in known]
    if extra:
        raise CorpusError(f"unknown key {extra[0]!r} in {where} (known: {', '.join(known)})")


def _expect(raw: Any, directory: Directory) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CorpusError("expect must be an object")
    _unknown(raw, EXPECT_KEYS, "expect")
    out: dict[str, Any] = {}
    if "lines" in raw:
        if not isinstance(raw["lines"], list) or not all(isinstance(x, dict) for x in raw["lines"]):
            raise CorpusError("expect.lines must be a list of objects")
        lines = []
        for i, given in enumerate(raw["lines"], 1):
            _unknown(given, LINE_KEYS, f"expect.lines[{i}]")
            line: dict[str, Any] = {}
            for key in ("qty", "unit_price", "total"):
                if key in given:
                    line[key] = _amount(given[key], f"expect.lines[{i}].{key}")
            for key in ("item~", "unit"):
                if key in given:
                    if not isinstance(given[key], str) or not given[key].strip():
                        raise CorpusError(f"expect.lines[{i}].{key} must be a non-empty string")
                    line[key] = given[key].strip()
            lines.append(line)
        out["lines"] = lines
    for key in ("supplier", "site", "cost_center", "urgency", "currency", "need_by"):
        if key in raw:
            if not isinstance(raw[key], str) or not raw[key].strip():
                raise CorpusError(f"expect.{key} must be a non-empty string")
            out[key] = raw[key].strip()
    if "urgency" in out and out["urgency"].lower() not in URGENCIES:
        raise CorpusError(f"expect.urgency must be one of {', '.join(URGENCIES)}, not {out['urgency']!r}")
    if "need_by" in out and out["need_by"].lower() not in WEEKDAYS:
        try:
            date.fromisoformat(out["need_by"])
        except ValueError:
            raise CorpusError(f"expect.need_by must be YYYY-MM-DD or a weekday name, not {out['need_by']!r}") from None
    return out


def parse_case(raw: str, line_no: int, directory: Directory) -> Case:
    """One corpus line as a Case; CorpusError (naming the line) when it cannot be scored as written."""
    try:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise CorpusError("each line must be one JSON object")
        _unknown(data, KEYS, "the line")
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise CorpusError("text is required and must be a non-empty string")
        requester = data.get("requester", DEFAULT_REQUESTER)
        if not isinstance(requester, str) or directory.person(requester) is None:
            raise CorpusError(f"requester {requester!r} is not a person in the company directory")
        intent = data.get("intent", "purchase")
        if intent not in INTENTS:
            raise CorpusError(f"intent must be one of {', '.join(INTENTS)}, not {intent!r}")
        complete = data.get("complete")
        if complete is not None and not isinstance(complete, bool):
            raise CorpusError("complete must be true or false")
        missing = data.get("missing")
        if missing is not None:
            if not isinstance(missing, list) or any(m not in MISSING for m in missing):
                raise CorpusError(f"missing must be a list drawn from {', '.join(MISSING)}")
            if complete is True:
                raise CorpusError("a request cannot be complete and have missing facts; drop one of the two")
            missing = tuple(missing)
        return Case(
            line_no=line_no,
            text=text,
            requester=requester,
            expect=_expect(data.get("expect", {}), directory),
            intent=intent,
            intent_given="intent" in data,
            complete=False if complete is None and missing is not None else complete,
            missing=missing,
        )
    except CorpusError as exc:
        raise CorpusError(f"line {line_no}: {exc}") from None


def read_corpus(path: Path, directory: Directory) -> list[Case]:
    """Every non-blank line of a JSONL corpus, checked; the first bad line stops it with CorpusError."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CorpusError(f"{path} does not exist; give the corpus file with --data") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"cannot read {path}: {exc}") from None
    try:
        cases = [parse_case(raw, n, directory) for n, raw in enumerate(lines, 1) if raw.strip()]
    except CorpusError as exc:
        raise CorpusError(f"{path} {exc}") from None
    if not cases:
        raise CorpusError(f"{path} has no messages; write one JSON object per line")
    return cases


# ---------------------------------------------------------------------------------- scoring one draft


@dataclass(frozen=True)
class FieldScore:
    field: str  # qty, unit_price, total, item~, unit, extra_line, supplier, site, ..., intent
    right: bool
    expected: Any
    read: Any
    line: int | None = None  # 1-based, for the line fields

    def miss(self) -> str:
        where = f"line {self.line} " if self.line else ""
        return f"{where}{self.field}: expected {_show(self.expected)}, read {_show(self.read)}"


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def same_amount(a: Decimal | None, b: Decimal | None) -> bool:
    return a is not None and b is not None and abs(Decimal(a) - Decimal(b)) <= CENT


def unit_name(unit: str | None) -> str:
    """A unit as compared: cs = case, pk = pack, ea = each = pc = piece = unit, bx = box, gal = gallon, ft = foot,
    lb = pound; plurals as singular; none is each
    (that is what a requisition line without a unit records)."""
    word = (unit or "each").strip().lower().rstrip(".")
    word = UNIT_SYNONYMS.get(word, word)
    if word.endswith("xes"):
        word = word[:-2]
    elif word.endswith("s") and len(word) > 3 and not word.endswith("ss"):
        word = word[:-1]
    return UNIT_SYNONYMS.get(word, word)


def need_by_date(expected: str, today: date) -> date:
    """YYYY-MM-DD, or a weekday name: the first such day after today."""
    name = expected.lower()
    if name in WEEKDAYS:
        ahead = (WEEKDAYS.index(name) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    return date.fromisoformat(expected)


def _named_back(state: DraftState, kind: str, expected: str) -> str | None:
    """The unknown `kind` (supplier, site, cost_center) the draft names back, if any field holds `expected`."""
    for name, value in state.model_dump().items():
        if kind not in name or name in (kind, f"{kind}_source", f"{kind}_choices"):
            continue
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, str) and _same_name(one, expected):
                return one
    return None


def _same_name(read: str, expected: str) -> bool:
    """ "Bloomberg LP" names Bloomberg, "Sunbelt" names Sunbelt Rentals: one holds the other's words, in order."""
    a, b = (" ".join(re.findall(r"[a-z0-9&']+", x.lower())) for x in (read, expected))
    if not a or not b:
        return False
    short, long = sorted((a, b), key=len)
    return re.search(rf"(?<![\w&']){re.escape(short)}(?![\w&'])", long) is not None


def _known(directory: Directory, kind: str, expected: str) -> str | None:
    """The id or code `expected` names (by id, code, name or alias), or None when the directory does not know it."""
    wanted = expected.lower()
    rows: list[tuple[str, list[str]]]
    if kind == "supplier":
        rows = [(s.id, [s.id, s.name, *s.aliases]) for s in directory.suppliers]
    elif kind == "site":
        rows = [(s.code, [s.code, s.name, *s.aliases]) for s in directory.sites]
    else:
        rows = [(c.code, [c.code, c.name]) for c in directory.cost_centers]
    return next((key for key, names in rows if wanted in (n.lower() for n in names)), None)


def _reference(state: DraftState, directory: Directory, kind: str, expected: str) -> FieldScore:
    read = getattr(state, kind, None)
    code = _known(directory, kind, expected)
    if code is not None:
        return FieldScore(kind, read == code, code, read)
    named = _named_back(state, kind, expected)
    return FieldScore(kind, named is not None, f"{expected} named back", named if named is not None else read)


def score_lines(expected: list[dict[str, Any]], state: DraftState) -> list[FieldScore]:
    out: list[FieldScore] = []
    for i, want in enumerate(expected):
        line = state.lines[i] if i < len(state.lines) else None
        n = i + 1
        if "qty" in want:
            qty = line.quantity if line else None
            out.append(FieldScore("qty", qty is not None and qty == want["qty"], want["qty"], qty, n))
        for key, read in (
            ("unit_price", line.unit_price if line else None),
            # a budget said before the count ("2k to spend on shelving") is the line's total while the count is asked
            ("total", (line.total if line.total is not None else line.stated_total) if line else None),
        ):
            if key in want:
                out.append(FieldScore(key, same_amount(read, want[key]), want[key], read, n))
        if "item~" in want:
            text = line.description if line else None
            out.append(
                FieldScore("item~", bool(text) and want["item~"].lower() in text.lower(), want["item~"], text, n)
            )
        if "unit" in want:
            unit = line.unit if line else None
            right = line is not None and unit_name(unit) == unit_name(want["unit"])
            out.append(FieldScore("unit", right, want["unit"], unit, n))
    for i, extra in enumerate(state.lines[len(expected) :], len(expected) + 1):
        out.append(FieldScore("extra_line", False, "no such line", extra.description, i))
    return out


def score_draft(case: Case, state: DraftState, directory: Directory, *, started: bool, today: date) -> list[FieldScore]:
    """Every field `case.expect` gives, read from the draft after the first message (and the intent, when given)."""
    out: list[FieldScore] = []
    if case.intent_given:
        out.append(FieldScore("intent", started == case.purchase, case.intent, "purchase" if started else "no draft"))
    want = case.expect
    if "lines" in want:
        out += score_lines(want["lines"], state)
    for kind in ("supplier", "site", "cost_center"):
        if kind in want:
            out.append(_reference(state, directory, kind, want[kind]))
    if "need_by" in want:
        day = need_by_date(want["need_by"], today)
        out.append(FieldScore("need_by", state.need_by == day, day, state.need_by))
    if "urgency" in want:
        out.append(FieldScore("urgency", state.urgency == want["urgency"].lower(), want["urgency"], state.urgency))
    if "currency" in want:
        currency = (state.currency or directory.currency).upper()
        out.append(FieldScore("currency", currency == want["currency"].upper(), want["currency"].upper(), currency))
    return out


def asked_fields(open_questions: list[Question]) -> list[str]:
    """What the questions ask, named as in `missing` (items -> item, quantity -> qty, price_kind -> price)."""
    return [ASKED_AS.get(q.field, q.field) for q in open_questions]


def exact_missing(open_questions: list[Question], missing: tuple[str, ...]) -> bool:
    """The questions ask exactly the missing facts, none twice (the same field of the same line)."""
    asked = [(ASKED_AS.get(q.field, q.field), q.line) for q in open_questions]
    return len(set(asked)) == len(asked) and {a for a, _ in asked} == set(missing)


def expected_total(case: Case) -> Decimal | None:
    """The sum of the expected lines' totals (qty x unit_price where no total is given); None when unknown."""
    lines = case.expect.get("lines")
    if not lines:
        return None
    total = Decimal(0)
    for line in lines:
        if "total" in line:
            total += line["total"]
        elif "qty" in line and "unit_price" in line:
            total += line["qty"] * line["unit_price"]
        else:
            return None
    return total


# ---------------------------------------------------------------------------------- adding up


@dataclass
class Outcome:
    """What happened to one message."""

    case: Case
    fields: list[FieldScore] = field(default_factory=list)
    asked: list[str] | None = None  # the first reply's open questions (None: not a purchase)
    zero_question: bool | None = None  # scored for complete requests only
    exact_missing: bool | None = None  # scored for incomplete requests with `missing`
    submitted_total: Decimal | None = None
    expected_total: Decimal | None = None
    unfinished: str | None = None  # why it could not be answered to completion and submitted

    @property
    def wrong_amount(self) -> bool:
        return (
            self.submitted_total is not None
            and self.expected_total is not None
            and not same_amount(self.submitted_total, self.expected_total)
        )

    def misses(self) -> list[str]:
        out = [f.miss() for f in self.fields if not f.right]
        if self.zero_question is False:
            out.append(f"asked {', '.join(self.asked or []) or 'nothing (no draft)'}; a complete request needs none")
        if self.exact_missing is False:
            asked = ", ".join(self.asked or []) or "nothing"
            out.append(f"asked {asked}; missing is {', '.join(self.case.missing or ())}")
        if self.wrong_amount:
            out.append(f"submitted total {_show(self.submitted_total)}, expected {_show(self.expected_total)}")
        if self.unfinished:
            out.append(f"not finished (not counted as wrong): {self.unfinished}")
        return out


def _rate(right: int, of: int) -> float | None:
    return right / of if of else None


def aggregate(outcomes: list[Outcome]) -> dict[str, Any]:
    """The figures: field accuracy overall and per field, zero-question and exact-missing rates, wrong amounts."""
    per: dict[str, list[int]] = {}
    for o in outcomes:
        for f in o.fields:
            per.setdefault(f.field, [0, 0])
            per[f.field][0] += f.right
            per[f.field][1] += 1
    right = sum(r for r, _ in per.values())
    scored = sum(n for _, n in per.values())
    complete = [o for o in outcomes if o.zero_question is not None]
    incomplete = [o for o in outcomes if o.exact_missing is not None]
    compared = [o for o in outcomes if o.submitted_total is not None and o.expected_total is not None]
    return {
        "messages": len(outcomes),
        "field_accuracy": _rate(right, scored),
        "fields_right": right,
        "fields_scored": scored,
        "per_field": {name: {"right": r, "scored": n, "accuracy": _rate(r, n)} for name, (r, n) in sorted(per.items())},
        "zero_question_rate": _rate(sum(bool(o.zero_question) for o in complete), len(complete)),
        "complete_requests": len(complete),
        "exact_missing_rate": _rate(sum(bool(o.exact_missing) for o in incomplete), len(incomplete)),
        "incomplete_requests": len(incomplete),
        "submitted": sum(o.submitted_total is not None for o in outcomes),
        "totals_compared": len(compared),
        "wrong_amounts": sum(o.wrong_amount for o in outcomes),
        "unfinished": sum(o.unfinished is not None for o in outcomes),
    }


def miss_list(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Every message that lost a point (or could not be finished), with what was expected and what was read."""
    return [{"line": o.case.line_no, "text": o.case.text, "misses": m} for o in outcomes if (m := o.misses())]


# ---------------------------------------------------------------------------------- the driver


class FixedClock:
    """The one clock of the scratch service: it says `now` until told otherwise; never the wall clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def local_now(when: datetime, timezone: str) -> datetime:
    """`when` as an aware time: a naive one is read in the requester's time zone."""
    return when.replace(tzinfo=ZoneInfo(timezone)) if when.tzinfo is None else when


class Evaluator:
    """Drives each message through the Assistant in a fresh copy of a scratch database, then answers and submits.

    A fresh copy per message keeps the messages independent: no earlier requisition counts against a
    budget or looks like a duplicate of a later one."""

    def __init__(self, directory: Directory, policy: LoadedPolicy, *, now: datetime = DEFAULT_NOW) -> None:
        self.directory = directory
        self.policy = policy
        self.now = now
        self._tmp = Path(tempfile.mkdtemp(prefix="procurebot-intake-eval-"))
        self._template = self._tmp / "template.db"
        url = f"sqlite:///{self._template}"
        upgrade(url)
        engine = make_engine(url)
        at = local_now(now, "UTC")
        with transaction(engine) as session:
            install_policy(session, policy, at=at)
        engine.dispose()

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "Evaluator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, cases: list[Case]) -> list[Outcome]:
        return [self.one(case) for case in cases]

    def one(self, case: Case) -> Outcome:
        path = self._tmp / "message.db"
        shutil.copyfile(self._template, path)
        engine = make_engine(f"sqlite:///{path}")
        try:
            clock = FixedClock(local_now(self.now, "UTC"))
            service = ApprovalService(engine, self.directory, clock=clock)
            outbox.install(service)  # as in production: an automatic approval writes its PO job (never sent here)
            bot = Assistant(service, self.directory, surface="web")
            clock.now = local_now(self.now, bot.chat.timezone(bot.person(case.requester)))
            return _Conversation(bot, case, clock.now).play()
        finally:
            engine.dispose()


class _Conversation:
    """One message: send it, score the draft, then answer each question with the expected facts and submit."""

    def __init__(self, bot: Assistant, case: Case, now: datetime) -> None:
        self.bot, self.case, self.person = bot, case, case.requester
        self.directory = bot.directory
        self.today = now.date()

    def _state(self) -> tuple[bool, DraftState, Question | None]:
        row = self.bot.store.load(self.person)
        if row.state == "idle":
            return False, DraftState(), None
        asked = Question.model_validate(row.question) if row.question else None
        return True, DraftState.model_validate(row.draft), asked

    def play(self) -> Outcome:
        self.bot.handle_message(self.person, self.case.text)
        started, state, _ = self._state()
        out = Outcome(self.case, expected_total=expected_total(self.case))
        out.fields = score_draft(self.case, state, self.directory, started=started, today=self.today)
        if not self.case.purchase:
            return out
        open_questions = questions(state, self.directory) if started else []
        if self._new_supplier_named_back(state, out.fields):
            # "I don't know Pacific Pride yet: pick one we use, or ask procurement to add it" is a choice only the
            # person can make about a supplier the company does not have, not a question about a fact they left out
            open_questions = [q for q in open_questions if q.field != "supplier"]
        out.asked = asked_fields(open_questions) if started else []
        if self.case.complete:
            out.zero_question = started and not open_questions
        elif self.case.missing is not None:
            out.exact_missing = started and exact_missing(open_questions, self.case.missing)
        if not started:
            out.unfinished = "the message started no draft"
            return out
        self._finish(out)
        return out

    def _new_supplier_named_back(self, state: DraftState, fields: list[FieldScore]) -> bool:
        """The case names a supplier the directory does not have, and the draft named it back."""
        want = self.case.expect.get("supplier")
        if "supplier" in (self.case.missing or ()):
            return False  # the case counts that choice as the supplier question it expects
        if not want or not state.unknown_supplier or _known(self.directory, "supplier", want):
            return False
        return any(f.field == "supplier" and f.right for f in fields)

    def _finish(self, out: Outcome) -> None:
        tries: dict[tuple[str, int | None], int] = {}
        for _ in range(MAX_TURNS):
            started, state, asked = self._state()
            if not started:
                out.unfinished = "the draft was dropped before Submit"
                return
            if asked is None:  # the summary: Submit
                replies = self.bot.handle_action(self.person, "submit", {"draft_id": state.draft_id})
                number = next((r.card.number for r in replies if r.card and r.card.number), None)
                if number is not None:
                    out.submitted_total = self._total(number)
                    return
                if not self._state()[0]:
                    out.unfinished = "Submit made no requisition: " + " ".join(r.text for r in replies if r.text)
                    return
                continue  # Submit asked something first (a category to confirm, say)
            key = (asked.field, asked.line)
            tries[key] = tries.get(key, 0) + 1
            answer = self._answer(asked, state)
            if answer is None:
                out.unfinished = f"the expectations do not answer the {asked.field} question ({asked.text!r})"
                return
            if tries[key] > 2:
                out.unfinished = f"the {asked.field} question was asked again after {answer[1]!r}"
                return
            kind, value = answer
            if kind == "choose":
                self.bot.handle_action(self.person, "choose", {"field": asked.field, "value": value})
            else:
                self.bot.handle_message(self.person, value)
        out.unfinished = f"no summary after {MAX_TURNS} answers"

    def _total(self, number: str) -> Decimal | None:
        with Session(self.bot.service.engine) as session:
            return session.exec(select(Requisition.total).where(Requisition.number == number)).first()

    # -------------------------------------------------------------- answering with the expected facts
    def _answer(self, asked: Question, state: DraftState) -> tuple[str, str] | None:
        """("choose", value) for a button, ("say", text) for words, None when the expectations do not say."""
        want = self.case.expect
        lines = want.get("lines") or []
        i = asked.line if asked.line is not None else 0
        line = lines[i] if i < len(lines) else {}
        choices = {c.value for c in asked.choices}

        def pick(value: str | None, said: str | None = None) -> tuple[str, str] | None:
            if value is None:
                return None
            return ("choose", value) if value in choices else ("say", said or value)

        match asked.field:
            case "items":
                item = (lines[len(state.lines)] if len(state.lines) < len(lines) else line).get("item~")
                return ("say", item) if item else None
            case "quantity":
                qty = line.get("qty") or _divide(line.get("total"), line.get("unit_price"))
                return ("say", _show(qty)) if qty else None
            case "price":
                price = line.get("unit_price") or _divide(line.get("total"), line.get("qty"))
                return ("say", f"${_show(price)} each") if price else None
            case "price_kind":
                return pick(self._price_kind(state, line))
            case "supplier":
                code = _known(self.directory, "supplier", want.get("supplier", ""))
                return pick(code, self.directory.supplier_by_id[code].name if code else None)
            case "site":
                return pick(_known(self.directory, "site", want.get("site", "")))
            case "cost_center":
                return pick(_known(self.directory, "cost_center", want.get("cost_center", "")))
            case "site_or_cost_center":
                return pick(
                    _known(self.directory, "cost_center", want.get("cost_center", ""))
                    or _known(self.directory, "site", want.get("site", ""))
                )
            case "need_by":
                if "need_by" not in want:
                    return ("choose", "none") if "none" in choices else ("say", "no date")
                day = need_by_date(want["need_by"], self.today)
                return ("say", f"{day:%B} {day.day}, {day.year}")
            case "item_choice":
                # the catalog item when its price is the expected one, otherwise "something else"
                price = line.get("unit_price") or _divide(line.get("total"), line.get("qty"))
                items = [self.directory.item_by_sku.get(c.value) for c in asked.choices]
                same = next((it.sku for it in items if it is not None and same_amount(price, it.unit_price)), None)
                return ("choose", same or "other") if price is not None else None
            case "category":
                # not a fact the corpus gives: take the first choice offered (the suggestion), it moves no amount
                return ("choose", asked.choices[0].value) if asked.choices else None
        return None

    @staticmethod
    def _price_kind(state: DraftState, line: dict[str, Any]) -> str | None:
        said = state.unsure_price.amount if state.unsure_price else None
        unit = line.get("unit_price") or _divide(line.get("total"), line.get("qty"))
        total = line.get("total") or (line["qty"] * unit if "qty" in line and unit else None)
        if same_amount(said, unit):
            return "unit"
        if same_amount(said, total):
            return "total"
        return None


def _divide(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return (a / b).quantize(Decimal("0.0001")) if a is not None and b else None
