"""Prometheus `/metrics` for operations: request latency, queue depths, outbox lag, reminder lag.

Latency is measured by a small ASGI middleware, labelled by the route's template (never the
raw path, so `/requisitions/PR-1042` and `/requisitions/PR-1043` are one series). Queue
figures are read from the job table when Prometheus scrapes, in one grouped query over the
live rows only (index `ix_job_state_due`), so they are never stale. Each app has its own
registry, so several apps in one process (tests) do not collide.

Scraping needs an API token (admin, auditor or service), sent as a bearer token.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from approvals import jobqueue
from approvals.clock import Clock, as_utc, utcnow
from approvals.jobqueue import Job
from approvals.outbox import CREATE_PO
from bot.api.auth import READ, Caller, require

LIVE_STATES = (jobqueue.DUE, jobqueue.FAILED, jobqueue.CLAIMED, jobqueue.DEAD)
WAITING_STATES = (jobqueue.DUE, jobqueue.FAILED)  # rows whose due_at is when they should run
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
router = APIRouter(tags=["operations"])


class QueueCollector(Collector):
    """Job-queue depth per kind and state, and how late the oldest ready row of each kind is."""

    def __init__(self, engine: Engine, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.clock = clock  # the clock the queue's rows were made due by

    def snapshot(self) -> tuple[dict[tuple[str, str], int], dict[str, float]]:
        now = self.clock()
        job = Job.__table__  # type: ignore[attr-defined]
        q = (
            select(job.c.kind, job.c.state, func.count(), func.min(job.c.due_at))
            .where(job.c.state.in_(LIVE_STATES))
            .group_by(job.c.kind, job.c.state)
        )
        depth: dict[tuple[str, str], int] = {}
        lag: dict[str, float] = {}
        with self.engine.connect() as conn:
            for kind, state, n, oldest in conn.execute(q):
                depth[(kind, state)] = int(n)
                if state in WAITING_STATES and oldest is not None:
                    late = max(0.0, (now - as_utc(oldest)).total_seconds())  # type: ignore[operator]
                    lag[kind] = max(lag.get(kind, 0.0), late)
        return depth, lag

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth, lag = self.snapshot()
        g = GaugeMetricFamily("procurebot_queue_depth", "Live rows in the job queue", labels=["kind", "state"])
        for (kind, state), n in sorted(depth.items()):
            g.add_metric([kind, state], n)
        yield g
        lag_g = GaugeMetricFamily(
            "procurebot_queue_lag_seconds",
            "How long the oldest ready row of each kind has been due (0: on time)",
            labels=["kind"],
        )
        for kind, seconds in sorted(lag.items()):
            lag_g.add_metric([kind], seconds)
        yield lag_g
        yield GaugeMetricFamily(
            "procurebot_outbox_lag_seconds",
            "How long the oldest ready ERP create-PO job has waited past its due time",
            value=lag.get(CREATE_PO, 0.0),
        )
        yield GaugeMetricFamily(
            "procurebot_reminder_lag_seconds",
            "How long the oldest ready reminder has waited past its due time",
            value=lag.get("remind", 0.0),
        )
        yield GaugeMetricFamily(
            "procurebot_outbox_dead",
            "ERP create-PO jobs dead-lettered, waiting for a buyer",
            value=depth.get((CREATE_PO, jobqueue.DEAD), 0),
        )


class LatencyMiddleware:
    """Observe each HTTP request's duration by method, route template and status class."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.histogram.labels(scope.get("method", ""), template, f"{status['code'] // 100}xx").observe(
                time.perf_counter() - started
            )


def install(app: FastAPI) -> None:
    """Add the latency middleware and GET /metrics to `app`, with the app's own registry."""
    registry = CollectorRegistry()
    histogram = Histogram(
        "procurebot_http_request_duration_seconds",
        "HTTP request latency",
        ["method", "route", "status"],
        buckets=BUCKETS,
        registry=registry,
    )
    app.state.prometheus = registry
    app.add_middleware(LatencyMiddleware, histogram=histogram)
    app.include_router(router)


def _registry(request: Request) -> CollectorRegistry:
    registry: CollectorRegistry = request.app.state.prometheus
    if not getattr(request.app.state, "prometheus_queue", False):
        # the engine exists only once the app has started, so the queue collector joins on first scrape
        runtime = request.app.state.runtime
        registry.register(QueueCollector(runtime.engine, clock=lambda: runtime.service.clock()))
        request.app.state.prometheus_queue = True
    return registry


@router.get(
    "/metrics",
    summary="Prometheus metrics (bearer token)",
    response_class=Response,
    responses={200: {"description": "The Prometheus text format", "content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(request: Request, caller: Caller = Depends(require(*READ))) -> Any:
    body = await run_in_threadpool(generate_latest, _registry(request))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
