"""Decodes the selected photo for the large view on its own QThread. Latest wins: clicking through the list
quickly loads only the photo the user stopped on, and a stale answer is dropped by its request id."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QSize, QThread, Signal, Slot
from PySide6.QtGui import QImage

from .images import PREVIEW_SIZE, fit, load_qimage


class _PhotoWorker(QObject):
    loaded = Signal(int, str, QImage, QImage, str)  # request id, path, picture, picture fitted to the view, error

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._latest: tuple[int, str, QSize] | None = None

    def set_latest(self, request_id: int, path: str, box: QSize) -> None:  # GUI thread
        with self._lock:
            self._latest = (request_id, path, box)

    @Slot()
    def work(self) -> None:
        with self._lock:
            request, self._latest = self._latest, None
        if request is None:  # already served by an earlier wake-up
            return
        request_id, path, box = request
        try:
            image, error = load_qimage(path, PREVIEW_SIZE), ""
        except Exception as e:  # the core's ImageError, or anything a decoder throws
            image, error = QImage(), str(e)
        self.loaded.emit(request_id, path, image, fit(image, box), error)


class PhotoLoader(QObject):
    loaded = Signal(str, QImage, QImage, str)  # path, upright picture (null on error), same fitted to box, error
    _wake = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._request = 0
        self._thread = QThread()
        self._thread.setObjectName("photo-loader")
        self._worker = _PhotoWorker()
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._wake.connect(self._worker.work)
        self._worker.loaded.connect(self._on_loaded)
        self._thread.start()

    def request(self, path: str, box: QSize = QSize()) -> int:
        """Load `path`; also scaled to fit `box` (device pixels) when given, so the view need not scale it."""
        self._request += 1
        self._worker.set_latest(self._request, path, box)
        self._wake.emit()
        return self._request

    def cancel(self) -> None:
        self._request += 1  # whatever is in flight is now stale

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        self.cancel()
        self._thread.quit()
        return self._thread.wait(timeout_ms)

    @Slot(int, str, QImage, QImage, str)
    def _on_loaded(self, request_id: int, path: str, image: QImage, fitted: QImage, error: str) -> None:
        if request_id == self._request:
            self.loaded.emit(path, image, fitted, error)
