"""Prometheus /metrics: request latency by route template, queue depths, outbox and reminder lag, token required."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from approvals import jobqueue
from approvals.db import transaction
from approvals.outbox import CREATE_PO
from bot.api.app import create_app
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.tokens import create_token


@pytest.fixture
def app(db_url, tmp_path, clock):  # type: ignore[no-untyped-def]
    settings = Settings(database_url=db_url, admin_token=None, env="dev", var_dir=tmp_path, _env_file=None)
    runtime = build_runtime(settings, clock=clock)
    with TestClient(create_app(settings, runtime=runtime), raise_server_exceptions=False) as client:
        client.token = create_token(runtime.engine, name="prometheus", role="service")  # type: ignore[attr-defined]
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    runtime.engine.dispose()


def value(text: str, series: str) -> float:
    m = re.search(r"^" + re.escape(series) + r" ([0-9.e+-]+)$", text, re.M)
    assert m, f"{series} not in the scrape"
    return float(m.group(1))


def test_scrape_needs_a_token(app):
    """Without a bearer token /metrics answers 401 and shows nothing."""
    r = app.get("/metrics")
    assert r.status_code == 401 and "procurebot_" not in r.text


def test_queue_depths_and_lags_come_from_the_job_table(app):
    """A reminder 10 minutes overdue, a PO job 5 minutes overdue, one dead PO job and a future one show as they are."""
    now = app.runtime.service.clock()  # lag is measured on the clock that makes the rows due, whatever today is
    with transaction(app.runtime.engine) as s:
        jobqueue.enqueue(s, kind="remind", key="remind:t1", due_at=now - timedelta(minutes=10), now=now)
        jobqueue.enqueue(s, kind="remind", key="remind:t2", due_at=now + timedelta(hours=3), now=now)
        jobqueue.enqueue(s, kind=CREATE_PO, key=f"{CREATE_PO}:PR-1", due_at=now - timedelta(minutes=5), now=now)
        jobqueue.enqueue(s, kind=CREATE_PO, key=f"{CREATE_PO}:PR-2", due_at=now, now=now)
    with transaction(app.runtime.engine) as s:
        row = jobqueue.get(s, f"{CREATE_PO}:PR-2")
        row.state = jobqueue.DEAD
        s.add(row)
    text = app.get("/metrics", headers={"Authorization": f"Bearer {app.token}"}).text
    assert value(text, 'procurebot_queue_depth{kind="remind",state="due"}') == 2
    assert value(text, 'procurebot_queue_depth{kind="erp.create_po",state="dead"}') == 1
    assert value(text, "procurebot_outbox_dead") == 1
    assert 600 <= value(text, "procurebot_reminder_lag_seconds") < 3600
    assert 300 <= value(text, "procurebot_outbox_lag_seconds") < value(text, "procurebot_reminder_lag_seconds")


def test_request_latency_is_labelled_by_route_template(app):
    """Two different requisition numbers are one series under the route's template; a 404 is counted as 4xx."""
    headers = {"Authorization": f"Bearer {app.token}"}
    app.get("/api/v1/requisitions/PR-1", headers=headers)
    app.get("/api/v1/requisitions/PR-2", headers=headers)
    app.get("/healthz")
    text = app.get("/metrics", headers=headers).text
    assert (
        value(
            text,
            "procurebot_http_request_duration_seconds_count"
            '{method="GET",route="/api/v1/requisitions/{number}",status="4xx"}',
        )
        == 2
    )
    health = 'procurebot_http_request_duration_seconds_count{method="GET",route="/healthz",status="2xx"}'
    assert value(text, health) == 1
    assert "PR-1" not in text
    assert value(text, "procurebot_outbox_lag_seconds") == 0 and value(text, "procurebot_reminder_lag_seconds") == 0
