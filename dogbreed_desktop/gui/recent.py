"""File ▸ Open Recent: the last photos, folders and models opened (10 of each, newest first), kept in the
settings. Entries whose file or folder is gone are pruned whenever the list is read."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from . import settings

KINDS = ("photos", "folders", "models")
TITLES = {"photos": "Photos", "folders": "Folders", "models": "Models"}
LIMIT = 10


def items(kind: str) -> list[str]:
    """Existing entries of one kind, newest first; missing ones are dropped from the settings too."""
    stored = [p for p in settings.get_json(f"recent/{kind}", [], list) if isinstance(p, str) and p]
    alive = [p for p in stored if (Path(p).is_dir() if kind == "folders" else Path(p).is_file())][:LIMIT]
    if alive != stored:
        settings.put(f"recent/{kind}", alive)
    return alive


def add(kind: str, paths) -> None:
    """Put `paths` at the top (the last of them first), without duplicates, keeping LIMIT."""
    fresh = [str(Path(p).resolve()) for p in paths]
    if not fresh:
        return
    old = [p for p in settings.get_json(f"recent/{kind}", [], list) if isinstance(p, str)]
    merged = list(dict.fromkeys(list(reversed(fresh)) + old))
    settings.put(f"recent/{kind}", merged[:LIMIT])


def add_paths(paths) -> None:
    """Photos and folders as they were opened (dropped, chosen, passed on): each to its own list."""
    paths = [Path(p) for p in paths]
    add("folders", [p for p in paths if p.is_dir()])
    add("photos", [p for p in paths if p.is_file()])


def clear() -> None:
    for kind in KINDS:
        settings.remove(f"recent/{kind}")


class RecentMenu(QMenu):
    """Rebuilt each time it opens, so it never offers a file that has gone since."""

    open_paths = Signal(list)  # list[Path]: a photo or a folder to classify
    open_model = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Open &Recent", parent)
        self.aboutToShow.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        self.clear()
        any_item = False
        for kind in KINDS:
            entries = items(kind)
            if not entries:
                continue
            any_item = True
            self.addSection(TITLES[kind])
            for i, path in enumerate(entries):
                p = Path(path)
                mnemonic = f"&{(i + 1) % 10} " if i < 10 else ""
                action = QAction(f"{mnemonic}{p.name}  —  {p.parent}", self)
                action.setToolTip(path)
                action.setData(path)
                action.triggered.connect(lambda _=False, k=kind, s=path: self._open(k, s))
                self.addAction(action)
        if not any_item:
            empty = self.addAction("No recent photos, folders or models")
            empty.setEnabled(False)
        self.addSeparator()
        self.clear_action = self.addAction("&Clear Recent", self._clear)
        self.clear_action.setEnabled(any_item)

    def entries(self) -> list[str]:
        """The paths offered now (for tests)."""
        return [a.data() for a in self.actions() if isinstance(a.data(), str)]

    def _open(self, kind: str, path: str) -> None:
        if kind == "models":
            self.open_model.emit(path)
        else:
            self.open_paths.emit([Path(path)])

    def _clear(self) -> None:
        clear()
        self.rebuild()
