"""Backbone features computed once and cached on disk, so later runs and epochs take seconds.

One file per (backbone weights, preprocessing, engine) in the cache folder, holding file content hash -> feature
vector. On the CPU an offline backbone runs on ONNX Runtime (`core.engine.engine`, about 4x torch's images/s there);
elsewhere on torch. The two agree to about 1e-5, but the cache records which engine made it all the same.
It is written atomically (now and then during a long extraction, and at the end), so a stopped or
crashed extraction keeps what it did. Decoding runs in a few threads while the backbone works.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from dogbreed_desktop.core.files import atomic_write, payload_size, sha256_of
from dogbreed_desktop.core.torch.backbones import backbone_spec
from dogbreed_desktop.core.control import Control
from dogbreed_desktop.core.torch.precision import Precision
from dogbreed_desktop.core.predict.preprocess import ImageError, Preprocessing, normalize, prepare_ahead

from .preflight import Sample

CACHE_FORMAT = 2  # 2: keyed on the sha256 of each photo (it was blake2b)
SAVE_EVERY_S = 60.0


def cache_key(backbone: str, prep: Preprocessing, engine: str = "torch") -> str:
    spec = backbone_spec(backbone)
    ident = {
        "format": CACHE_FORMAT,
        "backbone": backbone,
        "weights": spec.sha256 or spec.torchvision_weights,
        "preprocessing": prep.to_dict(),
        "engine": engine,
    }
    return sha256_of(json.dumps(ident, sort_keys=True).encode(), 16)


class FeatureCache:
    """content hash (hex) -> 1-D float32 feature tensor, backed by one safetensors file."""

    def __init__(self, folder: Path, backbone: str, prep: Preprocessing, engine: str = "torch"):
        self.path = self.path_for(folder, backbone, prep, engine)
        self.backbone = backbone
        self.prep = prep
        self.engine = engine
        self._rows: dict[str, torch.Tensor] = {}
        self._dirty = False
        self.note: str | None = None  # why an existing cache file was discarded
        self._load()

    @staticmethod
    def path_for(folder: Path, backbone: str, prep: Preprocessing, engine: str = "torch") -> Path:
        return Path(folder) / f"{backbone}-{prep.crop}px-{cache_key(backbone, prep, engine)}.safetensors"

    def _load(self) -> None:
        if not self.path.exists():
            return
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        self.note = cache_problem(self.path, self.backbone)
        if self.note:
            return  # a damaged or foreign cache is recomputed (and overwritten), never trusted
        try:
            t = load_file(str(self.path))
            keys, feats = t["keys"], t["features"]
        except (SafetensorError, OSError, KeyError, ValueError):
            return
        raw = keys.contiguous().numpy().tobytes()
        for i, row in enumerate(feats):
            self._rows[raw[16 * i : 16 * i + 16].hex()] = row

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, digest: str) -> bool:
        return digest in self._rows

    def get(self, digest: str) -> torch.Tensor | None:
        return self._rows.get(digest)

    def put(self, digest: str, feature: torch.Tensor) -> None:
        self._rows[digest] = feature.detach().to("cpu", torch.float32).clone()
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        from safetensors.torch import save_file

        digests = sorted(self._rows)
        keys = torch.frombuffer(bytearray(b"".join(bytes.fromhex(d) for d in digests)), dtype=torch.uint8).view(-1, 16)
        feats = torch.stack([self._rows[d] for d in digests]).contiguous()
        meta = {"backbone": self.backbone, "preprocessing": json.dumps(self.prep.to_dict()), "engine": self.engine}
        tensors = {"keys": keys, "features": feats}
        atomic_write(self.path, lambda tmp: save_file(tensors, str(tmp), metadata=meta), size=payload_size(tensors))
        self._dirty = False


def cache_problem(path: Path, backbone: str) -> str | None:
    """Why the cache file at `path` cannot be used for `backbone` (wrong feature size, damaged), or None.
    Reads only the file's header."""
    from safetensors import SafetensorError, safe_open

    dim = backbone_spec(backbone).feature_dim
    try:
        with safe_open(str(path), framework="pt") as f:
            names = set(f.keys())
            if names != {"keys", "features"}:
                return f"feature cache {path.name} holds unexpected data; it is discarded and recomputed"
            keys, feats = f.get_slice("keys").get_shape(), f.get_slice("features").get_shape()
            dtypes = f.get_slice("keys").get_dtype(), f.get_slice("features").get_dtype()
    except (SafetensorError, OSError, ValueError) as e:
        return f"feature cache {path.name} is damaged ({e}); it is discarded and recomputed"
    if len(keys) != 2 or keys[1] != 16 or len(feats) != 2 or keys[0] != feats[0] or dtypes != ("U8", "F32"):
        return f"feature cache {path.name} is malformed; it is discarded and recomputed"
    if feats[1] != dim:
        return (f"feature cache {path.name} holds {feats[1]}-value features, but {backbone} makes {dim}; "
                "it is discarded and recomputed")
    return None


