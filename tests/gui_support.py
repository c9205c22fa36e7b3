"""Helpers shared by the GUI tests: a real drop event, and waiting on the window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget


def file_mime(paths: list[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def drop_files(widget: QWidget, paths: list[Path]) -> bool:
    """What a file manager does: drag-enter, then drop, with file URLs. Returns whether the drop was taken."""
    mime = file_mime(paths)
    centre = widget.rect().center()
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(QPoint(centre)), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()


def make_window(qtbot, timeout=60_000):
    """A shown main window with the built-in model loaded (loaded once per test session: see core.predict.model_cache)."""
    from dogbreed_desktop.gui.main_window import MainWindow

    window = MainWindow(device="cpu")
    qtbot.addWidget(window)  # closed at teardown: closeEvent stops the workers
    window.show()
    with qtbot.waitSignal(window.client.model_loaded, timeout=timeout):
        window.start(None, [])
    return window
