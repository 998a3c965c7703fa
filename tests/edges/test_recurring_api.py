"""Recurring purchases through the HTTP API: submitted with a schedule, ordered release by release, paused by the
requester, and the budget counting only what is still to come."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from approvals.master_data import budget_lines
from approvals.outbox import ErpPurchaseOrder
from approvals.scheduling.runner import Scheduler
from bot.api.app import create_app
from bot.erp_dispatcher import ErpDispatcher
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.tokens import create_token
from connectors.erp.config import ErpSettings
from connectors.erp.sandbox import SandboxErp


class Inbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    def send(self, person_id, notice):  # type: ignore[no-untyped-def]
        self.sent.append((person_id, notice))
        return f"msg-{len(self.sent)}"


@pytest.fixture
def api(db_url, clock):  # type: ignore[no-untyped-def]
    # no ticking and no dispatcher threads in the server: the test runs both by hand, with its clock
    settings = Settings(
        database_url=db_url, admin_token=None, env="dev", scheduler_enabled=False, erp_dispatchers=0, _env_file=None
    )
    runtime = build_runtime(settings)
    runtime.service.clock = clock
    app = create_app(settings, runtime=runtime)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.token = create_token(runtime.engine, name="test-service", role="service", act_as=True)  # type: ignore[attr-defined]
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    runtime.engine.dispose()


def _tick(api, clock) -> None:  # type: ignore[no-untyped-def]
    """What a running server does on its own: a scheduler tick, then the ERP dispatcher."""
    runtime = api.runtime
    Scheduler(runtime.service, Inbox(), clock=clock).run_until_idle()
    settings = ErpSettings(_env_file=None)
    erp = SandboxErp(runtime.engine, runtime.directory)
    ErpDispatcher(runtime.engine, runtime.directory, erp, Inbox(), settings=settings, clock=clock).drain()


def _pos(api) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(api.runtime.engine) as s:
        return sorted(p.requisition_number for p in s.exec(select(ErpPurchaseOrder)).all())


def test_a_monthly_order_through_the_api_is_released_paused_and_its_budget_follows(api, clock):
    """Submitted with a monthly schedule it is approved once and ordered month by month; paused by Jake, the
    month due while paused is skipped and no longer committed; resumed, the next month is ordered."""
    headers = {"Authorization": f"Bearer {api.token}"}
    body = {
        "requester": "jake.miller",
        "site": "DAL",
        "cost_center": "DAL-OPS",
        "supplier": "uline",
        "lines": [{"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 6, "unit_price": 32}],
        "schedule": {"period": "month", "releases": 6},
    }
    created = api.post("/api/v1/requisitions", json=body, headers=headers)
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    _tick(api, clock)
    got = api.get(f"/api/v1/requisitions/{number}", headers=headers).json()
    assert got["state"] == "po_created" and got["schedule_state"] == "active"
    assert _pos(api) == [f"{number}-R01"]

    def committed() -> object:
        lines = budget_lines(api.runtime.engine, api.runtime.directory, "sandbox")
        return next(b.committed for b in lines if b.cost_center == "DAL-OPS")

    before = committed()
    paused = api.post(
        f"/api/v1/requisitions/{number}/actions", json={"action": "pause", "actor": "jake.miller"}, headers=headers
    )
    assert paused.status_code == 200, paused.text
    assert "paused" in paused.json()["message"]
    again = api.post(
        f"/api/v1/requisitions/{number}/actions", json={"action": "pause", "actor": "jake.miller"}, headers=headers
    )
    assert again.status_code == 409 and "already paused" in again.text
    clock.advance(days=31)
    _tick(api, clock)
    assert _pos(api) == [f"{number}-R01"]
    assert committed() == before - 32  # the skipped month is no longer committed
    api.post(
        f"/api/v1/requisitions/{number}/actions", json={"action": "resume", "actor": "jake.miller"}, headers=headers
    )
    clock.advance(days=30)
    _tick(api, clock)
    assert _pos(api) == [f"{number}-R01", f"{number}-R03"]
    schedule = api.get(f"/api/v1/requisitions/{number}", headers=headers).json()["schedule"]
    assert "2 made, 1 skipped" in schedule and "(active)" in schedule
