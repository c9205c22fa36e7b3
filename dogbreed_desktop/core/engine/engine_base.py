"""What every inference engine gives and takes (`core.engine.engine` has the ONNX Runtime one and picks one; the torch
one is `core.torch.torch_engine`): kept apart so neither engine module imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np


@dataclass(frozen=True)
class Outputs:
    features: np.ndarray  # (N, F) pooled embedding, float32
    imagenet: np.ndarray  # (N, 1000) the backbone's ImageNet logits (the gate reads them)
    feature_map: np.ndarray | None = None  # (N, F, h, w), only when asked for (heatmaps)


class Engine(Protocol):
    name: str  # "onnxruntime" or "torch"
    description: str  # for the status bar and /v1/model: "CPU (2 threads, ONNX Runtime)"
    observers: list[Callable[[int, int], None]]  # called with (member, images) before each run

    def run(self, member: int, images: np.ndarray, *, feature_map: bool = False) -> Outputs:
        """`images`: float32 NCHW, normalised for that member's preprocessing."""
