"""The selected photo, large, beside its verdict line and the top-k bar chart (k chosen here)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QImage
from PySide6.QtWidgets import (QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout,
                               QWidget)

from .breed_chart import BreedChart
from .results_model import DONE, FAILED, Row
from .theme import colors, on_palette_change
from .verdict import NOT_A_DOG, UNKNOWN_BREED, is_sure, ranked, verdict_line

TOP_K_CHOICES = (3, 5, 10, 0)  # 0: all classes


class VerdictPanel(QWidget):
    top_k_changed = Signal(int)
    why_toggled = Signal(bool)

    def __init__(self, photo_view: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.photo = photo_view
        self.chart = BreedChart()
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.45)
        font.setBold(True)
        self.verdict.setFont(font)
        self.top_k = QComboBox()
        for k in TOP_K_CHOICES:
            self.top_k.addItem(f"Top {k}" if k else "All breeds", k)
        self.top_k.setCurrentIndex(1)
        self.top_k.setAccessibleName("How many breeds to show")
        self.top_k.currentIndexChanged.connect(lambda _: self.top_k_changed.emit(self.k))
        scroll = QScrollArea()
        scroll.setWidget(self.chart)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.viewport().setAutoFillBackground(False)  # the bars sit on the window, not on a grey well
        self.chart.setAutoFillBackground(False)
        self.scroll = scroll
        header = QHBoxLayout()
        self.chart_title = QLabel("Most likely breeds")
        header.addWidget(self.chart_title)
        header.addStretch()
        header.addWidget(self.top_k)
        self.why = QPushButton("Why?")
        self.why.setCheckable(True)
        self.why.setToolTip("Show where the model looked to name the top breed")
        self.why.toggled.connect(self.why_toggled)
        right = QVBoxLayout()
        right.addLayout(header)
        right.addWidget(scroll, 1)
        body = QHBoxLayout()
        body.addWidget(photo_view, 5)
        body.addLayout(right, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        top = QHBoxLayout()
        top.addWidget(self.verdict, 1)
        top.addWidget(self.why, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        self._row: Row | None = None
        self._names: tuple[str, ...] = ()
        self._tone: str | None = None  # a theme.Colors field: resolved against the palette when shown
        on_palette_change(self, self._paint_tone)

    @property
    def k(self) -> int:
        return self.top_k.currentData() or len(self._names) or 120

    def set_class_count(self, n: int) -> None:
        self.top_k.setItemText(len(TOP_K_CHOICES) - 1, f"All {n}")

    def set_photo(self, image: QImage, fitted: QImage, error: str = "") -> None:
        self.photo.set_image(image, fitted) if not image.isNull() else self.photo.set_message(error)

    def show_row(self, row: Row | None, names: tuple[str, ...]) -> None:
        """Verdict and chart for one row (None: nothing selected)."""
        self._row, self._names = row, names
        if row is None:
            return self._say("", None, [])
        if row.state == FAILED:
            return self._say(f"Could not read this file: {row.error}", "error_text", [])
        if row.state != DONE or not names:
            return self._say("Classifying…", None, [])
        p = row.probabilities
        scores = [(names[i], p[i]) for i in ranked(p, self.k)]
        # no dog, or a dog outside the classes: the breed chart stays, greyed, as the evidence it is not
        greyed = row.verdict in (NOT_A_DOG, UNKNOWN_BREED)
        tone = {NOT_A_DOG: "no_dog_text", UNKNOWN_BREED: "unknown_breed_text"}.get(
            row.verdict, "sure_text" if is_sure(row.verdict) else "unsure_text")
        self._say(verdict_line(p, names, row.verdict, row.looks_like), tone, scores, greyed=greyed,
                  sure=is_sure(row.verdict))

    def refresh(self) -> None:
        self.show_row(self._row, self._names)

    def show_message(self, text: str) -> None:
        self._row = None
        self._say(text, None, [])

    @property
    def row(self) -> Row | None:
        """The row shown (None: nothing selected)."""
        return self._row

    def _say(self, text: str, tone: str | None, scores, greyed: bool = False, sure: bool = True) -> None:
        self.verdict.setText(text)
        self._tone = tone
        self._paint_tone()
        # No dog, or not a breed it knows: the breeds stay visible but greyed, under a title that says what they mean.
        title = {"no_dog_text": "If it were a dog, it would be…", "unknown_breed_text": "Nearest breeds it knows"}
        self.chart_title.setText(title.get(tone, "Most likely breeds") if greyed else "Most likely breeds")
        self.chart.set_greyed(greyed)
        self.chart.set_scores(scores, sure)

    def _paint_tone(self) -> None:
        sheet = f"color: {colors(self.palette()).css(self._tone)}" if self._tone else ""
        if self.verdict.styleSheet() != sheet:
            self.verdict.setStyleSheet(sheet)
