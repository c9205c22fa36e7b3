"""The Classify tab: composes the drop target, the photo queue and the verdict panel, and routes the
inference client's results to them. Photos come in as `list[Path]` (drop, dialog, paste, command line)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from . import export
from .drop_zone import DropHint, DropTarget, from_clipboard
from .inference_client import InferenceClient
from .messages import ModelInfo
from .images import preview
from .photo_view import PhotoView
from .results_list import ResultsList
from .results_model import DONE, FAILED, PENDING, ResultsModel
from .tasks import TaskRunner
from .verdict_panel import VerdictPanel


class ClassifyTab(QWidget):
    status = Signal(str)  # a line for the status bar
    progress = Signal(int, int)  # photos done, photos in the list
    request_finished = Signal(int)  # a request's last verdict is on screen

    def __init__(self, client: InferenceClient, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.model = ResultsModel(self)
        self.list = ResultsList(self.model)
        self.photos = TaskRunner("photo", self)  # decodes the large photo: latest click wins
        self.panel = VerdictPanel(PhotoView())
        self.hint = DropHint()
        self.drop = DropTarget(self)
        self._model_path: str | None = None
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.list)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([285, 615])
        splitter.setObjectName("classify")  # its settings key (window_state)
        self.splitter = splitter
        splitter.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(splitter, 1)
        self.drop.dropped.connect(self.add_paths)
        self.drop.active_changed.connect(self.hint.set_active)
        self.hint.paste_clicked.connect(self.paste)
        self.list.current_path_changed.connect(self._show_path)
        self.panel.top_k_changed.connect(lambda _: self.panel.refresh())
        client.model_loading.connect(lambda _: self.hint.set_status("Loading the model…"))
        client.model_loaded.connect(self._on_model_loaded)
        client.queued.connect(self._on_queued)
        client.results.connect(self._on_results)
        client.finished.connect(self._on_finished)
        client.failed.connect(lambda _, message: self.status.emit(f"Classification failed: {message}"))

    # -- photos in ------------------------------------------------------------------------------------------
    def add_paths(self, paths: list[Path]) -> int:
        return self.client.classify([Path(p) for p in paths])

    def paste(self) -> bool:
        """Image data or file paths from the clipboard."""
        found = from_clipboard(QGuiApplication.clipboard().mimeData())
        if found is None:
            self.status.emit("The clipboard holds no picture and no photo paths.")
            return False
        self.client.classify(found if isinstance(found, list) else [found])
        return True

    # -- results out ----------------------------------------------------------------------------------------
    def table(self, selected_only: bool = False) -> list[list[str]]:
        wanted = set(self.list.selected_paths()) if selected_only else None
        rows = [r for r in self.model.rows() if wanted is None or r.path in wanted]
        info = self.client.model
        return export.table(rows, info.classes if info else (), info.class_names if info else (), self.panel.k)

    def export_csv(self, path: str | Path) -> None:
        export.write_csv(Path(path), self.table())

    def copy_results(self) -> None:
        table = self.table(selected_only=len(self.list.selected_paths()) > 1)
        QGuiApplication.clipboard().setText(export.to_tsv(table))
        self.status.emit(f"Copied {len(table) - 1} result(s) to the clipboard.")

    def copy_selection(self) -> None:
        """Edit ▸ Copy: the selected rows (all when none is selected) as tab-separated text."""
        table = self.table(selected_only=bool(self.list.selected_paths()))
        QGuiApplication.clipboard().setText(export.to_tsv(table))
        self.status.emit(f"Copied {len(table) - 1} result(s) to the clipboard.")

    def select_all(self) -> None:
        self.list.setFocus()
        self.list.selectAll()

    def remove_selected(self) -> None:
        """Edit ▸ Remove (Delete): the selected rows go; the row after them becomes current."""
        rows = sorted({i.row() for i in self.list.selectionModel().selectedIndexes()})
        if not rows:
            return
        if len(rows) == self.model.rowCount():
            return self.clear()
        self.model.remove_rows(rows)
        self.list.select_row(min(rows[0], self.model.rowCount() - 1))
        self._update_empty_state()
        self._report_progress()

    def clear(self) -> None:
        self.client.cancel_all()
        self.photos.cancel()
        self.model.clear()
        self._update_empty_state()
        self.panel.show_row(None, ())
        self.panel.photo.set_message("")
        self._report_progress()

    def shutdown(self) -> bool:
        return self.photos.shutdown()

    # -- routing --------------------------------------------------------------------------------------------
    def _on_model_loaded(self, info: ModelInfo | None) -> None:
        self.hint.set_status("")
        if info is None:
            self.panel.show_message("No model is loaded. Open one with File ▸ Open model….")
            return
        self.model.set_class_names(info.class_names)
        self.panel.set_class_count(len(info.classes))
        changed = self._model_path is not None and info.path != self._model_path
        self._model_path = info.path
        # Re-run what the old model classified, and whatever a stopped request left waiting.
        redo = [r.path for r in self.model.rows() if changed or r.state == PENDING]
        if changed:
            self.model.mark_all_pending()
        if redo:
            self.client.classify([Path(p) for p in redo])
        self.panel.refresh()

    def _on_queued(self, request_id: int, paths: list) -> None:
        if not paths:
            self.status.emit("No photos found there (looked for image files in the folders).")
            return
        self.model.add_paths(paths)
        self._update_empty_state()
        self.list.select_row(self.model.row_of(paths[0]))  # show the newest photo
        self._report_progress()

    def _on_results(self, request_id: int, verdicts: list) -> None:
        self.model.apply(verdicts)
        current = self.list.currentIndex()
        if current.isValid() and any(v.path == self.model.row(current.row()).path for v in verdicts):
            self.panel.show_row(self.model.row(current.row()), self.model.class_names)
        self._report_progress()

    def _on_finished(self, request_id: int) -> None:
        self._report_progress()
        self.request_finished.emit(request_id)

    def _show_path(self, path: str) -> None:
        row = self.model.row_of(path) if path else None
        self.panel.show_row(None if row is None else self.model.row(row), self.model.class_names)
        if path:
            self.photos.submit(preview, path, self.panel.photo.device_size(), supersede=True,
                               on_done=lambda _, images: self.panel.set_photo(*images),
                               on_error=lambda _, message: self.panel.set_photo(QImage(), QImage(), message))

    def _update_empty_state(self) -> None:
        empty = self.model.rowCount() == 0
        self.hint.set_compact(not empty)
        self.splitter.setVisible(not empty)

    def _report_progress(self) -> None:
        rows = self.model.rows()
        done = sum(r.state in (DONE, FAILED) for r in rows)
        failed = sum(r.state == FAILED for r in rows)
        self.progress.emit(done, len(rows))
        if rows:
            extra = f", {failed} unreadable" if failed else ""
            self.status.emit(f"{done} of {len(rows)} photos classified{extra}")
