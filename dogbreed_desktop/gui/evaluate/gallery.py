"""A gallery of evaluated photos: thumbnail, true breed, predicted breed and confidence. Thumbnails are decoded
in a background task and arrive in chunks; a new set of photos cancels the old task. Double-click emits the path."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPalette, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ..tasks import TaskRunner
from . import tasks

MAX_SHOWN = 400  # a gallery longer than this is cut (the CSV export has every photo)
ICON = 96


class Gallery(QWidget):
    open_photo = Signal(str)

    def __init__(self, empty_text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel(empty_text, self)
        self.title.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setAccessibleName("Photos")
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(ICON, ICON))
        self.list.setGridSize(QSize(ICON + 70, ICON + 62))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(True)
        blank = QPixmap(ICON, ICON)  # until its thumbnail arrives: items get their final size at once
        blank.fill(self.palette().color(QPalette.ColorRole.Midlight))
        self._blank = QIcon(blank)
        self.list.itemDoubleClicked.connect(lambda item: self.open_photo.emit(item.data(Qt.ItemDataRole.UserRole)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        self.runner = TaskRunner("thumbnails", self)
        self._items: dict[str, QListWidgetItem] = {}

    def show_records(self, title: str, records, class_names: list[str]) -> None:
        """`records`: core.evaluate.report PhotoRecords, in the order to show them."""
        shown = list(records)[:MAX_SHOWN]
        cut = f" (the first {MAX_SHOWN} shown)" if len(records) > MAX_SHOWN else ""
        self.title.setText(f"{title}{cut}")
        self.list.clear()
        self._items = {}
        for r in shown:
            item = QListWidgetItem(f"{class_names[r.true]}\n→ {class_names[r.predicted]} {r.confidence:.0%}")
            item.setData(Qt.ItemDataRole.UserRole, r.path)
            item.setIcon(self._blank)
            item.setToolTip(f"{r.path}\ntrue: {class_names[r.true]}\npredicted: {class_names[r.predicted]} "
                            f"({r.confidence:.1%})\nprobability of the true breed: {r.p_true:.1%}")
            self.list.addItem(item)
            self._items[r.path] = item
        self.runner.cancel()  # a new set of photos: the old thumbnails are no longer wanted
        if shown:
            self.runner.submit(tasks.thumbnails, [r.path for r in shown], on_partial=self._thumbs,
                               on_error=lambda _t, message: self.title.setText(f"{self.title.text()} ({message})"))

    def paths(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _thumbs(self, task, chunk: list) -> None:
        for path, image in chunk:
            item = self._items.get(path)
            if item is not None and image is not None:
                item.setIcon(QIcon(QPixmap.fromImage(image)))

    def shutdown(self) -> bool:
        return self.runner.shutdown()
