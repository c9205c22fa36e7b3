"""The Evaluate view's background work, one QObject job per QThread (as the Train tab's): evaluating, loading
gallery thumbnails, writing a report, exporting to ONNX. Each calls the same Qt-free code as the CLI and
sends plain data; stopping is `Control.stop()` called directly from the GUI thread."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..train.worker import _Job, start_in_thread  # noqa: F401 (start_in_thread re-exported)

THUMB_CHUNK_S = 0.1  # thumbnails go to the GUI at most ~10 times a second


def photos_to_evaluate(model_file: Path, data: str | None):
    """(items, description): a run's own validation photos when `data` is None, else the folder's photos
    (for an already split folder, its test/val part)."""
    from ...core.datasets import DatasetError, load_labelled_set
    from ...core.report.cache import run_validation_items

    if data is None:
        items = run_validation_items(model_file.parent)
        if not items:
            raise DatasetError("this model has no training run with validation photos: choose a folder of photos")
        return items, f"validation split of {model_file.parent.name}"
    found = load_labelled_set(data)
    items = found.items
    if found.layout == "split":
        items = [i for i in items if i.subset == "val"]
    return items, str(found.root)


class EvalJob(_Job):
    """Answers from the saved evaluation when model and photos are unchanged; else evaluates and saves."""

    status = Signal(int, str)  # job id, what it is doing
    done = Signal(int, object)  # job id, core.report.Evaluation (partial when stopped)

    def __init__(self, model: str | None, data: str | None, device: str = "cpu"):
        super().__init__()
        self.model, self.data, self.device = model, data, device

    @Slot()
    def run(self) -> None:
        try:
            from ...core.artifact import resolve_model_path
            from ...core.evaluation import evaluate_photos
            from ...core.report import cache
            from ...paths import default_model_path
            from ..model_cache import load_classifier

            model_file = resolve_model_path(self.model or default_model_path())
            self.status.emit(self.id, "Finding the photos…")
            items, description = photos_to_evaluate(model_file, self.data)
            key = cache.cache_key(model_file, items)
            saved = cache.cached(model_file, key)
            if saved is not None:
                self.done.emit(self.id, saved)
                return
            self.status.emit(self.id, "Loading the model…")
            clf = load_classifier(str(model_file), self.device)
            self.status.emit(self.id, f"Evaluating {len(items)} photos…")
            ev = evaluate_photos(clf, items, data=description, control=self.control)
            cache.store(ev, key)
            self.done.emit(self.id, ev)
        except Exception as e:  # DatasetError, ArtifactError... reach the user as a message
            self.failed.emit(self.id, str(e) or type(e).__name__)
        finally:
            self.finished.emit(self.id)


class ThumbJob(_Job):
    """Thumbnails for a gallery, in its order, sent in chunks of (path, QImage or None)."""

    thumbs = Signal(int, list)  # job id, [(path, QImage | None)]

    def __init__(self, paths: list[str]):
        super().__init__()
        self.paths = paths

    @Slot()
    def run(self) -> None:
        from ..images import thumbnail

        chunk, last = [], time.monotonic()
        try:
            for path in self.paths:
                if self.control.should_stop():
                    return
                chunk.append((path, thumbnail(path)))
                if time.monotonic() - last >= THUMB_CHUNK_S:
                    self.thumbs.emit(self.id, chunk)
                    chunk, last = [], time.monotonic()
            if chunk:
                self.thumbs.emit(self.id, chunk)
        finally:
            self.finished.emit(self.id)


class CallJob(_Job):
    """Runs `fn()` (a report or an ONNX export) and sends its result, or the error as a message."""

    done = Signal(int, object)

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    @Slot()
    def run(self) -> None:
        try:
            self.done.emit(self.id, self.fn())
        except Exception as e:
            self.failed.emit(self.id, str(e) or type(e).__name__)
        finally:
            self.finished.emit(self.id)


class Threads(QObject):
    """The threads of one owner's jobs: started here, and at shutdown stopped, quit and waited for (with a
    timeout). A thread is forgotten only once it has really finished, not when its job has."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._running: list[tuple[_Job, QThread]] = []

    def start(self, job: _Job) -> _Job:
        thread = start_in_thread(job)
        self._running.append((job, thread))
        thread.finished.connect(self._thread_finished)
        return job

    @Slot()
    def _thread_finished(self) -> None:
        done = self.sender()
        self._running = [(j, t) for j, t in self._running if t is not done]

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        import shiboken6

        ok = True
        for job, thread in list(self._running):
            if shiboken6.isValid(job):
                job.stop()
            if shiboken6.isValid(thread):
                thread.quit()  # thread-safe; ends the thread's event loop once its job returns
                ok = thread.wait(timeout_ms) and ok
        self._running.clear()
        return ok
