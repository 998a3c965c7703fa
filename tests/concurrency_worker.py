"""Runs in a separate process: acts on a requisition when the start signal fires."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def approve_when_told(url: str, number: str, actor: str, key: str | None, start, results) -> None:  # type: ignore[no-untyped-def]
    from approvals.commands import Approve
    from approvals.db import make_engine
    from approvals.directory import load_directory
    from approvals.errors import ProcurebotError
    from approvals.workflow import ApprovalService

    engine = make_engine(url)
    service = ApprovalService(engine, load_directory(EXAMPLES / "company.yaml"))
    start.wait(30)
    try:
        result = service.approve(Approve(actor=actor, number=number, idempotency_key=key))
        results.put((actor, "ok", result.outcome, result.replayed))
    except ProcurebotError as exc:
        results.put((actor, type(exc).__name__, exc.message, False))
    finally:
        engine.dispose()
