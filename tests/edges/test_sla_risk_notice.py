"""The requester's 'likely to be late' notice through the server's own notifier: kept for a web-chat user and
listed, labelled, when they come back."""

from __future__ import annotations

from fastapi.testclient import TestClient
from scheduling_support import dallas

from approvals import inbox
from bot.api.app import create_app
from bot.runtime import build_runtime
from bot.settings import Settings
from tests.factories import submit


def test_a_web_chat_requester_reads_why_their_request_will_be_late(db_url, tmp_path, clock):
    """Jake's request has waited on Zoe since Monday; on Wednesday afternoon the server's scheduler finds it likely
    late: Zoe gets her reminder, and Jake, who uses only the web chat, finds 'Likely late' with the reasons."""
    settings = Settings(
        database_url=db_url, admin_token=None, env="dev", var_dir=tmp_path / "var", scheduler_on=False, _env_file=None
    )
    clock.now = dallas(2026, 11, 2, 9, 0)
    runtime = build_runtime(settings, clock=clock)
    try:
        number = runtime.service.submit(submit()).number
        clock.now = dallas(2026, 11, 4, 14, 0)  # one business hour of the 24 left
        runtime.scheduler.run_until_idle()
        [told] = [n for n in inbox.kept_for(runtime.engine, person_id="jake.miller") if n.kind == "sla_risk"]
        assert told.number == number and told.text.startswith(f"Your {number} is likely to be late (")
        assert "longer than Zoe usually takes; 1 business hour left. I have reminded Zoe Martin" in told.text
        assert any(n.kind == "reminder" for n in inbox.kept_for(runtime.engine, person_id="zoe.martin"))
        with TestClient(create_app(settings, runtime=runtime)) as web:
            listed = web.post("/chat/api/hello", json={"person": "jake.miller"}).json()["unread"]["items"]
        [item] = [i for i in listed if i["text"] == told.text]
        assert "Likely late" in str(item)
    finally:
        runtime.engine.dispose()
