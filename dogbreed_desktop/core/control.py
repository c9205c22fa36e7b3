"""The small object long-running work takes: it reports progress and says when to stop.

The CLI passes a tqdm-backed one, the GUI a signal-backed one, tests a plain one. `stop()` may be called from
any thread (a button, a signal handler); the work reads `should_stop()` at every batch.
"""

from __future__ import annotations

import threading


class Control:
    def __init__(self) -> None:
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def progress(self, done: int, total: int, message: str = "") -> None:
        """Called after each unit of work; override to show it."""
