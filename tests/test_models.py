"""One resolver for "a model the user named": built-in names, artifacts, manifests and run folders load the same
way in predict, evaluate, export, serve and the window; every failure is one line. `export` takes each kind and
gives the app's probabilities; an ensemble becomes one graph averaging its members."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from dogbreed_desktop.cli import main
from dogbreed_desktop.core.model.artifact import ArtifactError
from dogbreed_desktop.core.model.models import load_model, model_files, resolve_model
from dogbreed_desktop.core.predict.preprocess import Preprocessing, normalize, prepare
from dogbreed_desktop.paths import BUILTIN_MODELS, resource


def test_names_paths_manifests_and_run_folders_resolve_alike(tmp_path):
    assert resolve_model(None) == resolve_model("balanced") == resource(BUILTIN_MODELS["balanced"])
    assert resolve_model("fast") == resource(BUILTIN_MODELS["fast"])
    assert resolve_model("accurate") == resource(BUILTIN_MODELS["accurate"])
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(resolve_model("fast"), run / "model.safetensors")
    assert resolve_model(run) == run / "model.safetensors"
    assert load_model(str(run)).members[0].classes == load_model("fast").members[0].classes
    assert len(load_model("accurate").members) == 2
    files = model_files("accurate")
    assert files[0].suffix == ".json" and [f.suffix for f in files[1:]] == [".safetensors"] * 2
    assert model_files("fast") == [resolve_model("fast")]
    for bad, words in ((tmp_path / "nope.safetensors", "model file not found"),
                       (tmp_path, "is a folder without model.safetensors"), ("fastest", "model file not found")):
        with pytest.raises(ArtifactError, match=words) as e:
            resolve_model(bad)
        assert "\n" not in str(e.value)


def test_cli_commands_say_one_line_for_a_model_that_is_not_there(tmp_path, capsys):
    from PIL import Image

    (tmp_path / "data" / "pug").mkdir(parents=True)
    photo = tmp_path / "data" / "pug" / "p.png"
    Image.new("RGB", (40, 40)).save(photo)
    for argv in (["predict", str(photo), "--model", str(tmp_path / "x")],
                 ["evaluate", "--data", str(tmp_path / "data"), "--model", "x.safetensors"],
                 ["serve", "--port", "0", "--model", "fastest"],
                 ["export", "x.safetensors", "--out", str(tmp_path / "m.onnx")]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert err.count("\n") == 1 and "model file not found" in err and "Traceback" not in err, err


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fast", "balanced", "accurate"])
def test_export_takes_built_in_names_and_gives_the_apps_probabilities(name, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    from dogbreed_desktop.core.predict.classifier import Classifier

    out = tmp_path / f"{name}.onnx"
    assert main(["export", name, "--out", str(out)]) == 0, capsys.readouterr().err
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    inputs = json.loads(meta["inputs"])
    assert [i.name for i in session.get_inputs()] == [i["name"] for i in inputs]
    clf = Classifier.load(name)
    # the accurate ensemble: one input per member's size; balanced's gate member is not in the graph
    assert len(inputs) == len({a.preprocessing for a in clf.model.members})
    from PIL import Image

    rng = np.random.default_rng(0)
    photos = [Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)) for _ in range(3)]
    feed = {}
    for spec in inputs:
        prep = Preprocessing.from_dict(spec["preprocessing"])
        feed[spec["name"]] = normalize(np.stack([prepare(p, prep) for p in photos]), prep)
    ours = session.run(None, feed)[0]
    app = np.array([r.probabilities for r in clf.predict(photos)])
    assert np.abs(ours - app).max() < 1e-4


def test_a_saved_evaluation_is_keyed_on_every_member_of_an_ensemble(tmp_path):
    """Retraining one member of an ensemble (the manifest unchanged) must not bring back the old evaluation."""
    from dogbreed_desktop.core.datasets import LabelledImage
    from dogbreed_desktop.core.evaluate.report.cache import cache_key

    for f in model_files("accurate"):
        shutil.copy(f, tmp_path / f.name)
    manifest = tmp_path / resolve_model("accurate").name
    items = [LabelledImage(tmp_path / "a.jpg", "pug")]
    before = cache_key(manifest, items)
    assert cache_key(manifest, items) == before
    member = model_files(manifest)[2]
    member.write_bytes(member.read_bytes() + b" ")
    assert cache_key(manifest, items) != before


def test_a_saved_evaluation_is_keyed_on_the_engines_graph_version(monkeypatch):
    """Evaluations saved by an app whose graphs stored other weights (float32 before version 2) are not served."""
    from dogbreed_desktop.core.datasets import LabelledImage
    from dogbreed_desktop.core.engine import graphs
    from dogbreed_desktop.core.evaluate.report.cache import cache_key

    items = [LabelledImage(resolve_model("fast").parent / "a.jpg", "pug")]
    now = cache_key("fast", items)
    monkeypatch.setattr(graphs, "GRAPH_VERSION", "1")
    assert cache_key("fast", items) != now


@pytest.mark.slow
def test_the_window_exports_the_accurate_model_it_has_open(qtbot, tmp_path):
    """File ▸ Export Model… with the accurate ensemble active (it said "model file not found" before)."""
    pytest.importorskip("onnxruntime")
    from gui_support import make_window

    w = make_window(qtbot)
    with qtbot.waitSignal(w.client.model_loaded, timeout=120_000):
        w.open_model_path("accurate")
    assert w.model_actions["accurate"].isChecked()
    out = tmp_path / "accurate.onnx"
    with qtbot.waitSignal(w.exporter.exported, timeout=300_000) as done:
        w.exporter.export(w.client.model.path, str(out))
    assert done.args == [str(out)] and out.stat().st_size > 1_000_000 and (tmp_path / "labels.txt").is_file()
