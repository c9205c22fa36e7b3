"""Drag-and-drop at the edge: a drag becomes `list[Path]` here (local image files and folders only), and a
visible target that lights up while something droppable hovers anywhere over the tab."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, QRectF, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..core.imagetypes import is_image_path
from ..paths import resource
from .theme import colors, on_palette_change


def paths_from_mime(mime: QMimeData) -> list[Path]:
    """Local image files and folders named by a drag or the clipboard; anything else is left out."""
    paths = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
    return [p for p in paths if is_image_path(p) or p.is_dir()]


def paths_from_text(text: str) -> list[Path]:
    """Pasted text: one path or file:// URL per line, kept when it names an existing picture or folder."""
    found = []
    for line in filter(None, (s.strip().strip('"') for s in text.splitlines())):
        p = Path(QUrl(line).toLocalFile()) if line.startswith("file:") else Path(line).expanduser()
        if p.is_dir() or (p.is_file() and is_image_path(p)):
            found.append(p)
    return found


def from_clipboard(mime: QMimeData) -> list[Path] | QImage | None:
    """Copied files or paths first (a file manager also offers an icon image), else the picture itself."""
    paths = paths_from_mime(mime) or (paths_from_text(mime.text()) if mime.hasText() else [])
    if paths:
        return paths
    image = QImage(mime.imageData()) if mime.hasImage() else QImage()
    return None if image.isNull() else image


class DropTarget(QObject):
    """Makes `widget` (and every child that does not take drops itself) accept photo and folder drops."""

    dropped = Signal(list)  # list[Path]
    active_changed = Signal(bool)

    def __init__(self, widget: QWidget):
        super().__init__(widget)
        self._accepting = False
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.DragEnter:
            self._accepting = bool(paths_from_mime(event.mimeData()))
            event.acceptProposedAction() if self._accepting else event.ignore()
            self.active_changed.emit(self._accepting)
            return True
        if kind == QEvent.Type.DragMove:
            event.acceptProposedAction() if self._accepting else event.ignore()
            return True
        if kind == QEvent.Type.DragLeave:
            self.active_changed.emit(False)
            return True
        if kind == QEvent.Type.Drop:
            paths = paths_from_mime(event.mimeData())
            self.active_changed.emit(False)
            if paths:
                event.acceptProposedAction()
                self.dropped.emit(paths)
            return True
        return False


class DropHint(QFrame):
    """The visible target: large (paw, title, buttons) while the list is empty, a slim bar once photos are in.
    It lights up while a droppable drag hovers anywhere over the tab."""

    open_clicked = Signal()
    paste_clicked = Signal()
    BIG = ("<div style='font-size:15pt; font-weight:600'>Drop dog photos or folders here</div>"
           "<div style='color:{muted}'>or open them, paste one, or pass them on the command line</div>")
    SLIM = "Drop more photos or folders anywhere here"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("DropHint")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._paw = QLabel()
        self._paw.setPixmap(QIcon(str(resource("icon.png"))).pixmap(72, 72))
        self._title = QLabel()
        self._status = ""
        open_button, paste_button = QPushButton("Open photos…"), QPushButton("Paste")
        self._active = False
        open_button.clicked.connect(self.open_clicked)
        paste_button.clicked.connect(self.paste_clicked)
        self._big_only = [self._paw, open_button, paste_button]
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(open_button)
        buttons.addWidget(paste_button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.addStretch()
        for label in (self._paw, self._title):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label)
        layout.addLayout(buttons)
        layout.addStretch()
        self._compact = False
        self.set_compact(False)
        self.set_active(False)
        on_palette_change(self, self._render)  # the rich text has its colours baked in

    def set_compact(self, compact: bool) -> None:
        self._compact = compact
        for w in self._big_only:
            w.setVisible(not compact)
        self.setFixedHeight(40) if compact else self.setMaximumHeight(16777215)
        self.setMinimumHeight(40 if compact else 200)
        self._render()

    def set_status(self, text: str) -> None:
        """A line such as "Loading the model…", shown under the title (beside it when slim)."""
        self._status = text
        self._render()

    def _render(self) -> None:
        theme = colors(self.palette())
        status = (f"<span style='color:{theme.css('sure_text')}; font-weight:600'>{self._status}</span>"
                  if self._status else "")
        if self._compact:
            self._title.setText(self.SLIM + (f" &nbsp;·&nbsp; {status}" if status else ""))
        else:
            big = self.BIG.format(muted=theme.css("muted_text"))
            self._title.setText(big + (f"<div>{status}</div>" if status else ""))

    def set_active(self, active: bool) -> None:
        self._active = active
        self.update()

    def paintEvent(self, event) -> None:
        """A rounded frame, dashed in the palette's mid tone; solid accent over a tint while a drag hovers.
        Painted (not a style sheet) so it follows the palette when the system turns dark or light."""
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = colors(self.palette()).accent
        pen = QPen(accent if self._active else self.palette().color(QPalette.ColorRole.Mid), 2)
        pen.setStyle(Qt.PenStyle.SolidLine if self._active else Qt.PenStyle.DashLine)
        p.setPen(pen)
        fill = QColor(accent)
        fill.setAlpha(40)
        p.setBrush(fill if self._active else Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(QRectF(self.rect()).adjusted(1, 1, -1, -1), 10, 10)
        p.end()
