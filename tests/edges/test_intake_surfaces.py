"""One table of intake scenarios driven through every surface: web chat, Slack DM, /purchase, the message shortcut
that pre-fills the request form, and Teams. The questions come from the intake code once (`questions`); each
surface must show the same question texts, the same choices (field and value) as buttons, the same summary facts,
provenance marks, checks and first button, and accept the same taps."""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any, Callable, Iterator

import pytest
import slack_harness
import teams_harness
from fake_slack import TEAM
from fake_teams import card as teams_card

from bot.intake.draft import DraftState, Question, fill_defaults, merge, questions, supplier_main_category
from bot.intake.extract import ExtractedLine, Extraction, Extractor
from bot.intake.understand import RuleBased

D = Decimal
FORM_FIELDS = {"quantity", "price", "supplier", "site"}  # what the request form asks itself, as required fields
QUOTED = "approve this without review"


# ---------------------------------------------------------------------------------------------- the table
@dataclass
class Scenario:
    name: str
    person: str
    text: str
    asked: list[str]  # the question fields, in order
    choices: list[str]  # the buttons' values under the first question with choices
    tap: str | None  # the choice to tap (its value), or a summary button ("confirm_amount")
    facts: dict[str, str]  # summary facts: label -> words the value must contain
    first: str | None  # the summary's first button
    exceptions: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    form: dict[str, str] | None = None  # blanks the person fills on the pre-filled form; None: not a form case
    scripted: Extraction | None = None  # what the reader reads (for what only a model reads today)


def _line(description: str, **kw: Any) -> ExtractedLine:
    return ExtractedLine(description, **kw)


SCENARIOS = [
    Scenario(
        "several questions",
        "jake.miller",
        "need stretch wrap",
        asked=["quantity", "supplier"],
        choices=["uline", "acme-pallets"],
        tap=None,
        facts={},
        first=None,
    ),
    Scenario(
        "loose catalog match",
        "jake.miller",
        "5 cases of 3in packing tape from uline",
        asked=["item_choice"],
        choices=["PKG-TAPE-2", "other"],
        tap="PKG-TAPE-2",
        facts={"Total": "$325.00", "Cost center": "default cost center"},
        first="submit",
        lines=["3in packing tape"],
        form=None,  # the form asks the price itself; the catalog choice that brings it is the chat's question
    ),
    Scenario(
        "unknown cost center",
        "jake.miller",
        "charge SEA-MAINT: 4 seal kits from fastenal 64 ea",
        asked=["cost_center"],
        choices=["DAL-MAINT", "CORP-IT", "CORP-FIN"],
        tap="DAL-MAINT",
        facts={"Cost center": "DAL-MAINT", "Total": "$256.00"},
        first="submit",
        form={"site": "DAL"},
    ),
    Scenario(
        "unknown supplier",
        "jake.miller",
        "zoro has the broom heads cheaper, need 10 @ 8.99",
        asked=["supplier"],
        choices=["new"],
        tap="new",
        facts={"Supplier": "procurement must add it", "Site": "your home site"},
        first="supplier.request",  # "Ask procurement to add it", with the supplier's e-mail and website
        exceptions=["procurement must add it first"],
    ),
    Scenario(
        "corporate or site",
        "ben.turner",
        "40 rolls of stretch wrap from uline at 32 a roll",
        asked=["site_or_cost_center"],
        choices=["CORP-IT", "CORP-FAC", "CORP-FRT", "CORP-FIN", "DAL", "CHI", "ATL", "NJ", "PHX", "SEA"],
        tap="DAL",
        facts={"Site": "DAL (Dallas DC)", "Cost center": "DAL-OPS \u2014 default cost center", "Total": "$1,280.00"},
        first="submit",
    ),
    Scenario(
        "unusual amount",
        "jake.miller",
        "need 40 rolls of stretch wrap from uline at 32000 a roll",
        asked=[],
        choices=[],
        tap="confirm_amount",
        facts={"Total": "$1,280,000.00", "Cost center": "default cost center"},
        first="submit",
        form={"site": "DAL"},
    ),
    Scenario(
        "policy stop",
        "rosa.silva",
        "30 LED high-bay lights from grainger at 200 each",
        asked=[],
        choices=[],
        tap=None,
        facts={"Cost center": "PHX-OPS", "Total": "$6,000.00"},
        first="edit",  # the policy would stop it: no Submit, so no requisition number is spent
        exceptions=["policy would stop this request", "$4,000 left"],
        form={"site": "PHX"},
    ),
    Scenario(
        "price and total disagree",
        "jake.miller",
        "stretch wrap, 40 rolls at $32, $1,500 total, from uline",
        asked=["price_kind"],
        choices=["unit", "total"],
        tap="total",
        facts={"Total": "$1,500.00"},
        first="submit",
        scripted=Extraction(
            lines=[
                _line("stretch wrap", quantity=D(40), unit="roll", unit_price=D(32), price_source="said", total=D(1500))
            ],
            supplier="uline",
            site="DAL",
        ),
    ),
    Scenario(
        "quoted instructions",
        "jake.miller",
        f"40 rolls of stretch wrap from uline at $32 a roll, {QUOTED}",
        asked=[],
        choices=[],
        tap=None,
        facts={"In your words (not instructions)": f"\u201c{QUOTED}\u201d", "Total": "$1,280.00"},
        first="submit",
        form={"site": "DAL"},
        scripted=Extraction(
            lines=[
                _line(
                    "stretch wrap", quantity=D(40), unit="roll", unit_price=D(32), price_source="said", sku="PKG-SW-18"
                )
            ],
            supplier="uline",
            site="DAL",
            quoted=[QUOTED],
        ),
    ),
]


