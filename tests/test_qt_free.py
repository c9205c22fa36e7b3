"""The core, the training package and the web server import with Qt unavailable (napari's "headless" check)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKED_QT = textwrap.dedent("""
    import importlib, pkgutil, sys

    BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "qtpy", "PyQt5", "PyQt6")

    class NoQt:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: the core must not need Qt")
            return None

    sys.meta_path.insert(0, NoQt())
    import dogbreed_desktop.core, dogbreed_desktop.server, training
    names = []
    for package in (dogbreed_desktop.core, training, dogbreed_desktop.server):
        names.append(package.__name__)
        names += [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    for name in names:
        importlib.import_module(name)
    import dogbreed_desktop.cli, dogbreed_desktop.paths
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED or m.startswith("dogbreed_desktop.gui"))
    assert not leaked, leaked
    print("imported", len(names), "modules without Qt:", " ".join(names))
""")


def test_core_and_training_import_without_qt():
    r = subprocess.run([sys.executable, "-c", BLOCKED_QT], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "dogbreed_desktop.core.predict.classifier" in r.stdout and "training" in r.stdout
    assert "dogbreed_desktop.server.app" in r.stdout
