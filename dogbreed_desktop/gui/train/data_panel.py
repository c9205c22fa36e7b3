"""Pick the labelled folder and see what is in it: the preflight summary and the images-per-class chart."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from .. import settings
from ..theme import colors, on_palette_change
from .count_chart import CountChart


class DataPanel(QGroupBox):
    """Emits `folder_chosen(path)`; the tab runs the preflight and calls `show_report` / `show_error`."""

    folder_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Data", parent)
        self.path_edit = QLineEdit(self)
        self.path_edit.setPlaceholderText("labels.csv + train/, a folder per class, or train/ + test/")
        self.path_edit.setAccessibleName("Folder of labelled photos")
        self.path_edit.returnPressed.connect(lambda: self.folder_chosen.emit(self.path_edit.text().strip()))
        browse = QPushButton("Choose…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.summary = QLabel("Choose a folder of labelled photos.", self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chart = CountChart(self)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.chart, 1)
        self.report = None
        self._error = ""
        on_palette_change(self, self._rerender)

    def _rerender(self) -> None:
        """Rich text has its colours baked in: render it again for the new palette."""
        if self.report is not None:
            self.show_report(self.report)
        elif self._error:
            self.show_error(self._error)

    def _browse(self) -> None:
        start = self.path_edit.text() or settings.dialog_dir("train-data")
        folder = QFileDialog.getExistingDirectory(self, "Folder of labelled photos", start)
        if folder:
            settings.remember_dialog("train-data", Path(folder).parent)
            self.set_folder(folder)

    def set_folder(self, folder: str) -> None:
        self.path_edit.setText(folder)
        self.folder_chosen.emit(folder)

    def show_checking(self, done: int = 0, total: int = 0) -> None:
        self.report, self._error = None, ""
        self.summary.setText(f"Checking images… {done} / {total}" if total else "Checking images…")

    def show_report(self, report) -> None:
        self.report, self._error = report, ""
        counts = report.counts()
        lo, hi = min(counts.values(), default=0), max(counts.values(), default=0)
        lines = [f"<b>{len(report.samples):,}</b> images in <b>{len(counts)}</b> classes "
                 f"({lo}–{hi} per class) · layout: {report.layout}"]
        warn = colors(self.palette()).css("warning_text")
        lines += [f"<span style='color:{warn}'>⚠ {p}</span>" for p in report.problems()]
        self.summary.setText("<br>".join(lines))
        self.chart.set_counts(counts)

    def show_error(self, message: str) -> None:
        self.report, self._error = None, message
        self.summary.setText(f"<span style='color:{colors(self.palette()).css('error_text')}'>{message}</span>")
        self.chart.set_counts({})
