"""The top mode: the backbone's last stage(s), its head convolution and the breed head trained on cached
activations of the frozen stages below (`activations.py`), so adapting the backbone takes minutes on a CPU.

Each epoch shows every training photo once, in one of its cached views (drawn per photo and epoch from the
seed); validation reads the plain view, the app's own eval transform. BatchNorm keeps its ImageNet statistics
(its scale and shift still train): batches of a few photos per class would only make them noisier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from dogbreed_desktop.core.control import Control
from dogbreed_desktop.core.torch.network import BreedNet
from dogbreed_desktop.core.torch.precision import Precision
from dogbreed_desktop.core.predict.preprocess import Preprocessing

from .activations import VIEWS, ActivationStore, cache_activations, digest_of, store_folder
from .batches import Batches
from .config import TrainConfig
from .split import Split


class FrozenStats(nn.Module):
    """In training, BatchNorm layers normalise with their running statistics and leave them unchanged."""

    def train(self, mode: bool = True):
        super().train(mode)
        for m in self.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
        return self


class FinetuneNet(FrozenStats, BreedNet):
    """Fine-tuning with `batchnorm="frozen"`: BreedNet, its BatchNorm statistics kept."""


class TopNet(FrozenStats):
    """Cached activations at block `start` -> breed logits, through the backbone's upper blocks and the head.
    Its state dict has BreedNet's names (backbone.*, head.*), so its weights become a fine-tuned model."""

    def __init__(self, backbone: nn.Module, head: nn.Linear, start: int):
        super().__init__()
        self.backbone, self.head, self.start = backbone, head, start
        backbone.requires_grad_(False)
        for module in (*backbone._blocks[start:], backbone._conv_head, backbone._bn1):
            module.requires_grad_(True)

    def trainable_backbone(self) -> list[nn.Parameter]:
        return [p for p in self.backbone.parameters() if p.requires_grad]

    def forward(self, activations: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.upper(activations, self.start).mean((2, 3)))


class ActivationBatches(Batches):
    """(float32 activations, targets) batches read from the stores; with several views, one drawn per photo
    and epoch."""

    def __init__(self, digests: Sequence[str], targets: Sequence[int], stores: Sequence[ActivationStore],
                 batch_size: int, *, shuffle: bool = False, seed: int = 0):
        super().__init__(len(digests), batch_size, shuffle=shuffle, seed=seed)
        self.digests, self.stores = list(digests), list(stores)
        self.targets = torch.tensor(list(targets), dtype=torch.long)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = self.order()
        g = torch.Generator().manual_seed(self.seed * 7_919 + self.epoch)
        views = torch.randint(len(self.stores), (self.size,), generator=g).tolist()
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            rows = [self.stores[views[j]].gather([self.digests[j]])[0] for j in idx]
            x = torch.from_numpy(np.stack(rows)).float()
            yield x, self.targets[idx]


def activation_root(config: TrainConfig) -> Path:
    if config.cache_dir:
        return Path(config.cache_dir) / "activations"
    from dogbreed_desktop.paths import cache_dir

    return cache_dir() / "activations"


def top_setup(config: TrainConfig, data: Split, classes: Sequence[str], backbone: nn.Module, head: nn.Linear,
              prep: Preprocessing, precision: Precision, control: Control):
    """(model, training batches, validation batches) for the top mode, caching what is missing first."""
    start = backbone.top_start(config.top_stages)
    root = activation_root(config)
    stores = {v: ActivationStore(store_folder(root, config.backbone, start, prep, v)) for v in VIEWS}
    train = [(s, digest_of(s), tuple(VIEWS)) for s in data.train]
    val = [(s, digest_of(s), ("center",)) for s in data.val]
    lower = precision.place(backbone)
    errors = cache_activations(train + val, lower, start, prep, stores, precision=precision,
                               batch_size=64 if precision.device.type != "cpu" else 32,
                               threads=config.decode_threads, control=control)
    index = {c: i for i, c in enumerate(classes)}

    def batches(items, views, batch_size, shuffle):
        kept = [(d, index[s.label]) for s, d, _ in items if str(s.path) not in errors]
        return ActivationBatches([d for d, _ in kept], [t for _, t in kept], [stores[v] for v in views],
                                 batch_size, shuffle=shuffle, seed=config.seed)

    train_batches = batches(train, list(VIEWS), config.batch_size, True)
    val_batches = batches(val, ["center"], 256, False)
    train_batches.errors = dict(errors)
    return TopNet(backbone, head, start), train_batches, val_batches
