"""The inference engine: runs each model member's backbone on a batch of normalised images.

One interface, two implementations:
- `OrtEngine`, ONNX Runtime on the CPU (the default everywhere without a GPU): about 5x torch's speed for these
  backbones on 2 cores, run at fixed shapes (`core.engine.ort_sessions`), and it imports in a fraction of torch's time
  (no torch on the classify path);
- `core.torch.torch_engine.TorchEngine`, for CUDA and Apple GPUs, and for backbones that have no graph (torchvision).
Heads, temperature, mirror averaging, the gate and heatmaps are numpy in `core.predict.classifier` and `core.predict.heatmap`,
the same for both, so both engines give the same answers from the same model file.
"""

from __future__ import annotations

import os
import platform
import threading
from typing import Callable, Sequence

import numpy as np

from .. import threads
from ..model.artifact import ModelArtifact
from ..devices import DEVICES, DeviceUnavailable
from .engine_base import Engine, Outputs
from ..flavour import has_torch, require_torch

ENGINES = ("auto", "onnxruntime", "torch")


class OrtEngine:
    """ONNX Runtime on the CPU: one session per distinct graph, shared by the members that use it."""

    name = "onnxruntime"

    def __init__(self, members: Sequence[ModelArtifact], n_threads: int | None = None):
        from .graph_making import graph_file
        from .graphs import source_id
        from .ort_sessions import GraphSessions

        self.threads = n_threads or threads.current().compute
        graphs: dict[tuple[str, str, int], GraphSessions] = {}
        self._graphs = []
        for a in members:
            key = (a.backbone, source_id(a), a.preprocessing.crop)
            if key not in graphs:
                graphs[key] = GraphSessions(graph_file(a, key[1]), self.threads, key[2])
            self._graphs.append(graphs[key])
        self.description = f"CPU ({self.threads} thread{'s' if self.threads != 1 else ''}, ONNX Runtime)"
        self.observers: list[Callable[[int, int], None]] = []
        self._lock = threading.Lock()  # one run at a time: the thread pool is sized for one

    def run(self, member: int, images: np.ndarray, *, feature_map: bool = False) -> Outputs:
        for observe in self.observers:
            observe(member, len(images))
        wanted = ["features", "imagenet_logits"] + (["feature_map"] if feature_map else [])
        x = np.ascontiguousarray(images, dtype=np.float32)
        with self._lock:
            out = self._graphs[member].run(wanted, x)
        return Outputs(out[0], out[1], out[2] if feature_map else None)


def _gpu_likely() -> bool:
    """A cheap look for a GPU torch could use, without importing torch (1.5 s): an NVIDIA driver on Linux or
    Windows, or Apple silicon. `--device cpu` skips even this."""
    if platform.system() == "Darwin":
        return platform.machine() == "arm64"
    if os.path.exists("/proc/driver/nvidia/version"):
        return True
    return platform.system() == "Windows" and os.path.exists(r"C:\Windows\System32\nvcuda.dll")


def open_engine(members: Sequence[ModelArtifact], device: str = "auto", engine: str | None = None) -> Engine:
    """The engine for these members on `device` ("auto", "cpu", "cuda", "cuda:1", "mps"). `engine` (or the
    DOGBREED_ENGINE variable) forces "onnxruntime" or "torch"; by default GPUs run torch, the CPU ONNX Runtime."""
    from .graphs import supported

    engine = engine or os.environ.get("DOGBREED_ENGINE") or "auto"
    if engine not in ENGINES:
        raise DeviceUnavailable(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    kind = device.split(":")[0]
    if kind not in DEVICES:
        raise DeviceUnavailable(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    unsupported = [m.backbone for m in members if not supported(m)]
    if engine == "torch" or unsupported:
        require_torch(f"A {unsupported[0]} model" if unsupported else "The torch engine")  # the classify-only build
        from ..torch.torch_engine import TorchEngine

        return TorchEngine(members, device)
    if kind in ("cuda", "mps"):
        require_torch(f"The {DEVICES[kind]}")  # before any import of torch: the classify-only build has none
    if engine == "auto" and has_torch() and (kind in ("cuda", "mps") or (kind == "auto" and _gpu_likely())):
        from ..devices import resolve_device  # imports torch: only where a GPU may be there to use

        if resolve_device(device).type != "cpu":
            from ..torch.torch_engine import TorchEngine

            return TorchEngine(members, device)
    if kind in ("cuda", "mps"):
        raise DeviceUnavailable(f"ONNX Runtime here runs on the CPU only; {device} needs the torch engine")
    from .graphs import GraphUnavailable

    try:
        return OrtEngine(members)
    except GraphUnavailable:
        if not has_torch():
            raise
        from ..torch.torch_engine import TorchEngine  # a model whose graph cannot be made here still classifies

        return TorchEngine(members, device)
