"""The confusion matrix as a zoomable heatmap: true breeds as rows, predictions as columns, one pixel block per
cell, log colour scale so single mistakes show next to a full diagonal. Hover names both breeds and the count;
a click emits the cell."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from ..theme import HEATMAP_COLORMAP, colors, on_palette_change


def _lut() -> np.ndarray:
    """256 RGB colours of the theme's heatmap map (viridis, as matplotlib's figure in the HTML report)."""
    import pyqtgraph as pg

    return np.asarray(pg.colormap.get(HEATMAP_COLORMAP).getLookupTable(nPts=256, alpha=False), dtype=np.uint8)[:, :3]


def render(counts: np.ndarray, empty: QColor) -> QImage:
    """One pixel per cell, RGB32; empty cells in the theme's empty-cell colour."""
    n = counts.shape[0]
    top = max(1, int(counts.max())) if counts.size else 1
    level = np.zeros(counts.shape, dtype=np.int64)
    nz = counts > 0
    level[nz] = 1 + np.round(254 * np.log(counts[nz]) / max(np.log(top), 1e-9)).astype(np.int64)
    rgb = _lut()[np.clip(level, 0, 255)]
    rgb[~nz] = (empty.red(), empty.green(), empty.blue())
    argb = np.empty((n, n, 4), dtype=np.uint8)
    argb[..., 0], argb[..., 1], argb[..., 2], argb[..., 3] = rgb[..., 2], rgb[..., 1], rgb[..., 0], 255
    return QImage(argb.tobytes(), n, n, 4 * n, QImage.Format.Format_RGB32).copy()


class Heatmap(QWidget):
    cell_clicked = Signal(int, int)  # true class, predicted class

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setAccessibleName("Confusion matrix")
        self.counts = np.zeros((0, 0), dtype=np.int64)
        self.names: list[str] = []
        self.image = QImage()
        self.cell = 5  # pixels per cell (the zoom)
        self.selected: tuple[int, int] | None = None
        self._hover: tuple[int, int] | None = None
        on_palette_change(self, self._recolour)

    def _recolour(self) -> None:
        """Empty cells take the new palette's colour when the system turns light or dark."""
        if self.counts.size:
            self.image = render(self.counts, colors(self.palette()).empty_cell)
            self.update()

    def set_data(self, counts: np.ndarray, names: list[str]) -> None:
        self.counts, self.names, self.selected = counts, list(names), None
        self.image = render(counts, colors(self.palette()).empty_cell)
        self._resize()

    def set_cell_size(self, pixels: int) -> None:
        self.cell = max(1, int(pixels))
        self._resize()

    def _resize(self) -> None:
        side = self.counts.shape[0] * self.cell
        self.setFixedSize(max(side, 1), max(side, 1))
        self.update()

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        n = self.counts.shape[0]
        row, col = pos.y() // self.cell, pos.x() // self.cell
        return (row, col) if 0 <= row < n and 0 <= col < n else None

    def cell_rect(self, true: int, predicted: int) -> QRect:
        return QRect(predicted * self.cell, true * self.cell, self.cell, self.cell)

    def paintEvent(self, event) -> None:
        if self.image.isNull():
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # crisp blocks at any zoom
        p.drawImage(self.rect(), self.image)
        if self._hover is not None:  # the hovered row and column, faintly
            r, c = self._hover
            shade = colors(self.palette()).hover_shade
            p.fillRect(QRect(0, r * self.cell, self.width(), self.cell), shade)
            p.fillRect(QRect(c * self.cell, 0, self.cell, self.height()), shade)
        if self.selected is not None:
            p.setPen(QPen(colors(self.palette()).best, 2))
            p.drawRect(self.cell_rect(*self.selected).adjusted(-1, -1, 1, 1))
        p.end()

    def mouseMoveEvent(self, event) -> None:
        cell = self.cell_at(event.position().toPoint())
        if cell != self._hover:
            self._hover = cell
            self.update()
        if cell is not None:
            t, pr = cell
            QToolTip.showText(event.globalPosition().toPoint(), self.tooltip(t, pr), self)

    def tooltip(self, true: int, predicted: int) -> str:
        n = int(self.counts[true, predicted])
        return f"true: {self.names[true]}\npredicted: {self.names[predicted]}\n{n} photo{'s' * (n != 1)}"

    def leaveEvent(self, event) -> None:
        self._hover = None
        self.update()

    def mousePressEvent(self, event) -> None:
        cell = self.cell_at(event.position().toPoint())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.selected = cell
            self.update()
            self.cell_clicked.emit(*cell)
