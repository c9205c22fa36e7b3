"""An exported model made from the engine's own backbone graphs: no torch, no tracing, seconds instead of minutes.

Each member's backbone graph (the one ONNX Runtime runs in the app, `core.engine.graphs`) is cut down to its `features`
output, its names prefixed, and the rest is written around it as ONNX nodes: the mirror view as a second half of
the batch, the breed head as a Gemm, the mean of the members' logits, the temperature and the softmax. As in
`Classifier.logits`, a photo's mirror view counts only where the first views leave it under `mirror_below` sure: the
graph computes both views of every photo and picks per photo with a `Where`, so it gives the app's probabilities.
Needs onnx only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..model.ensemble import Ensemble
from ..errors import UserError

FEATURES = "features"


def compose(ens: Ensemble, graphs: list[Path], inputs: list[str], opset: int, mirror_below: float,
            output: str = "probabilities"):
    """One ModelProto: `inputs` (one per preprocessing, NCHW float32, normalised) -> `output` (N, classes).
    `graphs[i]` is member i's backbone graph; photos the first views leave at least `mirror_below` sure keep
    their first view's logits."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    preps = list(dict.fromkeys(a.preprocessing for a in ens.members))
    nodes, inits, opsets = [], [], {}
    const = _constants(inits, numpy_helper)
    firsts, means = [], []  # per member: the first view's logits, and the two views' mean (None: no mirror)
    for i, (artifact, path) in enumerate(zip(ens.members, graphs)):
        backbone = onnx.load(str(path))
        for o in backbone.opset_import:
            opsets[o.domain] = max(opsets.get(o.domain, 0), o.version)
        p = f"m{i}."
        x = inputs[preps.index(artifact.preprocessing)]
        if artifact.test_time_mirror:  # the photo and its mirror image as one batch of 2N
            nodes += [helper.make_node("Slice", [x, const("start", [-1]), const("end", [-(2 ** 63) + 1]),
                                                 const("axis3", [3]), const("step", [-1])], [p + "mirror"]),
                      helper.make_node("Concat", [x, p + "mirror"], [p + "image"], axis=0)]
            x = p + "image"
        _append_backbone(backbone.graph, p, x, nodes, inits)
        k = ens.head_scales[i]  # the member's weight, as Classifier applies it
        weight, bias = (np.asarray(t * k, np.float32) for t in (artifact.head_weight, artifact.head_bias))
        inits += [numpy_helper.from_array(weight, p + "head.weight"), numpy_helper.from_array(bias, p + "head.bias")]
        nodes.append(helper.make_node("Gemm", [p + FEATURES, p + "head.weight", p + "head.bias"], [p + "logits"],
                                      transB=1))
        if artifact.test_time_mirror:  # the two halves: the photos' logits and their mirror images'
            nodes += [helper.make_node("Split", [p + "logits"], [p + "first", p + "second"], axis=0, num_outputs=2),
                      helper.make_node("Add", [p + "first", p + "second"], [p + "both"]),
                      helper.make_node("Mul", [p + "both", "half"], [p + "mean"])]
            firsts.append(p + "first")
            means.append(p + "mean")
        else:
            firsts.append(p + "logits")
            means.append(None)
    scale = 1.0 / (len(ens.members) * (float(ens.temperature) or 1.0))
    inits += [numpy_helper.from_array(np.array(scale, np.float32), "scale"),
              numpy_helper.from_array(np.array(0.5, np.float32), "half")]
    logits = firsts
    if any(means):  # the first views' confidence decides, per photo, whether the mirror view counts
        inits.append(numpy_helper.from_array(np.array(mirror_below, np.float32), "mirror_below"))
        nodes += [helper.make_node("Sum", firsts, ["first_sum"]),
                  helper.make_node("Mul", ["first_sum", "scale"], ["first_scaled"]),
                  helper.make_node("Softmax", ["first_scaled"], ["first_probabilities"], axis=1),
                  helper.make_node("ReduceMax", ["first_probabilities", const("axis1", [1])], ["first_confidence"],
                                   keepdims=1),
                  helper.make_node("Less", ["first_confidence", "mirror_below"], ["use_mirror"])]
        logits = []
        for i, (first, mean) in enumerate(zip(firsts, means)):
            if mean is None:
                logits.append(first)
            else:
                nodes.append(helper.make_node("Where", ["use_mirror", mean, first], [f"m{i}.chosen"]))
                logits.append(f"m{i}.chosen")
    nodes += [helper.make_node("Sum", logits, ["logit_sum"]),
              helper.make_node("Mul", ["logit_sum", "scale"], ["scaled"]),
              helper.make_node("Softmax", ["scaled"], [output], axis=1)]
    graph = helper.make_graph(
        nodes, "dog_breed_studio",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 3, p.crop, p.crop])
         for name, p in zip(inputs, preps)],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", len(ens.members[0].classes)])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = min(model.ir_version, 10)  # what onnxruntime reads today
    if opsets.get("", opset) != opset:
        from onnx import version_converter

        try:
            model = version_converter.convert_version(model, opset)
        except Exception as e:
            raise UserError(f"opset {opset} cannot hold this model's graph ({str(e).splitlines()[-1]})") from e
    return model


def _constants(inits: list, numpy_helper):
    """name, values -> the name of an int64 initializer holding them (made once)."""
    made = {}

    def const(name: str, values: list[int]) -> str:
        if name not in made:
            made[name] = "const." + name
            inits.append(numpy_helper.from_array(np.array(values, np.int64), made[name]))
        return made[name]

    return const


def _append_backbone(g, prefix: str, image: str, nodes: list, inits: list) -> None:
    """The nodes and weights of `g` that `features` needs, names prefixed, its input `image` read from `image`."""
    needed, wanted = [], {FEATURES}
    for node in reversed(g.node):  # graphs are topologically sorted: one backward sweep finds what is needed
        if wanted.intersection(node.output):
            needed.append(node)
            wanted.update(n for n in node.input if n)
    if FEATURES not in {o for n in needed for o in n.output}:
        raise UserError("the backbone graph has no features output")

    def name(n: str) -> str:
        return image if n == "image" else (prefix + n if n else n)

    for node in reversed(needed):
        copy = type(node)()
        copy.CopyFrom(node)
        copy.name = prefix + node.name
        copy.input[:] = [name(n) for n in node.input]
        copy.output[:] = [name(n) for n in node.output]
        nodes.append(copy)
    for init in g.initializer:
        if init.name in wanted:
            copy = type(init)()
            copy.CopyFrom(init)
            copy.name = prefix + init.name
            inits.append(copy)