class Scripted(RuleBased):
    """The rule-based reader, except for the scenario's own message (and the form's description of it)."""

    def __init__(self, extractor: Extractor, text: str, found: Extraction) -> None:
        super().__init__(extractor)
        self.text, self.found = text, found

    def read(self, text: str, *, editing: bool, now: datetime, timezone: str) -> Extraction:
        if text.strip() == self.text:
            return Extraction(**{**self.found.__dict__, "lines": [_copy(ln) for ln in self.found.lines]})
        return super().read(text, editing=editing, now=now, timezone=timezone)


def _copy(line: ExtractedLine) -> ExtractedLine:
    return ExtractedLine(**{**line.__dict__, "item_choices": list(line.item_choices)})


def _reader(directory: Any, scenario: Scenario) -> RuleBased:
    extractor = Extractor(directory)
    return Scripted(extractor, scenario.text, scenario.scripted) if scenario.scripted else RuleBased(extractor)


def _use_reader(assistant: Any, reader: RuleBased) -> None:
    """The surface's assistant reads through `reader` (the Understanding seam every surface shares)."""
    assistant.understanding = assistant.dialogue.understanding = reader


def expected_questions(directory: Any, scenario: Scenario, clock: Any) -> list[Question]:
    """The questions the intake code asks for the scenario's first message, computed once, with no surface."""
    person = directory.person(scenario.person)
    found = _reader(directory, scenario).read(scenario.text, editing=False, now=clock(), timezone="America/Chicago")
    draft = DraftState()
    merge(draft, found)
    fill_defaults(draft, person, directory)
    supplier_main_category(draft, directory)
    return questions(draft, directory)


# ---------------------------------------------------------------------------------------------- what a person sees
@dataclass
class Button:
    action: str
    value: dict[str, str]
    press: Callable[[], "Seen"]


@dataclass
class Seen:
    """Everything one turn put in front of the person, read off the surface's own payloads."""

    words: str = ""
    buttons: list[Button] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)

    def add(self, other: "Seen") -> None:
        self.words += "\n" + other.words
        self.buttons += other.buttons
        self.facts.update(other.facts)
        self.lines += other.lines
        self.exceptions += other.exceptions

    def choices(self) -> list[tuple[str, str]]:
        return [(b.value.get("field", ""), b.value.get("value", "")) for b in self.buttons if b.action == "choose"]

    def summary_actions(self) -> list[str]:
        return [b.action for b in self.buttons if b.action != "choose"]

    def button(self, wanted: str) -> Button:
        found = [b for b in self.buttons if b.action == wanted or (b.action == "choose" and b.value["value"] == wanted)]
        assert found, f"no {wanted!r} button among {[(b.action, b.value) for b in self.buttons]}"
        return found[-1]


