"""What to evaluate and the controls: model (active, built-in, a run, a file), photos (a folder, or a run's own
validation photos), Evaluate / Cancel, progress with ETA, and Export report."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget,
)

from .. import settings

OTHER = "__other__"


def is_run_model(path: str | None) -> bool:
    if not path:
        return False
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    return (folder / "split.csv").is_file() and (folder / "config.json").is_file()


class SetupBar(QWidget):
    evaluate_clicked = Signal()
    cancel_clicked = Signal()
    export_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.models = QComboBox(self)
        self.models.setMinimumContentsLength(30)
        self.models.addItem("Built-in model", None)
        self.models.addItem("Other model file…", OTHER)
        self.models.activated.connect(self._model_chosen)
        self.data_label = QLabel(self)
        self.data_label.setWordWrap(True)
        self.folder_button = QPushButton("Photos folder…", self)
        self.folder_button.setToolTip("A labelled folder: labels.csv + train/, one folder per breed, or train/ + test/")
        self.val_button = QPushButton("Its validation photos", self)
        self.val_button.setToolTip("The validation split the run held out while training")
        self.run_button, self.cancel_button = QPushButton("Evaluate", self), QPushButton("Cancel", self)
        self.export_button = QPushButton("Export report…", self)
        self.export_button.setToolTip("One self-contained HTML page plus CSVs and PNG figures")
        self.progress, self.eta = QProgressBar(self), QLabel(self)
        self.folder_button.clicked.connect(self.choose_folder)
        self.val_button.clicked.connect(lambda: self.set_data(None))
        self.run_button.clicked.connect(self.evaluate_clicked)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.export_button.clicked.connect(self.export_clicked)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Model:"), 0, 0)
        grid.addWidget(self.models, 0, 1)
        grid.addWidget(QLabel("Photos:"), 1, 0)
        grid.addWidget(self.data_label, 1, 1)
        row = QHBoxLayout()
        for w in (self.folder_button, self.val_button, self.run_button, self.cancel_button):
            row.addWidget(w)
        grid.addLayout(row, 1, 2)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.eta)
        bottom.addWidget(self.export_button)
        grid.addLayout(bottom, 0, 2)
        grid.setColumnStretch(1, 1)
        self.data: str | None = ""
        self.set_data("")
        self.set_running(False)
        self.export_button.setEnabled(False)

    def model_path(self) -> str | None:
        return self.models.currentData()

    def set_model(self, path: str | None, label: str | None = None) -> None:
        """Select `path` (None: built-in), adding it to the list when new."""
        if path is None:
            self.models.setCurrentIndex(0)
        else:
            i = self.models.findData(str(path))
            if i < 0:
                self.models.insertItem(self.models.count() - 1, label or Path(path).name, str(path))
                i = self.models.count() - 2
            self.models.setCurrentIndex(i)
        self._model_changed()

    def set_data(self, folder: str | None) -> None:
        """A folder of labelled photos; None: the run's validation photos; "": none chosen yet."""
        self.data = folder
        if folder is None:
            self.data_label.setText("the run's own validation photos (held out while it trained)")
        else:
            self.data_label.setText(folder or "<i>choose a folder of labelled photos</i>")
        self.run_button.setEnabled(self.ready() and not self.cancel_button.isEnabled())

    def ready(self) -> bool:
        return self.data is None or bool(self.data)

    def set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        self.run_button.setEnabled(not running and self.ready())
        self.models.setEnabled(not running)
        self.progress.setVisible(running)
        self.progress.setValue(0)
        self.eta.setText("")
        self._since: tuple[float, int] | None = None

    def show_progress(self, done: int, total: int) -> None:
        """The ETA extrapolates from the photos done since the first report (model loading excluded)."""
        now = time.monotonic()
        if self._since is None:
            self._since = (now, done)
        start, first = self._since
        eta_s = (now - start) / (done - first) * (total - done) if done > first else None
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total} photos")
        if eta_s is not None:
            m, s = divmod(int(eta_s + 0.5), 60)
            self.eta.setText(f"about {m} min {s:02d} s left" if m else f"about {s} s left")

    def _model_chosen(self, index: int) -> None:
        if self.models.itemData(index) == OTHER:
            path, _ = QFileDialog.getOpenFileName(self, "Model to evaluate", settings.dialog_dir("model"),
                                                  "Dog Breed Studio models (*.safetensors);;All files (*)")
            if path:
                settings.remember_dialog("model", path)  # the same folder as File ▸ Open Model
                self.set_model(path)
            else:
                self.models.setCurrentIndex(0)
        self._model_changed()

    def _model_changed(self) -> None:
        run = is_run_model(self.model_path())
        self.val_button.setEnabled(run)
        if run and not self.data:
            self.set_data(None)
        elif not run and self.data is None:
            self.set_data("")

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder of labelled dog photos",
                                                  settings.dialog_dir("evaluate-data"))
        if folder:
            settings.remember_dialog("evaluate-data", Path(folder).parent)
            self.set_data(folder)
