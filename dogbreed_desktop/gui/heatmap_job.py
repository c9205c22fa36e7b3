"""The "Why?" overlay's background job: a heatmap for one photo and one breed, computed on its own task runner
with the classifier the inference task already loaded (core.predict.model_cache), and coloured there into a translucent
QImage. A new request supersedes the old one."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from .tasks import TaskRunner
from .theme import attention_rgba


def _overlay(gray: np.ndarray) -> QImage:
    """Grayscale attention (0-255) -> premultiplied ARGB in the theme's ramp (`theme.attention_rgba`)."""
    r, g, b, alpha = np.moveaxis(attention_rgba(gray.astype(np.float32) / 255.0), -1, 0)
    argb = np.stack([b * alpha, g * alpha, r * alpha, alpha], axis=-1)  # BGRA byte order on little-endian
    buf = np.ascontiguousarray((argb * 255 + 0.5).astype(np.uint8))
    h, w = gray.shape
    return QImage(buf.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied).copy()


def compute(model_path: str | None, device: str, photo: str, class_index: int, *, control=None) -> QImage:
    from ..core.predict.heatmap import heatmap
    from ..core.predict.model_cache import load_classifier

    clf = load_classifier(model_path, device)  # the classifier the inference task already loaded
    return _overlay(np.asarray(heatmap(clf, photo, class_index)))


class HeatmapJobs(QObject):
    ready = Signal(str, QImage)  # photo path, overlay the photo's size
    failed = Signal(str, str)  # photo path, message

    def __init__(self, device: str = "auto", parent: QObject | None = None):
        super().__init__(parent)
        self.device = device
        self.runner = TaskRunner("heatmap", self)

    def request(self, model_path: str | None, photo: str, class_index: int) -> None:
        """Supersedes any earlier request: its result, if it still comes, is dropped by the runner."""
        self.runner.submit(compute, model_path, self.device, photo, class_index, supersede=True,
                           on_done=lambda _, image: self.ready.emit(photo, image),
                           on_error=lambda _, message: self.failed.emit(photo, message))

    def cancel(self) -> None:
        self.runner.cancel(self.runner.tasks())

    def shutdown(self) -> bool:
        return self.runner.shutdown()
