"""Getting the engine's ONNX graphs: the checked one already there, or one made now (`core.engine.graphs` says
where they live and checks them; this module makes them, so it depends on that one and never the reverse).

A backbone is exported from torch once, at install or build time, in two forms: a *template* that keeps every
weight under its torch name (batch norms unfolded), and the optimised graph the engine runs (the template through
onnxscript's optimizer: batch norms folded, shape arithmetic simplified; about twice the speed of the template in
ONNX Runtime). A fine-tuned backbone has the same architecture, so its graph is the template with its own weights
put in and optimised again: seconds, no torch, where a torch export takes minutes. Without a template (or
without onnx and onnxscript) the fine-tuned backbone is exported from torch.

The optimised graph stores its large weights as float16, each read through a Cast to float32: about half the
file (the classify-only bundle carries three graphs and keeps to 300 MB). ONNX Runtime folds those Casts when it
makes a session, so it computes in float32 as before; only the stored weights are rounded. Templates stay
float32: fine-tuned weights are put into them.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from ..model.artifact import ModelArtifact
from ..files import atomic_write
from .graphs import (GRAPH_VERSION, OUTPUTS, STILL_RUN, GraphUnavailable, builtin_graph_paths, candidates,
                     graph_matches, graph_version, package_artifact, source_id, supported, template_path)
from ..model.specs import BACKBONES

TEMPLATE = "template-1"  # the templates' `dogbreed_graph`; bump when GraphModule's inputs or outputs change
# float32 tensors with at least HALF_MIN_SIZE values are stored as float16: the convolutions' and the ImageNet head's
# weights, and the folded biases of layers with 1024 channels or more; smaller biases stay float32
HALF_MIN_SIZE = 1024
HALF_MAX = 65504.0  # float16's largest finite value: a tensor with a weight beyond it stays float32
log = logging.getLogger(__name__)


def graph_file(artifact: ModelArtifact, source: str | None = None) -> Path:
    """The checked graph file of this model's backbone, made (once) when missing and torch is installed: what the
    engine runs (`core.engine.ort_sessions`) and `export` builds on."""
    if not supported(artifact):
        raise GraphUnavailable(f"{artifact.backbone} models run on torch, not ONNX Runtime")
    source = source or source_id(artifact)  # a fine-tuned model's is a file hash: callers that have it pass it
    places = candidates(artifact, source)
    older = None  # an older graph that computes the same: run it rather than torch or no graph at all
    for path in places:  # each read once
        version = graph_version(path, artifact.backbone, source)
        if version == GRAPH_VERSION:
            return path
        if version in STILL_RUN and older is None:
            older = path
    if older is not None:
        return older
    target = places[-1]
    log.info("making the ONNX Runtime graph for %s (once) in %s", artifact.backbone, target.parent)
    make_graph(artifact, target, source)  # raises GraphUnavailable where nothing here can make one
    if not graph_matches(target, artifact.backbone, source):
        raise GraphUnavailable(f"the ONNX graph made for {artifact.backbone} at {target} does not load")
    return target


def write_graph_beside(artifact: ModelArtifact) -> Path | None:
    """After training saves a fine-tuned model: its graph beside it, so the model classifies without torch
    anywhere it is copied with its folder. Package backbones share the installed graph (made if missing)."""
    if not supported(artifact):
        return None
    if artifact.backbone_weights.get("source") != "embedded":
        graph_file(artifact)
        return None
    source = source_id(artifact)
    target = candidates(artifact, source)[0]
    make_graph(artifact, target, source)
    return target


def make_graph(artifact: ModelArtifact, target: Path, source: str) -> None:
    """The optimised graph of `artifact`'s backbone at `target`, atomically."""
    template = template_path(artifact.backbone) if artifact.backbone_weights.get("source") == "embedded" else None
    if template is not None and _have("onnx", "onnxscript"):
        model = _with_weights(template, artifact.backbone_state or {})
        if model is not None:
            _write(_optimised(model), target, artifact.backbone, source, GRAPH_VERSION)
            return
    if not _have("torch", "onnx", "onnxscript"):
        raise GraphUnavailable(
            f"this build has no ONNX graph for {artifact.backbone} and cannot make one (it needs PyTorch, onnx and "
            "onnxscript); use the full build once to prepare the model"
        )
    _write(_optimised(_export(artifact)), target, artifact.backbone, source, GRAPH_VERSION)


