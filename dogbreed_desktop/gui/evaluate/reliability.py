"""The reliability diagram: accuracy against confidence per bin, the photo count over each bar, the diagonal
of perfect calibration, and the temperature the model applies."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ...core.evaluate.report import analysis
from ..theme import colors, on_palette_change
from ..train.plots import plot_widget


class ReliabilityPlot(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.caption = QLabel(self)
        self.caption.setWordWrap(True)
        self.plot = plot_widget(self, "Accuracy per confidence bin", "accuracy", "confidence (top probability)")
        self.plot.setXRange(0, 1, padding=0.02)
        self.plot.setYRange(0, 1.1, padding=0)
        self.diagonal = self.plot.plot([0, 1], [0, 1])
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.09)
        self.plot.addItem(self.bars)
        self._apply_colors()
        on_palette_change(self, self._apply_colors)
        self.labels: list[pg.TextItem] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.bins: list = []

    def _apply_colors(self) -> None:
        """From the theme, again whenever the system turns light or dark."""
        c = colors(self.palette())
        self.text = self.palette().color(QPalette.ColorRole.WindowText)
        self.diagonal.setPen(pg.mkPen(c.reference, width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.bars.setOpts(brush=c.train)
        for label in getattr(self, "labels", []):
            label.setColor(self.text)

    def set_evaluation(self, ev) -> None:
        self.bins = analysis.reliability(ev)
        width = self.bins[0].hi - self.bins[0].lo
        xs = [(b.lo + b.hi) / 2 for b in self.bins]
        heights = [0.0 if math.isnan(b.accuracy) else b.accuracy for b in self.bins]
        self.bars.setOpts(x=xs, height=heights, width=width * 0.9)
        while len(self.labels) < len(self.bins):  # made once, then updated: creating items is the slow part
            label = pg.TextItem("", anchor=(0.5, 1.0), color=self.text)
            self.plot.addItem(label)
            self.labels.append(label)
        for label, x, h, b in zip(self.labels, xs, heights, self.bins):
            label.setText(str(b.count) if b.count else "")
            label.setPos(x, h + 0.01)
        ece = analysis.expected_calibration_error(ev)
        self.caption.setText(
            f"Temperature in use: <b>{ev.temperature:.3g}</b> (probabilities = softmax(logits / T)) · "
            f"ECE {ece:.3f}. Bars under the dashed line: the model is over-confident there; numbers are photos.")
