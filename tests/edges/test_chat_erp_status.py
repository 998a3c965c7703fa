"""Status in chat from our state plus the ERP's: PO numbers, dead letters, and "where is my ... order?"."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from factories import boxes, submit
from fastapi.testclient import TestClient

from approvals.outbox import install
from bot.api.app import create_app
from bot.erp_dispatcher import ErpDispatcher, LiveNotifier, durable_notifier, fan_out
from bot.intake.assistant import Assistant
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.web.hub import LOOK_IN_INBOX
from connectors.erp.base import PermanentError
from connectors.erp.config import ErpSettings
from connectors.erp.sandbox import SandboxErp

WRAP = {"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 10, "unit_price": 32}
TAPE = {"description": "Packing tape 2in clear", "quantity": 12, "unit_price": 3}


class Inbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    def send(self, person_id, notice):  # type: ignore[no-untyped-def]
        self.sent.append((person_id, notice))
        return f"msg-{len(self.sent)}"


class Refusing:
    """A connector whose ERP refuses the next order for good, then behaves."""

    def __init__(self, inner, reason):  # type: ignore[no-untyped-def]
        self.inner, self.reason, self.name = inner, reason, inner.name

    def create_po(self, order, progress=None):  # type: ignore[no-untyped-def]
        if self.reason:
            reason, self.reason = self.reason, None
            raise PermanentError(reason, status=422)
        return self.inner.create_po(order, progress)

    def get_po_status(self, reference, erp_id=None):  # type: ignore[no-untyped-def]
        return self.inner.get_po_status(reference, erp_id)


@pytest.fixture
def bot(service, directory):  # type: ignore[no-untyped-def]
    install(service)
    return Assistant(service, directory, surface="web", draft_ttl=timedelta(hours=24))


def dispatch(engine, directory, connector, clock, changes=None):  # type: ignore[no-untyped-def]
    settings = ErpSettings(_env_file=None, erp_max_attempts=4, erp_backoff_base_seconds=2, erp_backoff_max_seconds=60)
    return ErpDispatcher(
        engine,
        directory,
        connector,
        Inbox(),
        settings=settings,
        clock=clock,
        worker_id="t",
        on_change=changes.append if changes is not None else None,
    )


def approved(service, *lines, requester="jake.miller"):  # type: ignore[no-untyped-def]
    result = service.submit(submit(requester, lines=list(lines) or [WRAP]))
    assert result.outcome == "auto_approved"
    return result.number


def the_card(replies):  # type: ignore[no-untyped-def]
    [card] = [r.card for r in replies if r.card]
    return card


def test_status_shows_the_po_number_once_the_erp_has_it(bot, service, engine, directory, clock):
    """Jake asks "status PR-…" after the sandbox ERP made the PO: the card names PO-000001 and says it is open."""
    number = approved(service)
    assert "on its way to the ERP" in the_card(bot.handle_message("jake.miller", f"status {number}")).status
    dispatch(engine, directory, SandboxErp(engine, directory), clock).run_once()
    card = the_card(bot.handle_message("jake.miller", f"status {number}"))
    assert "Purchase order PO-000001 in the ERP: open" in card.status
    assert "PO-000001" in bot.card_for(number, "maria.lopez").status  # every copy re-renders with it


def test_dead_letter_says_the_buyers_were_told_and_a_buyer_can_retry_from_the_card(
    bot, service, engine, directory, clock
):
    """The ERP refuses the vendor: Jake reads that the buyers were told; Ben (a buyer) taps Retry and the PO is made."""
    number = approved(service)
    erp = SandboxErp(engine, directory)
    d = dispatch(engine, directory, Refusing(erp, "the ERP has no vendor 'uline'; add the vendor in the ERP"), clock)
    d.run_once()
    card = the_card(bot.handle_message("jake.miller", f"status {number}"))
    assert "no vendor 'uline'" in card.status and "buyers were told" in card.status
    assert "erp.retry" not in [a.id for a in card.actions]  # only buyers may retry
    refused = bot.handle_action("jake.miller", "erp.retry", {"number": number})
    assert "Only buyers" in refused[0].text
    buyer_card = the_card(bot.handle_message("ben.turner", f"status {number}"))
    retry = next(a for a in buyer_card.actions if a.id == "erp.retry")
    assert bot.handle_action("ben.turner", retry.id, retry.value)[0].text.endswith("again now.")
    d.run_once()
    assert "PO-000001" in the_card(bot.handle_message("jake.miller", f"status {number}")).status
    assert erp.count() == 1


def test_where_is_my_order_finds_it_by_what_was_asked_for(bot, service, engine, directory, clock):
    """Jake asks "where is my stretch wrap order?": his wrap requisition's card answers, with its PO number."""
    wrap = approved(service, WRAP)
    approved(service, boxes(2))
    dispatch(engine, directory, SandboxErp(engine, directory), clock).run_once()
    card = the_card(bot.handle_message("jake.miller", "where is my stretch wrap order?"))
    assert card.number == wrap and "PO-00000" in card.status


