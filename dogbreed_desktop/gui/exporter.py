"""The window's one Exporter: files written in a background task, File ▸ Export Model… (the active model as
ONNX, plus labels.txt) and the Evaluate view's Export report… (HTML, CSVs, PNGs). The photo list's CSV is
`results_table.py`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from ..paths import MODEL_FILENAME
from . import settings
from .tasks import TaskRunner


class Exporter(QObject):
    status = Signal(str)
    exported = Signal(str)  # the .onnx file, or the report's HTML page
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = TaskRunner("export", self)

    def ask_and_export(self, parent: QWidget, model_path: str | None, name: str = "") -> None:
        from ..core import flavour

        if not flavour.has_onnx():  # the classify-only build: say so instead of asking for a file name
            self._failed(None, flavour.EXPORT)
            return
        path = Path(model_path) if model_path else None  # a run's model is named after its run folder
        stem = (path.parent.name if path.name == MODEL_FILENAME else path.stem) if path else ""
        suggested = f"{stem or 'dog-breeds'}.onnx"
        suggested = str(Path(settings.dialog_dir("onnx")) / suggested) if settings.dialog_dir("onnx") else suggested
        out, _ = QFileDialog.getSaveFileName(parent, f"Export {name or 'the model'} as ONNX", suggested,
                                             "ONNX models (*.onnx)")
        if out:
            settings.remember_dialog("onnx", Path(out).parent)
            self.export(model_path, out)

    def export(self, model_path: str | None, out: str):
        from ..core.export.export_onnx import export_onnx

        self.status.emit("Exporting the model to ONNX…")
        return self.runner.submit(_call, lambda: export_onnx(model_path, out), on_done=self._done,
                                  on_error=self._failed)

    def ask_and_write_report(self, parent: QWidget, ev, folder: str | None = None) -> None:
        if not folder:
            folder = QFileDialog.getExistingDirectory(parent, "Folder for the report (HTML, CSV, PNG)",
                                                      settings.dialog_dir("report"))
            if folder:
                settings.remember_dialog("report", Path(folder).parent)
        if not folder:
            return
        from ..core.evaluate.report import write_report

        self.status.emit("Writing the report…")
        self.runner.submit(_call, lambda: write_report(ev, folder), on_done=self._done, on_error=self._failed)

    def _done(self, task, written: dict) -> None:
        if "model" in written:
            self.status.emit(f"Exported {written['model']} (and {written['labels'].name} beside it)")
            self.exported.emit(str(written["model"]))
        else:
            self.status.emit(f"Report written: {written['report.html']}")
            self.exported.emit(str(written["report.html"]))

    def _failed(self, task, message: str) -> None:
        self.status.emit(f"Export failed: {message}")
        self.failed.emit(message)

    def shutdown(self) -> bool:
        return self.runner.shutdown(60_000)  # an export in progress is not interruptible: let it finish


def _call(fn, *, control):
    """`fn()` on the runner's thread: a report or an ONNX export, neither interruptible."""
    return fn()
