"""Notices for web-chat users: kept in the database's inbox by any process, shown once when they next connect."""

from __future__ import annotations

from fastapi.testclient import TestClient
from scheduling_support import dallas

from approvals import inbox
from bot.api.app import create_app
from bot.erp_dispatcher import ErpDispatcher, durable_notifier
from bot.runtime import build_runtime
from bot.settings import Settings
from connectors.erp.config import ErpSettings
from connectors.erp.sandbox import SandboxErp
from tests.factories import ONE_ROLL, boxes, submit


def _runtime(db_url, tmp_path, clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=db_url, admin_token=None, env="dev", var_dir=tmp_path / "var", scheduler_on=False, _env_file=None
    )
    return build_runtime(settings, clock=clock)


def _texts(replies):  # type: ignore[no-untyped-def]
    return [r["text"] or r["html"] for r in replies]


def test_a_web_chat_user_reads_a_reminder_and_a_po_notice_on_another_replica(db_url, tmp_path, clock):
    """Maria has no Slack or Teams. Replica A's scheduler reminds her of Jake's boxes and its dispatcher makes the
    PO for her own order while she is away; she comes back on replica B and reads both, once, and not again on A."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    a = _runtime(db_url, tmp_path, clock)
    b = _runtime(db_url, tmp_path, clock)
    try:
        waiting = a.service.submit(submit("jake.miller", lines=[boxes(80)]))
        assert waiting.outcome == "routed" and "maria.lopez" in a.service.view(waiting.number).waiting_on
        ordered = a.service.submit(submit("maria.lopez", lines=[ONE_ROLL]))
        assert ordered.outcome == "auto_approved"
        dispatcher = ErpDispatcher(
            a.engine,
            a.directory,
            SandboxErp(a.engine, a.directory),
            durable_notifier(a.chat, a.engine, clock),
            settings=ErpSettings(_env_file=None),
            clock=clock,
            worker_id="a",
        )
        dispatcher.run_once()
        clock.now = dallas(2026, 11, 23, 13, 0)  # four working hours later: her reminder is due
        a.scheduler.run_until_idle()
        dispatcher.run_once()  # a second pass delivers nothing twice
        kept = inbox.kept_for(a.engine, person_id="maria.lopez")
        # the request waiting for her (kept with Jake's submit), then the scheduler's and the ERP's notices
        assert sorted(n.kind for n in kept) == ["approval", "po_created", "reminder"]

        with (
            TestClient(create_app(b.settings, runtime=b)) as on_b,
            TestClient(create_app(a.settings, runtime=a)) as on_a,
        ):
            back = on_b.post("/chat/api/hello", json={"person": "maria.lopez"})
            assert back.status_code == 200, back.text
            listed = back.json()["unread"]
            said = " ".join(i["text"] for i in listed["items"])
            [reminder] = [n.text for n in kept if n.kind == "reminder"]
            assert listed["count"] == 3 and reminder in said and waiting.number in reminder
            assert f"{ordered.number} is now purchase order PO-" in said
            assert f"{waiting.number} " in said and "waits for your approval" in said
            # listed, not repeated in the conversation, and not pushed again by an open stream on either replica
            assert not any("purchase order PO-" in (t or "") for t in _texts(back.json()["replies"]))
            again = on_a.post("/chat/api/hello", json={"person": "maria.lopez"}).json()
            assert again["unread"]["count"] == 3  # unread until she opens or marks them
            assert on_a.app.state.web_chat.notices("maria.lopez") == []
    finally:
        a.engine.dispose()
        b.engine.dispose()


def test_a_notice_with_a_retry_button_shows_as_a_card(db_url, tmp_path, clock):
    """The ERP refused PR-…; Dana the buyer uses only the web chat: her notice comes as a card with its Retry."""
    from approvals.notices import Notice
    from bot.notify import InboxNotifier

    runtime = _runtime(db_url, tmp_path, clock)
    try:
        refused = Notice(
            "erp_failed",
            "PR-1001 is approved but the ERP would not take its purchase order (tried once): no such supplier.",
            "erp_failed:PR-1001:0",
            "PR-1001",
            actions=({"id": "erp.retry", "label": "Retry", "value": "PR-1001"},),
        )
        buyer = runtime.directory.people_with_role("buyer", None)[0].id
        InboxNotifier(runtime.engine, clock).send(buyer, refused)
        with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
            assert client.get("/chat/api/people").status_code == 200  # the web chat starts
            [shown] = client.app.state.web_chat.notices(buyer)
        assert shown["text"] is None and "Retry" in shown["html"] and "erp.retry" in shown["html"]
        assert shown["number"] == "PR-1001"
    finally:
        runtime.engine.dispose()
