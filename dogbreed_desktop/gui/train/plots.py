"""Shared look for the Train tab's pyqtgraph plots: the window's colours (restyled live when the system
switches light/dark), light grid, no menus. Curve colours come from gui/theme.py.

pyqtgraph always draws its first level of tick labels, even when they collide (a short plot, a long name):
`spaced_ticks` picks round ticks far enough apart for their text, for axes that must stay readable at any size."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QWidget

from ..theme import colors, on_palette_change


def plot_widget(parent: QWidget | None, title: str, left: str, bottom: str) -> pg.PlotWidget:
    w = pg.PlotWidget(parent)
    item = w.getPlotItem()
    item.setMenuEnabled(False)
    item.hideButtons()
    item.showGrid(x=True, y=True, alpha=0.15)
    for name in ("left", "bottom"):
        item.getAxis(name).enableAutoSIPrefix(False)  # "0.45", not "450 (x0.001)"
    w.title_keys = (title, [])
    w.axis_labels = (left, bottom)
    w.setAccessibleName(f"{title} plot" if title else f"Plot of {left} by {bottom}")
    w.setMouseEnabled(x=False, y=False)
    w.setMinimumHeight(140)
    _style(w)
    on_palette_change(w, lambda: _style(w))
    return w


def set_axis_labels(w: pg.PlotWidget, left: str, bottom: str) -> None:
    w.axis_labels = (left, bottom)
    _style(w)


def nice_step(raw: float, whole: bool = False) -> float:
    """The smallest 1, 2 or 5 x 10^k at least `raw` (at least 1 when `whole`)."""
    if raw <= 0:
        return 1.0
    base = 10 ** math.floor(math.log10(raw))
    step = next(m * base for m in (1, 2, 5, 10) if m * base >= raw * (1 - 1e-9))
    return max(1, round(step)) if whole else step


def spaced_ticks(lo: float, hi: float, pixels: float, min_gap: float, whole: bool = False) -> list[float]:
    """Round values in [lo, hi] at least `min_gap` pixels apart on an axis `pixels` long (whole numbers only
    when `whole`); at least one."""
    span = hi - lo
    if span <= 0 or pixels <= 0:
        return [lo]
    step = nice_step(span * min_gap / pixels, whole)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)] or [lo]


def tick_text(value: float) -> str:
    return f"{value:g}"


def titled(w: pg.PlotWidget, title: str, keys: list[tuple[str, str]]) -> None:
    """A title with its legend in it ("Loss  ● train  ● validation"): it never covers a curve.
    `keys` are (label, theme.Colors field) pairs."""
    w.title_keys = (title, list(keys))
    w.setAccessibleName(f"{title} plot")
    _title(w)


def _style(w: pg.PlotWidget) -> None:
    left, bottom = w.axis_labels
    pal = w.palette()
    text = pal.color(QPalette.ColorRole.WindowText)
    w.setBackground(pal.color(QPalette.ColorRole.Base))
    item = w.getPlotItem()
    for name, label in (("left", left), ("bottom", bottom)):
        axis = item.getAxis(name)
        axis.setLabel(label, color=text.name())
        axis.showLabel(bool(label))  # an empty label would still take a line
        axis.setPen(pg.mkPen(QColor(text.red(), text.green(), text.blue(), 120)))
        axis.setTextPen(pg.mkPen(text))
    _title(w)


def _title(w: pg.PlotWidget) -> None:
    title, keys = w.title_keys
    text = w.palette().color(QPalette.ColorRole.WindowText).name()
    if not keys:
        w.getPlotItem().setTitle(title, color=text, size="10pt")
        return
    theme = colors(w.palette())
    parts = "&nbsp;&nbsp;".join(f"<span style='color:{theme.css(field)}'>{'★' if n == 'best' else '●'}</span>"
                                f"&nbsp;{n}" for n, field in keys)
    w.getPlotItem().setTitle(f"<b>{title}</b>&nbsp;&nbsp;&nbsp;{parts}", color=text, size="9pt")


class Placeholder(QLabel):
    """Words in the middle of an empty plot ("appears once a run starts"), kept centred as the plot resizes."""

    def __init__(self, plot: QWidget, text: str):
        super().__init__(text, plot)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        plot.installEventFilter(self)
        self._fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._fit()
        return False

    def _fit(self) -> None:
        self.setGeometry(self.parentWidget().rect().adjusted(24, 24, -24, -24))
