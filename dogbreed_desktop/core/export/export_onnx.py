"""A model as an ONNX file any runtime can use: normalised image in, calibrated probabilities out.

The graph holds the network, the temperature and the softmax; the metadata holds what a caller needs to feed it
(classes, readable names, preprocessing) as JSON strings. `labels.txt` beside it names the outputs in order.
An ensemble (the built-in "accurate" model) is one graph too: its members' logits averaged as the app does. Its
members may want different input sizes, so the graph has one input per preprocessing (`image`, `image_1`, ...;
the metadata key `inputs` lists each one's preprocessing).

Models on the EfficientNet-Lite backbones are written around the engine's own backbone graphs
(`core.export.export_graph`: under a second, onnx only); torchvision backbones go through torch's exporter (a
minute or more, and onnxscript too). onnx, onnxscript and onnxruntime are the optional `export` extra.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from ..model.artifact import ModelArtifact
from ..model.ensemble import Ensemble
from ..errors import UserError
from ..engine import graphs
from ..engine.graph_making import graph_file
from .export_graph import compose
from ..files import file_in_the_way, write_bytes, write_text
from ..predict.classifier import Classifier

OPSET = 18
MIRROR_BELOW = Classifier.mirror_below
INPUT, OUTPUT = "image", "probabilities"
MISSING = ("ONNX export needs the packages onnx and onnxscript (and onnxruntime to check the file): "
           "pip install 'dogbreed-desktop[export]'")


class ExportError(UserError):
    """An export that cannot be done, with a message fit to show the user."""


def input_names(count: int) -> list[str]:
    return [INPUT if i == 0 else f"{INPUT}_{i}" for i in range(count)]


def metadata(model: ModelArtifact | Ensemble, mirror_below: float = MIRROR_BELOW) -> dict[str, str]:
    ens = model if isinstance(model, Ensemble) else Ensemble.single(model)
    first = ens.members[0]
    preps = list(dict.fromkeys(a.preprocessing for a in ens.members))
    return {
        "dogbreed_format": "dogbreed-onnx/1",
        "name": ens.name,
        "backbone": "+".join(a.backbone for a in ens.members),
        "classes": json.dumps(list(first.classes)),
        "class_names": json.dumps(first.class_names),
        # The input is the photo upright in RGB, shorter side resized to `resize` with `interpolation`, centre
        # cropped to `crop`, scaled to 0..1, then (x - mean) / std per channel, NCHW float32.
        "preprocessing": json.dumps(preps[0].to_dict()),
        "inputs": json.dumps([{"name": n, "preprocessing": p.to_dict()}
                              for n, p in zip(input_names(len(preps)), preps)]),
        "input_layout": "NCHW float32 RGB, (x/255 - mean) / std",
        "temperature": repr(float(ens.temperature)),
        "member_weights": json.dumps(ens.member_weights),
        "mirror_below": repr(float(mirror_below)),
        "output": "calibrated probabilities, softmax(members' logits averaged with member_weights / temperature), "
                  "in the order of classes; a member with test_time_mirror averages the photo's logits with its "
                  "mirror image's where the first views leave the photo under mirror_below sure, as the app does",
    }


def _require(*modules: str):
    import importlib

    try:
        return [importlib.import_module(m) for m in modules]
    except ImportError:
        raise ExportError(MISSING) from None


def export_onnx(model: str | Path | ModelArtifact | Ensemble | None, out: str | Path, *,
                opset: int = OPSET, mirror_below: float = MIRROR_BELOW) -> dict[str, Path]:
    """Write `out` (.onnx) and `labels.txt` beside it; returns both paths. `model`: an artifact or ensemble, or
    any name `core.model.models.resolve_model` takes (None: the default built-in model). `mirror_below`: as the
    app's `Classifier.mirror_below`, so the file gives the app's probabilities."""
    (onnx,) = _require("onnx")
    from ..model.models import load_model

    newest = onnx.defs.onnx_opset_version()
    # Below 18, torch's exporter silently writes 18 (the backbones' padding needs it); above what the installed
    # onnx knows, its version converter fails on an internal assertion (or torch's silently writes 18 again).
    if not OPSET <= opset <= newest:
        raise ExportError(f"opset {opset} is not supported: export writes opsets {OPSET} to {newest} "
                          f"(the newest the installed onnx {onnx.__version__} knows)")
    out = Path(out).expanduser()
    if out.is_dir():
        raise ExportError(f"{out} is a folder; give the .onnx file to write")
    blocker = file_in_the_way(out.parent)
    if blocker is not None:  # said now, not after the model is built
        raise ExportError(f"cannot write {out}: {blocker} is a file, not a folder")
    ens = model if isinstance(model, Ensemble) else \
        Ensemble.single(model) if isinstance(model, ModelArtifact) else load_model(model)
    preps = list(dict.fromkeys(a.preprocessing for a in ens.members))
    names = input_names(len(preps))
    if all(graphs.supported(a) for a in ens.members):
        proto = compose(ens, [graph_file(a) for a in ens.members], names, opset, mirror_below, OUTPUT)
    else:
        proto = _torch_export(ens, preps, names, opset, mirror_below)
    for key, value in metadata(ens, mirror_below).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "Dog Breed Studio"
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    write_bytes(out, data)
    labels = out.with_name("labels.txt")
    text = "".join(f"{name}\n" for name in ens.members[0].class_names)
    write_text(labels, text)
    return {"model": out, "labels": labels}


def _torch_export(ens: Ensemble, preps: list, names: list[str], opset: int, mirror_below: float):
    """The whole model traced by torch's exporter (torchvision backbones, or an opset the graphs cannot take)."""
    _require("torch", "onnxscript")
    import torch

    from ..torch.network import build_network

    wrapped = _calibrated_net()([build_network(a).float() for a in ens.members],
                                [preps.index(a.preprocessing) for a in ens.members],
                                [bool(a.test_time_mirror) for a in ens.members], ens.temperature,
                                ens.member_weights, mirror_below).eval()
    examples = tuple(torch.zeros(2, 3, p.crop, p.crop) for p in preps)
    batch = torch.export.Dim("batch", min=1, max=4096)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), torch.no_grad():
            program = torch.onnx.export(wrapped, examples, None, opset_version=opset, dynamo=True,
                                        input_names=names, output_names=[OUTPUT],
                                        dynamic_shapes=(tuple({0: batch} for _ in names),), verbose=False)
    except Exception as e:  # the exporter's own errors are long; the first line says enough
        raise ExportError(f"the ONNX exporter failed: {type(e).__name__}: {str(e).splitlines()[0][:300]}") from e
    return program.model_proto


