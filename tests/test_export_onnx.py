"""ONNX export: onnxruntime on the CPU gives the app's probabilities (within 1e-4) for the built-in model and for
models from both training modes (a file written by torch's exporter against the app on torch: it holds float32
weights, where the engine's graphs store float16 ones); the file carries its classes, preprocessing and
temperature."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.core.export.export_onnx import ExportError, export_onnx
from dogbreed_desktop.core.files import write_text
from dogbreed_desktop.core.predict.preprocess import Preprocessing, normalize, prepare

pytestmark = pytest.mark.slow  # among the slowest: `-m "not slow"` leaves them out

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
SIZE = 32


def onnx_probabilities(path, images, prep) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    batch = normalize(np.stack([prepare(p, prep) for p in images]), prep)
    return session.run(None, {session.get_inputs()[0].name: batch})[0]


def app_probabilities(classifier, images) -> np.ndarray:
    """The app's answers at its default settings (the mirror view only for photos the first view leaves under
    `Classifier.mirror_below` sure), which the exported graph computes too."""
    return np.array([r.probabilities for r in classifier.predict(images)])


def predict_json(classes, images, *args) -> np.ndarray:
    """`predict --json` with every breed listed: what a user compares the exported file with."""
    r = subprocess.run([sys.executable, "-m", "dogbreed_desktop", "predict", "--json", "--top-k", "120", *args,
                        *map(str, images)], capture_output=True, text=True, timeout=300, check=True)
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    out = np.zeros((len(rows), len(classes)))
    for row, answer in zip(out, rows):
        for s in answer["top_k"]:
            row[classes.index(s["breed"])] = s["probability"]
    return out


def mirrored_somewhere(classifier, images) -> bool:
    """Whether some of these photos get the mirror view at the default `mirror_below` and some do not."""
    before, classifier.mirror_below = classifier.mirror_below, 2.0
    try:
        always = app_probabilities(classifier, images)
    finally:
        classifier.mirror_below = before
    changed = np.abs(always - app_probabilities(classifier, images)).max(axis=1) > 1e-6
    return bool(changed.any() and not changed.all())


@pytest.mark.realdata
def test_builtin_model_gives_the_same_probabilities_as_the_app(real_photos, default_classifier, tmp_path):
    written = export_onnx(None, tmp_path / "out" / "dogs.onnx")
    proto = onnx.load(str(written["model"]))
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # a named, dynamic batch axis
    meta = {p.key: p.value for p in proto.metadata_props}
    clf = default_classifier
    assert json.loads(meta["classes"]) == clf.classes and json.loads(meta["class_names"]) == clf.class_names
    assert Preprocessing.from_dict(json.loads(meta["preprocessing"])) == clf.preprocessing
    assert float(meta["temperature"]) == pytest.approx(clf.temperature)
    assert written["labels"].read_text(encoding="utf-8").splitlines() == clf.class_names
    photos = [p for p, _ in real_photos[::75]]  # 8 breeds
    assert mirrored_somewhere(clf, photos)  # so the file's choice of views per photo is checked
    ours = onnx_probabilities(written["model"], photos, clf.preprocessing)
    assert ours.shape == (len(photos), 120)
    assert np.abs(ours - predict_json(clf.classes, photos)).max() < 1e-4
    one = onnx_probabilities(written["model"], photos[:1], clf.preprocessing)  # another batch size
    assert np.abs(one[0] - ours[0]).max() < 1e-5


@pytest.mark.realdata
def test_the_weighted_accurate_ensemble_gives_the_same_probabilities_as_the_app(real_photos, tmp_path):
    """Two backbones at two resolutions (one input each), member weights and the ensemble's temperature."""
    clf = Classifier.load("accurate")
    written = export_onnx("accurate", tmp_path / "accurate.onnx")
    session = ort.InferenceSession(str(written["model"]), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["member_weights"]) == pytest.approx(clf.model.member_weights)
    assert len(set(clf.model.member_weights)) > 1  # the shipped ensemble is a weighted one
    photos = [p for p, _ in real_photos[::75]]
    assert mirrored_somewhere(clf, photos)
    feeds = {i.name: normalize(np.stack([prepare(p, prep) for p in photos]), prep)
             for i, prep in zip(session.get_inputs(), clf.preprocessings)}
    assert len(feeds) == 2
    ours = session.run(None, feeds)[0]
    assert np.abs(ours - app_probabilities(clf, photos)).max() < 1e-4


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    from training.synthetic import make_shapes

    return make_shapes(tmp_path_factory.mktemp("shapes") / "data", per_class=6, size=SIZE, classes=["circle", "square", "cross"])


