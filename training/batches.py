"""What the loop iterates over: (inputs, targets) batches in a seeded order per epoch.

`TensorBatches` serves cached features from memory (fast mode); `ImageBatches` decodes and augments photos in
threads a batch or two ahead (fine-tuning, and validation when fine-tuning). Both skip nothing silently: an
unreadable photo is listed in `errors`.
"""

from __future__ import annotations

import itertools
import math
import os
from typing import Iterator, Sequence

import numpy as np
import torch

from dogbreed_desktop.core.predict.preprocess import (
    ImageError, Preprocessing, load_ahead, load_image, normalize, prepare, resize_and_crop, to_uint8_array,
)

from .preflight import Sample


class Batches:
    """`size` items served `batch_size` at a time, shuffled per epoch when asked."""

    def __init__(self, size: int, batch_size: int, *, shuffle: bool = False, seed: int = 0):
        self.size, self.batch_size, self.shuffle, self.seed, self.epoch = size, batch_size, shuffle, seed, 0
        self.errors: dict[str, str] = {}  # unreadable files: path -> reason
        self.shard = None  # under torchrun: order -> this rank's part of it (distributed.Dist.shard)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        size = self.size if self.shard is None else len(self.shard(list(range(self.size))))
        return math.ceil(size / self.batch_size)

    def order(self) -> list[int]:
        """This epoch's item order (this rank's part of it under torchrun): the same whether the run was
        resumed or not, and the same on every rank before it is dealt out."""
        if not self.shuffle:
            order = list(range(self.size))
        else:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.size, generator=g).tolist()
        return order if self.shard is None else self.shard(order)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        raise NotImplementedError


class TensorBatches(Batches):
    """(features, targets) batches from tensors in memory."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, *, shuffle: bool = False, seed: int = 0):
        super().__init__(len(y), batch_size, shuffle=shuffle, seed=seed)
        self.x, self.y = x, y

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.tensor(self.order(), dtype=torch.long)
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            yield self.x[idx], self.y[idx]


class ImageBatches(Batches):
    """(normalised float images, targets) batches, decoded in threads a batch or two ahead.

    `transform` (PIL -> PIL of the crop size) augments training images; without it the eval transform of
    `prep` is used (core.predict.preprocess.prepare: the same one the app uses).
    """

    def __init__(self, samples: Sequence[Sample], targets: Sequence[int], prep: Preprocessing, batch_size: int, *,
                 transform=None, shuffle: bool = False, seed: int = 0, threads: int = 4):
        super().__init__(len(samples), batch_size, shuffle=shuffle, seed=seed)
        self.samples, self.targets, self.prep, self.transform = list(samples), list(targets), prep, transform
        self.threads = max(1, min(threads, os.cpu_count() or 1))

    def _load(self, i: int) -> np.ndarray:
        path = self.samples[i].path
        if self.transform is None:
            return prepare(path, self.prep)
        out = self.transform(load_image(path, draft=self.prep.resize))
        if out.size != (self.prep.crop, self.prep.crop):  # pragma: no cover - the transforms crop already
            out = resize_and_crop(out, self.prep)
        return to_uint8_array(out)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = self.order()
        loaded = zip(order, load_ahead(order, self._load, window=2 * self.batch_size, workers=self.threads))
        while True:
            chunk = list(itertools.islice(loaded, self.batch_size))
            if not chunk:
                return
            batch = self._collect(chunk)
            if batch is not None:
                yield batch

    def _collect(self, chunk: list[tuple[int, torch.Tensor | ImageError]]) -> tuple[torch.Tensor, torch.Tensor] | None:
        images, targets = [], []
        for i, item in chunk:
            if isinstance(item, ImageError):
                self.errors[str(self.samples[i].path)] = str(item)
                continue
            images.append(item)
            targets.append(self.targets[i])
        if not images:
            return None
        return normalize(torch.from_numpy(np.stack(images)), self.prep), torch.tensor(targets, dtype=torch.long)


def feature_batches(features, classes: Sequence[str], batch_size: int, seed: int) -> tuple[Batches, Batches]:
    """Training and validation batches from a `features.FeatureSet` of a split's samples."""
    index = {c: i for i, c in enumerate(classes)}
    parts = {}
    for subset in ("train", "val"):
        keep = [i for i, s in enumerate(features.samples) if s.subset == subset]
        x = features.features[keep] if keep else torch.zeros((0, features.features.shape[1]))
        y = torch.tensor([index[features.samples[i].label] for i in keep], dtype=torch.long)
        parts[subset] = (x, y)
    train = TensorBatches(*parts["train"], batch_size, shuffle=True, seed=seed)
    val = TensorBatches(*parts["val"], 1024)
    train.errors = {str(p): e for p, e in features.errors}  # photos the extraction could not decode
    return train, val


def image_batches(split, classes: Sequence[str], prep: Preprocessing, batch_size: int, seed: int,
                  threads: int) -> tuple[Batches, Batches]:
    """Augmented, shuffled training batches and plain validation batches of a split's photos."""
    from .augment import train_transform

    index = {c: i for i, c in enumerate(classes)}
    train = ImageBatches(split.train, [index[s.label] for s in split.train], prep, batch_size,
                         transform=train_transform(prep), shuffle=True, seed=seed, threads=threads)
    val = ImageBatches(split.val, [index[s.label] for s in split.val], prep, batch_size, threads=threads)
    return train, val

