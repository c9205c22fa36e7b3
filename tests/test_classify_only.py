"""The classify-only build (no torch, no onnx): training and GPUs are refused with one sentence naming PyTorch,
ONNX export with one naming onnx, the same in the window and on the command line, and the CPU engine never reaches
for torch. torch and onnx are made unimportable in a child process (as in that bundle); the window's parts are
built with `has_torch` / `has_onnx` answering no. Export itself needs no torch: with onnx back it writes the file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dogbreed_desktop.core.flavour import (EXPORT, TRAINING, NeedsFullBuild, has_onnx, has_torch, needs_full_build,
                                          require_torch)

ROOT = Path(__file__).resolve().parent.parent

WITHOUT_TORCH = textwrap.dedent("""
    import json, sys
    for name in ("torch", "torchvision", "timm", "triton", "onnx"):
        sys.modules[name] = None  # as if not installed: import fails, importlib.util.find_spec says None
    from dogbreed_desktop.cli import main
    from dogbreed_desktop.core.engine import engine
    from dogbreed_desktop.core.predict.classifier import Classifier
    from dogbreed_desktop.paths import default_model_path
    photo, data = sys.argv[1], sys.argv[2]
    codes = {"train": main(["train", "--data", data, "--quiet"]), "export": main(["export", "--out", data + "/m.onnx"]),
             "predict_cuda": main(["predict", "--device", "cuda", photo])}
    del sys.modules["onnx"]  # onnx alone is what export needs: still no torch
    codes["export_with_onnx"] = main(["export", "--out", data + "/m.onnx"])
    engine._gpu_likely = lambda: True  # a machine with an NVIDIA driver: "auto" must still not import torch
    clf = Classifier.load(str(default_model_path()), device="auto")
    print(json.dumps({"codes": codes, "engine": clf.engine.name}))
""")


def test_without_torch_train_export_and_gpus_say_one_sentence_and_the_cpu_engine_runs(tmp_path):
    from PIL import Image

    photo = tmp_path / "dog.png"
    Image.new("RGB", (96, 80), (180, 140, 90)).save(photo)
    r = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, str(photo), str(tmp_path)], capture_output=True,
                       text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-4000:]
    result = __import__("json").loads(r.stdout.strip().splitlines()[-1])
    assert result == {"codes": {"train": 2, "export": 2, "predict_cuda": 2, "export_with_onnx": 0},
                      "engine": "onnxruntime"}
    assert (tmp_path / "m.onnx").stat().st_size > 1_000_000 and (tmp_path / "labels.txt").is_file()
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr
    assert lines[0] == f"dogbreed-desktop: error: {TRAINING}"  # the Train tab's sentence, word for word
    assert lines[1] == f"dogbreed-desktop: error: {EXPORT}"
    assert EXPORT.endswith("has no onnx package.")
    assert needs_full_build("The CUDA GPU") in lines[2]


def test_require_torch_names_what_needs_the_full_build(monkeypatch):
    from dogbreed_desktop.core import flavour

    assert has_torch()  # the test venv is a full install
    require_torch("Training")  # so nothing is refused here
    assert has_onnx()
    monkeypatch.setattr(flavour.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(NeedsFullBuild, match="^Training needs the full build of Dog Breed Studio"):
        require_torch("Training")
    assert not has_onnx()


@pytest.mark.gui
def test_the_train_tab_without_torch_says_so_and_cannot_start(qtbot, tmp_path, monkeypatch):
    from dogbreed_desktop.gui import train_tab

    monkeypatch.setattr(train_tab, "has_torch", lambda: False)
    tab = train_tab.TrainTab(runs_root=tmp_path / "runs")
    qtbot.addWidget(tab)
    tab.show()
    assert tab.unavailable is not None and tab.unavailable.isVisible()
    assert TRAINING in tab.unavailable.text()
    assert not tab.data.isEnabled() and not tab.settings.isEnabled() and not tab.controls.isEnabled()
    assert not tab.controls.start_button.isEnabled()
    tab.data.set_folder(str(tmp_path))  # a folder remembered from last time: not checked
    assert "Checking" not in tab.data.summary.text() and tab.data.report is None
    assert tab.runs.can_resume is False and not tab.runs.resume_button.isEnabled()
    tab.shutdown()


@pytest.mark.gui
def test_the_train_tab_with_torch_shows_no_such_line(qtbot, tmp_path):
    from dogbreed_desktop.gui.train_tab import TrainTab

    tab = TrainTab(runs_root=tmp_path / "runs")
    qtbot.addWidget(tab)
    assert tab.can_train and tab.unavailable is None and tab.data.isEnabled()
    tab.shutdown()


@pytest.mark.gui
def test_export_model_without_onnx_says_so_without_asking_for_a_file(qtbot, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QWidget

    from dogbreed_desktop.core import flavour
    from dogbreed_desktop.gui.exporter import Exporter

    monkeypatch.setattr(flavour, "has_onnx", lambda: False)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: pytest.fail("asked for a file name"))
    exporter, parent = Exporter(), QWidget()
    qtbot.addWidget(parent)
    with qtbot.waitSignal(exporter.failed) as failed:
        exporter.ask_and_export(parent, None)
    assert failed.args == [EXPORT]
    exporter.shutdown()