@dataclass
class FeatureSet:
    features: torch.Tensor  # (n, feature_dim) float32, rows for the samples that decoded
    samples: list[Sample]  # the samples those rows belong to, in input order
    errors: list[tuple[Path, str]]  # samples that could not be decoded


def _decoded(samples: list[Sample], todo: list[int], prep: Preprocessing, batch_size: int, threads: int):
    """(index, CHW uint8 array or ImageError) in `todo` order, decoded a bounded window ahead in threads."""
    workers = max(1, min(threads, os.cpu_count() or 1))
    items = prepare_ahead([samples[i].path for i in todo], prep, window=2 * batch_size, workers=workers)
    return zip(todo, items)


def extraction_engine(backbone: str, device_type: str) -> str:
    """The engine fast mode extracts features with (and the cache is keyed on): ONNX Runtime for an offline
    backbone on the CPU (unless DOGBREED_ENGINE=torch), else torch."""
    if device_type == "cpu" and backbone_spec(backbone).offline and os.environ.get("DOGBREED_ENGINE") != "torch":
        return "onnxruntime"
    return "torch"


class Embedder:
    """uint8 NCHW batch -> (N, feature_dim) float32 features on the CPU, by the engine chosen once per run."""

    def __init__(self, backbone_name: str, backbone: nn.Module, prep: Preprocessing, precision: Precision):
        self.prep, self.backbone, self.precision = prep, backbone, precision
        self.engine, self._ort = extraction_engine(backbone_name, precision.device.type), None
        if self.engine == "onnxruntime":
            from dogbreed_desktop.core.engine.engine import OrtEngine
            from dogbreed_desktop.core.engine.graphs import package_artifact

            self._ort = OrtEngine([package_artifact(backbone_name)])

    def __call__(self, batch: np.ndarray) -> torch.Tensor:
        if self._ort is not None:
            return torch.from_numpy(self._ort.run(0, normalize(batch, self.prep)).features)
        with torch.inference_mode():
            x = self.precision.to_device(normalize(torch.from_numpy(batch), self.prep))
            return self.backbone.forward_features(x).float().cpu()


def extract_features(
    samples: list[Sample],
    embed: Embedder,
    *,
    cache: FeatureCache | None = None,
    batch_size: int = 32,
    decode_threads: int = 4,
    control: Control | None = None,
) -> FeatureSet:
    """Features for `samples`, from the cache where present; the rest computed in batches by `embed` and cached.
    Raises core.control.Stopped (after saving the cache) when `control` asks to stop.
    """
    prep = embed.prep
    total = len(samples)
    rows: dict[int, torch.Tensor] = {}
    errors: dict[int, str] = {}
    todo = []
    for i, s in enumerate(samples):
        hit = cache.get(s.digest) if cache is not None and s.digest else None
        if hit is not None:
            rows[i] = hit
        else:
            todo.append(i)
    done = total - len(todo)
    if control:
        control.progress(done, total, "extracting features")
    last_save = time.monotonic()

    def flush(batch_idx: list[int], batch: list[np.ndarray]) -> None:
        nonlocal last_save
        feats = embed(np.stack(batch))
        for i, f in zip(batch_idx, feats):
            rows[i] = f
            if cache is not None and samples[i].digest:
                cache.put(samples[i].digest, f)
        if cache is not None and time.monotonic() - last_save > SAVE_EVERY_S:
            cache.save()
            last_save = time.monotonic()

    try:
        batch_idx: list[int] = []
        batch: list[np.ndarray] = []
        for n, (i, item) in enumerate(_decoded(samples, todo, prep, batch_size, decode_threads), 1):
            if isinstance(item, ImageError):
                errors[i] = str(item)
            else:
                batch_idx.append(i)
                batch.append(item)
            if len(batch) == batch_size or (n == len(todo) and batch):
                if control:
                    control.raise_if_stopped("stopped during feature extraction")
                flush(batch_idx, batch)
                batch_idx, batch = [], []
                if control:
                    control.progress(done + n, total, "extracting features")
    finally:
        if cache is not None:
            cache.save()
    if control:
        control.progress(total, total, "extracting features")
    kept = sorted(rows)
    dim = next(iter(rows.values())).shape[0] if rows else 0
    feats = torch.stack([rows[i] for i in kept]) if kept else torch.zeros((0, dim))
    return FeatureSet(feats, [samples[i] for i in kept], [(samples[i].path, errors[i]) for i in sorted(errors)])
