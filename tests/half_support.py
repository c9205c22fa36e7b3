"""torch running the weights an engine graph stores, so ONNX Runtime can be held to torch's answers tightly.

The engine's graphs store each large weight as float16 (`core.engine.graph_making`, `HALF_MIN_SIZE`, `HALF_MAX`),
and those weights are the optimised graph's: onnxscript has folded most batch norms into their convolutions first.
`torch_as_stored` does the same to the torch engine's EfficientNet-Lite backbones, from torch's own weights: it
folds the batch norms that the graph folded (those the graph still runs as BatchNormalization stay) with
onnxscript's float32 formula, so that the folded weights match the graph's bit for bit (torch's own fusion rounds
differently, and about 1 value in 40,000 of Lite0's then lands on the other float16), then rounds each float32
tensor of at least HALF_MIN_SIZE values to float16 and back, as the graph stores it. Torch and ONNX Runtime then
differ by float32 arithmetic only, while a wrong weight in the graph still shows.
"""

from __future__ import annotations

import itertools

import numpy as np
import onnx
import torch
from onnx import TensorProto
from torch import nn

from dogbreed_desktop.core.engine.graph_making import HALF_MAX, HALF_MIN_SIZE, graph_file

_STEM = (("_conv_stem", "_bn0"), ("_conv_head", "_bn1"))  # (convolution, its batch norm) in efficientnet_lite.py
_BLOCK = (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2"))


def torch_as_stored(ref, ort) -> None:
    """In place: each backbone of `ref` (a Classifier on the torch engine) computes with the weights of the graph
    that `ort` (the same model on ONNX Runtime) runs for that member (gate members too)."""
    assert ref.engine.name == "torch" and ort.engine.name == "onnxruntime"
    members = list(ort.model.members) + list(ort.model.gate_members)  # the engines' order (core.predict.classifier)
    assert len(members) == len(ref.engine.backbones)
    done = set()
    for member, backbone in zip(members, ref.engine.backbones):
        if id(backbone) not in done:  # members sharing a backbone share its graph
            round_as_stored(backbone, graph_file(member))
            done.add(id(backbone))


@torch.no_grad()
def round_as_stored(backbone: nn.Module, graph) -> None:
    """In place: `backbone` (an eval-mode EfficientNet-Lite) folded and rounded as the graph file `graph` holds
    it. Checks that it rounded as many tensors as the graph stores as float16."""
    model = onnx.load(str(graph))
    kept = {n.input[1].rsplit(".", 1)[0] for n in model.graph.node if n.op_type == "BatchNormalization"}
    places = [("backbone", backbone, _STEM)]
    places += [(f"backbone._blocks.{i}", block, _BLOCK) for i, block in enumerate(backbone._blocks)]
    for prefix, owner, pairs in places:
        for conv, bn in pairs:
            if hasattr(owner, conv) and f"{prefix}.{bn}" not in kept:
                _fold(getattr(owner, conv), getattr(owner, bn))
                setattr(owner, bn, nn.Identity())
    rounded = 0
    for tensor in itertools.chain(backbone.parameters(), backbone.buffers()):
        if tensor.dtype == torch.float32 and tensor.numel() >= HALF_MIN_SIZE and tensor.abs().max() <= HALF_MAX:
            tensor.copy_(tensor.half().float())
            rounded += 1
    stored = sum(i.data_type == TensorProto.FLOAT16 for i in model.graph.initializer)
    assert rounded == stored, f"rounded {rounded} tensors in torch, {graph} stores {stored} as float16"


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """`bn` folded into `conv` (bias-free) as onnxscript's rewriter folds it (rules/common/_fuse_batchnorm.py)."""
    gamma, beta, mean, var = (t.detach().cpu().numpy() for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var))
    scale = gamma / np.sqrt(var + np.float32(bn.eps))
    conv.weight.copy_(torch.from_numpy(conv.weight.detach().cpu().numpy() * scale.reshape(-1, 1, 1, 1)))
    bias = torch.from_numpy((np.zeros_like(mean) - mean) * scale + beta).to(conv.weight.device)
    conv.bias = nn.Parameter(bias, requires_grad=False)
