"""The "Why?" overlay's background job: a heatmap for one photo and one breed, computed off the GUI thread
(superqt worker) with the classifier the inference worker already loaded (model_cache), and coloured there
into a translucent QImage. Each request carries an id; only the newest one's result is passed on."""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage
from superqt.utils import create_worker


def _overlay(gray: np.ndarray) -> QImage:
    """Grayscale attention (0-255) -> premultiplied ARGB: transparent where the model did not look, warm and
    half-opaque where it looked most."""
    a = gray.astype(np.float32) / 255.0
    alpha = np.clip((a - 0.15) / 0.85, 0, 1) * 0.62
    r, g, b = np.ones_like(a), np.clip(a * 1.4 - 0.2, 0, 1), np.zeros_like(a) + 0.1 * (1 - a)
    argb = np.stack([b * alpha, g * alpha, r * alpha, alpha], axis=-1)  # BGRA byte order on little-endian
    buf = np.ascontiguousarray((argb * 255 + 0.5).astype(np.uint8))
    h, w = gray.shape
    return QImage(buf.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied).copy()


def compute(model_path: str | None, device: str, photo: str, class_index: int) -> QImage:
    from ..core.heatmap import heatmap
    from .model_cache import load_classifier

    clf = load_classifier(model_path, device)
    return _overlay(np.asarray(heatmap(clf, photo, class_index)))


class HeatmapJobs(QObject):
    ready = Signal(str, QImage)  # photo path, overlay the photo's size
    failed = Signal(str, str)  # photo path, message

    def __init__(self, device: str = "auto", parent: QObject | None = None):
        super().__init__(parent)
        self.device = device
        self._ids = itertools.count(1)
        self._live = 0
        self._workers = set()

    def request(self, model_path: str | None, photo: str, class_index: int) -> int:
        """Supersedes any earlier request: its result, when it comes, is dropped."""
        job = self._live = next(self._ids)
        worker = create_worker(compute, model_path, self.device, photo, class_index, _start_thread=False)
        worker.returned.connect(lambda image, j=job: self._done(j, photo, image))
        worker.errored.connect(lambda e, j=job: self._failed(j, photo, e))
        worker.finished.connect(lambda w=worker: self._workers.discard(w))
        self._workers.add(worker)  # keep a reference until it finishes
        worker.start()
        return job

    def cancel(self) -> None:
        self._live = 0

    def busy(self) -> bool:
        return bool(self._workers)

    def _done(self, job: int, photo: str, image: QImage) -> None:
        if job == self._live:
            self.ready.emit(photo, image)

    def _failed(self, job: int, photo: str, error: Exception) -> None:
        if job == self._live:
            self.failed.emit(photo, f"{type(error).__name__}: {error}" if not str(error) else str(error))
