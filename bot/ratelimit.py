"""Failed sign-ins per source: after too many in a window, that source waits (429 with Retry-After).

Counted per client address in this process, so a guessing script is slowed to a few tries a minute per
replica; a success does not clear the count (a valid token among guesses should not reset them). The window
slides: each failure is forgotten `window` seconds after it happened.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Callable

MAX_FAILURES = 10
WINDOW_SECONDS = 60.0
MAX_SOURCES = 100_000  # memory stays bounded under a spray from many addresses


class FailureLimit:
    """Counts failed authentications per source; `retry_after(source)` says how long it must wait (0: go)."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures, self.window, self.clock = max_failures, window, clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, source: str, now: float) -> deque[float]:
        times = self._seen.get(source)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._seen[source]
        return times

    def retry_after(self, source: str) -> int:
        """Seconds until `source` may try again; 0 when it may try now."""
        with self._lock:
            now = self.clock()
            times = self._recent(source, now)
            if len(times) < self.max_failures:
                return 0
            return max(1, math.ceil(times[-self.max_failures] + self.window - now))

    def failed(self, source: str) -> None:
        with self._lock:
            now = self.clock()
            self._recent(source, now)
            if source not in self._seen and len(self._seen) >= MAX_SOURCES:
                self._seen.pop(next(iter(self._seen)))  # the oldest source goes first
            times = self._seen.setdefault(source, deque())
            times.append(now)
            if len(times) > self.max_failures:
                times.popleft()


def source_of(client: object) -> str:
    """The request's client address (Starlette's `request.client`), or "unknown"."""
    host = getattr(client, "host", None)
    return str(host) if host else "unknown"


def limiter_for(state: object) -> FailureLimit:
    """The app's one limiter (on `app.state`), shared by the API and the console sign-in."""
    limiter = getattr(state, "auth_failures", None)
    if limiter is None:
        limiter = FailureLimit()
        setattr(state, "auth_failures", limiter)
    return limiter
