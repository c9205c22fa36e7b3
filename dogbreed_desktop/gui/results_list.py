"""The photo queue: a thumbnail, the verdict (breed and percentage; errors red, unsure amber, no dog and unknown
breed in their own tones) over the file name, one row per photo."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate

from .images import THUMBNAIL_BOX
from .results_model import (FAILED, PENDING, HeadlineRole, NoDogRole, ResultsModel, StateRole, SureRole,
                            UnknownBreedRole)
from .theme import colors

THUMB = THUMBNAIL_BOX
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class ResultDelegate(QStyledItemDelegate):
    def sizeHint(self, option, index) -> QSize:
        return QSize(240, THUMB + 12)

    def paint(self, painter, option, index) -> None:
        painter.save()
        if option.widget is not None:  # selection and hover background from the platform style
            panel = QStyle.PrimitiveElement.PE_PanelItemViewItem
            option.widget.style().drawPrimitive(panel, option, painter, option.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        pal = option.palette
        text = pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        muted = text if selected else pal.color(QPalette.ColorRole.PlaceholderText)
        r = option.rect.adjusted(6, 6, -8, -6)
        self._thumbnail(painter, index, QRect(r.x(), r.y(), THUMB, THUMB), pal)
        area = r.adjusted(THUMB + 10, 2, 0, -2)
        top, bottom = area.adjusted(0, 0, 0, -area.height() // 2), area.adjusted(0, area.height() // 2, 0, 0)
        state = index.data(StateRole)
        color = text
        theme = colors(pal)
        if not selected and state == FAILED:
            color = theme.error_text
        elif not selected and state == PENDING:
            color = muted
        elif not selected and index.data(NoDogRole):
            color = theme.no_dog_text
        elif not selected and index.data(UnknownBreedRole):
            color = theme.unknown_breed_text
        elif not selected and not index.data(SureRole):
            color = theme.unsure_text
        title, pct = index.data(HeadlineRole)
        bold = QFont(option.font)
        bold.setBold(state != FAILED)
        painter.setFont(bold)
        painter.setPen(color)
        pct_w = painter.fontMetrics().horizontalAdvance(pct) + 6 if pct else 0
        painter.drawText(top.adjusted(top.width() - pct_w, 0, 0, 0), RIGHT, pct)
        fm = painter.fontMetrics()
        title = fm.elidedText(title, Qt.TextElideMode.ElideRight, top.width() - pct_w)
        painter.drawText(top.adjusted(0, 0, -pct_w, 0), LEFT, title)
        painter.setFont(option.font)
        painter.setPen(muted)
        name = painter.fontMetrics().elidedText(index.data(), Qt.TextElideMode.ElideMiddle, bottom.width())
        painter.drawText(bottom, LEFT, name)
        painter.restore()

    @staticmethod
    def _thumbnail(painter, index, box: QRect, pal) -> None:
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if pixmap is None or pixmap.isNull():
            painter.fillRect(box, pal.color(QPalette.ColorRole.AlternateBase))
            return
        size = pixmap.deviceIndependentSize().toSize()  # already scaled to the box: drawn 1:1
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(box.center())
        painter.drawPixmap(target, pixmap)


class ResultsList(QListView):
    current_path_changed = Signal(str)  # "" when nothing is selected

    def __init__(self, model: ResultsModel, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.setItemDelegate(ResultDelegate(self))
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMinimumWidth(220)
        self.selectionModel().currentChanged.connect(self._on_current)

    def _on_current(self, current, previous) -> None:
        self.current_path_changed.emit(self.model().row(current.row()).path if current.isValid() else "")

    def selected_paths(self) -> list[str]:
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        return [self.model().row(r).path for r in rows]

    def select_row(self, row: int) -> None:
        self.setCurrentIndex(self.model().index(row))
