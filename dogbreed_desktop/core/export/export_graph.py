"""An exported model made from the engine's own backbone graphs: no torch, no tracing, seconds instead of minutes.

Each member's backbone graph (the one ONNX Runtime runs in the app, `core.engine.graphs`) is cut down to its `features`
output, its names prefixed, and the rest is written around it as ONNX nodes: the mirror view as a second half of
the batch, the breed head as a Gemm, the mean of the members' logits, the temperature and the softmax. The file
therefore computes what `Classifier` computes with every photo mirrored (the app mirrors only photos it is unsure
of). Needs onnx only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..model.ensemble import Ensemble
from ..errors import UserError

FEATURES = "features"


def compose(ens: Ensemble, graphs: list[Path], inputs: list[str], opset: int, output: str = "probabilities"):
    """One ModelProto: `inputs` (one per preprocessing, NCHW float32, normalised) -> `output` (N, classes).
    `graphs[i]` is member i's backbone graph."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    preps = list(dict.fromkeys(a.preprocessing for a in ens.members))
    nodes, inits, opsets = [], [], {}
    const = _constants(inits, numpy_helper)
    logits = []
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
        if artifact.test_time_mirror:  # mean of the two halves' logits
            nodes += [helper.make_node("Reshape", [p + "logits", const("halves", [2, -1, len(artifact.classes)])],
                                       [p + "halves"]),
                      helper.make_node("ReduceMean", [p + "halves", const("axis0", [0])], [p + "mean"], keepdims=0)]
            logits.append(p + "mean")
        else:
            logits.append(p + "logits")
    scale = 1.0 / (len(ens.members) * (float(ens.temperature) or 1.0))
    inits.append(numpy_helper.from_array(np.array(scale, np.float32), "scale"))
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
