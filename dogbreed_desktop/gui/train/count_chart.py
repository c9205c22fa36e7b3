"""The preflight's images-per-class chart, readable at any class count and any size.

Up to MAX_NAMED classes: a bar per class, most first, its name under it (shortened to its bar's width). More
(120 breeds): a bar per image count, "how many classes have n images"; bar-per-class names could only
overlap there. The fewest and the most are named in a line under the chart whenever names are not all shown.
Ticks are re-spaced whenever the plot's size changes (plots.spaced_ticks), so no two labels ever sit on each
other.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..theme import ACCENT
from .plots import nice_step, plot_widget, set_axis_labels, spaced_ticks, tick_text

MAX_NAMED = 12
MAX_BINS = 30  # a histogram with more distinct counts groups them in bins of 2, 5, 10... images


def histogram(counts: list[int]) -> tuple[int, list[int], list[int]]:
    """(bin width, each bin's lowest count, classes in it) for the non-empty bins."""
    lo, hi = min(counts), max(counts)
    width = int(nice_step((hi - lo + 1) / MAX_BINS, whole=True))
    bins: dict[int, int] = {}
    for c in counts:
        start = c - (c - lo) % width
        bins[start] = bins.get(start, 0) + 1
    starts = sorted(bins)
    return width, starts, [bins[s] for s in starts]


class CountChart(QWidget):
    """Images per class (BarGraphItem created once, updated with setOpts)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = plot_widget(self, "", "images", "classes")
        self.plot.setMinimumHeight(80)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=ACCENT, pen=None)
        self.plot.addItem(self.bars)
        self.caption = QLabel(self)
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.caption.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.caption)
        self.counts: dict[str, int] = {}
        self.names: list[str] = []  # per-class mode: the bars' classes, most first
        self.bins: tuple[int, list[int], list[int]] | None = None  # histogram mode
        self.laid_out_for: tuple[float, float] | None = None  # the plot size the ticks were chosen for
        self.plot.getPlotItem().getViewBox().sigResized.connect(self._relabel)

    @property
    def per_class(self) -> bool:
        return self.bins is None

    def set_counts(self, counts: dict[str, int]) -> None:
        self.counts = dict(counts)
        names = sorted(counts, key=lambda c: (-counts[c], c))
        self.names, self.bins = (names, None) if len(names) <= MAX_NAMED else ([], histogram(list(counts.values())))
        if self.per_class:
            set_axis_labels(self.plot, "images", "")  # the names say what the bars are
            # pyqtgraph sizes the axis to 0.8 of the text's height, counting on the label below for the rest
            self.plot.getPlotItem().getAxis("bottom").setHeight(QFontMetrics(self.plot.font()).height() + 4)
            self.bars.setOpts(x=list(range(len(names))), height=[counts[c] for c in names], width=0.8)
            self.plot.setXRange(-0.6, max(1, len(names)) - 0.4, padding=0)
            top = max(counts.values(), default=1)
        else:
            width, starts, classes = self.bins
            set_axis_labels(self.plot, "classes", "images per class")
            self.plot.getPlotItem().getAxis("bottom").setHeight(None)
            self.bars.setOpts(x=[s + (width - 1) / 2 for s in starts], height=classes, width=0.8 * width)
            self.plot.setXRange(starts[0] - 0.6, starts[-1] + width - 0.4, padding=0)
            top = max(classes)
        self.caption.setText(self._extremes(names) if names else "")
        self.plot.setYRange(0, top * 1.1, padding=0)
        self.setToolTip(f"most: {names[0]} ({counts[names[0]]}), fewest: {names[-1]} ({counts[names[-1]]})"
                        if names else "")
        self._relabel()

    def _extremes(self, names: list[str]) -> str:
        c = self.counts
        if c[names[0]] == c[names[-1]]:
            return f"Every class has {c[names[0]]} images."
        return f"Fewest: {names[-1]} ({c[names[-1]]}) · most: {names[0]} ({c[names[0]]})"

    def _relabel(self) -> None:
        """Ticks for the plot's current size: names that fit their bar, numbers that keep their distance."""
        vb = self.plot.getPlotItem().getViewBox()
        fm = QFontMetrics(self.plot.font())
        (x0, x1), (_, y1) = vb.viewRange()
        bottom = self.plot.getPlotItem().getAxis("bottom")
        if self.per_class:
            slot = vb.width() / max(1, len(self.names))
            ticks = [(i, fm.elidedText(n, Qt.TextElideMode.ElideRight, int(slot) - 6))
                     for i, n in enumerate(self.names)]
            bottom.setTicks([ticks])
            self.caption.setVisible(any(t != n for (_, t), n in zip(ticks, self.names)))  # shortened: named here
        else:
            gap = fm.horizontalAdvance(tick_text(x1)) + 2 * fm.averageCharWidth()
            bottom.setTicks([[(v, tick_text(v)) for v in spaced_ticks(max(0, x0), x1, vb.width(), gap, whole=True)]])
            self.caption.setVisible(True)
        top = max(1.0, round(y1 / 1.1))
        per_unit, gap = vb.height() / max(y1, 1e-9), 1.25 * fm.height()
        left = spaced_ticks(0, top, top * per_unit, gap, whole=True)
        if (top - left[-1]) * per_unit >= gap:
            left.append(top)  # the tallest bar's value too, where it fits
        self.plot.getPlotItem().getAxis("left").setTicks([[(v, tick_text(v)) for v in left]])
        self.laid_out_for = (vb.width(), vb.height())

    def settled(self) -> bool:
        """The ticks were chosen for the plot's present size (for tests: layouts settle a few events later)."""
        vb = self.plot.getPlotItem().getViewBox()
        return self.laid_out_for == (vb.width(), vb.height())
