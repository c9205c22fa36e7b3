"""The inference engine: runs each model member's backbone on a batch of normalised images.

One interface, two implementations:
- `OrtEngine`, ONNX Runtime on the CPU (the default everywhere without a GPU): about 5x torch's speed for these
  backbones on 2 cores, run at fixed shapes (`core.engine.ort_sessions`), and it imports in a fraction of torch's time
  (no torch on the classify path);
- `core.torch.torch_engine.TorchEngine`, for CUDA and Apple GPUs, and for backbones that have no graph (torchvision).
Heads, temperature, mirror averaging, the gate and heatmaps are numpy in `core.predict.classifier` and
`core.predict.heatmap`, the same for both, so both engines give the same answers from the same model file.
"""

from __future__ import annotations

import os
import platform
import threading
from pathlib import Path
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
    """Whether torch would run on a GPU here, found without importing torch (1.5 s): Apple silicon (MPS), or an
    NVIDIA driver that reports a GPU and a torch built with CUDA. A driver alone is not enough: many machines
    have one and no GPU torch can use, and they classify on the CPU. `--device cpu` skips even this."""
    if platform.system() == "Darwin":
        return platform.machine() == "arm64"
    return _torch_has_cuda() and nvidia_gpus() > 0


def nvidia_gpus() -> int:
    """How many GPUs the NVIDIA driver reports, through NVML (what nvidia-smi reads: milliseconds, and unlike
    cuInit it leaves no CUDA state behind in this process); 0 without a driver."""
    import ctypes

    names = ["libnvidia-ml.so.1"]
    if platform.system() == "Windows":  # System32 since about driver 450; older drivers kept it under NVSMI
        names = ["nvml.dll", os.path.expandvars(r"%ProgramFiles%\NVIDIA Corporation\NVSMI\nvml.dll")]
    for name in names:
        try:
            nvml = ctypes.CDLL(name)
            break
        except OSError:
            continue
    else:
        return 0
    try:
        count = ctypes.c_uint(0)
        if nvml.nvmlInit_v2() != 0:
            return 0
        try:
            return count.value if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0 else 0
        finally:
            nvml.nvmlShutdown()
    except AttributeError:  # a driver without these entry points
        return 0


def _torch_has_cuda() -> bool:
    """The installed torch carries its CUDA libraries (a CPU-only wheel has none), looked up on disk."""
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return False
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    return any(lib.glob("libtorch_cuda*")) or any(lib.glob("torch_cuda*"))


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
