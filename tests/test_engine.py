"""The ONNX Runtime engine: the same answers as torch, and no torch anywhere on the classify path (nor in export)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import make_image
from half_support import torch_as_stored

from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.core.predict.heatmap import heatmap_values

# Runs the CLI's `main` in a fresh interpreter and says whether torch was imported by then.
CLI = textwrap.dedent("""
    import json, sys
    from dogbreed_desktop.cli import main
    code = main(sys.argv[1:])
    print(json.dumps({"code": code, "torch": "torch" in sys.modules}))
""")

SERVE = textwrap.dedent("""
    import json, sys, threading, time, httpx
    from dogbreed_desktop.cli import main
    port = sys.argv[2]
    threading.Thread(target=main, args=(["serve", "--port", port],), daemon=True).start()
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    with open(sys.argv[1], "rb") as f:
        r = httpx.post(f"http://127.0.0.1:{port}/api/predictImage", files={"image": ("a.jpg", f, "image/jpeg")})
    print(json.dumps({"code": r.status_code, "torch": "torch" in sys.modules}), flush=True)
    import os
    os._exit(0)
""")

WINDOW = textwrap.dedent("""
    import json, os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from dogbreed_desktop.gui.app import application
    from dogbreed_desktop.gui.main_window import MainWindow
    app = application()
    window = MainWindow()  # the default device, "auto", as a person starts it
    window.show()
    got = []
    window.client.results.connect(lambda rid, verdicts: (got.extend(verdicts), app.quit()))
    window.client.failed.connect(lambda rid, message: (print(message), app.quit()))
    window.start(None, [sys.argv[1]])
    app.exec()
    print(json.dumps({"code": 0 if got else 1, "torch": "torch" in sys.modules}))
    window.close()
""")


# Opens the fast model with the default device ("auto") where the NVIDIA driver reports argv[1] GPUs.
GPU_PROBE = textwrap.dedent("""
    import json, sys
    from dogbreed_desktop.core.engine import engine
    engine.nvidia_gpus = lambda: int(sys.argv[1])
    engine._torch_has_cuda = lambda: True
    from dogbreed_desktop.core.predict.classifier import Classifier
    clf = Classifier.load("fast")
    print(json.dumps({"engine": clf.engine.name, "torch": "torch" in sys.modules}))
""")


def _run(script: str, *args: str) -> dict:
    r = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    return make_image(tmp_path_factory.mktemp("p") / "dog.jpg", size=(320, 240))


def test_predict_and_evaluate_never_import_torch(photo, tmp_path):
    assert _run(CLI, "predict", "--json", photo) == {"code": 0, "torch": False}
    for label in ("beagle", "pug"):  # a tiny labelled folder, one folder per class
        make_image(tmp_path / "data" / label / "a.png", color=(len(label) * 20, 90, 30))
    assert _run(CLI, "evaluate", "--data", tmp_path / "data", "--model", "accurate") == {"code": 0, "torch": False}
    # export too: the file is written around the engine's own graphs (core/export/export_graph.py)
    out = tmp_path / "accurate.onnx"
    assert _run(CLI, "export", "accurate", "--out", out) == {"code": 0, "torch": False} and out.stat().st_size > 1e6


def test_serve_never_imports_torch(photo):
    assert _run(SERVE, photo, _free_port()) == {"code": 200, "torch": False}


def test_a_gpu_driver_alone_does_not_bring_torch_in():
    """Device "auto" asks torch only where the driver reports a GPU; a driver with none classifies on the CPU
    without the seconds of importing torch."""
    assert _run(GPU_PROBE, 0) == {"engine": "onnxruntime", "torch": False}
    assert _run(GPU_PROBE, 1) == {"engine": "onnxruntime", "torch": True}  # asked torch, which found no GPU


@pytest.mark.gui
def test_the_window_classifies_without_torch(photo):
    assert _run(WINDOW, photo) == {"code": 0, "torch": False}


@pytest.mark.realdata
@pytest.mark.parametrize("model", ["fast", "balanced", "accurate"])
def test_onnx_runtime_gives_torch_answers_on_real_photos(model, real_photos):
    photos = [p for p, _ in real_photos[::25]]  # 24 photos of 24 breeds
    ort, ref = Classifier.load(model, device="cpu"), Classifier.load(model, device="cpu", engine="torch")
    assert ort.engine.name == "onnxruntime" and ref.engine.name == "torch"
    torch_as_stored(ref, ort)  # the graphs' float16-stored weights, in torch
    a, b = ort.predict(photos), ref.predict(photos)
    diff = np.abs(np.array([r.probabilities for r in a]) - np.array([r.probabilities for r in b]))
    assert diff.max() < 1e-4, diff.max()
    assert [r.verdict for r in a] == [r.verdict for r in b] and [r.breed for r in a] == [r.breed for r in b]
    assert np.allclose([r.dog_probability for r in a], [r.dog_probability for r in b], atol=1e-4)
    for p in photos[:3]:  # heatmaps (float maps before the 8-bit picture)
        assert np.abs(heatmap_values(ort, p) - heatmap_values(ref, p)).max() < 1e-3


@pytest.mark.parametrize("mode", ["fast", "finetune"])
def test_trained_runs_classify_on_onnx_runtime_like_torch(mode, tmp_path):
    """A fast run shares the installed graph; a fine-tuned backbone gets its own (beside the model, or made from
    the backbone's template in seconds)."""
    if mode == "finetune":
        pytest.importorskip("torchvision")
    from training.config import make_config
    from training.run import start_run
    from training.synthetic import make_shapes

    data = make_shapes(tmp_path / "data", per_class=6, size=32, classes=["circle", "square", "cross"])
    cfg = make_config(data, device="cpu", mode=mode, image_size=32, epochs=2, batch_size=8, lr=1e-3,
                      cache_dir=str(tmp_path / "cache"), decode_threads=1)
    start_run(cfg, tmp_path / "run")
    photos = sorted(data.rglob("*.png"))[::3]
    ort, ref = Classifier.load(tmp_path / "run", device="cpu"), Classifier.load(tmp_path / "run", engine="torch")
    assert ort.engine.name == "onnxruntime"
    torch_as_stored(ref, ort)
    a = np.array([r.probabilities for r in ort.predict(photos)])
    assert np.abs(a - np.array([r.probabilities for r in ref.predict(photos)])).max() < 1e-4


def test_engine_choice_is_explained(monkeypatch):
    from dogbreed_desktop.core.devices import DeviceUnavailable

    with pytest.raises(DeviceUnavailable, match="unknown engine"):
        Classifier.load("fast", engine="tensorrt")
    monkeypatch.setenv("DOGBREED_ENGINE", "torch")
    assert Classifier.load("fast", device="cpu").engine.name == "torch"

