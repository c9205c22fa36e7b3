"""One inference thread that runs the model on micro-batches of whatever requests are waiting.

Requests hand in already-decoded images and get a `concurrent.futures.Future`. When the worker is idle it
waits `wait_s` for more requests after the first (a few ms: less than one forward pass), then runs every
waiting request together, up to `max_batch` images. While it runs, new requests queue, so under load batches
fill by themselves. The queue is bounded in images: `submit` beyond it raises `Busy` at once instead of letting
requests pile up in memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

Item = tuple[str, tuple[np.ndarray, ...]]  # (file name, CHW uint8 arrays: `Classifier.prepare`)


class Busy(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"queue full; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class _Job:
    items: Sequence[Item]
    top_k: int
    future: Future = field(default_factory=Future)


class MicroBatcher:
    def __init__(self, run: Callable[[list[Item], int], list], *, max_batch: int, wait_s: float, max_queue: int):
        """`run(items, top_k)` returns one result per item; it is only ever called from the worker thread."""
        if not 0 <= wait_s <= threading.TIMEOUT_MAX:  # inf would kill the thread at its first wait; nan never waits
            raise ValueError(f"wait_s must be a finite number of seconds, 0 or more, not {wait_s}")
        self._run, self.max_batch, self.wait_s, self.max_queue = run, max_batch, wait_s, max_queue
        self._jobs: deque[_Job] = deque()
        self._queued = 0  # images waiting (not counting the batch being run)
        self._running = 0
        self._cond = threading.Condition()
        self._closed = False
        self.batches = self.images = 0
        self._rate = 0.0  # images/s of recent batches, for Retry-After
        self._thread = threading.Thread(target=self._loop, name="dogbreed-inference", daemon=True)
        self._thread.start()

    def submit(self, items: Sequence[Item], top_k: int) -> Future:
        job = _Job(items, top_k)
        with self._cond:
            if self._closed:
                raise RuntimeError("the server is shutting down")
            if self._queued and self._queued + len(items) > self.max_queue:
                raise Busy(self._retry_after_locked())
            self._jobs.append(job)
            self._queued += len(items)
            self._cond.notify()
        return job.future

    def retry_after(self, backlog: int = 0) -> int:
        """Seconds until the backlog (the queue, or `backlog` images if more) is likely cleared, at the recent
        rate."""
        with self._cond:
            return self._retry_after_locked(backlog)

    def _retry_after_locked(self, backlog: int = 0) -> int:
        backlog = max(backlog, self._queued + self._running)
        return max(1, math.ceil(backlog / self._rate)) if self._rate else 1

    def stats(self) -> dict:
        with self._cond:
            return {"queued_images": self._queued, "running_images": self._running, "batches": self.batches,
                    "images": self.images, "images_per_s": round(self._rate, 2)}

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _next_batch(self) -> list[_Job] | None:
        with self._cond:
            while not self._jobs and not self._closed:
                self._cond.wait()
            if not self._jobs:
                return None  # closed and drained
            deadline = time.monotonic() + self.wait_s
            while self._queued < self.max_batch and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch, n = [], 0
            while self._jobs and (not batch or n + len(self._jobs[0].items) <= self.max_batch):
                job = self._jobs.popleft()
                self._queued -= len(job.items)
                if job.future.set_running_or_notify_cancel():  # False: the client went away
                    batch.append(job)
                    n += len(job.items)
            self._running = n
            return batch

    def _loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            if batch:
                self._run_batch(batch)

    def _run_batch(self, batch: list[_Job]) -> None:
        items = [item for job in batch for item in job.items]
        start = time.perf_counter()
        try:
            results = self._run(items, max(job.top_k for job in batch))
        except BaseException as e:  # noqa: BLE001 - handed to the requests, which answer 500
            for job in batch:
                job.future.set_exception(e)
            return
        finally:
            with self._cond:
                self._running = 0
        rate = len(items) / max(time.perf_counter() - start, 1e-6)
        with self._cond:
            self.batches += 1
            self.images += len(items)
            self._rate = rate if not self._rate else 0.8 * self._rate + 0.2 * rate
        at = 0
        for job in batch:
            job.future.set_result(results[at : at + len(job.items)])
            at += len(job.items)
