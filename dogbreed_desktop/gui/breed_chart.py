"""Horizontal probability bars: breed name and percentage above each bar, best first. Drawn with QPainter so
names are never clipped by an axis and 120 rows scroll smoothly inside a QScrollArea."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from .theme import colors
from .verdict import percent


class BreedChart(QWidget):
    ROW = 38
    BAR = 12
    MARGIN = 8

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._rows: list[tuple[str, float]] = []
        self._greyed, self._sure = False, True
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(220)

    def set_scores(self, rows: list[tuple[str, float]], sure: bool = True) -> None:
        """(breed name, probability) pairs, best first; `sure`: the verdict is a breed (accent bars), not
        "unsure" (amber bars)."""
        self._rows, self._sure = list(rows), sure
        self.setFixedHeight(self.sizeHint().height())
        self.update()

    def set_greyed(self, greyed: bool) -> None:
        """Grey bars: the photo has no dog, the breeds are only what it would be if it were one."""
        self._greyed = greyed
        self.update()

    def is_greyed(self) -> bool:
        return self._greyed

    def clear(self) -> None:
        self.set_scores([])

    def names(self) -> list[str]:
        return [n for n, _ in self._rows]

    def values(self) -> list[float]:
        return [p for _, p in self._rows]

    def sizeHint(self) -> QSize:
        return QSize(320, 2 * self.MARGIN + self.ROW * len(self._rows))

    def paintEvent(self, event) -> None:
        if not self._rows:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text, muted = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.PlaceholderText)
        theme = colors(pal)
        track = theme.track
        top_color = theme.accent if self._sure else theme.unsure
        if self._greyed:
            top_color, text = QColor(muted), muted
        other = QColor(top_color)
        other.setAlpha(110)
        base, bold = QFont(self.font()), QFont(self.font())
        bold.setBold(True)
        width = self.width() - 2 * self.MARGIN
        visible = event.rect()
        for i, (name, prob) in enumerate(self._rows):
            y = self.MARGIN + i * self.ROW
            if y > visible.bottom() or y + self.ROW < visible.top():
                continue  # "all 120" in a scroll area: paint only what shows
            p.setFont(bold if i == 0 else base)
            p.setPen(text if i == 0 or prob >= 0.01 else muted)
            label_h = self.ROW - self.BAR - 6
            pct = percent(prob)
            pct_w = p.fontMetrics().horizontalAdvance(pct) + 8
            label = QRectF(self.MARGIN, y, width - pct_w, label_h)
            p.drawText(label, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       p.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, int(label.width())))
            p.drawText(QRectF(self.MARGIN + width - pct_w, y, pct_w, label_h),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, pct)
            bar = QRectF(self.MARGIN, y + label_h + 1, width, self.BAR)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(track)
            p.drawRoundedRect(bar, self.BAR / 2, self.BAR / 2)
            p.setBrush(top_color if i == 0 else other)
            filled = QRectF(bar.x(), bar.y(), max(self.BAR, width * prob), self.BAR)
            p.drawRoundedRect(filled, self.BAR / 2, self.BAR / 2)
        p.end()
