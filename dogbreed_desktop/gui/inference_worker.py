"""The inference worker: a QObject that lives on its own QThread, loads the model there (so torch is imported
off the GUI thread) and runs queued jobs in order. The GUI side is `inference_client.InferenceClient`.

Jobs are posted from the GUI thread under a lock; cancellation is each job's `Control.stop()`, called
directly, and read by the classifier at every batch. Results leave as plain data, one signal per batch.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from ..core.control import Control
from ..core.errors import describe
from .images import save_pasted, thumbnail
from .messages import ModelInfo, Verdict

BATCH_SIZE = 16
FIRST_BATCH = 4  # a short first batch so the first verdict shows quickly


@dataclass
class LoadJob:
    id: int
    path: str | None  # None: the built-in model


@dataclass
class ClassifyJob:
    id: int
    items: list  # Path (file or folder) or QImage (pasted)
    control: "JobControl" = field(default_factory=lambda: JobControl())


class InferenceWorker(QObject):
    model_loaded = Signal(int, object)  # job id, ModelInfo of the model now active (None: none)
    model_failed = Signal(int, str, str)  # job id, path, message
    queued = Signal(int, list)  # job id, [photo path]
    results = Signal(int, list)  # job id, [Verdict]
    finished = Signal(int)  # job id (completed or stopped)
    failed = Signal(int, str)  # job id, message

    def __init__(self, device: str = "auto"):
        super().__init__()
        self._device = device
        self._lock = threading.Lock()
        self._jobs: deque = deque()
        self._classifier = None
        self._current = None

    # -- called from the GUI thread ------------------------------------------------------------------------
    def post(self, job, front: bool = False) -> None:
        with self._lock:
            self._jobs.appendleft(job) if front else self._jobs.append(job)

    def remove_pending(self, keep=lambda job: False) -> list:
        """Take the not-yet-started jobs off the queue (except those `keep` accepts); returns them."""
        with self._lock:
            dropped = [j for j in self._jobs if not keep(j)]
            self._jobs = deque(j for j in self._jobs if keep(j))
        return dropped

    def stop_current(self) -> int | None:
        """Stop the classification in progress, if any; returns its job id."""
        with self._lock:
            job = self._current
        if isinstance(job, ClassifyJob):
            job.control.stop()
            return job.id
        return None

    # -- the worker thread ---------------------------------------------------------------------------------
    @Slot()
    def drain(self) -> None:
        while True:
            with self._lock:
                self._current = job = self._jobs.popleft() if self._jobs else None
            if job is None:
                return
            if isinstance(job, LoadJob):
                self._load(job)
            elif not job.control.should_stop():
                self._classify(job)
                self.finished.emit(job.id)

    def _load(self, job: LoadJob) -> None:
        """Always answers with model_loaded: the new model, the one kept after a failure, or None."""
        try:
            from .model_cache import load_classifier  # imports torch, in this thread

            self._classifier = load_classifier(job.path, self._device)
        except Exception as e:  # the user sees every reason; the core's own errors are already readable
            self.model_failed.emit(job.id, job.path or "", describe(e))
            if self._classifier is None and job.path is not None:  # nothing to fall back on: the built-in model
                return self._load(LoadJob(job.id, None))
        self.model_loaded.emit(job.id, ModelInfo.from_classifier(self._classifier) if self._classifier else None)

    def _classify(self, job: ClassifyJob) -> None:
        from ..core.classifier import collect_images

        try:
            paths = collect_images(save_pasted(i) if isinstance(i, QImage) else Path(i) for i in job.items)
        except OSError as e:
            self.failed.emit(job.id, str(e))
            return
        self.queued.emit(job.id, [str(p) for p in paths])
        if self._classifier is None:
            self.results.emit(job.id, [Verdict(str(p), None, "no model is loaded") for p in paths])
            return
        pending: list = []

        def flush(done: int = 0, total: int = 0, message: str = "") -> None:
            # The classifier calls this after each batch: send that batch's verdicts with their thumbnails.
            verdicts = [Verdict(r.source, getattr(r, "probabilities", None), getattr(r, "error", ""),
                                thumbnail(r.source)) for r in pending]
            pending.clear()
            if verdicts:
                self.results.emit(job.id, verdicts)

        job.control.on_progress = flush
        try:
            for chunk in (paths[:FIRST_BATCH], paths[FIRST_BATCH:]):
                if chunk and not job.control.should_stop():
                    for result in self._classifier.iter_predict(chunk, top_k=1, batch_size=BATCH_SIZE,
                                                                control=job.control):
                        pending.append(result)
                    flush()
        except Exception as e:  # a torch or decoder failure: tell the user, keep the worker alive
            self.failed.emit(job.id, f"{type(e).__name__}: {e}")


class JobControl(Control):
    """A job's stop flag (set from the GUI thread) and its per-batch hook (set by the worker)."""

    on_progress = None

    def progress(self, done: int, total: int, message: str = "") -> None:
        if self.on_progress is not None:
            self.on_progress(done, total, message)
