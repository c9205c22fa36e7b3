"""A model artifact as an ONNX file any runtime can use: normalised image in, calibrated probabilities out.

The graph holds the network, the temperature and the softmax; the metadata holds what a caller needs to feed it
(classes, readable names, preprocessing) as JSON strings. `labels.txt` beside it names the outputs in order.
onnx, onnxscript and onnxruntime are the optional `export` extra, imported only here.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import torch
from torch import nn

from .artifact import ModelArtifact, load_artifact
from .errors import UserError
from .files import write_bytes, write_text

OPSET = 18
INPUT, OUTPUT = "image", "probabilities"
MISSING = ("ONNX export needs the packages onnx and onnxscript (and onnxruntime to check the file): "
           "pip install 'dogbreed-desktop[export]'")


class ExportError(UserError):
    """An export that cannot be done, with a message fit to show the user."""


class CalibratedNet(nn.Module):
    """softmax(logits / temperature): the same probabilities `Classifier.probabilities` gives."""

    def __init__(self, net: nn.Module, temperature: float, mirror: bool = False):
        super().__init__()
        self.net = net
        self.temperature = float(temperature) or 1.0
        self.mirror = mirror  # the artifact's test_time_mirror: average the logits of the image and its mirror

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.net(image).float()
        if self.mirror:
            logits = (logits + self.net(image.flip(3)).float()) / 2
        return torch.softmax(logits / self.temperature, dim=1)


def metadata(artifact: ModelArtifact) -> dict[str, str]:
    p = artifact.preprocessing
    return {
        "dogbreed_format": "dogbreed-onnx/1",
        "name": artifact.name,
        "backbone": artifact.backbone,
        "classes": json.dumps(list(artifact.classes)),
        "class_names": json.dumps(artifact.class_names),
        # The input is the photo upright in RGB, shorter side resized to `resize` with `interpolation`, centre
        # cropped to `crop`, scaled to 0..1, then (x - mean) / std per channel, NCHW float32.
        "preprocessing": json.dumps(p.to_dict()),
        "input_layout": "NCHW float32 RGB, (x/255 - mean) / std",
        "temperature": repr(float(artifact.temperature)),
        "output": "calibrated probabilities, softmax(logits / temperature), in the order of classes",
    }


def _require_onnx():
    try:
        import onnx
        import onnxscript  # noqa: F401 (torch's exporter needs it)
    except ImportError:
        raise ExportError(MISSING) from None
    return onnx


def export_onnx(model: str | Path | ModelArtifact | None, out: str | Path, *, opset: int = OPSET) -> dict[str, Path]:
    """Write `out` (.onnx) and `labels.txt` beside it; returns both paths. `model`: an artifact, a path to one
    or a run folder, or None for the built-in model."""
    onnx = _require_onnx()
    from .network import build_network

    if opset < 17:
        raise ExportError("opset 17 or newer is needed")
    if not isinstance(model, ModelArtifact):
        if model is None:
            from ..paths import default_model_path

            model = default_model_path()
        model = load_artifact(model)
    out = Path(out).expanduser()
    if out.is_dir():
        raise ExportError(f"{out} is a folder; give the .onnx file to write")
    wrapped = CalibratedNet(build_network(model).float(), model.temperature, model.test_time_mirror).eval()
    crop = model.preprocessing.crop
    example = torch.zeros(2, 3, crop, crop)
    batch = torch.export.Dim("batch", min=1, max=4096)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), torch.no_grad():
            program = torch.onnx.export(wrapped, (example,), None, opset_version=opset, dynamo=True,
                                        input_names=[INPUT], output_names=[OUTPUT],
                                        dynamic_shapes={"image": {0: batch}}, verbose=False)
    except Exception as e:  # the exporter's own errors are long; the first line says enough
        raise ExportError(f"the ONNX exporter failed: {type(e).__name__}: {str(e).splitlines()[0][:300]}") from e
    proto = program.model_proto
    for key, value in metadata(model).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "Dog Breed Studio"
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    write_bytes(out, data)
    labels = out.with_name("labels.txt")
    text = "".join(f"{name}\n" for name in model.class_names)
    write_text(labels, text)
    return {"model": out, "labels": labels}
