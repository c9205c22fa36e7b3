"""The engine's graphs store their large weights as float16 and compute in float32 (core/engine/graph_making.py):
half the file, and ONNX Runtime folds the Casts back to float32 weights when it makes a session."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from dogbreed_desktop.core.engine.graph_making import HALF_MIN_SIZE, _half_stored, float32_weights, graph_file
from dogbreed_desktop.core.engine.graphs import package_artifact, template_path
from dogbreed_desktop.core.engine.ort_sessions import open_graph, session_options
from dogbreed_desktop.core.predict.preprocess import normalize, prepare


def test_the_graph_stores_large_weights_as_float16_and_agrees_with_the_float32_template(tmp_path):
    a = package_artifact("efficientnet_lite0")
    graph, template = graph_file(a), template_path("efficientnet_lite0")
    model = onnx.load(str(graph))
    casts = {n.input[0]: n for n in model.graph.node if n.op_type == "Cast"}
    for init in model.graph.initializer:
        if init.data_type == TensorProto.FLOAT16:  # each read through its own Cast to float32
            assert casts[init.name].attribute[0].i == TensorProto.FLOAT
        elif init.data_type == TensorProto.FLOAT:  # biases and other small tensors stay float32
            assert int(np.prod(init.dims)) < HALF_MIN_SIZE, init.name
    assert len(casts) > 50

    # a noisy synthetic picture: the outputs agree with the float32 template's within float16's rounding
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (200, 260, 3), dtype=np.uint8)).save(tmp_path / "noise.png")
    x = normalize(prepare(tmp_path / "noise.png", a.preprocessing)[None], a.preprocessing)
    names = ["features", "imagenet_logits"]
    got = open_graph(graph, 1).run(names, {"image": x})
    want = open_graph(template, 1).run(names, {"image": x})
    for g, w in zip(got, want):
        assert np.abs(g - w).max() < 0.02 * np.abs(w).max(), (np.abs(g - w).max(), np.abs(w).max())
    assert got[1].argmax() == want[1].argmax()

    # ONNX Runtime folds every Cast when it makes the session: it runs float32 weights, as before
    import onnxruntime as ort

    opts = session_options(1, (1, 224, 224))
    opts.optimized_model_filepath = str(tmp_path / "planned.onnx")
    ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])
    planned = onnx.load(str(tmp_path / "planned.onnx"))
    assert not [n for n in planned.graph.node if n.op_type == "Cast"]
    assert not [i for i in planned.graph.initializer if i.data_type == TensorProto.FLOAT16]


def test_weights_beyond_float16s_range_and_small_tensors_stay_float32():
    rng = np.random.default_rng(1)
    big = rng.standard_normal((32, 64)).astype(np.float32)
    huge = big.copy()
    huge[0, 0] = 1e5  # beyond float16's 65504: would become inf
    bias = rng.standard_normal(64).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "big"], ["y"]), helper.make_node("MatMul", ["x", "huge"], ["z"]),
         helper.make_node("Add", ["y", "bias"], ["out"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 64]) for n in ("out", "z")],
        [numpy_helper.from_array(v, n) for n, v in (("big", big), ("huge", huge), ("bias", bias))])
    model = _half_stored(helper.make_model(graph))
    onnx.checker.check_model(model)
    types = {i.name: i.data_type for i in model.graph.initializer}
    assert types == {"big.fp16": TensorProto.FLOAT16, "huge": TensorProto.FLOAT, "bias": TensorProto.FLOAT}
    import onnxruntime as ort

    x = rng.standard_normal((1, 32)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), session_options(1), providers=["CPUExecutionProvider"])
    out, z = session.run(["out", "z"], {"x": x})
    np.testing.assert_allclose(out, x @ big.astype(np.float16).astype(np.float32) + bias, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(z, x @ huge)


def test_float32_weights_gives_tools_the_stored_weights_as_plain_float32_initializers():
    """What the int8 benchmarks quantize from: no Cast, no float16 left, and the same outputs as the graph."""
    a = package_artifact("efficientnet_lite0")
    graph = graph_file(a)
    model = float32_weights(onnx.load(str(graph)))
    onnx.checker.check_model(model)
    assert not [n for n in model.graph.node if n.op_type == "Cast" and n.input[0].endswith(".fp16")]
    assert {i.data_type for i in model.graph.initializer} <= {TensorProto.FLOAT, TensorProto.INT64}
    stored = {i.name[: -len(".fp16")]: numpy_helper.to_array(i) for i in onnx.load(str(graph)).graph.initializer
              if i.data_type == TensorProto.FLOAT16}
    plain = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer if i.name in stored}
    assert len(plain) == len(stored) and all(np.array_equal(plain[k], v.astype(np.float32)) for k, v in stored.items())
    import onnxruntime as ort

    x = np.random.default_rng(2).standard_normal((1, 3, 224, 224)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), session_options(1), providers=["CPUExecutionProvider"])
    got, want = session.run(None, {"image": x}), open_graph(graph, 1).run(None, {"image": x})
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_a_float32_graph_of_version_1_still_runs_where_no_newer_one_can_be_made(tmp_path, monkeypatch):
    """A fine-tuned run copied from an older app carries a version-1 graph (float32 weights, the same arithmetic);
    an app that cannot make graphs (the classify-only build has no onnx) runs it rather than refusing the run."""
    import dogbreed_desktop.core.engine.graph_making as gm
    from dogbreed_desktop.core.engine.graphs import GRAPH_VERSION, GraphUnavailable, graph_matches

    a = package_artifact("efficientnet_lite0")
    sha = str(a.backbone_weights["sha256"])
    old = onnx.load(str(template_path("efficientnet_lite0")))  # float32 weights, like a version-1 graph
    gm._write(old, tmp_path / "old.onnx", a.backbone, sha, "1")
    assert GRAPH_VERSION != "1" and not graph_matches(tmp_path / "old.onnx", a.backbone, sha)
    monkeypatch.setattr(gm, "candidates", lambda artifact, source: [tmp_path / "old.onnx", tmp_path / "new.onnx"])

    def cannot_make(*args, **kwargs):
        raise GraphUnavailable("no onnx in this build")

    monkeypatch.setattr(gm, "make_graph", cannot_make)
    assert graph_file(a) == tmp_path / "old.onnx"
    gm._write(old, tmp_path / "old.onnx", a.backbone, sha, "0")  # a version that no longer runs: refused
    with pytest.raises(GraphUnavailable, match="no onnx"):
        graph_file(a)
