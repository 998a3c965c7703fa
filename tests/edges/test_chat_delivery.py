"""The platform-neutral card fan-out: every copy of a requisition's card stays true on every platform."""

from __future__ import annotations

import itertools
import time

import pytest
from factories import boxes, submit

from approvals.commands import Approve, Reject
from approvals.notices import Notice
from bot.chat.dedupe import first_time
from bot.chat.delivery import ChatNotifier
from bot.chat.identity import Identities
from bot.notify import RecordingNotifier
from bot.runtime import chat_delivery


class FakeSurface:
    """A chat platform that records posts and updates; `reachable` lists who is on it."""

    def __init__(self, name: str, reachable: set[str]) -> None:
        self.name, self.reachable = name, reachable
        self.posts: list[dict] = []
        self.updates: list[dict] = []
        self.fail = False
        self._ids = itertools.count(1)

    def reach(self, person):  # type: ignore[no-untyped-def]
        return {"dm": f"D-{person.id}"} if person.id in self.reachable else None

    def post(self, address, card, text, *, thread=None):  # type: ignore[no-untyped-def]
        if self.fail:
            raise ConnectionError("platform down")
        ref = f"{self.name}-{next(self._ids)}"
        self.posts.append({"to": address["dm"], "card": card, "text": text, "thread": thread, "ref": ref})
        return ref

    def update(self, address, ref, card, text):  # type: ignore[no-untyped-def]
        if self.fail:
            raise ConnectionError("platform down")
        self.updates.append({"to": address["dm"], "ref": ref, "card": card})

    def cards_to(self, person: str) -> list:
        return [p for p in self.posts if p["to"] == f"D-{person}" and p["card"] is not None]

    def lines_in(self, ref: str) -> list[str]:
        return [p["text"] for p in self.posts if p["thread"] == ref]


@pytest.fixture
def chat(engine, directory, service):  # type: ignore[no-untyped-def]
    return chat_delivery(engine, directory, service)


def _approver(service, number: str) -> str:  # type: ignore[no-untyped-def]
    (who,) = service.view(number).waiting_on[:1]
    return who


def test_submit_posts_cards_to_approver_and_requester_and_a_thread_line(chat, service):  # type: ignore[no-untyped-def]
    """A routed request puts a card with buttons in the approver's DM and starts the requester's thread."""
    everyone = {p.id for p in chat.directory.people}
    slack = FakeSurface("slack", everyone)
    chat.surfaces.append(slack)
    number = service.submit(submit(lines=[boxes(30)])).number
    assert chat.drain() == 1
    approver = _approver(service, number)
    (card,) = slack.cards_to(approver)
    assert {a.id for a in card["card"].actions} >= {"approve", "reject", "request_info"}
    (root,) = slack.cards_to("jake.miller")
    assert not {a.id for a in root["card"].actions} & {"approve", "reject"}
    (line,) = slack.lines_in(root["ref"])
    assert line.startswith("Sent for approval to ")


def test_approve_updates_every_copy_in_place_and_tells_the_requester(chat, service):  # type: ignore[no-untyped-def]
    """After Approve, the approver's card loses its buttons, the requester's card changes, the thread says so."""
    slack = FakeSurface("slack", {p.id for p in chat.directory.people})
    chat.surfaces.append(slack)
    number = service.submit(submit(lines=[boxes(30)])).number
    chat.drain()
    approver = _approver(service, number)
    service.approve(Approve(actor=approver, number=number))
    chat.drain()
    (card,) = slack.cards_to(approver)
    updated = [u for u in slack.updates if u["ref"] == card["ref"]]
    assert updated and not {a.id for a in updated[-1]["card"].actions} & {"approve", "reject"}
    (root,) = slack.cards_to("jake.miller")
    assert any(u["ref"] == root["ref"] for u in slack.updates)
    assert "approved" in slack.lines_in(root["ref"])[-1]


def test_requester_on_one_platform_and_approver_on_another_both_stay_true(chat, service):  # type: ignore[no-untyped-def]
    """A requester in Teams and an approver in Slack: each gets the card on their own platform, and both update."""
    approver = _approver(service, service.submit(submit(lines=[boxes(30)])).number)  # who approves this kind
    slack, teams = FakeSurface("slack", {approver}), FakeSurface("teams", {"jake.miller"})
    chat.surfaces.extend([slack, teams])
    number = service.submit(submit(lines=[boxes(31)])).number
    chat.drain()
    assert slack.cards_to(approver) and not slack.cards_to("jake.miller")
    assert teams.cards_to("jake.miller") and not teams.cards_to(approver)
    service.reject(Reject(actor=approver, number=number, reason="Use the contracted supplier"))
    chat.drain()
    assert slack.updates and teams.updates
    (root,) = teams.cards_to("jake.miller")
    assert "Use the contracted supplier" in teams.lines_in(root["ref"])[-1]


