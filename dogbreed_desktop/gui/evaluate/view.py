"""The Evaluate view: where and why a model fails. It composes the setup bar, the summary and four tabs
(breeds, confusion, misclassified, reliability) and routes the background tasks' results to them.

An evaluation runs on the view's task runner; a saved one for the same model and photos comes back at once.
Filling the widgets is split into steps queued on the event loop, so the window never freezes while it fills.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from ...core.evaluate.report import analysis
from ..tasks import TaskRunner
from . import tasks
from .breed_table import BreedTable
from .confusion_panel import ConfusionPanel
from ..exporter import Exporter
from .gallery import Gallery
from .reliability import ReliabilityPlot
from .setup_bar import SetupBar
from .summary import Summary


class EvaluateView(QWidget):
    open_photo = Signal(str)  # double-clicked in a gallery: show it in the Classify tab
    status = Signal(str)  # a line for the status bar
    evaluated = Signal(object)  # core.evaluate.report.Evaluation, once every part of the view shows it
    failed = Signal(str)

    def __init__(self, device: str = "cpu", exporter: Exporter | None = None, parent: QWidget | None = None):
        """`exporter`: the window's (None: one of its own, shut down with the view)."""
        super().__init__(parent)
        self.device = device
        self.setup = SetupBar(self)
        self.summary = Summary(self)
        self.breeds = BreedTable(self)
        self.confusion = ConfusionPanel(self)
        self.misclassified = Gallery("Misclassified photos, most confidently wrong first.", self)
        self.reliability = ReliabilityPlot(self)
        self.tabs = QTabWidget(self)
        for widget, title in ((self.breeds, "Breeds"), (self.confusion, "Confusion"),
                              (self.misclassified, "Misclassified"), (self.reliability, "Reliability")):
            self.tabs.addTab(widget, title)
        layout = QVBoxLayout(self)
        layout.addWidget(self.setup)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        self.setup.evaluate_clicked.connect(self.start)
        self.setup.cancel_clicked.connect(self.cancel)
        self.setup.export_clicked.connect(self.export_report)
        self.confusion.open_photo.connect(self.open_photo)
        self.misclassified.open_photo.connect(self.open_photo)
        self.runner = TaskRunner("evaluate", self)
        self._own_exporter = exporter is None
        self.exporter = exporter or Exporter(self)
        if self._own_exporter:  # the window shows its exporter's status itself
            self.exporter.status.connect(self.status)
        self.task = None
        self.ev = None

    # -- what to evaluate --------------------------------------------------------------------------------
    def prepare(self, model: str | None, data: str | None = "", label: str | None = None) -> None:
        """Select a model (None: built-in) and photos (None: a run's validation photos; "": keep the choice)."""
        self.setup.set_model(model, label)
        if data != "":
            self.setup.set_data(data)

    def evaluate(self, model: str | None, data: str | None = "", label: str | None = None) -> None:
        self.prepare(model, data, label)
        self.start()

    def open_for(self, model: str | None, label: str | None = None) -> None:
        """File ▸ Evaluate Model on Photos…: a run's model starts on its validation photos; any other model
        asks for a folder first (unless one is chosen already)."""
        self.prepare(model, label=label)
        if not self.setup.ready():
            self.setup.choose_folder()
        if self.setup.ready():
            self.start()  # asked for: it supersedes one still finishing (its end may not have arrived yet)

    def start(self) -> None:
        if not self.setup.ready():
            self.status.emit("Choose a folder of labelled photos to evaluate on.")
            return
        self.task = self.runner.submit(
            tasks.evaluate, self.setup.model_path(), self.setup.data, self.device, group="evaluate",
            supersede=True, on_partial=lambda _t, text: self.summary.clear_summary(text),
            on_progress=lambda _t, done, total, _m: self.setup.show_progress(done, total),
            on_done=lambda _t, ev: self.show_evaluation(ev), on_error=self._failed, on_finished=self._finished)
        self.setup.set_running(True)

    def cancel(self) -> None:
        """Direct and thread-safe: the evaluation stops at its next batch and shows what it has."""
        if self.task is not None:
            self.task.stop()

    @property
    def running(self) -> bool:
        return self.task is not None

    def _failed(self, task, message: str) -> None:
        self.summary.clear_summary(f"Could not evaluate: {message}")
        self.failed.emit(message)

    def _finished(self, task) -> None:
        if task is self.task:
            self.task = None
            self.setup.set_running(False)

    # -- showing a result, a step per event-loop turn --------------------------------------------------------
    def show_evaluation(self, ev) -> None:
        self.ev = ev
        counts = analysis.confusion(ev)
        steps = [
            lambda: self.summary.set_evaluation(ev),
            lambda: self.breeds.set_rows(analysis.per_class(ev, counts)),
            lambda: self.confusion.set_evaluation(ev, counts),
            lambda: self.misclassified.show_records(
                f"Misclassified photos, most confidently wrong first: {sum(not r.correct for r in ev.records)}",
                analysis.top_losses(ev), ev.class_names),
            lambda: self.reliability.set_evaluation(ev),
            lambda: self.setup.export_button.setEnabled(bool(ev.records)),
            lambda: self.evaluated.emit(ev),
        ]

        def step() -> None:
            if self.ev is not ev:  # a newer result took over
                return
            steps.pop(0)()
            if steps:
                QTimer.singleShot(0, step)

        step()

    def export_report(self, folder: str | None = None) -> None:
        if self.ev is not None:
            self.exporter.ask_and_write_report(self, self.ev, folder)

    def shutdown(self) -> bool:
        parts = (self.runner, self.confusion, self.misclassified) + ((self.exporter,) if self._own_exporter else ())
        results = [part.shutdown() for part in parts]
        return all(results)
