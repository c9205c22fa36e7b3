"""The small object long-running work takes: it reports progress and says when to stop.

The CLI passes a tqdm-backed one, the GUI a signal-backed one, tests a plain one. `stop()` may be called from
any thread (a button, a signal handler); the work reads `should_stop()` at every batch.

Training has one way of stopping: the work calls `raise_if_stopped()`, which raises `Stopped`, and `fit` turns
that into a result with status "stopped". (Prediction yields results as it goes, so it simply ends early.)
"""

from __future__ import annotations

import threading
import time

MIN_INTERVAL_S = 0.1  # progress reaches a window or a reader ~10 times a second at most


class Stopped(Exception):
    """The user asked to stop while work was under way."""


class Control:
    def __init__(self) -> None:
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def raise_if_stopped(self, message: str = "stopped by request") -> None:
        if self._stop.is_set():
            raise Stopped(message)

    def progress(self, done: int, total: int, message: str = "") -> None:
        """Called after each unit of work; override to show it."""


class Throttle:
    """`ready()` is true at most once per interval (always the first time, or when forced): the one rate limit
    for progress reports, in the window and in `train --progress json`."""

    def __init__(self, interval_s: float = MIN_INTERVAL_S):
        self.interval_s, self._last = interval_s, float("-inf")

    def ready(self, force: bool = False) -> bool:
        now = time.monotonic()
        if force or now - self._last >= self.interval_s:
            self._last = now
            return True
        return False
