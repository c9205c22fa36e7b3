"""Shared look for the Train tab's pyqtgraph plots: the window's colours (restyled live when the system
switches light/dark), light grid, no menus. Curve colours come from gui/theme.py."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

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
    w.setAccessibleName(f"{title} plot" if title else f"Plot of {left} by {bottom}")
    w.setMouseEnabled(x=False, y=False)
    w.setMinimumHeight(140)
    _style(w, left, bottom)
    on_palette_change(w, lambda: _style(w, left, bottom))
    return w


def titled(w: pg.PlotWidget, title: str, keys: list[tuple[str, str]]) -> None:
    """A title with its legend in it ("Loss  ● train  ● validation"): it never covers a curve.
    `keys` are (label, theme.Colors field) pairs."""
    w.title_keys = (title, list(keys))
    w.setAccessibleName(f"{title} plot")
    _title(w)


def _style(w: pg.PlotWidget, left: str, bottom: str) -> None:
    pal = w.palette()
    text = pal.color(QPalette.ColorRole.WindowText)
    w.setBackground(pal.color(QPalette.ColorRole.Base))
    item = w.getPlotItem()
    for name, label in (("left", left), ("bottom", bottom)):
        axis = item.getAxis(name)
        axis.setLabel(label, color=text.name())
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
