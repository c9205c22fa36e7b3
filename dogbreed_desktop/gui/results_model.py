"""The list of photos and their verdicts (one row per file path), as a Qt item model for the list view."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPixmap

from .images import THUMBNAIL_BOX
from .messages import Verdict
from .verdict import NOT_A_DOG, UNKNOWN_BREED, headline, is_sure

PENDING, DONE, FAILED = "pending", "done", "failed"
StateRole = Qt.ItemDataRole.UserRole + 1
HeadlineRole = Qt.ItemDataRole.UserRole + 2  # (breed or error, percentage)
SureRole = Qt.ItemDataRole.UserRole + 3
NoDogRole = Qt.ItemDataRole.UserRole + 4  # the gate says there is no dog in the photo
UnknownBreedRole = Qt.ItemDataRole.UserRole + 5  # a dog, of a breed outside the model's classes


@dataclass
class Row:
    path: str
    state: str = PENDING
    probabilities: tuple[float, ...] | None = None
    error: str = ""
    thumbnail: QPixmap | None = None
    verdict: str = "breed"
    looks_like: str | None = None
    dog_probability: float | None = None


class ResultsModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[Row] = []
        self._by_path: dict[str, int] = {}
        self.class_names: tuple[str, ...] = ()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def row(self, i: int) -> Row:
        return self._rows[i]

    def rows(self) -> list[Row]:
        return list(self._rows)

    def row_of(self, path: str) -> int | None:
        return self._by_path.get(path)

    def add_paths(self, paths: list[str]) -> None:
        new = [p for p in dict.fromkeys(paths) if p not in self._by_path]
        if not new:
            return
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
        for i, p in enumerate(new):
            self._by_path[p] = start + i
            self._rows.append(Row(p))
        self.endInsertRows()

    def apply(self, verdicts: list[Verdict]) -> None:
        changed = []
        for v in verdicts:
            i = self._by_path.get(v.path)
            if i is None:
                continue
            row = self._rows[i]
            row.state = DONE if v.ok else FAILED
            row.probabilities, row.error = v.probabilities, v.error
            row.verdict, row.looks_like, row.dog_probability = v.verdict, v.looks_like, v.dog_probability
            if v.thumbnail is not None and not v.thumbnail.isNull():
                row.thumbnail = _list_pixmap(v.thumbnail)
            changed.append(i)
        if changed:
            self.dataChanged.emit(self.index(min(changed)), self.index(max(changed)))

    def mark_all_pending(self) -> None:
        for row in self._rows:
            row.state, row.probabilities, row.error = PENDING, None, ""
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))

    def set_class_names(self, names: tuple[str, ...]) -> None:
        self.class_names = tuple(names)

    def remove_rows(self, rows: list[int]) -> None:
        """Remove rows by index (from the bottom up, so the indices stay valid)."""
        for i in sorted(set(rows), reverse=True):
            if 0 <= i < len(self._rows):
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._rows[i]
                self.endRemoveRows()
        self._by_path = {r.path: i for i, r in enumerate(self._rows)}

    def clear(self) -> None:
        self.beginResetModel()
        self._rows, self._by_path = [], {}
        self.endResetModel()

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return Path(row.path).name
        if role == Qt.ItemDataRole.DecorationRole:
            return row.thumbnail
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.path + (f"\n{row.error}" if row.error else "")
        if role == StateRole:
            return row.state
        if role == HeadlineRole:
            if row.state == FAILED:
                return f"⚠ {row.error}", ""
            if row.state == PENDING or not self.class_names:
                return "Waiting…", ""
            return headline(row.probabilities, self.class_names, row.verdict, row.looks_like)
        if role == NoDogRole:
            return row.state == DONE and row.verdict == NOT_A_DOG
        if role == UnknownBreedRole:
            return row.state == DONE and row.verdict == UNKNOWN_BREED
        if role == SureRole:
            return row.state == DONE and is_sure(row.verdict)
        return None


def _list_pixmap(image: QImage) -> QPixmap:
    """The worker's thumbnail as a pixmap at the screen's pixel ratio, scaled once here rather than per paint."""
    ratio = QGuiApplication.instance().devicePixelRatio()
    box = QSize(THUMBNAIL_BOX, THUMBNAIL_BOX) * ratio
    scaled = image.scaled(box, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    pixmap = QPixmap.fromImage(scaled)
    pixmap.setDevicePixelRatio(ratio)
    return pixmap
