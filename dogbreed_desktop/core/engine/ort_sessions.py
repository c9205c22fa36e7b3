"""ONNX Runtime sessions on one backbone graph, run at fixed shapes.

A graph whose batch, height and width are fixed when the session is made is planned for exactly that shape, and
runs about twice as fast on the CPU as the same graph with free dimensions (EfficientNet-Lite0, 2 cores: 243
against 124 images/s at a batch of 32, 209 against 127 for a single photo; the dynamic padding of the "SAME"
convolutions and the memory plan are then settled once). So a batch is padded up to the next of a few sizes
(1, 2, 4, ... 32; larger batches run 32 at a time), each size with its own session, made on first use in a few
tens of milliseconds. Pictures at another size than the model's crop (a heatmap of the whole photo) run on one
session with free dimensions. All sessions share one memory arena, so a few sizes hold less memory than one
free-dimension session did (Lite0: 539 against 911 MB after batches of every size).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..errors import UserError

BUCKETS = (1, 2, 4, 8, 16, 32)
_FREE_DIMS = ("batch", "height", "width")  # the graphs' input dimensions (core.engine.graph_making names them)
_arena_lock = threading.Lock()
_arena_shared: bool | None = None


def session_options(threads: int, shape: tuple[int, int, int] | None = None, optimize: bool = True):
    """One place for ONNX Runtime's settings: `threads` intra-op threads that sleep when idle (spinning threads
    would take the cores from the photo decoders and from the window), sequential execution, the shared arena;
    `shape` (batch, height, width) fixes the free dimensions; `optimize=False` only reads the graph (checks)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3  # errors only: ORT's warnings are for developers, not for the person
    if not optimize:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if shape is not None:
        for name, size in zip(_FREE_DIMS, shape):
            opts.add_free_dimension_override_by_name(name, int(size))
        opts.enable_mem_pattern = False  # buffers come from the shared arena instead of a plan held per session
    if _share_arena():
        opts.add_session_config_entry("session.use_env_allocators", "1")
    return opts


def _share_arena() -> bool:
    """One CPU memory arena for every session of the process (registered once; without it, each keeps its own)."""
    global _arena_shared
    with _arena_lock:
        if _arena_shared is None:
            import onnxruntime as ort

            try:
                info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
                ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, -1, -1, -1))
                _arena_shared = True
            except Exception:  # an ONNX Runtime without the API, or one registered already by someone else
                _arena_shared = False
        return _arena_shared


class GraphUnreadable(UserError):
    """A graph file ONNX Runtime cannot load (damaged, foreign, or unreadable); says which file and why."""


def open_graph(path: Path, threads: int, shape: tuple[int, int, int] | None = None, optimize: bool = True):
    """A session on the graph file at `path`. Raises GraphUnreadable naming the file and ONNX Runtime's reason."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), session_options(threads, shape, optimize),
                                    providers=["CPUExecutionProvider"])
    except Exception as e:  # ORT raises its own Fail, InvalidGraph, NoSuchFile...: all this file's fault
        cause = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise GraphUnreadable(f"ONNX Runtime cannot load the graph {path}: {cause}") from e


class GraphSessions:
    """One checked graph file, run on `threads` threads; `crop` is the picture size its models feed it."""

    def __init__(self, path: Path, threads: int, crop: int):
        self.path, self.threads, self.crop = Path(path), threads, int(crop)
        self._fixed: dict[int, object] = {}
        self._free = None

    def run(self, names: list[str], images: np.ndarray) -> list[np.ndarray]:
        n, _, h, w = images.shape
        if n == 0 or (h, w) != (self.crop, self.crop):
            return self._free_session().run(names, {"image": images})
        parts = []
        for start in range(0, n, BUCKETS[-1]):
            chunk = images[start : start + BUCKETS[-1]]
            size = next(b for b in BUCKETS if b >= len(chunk))
            if size > len(chunk):  # padded with black pictures; each picture's outputs are its own
                chunk = np.concatenate([chunk, np.zeros((size - len(chunk), *chunk.shape[1:]), chunk.dtype)])
            out = self._session(size).run(names, {"image": chunk})
            parts.append([o[: min(BUCKETS[-1], n - start)] for o in out])
        return parts[0] if len(parts) == 1 else [np.concatenate(p) for p in zip(*parts)]

    def _session(self, size: int):
        if size not in self._fixed:
            shape = (size, self.crop, self.crop)
            session = open_graph(self.path, self.threads, shape)
            n, _, h, w = session.get_inputs()[0].shape
            if (n, h, w) != shape:  # a graph whose dimensions are named otherwise: free ones
                session = self._free_session()
            self._fixed[size] = session
        return self._fixed[size]

    def _free_session(self):
        if self._free is None:
            self._free = open_graph(self.path, self.threads)
        return self._free

    @property
    def sessions(self) -> int:
        """How many sessions this graph holds now (each fixed size, and the free one once used)."""
        return len({id(s) for s in self._fixed.values()} | ({id(self._free)} if self._free else set()))
