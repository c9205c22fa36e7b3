"""Shared look for the Train tab's pyqtgraph plots: the window's colours, light grid, no menus."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

ACCENT = "#e0782a"  # the app icon's orange: validation
TRAIN = "#3a7bd5"  # training
SECOND = "#2e9e6a"  # top-5
BEST = "#c0392b"


def plot_widget(parent: QWidget | None, title: str, left: str, bottom: str) -> pg.PlotWidget:
    pal = parent.palette() if parent is not None else QPalette()
    base = pal.color(QPalette.ColorRole.Base)
    text = pal.color(QPalette.ColorRole.WindowText)
    w = pg.PlotWidget(parent, background=base)
    item = w.getPlotItem()
    item.setTitle(title, color=text.name(), size="10pt")
    item.setMenuEnabled(False)
    item.hideButtons()
    item.showGrid(x=True, y=True, alpha=0.15)
    for name, label in (("left", left), ("bottom", bottom)):
        axis = item.getAxis(name)
        axis.enableAutoSIPrefix(False)  # "0.45", not "450 (x0.001)"
        axis.setLabel(label, color=text.name())
        axis.setPen(pg.mkPen(QColor(text.red(), text.green(), text.blue(), 120)))
        axis.setTextPen(pg.mkPen(text))
    w.setMouseEnabled(x=False, y=False)
    w.setMinimumHeight(140)
    return w


def titled(w: pg.PlotWidget, title: str, keys: list[tuple[str, str]]) -> None:
    """A title with its legend in it ("Loss  ● train  ● validation"): it never covers a curve."""
    text = w.palette().color(QPalette.ColorRole.WindowText).name()
    parts = "&nbsp;&nbsp;".join(f"<span style='color:{color}'>{mark}</span>&nbsp;{name}" for name, color, mark in
                                [(n, c, "★" if n == "best" else "●") for n, c in keys])
    w.getPlotItem().setTitle(f"<b>{title}</b>&nbsp;&nbsp;&nbsp;{parts}", color=text, size="9pt")
