"""The top mode's cache: what the frozen lower stages of an EfficientNet-Lite make of each photo, computed once.

One folder per (backbone weights, split block, view) in the cache folder, e.g.
`efficientnet_lite0-block15-224px-mirror-<key>/`, holding chunk files: `chunk-*.npy` (float16, N x C x H x W)
and `chunk-*.keys` (N file content hashes, 16 bytes each). Chunks are written atomically as extraction goes
(the data, then its keys: a chunk without keys is ignored), so a stopped run keeps what it did, and read back
memory-mapped, so training holds one batch in memory however many photos there are.

A view is the eval transform at another scale and/or mirrored: the cached stand-in for augmentation.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from dogbreed_desktop.core.torch.backbones import backbone_spec
from dogbreed_desktop.core.control import Control
from dogbreed_desktop.core.files import atomic_write
from dogbreed_desktop.core.torch.precision import Precision
from dogbreed_desktop.core.predict.preprocess import (
    ImageError, Preprocessing, load_ahead, load_image, normalize, resize_and_crop, to_uint8_array,
)

from .preflight import Sample

FORMAT = 1
CHUNK_ROWS = 256  # rows held per view before they are written: bounds memory during extraction
# name -> (resize before the centre crop, as a multiple of the backbone's own; mirrored). "center" is the
# app's eval transform: validation reads only it. "wide" resizes the shorter side to the crop itself.
VIEWS = {
    "center": (1.0, False),
    "mirror": (1.0, True),
    "zoom": (1.25, False),
    "wide-mirror": ("crop", True),
}


def view_preprocessing(prep: Preprocessing, view: str) -> Preprocessing:
    scale = VIEWS[view][0]
    resize = prep.crop if scale == "crop" else round(prep.resize * scale)
    return Preprocessing(resize, prep.crop, prep.mean, prep.std, prep.interpolation)


def digest_of(sample: Sample) -> str:
    """The sample's content hash (older split files may lack it)."""
    if sample.digest:
        return sample.digest
    return hashlib.blake2b(Path(sample.path).read_bytes(), digest_size=16).hexdigest()


class ActivationStore:
    """content hash -> one photo's activations for one view, as float16 C x H x W, from memory-mapped chunks."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.index: dict[str, tuple[int, int]] = {}  # digest -> (chunk number, row)
        self.chunks: list[np.ndarray] = []
        for keys in sorted(self.folder.glob("chunk-*.keys")) if self.folder.is_dir() else []:
            self._open(keys)

    def _open(self, keys_path: Path) -> None:
        try:
            data = np.load(keys_path.with_suffix(".npy"), mmap_mode="r")
            raw = keys_path.read_bytes()
        except (OSError, ValueError):
            return  # damaged: those photos are computed again
        shape = self.chunks[0].shape[1:] if self.chunks else data.shape[1:]
        if data.dtype != np.float16 or data.ndim != 4 or data.shape[1:] != shape or len(raw) != 16 * len(data):
            return
        number = len(self.chunks)
        self.chunks.append(data)
        for row in range(len(data)):
            self.index[raw[16 * row : 16 * row + 16].hex()] = (number, row)

    def __contains__(self, digest: str) -> bool:
        return digest in self.index

    def add(self, digests: Sequence[str], rows: np.ndarray) -> None:
        """Write one chunk (data, then keys) and make its rows readable."""
        stem = self.folder / f"chunk-{time.time_ns()}-{os.getpid()}"
        rows = np.ascontiguousarray(rows, dtype=np.float16)

        def write_rows(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.save(f, rows)

        atomic_write(stem.with_suffix(".npy"), write_rows, size=rows.nbytes + 128)
        keys = b"".join(bytes.fromhex(d) for d in digests)
        atomic_write(stem.with_suffix(".keys"), lambda tmp: tmp.write_bytes(keys), size=len(keys))
        self._open(stem.with_suffix(".keys"))

    def gather(self, digests: Sequence[str]) -> np.ndarray:
        """(N, C, H, W) float16 for these digests (all present)."""
        return np.stack([self.chunks[c][r] for c, r in (self.index[d] for d in digests)])


def store_folder(root: Path, backbone: str, start: int, prep: Preprocessing, view: str) -> Path:
    spec = backbone_spec(backbone)
    ident = {"format": FORMAT, "backbone": backbone, "weights": spec.sha256 or spec.torchvision_weights,
             "block": start, "preprocessing": view_preprocessing(prep, view).to_dict(), "mirror": VIEWS[view][1]}
    key = hashlib.blake2b(json.dumps(ident, sort_keys=True).encode(), digest_size=8).hexdigest()
    return Path(root) / f"{backbone}-block{start}-{prep.crop}px-{view}-{key}"


def cache_activations(
    needs: Sequence[tuple[Sample, str, tuple[str, ...]]],
    backbone: nn.Module,
    start: int,
    prep: Preprocessing,
    stores: dict[str, ActivationStore],
    *,
    precision: Precision,
    batch_size: int = 32,
    threads: int = 4,
    control: Control | None = None,
) -> dict[str, str]:
    """Compute and store the missing activations: `needs` holds (sample, its digest, the views it needs).
    Returns the photos that could not be decoded (path -> reason). Raises Stopped (after writing what was
    done) when `control` asks."""
    todo = [(s, d, tuple(v for v in views if d not in stores[v])) for s, d, views in needs]
    todo = [t for t in todo if t[2]]
    total, done = len(needs), len(needs) - len(todo)
    errors: dict[str, str] = {}
    pending: dict[str, tuple[list[str], list[np.ndarray]]] = {v: ([], []) for v in stores}
    batch: list[tuple[str, str, np.ndarray]] = []  # (view, digest, CHW uint8)
    draft = max(view_preprocessing(prep, v).resize for v in stores)

    def views_of(item):
        sample, _, views = item
        img = load_image(sample.path, draft=draft)
        out = []
        for v in views:
            arr = to_uint8_array(resize_and_crop(img, view_preprocessing(prep, v)))
            out.append(np.ascontiguousarray(arr[:, :, ::-1]) if VIEWS[v][1] else arr)
        return out

    def run_batch() -> None:
        x = precision.to_device(normalize(torch.from_numpy(np.stack([a for _, _, a in batch])), prep))
        with torch.inference_mode(), precision.autocast():
            acts = backbone.lower(x, start).float().cpu().numpy().astype(np.float16)
        for (view, digest, _), row in zip(batch, acts):
            pending[view][0].append(digest)
            pending[view][1].append(row)
        batch.clear()
        flush(CHUNK_ROWS)

    def flush(at_least: int) -> None:
        for view, (digests, rows) in pending.items():
            if digests and len(digests) >= at_least:
                stores[view].add(digests, np.stack(rows))
                digests.clear()
                rows.clear()

    backbone.eval()
    if control:
        control.progress(done, total, "caching activations")
    try:
        workers = max(1, min(threads, os.cpu_count() or 1))
        decoded = load_ahead(todo, views_of, window=batch_size, workers=workers)
        for n, (item, arrays) in enumerate(zip(todo, decoded), 1):
            if isinstance(arrays, ImageError):
                errors[str(item[0].path)] = str(arrays)
            else:
                batch.extend((v, item[1], a) for v, a in zip(item[2], arrays))
            if len(batch) >= batch_size or (n == len(todo) and batch):
                if control:
                    control.raise_if_stopped("stopped while caching activations")
                run_batch()
            if control:
                control.progress(done + n, total, "caching activations")
    finally:
        flush(1)
    return errors
