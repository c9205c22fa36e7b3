"""Live training curves: loss (train within and per epoch, validation) and validation accuracy, with the best
epoch marked by a vertical line and a star. Items are created once and updated with `setData`.

Until a run has a point to draw, each plot says so in words and its axes show no numbers (an empty 0-1 grid
would read as a measurement)."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..theme import colors, on_palette_change
from .plots import Placeholder, plot_widget, titled


def _finite(xs, ys):
    pts = [(x, y) for x, y in zip(xs, ys) if y is not None and not math.isnan(y)]
    return [p[0] for p in pts], [p[1] for p in pts]


class CurvesPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.loss_plot = plot_widget(self, "", "cross-entropy", "epoch")
        self.acc_plot = plot_widget(self, "", "%", "epoch")
        self.acc_plot.setXLink(self.loss_plot)
        titled(self.loss_plot, "Loss", [("train", "train"), ("validation", "accent"), ("best", "best")])
        titled(self.acc_plot, "Validation accuracy", [("top-1", "accent"), ("top-5", "second"), ("best", "best")])
        # Items are made once; their colours come from the theme and change with it (_apply_colors).
        self.batch_curve = self.loss_plot.plot([], [])
        self.batch_curve.setOpacity(0.45)
        self.train_curve = self.loss_plot.plot([], [], symbol="o", symbolSize=5)
        self.val_curve = self.loss_plot.plot([], [], symbol="o", symbolSize=5)
        self.top1_curve = self.acc_plot.plot([], [], symbol="o", symbolSize=5)
        self.top5_curve = self.acc_plot.plot([], [])
        self.best_star = self.loss_plot.plot([], [], pen=None, symbol="star", symbolSize=16)
        self.best_star_acc = self.acc_plot.plot([], [], pen=None, symbol="star", symbolSize=16)
        self.placeholders = {self.loss_plot: Placeholder(self.loss_plot, "The loss appears here once a run starts"),
                             self.acc_plot: Placeholder(self.acc_plot, "Accuracy appears after the first validation")}
        self._empty: dict[pg.PlotWidget, bool] = {}
        self.best_lines = []
        for plot in (self.loss_plot, self.acc_plot):
            line = pg.InfiniteLine(angle=90, movable=False)
            line.setVisible(False)
            plot.addItem(line)
            self.best_lines.append(line)
        self._apply_colors()
        on_palette_change(self, self._apply_colors)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.acc_plot, 1)
        self.reset()

    def _apply_colors(self) -> None:
        c = colors(self.palette())
        self.batch_curve.setPen(pg.mkPen(c.train, width=1))
        for curve, color in ((self.train_curve, c.train), (self.val_curve, c.accent), (self.top1_curve, c.accent)):
            curve.setPen(pg.mkPen(color, width=2))
            curve.setSymbolBrush(color)
            curve.setSymbolPen(None)
        self.top5_curve.setPen(pg.mkPen(c.second, width=2, style=Qt.PenStyle.DashLine))
        for star in (self.best_star, self.best_star_acc):
            star.setSymbolBrush(c.best)
            star.setSymbolPen(pg.mkPen(c.outline, width=0.5))
        for line in self.best_lines:
            line.setPen(pg.mkPen(c.best, width=1, style=Qt.PenStyle.DotLine))

    def _show_empty(self, plot: pg.PlotWidget, empty: bool) -> None:
        """The placeholder and no numbers on the axes while `plot` has nothing to draw."""
        if self._empty.get(plot) == empty:
            return  # restyling the axes on every batch would redraw them for nothing
        self._empty[plot] = empty
        self.placeholders[plot].setVisible(empty)
        for name in ("left", "bottom"):
            plot.getPlotItem().getAxis(name).setStyle(showValues=not empty)

    def is_empty(self, plot: pg.PlotWidget) -> bool:
        return self._empty[plot]

    def reset(self) -> None:
        self.rows: list[dict] = []
        self.batches: tuple[list[float], list[float]] = ([], [])
        self.best_epoch: int | None = None
        for curve in (self.batch_curve, self.train_curve, self.val_curve, self.top1_curve, self.top5_curve,
                      self.best_star, self.best_star_acc):
            curve.setData([], [])
        for line in self.best_lines:
            line.setVisible(False)
        for plot in self.placeholders:
            self._show_empty(plot, True)

    def add_batch(self, epoch: float, loss: float) -> None:
        """The train loss of the last few batches (x is fractional: 2.5 = half way through epoch 3)."""
        self.batches[0].append(epoch)
        self.batches[1].append(loss)
        self.batch_curve.setData(*self.batches)
        self._show_empty(self.loss_plot, False)

    def add_epoch(self, row: dict, best_epoch: int | None) -> None:
        self.rows = [r for r in self.rows if r["epoch"] < row["epoch"]] + [dict(row)]
        self.best_epoch = best_epoch
        self._redraw()

    def show_history(self, rows: list[dict], best_epoch: int | None = None) -> None:
        """A finished or earlier run's metrics.csv rows."""
        self.reset()
        self.rows = [dict(r) for r in rows]
        if best_epoch is None and rows:
            valid = [r for r in rows if not math.isnan(r["val_loss"])]
            best_epoch = min(valid, key=lambda r: r["val_loss"])["epoch"] if valid else None
        self.best_epoch = best_epoch
        self._redraw()

    def _redraw(self) -> None:
        ep = [r["epoch"] for r in self.rows]
        self.train_curve.setData(*_finite(ep, [r["train_loss"] for r in self.rows]))
        self.val_curve.setData(*_finite(ep, [r["val_loss"] for r in self.rows]))
        self.top1_curve.setData(*_finite(ep, [100 * r["val_top1"] for r in self.rows]))
        self.top5_curve.setData(*_finite(ep, [100 * r["val_top5"] for r in self.rows]))
        best = next((r for r in self.rows if r["epoch"] == self.best_epoch), None)
        for line in self.best_lines:
            line.setVisible(best is not None)
            if best is not None:
                line.setValue(best["epoch"])
        if best is not None:
            self.best_star.setData([best["epoch"]], [best["val_loss"]])
            self.best_star_acc.setData([best["epoch"]], [100 * best["val_top1"]])
        self._show_empty(self.loss_plot, not self.rows and not self.batches[0])
        self._show_empty(self.acc_plot, not self.acc_points())
        if self.rows or self.batches[0]:
            last = max(ep[-1] if ep else 0, self.batches[0][-1] if self.batches[0] else 0)
            self.loss_plot.setXRange(0, max(1, last), padding=0.04)
        accuracy = [v for r in self.rows for v in (100 * r["val_top1"], 100 * r["val_top5"]) if not math.isnan(v)]
        if accuracy:  # from a round number below the lowest point to 100 %, never a 99.6-100.4 % scale
            self.acc_plot.setYRange(max(0, 5 * math.floor((min(accuracy) - 1) / 5)), 100, padding=0.05)

    def acc_points(self) -> int:
        xs = self.top1_curve.getData()[0]
        return 0 if xs is None else len(xs)

    def points(self) -> int:
        """Epoch points on the validation curve (for tests and the status line)."""
        xs = self.val_curve.getData()[0]
        return 0 if xs is None else len(xs)
