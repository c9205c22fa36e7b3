"""The main window: composes the Classify and Train tabs, menus, shortcuts and the status bar, and routes
between them. It does no work itself."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QTabWidget

from ..core.errors import describe
from ..core.imagetypes import IMAGE_SUFFIXES
from ..paths import builtin_model_path, resource
from . import recent, settings
from .about import show_about
from .accessibility import name_widgets
from .classify_tab import ClassifyTab
from .evaluate import EvaluateView
from .exporter import Exporter
from .inference_client import InferenceClient
from .messages import ModelInfo
from .recent import RecentMenu
from .train_tab import TrainTab
from .window_state import WindowState

TITLE = "Dog Breed Studio"
FALLBACK_KEYS = {QKeySequence.StandardKey.Quit: "Ctrl+Q", QKeySequence.StandardKey.HelpContents: "F1"}
IMAGE_FILTER = "Images ({});;All files (*)".format(" ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)))


class MainWindow(QMainWindow):
    def __init__(self, device: str = "auto"):
        super().__init__()
        self.setWindowTitle(TITLE)
        self.setWindowIcon(QIcon(str(resource("icon.png"))))
        self.client = InferenceClient(device, self)
        self.classify_tab = ClassifyTab(self.client)
        self.train_tab = TrainTab()
        self.exporter = Exporter(self)  # the one: File ▸ Export Model… and the Evaluate view's report
        self.evaluate_view = EvaluateView("cpu" if device == "cpu" else "auto", self.exporter)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.classify_tab, "Classify")
        self.tabs.addTab(self.train_tab, "Train")
        self.tabs.addTab(self.evaluate_view, "Evaluate")
        self.setCentralWidget(self.tabs)
        self.model_label, self.progress_bar, self.dialog = QLabel(), QProgressBar(), None
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.hide()
        self.statusBar().addPermanentWidget(self.progress_bar)
        self.statusBar().addPermanentWidget(self.model_label)
        self._build_menus()
        self.client.model_loading.connect(self._on_model_loading)
        self.client.model_loaded.connect(self._on_model_loaded)
        self.client.model_failed.connect(self._on_model_failed)
        self.classify_tab.status.connect(self.statusBar().showMessage)
        self.classify_tab.progress.connect(self._on_progress)
        self.classify_tab.open_clicked.connect(self.open_photos)
        self.train_tab.use_model.connect(self.open_model_path)
        self.train_tab.evaluate_run.connect(self.evaluate_model)
        self.train_tab.run_finished.connect(self._run_finished)
        self.evaluate_view.open_photo.connect(lambda path: self._classify([Path(path)]))
        self.evaluate_view.status.connect(self.statusBar().showMessage)
        self.exporter.status.connect(self.statusBar().showMessage)
        self.stopped_cleanly, self._shut_down = True, False
        # Desktop habits: remembered between runs, recent files, keyboard, accessible names.
        self.state = WindowState(self)
        self.client.model_loaded.connect(lambda info: info and self.state.remember_model(info.path))
        self.classify_tab.dropped.connect(recent.add_paths)
        self.train_tab.folder_chosen.connect(self.state.remember_data_folder)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._on_tab_changed(self.tabs.currentIndex())
        name_widgets(self)

    def start(self, model: str | None, photos: list[Path]) -> None:
        """After the window is shown: load the model (the one given, else the one used last) in the worker,
        then classify any command-line photos."""
        if model is None:
            model, message = self.state.startup_model()
            if message:
                self.statusBar().showMessage(message, 15_000)
        self.client.load_model(model)
        if photos:
            recent.add_paths(photos)
            self.classify_tab.add_paths(photos)

    def open_from_outside(self, paths: list[Path], model: str = "") -> None:
        """Photos from a second launch or the OS (single_instance): bring the window up and classify them."""
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()
        if model:
            self.open_model_path(model)
        if paths:
            self._classify(list(paths))

    def _build_menus(self) -> None:
        def action(menu, text, slot, shortcut=None):
            a = QAction(text, self)
            if isinstance(shortcut, QKeySequence.StandardKey):
                # The platform's keys; some platforms have none for Quit or Help (then ours).
                keys = QKeySequence.keyBindings(shortcut) or [QKeySequence(FALLBACK_KEYS.get(shortcut, ""))]
                a.setShortcuts(keys)
            elif shortcut is not None:
                a.setShortcut(QKeySequence(shortcut))
            a.triggered.connect(slot)
            menu.addAction(a)
            return a

        file = self.menuBar().addMenu("&File")
        action(file, "&Open Photos…", self.open_photos, QKeySequence.StandardKey.Open)
        action(file, "Open &Folder…", self.open_folder, "Ctrl+Shift+O")
        self.recent_menu = RecentMenu(self)
        self.recent_menu.open_paths.connect(self._classify)
        self.recent_menu.open_model.connect(self.open_model_path)
        file.addMenu(self.recent_menu)
        file.addSeparator()
        action(file, "Open &Model…", self.open_model, "Ctrl+M")
        file.addSeparator()
        action(file, "E&valuate Model on Photos…", lambda: self.evaluate_model(None), "Ctrl+Shift+E")
        action(file, "Export Mo&del…", self.export_model, "Ctrl+Shift+M")
        file.addSeparator()
        action(file, "&Export Results as CSV…", self.export_csv, "Ctrl+E")
        file.addSeparator()
        action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        edit = self.menuBar().addMenu("&Edit")
        action(edit, "&Paste Photo", self.paste, QKeySequence.StandardKey.Paste)
        # Copy, Select All and Remove act on the photo list; on the Train tab they are off, so the keys reach
        # the focused field.
        self.list_actions = [
            action(edit, "&Copy", self.classify_tab.copy_selection, QKeySequence.StandardKey.Copy),
            action(edit, "Copy &Results", self.classify_tab.copy_results, "Ctrl+Shift+C"),
            action(edit, "Select &All", self.classify_tab.select_all, QKeySequence.StandardKey.SelectAll),
            action(edit, "&Remove from List", self.classify_tab.remove_selected, QKeySequence.StandardKey.Delete),
            action(edit, "C&lear List", self.classify_tab.clear, "Ctrl+Shift+Delete"),
        ]
        model = self.menuBar().addMenu("&Model")
        self.model_actions = {}
        group = QActionGroup(self)
        for name, text, key in (("fast", "&Fast (EfficientNet-Lite0, for large folders)", "Ctrl+1"),
                                ("balanced", "&Balanced (EfficientNet-Lite1, the default)", "Ctrl+2"),
                                ("accurate", "&Accurate (ensemble, slower)", "Ctrl+3")):
            a = action(model, text, lambda _=False, n=name: self.open_model_path(n), key)
            a.setCheckable(True)
            group.addAction(a)
            self.model_actions[name] = a
        model.addSeparator()
        action(model, "Open &Model…", self.open_model, "Ctrl+Alt+M")  # also File ▸ Open Model… (Ctrl+M)
        edit.addAction(self.classify_tab.why_action)  # Space on the photo list
        self.list_actions.append(self.classify_tab.why_action)
        settings_menu = self.menuBar().addMenu("&Settings")
        action(settings_menu, "&Reset to Defaults…", self.confirm_reset, "Ctrl+Alt+R")
        help_menu = self.menuBar().addMenu("&Help")
        action(help_menu, "&About Dog Breed Studio", lambda: show_about(self, self.client.model),
               QKeySequence.StandardKey.HelpContents)

    # -- actions --------------------------------------------------------------------------------------------
    def open_photos(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open dog photos", settings.dialog_dir("photos"), IMAGE_FILTER)
        if files:
            settings.remember_dialog("photos", files[0])
            self._classify([Path(f) for f in files])

    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of dog photos", settings.dialog_dir("folder"))
        if folder:
            settings.remember_dialog("folder", Path(folder).parent)
            self._classify([Path(folder)])

    def paste(self) -> None:
        self.tabs.setCurrentWidget(self.classify_tab)
        self.classify_tab.paste()

    def open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a model (a .safetensors file, e.g. model.safetensors in a training run folder)",
            settings.dialog_dir("model"), "Dog Breed Studio models (*.safetensors *.json);;All files (*)")
        if path:
            settings.remember_dialog("model", path)
            self.open_model_path(path)

    def open_model_path(self, path: str) -> None:
        """Model ▸ Fast/Balanced/Accurate/Open Model… and the Train tab's "Use this model" end here (a built-in
        model's name, a file or a run folder)."""
        self.tabs.setCurrentWidget(self.classify_tab)
        self.client.load_model(path)

    def export_csv(self) -> None:
        start = str(Path(settings.dialog_dir("export") or Path.home()) / "dog-breeds.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export results", start, "CSV (*.csv)")
        if path:
            settings.remember_dialog("export", Path(path).parent)
            try:
                self.classify_tab.export_csv(path)
            except OSError as e:  # a full disk says where and how much space it needs (core.files.DiskFull)
                self._warn(f"Could not export the results to {path}.", describe(e))
                return
            self.statusBar().showMessage(f"Exported to {path}", 5000)

    def evaluate_model(self, model: str | None = None) -> None:
        """File ▸ Evaluate Model on Photos… (the active model) and the Train tab's runs (a run's model)."""
        info = self.client.model
        label = None
        if model is None and info is not None:
            model, label = info.path, f"Active model: {info.name}"
        self.tabs.setCurrentWidget(self.evaluate_view)
        self.evaluate_view.open_for(model, label)

    def export_model(self) -> None:
        info = self.client.model
        self.exporter.ask_and_export(self, info.path if info else None, info.name if info else "")

    def _run_finished(self, result: dict) -> None:
        """A run that wrote a model is evaluated on its validation photos, ready in the Evaluate tab."""
        if result.get("model_path") and not self.evaluate_view.running:
            self.evaluate_view.evaluate(result["model_path"], None)
            self.statusBar().showMessage("Evaluating the new model on its validation photos (Evaluate tab)", 8000)

    def _classify(self, paths: list[Path]) -> None:
        self.tabs.setCurrentWidget(self.classify_tab)
        recent.add_paths(paths)
        self.classify_tab.add_paths(paths)

    def confirm_reset(self) -> None:
        self.dialog = QMessageBox(QMessageBox.Icon.Question, TITLE, "Reset every setting to its default?",
                                  QMessageBox.StandardButton.Reset | QMessageBox.StandardButton.Cancel, self)
        self.dialog.setInformativeText("Window layout, top-k, training settings, recent files and dialog folders "
                                       "are forgotten. The model and photos open now stay open.")
        self.dialog.button(QMessageBox.StandardButton.Reset).clicked.connect(self.state.reset)
        self.dialog.open()

    # -- routing --------------------------------------------------------------------------------------------
    def _on_tab_changed(self, index: int) -> None:
        on_list = self.tabs.widget(index) is self.classify_tab
        for a in self.list_actions:
            a.setEnabled(on_list)
        pending = self.state.pending_data_folder  # remembered from last time: checked once the tab shows
        if pending and self.tabs.widget(index) is self.train_tab:
            self.state.pending_data_folder = ""
            self.train_tab.show_folder(pending)

    def _on_model_loading(self, path: str) -> None:
        self.model_label.setText(f"Loading model {Path(path).name if path else '(built-in)'}…")

    def _on_model_loaded(self, info: ModelInfo | None) -> None:
        self.model_label.setText(f"Model: {info.name}  ·  {info.device}" if info else "No model loaded")
        for name, a in self.model_actions.items():
            a.setChecked(bool(info) and Path(info.path) == builtin_model_path(name))

    def _on_model_failed(self, path: str, message: str) -> None:
        self._warn(f"Could not load the model {path or '(built-in)'}.", message)  # it keeps the model it has

    def _warn(self, text: str, message: str) -> None:
        self.dialog = QMessageBox(QMessageBox.Icon.Warning, TITLE, text, QMessageBox.StandardButton.Ok, self)
        self.dialog.setInformativeText(message)
        self.dialog.open()  # non-blocking: the window keeps going

    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setVisible(done < total)
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(done)

    def closeEvent(self, event) -> None:
        if not self._shut_down:
            try:
                self.state.save()
            except OSError as e:  # a full disk: said now, while there is a window to say it in
                QMessageBox.warning(self, TITLE, f"Your settings could not be saved. {describe(e)}")
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop every task runner (training, preflight, photo, inference), each waiting with a timeout. Safe to
        call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        stopped = [self.train_tab.shutdown(), self.evaluate_view.shutdown(), self.exporter.shutdown(),
                   self.classify_tab.shutdown(), self.client.shutdown()]
        self.stopped_cleanly = all(stopped)
