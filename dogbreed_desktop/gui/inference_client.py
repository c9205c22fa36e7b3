"""The window's handle on inference: model loads and classifications as tasks on one `TaskRunner`, so they
run in order on one thread, and their results reach the window only while their request is live.

A model load goes ahead of waiting photos and supersedes any earlier load, which is then never run or, if
already running, neither becomes the active model nor reports anything: the model the window names is the
model that classifies. Cancelling, superseding or switching the model retires requests at once.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from .inference_tasks import Engine
from .messages import ModelInfo
from .tasks import Task, TaskRunner

LOAD, CLASSIFY = "load", "classify"  # task groups


class InferenceClient(QObject):
    model_loading = Signal(str)  # model path, "" for the built-in one
    model_loaded = Signal(object)  # ModelInfo of the active model (None if not even the built-in one loads)
    model_failed = Signal(str, str)  # path, message
    queued = Signal(int, list)  # request id, [photo path]: the photos it will classify
    results = Signal(int, list)  # request id, [Verdict]
    finished = Signal(int)  # request id
    failed = Signal(int, str)  # request id, message

    def __init__(self, device: str = "auto", parent: QObject | None = None):
        super().__init__(parent)
        self.model: ModelInfo | None = None
        self.device = device  # the heatmap job loads the same model from core.predict.model_cache
        self.runner = TaskRunner("inference", self)
        self._engine = Engine(device)
        self._load: Task | None = None  # the load the window waits for

    @property
    def busy(self) -> bool:
        return bool(self.runner.tasks(CLASSIFY))

    @property
    def loading(self) -> bool:
        return self._load is not None

    def load_model(self, path: str | Path | None) -> int:
        """Load a model (None: the built-in one) ahead of queued photos. The classification under way is
        dropped: the Classify tab queues its unfinished photos again once the model is in."""
        running = self.runner.running()
        if running is not None and running.group == CLASSIFY:
            self.runner.cancel([running])
        path = None if path is None else str(path)
        self._load = self.runner.submit(self._engine.load, path, group=LOAD, supersede=True, urgent=True,
                                        on_done=self._loaded, on_error=self._load_failed)
        self.model_loading.emit(path or "")
        return self._load.id

    def classify(self, items: list[Path | QImage], supersede: bool = False) -> int:
        """Queue photos, folders or pasted images. `supersede` first cancels every earlier request."""
        task = self.runner.submit(self._engine.classify, list(items), group=CLASSIFY, supersede=supersede,
                                  on_partial=self._partial, on_error=lambda t, text: self.failed.emit(t.id, text),
                                  on_finished=lambda t: self.finished.emit(t.id))
        return task.id

    def cancel_all(self) -> None:
        self.runner.cancel(self.runner.tasks(CLASSIFY))

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop everything and end the thread; False if it did not end within the timeout."""
        return self.runner.shutdown(timeout_ms)

    def _loaded(self, task: Task, info: ModelInfo | None) -> None:
        self._load, self.model = None, info
        self.model_loaded.emit(info)

    def _load_failed(self, task: Task, message: str) -> None:
        """Report it, then go on with the model already active, or the built-in one if there is none."""
        path = task.args[0]
        self.model_failed.emit(path or "", message)
        if self._engine.info is None and path is not None:
            self.load_model(None)
        else:
            self._loaded(task, self._engine.info)

    def _partial(self, task: Task, value: tuple) -> None:
        kind, data = value
        (self.queued if kind == "queued" else self.results).emit(task.id, data)
