"""Per-breed metrics: photos, precision, recall, F1; sortable (weakest first to begin with), with a filter box."""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QHeaderView, QLineEdit, QTableView, QVBoxLayout, QWidget

COLUMNS = ("Breed", "Photos", "Precision", "Recall", "F1")
F1_COLUMN = 4


class BreedModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []  # core.evaluate.report.ClassMetrics

    def set_rows(self, rows: list) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def _value(self, r, column: int):
        return (r.name, r.photos, r.precision, r.recall, r.f1)[column]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, col = self.rows[index.row()], index.column()
        v = self._value(r, col)
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(v, float):
                return "–" if math.isnan(v) else f"{v:.1%}"
            return v
        if role == Qt.ItemDataRole.UserRole:  # the sort key: no value sorts after every value
            return 2.0 if isinstance(v, float) and math.isnan(v) else v
        if role == Qt.ItemDataRole.TextAlignmentRole and col:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{r.name} ({r.cls}): {r.photos} photos, {r.correct} right; predicted {r.predicted} times")
        return None


class BreedTable(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = BreedModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter breeds…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTableView(self)
        self.view.setAccessibleName("Per-breed metrics")
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.view, 1)

    def set_rows(self, rows: list) -> None:
        self.view.setSortingEnabled(False)  # one sort after the reset, not one per step
        self.model.set_rows(rows)
        self.view.horizontalHeader().setSortIndicator(F1_COLUMN, Qt.SortOrder.AscendingOrder)  # weakest first
        self.view.setSortingEnabled(True)

    def shown_breeds(self) -> list[str]:
        return [self.proxy.index(i, 0).data() for i in range(self.proxy.rowCount())]