@pytest.mark.parametrize("mode, route", [("fast", "torch"), ("finetune", "graphs")])
def test_trained_models_export_with_the_same_answers(mode, route, shapes, tmp_path, monkeypatch):
    """Written around the engine's backbone graph, or (as for torchvision backbones) by torch's exporter: both
    give the app's answers."""
    if mode == "finetune":
        pytest.importorskip("torchvision")
    from training.config import make_config
    from training.run import start_run

    cfg = make_config(shapes, device="cpu", mode=mode, image_size=SIZE, epochs=1, batch_size=8, lr=1e-3,
                      patience=0, cache_dir=str(tmp_path / "cache"), decode_threads=2)
    start_run(cfg, tmp_path / "run")
    clf = Classifier.load(tmp_path / "run")
    if route == "torch":
        from dogbreed_desktop.core.engine import graphs

        monkeypatch.setattr(graphs, "supported", lambda artifact: False)
    written = export_onnx(tmp_path / "run", tmp_path / "model.onnx")
    proto = onnx.load(str(written["model"]))
    assert (proto.producer_name, {o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")}) == \
        ("Dog Breed Studio", {18})
    composed = any(i.name == "m0.head.weight" for i in proto.graph.initializer)  # core/export/export_graph.py's naming
    assert composed == (route == "graphs")
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["classes"]) == ["circle", "cross", "square"]
    assert float(meta["temperature"]) == pytest.approx(clf.temperature) and clf.temperature != 1.0
    photos = sorted(shapes.rglob("*.png"))[::3]
    if route == "torch":  # the weights as torch holds them, float32: the app on torch has them too
        clf = Classifier.load(tmp_path / "run", engine="torch")
    diff = np.abs(onnx_probabilities(written["model"], photos, clf.preprocessing) - app_probabilities(clf, photos))
    assert diff.max() < 1e-4


def test_an_out_whose_parent_is_a_file_is_said_plainly(tmp_path):
    """Not mkdir's "[Errno 17] File exists: 'photo.jpg'": export says the parent is a file, before any work."""
    (tmp_path / "photo.jpg").write_bytes(b"x")
    for out in (tmp_path / "photo.jpg" / "x.onnx", tmp_path / "photo.jpg" / "deeper" / "x.onnx"):
        r = subprocess.run([sys.executable, "-m", "dogbreed_desktop", "export", "--out", str(out)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and "Errno" not in r.stderr, r.stderr
        assert r.stderr.strip().endswith(f"{tmp_path / 'photo.jpg'} is a file, not a folder")
    with pytest.raises(NotADirectoryError, match="photo.jpg is a file, not a folder"):
        write_text(tmp_path / "photo.jpg" / "labels.txt", "beagle\n")  # every writer says it so
    assert [p.name for p in tmp_path.iterdir()] == ["photo.jpg"]


def test_missing_packages_and_bad_targets_get_a_clear_message(tmp_path, monkeypatch):
    r = subprocess.run([sys.executable, "-m", "dogbreed_desktop", "export", str(tmp_path / "nope.safetensors"),
                        "--out", str(tmp_path / "x.onnx")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "model file not found" in r.stderr and not (tmp_path / "x.onnx").exists()
    with pytest.raises(ExportError, match="is a folder"):
        export_onnx(None, tmp_path)
    newest = onnx.defs.onnx_opset_version()
    for opset in (17, newest + 1):
        with pytest.raises(ExportError, match=f"opset {opset} is not supported: export writes opsets 18 to {newest} "):
            export_onnx(None, tmp_path / "x.onnx", opset=opset)
    r = subprocess.run([sys.executable, "-m", "dogbreed_desktop", "export", "--opset", "99", "--out",
                        str(tmp_path / "x.onnx")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "opsets 18 to" in r.stderr, r.stderr
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the export extra were not installed
    with pytest.raises(ExportError, match=r"pip install 'dogbreed-desktop\[export\]'"):
        export_onnx(None, tmp_path / "y.onnx")
    assert list(tmp_path.iterdir()) == []
