"""The scheduled directory sync from Microsoft Graph, run by whichever server or worker claims it.

One job row (`directory.sync:graph`) stands for the sync; every process with GRAPH_* settings looks for it about
once a minute, the one that claims it syncs (connectors/directory/sync.py) and hands it back due again after
GRAPH_SYNC_MINUTES. So replicas never sync twice at once, and a process that dies mid-sync leaves the row to be
taken over when its lease ends (nothing of a half-done sync was written).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any, Callable

from approvals import jobqueue
from approvals.db import transaction
from approvals.directory_changes import DirectoryRefused
from approvals.jobqueue import JobQueue
from approvals.workflow import ApprovalService
from connectors.directory.config import GraphSettings
from connectors.directory.graph import GraphClient, GraphError
from connectors.directory.mapping import load_mapping
from connectors.directory.sync import SyncReport, sync_from_graph

log = logging.getLogger("procurebot.directory")
KIND = "directory.sync"
KEY = "directory.sync:graph"


class DirectorySyncer:
    def __init__(
        self,
        service: ApprovalService,
        settings: GraphSettings,
        *,
        client: Callable[[], GraphClient] | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.service, self.settings = service, settings
        self.client = client or (lambda: GraphClient(settings))
        self.every = timedelta(minutes=settings.sync_minutes)
        self.queue = JobQueue(service.engine, clock=service.clock, worker_id=worker_id, lease=timedelta(minutes=15))

    def schedule(self) -> None:
        """The sync's row, due now, unless another process made it already."""
        now = self.service.clock()
        with transaction(self.service.engine) as session:
            jobqueue.enqueue(session, kind=KIND, key=KEY, due_at=now, now=now)

    def run_due(self) -> SyncReport | None:
        """Sync if the row is due and this process claims it; None otherwise (or when the sync failed: logged)."""
        jobs = self.queue.claim(KIND, limit=1)
        if not jobs:
            return None
        job = jobs[0]
        report: SyncReport | None = None
        try:
            assert self.settings.mapping_file is not None
            client = self.client()
            try:
                report = sync_from_graph(self.service, client, load_mapping(self.settings.mapping_file))
            finally:
                client.close()
            for line in report.lines():
                log.info("directory sync: %s", line)
        except DirectoryRefused as exc:
            log.error("directory sync refused, nothing changed: %s", "; ".join(exc.reasons))
        except (GraphError, ValueError) as exc:
            log.error("directory sync failed, nothing changed: %s", exc)
        except Exception:  # noqa: BLE001 - the next run tries again; nothing half-done was written
            log.exception("directory sync failed, nothing changed")
        self.queue.release(job, due_at=self.service.clock() + self.every)
        return report


def start_in_server(runtime: Any) -> threading.Event | None:
    """Start the scheduled sync when Graph is configured and GRAPH_SYNC_MINUTES > 0; the event stops it."""
    settings: GraphSettings = runtime.settings.graph
    if not settings.configured or settings.mapping_file is None or settings.sync_minutes <= 0:
        return None
    syncer = DirectorySyncer(runtime.service, settings)
    syncer.schedule()
    stop = threading.Event()

    def loop() -> None:
        while True:
            try:
                syncer.run_due()
            except Exception:  # noqa: BLE001 - the database blinked; look again in a minute
                log.exception("directory sync: could not look for the sync's row")
            if stop.wait(60):
                return

    threading.Thread(target=loop, name="directory-sync", daemon=True).start()
    log.info("directory sync from Microsoft Graph every %g minutes", settings.sync_minutes)
    return stop