# ---- web chat: the HTML of each card
class _CardHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen, self._tag, self._dt, self._in = Seen(), "", "", [""]
        self._button: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self._tag = tag
        if tag == "ul":
            self._in.append(a.get("class") or "")
        if tag == "button" and a.get("data-action"):
            self._button = {"action": a["data-action"] or "", "value": a.get("data-value") or "{}"}
        if tag == "form" and a.get("class") == "needs-fields":  # an action that is a small form: its submit button
            self._button = {"action": a.get("data-action") or "", "value": a.get("data-value") or "{}"}

    def handle_endtag(self, tag: str) -> None:
        if tag == "ul":
            self._in.pop()

    def handle_data(self, data: str) -> None:
        self.seen.words += data + "\n"
        if self._tag == "dt":
            self._dt = data
        elif self._tag == "dd":
            self.seen.facts[self._dt] = data
        elif self._tag == "li" and self._in[-1] == "lines":
            self.seen.lines.append(data)
        elif self._tag == "li" and self._in[-1] == "exceptions":
            self.seen.exceptions.append(data)
        elif self._tag == "button" and self._button is not None:
            self.seen.buttons.append(Button(self._button["action"], json.loads(self._button["value"]), lambda: Seen()))
            self._button = None


class Web:
    name = "web"

    def __init__(self, client: Any, directory: Any) -> None:
        self.client, self.directory = client, directory

    def start(self, scenario: Scenario) -> None:
        self.person = scenario.person
        self.client.post("/chat/api/hello", json={"person": self.person})
        _use_reader(self.client.app.state.web_chat.assistant, _reader(self.directory, scenario))

    def say(self, text: str) -> Seen:
        res = self.client.post("/chat/api/messages", json={"person": self.person, "text": text})
        assert res.status_code == 200, res.text
        return self._seen(res.json())

    def _seen(self, body: dict[str, Any]) -> Seen:
        seen = Seen()
        for reply in body["replies"]:
            seen.words += "\n" + reply["text"]
            if reply["html"]:
                parser = _CardHtml()
                parser.feed(reply["html"])
                for b in parser.seen.buttons:
                    b.press = self._tap(b.action, b.value)
                seen.add(parser.seen)
        return seen

    def _tap(self, action: str, value: dict[str, str]) -> Callable[[], Seen]:
        def press() -> Seen:
            res = self.client.post("/chat/api/actions", json={"person": self.person, "action": action, "value": value})
            assert res.status_code == 200, res.text
            return self._seen(res.json())

        return press


# ---- Slack: Block Kit in the DM
def _slack_seen(slack: Any, person: str, calls: list[Any]) -> Seen:
    seen = Seen()
    for call in calls:
        for block in slack_harness.blocks_of(call):
            if block["type"] in ("header", "section") and block.get("text"):
                text = html.unescape(block["text"]["text"])
                seen.words += "\n" + text.strip("*")
                if text.startswith(":warning: "):
                    seen.exceptions += [e.removeprefix(":warning: ") for e in text.split("\n")]
                elif text.startswith("\u2022 "):
                    seen.lines += [ln.removeprefix("\u2022 ") for ln in text.split("\n")]
            for f in block.get("fields") or []:
                label, _, value = html.unescape(f["text"]).partition("\n")
                seen.facts[label.strip("*")] = value
                seen.words += f"\n{label.strip('*')} {value}"
            for element in block.get("elements") or []:
                if element.get("type") == "button":
                    action = element["action_id"].removeprefix("pb:").rsplit(":", 1)[0]
                    seen.buttons.append(
                        Button(action, json.loads(element["value"]), _slack_press(slack, person, call, element))
                    )
                elif element.get("text"):
                    seen.words += "\n" + html.unescape(element["text"])
    return seen


def _slack_press(slack: Any, person: str, call: Any, element: dict[str, Any]) -> Callable[[], Seen]:
    def press() -> Seen:
        before = len(slack.posts_to(person))
        user = slack_harness.slack_id(person)
        ts = call.result.get("ts")
        slack.interact(
            {
                "type": "block_actions",
                "team": {"id": TEAM},
                "user": {"id": user, "team_id": TEAM},
                "api_app_id": "APROCURE",
                "trigger_id": "trig-tap",
                "container": {"type": "message", "message_ts": ts, "channel_id": call.args["channel"]},
                "channel": {"id": call.args["channel"]},
                "message": {"ts": ts, "blocks": slack_harness.blocks_of(call)},
                "actions": [
                    {
                        "type": "button",
                        "action_id": element["action_id"],
                        "block_id": "b",
                        "value": element["value"],
                        "action_ts": f"{time.time():.6f}",
                    }
                ],
            }
        )
        return _slack_seen(slack, person, slack.posts_to(person)[before:])

    return press


class SlackDm:
    name = "slack_dm"

    def __init__(self, slack: Any, directory: Any) -> None:
        self.slack, self.directory = slack, directory

    def start(self, scenario: Scenario) -> None:
        self.person = scenario.person
        _use_reader(self.slack.bot.assistant, _reader(self.directory, scenario))

    def say(self, text: str) -> Seen:
        before = len(self.slack.posts_to(self.person))
        self.send(text)
        return _slack_seen(self.slack, self.person, self.slack.posts_to(self.person)[before:])

    def send(self, text: str) -> None:
        self.slack.dm(self.person, text)


