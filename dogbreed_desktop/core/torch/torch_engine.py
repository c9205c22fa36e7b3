"""The torch engine (`core.engine.engine.Engine`): CUDA and Apple GPUs, backbones without an ONNX graph, and the
reference the ONNX Runtime engine is tested against."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from .. import threads
from ..model.artifact import ModelArtifact
from ..devices import describe_device, resolve_device
from ..engine.engine_base import Outputs
from .network import backbone_for
from .precision import Precision


class TorchEngine:
    name = "torch"

    def __init__(self, members: Sequence[ModelArtifact], device: str = "auto"):
        threads.current().apply()
        self.device = resolve_device(device)
        # channels_last on the CPU too: faster depthwise convolutions there
        self.precision = Precision(self.device, channels_last=self.device.type in ("cpu", "cuda"))
        built: dict[int, torch.nn.Module] = {}
        self.backbones = []
        for a in members:
            key = id(a.backbone_state) if a.backbone_state else hash((a.backbone, str(a.backbone_weights)))
            if key not in built:
                built[key] = self.precision.place(backbone_for(a))
            self.backbones.append(built[key])
        self.description = f"{describe_device(self.device)}, torch"
        self.observers: list[Callable[[int, int], None]] = []

    @property
    def on_gpu(self) -> bool:
        return self.device.type != "cpu"

    @torch.inference_mode()
    def run(self, member: int, images: np.ndarray, *, feature_map: bool = False) -> Outputs:
        for observe in self.observers:
            observe(member, len(images))
        backbone = self.backbones[member]
        x = self.precision.to_device(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)))
        fmap = None
        if hasattr(backbone, "feature_map"):
            fmap = backbone.feature_map(x).float()
            features = fmap.mean((2, 3))
        else:  # torchvision backbones: pooled features only (no heatmap)
            features = backbone.forward_features(x).float()
        imagenet = backbone.imagenet_fc(features).float()
        return Outputs(features.cpu().numpy(), imagenet.cpu().numpy(),
                       fmap.cpu().numpy() if feature_map and fmap is not None else None)