def test_platform_outage_is_retried_and_the_thread_line_is_not_repeated(chat, service, clock):  # type: ignore[no-untyped-def]
    """Slack is down when a request is approved: the job waits, then converges with one line per event."""
    slack = FakeSurface("slack", {p.id for p in chat.directory.people})
    chat.surfaces.append(slack)
    number = service.submit(submit(lines=[boxes(30)])).number
    chat.drain()
    slack.fail = True
    service.approve(Approve(actor=_approver(service, number), number=number))
    chat.drain()
    (root,) = slack.cards_to("jake.miller")
    assert len(slack.lines_in(root["ref"])) == 1
    slack.fail = False
    clock.advance(minutes=10)
    chat.drain()
    clock.advance(minutes=10)
    chat.drain()
    lines = slack.lines_in(root["ref"])
    assert len(lines) == 2 and "approved" in lines[-1]


def test_nobody_reachable_means_no_posts_and_no_jobs_without_platforms(chat, service, engine):  # type: ignore[no-untyped-def]
    """With no chat platform configured nothing is queued; a platform that reaches nobody posts nothing."""
    service.submit(submit(lines=[boxes(30)]))
    assert chat.drain() == 0
    silent = FakeSurface("slack", set())
    chat.surfaces.append(silent)
    service.submit(submit(lines=[boxes(32)]))
    assert chat.drain() == 1 and silent.posts == []


def test_notice_about_a_requisition_goes_in_its_thread_else_to_the_fallback(chat, service):  # type: ignore[no-untyped-def]
    """A reminder reaches the approver's DM; a notice for someone on no platform goes to the fallback notifier."""
    slack = FakeSurface("slack", {"jake.miller"} | {p.id for p in chat.directory.people if p.id != "olivia.grant"})
    chat.surfaces.append(slack)
    fallback = RecordingNotifier()
    notifier = ChatNotifier(chat, fallback=fallback)
    number = service.submit(submit(lines=[boxes(30)])).number
    chat.drain()
    (root,) = slack.cards_to("jake.miller")
    notifier.send("jake.miller", Notice(kind="info_expired", text="Your answer is overdue", key="k1", number=number))
    assert slack.lines_in(root["ref"])[-1] == "Your answer is overdue"
    ref = notifier.send("olivia.grant", Notice(kind="digest", text="3 waiting", key="k2"))
    assert ref.startswith("mem-") and fallback.to("olivia.grant")


def test_identities_by_platform_id_by_email_and_unknown(engine, directory):  # type: ignore[no-untyped-def]
    """A platform user is found by the directory's platform id, else by e-mail (asked once); a stranger is None."""
    ids = Identities(engine, directory)
    person = directory.people[0]
    calls = []

    def email():  # type: ignore[no-untyped-def]
        calls.append(1)
        return person.email.upper()

    assert ids.person_for("slack", "U-NEW", tenant="T1", email=email) == person
    assert ids.person_for("slack", "U-NEW", tenant="T1", email=email) == person
    assert len(calls) == 1
    assert ids.external_id_for("slack", person) in ("U-NEW", person.slack_user_id)
    assert ids.person_for("slack", "U-STRANGER", tenant="T1", email=lambda: "nobody@example.com") is None
    with_id = next((p for p in directory.people if p.slack_user_id), None)
    if with_id is not None:
        assert ids.person_for("slack", with_id.slack_user_id) == with_id


def test_inbound_event_is_handled_once(engine):  # type: ignore[no-untyped-def]
    """A platform retry of the same event id is recognised as already handled."""
    assert first_time(engine, "slack", "Ev123") is True
    assert first_time(engine, "slack", "Ev123") is False
    assert first_time(engine, "teams", "Ev123") is True


def test_approver_card_on_a_platform_carries_the_what_is_unusual_note(engine, directory, service, policy):  # type: ignore[no-untyped-def]
    """An emergency request's card in the approver's Slack DM says what is unusual, as the web chat's does."""
    from bot import llm_setup
    from connectors.llm import LlmSettings

    llm = llm_setup.build(service, policy, LlmSettings(PROCUREBOT_LLM_MODEL=None))
    chat = chat_delivery(engine, directory, service, llm.summaries)
    slack = FakeSurface("slack", {p.id for p in directory.people})
    chat.surfaces.append(slack)
    number = service.submit(submit(lines=[boxes(30)], urgency="emergency", justification="Line down")).number
    chat.drain()
    (card,) = slack.cards_to(_approver(service, number))
    assert any(e.startswith("What is unusual:") for e in card["card"].exceptions)
    (root,) = slack.cards_to("jake.miller")
    assert not any(e.startswith("What is unusual:") for e in root["card"].exceptions)


