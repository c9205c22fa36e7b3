"""Exports written in background jobs: File ▸ Export Model… (the active model as ONNX, plus labels.txt) and the
Evaluate view's Export report… (HTML, CSVs, PNGs)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from .jobs import CallJob, Threads


class Exporter(QObject):
    status = Signal(str)
    exported = Signal(str)  # the .onnx file, or the report's HTML page
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.threads = Threads(self)

    def ask_and_export(self, parent: QWidget, model_path: str | None, name: str = "") -> None:
        stem = Path(model_path).parent.name if model_path and Path(model_path).name == "model.safetensors" else ""
        suggested = f"{stem or 'dog-breeds'}.onnx"
        out, _ = QFileDialog.getSaveFileName(parent, f"Export {name or 'the model'} as ONNX", suggested,
                                             "ONNX models (*.onnx)")
        if out:
            self.export(model_path, out)

    def export(self, model_path: str | None, out: str) -> CallJob:
        from ...core.export_onnx import export_onnx

        job = CallJob(lambda: export_onnx(model_path, out))
        job.done.connect(self._done)
        job.failed.connect(self._failed)
        self.status.emit("Exporting the model to ONNX…")
        return self.threads.start(job)

    def ask_and_write_report(self, parent: QWidget, ev, folder: str | None = None) -> None:
        folder = folder or QFileDialog.getExistingDirectory(parent, "Folder for the report (HTML, CSV, PNG)")
        if not folder:
            return
        from ...core.report import write_report

        job = CallJob(lambda: write_report(ev, folder))
        job.done.connect(self._done)
        job.failed.connect(self._failed)
        self.status.emit("Writing the report…")
        self.threads.start(job)

    def _done(self, job_id: int, written: dict) -> None:
        if "model" in written:
            self.status.emit(f"Exported {written['model']} (and {written['labels'].name} beside it)")
            self.exported.emit(str(written["model"]))
        else:
            self.status.emit(f"Report written: {written['report.html']}")
            self.exported.emit(str(written["report.html"]))

    def _failed(self, job_id: int, message: str) -> None:
        self.status.emit(f"Export failed: {message}")
        self.failed.emit(message)

    def shutdown(self) -> bool:
        return self.threads.shutdown(60_000)  # an export in progress is not interruptible: let it finish