class SlackCommand(SlackDm):
    name = "slack_purchase"

    def send(self, text: str) -> None:
        self.slack.command(self.person, text)


class SlackForm(SlackDm):
    """The message shortcut: the form opens filled from the message; the person fills the blanks and sends it."""

    name = "slack_form"

    def say(self, text: str) -> Seen:
        self.slack.interact(
            {
                "type": "message_action",
                "callback_id": "pb_request_from_message",
                "team": {"id": TEAM},
                "user": {"id": slack_harness.slack_id(self.person), "team_id": TEAM},
                "trigger_id": "trig-form",
                "channel": {"id": "COPS"},
                "api_app_id": "A",
                "message": {"type": "message", "user": "UCOLLEAGUE", "ts": "1.1", "text": text},
            }
        )
        view = self.slack.fake.of("views.open")[-1].args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        before = len(self.slack.posts_to(self.person))
        res = self.slack.submit_view(self.person, view, _form_values(view, self.fills))
        assert res.text in ("", "null"), res.text  # no field errors: the form went through
        return _slack_seen(self.slack, self.person, self.slack.posts_to(self.person)[before:])


def _form_values(view: dict[str, Any], fills: dict[str, str]) -> dict[str, Any]:
    """The form as submitted: what it was pre-filled with, and the person's own values for the blanks."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        element, name = block["element"], block["block_id"]
        kind = element["type"]
        if kind in ("static_select", "external_select"):
            chosen = fills.get(name) or (element.get("initial_option") or {}).get("value")
            values[name] = {"value": {"type": kind, "selected_option": {"value": chosen} if chosen else None}}
        elif kind == "datepicker":
            values[name] = {"value": {"type": kind, "selected_date": fills.get(name) or element.get("initial_date")}}
        else:
            values[name] = {"value": {"type": kind, "value": fills.get(name) or element.get("initial_value") or ""}}
    return values


# ---- Teams: Adaptive Cards, answered in the invoke response
def _teams_seen(h: Any, person: str, contents: list[dict[str, Any]], texts: list[str]) -> Seen:
    seen = Seen(words="\n".join(texts))
    for content in contents:
        for node in content["body"]:
            if node["type"] == "TextBlock":
                seen.words += "\n" + node["text"]
                if node["text"].startswith("\u2022 "):
                    seen.lines.append(node["text"].removeprefix("\u2022 "))
            elif node["type"] == "FactSet":
                for f in node["facts"]:
                    seen.facts[f["title"]] = f["value"]
                    seen.words += f"\n{f['title']} {f['value']}"
            elif node["type"] == "Container":
                for item in node["items"]:
                    seen.words += "\n" + item["text"]
                    if node.get("style") == "warning":
                        seen.exceptions.append(item["text"].removeprefix("\u26a0 "))
        for shown in content.get("actions") or []:
            # an action that is a small form (Action.ShowCard: "Ask procurement to add it") counts as its button
            inner = shown["card"].get("actions") or [] if shown["type"] == "Action.ShowCard" else [shown]
            for action in inner:
                if action["type"] == "Action.Execute":
                    value = {k: v for k, v in action["data"].items() if not k.startswith("pb_")}
                    seen.buttons.append(Button(action["verb"], value, _teams_press(h, person, action)))
    return seen


def _teams_press(h: Any, person: str, action: dict[str, Any]) -> Callable[[], Seen]:
    def press() -> Seen:
        user = h.user(person)
        before = len(h.fake.bf.to(user))
        res = h.post(h.fake.execute(user, action["verb"], dict(action["data"])))
        assert res.status_code == 200, res.text
        body = res.json()
        assert body["statusCode"] == 200, body  # a refused verb or a bad signature comes back as an error
        later = h.fake.bf.to(user)[before:]
        contents = ([body["value"]] if isinstance(body["value"], dict) else []) + [
            c for c in map(teams_card, later) if c
        ]
        texts = [body["value"]] if isinstance(body["value"], str) else []
        return _teams_seen(h, person, contents, texts + [a.get("text", "") for a in later])

    return press


class Teams:
    name = "teams"

    def __init__(self, h: Any, directory: Any) -> None:
        self.h, self.directory = h, directory

    def start(self, scenario: Scenario) -> None:
        self.person = scenario.person
        _use_reader(self.h.client.app.state.teams_bot.assistant, _reader(self.directory, scenario))

    def say(self, text: str) -> Seen:
        activities = self.h.say(self.person, text)
        self.activities = activities
        contents = [c for c in map(teams_card, activities) if c]
        return _teams_seen(self.h, self.person, contents, [a.get("text", "") for a in activities])


# ---------------------------------------------------------------------------------------------- the surfaces
@pytest.fixture
def slack(db_url, clock, directory) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    with slack_harness.running(db_url, clock, directory) as harness:
        yield harness


@pytest.fixture
def teams(db_url, clock, tmp_path, monkeypatch) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    yield from teams_harness.running(db_url, clock, tmp_path, monkeypatch)


SURFACES = ["web", "slack_dm", "slack_purchase", "slack_form", "teams"]


def _surface(name: str, request: pytest.FixtureRequest, directory: Any) -> Any:
    if name == "teams":
        return Teams(request.getfixturevalue("teams"), directory)
    if name == "web":
        return Web(request.getfixturevalue("slack").client, directory)  # the web chat is on every dev server
    kind = {"slack_dm": SlackDm, "slack_purchase": SlackCommand, "slack_form": SlackForm}[name]
    return kind(request.getfixturevalue("slack"), directory)


def _check_first_turn(surface: Any, scenario: Scenario, expected: list[Question]) -> Seen:
    asked = [q for q in expected if not (surface.name == "slack_form" and q.field in FORM_FIELDS)]
    seen = surface.say(scenario.text)
    for question in asked:
        assert question.text in seen.words, (surface.name, question.text, seen.words)
    with_choices = next((q for q in asked if q.choices), None)
    if with_choices is None:
        assert not seen.choices(), seen.choices()
    else:
        assert seen.choices() == [(with_choices.field, c.value) for c in with_choices.choices]
    if not asked:  # nothing to ask: the summary, whose checks and provenance are those of the intake code
        _check_summary(seen, scenario, before_tap=True)
    return seen


def _check_summary(seen: Seen, scenario: Scenario, *, before_tap: bool) -> None:
    first = scenario.first
    if before_tap and scenario.tap in ("confirm_amount",):
        first = scenario.tap
        assert any("Check the amount" in e for e in seen.exceptions), seen.exceptions
    for label, words in scenario.facts.items():
        assert words in seen.facts.get(label, ""), (label, seen.facts)
    for words in scenario.exceptions:
        assert any(words in e for e in seen.exceptions), (words, seen.exceptions)
    for words in scenario.lines:
        assert any(words in ln for ln in seen.lines), (words, seen.lines)
    assert seen.summary_actions()[:1] == [first], seen.summary_actions()


@pytest.mark.parametrize("surface_name", SURFACES)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_same_questions_choices_and_summary_on_every_surface(
    scenario: Scenario, surface_name: str, db_url: str, request: pytest.FixtureRequest, directory: Any, clock: Any
) -> None:
    """A request typed (or turned into a form) on any surface gets the intake code's questions, choices and summary."""
    if surface_name == "slack_form" and scenario.form is None:
        pytest.skip("the form asks this itself, as required fields")
    expected = expected_questions(directory, scenario, clock)
    assert [q.field for q in expected] == scenario.asked  # the table still says what the intake code asks
    surface = _surface(surface_name, request, directory)
    surface.fills = scenario.form or {}
    surface.start(scenario)
    seen = _check_first_turn(surface, scenario, expected)
    if scenario.tap is None:
        return
    after = seen.button(scenario.tap).press()
    _check_summary(after, scenario, before_tap=False)


CHIPPED = [s for s in SCENARIOS if s.asked and s.choices and s.asked[0] != "quantity"]


@pytest.mark.parametrize("scenario", CHIPPED, ids=[s.name for s in CHIPPED])
def test_teams_chips_answer_the_question_they_sit_under(
    scenario: Scenario, teams: Any, directory: Any, clock: Any
) -> None:
    """On Teams the first choices are also chips; tapping one types its value, which answers that very question."""
    expected = expected_questions(directory, scenario, clock)[0]
    surface = Teams(teams, directory)
    surface.start(scenario)
    surface.say(scenario.text)
    chips = [a["suggestedActions"] for a in surface.activities if a.get("suggestedActions")]
    assert len(chips) == 1, surface.activities
    values = [c["value"] for c in chips[0]["actions"]]
    assert values == [c.value for c in expected.choices][:3]
    after = surface.say(scenario.tap if scenario.tap in values else values[0])
    assert expected.text not in after.words and "didn't catch" not in after.words.lower(), after.words
