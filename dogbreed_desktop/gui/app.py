"""Starting the window: `dogbreed-desktop [--model M] [photos...]` lands in `run`.

The window is shown before torch is imported; the model loads in the inference worker's thread. When a window
is already running for this user, the photos go to it instead (single_instance) and this launch exits.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from ..core import threads
from ..paths import resource
from . import settings, theme
from .main_window import MainWindow


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings.set_app_names(app)
    app.setDesktopFileName("dogbreed-studio")
    app.setWindowIcon(QIcon(str(resource("icon.png"))))
    theme.follow_system(app)
    return app


def run(image_paths: list[str], model: str | None = None) -> int:
    try:
        from . import single_instance
    except ImportError:  # a bundle built without QtNetwork: every launch opens its own window
        single_instance = None
    # DOGBREED_NEW_INSTANCE=1 opens a window of its own even when one is running.
    solo = single_instance is None or os.environ.get("DOGBREED_NEW_INSTANCE")
    if not solo and single_instance.send_to_running(image_paths, model):
        print("dogbreed-desktop: sent to the window that is already open", file=sys.stderr)
        return 0
    threads.decide("gui")  # one core left for the event loop; applied when the worker imports torch
    app = application()
    window = MainWindow()
    if single_instance is not None:
        single_instance.serve(window, app)
    window.show()
    app.aboutToQuit.connect(window.shutdown)  # however the loop ends, the workers stop first
    _close_on_signals(window)
    if os.environ.get("DOGBREED_SMOKE_EXIT_AFTER_VERDICT"):
        # scripts/smoke-test-app.py times launch -> first verdicts on screen as launch -> exit; the installed
        # package's test (scripts/smoke-test-deb.py) keeps a picture of them, DOGBREED_SMOKE_SCREENSHOT.
        shot = os.environ.get("DOGBREED_SMOKE_SCREENSHOT")
        window.classify_tab.request_finished.connect(lambda *_: (shot and window.grab().save(shot), app.exit(0)))
        window.client.model_failed.connect(lambda *_: app.exit(3))
    if os.environ.get("DOGBREED_SMOKE_TRAIN_TAB"):
        # scripts/smoke-test-app.py looks at the Train tab of the built app (the classify-only build's sentence).
        QTimer.singleShot(0, lambda: _show_train_tab(app, window, Path(os.environ["DOGBREED_SMOKE_TRAIN_TAB"])))
    # Load the model and queue the photos once the window is on screen.
    QTimer.singleShot(0, lambda: window.start(model, [Path(p) for p in image_paths]))
    code = app.exec()
    if not window.stopped_cleanly:
        print("dogbreed-desktop: a worker did not stop in time", file=sys.stderr)
    return code


def _show_train_tab(app: QApplication, window: MainWindow, screenshot: Path) -> None:
    """Switch to the Train tab, save a screenshot of the window, print what the tab says, and quit."""
    from PySide6.QtGui import QTextDocumentFragment

    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    app.processEvents()
    saved = window.grab().save(str(screenshot))
    notice = tab.unavailable
    print("train tab:", QTextDocumentFragment.fromHtml(notice.text()).toPlainText() if notice else "can train",
          f"(start enabled: {tab.controls.start_button.isEnabled()}, choose folder enabled: {tab.data.isEnabled()})",
          flush=True)
    app.exit(0 if saved else 4)


def _close_on_signals(window: MainWindow) -> QTimer:
    """Ctrl+C or SIGTERM closes the window (so its workers stop) instead of killing the process mid-batch.
    Python runs signal handlers only between bytecodes, so a timer gives it a chance every 200 ms."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(200)
    return timer
