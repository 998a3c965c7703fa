"""The "what is unusual" note on an approver's card: deterministic at once, the LLM's when it has checked out.

After a requisition is submitted (or amended back into approval), an after-commit listener hands
the LLM summary to a background worker, so the submitter's acknowledgment never waits for it. The
worker computes the facts (routing facts, supplier, history signals), asks the LLM, checks every
number, and stores the result (the LLM's, or the deterministic summary with the reason). Until a
summary is stored, cards show the deterministic one, computed from the same facts. With no LLM
configured nothing is sent anywhere and the deterministic summary is all there is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor, wait
from decimal import Decimal
from typing import Any, Callable, Iterable

from sqlalchemy import Engine
from sqlmodel import Session

from approvals.clock import Clock, utcnow
from approvals.directory import Directory
from approvals.history import load_history
from approvals.signals import all_signals, price_book
from approvals.suggestions import ExceptionSummary, save_summary, stored_summary
from approvals.summary import SummaryFacts, deterministic_summary, exception_facts
from approvals.views import RequisitionView
from bot.intake.suggest import START_DELAY
from connectors.llm_tasks import LlmSummarizer

log = logging.getLogger("procurebot.llm")
SUMMARIZE_ON = ("submit", "amend", "answer_info")
MAX_CACHED = 2048


class ExceptionSummaries:
    def __init__(
        self,
        engine: Engine,
        directory: Directory,
        view: Callable[[str], RequisitionView],
        *,
        thresholds: Iterable[Decimal] = (),
        summarizer: LlmSummarizer | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.engine = engine
        self.clock = clock  # the service's: a stored summary carries its time
        self.directory = directory
        self.view = view
        self.thresholds = sorted(set(thresholds))
        self.summarizer = summarizer
        # told the requisition number once a summary is stored, so open cards can re-render
        self.listeners: list[Callable[[str], None]] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llm-summary") if summarizer else None
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()
        self._notes: OrderedDict[tuple[str, int], str | None] = OrderedDict()  # deterministic notes, per round

    # ------------------------------------------------------------------ facts
    def facts(self, view: RequisitionView) -> SummaryFacts:
        with Session(self.engine) as session:
            loaded = load_history(session, view.number)
        if loaded is None:
            return exception_facts(view, self.directory, [])
        current, routing_facts, history = loaded
        # catalog and contract prices and order sizes, for items with little history: from the directory version in
        # force now, so a newly activated catalog counts without a restart
        prices = price_book(self.directory)
        signals = all_signals(current, history, self.thresholds, prices)
        return exception_facts(view, self.directory, signals, routing_facts)

    def note_for(self, view: RequisitionView) -> str | None:
        """The summary for this round: the stored one, else the deterministic one (computed once per round:
        its history is what came before the request, which later requests do not change)."""
        key = (view.number, view.round)
        try:
            if self.summarizer is not None:
                row = stored_summary(self.engine, view.number, view.round)
                if row is not None:
                    return row.text
            with self._lock:
                if key in self._notes:
                    self._notes.move_to_end(key)
                    return self._notes[key]
            note = deterministic_summary(self.facts(view))
        except Exception:  # noqa: BLE001 - a card without its note beats no card
            log.exception("exception summary for %s failed", view.number)
            return None
        with self._lock:
            self._notes[key] = note
            while len(self._notes) > MAX_CACHED:
                self._notes.popitem(last=False)
        return note

    # ------------------------------------------------------------------ the LLM, off the critical path
    def on_change(self, change: Any) -> None:
        """After-commit listener: queue the LLM summary for a requisition now waiting on approvers."""
        if self._pool is None or change.command not in SUMMARIZE_ON or change.state != "pending_approval":
            return
        future = self._pool.submit(self._write, change.number)
        with self._lock:
            self._pending = [f for f in self._pending if not f.done()] + [future]

    def _write(self, number: str) -> None:
        time.sleep(START_DELAY)  # let the submit reply go out before the queries and the request compete with it
        try:
            view = self.view(number)
            if stored_summary(self.engine, number, view.round) is not None:
                return
            facts = self.facts(view)
            answer = self.summarizer.summarize(facts) if self.summarizer else None
            if answer is None:
                return  # nothing unusual: the card has no note
            text, source, outcome, prompt_version, model = answer
            if source != "llm":
                log.info("exception summary for %s: deterministic (%s)", number, outcome)
            stored = save_summary(
                self.engine,
                ExceptionSummary(
                    requisition_number=number,
                    round=view.round,
                    text=text,
                    source=source,
                    prompt_version=prompt_version,
                    model=model,
                    outcome=outcome,
                    created_at=self.clock(),
                ),
            )
        except Exception:  # noqa: BLE001 - the deterministic note still shows
            log.exception("exception summary for %s failed", number)
            return
        if stored:
            for listener in self.listeners:
                try:
                    listener(number)
                except Exception:  # noqa: BLE001
                    log.exception("summary listener failed for %s", number)

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait for queued summaries (tests and benchmarks; nothing in the chat path waits)."""
        with self._lock:
            pending = list(self._pending)
        wait(pending, timeout=timeout)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
