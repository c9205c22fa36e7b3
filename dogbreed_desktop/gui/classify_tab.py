"""The Classify tab: composes the drop target, the photo queue and the verdict panel, and routes the
inference client's results to them. Photos come in as `list[Path]` (drop, dialog, paste, command line)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from . import results_table
from .drop_zone import DropHint, DropTarget, from_clipboard
from .heatmap_job import HeatmapJobs
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
    dropped = Signal(list)  # list[Path] dropped on the tab (the window adds them to Open Recent)
    open_clicked = Signal()  # the empty tab's "Open photos…"

    def __init__(self, client: InferenceClient, parent: QWidget | None = None):
        super().__init__(parent)
        self.client = client
        self.model = ResultsModel(self)
        self.list = ResultsList(self.model)
        self.photos = TaskRunner("photo", self)  # decodes the large photo: latest click wins
        self.panel = VerdictPanel(PhotoView())
        self.hint = DropHint()
        self.heatmaps = HeatmapJobs(client.device, self)
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
        self.drop.dropped.connect(self.dropped)
        self.hint.open_clicked.connect(self.open_clicked)
        # Space on the photo list toggles "Why?"; elsewhere Space keeps pressing the focused button.
        self.why_action = QAction("Show &Why? Heatmap", self.list)
        self.why_action.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.why_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.why_action.triggered.connect(self.panel.why.toggle)
        self.list.addAction(self.why_action)
        self.drop.active_changed.connect(self.hint.set_active)
        self.hint.paste_clicked.connect(self.paste)
        self.list.current_path_changed.connect(self._show_path)
        self.panel.top_k_changed.connect(lambda _: self.panel.refresh())
        self.panel.why_toggled.connect(lambda _: self._update_heatmap())
        self.heatmaps.ready.connect(self._on_heatmap)
        self.heatmaps.failed.connect(lambda _, message: self.status.emit(f"No heatmap: {message}"))
        client.model_loading.connect(lambda _: self.hint.set_status("Loading the model…"))
        client.model_loaded.connect(self._on_model_loaded)
        client.queued.connect(self._on_queued)
        client.results.connect(self._on_results)
        client.finished.connect(self._on_finished)
        client.failed.connect(lambda _, message: self.status.emit(f"Classification failed: {message}"))

    @property
    def top_k(self) -> int:
        """How many breeds the chart lists (remembered between runs)."""
        return self.panel.top_k.currentData()

    @top_k.setter
    def top_k(self, k: int) -> None:
        index = self.panel.top_k.findData(k)
        if index >= 0:
            self.panel.top_k.setCurrentIndex(index)

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
        return results_table.table(rows, info.classes if info else (), info.class_names if info else (), self.panel.k)

    def export_csv(self, path: str | Path) -> None:
        results_table.write_csv(Path(path), self.table())

    def copy_results(self) -> None:
        table = self.table(selected_only=len(self.list.selected_paths()) > 1)
        QGuiApplication.clipboard().setText(results_table.to_tsv(table))
        self.status.emit(f"Copied {len(table) - 1} result(s) to the clipboard.")

    def copy_selection(self) -> None:
        """Edit ▸ Copy: the selected rows (all when none is selected) as tab-separated text."""
        table = self.table(selected_only=bool(self.list.selected_paths()))
        QGuiApplication.clipboard().setText(results_table.to_tsv(table))
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
        photos, heatmaps = self.photos.shutdown(), self.heatmaps.shutdown()
        return photos and heatmaps

    # -- routing --------------------------------------------------------------------------------------------
    def _on_model_loaded(self, info: ModelInfo | None) -> None:
        self.hint.set_status("")
        if info is None:
            self.panel.show_message("No model is loaded. Open one with Model ▸ Open Model….")
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
            self._update_heatmap()
        self._report_progress()

    def _update_heatmap(self) -> None:
        """With "Why?" on, ask for the selected photo's heatmap for its top breed (in the background)."""
        self.panel.photo.set_overlay(None)
        self.heatmaps.cancel()
        row = self._current_row()
        info = self.client.model
        if not self.panel.why.isChecked() or row is None or row.state != DONE or info is None:
            return
        top = max(range(len(row.probabilities)), key=row.probabilities.__getitem__)
        self.heatmaps.request(info.path, row.path, top)

    def _on_heatmap(self, path: str, overlay) -> None:
        row = self._current_row()
        if row is not None and row.path == path and self.panel.why.isChecked():
            self.panel.photo.set_overlay(overlay)

    def _current_row(self):
        current = self.list.currentIndex()
        return self.model.row(current.row()) if current.isValid() else None

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
        self._update_heatmap()

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
