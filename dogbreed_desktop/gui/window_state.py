"""The window's state between runs: size and place, splitters, tab, top-k, the Train tab's form and folder,
and the model in use. `WindowState(window)` restores at construction; the window calls `save()` when it closes.

Each piece is restored on its own and checked first, so one bad value costs that value only.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QMainWindow, QSplitter

from ..paths import default_model_path, resource, resources_dir
from . import recent, settings

DEFAULT_SIZE = (980, 640)
BUILTIN = ""  # the stored model value meaning "the built-in model"


class WindowState:
    def __init__(self, window: QMainWindow):
        self.window = window
        # The defaults, captured before anything is restored, for Settings ▸ Reset to defaults.
        self._defaults = {
            "splitters": {s.objectName(): s.saveState() for s in self._splitters()},
            "top_k": window.classify_tab.top_k,
            "train": window.train_tab.form(),
        }
        self.restore()

    # -- restore ----------------------------------------------------------------------------------------------
    def restore(self) -> None:
        w = self.window
        geometry = settings.get("window/geometry", b"")
        if not (geometry and w.restoreGeometry(QByteArray(geometry))):
            w.resize(*DEFAULT_SIZE)
        state = settings.get("window/state", b"")
        if state:
            w.restoreState(QByteArray(state))
        for splitter in self._splitters():
            saved = settings.get(f"splitters/{splitter.objectName()}", b"")
            if saved:
                splitter.restoreState(QByteArray(saved))
        tab = settings.get("window/tab", 0)
        if 0 <= tab < w.tabs.count():
            w.tabs.setCurrentIndex(tab)
        w.classify_tab.top_k = settings.get("classify/top_k", -1)
        w.train_tab.set_form(settings.get_json("train/settings", {}, dict))
        folder = settings.get("train/data", "")
        self.pending_data_folder = folder if folder and Path(folder).is_dir() else ""
        if self.pending_data_folder:
            w.train_tab.show_folder(folder, check=False)  # checked (in a worker) when the Train tab is first shown

    def startup_model(self) -> tuple[str | None, str]:
        """The model to start with (None: the built-in one) and a message when the remembered one is gone."""
        stored = settings.get("model/active", BUILTIN)
        if stored == BUILTIN:
            return None, ""
        path = resource(stored[len("resource:"):]) if stored.startswith("resource:") else Path(stored)
        if path.exists():
            return str(path), ""
        settings.remove("model/active")
        return None, f"The model used last time is gone ({path}); using the built-in model."

    # -- save -------------------------------------------------------------------------------------------------
    def save(self) -> None:
        """At quit: layout and preferences. (The model, the data folder, recent files and dialog folders are
        stored as they are chosen.)"""
        w = self.window
        settings.put("window/geometry", w.saveGeometry().data())
        settings.put("window/state", w.saveState().data())
        for splitter in self._splitters():
            settings.put(f"splitters/{splitter.objectName()}", splitter.saveState().data())
        settings.put("window/tab", w.tabs.currentIndex())
        settings.put("classify/top_k", w.classify_tab.top_k)
        settings.put("train/settings", w.train_tab.form())
        settings.sync()

    @staticmethod
    def remember_model(path: str) -> None:
        """A model finished loading: start with it next time (and list it under Open Recent)."""
        p = Path(path).resolve()
        if p == default_model_path().resolve():
            settings.put("model/active", BUILTIN)
            return
        try:
            settings.put("model/active", "resource:" + p.relative_to(resources_dir().resolve()).as_posix())
        except ValueError:  # not bundled with the app: the user's own model
            settings.put("model/active", str(p))
            recent.add("models", [p])

    @staticmethod
    def remember_data_folder(folder: str) -> None:
        if folder and Path(folder).is_dir():
            settings.put("train/data", str(Path(folder).resolve()))

    # -- reset ------------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every setting and put the layout and preferences back to their defaults now. The model and
        data folder in use stay for this session but are no longer remembered."""
        settings.reset()
        w = self.window
        w.resize(*DEFAULT_SIZE)
        for splitter in self._splitters():
            default = self._defaults["splitters"].get(splitter.objectName())
            if default is not None:
                splitter.restoreState(default)
        w.tabs.setCurrentIndex(0)
        w.classify_tab.top_k = self._defaults["top_k"]
        w.train_tab.set_form(self._defaults["train"])

    # -- helpers ----------------------------------------------------------------------------------------------
    def _splitters(self) -> list[QSplitter]:
        """Named splitters only: the name is the settings key."""
        return [s for s in self.window.findChildren(QSplitter) if s.objectName()]
