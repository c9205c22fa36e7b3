"""The Train tab: choose labelled photos, check them, train, watch the curves, stop early, use the model.

It only composes and routes: the widgets live in `gui/train/`, the preflight task in `gui/train/tasks.py` (on a
`TaskRunner`). Training itself runs as a child process (`gui/train/child.py`: `dogbreed-desktop train
--progress json`), so it runs as fast as the CLI and a crash in it leaves the window and its photos alone.
In the classify-only build (no torch) the tab says in one sentence that training needs the full build, and only
the earlier runs' curves, "Evaluate" and "Use model" stay usable.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QSplitter, QVBoxLayout, QWidget

from ..core.flavour import TRAINING, has_torch
from .train.curves import CurvesPanel
from .train.data_panel import DataPanel
from .tasks import TaskRunner
from .train.child import TrainChild
from .train.run_controls import RunControls, died_html, outcome_html
from .train.runs_list import RunsList
from .train.settings_panel import SettingsPanel
from .theme import colors
from .train.tasks import check


class TrainTab(QWidget):
    # Emitted with the path of a finished run's model when the user clicks "Use this model".
    use_model = Signal(str)
    # Emitted when a run ends: {"run_dir", "status", "reason", "best_epoch", "metrics", "model_path", "skipped"}.
    run_finished = Signal(dict)
    folder_chosen = Signal(str)  # a data folder the user chose (the window remembers it)
    evaluate_run = Signal(str)  # a run folder to evaluate (the runs list's "Evaluate")

    def __init__(self, parent: QWidget | None = None, runs_root: Path | None = None):
        super().__init__(parent)
        self.data = DataPanel(self)
        self.settings = SettingsPanel(self)
        self.controls = RunControls(self)
        self.curves = CurvesPanel(self)
        self.runs = RunsList(self)
        self.checker = TaskRunner("preflight", self)
        self.child = TrainChild(self)  # the training
        self._last_run: str | None = None
        self._checks_file: str | None = None  # the preflight's checks handed to the running child
        self.can_train = has_torch()
        self.unavailable: QLabel | None = None  # the classify-only build's sentence
        self._layout()
        if not self.can_train:
            for part in (self.data, self.settings, self.controls):
                part.setEnabled(False)
            self.runs.set_can_resume(False)

        self.data.folder_chosen.connect(self.check_folder)
        self.controls.start_clicked.connect(self.start)
        self.controls.stop_clicked.connect(self.stop)
        self.controls.use_clicked.connect(self._use_last)
        self.controls.resume_clicked.connect(self._resume_last)
        self.child.progress.connect(self.controls.show_progress)
        self.child.batch.connect(self.curves.add_batch)
        self.child.epoch.connect(self._epoch)
        self.child.done.connect(self._done)
        self.child.failed.connect(self._failed)
        self.child.died.connect(self._died)
        self.child.training_changed.connect(self._training_changed)
        self.runs.show_run.connect(self._show_run)
        self.runs.resume_run.connect(self.resume)
        self.runs.use_model.connect(self.use_model)
        self.runs.evaluate_run.connect(self.evaluate_run)
        self.data.folder_chosen.connect(self.folder_chosen)
        if runs_root is None:
            from ..paths import runs_dir

            runs_root = runs_dir()
        self.runs.set_root(runs_root)

    def _layout(self) -> None:
        left = QWidget(self)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.data, 1)
        column.addWidget(self.settings)
        column.addWidget(self.controls)
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.setObjectName("train_curves")  # the names are settings keys (window_state)
        right.addWidget(self.curves)
        right.addWidget(self.runs)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.setObjectName("train")
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([380, 620])
        outer = QVBoxLayout(self)
        if not self.can_train:
            self.unavailable = QLabel(f"<b>{TRAINING}</b> It classifies, evaluates and serves; earlier runs can "
                                      "still be evaluated and used.", self)
            self.unavailable.setObjectName("training_unavailable")
            self.unavailable.setWordWrap(True)
            self.unavailable.setFrameShape(QFrame.Shape.StyledPanel)
            self.unavailable.setMargin(8)
            self.unavailable.setAccessibleName(TRAINING)
            outer.addWidget(self.unavailable)
        outer.addWidget(split, 1)

    @property
    def training(self) -> bool:
        return self.child.training

    def check_folder(self, folder: str) -> None:
        """Run the preflight on `folder` (a newer request supersedes an older one)."""
        if not self.can_train:
            return
        self.controls.set_can_start(False)
        self.data.show_checking()
        self.checker.submit(check, folder, self.settings.overrides.get("per_class"), supersede=True,
                            on_progress=lambda _, done, total, __: self.data.show_checking(done, total),
                            on_done=self._report, on_error=lambda _, message: self.data.show_error(message))

    def _report(self, _, report) -> None:
        self.data.show_report(report)
        self.controls.set_can_start(report.ok and not self.training)

    def start(self) -> None:
        report = self.data.report
        if report is None or not report.ok or self.training or not self.can_train:
            return
        from training.runfolder import new_run_dir  # torch-free; the child makes the config

        settings = {"data": str(report.root), **self.settings.values()}
        run_dir = new_run_dir(self.runs.root, settings["backbone"])
        self._launch(str(run_dir), {**settings, "gpus": self.settings.gpus.value()}, self._write_checks(report))

    def _write_checks(self, report) -> str | None:
        """The preflight's per-file checks in a temporary file for the child, whose own preflight then reads
        only files changed since; None (it reads them all) when the file cannot be written."""
        from training.preflight import write_checks  # torch-free

        try:
            fd, path = tempfile.mkstemp(prefix="dogbreed-checks-", suffix=".json")
            os.close(fd)
            self._checks_file = path
            write_checks(report, Path(path))
        except OSError:  # a full or read-only temp folder: the child checks the files itself
            return None
        return path

    def resume(self, run_dir: str) -> None:
        """Continue a stopped or interrupted run; its curves so far stay and grow."""
        if not self.training and self.can_train:
            from training.runfolder import read_run  # torch-free

            info = read_run(Path(run_dir))
            self._launch(run_dir)
            if info is not None:
                self.curves.show_history(info.history, info.metrics.get("best_epoch"))

    def _launch(self, run_dir: str, settings: dict | None = None, checks: str | None = None) -> None:
        self.curves.reset()
        self._last_run = run_dir
        self.controls.offer_resume(False)
        self.child.start(run_dir, settings, checks=checks)

    def _epoch(self, row: dict, best_epoch) -> None:
        first = not self.curves.rows
        self.curves.add_epoch(row, best_epoch)
        if first and self._last_run:  # the run folder exists now: list it
            self.runs.refresh(select=Path(self._last_run).name)

    def stop(self) -> None:
        """Early stop: ends at the next batch and keeps the best model so far."""
        if self.training:
            self.child.stop()
            self.controls.show_stopping()

    def _training_changed(self, running: bool) -> None:
        self.controls.set_running(running)
        self.runs.set_busy(running)
        if not running:
            self._remove_checks()
            self.controls.set_can_start(self.data.report is not None and self.data.report.ok)
            self.runs.refresh(select=Path(self._last_run).name if self._last_run else None)

    def _remove_checks(self) -> None:
        if self._checks_file:
            Path(self._checks_file).unlink(missing_ok=True)
            self._checks_file = None

    def _done(self, result: dict) -> None:
        from training.runfolder import RunStatus  # torch-free

        ended = RunStatus.describe(result["status"]).capitalize()
        self.controls.show_outcome(outcome_html(result), bool(result["model_path"]), ended)
        self.run_finished.emit(result)

    def _failed(self, message: str) -> None:
        color = colors(self.palette()).css("error_text")
        self.controls.show_outcome(f"<span style='color:{color}'><b>Training failed:</b> {message}</span>", False,
                                   "Failed")

    def _died(self, message: str) -> None:
        """The child was killed or crashed: say so, and offer Resume when the run has a checkpoint."""
        from training.runfolder import read_run  # torch-free

        info = read_run(Path(self._last_run)) if self._last_run else None
        resumable = info is not None and info.can_resume
        self.controls.show_outcome(died_html(message, resumable, colors(self.palette()).css("error_text")), False,
                                   "Stopped unexpectedly")
        self.controls.offer_resume(resumable)

    def _resume_last(self) -> None:
        if self._last_run:
            self.resume(self._last_run)

    def _use_last(self) -> None:
        if self._last_run:
            self.use_model.emit(self._last_run)

    def _show_run(self, info) -> None:
        if not self.training:
            from training.runfolder import RunStatus  # torch-free

            self.curves.show_history(info.history, info.metrics.get("best_epoch"))
            self.controls.show_ended(RunStatus.describe(info.status).capitalize())
            self._last_run = str(info.path)
            self.controls.use_button.setEnabled(info.has_model)

    # -- what the window stores and restores (through these, never the panels) --------------------------------
    def show_folder(self, folder: str, check: bool = True) -> None:
        """Put `folder` in the data field; with `check`, run the preflight on it too."""
        if check:
            self.data.set_folder(folder)
        else:
            self.data.path_edit.setText(folder)

    def form(self) -> dict:
        """The settings form as plain values (not the hidden test overrides)."""
        return {k: v for k, v in self.settings.values().items() if k not in self.settings.overrides}

    def set_form(self, values: dict) -> None:
        """Restore form values; a key this version does not know, or a value it cannot take, is skipped (never
        passed on to training as an override)."""
        known = set(self.form())
        for key, value in values.items():
            if key not in known or not isinstance(value, (int, float, str, type(None))):
                continue
            if isinstance(value, float) and not math.isfinite(value):
                continue  # JSON's 1e400 reads back as infinity
            try:
                self.settings.set_values(**{key: value})
            except (TypeError, ValueError, OverflowError):
                pass

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop any running training and preflight and wait for them (called when the window closes)."""
        stopped = all([self.child.shutdown(timeout_ms), self.checker.shutdown(timeout_ms)])
        self._remove_checks()
        return stopped
