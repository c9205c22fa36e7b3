"""The confusion tab: the heatmap (zoom with the slider or Ctrl+wheel), the most confused pairs beside it, and
a gallery of exactly the photos of the clicked cell or pair."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QScrollArea, QSlider, QSplitter, QVBoxLayout, QWidget,
)

from ...core.evaluate import metrics
from ...core.evaluate.report import analysis
from .gallery import Gallery
from .heatmap import Heatmap

PAIRS = 30


class ZoomArea(QScrollArea):
    zoomed = Signal(int)  # +1 / -1

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoomed.emit(1 if event.angleDelta().y() > 0 else -1)
        else:
            super().wheelEvent(event)


class ConfusionPanel(QWidget):
    open_photo = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.heatmap = Heatmap()
        self.area = ZoomArea(self)
        self.area.setWidget(self.heatmap)
        self.area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.zoom = QSlider(Qt.Orientation.Horizontal, self)
        self.zoom.setRange(2, 24)
        self.zoom.setValue(5)
        self.zoom.setToolTip("Zoom (or Ctrl + mouse wheel over the matrix)")
        self.zoom.valueChanged.connect(self.heatmap.set_cell_size)
        self.area.zoomed.connect(lambda step: self.zoom.setValue(self.zoom.value() + 2 * step))
        self.pairs = QListWidget(self)
        self.pairs.setAccessibleName("Most confused pairs")
        self.pairs.itemClicked.connect(self._pair_clicked)
        self.gallery = Gallery("Click a cell of the matrix or a pair to see its photos.", self)
        self.gallery.open_photo.connect(self.open_photo)
        self.heatmap.cell_clicked.connect(self.show_cell)
        self.ev = None

        left = QWidget(self)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        zoom_row = QHBoxLayout()
        zoom_row.addWidget(QLabel("True breed (rows) × predicted breed (columns)  ·  zoom"))
        zoom_row.addWidget(self.zoom, 1)
        lv.addLayout(zoom_row)
        lv.addWidget(self.area, 1)
        right = QSplitter(Qt.Orientation.Vertical, self)
        box = QWidget(right)
        bv = QVBoxLayout(box)
        bv.setContentsMargins(0, 0, 0, 0)
        bv.addWidget(QLabel("Most confused (true → predicted)"))
        bv.addWidget(self.pairs, 1)
        right.addWidget(box)
        right.addWidget(self.gallery)
        right.setStretchFactor(1, 2)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        QHBoxLayout(self).addWidget(split)

    def set_evaluation(self, ev, counts: np.ndarray) -> None:
        self.ev = ev
        self.heatmap.set_data(counts, ev.class_names)
        n = max(1, counts.shape[0])
        self.zoom.setValue(max(2, min(24, 640 // n)))  # the whole matrix visible at first
        self.pairs.clear()
        for p in metrics.most_confused(counts, PAIRS):
            item = QListWidgetItem(f"{p.count}  {ev.class_names[p.true]} → {ev.class_names[p.predicted]}")
            item.setData(Qt.ItemDataRole.UserRole, (p.true, p.predicted))
            self.pairs.addItem(item)
        self.gallery.show_records("Click a cell of the matrix or a pair to see its photos", [], ev.class_names)

    def _pair_clicked(self, item: QListWidgetItem) -> None:
        true, predicted = item.data(Qt.ItemDataRole.UserRole)
        self.heatmap.selected = (true, predicted)
        self.heatmap.update()
        self.area.ensureVisible(*self.heatmap.cell_rect(true, predicted).center().toTuple(), 50, 50)
        self.show_cell(true, predicted)

    def show_cell(self, true: int, predicted: int) -> None:
        if self.ev is None:
            return
        names = self.ev.class_names
        photos = analysis.photos_for(self.ev, true, predicted)
        self.gallery.show_records(f"{names[true]} predicted as {names[predicted]}: {len(photos)} photo"
                                  f"{'s' * (len(photos) != 1)}", photos, names)

    def shutdown(self) -> bool:
        return self.gallery.shutdown()
