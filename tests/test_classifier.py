import subprocess
import sys

import torch
from conftest import make_image
from PIL import Image

from dogbreed_desktop.core.predict.classifier import Prediction, PredictionError, collect_images
from dogbreed_desktop.core.control import Control


def test_one_result_per_input_in_order_with_errors_in_place(tmp_path, default_classifier):
    good = [make_image(tmp_path / f"g{i}.png", color=(30 * i, 100, 200)) for i in range(5)]
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("nope")
    inputs = [good[0], tmp_path / "empty.jpg", good[1], good[2], tmp_path / "missing.png", good[3],
              tmp_path / "text.jpg", good[4]]
    results = default_classifier.predict(inputs, batch_size=2, top_k=5)
    assert [r.source for r in results] == [str(p) for p in inputs]
    assert [r.ok for r in results] == [True, False, True, True, False, True, False, True]
    errors = {r.source: r.error for r in results if isinstance(r, PredictionError)}
    assert errors[str(tmp_path / "empty.jpg")] == "empty file"
    assert errors[str(tmp_path / "missing.png")] == "file not found"
    for r in results:
        if isinstance(r, Prediction):
            assert len(r.probabilities) == 120 and abs(sum(r.probabilities) - 1) < 1e-4
            assert [s.probability for s in r.top_k] == sorted((s.probability for s in r.top_k), reverse=True)
            assert r.top_k[0].probability == max(r.probabilities) and len(r.top_k) == 5


def test_batching_does_not_change_results(tmp_path, default_classifier):
    paths = [make_image(tmp_path / f"{i}.jpg", color=(i * 40, 255 - i * 30, 90), size=(120, 80)) for i in range(6)]
    one = default_classifier.predict(paths, batch_size=1)
    six = default_classifier.predict(paths, batch_size=6)
    for a, b in zip(one, six):
        assert torch.allclose(torch.tensor(a.probabilities), torch.tensor(b.probabilities), atol=1e-5)


def test_pil_images_and_top_k_all(default_classifier):
    (r,) = default_classifier.predict([Image.new("RGB", (100, 90), (128, 90, 50))], top_k=500)
    assert r.source == "<image 1>" and len(r.top_k) == 120


def test_stop_request_ends_early(tmp_path, default_classifier):
    paths = [make_image(tmp_path / f"{i}.png") for i in range(8)]
    control = Control()
    seen = []
    for r in default_classifier.iter_predict(paths, batch_size=2, control=control):
        seen.append(r)
        control.stop()
    assert len(seen) == 2


def test_progress_is_reported(tmp_path, default_classifier):
    paths = [make_image(tmp_path / f"{i}.png") for i in range(5)]
    calls = []

    class Recorder(Control):
        def progress(self, done, total, message=""):
            calls.append((done, total))

    default_classifier.predict(paths, batch_size=2, control=Recorder())
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_collect_images_expands_folders(tmp_path):
    make_image(tmp_path / "a" / "x.jpg")
    make_image(tmp_path / "a" / "deep" / "y.PNG")
    (tmp_path / "a" / "notes.txt").write_text("x")
    found = collect_images([tmp_path / "a", tmp_path / "missing.jpg"])
    assert [p.name for p in found] == ["y.PNG", "x.jpg", "missing.jpg"]


def test_inference_path_imports_neither_torchvision_nor_timm(tmp_path):
    photo = make_image(tmp_path / "p.jpg")
    code = (
        "import sys; from dogbreed_desktop.core.predict.classifier import Classifier; "
        f"r = Classifier.load().predict([{str(photo)!r}])[0]; assert r.ok; "
        "bad = [m for m in ('torchvision', 'timm') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
