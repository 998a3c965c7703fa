"""Category suggestions from the LLM, fetched off the chat's critical path.

The assistant asks for a suggestion as soon as it reads an item it could not place from the
catalog or the supplier, and answers the person at once; the suggestion is picked up on a later
turn (the next question, the summary, or the Submit tap) if it has arrived, and simply not used
if it has not. So a slow or failing model never delays a chat reply.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor, wait

from connectors.llm_tasks import LlmClassifier, Suggestion

log = logging.getLogger("procurebot.llm")
MAX_REMEMBERED = 512
# The worker lets the reply that asked for the suggestion go out first: building the request is CPU work
# that would otherwise compete with it for the interpreter. Small next to any model's round trip.
START_DELAY = 0.05


class CategorySuggester:
    def __init__(self, classifier: LlmClassifier, *, workers: int = 2) -> None:
        self.classifier = classifier
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm-classify")
        self._futures: OrderedDict[tuple[str, tuple[str, ...]], Future[Suggestion]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def min_confidence(self) -> float:
        return self.classifier.min_confidence

    @staticmethod
    def _key(text: str, allowed: tuple[str, ...] | None) -> tuple[str, tuple[str, ...]]:
        return " ".join(text.lower().split()), tuple(sorted(allowed or ()))

    def start(self, text: str, allowed: tuple[str, ...] | None = None) -> None:
        """Ask in the background (once per text and allowed list); returns at once."""
        key = self._key(text, allowed)
        with self._lock:
            if key in self._futures:
                self._futures.move_to_end(key)
                return
            self._futures[key] = self._pool.submit(self._run, text, allowed)
            while len(self._futures) > MAX_REMEMBERED:
                self._futures.popitem(last=False)

    def _run(self, text: str, allowed: tuple[str, ...] | None) -> Suggestion:
        time.sleep(START_DELAY)
        try:
            return self.classifier.suggest(text, allowed)
        except Exception as exc:  # noqa: BLE001 - a bug here must cost a suggestion, never a chat reply
            log.exception("category suggestion failed")
            return Suggestion(None, f"error: {type(exc).__name__}"[:40])

    def ready(self, text: str, allowed: tuple[str, ...] | None = None) -> Suggestion | None:
        """The suggestion if it has arrived; None if it is still on its way or was never asked."""
        with self._lock:
            future = self._futures.get(self._key(text, allowed))
        if future is None or not future.done():
            return None
        return future.result()

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait for every suggestion asked so far (tests and benchmarks; the chat never waits)."""
        with self._lock:
            pending = list(self._futures.values())
        wait(pending, timeout=timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
