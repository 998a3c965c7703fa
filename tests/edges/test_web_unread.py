"""The web chat's unread list: what Slack and Teams users learn from cards, threads and notices, kept for everyone."""

from __future__ import annotations

from fastapi.testclient import TestClient
from scheduling_support import dallas

from approvals.commands import Approve, Reject, RequestInfo
from bot.api.app import create_app
from bot.runtime import build_runtime
from bot.settings import Settings
from tests.factories import boxes, submit


def _runtime(db_url, tmp_path, clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=db_url, admin_token=None, env="dev", var_dir=tmp_path / "var", scheduler_on=False, _env_file=None
    )
    return build_runtime(settings, clock=clock)


def _unread(client, person):  # type: ignore[no-untyped-def]
    answer = client.get("/chat/api/unread", params={"person": person})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_approver_and_a_requester_find_what_happened_while_away_and_mark_it_read(db_url, tmp_path, clock):
    """Jake submits, Zoe approves, Maria asks a question: each finds it in their unread list with a count, opens
    it, marks it read; nobody can mark someone else's items."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    runtime = _runtime(db_url, tmp_path, clock)
    try:
        first = runtime.service.submit(submit("jake.miller")).number  # stretch wrap: Zoe alone
        with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
            zoe = client.post("/chat/api/hello", json={"person": "zoe.martin"}).json()["unread"]
            assert zoe["count"] == 1
            [waiting] = zoe["items"]
            assert waiting["kind"] == "approval" and waiting["label"] == "Waiting for you"
            assert waiting["number"] == first and "waits for your approval" in waiting["text"]
            assert "Jake Miller" in waiting["text"] and "$1,280" in waiting["text"]
            assert _unread(client, "jake.miller")["count"] == 0  # his own action tells him nothing

            runtime.service.approve(Approve(actor="zoe.martin", number=first))
            [told] = _unread(client, "jake.miller")["items"]
            assert told["kind"] == "decision" and told["text"].startswith(f"Zoe Martin approved {first}.")

            second = runtime.service.submit(submit("jake.miller", lines=[boxes(80)])).number  # Maria's
            runtime.service.request_info(RequestInfo(actor="maria.lopez", number=second, question="Which dock?"))
            jake = _unread(client, "jake.miller")
            assert jake["count"] == 2 and jake["items"][0]["kind"] == "question"  # newest first
            assert jake["items"][0]["text"] == f"Maria Lopez asks about {second}: Which dock? Answer on the card."

            # Zoe tries to mark Jake's items read: nothing of his changes
            others = [i["id"] for i in jake["items"]]
            mine = client.post("/chat/api/unread/read", json={"person": "zoe.martin", "ids": others}).json()
            assert mine["count"] == 1 and _unread(client, "jake.miller")["count"] == 2
            # the item opens its requisition's card, and is read
            after = client.post("/chat/api/unread/read", json={"person": "jake.miller", "ids": [others[0]]}).json()
            assert after["count"] == 1 and after["items"][0]["id"] == others[1]
            card = client.get(f"/chat/api/cards/{second}", params={"person": "jake.miller"})
            assert card.status_code == 200 and "Which dock?" in card.json()["html"]
            done = client.post("/chat/api/unread/read", json={"person": "jake.miller"}).json()
            assert done == {"count": 0, "items": []}
            nobody = client.get("/chat/api/unread", params={"person": "nobody.here"})
            assert nobody.status_code == 404 and "nobody.here" in nobody.text
    finally:
        runtime.engine.dispose()


def test_a_rejection_with_its_reason_and_an_escalation_wait_unread(db_url, tmp_path, clock):
    """Maria rejects one of Jake's requests with a reason; another sits past Zoe's SLA and escalates: Jake reads
    the reason, Maria reads that it is escalated to her, without anyone being connected when it happened."""
    clock.now = dallas(2026, 11, 23, 9, 0)
    runtime = _runtime(db_url, tmp_path, clock)
    try:
        refused = runtime.service.submit(submit("jake.miller", lines=[boxes(80)])).number
        runtime.service.reject(Reject(actor="maria.lopez", number=refused, reason="Use the Chicago stock first."))
        late = runtime.service.submit(submit("jake.miller")).number
        clock.now = dallas(2026, 11, 25, 15, 0)  # 24 business hours later: past Zoe's SLA
        runtime.scheduler.run_until_idle()
        assert "maria.lopez" in runtime.service.view(late).waiting_on
        with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
            jake = client.post("/chat/api/hello", json={"person": "jake.miller"}).json()["unread"]
            texts = [i["text"] for i in jake["items"]]
            assert f"Maria Lopez rejected {refused}: Use the Chicago stock first." in texts
            assert any(i["label"] == "Escalation" and late in i["text"] for i in jake["items"])
            maria = _unread(client, "maria.lopez")
            labels = {i["label"] for i in maria["items"] if i["number"] == late}
            assert "Escalation" in labels
    finally:
        runtime.engine.dispose()


def test_a_mention_waits_unread_for_the_person_named(db_url, tmp_path, clock):
    """Zoe comments on Jake's request and mentions Maria with @maria.lopez: Maria, who uses only the web chat,
    finds it in her unread list as a mention, with the requisition to open."""
    from approvals.commands import AddComment

    clock.now = dallas(2026, 11, 23, 9, 0)
    runtime = _runtime(db_url, tmp_path, clock)
    try:
        number = runtime.service.submit(submit("jake.miller")).number
        runtime.service.comment(AddComment(actor="zoe.martin", number=number, text="@maria.lopez is this on budget?"))
        runtime.scheduler.run_until_idle()
        with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
            maria = client.post("/chat/api/hello", json={"person": "maria.lopez"}).json()["unread"]
            [mention] = [i for i in maria["items"] if i["kind"] == "mention"]
            assert mention["label"] == "Mention" and mention["number"] == number
            assert mention["text"].startswith(f"Zoe Martin mentioned you on {number}")
    finally:
        runtime.engine.dispose()