def prepare_builtin_graphs(folder: Path | None = None) -> list[Path]:
    """The template and the graph of every offline backbone in `folder` (default resources/graphs): install and
    build time, so the classify-only bundle and a first launch never need torch."""
    from ..torch.backbones import package_weights_path

    made = []
    for name, graph in builtin_graph_paths(folder).items():
        sha = str(BACKBONES[name].sha256)
        package_weights_path(name)  # the installed weights, checked against their sha256
        template = graph.with_name(graph.name.replace(".onnx", ".template.onnx"))
        if graph_matches(template, name, sha, TEMPLATE):
            if not graph_matches(graph, name, sha):  # a new GRAPH_VERSION: made from the template, no torch
                import onnx

                log.info("making the %s graph from its template", name)
                _write(_optimised(onnx.load(str(template))), graph, name, sha, GRAPH_VERSION)
        else:
            log.info("exporting %s from torch", name)
            model = _export(package_artifact(name))
            _write(model, template, name, sha, TEMPLATE)
            _write(_optimised(model), graph, name, sha, GRAPH_VERSION)
        made += [graph, template]
    return made


def _have(*modules: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in modules)


def _export(artifact: ModelArtifact):
    """The backbone (with the ImageNet head the gate reads) from torch, unoptimised: weights keep their names."""
    import torch

    from ..torch.network import GraphModule, backbone_for

    module = GraphModule(backbone_for(artifact)).eval()
    crop = artifact.preprocessing.crop
    dim = torch.export.Dim
    shapes = ({0: dim("batch", min=1, max=4096), 2: dim("height", min=32, max=4096),
               3: dim("width", min=32, max=4096)},)
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module, (torch.zeros(2, 3, crop, crop),), dynamo=True, input_names=["image"],
                                    output_names=list(OUTPUTS), dynamic_shapes=shapes, verbose=False,
                                    optimize=False)
    return program.model_proto


def _with_weights(template: Path, state: dict):
    """The template with a fine-tuned backbone's weights in place of the package's, or None when they do not
    fit it one to one (then the backbone is exported from torch)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(template))
    del model.metadata_props[:]
    slots = {i.name: i for i in model.graph.initializer if i.name.startswith("backbone.")
             and not i.name.startswith("backbone._fc.")}  # the original ImageNet head stays: the gate reads it
    given = {f"backbone.{k}": v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    if set(given) != set(slots):
        log.info("fine-tuned weights do not match the template (%d vs %d tensors)", len(given), len(slots))
        return None
    for name, value in given.items():
        array = np.ascontiguousarray(value, dtype=np.float32)
        if tuple(slots[name].dims) != array.shape:
            return None
        slots[name].CopyFrom(numpy_helper.from_array(array, name))
    return model


def _optimised(model):
    """The graph the engine runs: optimised by onnxscript, then its large weights stored as float16."""
    import onnxscript.optimizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _half_stored(onnxscript.optimizer.optimize(model))


def _half_stored(model):
    """`model` with each large float32 weight stored as float16 and cast back to float32 by a node ahead of the
    rest (after onnxscript, whose constant folding would undo it). Weights beyond float16's range stay float32."""
    from onnx import TensorProto, helper, numpy_helper

    g = model.graph
    casts, tiny, kept = [], 0, 0
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < HALF_MIN_SIZE:
            continue
        array = numpy_helper.to_array(init)
        if np.abs(array).max() > HALF_MAX:
            kept += 1
            continue
        tiny += int(np.count_nonzero((array != 0) & (np.abs(array) <= 2.0 ** -25)))  # these round to 0
        name = init.name
        init.CopyFrom(numpy_helper.from_array(array.astype(np.float16), f"{name}.fp16"))
        casts.append(helper.make_node("Cast", [f"{name}.fp16"], [name], name=f"{name}.cast", to=TensorProto.FLOAT))
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    log.info("float16 storage: %d weights, %d values flushed to zero, %d tensors kept float32", len(casts), tiny, kept)
    return model


def float32_weights(model):
    """`model` (an engine graph) with each float16-stored weight a float32 initializer again, under the name its
    Cast gave it, and those Casts gone: the plain float32 graph that tools reading the weights expect (the int8
    quantization in benchmarks/). The values stay float16's rounding of the original weights."""
    from onnx import TensorProto, numpy_helper

    g = model.graph
    halves = {i.name: i for i in g.initializer if i.data_type == TensorProto.FLOAT16}
    casts = [n for n in g.node if n.op_type == "Cast" and n.input[0] in halves
             and any(a.name == "to" and a.i == TensorProto.FLOAT for a in n.attribute)]
    for cast in casts:
        init = halves[cast.input[0]]
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float32), cast.output[0]))
        g.node.remove(cast)
    return model


def _write(model, target: Path, backbone: str, source: str, version: str) -> None:
    del model.metadata_props[:]
    for key, value in (("dogbreed_backbone", backbone), ("dogbreed_source", source), ("dogbreed_graph", version)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    data = model.SerializeToString()
    atomic_write(target, lambda tmp: tmp.write_bytes(data), size=len(data))


def main() -> None:
    """`python -m dogbreed_desktop.core.engine.graph_making [FOLDER]`: prepare the built-in graphs."""
    import sys

    logging.basicConfig(format="%(message)s")
    log.setLevel(logging.INFO)  # ours only: onnxscript's optimizer narrates every rewrite at INFO
    for path in prepare_builtin_graphs(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
