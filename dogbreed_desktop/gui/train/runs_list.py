"""Earlier runs in the runs folder: status and accuracy; show their curves, resume them, use their model."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox, QHBoxLayout, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget,
)

class RunsList(QGroupBox):
    show_run = Signal(object)  # training.runfolder.RunInfo
    resume_run = Signal(str)  # run folder
    use_model = Signal(str)  # run folder
    evaluate_run = Signal(str)  # run folder: open it in the Evaluate view

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Earlier runs", parent)
        self.list = QListWidget(self)
        self.list.setAlternatingRowColors(True)
        self.list.currentItemChanged.connect(self._selected)
        self.list.itemDoubleClicked.connect(lambda item: self._use())
        self.resume_button = QPushButton("Resume", self)
        self.resume_button.setToolTip("Continue a stopped or interrupted run from its last checkpoint")
        self.use_button = QPushButton("Use model", self)
        self.evaluate_button = QPushButton("Evaluate", self)
        self.evaluate_button.setToolTip("Where the run's model fails, on its own validation photos")
        self.evaluate_button.clicked.connect(self._evaluate)
        refresh = QPushButton("Refresh", self)
        self.resume_button.clicked.connect(self._resume)
        self.use_button.clicked.connect(self._use)
        refresh.clicked.connect(self.refresh)
        buttons = QHBoxLayout()
        buttons.addWidget(refresh)
        buttons.addStretch(1)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.evaluate_button)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.root: Path | None = None
        self.busy = False
        self.can_resume = True  # False in the classify-only build: no training there
        self._selected(None, None)

    def set_root(self, root: Path) -> None:
        self.root = Path(root)
        self.refresh()

    def refresh(self, select: str | None = None) -> None:
        from training.runfolder import RunStatus, list_runs  # torch-free: reads JSON and CSV files

        current = select or (self.current().path.name if self.current() else None)
        self.list.clear()
        for info in list_runs(self.root) if self.root else []:
            top1 = info.best_top1()
            acc = f" · top-1 {top1:.1%}" if top1 is not None else ""
            mode = info.config.get("mode", "?")
            item = QListWidgetItem(f"{info.name}\n    {info.config.get('backbone', '?')} {mode} · "
                                   f"{RunStatus.describe(info.status)}{acc}")
            item.setData(Qt.ItemDataRole.UserRole, info)
            item.setToolTip(f"{info.path}\n{info.reason}")
            self.list.addItem(item)
            if info.name == current:
                self.list.setCurrentItem(item)

    def current(self):
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self._selected(self.list.currentItem(), None)

    def set_can_resume(self, can: bool) -> None:
        self.can_resume = can
        self._selected(self.list.currentItem(), None)

    def _selected(self, item, _previous) -> None:
        info = item.data(Qt.ItemDataRole.UserRole) if item else None
        self.resume_button.setEnabled(bool(info and info.can_resume and self.can_resume and not self.busy))
        self.use_button.setEnabled(bool(info and info.has_model))
        self.evaluate_button.setEnabled(bool(info and info.has_model))
        if info is not None:
            self.show_run.emit(info)

    def _resume(self) -> None:
        info = self.current()
        if info is not None:
            self.resume_run.emit(str(info.path))

    def _use(self) -> None:
        info = self.current()
        if info is not None and info.has_model:
            self.use_model.emit(str(info.path))

    def _evaluate(self) -> None:
        info = self.current()
        if info is not None and info.has_model:
            self.evaluate_run.emit(str(info.path))