class SlowSurface(FakeSurface):
    """A platform that takes a moment per call and notices two calls about one requisition at once."""

    def __init__(self, name: str, reachable: set[str]) -> None:
        super().__init__(name, reachable)
        self.busy: set[str] = set()
        self.overlaps = 0

    def _call(self, number: str | None, call):  # type: ignore[no-untyped-def]
        if number in self.busy:
            self.overlaps += 1
        self.busy.add(number or "")
        try:
            time.sleep(0.002)
            return call()
        finally:
            self.busy.discard(number or "")

    def post(self, address, card, text, *, thread=None):  # type: ignore[no-untyped-def]
        number = card.number if card is not None else self.numbers.get(thread)
        ref = self._call(number, lambda: super(SlowSurface, self).post(address, card, text, thread=thread))
        if card is not None:
            self.numbers[ref] = card.number
        return ref

    def update(self, address, ref, card, text):  # type: ignore[no-untyped-def]
        return self._call(card.number, lambda: super(SlowSurface, self).update(address, ref, card, text))

    numbers: dict[str, str] = {}


def test_workers_side_by_side_post_each_card_once_and_keep_each_thread_in_order(chat, service):  # type: ignore[no-untyped-def]
    """Twelve requisitions submitted and approved before the worker runs, synced four at a time: one card per
    person per requisition, the lines of each thread in the order things happened, never two calls about
    one requisition at once."""
    slack = SlowSurface("slack", {p.id for p in chat.directory.people})
    slack.numbers = {}
    chat.surfaces.append(slack)
    numbers = [service.submit(submit(lines=[boxes(30 + i)])).number for i in range(12)]
    for number in numbers:
        service.approve(Approve(actor=_approver(service, number), number=number))
    assert chat.drain(workers=4) == 24
    assert slack.overlaps == 0
    for number in numbers:
        roots = [p for p in slack.cards_to("jake.miller") if p["card"].number == number]
        assert len(roots) == 1
        lines = slack.lines_in(roots[0]["ref"])
        # each line tells its own event, though both were posted after the approval
        assert len(lines) == 2 and lines[0].startswith("Sent for approval to ") and "fully approved" in lines[1]


def test_a_line_posted_on_one_platform_is_not_repeated_there_when_another_fails(chat, service, clock):  # type: ignore[no-untyped-def]
    """Slack takes the approval's thread line, Teams is down: the retry posts the line on Teams only."""
    everyone = {p.id for p in chat.directory.people}
    slack, teams = FakeSurface("slack", everyone), FakeSurface("teams", everyone)
    chat.surfaces.extend([slack, teams])
    number = service.submit(submit(lines=[boxes(30)])).number
    chat.drain()
    teams.fail = True
    service.approve(Approve(actor=_approver(service, number), number=number))
    chat.drain()
    teams.fail = False
    clock.advance(minutes=10)
    chat.drain()
    for platform in (slack, teams):
        (root,) = platform.cards_to("jake.miller")
        lines = platform.lines_in(root["ref"])
        assert len(lines) == 2 and "approved" in lines[-1]


def test_a_requisition_another_process_is_syncing_waits_its_turn(chat, service, engine, clock):  # type: ignore[no-untyped-def]
    """Another server or worker holds the requisition's sync lock: this one posts nothing and takes the job
    back a moment later; once the lock is free the cards go out once."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the lock between processes is PostgreSQL's; SQLite serves one process")
    from sqlalchemy import text

    slack = FakeSurface("slack", {p.id for p in chat.directory.people})
    chat.surfaces.append(slack)
    number = service.submit(submit(lines=[boxes(30)])).number
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
        other.execute(text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), {"k": f"chat.sync:{number}"})
        assert chat.drain() == 1
        assert slack.posts == []
    clock.advance(seconds=1)
    assert chat.drain() == 0  # not due yet
    clock.advance(seconds=2)
    assert chat.drain() == 1
    assert len(slack.cards_to("jake.miller")) == 1 and len(slack.cards_to(_approver(service, number))) == 1


def test_a_po_notice_waits_for_the_approval_line_so_the_thread_reads_in_order(chat, service):  # type: ignore[no-untyped-def]
    """The ERP is faster than the card worker: "is now purchase order PO-…" still comes after "fully approved"."""
    import threading

    slack = FakeSurface("slack", {p.id for p in chat.directory.people})
    chat.surfaces.append(slack)
    number = service.submit(submit(lines=[boxes(30)])).number
    chat.drain()
    service.approve(Approve(actor=_approver(service, number), number=number))
    late = threading.Timer(0.3, chat.drain)  # the worker gets to the approval a moment later
    late.start()
    ChatNotifier(chat, fallback=RecordingNotifier()).send(
        "jake.miller",
        Notice(kind="po_created", text=f"{number} is now purchase order PO-000001", key="n1", number=number),
    )
    late.join()
    (root,) = slack.cards_to("jake.miller")
    lines = slack.lines_in(root["ref"])
    assert "fully approved" in lines[-2] and lines[-1].endswith("PO-000001")
