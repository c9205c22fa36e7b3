"""The selected photo, large: scaled to fit with its aspect ratio, smoothly, centred; a message otherwise."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget


class PhotoView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._pixmap = QPixmap()
        self._fitted = QImage()  # the loader's copy already scaled to this view's size
        self._scaled = QPixmap()
        self._message = ""
        self._overlay = QImage()  # the "Why?" heatmap, the photo's size; null: none
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)

    def set_image(self, image: QImage, fitted: QImage | None = None) -> None:
        """Called on the GUI thread with the worker's QImages; the QPixmaps are made here."""
        self._pixmap = QPixmap.fromImage(image)
        self._fitted = fitted if fitted is not None else QImage()
        self._scaled = QPixmap()
        self._message = ""
        self.update()

    def set_overlay(self, overlay: QImage | None) -> None:
        self._overlay = overlay if overlay is not None else QImage()
        self.update()

    def has_overlay(self) -> bool:
        return not self._overlay.isNull()

    def device_size(self) -> QSize:
        return self.size() * self.devicePixelRatioF()

    def set_message(self, text: str) -> None:
        self._pixmap = self._scaled = QPixmap()
        self._fitted = QImage()
        self._overlay = QImage()
        self._message = text
        self.update()

    def has_image(self) -> bool:
        return not self._pixmap.isNull()

    def sizeHint(self) -> QSize:
        return QSize(360, 300)

    def resizeEvent(self, event) -> None:
        self._scaled = QPixmap()  # rescale lazily at the next paint
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        if self._pixmap.isNull():
            p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)
            return
        if self._scaled.isNull():
            ratio, box = self.devicePixelRatioF(), self.device_size()
            if self._fitted.size() == self._pixmap.size().scaled(box, Qt.AspectRatioMode.KeepAspectRatio):
                self._scaled = QPixmap.fromImage(self._fitted)  # scaled in the loader thread
            else:  # the view was resized since: scale here
                self._scaled = self._pixmap.scaled(box, Qt.AspectRatioMode.KeepAspectRatio,
                                                   Qt.TransformationMode.SmoothTransformation)
            self._scaled.setDevicePixelRatio(ratio)
        size = self._scaled.deviceIndependentSize().toSize()
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(self.rect().center())
        target.moveTop(0)  # top-aligned, level with the chart beside it
        p.drawPixmap(target, self._scaled)
        if not self._overlay.isNull():
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(target, self._overlay)
