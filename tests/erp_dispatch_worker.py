"""A dispatcher process for the fault test: the sandbox ERP with random faults, notices to the database's inbox.

Usage: python tests/erp_dispatch_worker.py DB_URL SEED WORKERS [WEBHOOK_URL WEBHOOK_SECRET]

With a webhook URL the ERP is another process (tests/erp_webhook_server.py) reached over HTTP
through the signed-webhook connector instead of the in-process sandbox.
"""

from __future__ import annotations

import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from approvals.db import make_engine  # noqa: E402
from approvals.directory import load_directory  # noqa: E402
from bot.erp_dispatcher import ErpDispatcher, run_workers  # noqa: E402
from bot.notify import InboxNotifier  # noqa: E402
from connectors.erp.config import ErpSettings  # noqa: E402
from connectors.erp.sandbox import SandboxErp, SandboxFaults  # noqa: E402
from connectors.erp.webhook import SignedWebhook  # noqa: E402

FAULTS = "500:0.10,429:0.05,timeout_after_commit:0.05,drop:0.05"


def main() -> None:
    url, seed, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    webhook = sys.argv[4:6]
    engine = make_engine(url, pool_size=workers + 2)
    directory = load_directory(Path(__file__).resolve().parents[1] / "examples" / "company.yaml")
    # an ERP that is down for a while answers nothing: enough attempts, at most 0.2 s apart, to outlast it
    settings = ErpSettings(
        _env_file=None,
        erp_max_attempts=100 if webhook else 60,
        erp_backoff_base_seconds=0.01,
        erp_backoff_max_seconds=0.2,
    )
    notifier = InboxNotifier(engine)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def build(i: int) -> ErpDispatcher:
        if webhook:
            erp = SignedWebhook(url=webhook[0], secret=webhook[1], timeout=2.0)
        else:
            erp = SandboxErp(engine, directory, faults=SandboxFaults.parse(FAULTS, seed=seed * 100 + i))
        # a short lease so the jobs a killed process held come back within the test
        return ErpDispatcher(
            engine,
            directory,
            erp,
            notifier,
            settings=settings,
            worker_id=f"fault-{seed}-{i}",
            batch=5,
            lease=timedelta(seconds=2),
        )

    threads = run_workers(build, workers, stop)
    print("ready", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
