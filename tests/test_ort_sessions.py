"""The engine runs each graph at fixed shapes (core/engine/ort_sessions.py): batches padded up to a few sizes give every
picture exactly its own outputs, larger batches run in pieces, other picture sizes run with free dimensions, and
the number of sessions stays bounded whatever the batch sizes."""

from __future__ import annotations

import numpy as np
import pytest

from dogbreed_desktop.core.engine.engine import OrtEngine
from dogbreed_desktop.core.engine.graph_making import graph_file
from dogbreed_desktop.core.engine.graphs import package_artifact
from dogbreed_desktop.core.engine.ort_sessions import BUCKETS, GraphSessions, open_graph

OUT = ["features", "imagenet_logits", "feature_map"]


def test_fixed_shapes_give_the_free_graphs_outputs_for_any_batch():
    a = package_artifact("efficientnet_lite0")
    free = open_graph(graph_file(a), 2)
    graph = GraphSessions(graph_file(a), 2, a.preprocessing.crop)
    x = np.random.default_rng(0).uniform(-1, 1, (37, 3, 224, 224)).astype(np.float32)
    for n in (1, 3, 8, 32, 37):
        got, want = graph.run(OUT, x[:n]), free.run(OUT, {"image": x[:n]})
        assert [g.shape for g in got] == [w.shape for w in want]
        assert all(np.abs(g - w).max() < 1e-4 for g, w in zip(got, want)), n
    # a picture's outputs do not depend on what shares its batch (padding included)
    alone = graph.run(OUT, x[36:37])
    assert all(np.abs(g[36] - a1[0]).max() < 1e-4 for g, a1 in zip(graph.run(OUT, x[:37]), alone))
    wide = np.random.default_rng(1).uniform(-1, 1, (2, 3, 224, 300)).astype(np.float32)  # a heatmap's photo
    assert graph.run(OUT, wide)[2].shape == free.run(OUT, {"image": wide})[2].shape == (2, 1280, 7, 10)
    for n in range(1, 70):
        graph.run(["features"], x[: min(n, 37)])
    assert graph.sessions <= len(BUCKETS) + 1


def test_the_engine_shares_one_graph_between_members_of_one_backbone():
    a = package_artifact("efficientnet_lite0")
    engine = OrtEngine([a, a], n_threads=1)
    assert engine._graphs[0] is engine._graphs[1]
    x = np.zeros((3, 3, 224, 224), np.float32)
    assert engine.run(1, x).features.shape == (3, 1280) and engine.run(0, x, feature_map=True).feature_map is not None


def test_a_graph_that_does_not_load_is_one_line_naming_the_file_and_why(tmp_path, monkeypatch, capsys):
    import onnxruntime as ort
    from conftest import make_image

    from dogbreed_desktop.cli import main
    from dogbreed_desktop.core.engine.ort_sessions import GraphUnreadable
    from dogbreed_desktop.core.errors import UserError

    bad = tmp_path / "damaged.onnx"
    bad.write_bytes(b"\x08\x07 not a graph")
    with pytest.raises(GraphUnreadable) as e:
        open_graph(bad, 1)
    assert isinstance(e.value, UserError) and e.value.__cause__ is not None
    assert str(bad) in str(e.value) and "\n" not in str(e.value) and str(e.value).split(": ", 2)[-1]
    # In `predict`: the graph checks out, then ONNX Runtime fails to plan it (what a damaged install or a
    # full memory looks like from here) while the model warms up: one line, not a traceback.
    from collections import OrderedDict

    from dogbreed_desktop.core.predict import model_cache

    monkeypatch.setattr(model_cache, "_cache", OrderedDict())  # a model loaded by an earlier test is not reused
    real = ort.InferenceSession

    def failing(path, options, **kw):
        if options.graph_optimization_level != ort.GraphOptimizationLevel.ORT_DISABLE_ALL:
            real(str(bad), options, **kw)  # ONNX Runtime's own error, for a planned session
        return real(path, options, **kw)

    monkeypatch.setattr(ort, "InferenceSession", failing)
    photo = make_image(tmp_path / "dog.jpg", size=(200, 150))
    assert main(["predict", str(photo)]) == 2  # a model that cannot be used (cli.common.classifier_for)
    err = capsys.readouterr().err
    assert err.startswith("dogbreed-desktop: error: cannot load model: ONNX Runtime cannot load the graph ")
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_each_batch_size_runs_at_its_own_fixed_shape():
    """The speed comes from fixed shapes: a session that silently fell back to free dimensions would still give
    the right answers, so the shape each batch size runs at is checked itself."""
    a = package_artifact("efficientnet_lite0")
    graph = GraphSessions(graph_file(a), 1, a.preprocessing.crop)
    x = np.zeros((BUCKETS[-1] + 3, 3, 224, 224), np.float32)
    for n, bucket in ((1, 1), (3, 4), (5, 8), (32, 32), (35, 32)):
        graph.run(["features"], x[:n])
        session = graph._session(bucket)
        assert session is not graph._free and session.get_inputs()[0].shape == [bucket, 3, 224, 224], n
    assert graph._free is None  # no batch at the model's crop went to the free-dimension session