def test_where_is_my_order_asks_which_one_when_several_match(bot, service):
    """Two of Jake's requests are stretch wrap: he gets a "which one?" card with a button for each."""
    first, second = approved(service, WRAP), approved(service, WRAP, TAPE)
    approved(service, boxes(2))
    card = the_card(bot.handle_message("jake.miller", "Where's my stretch wrap order"))
    assert card.kind == "queue" and "Which one" in card.title
    assert sorted(a.value["number"] for a in card.actions) == sorted([first, second])
    opened = the_card(bot.handle_action("jake.miller", "status", card.actions[0].value))
    assert opened.number == card.actions[0].value["number"]


def test_where_is_my_order_only_looks_at_the_askers_own_requests(bot, service):
    """Someone else's stretch wrap is not Jake's order: he is told nothing matched and how to see his list."""
    approved(service, WRAP, requester="jake.miller")
    replies = bot.handle_message("maria.lopez", "where is my stretch wrap order?")
    assert not any(r.card for r in replies) and "my requests" in replies[0].text


def test_dispatcher_reports_each_erp_change_for_live_cards(service, engine, directory, clock):
    """The PO is made, then goods arrive: the dispatcher's callback hears each, so open chats can re-render."""
    install(service)
    number = approved(service)
    erp = SandboxErp(engine, directory)
    changes: list = []
    d = dispatch(engine, directory, erp, clock, changes)
    d.run_once()
    erp.move("PO-000001", "received")
    d.sync_statuses()
    assert [(c.number, c.kind) for c in changes] == [(number, "po_created"), (number, "po_status")]


def test_open_web_chats_update_when_the_po_is_created(db_url, clock):
    """Jake has the web chat open: when the dispatcher makes the PO, his card re-renders, his stream is told to look
    in his inbox, and he reads the PO's number there, once."""
    settings = Settings(database_url=db_url, admin_token=None, env="dev", _env_file=None)
    runtime = build_runtime(settings)
    runtime.service.clock = clock
    with TestClient(create_app(settings, runtime=runtime)) as client:
        assert client.get("/chat/api/people").status_code == 200  # the web chat starts listening
        chat = client.app.state.web_chat
        number = approved(runtime.service)
        tell = fan_out(runtime.erp_listeners)
        d = ErpDispatcher(
            runtime.engine,
            runtime.directory,
            SandboxErp(runtime.engine, runtime.directory),
            LiveNotifier(durable_notifier(runtime.chat, runtime.engine, clock), tell),
            settings=ErpSettings(_env_file=None),
            clock=clock,
            worker_id="t",
            on_change=tell,
        )

        async def scenario() -> list[dict]:
            queue = chat.hub.subscribe("jake.miller")
            await asyncio.to_thread(d.run_once)
            events = [await asyncio.wait_for(queue.get(), timeout=5) for _ in range(2)]
            chat.hub.unsubscribe(queue)
            return events

        change, look = asyncio.run(scenario())
        assert change["type"] == "change" and change["number"] == number and "jake.miller" in change["audience"]
        assert look is LOOK_IN_INBOX
        [notice] = chat.notices("jake.miller")
        assert "PO-000001" in notice["text"] and notice["number"] == number
        assert chat.notices("jake.miller") == []  # shown once
        html_card = client.get(f"/chat/api/cards/{number}", params={"person": "jake.miller"}).json()["html"]
        assert "PO-000001" in html_card
    runtime.engine.dispose()