def _calibrated_net():
    import torch
    from torch import nn

    class CalibratedNet(nn.Module):
        """softmax(weighted mean of the members' logits / temperature): what `Classifier.probabilities` gives.
        `inputs[i]` says which input (preprocessing) member i reads; `mirrors[i]`, whether it averages the logits
        of the image and its mirror (the artifact's test_time_mirror) for the photos that the first views leave
        under `mirror_below` sure."""

        def __init__(self, nets: list[nn.Module], inputs: list[int], mirrors: list[bool], temperature: float,
                     weights: list[float], mirror_below: float):
            super().__init__()
            self.nets = nn.ModuleList(nets)
            self.inputs, self.mirrors, self.weights = list(inputs), list(mirrors), list(weights)
            self.temperature = float(temperature) or 1.0
            self.mirror_below = float(mirror_below)

        def forward(self, *images: torch.Tensor) -> torch.Tensor:
            firsts = [net(images[i]).float() for net, i in zip(self.nets, self.inputs)]
            first = torch.softmax(sum(w * x for w, x in zip(self.weights, firsts)) / self.temperature, dim=1)
            use_mirror = first.amax(dim=1, keepdim=True) < self.mirror_below
            total = 0.0
            for net, i, mirror, w, logits in zip(self.nets, self.inputs, self.mirrors, self.weights, firsts):
                if mirror:
                    logits = torch.where(use_mirror, (logits + net(images[i].flip(3)).float()) / 2, logits)
                total = total + w * logits
            return torch.softmax(total / self.temperature, dim=1)

    return CalibratedNet
