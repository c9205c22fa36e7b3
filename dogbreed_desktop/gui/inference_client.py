"""The window's handle on the inference worker: owns its QThread, numbers requests, drops stale results.

Every request gets an id. A result is passed on only while its request is live: cancelling, superseding or
switching the model retires ids at once, so results already in flight are dropped here, in the GUI thread.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

from .inference_worker import ClassifyJob, InferenceWorker, LoadJob
from .messages import ModelInfo


class InferenceClient(QObject):
    model_loading = Signal(str)  # model path, "" for the built-in one
    model_loaded = Signal(object)  # ModelInfo of the active model (None if not even the built-in one loads)
    model_failed = Signal(str, str)  # path, message
    queued = Signal(int, list)  # request id, [photo path]: the photos it will classify
    results = Signal(int, list)  # request id, [Verdict]
    finished = Signal(int)  # request id
    failed = Signal(int, str)  # request id, message
    _wake = Signal()

    def __init__(self, device: str = "auto", parent: QObject | None = None):
        super().__init__(parent)
        self.model: ModelInfo | None = None
        self.device = device
        self._ids = itertools.count(1)
        self._live: dict[int, ClassifyJob] = {}
        self._load_id = 0
        self._thread = QThread()
        self._thread.setObjectName("inference")
        self._worker = InferenceWorker(device)
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._wake.connect(self._worker.drain)
        w = self._worker  # bound methods of this QObject: queued connections, run on the GUI thread
        w.model_loaded.connect(self._on_model_loaded)
        w.model_failed.connect(self._on_model_failed)
        w.queued.connect(self._on_queued)
        w.results.connect(self._on_results)
        w.finished.connect(self._on_finished)
        w.failed.connect(self._on_failed)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return bool(self._live)

    @property
    def loading(self) -> bool:
        return self._load_id != 0

    def load_model(self, path: str | Path | None) -> int:
        """Load a model (None: the built-in one) ahead of queued work; the running classification is stale."""
        stale = self._worker.stop_current()
        self._live.pop(stale, None)
        self._load_id = next(self._ids)
        self._worker.post(LoadJob(self._load_id, None if path is None else str(path)), front=True)
        self.model_loading.emit("" if path is None else str(path))
        self._wake.emit()
        return self._load_id

    def classify(self, items: list[Path | QImage], supersede: bool = False) -> int:
        """Queue photos, folders or pasted images. `supersede` first cancels every earlier request."""
        if supersede:
            self.cancel_all()
        job = ClassifyJob(next(self._ids), list(items))
        self._live[job.id] = job
        self._worker.post(job)
        self._wake.emit()
        return job.id

    def cancel_all(self) -> None:
        for job in self._live.values():
            job.control.stop()  # direct call: read by the worker at its next batch
        self._worker.remove_pending(keep=lambda job: isinstance(job, LoadJob))
        self._live.clear()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop everything and end the thread; False if it did not end within the timeout."""
        self.cancel_all()
        self._worker.remove_pending()
        self._thread.quit()
        return self._thread.wait(timeout_ms)

    @Slot(int, object)
    def _on_model_loaded(self, job_id: int, info: ModelInfo | None) -> None:
        if job_id == self._load_id:  # else a newer load is on its way
            self._load_id = 0
            self.model = info
            self.model_loaded.emit(info)

    @Slot(int, str, str)
    def _on_model_failed(self, job_id: int, path: str, message: str) -> None:
        self.model_failed.emit(path, message)

    @Slot(int, list)
    def _on_queued(self, job_id: int, paths: list) -> None:
        if job_id in self._live:
            self.queued.emit(job_id, paths)

    @Slot(int, list)
    def _on_results(self, job_id: int, verdicts: list) -> None:
        if job_id in self._live:
            self.results.emit(job_id, verdicts)

    @Slot(int)
    def _on_finished(self, job_id: int) -> None:
        if self._live.pop(job_id, None) is not None:
            self.finished.emit(job_id)

    @Slot(int, str)
    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id in self._live:
            self.failed.emit(job_id, message)
