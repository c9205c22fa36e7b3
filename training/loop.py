"""The transfer-learning loop: free functions that return metric dicts, and `fit` that runs them.

- fast: the backbone is frozen; its features are computed once (cached on disk by `features.py`) and a linear
  head is trained on them, so an epoch takes a fraction of a second.
- finetune: backbone and head end to end on augmented images, the backbone at a lower learning rate, with
  mixed precision and channels_last on CUDA.

Epoch 0 is the starting point measured on the validation split before any training; early stopping keeps
the best epoch (epoch 0 included), so the result is never worse on validation than where it started.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dogbreed_desktop.core.backbones import backbone_spec, build_backbone
from dogbreed_desktop.core.breeds import find_breed
from dogbreed_desktop.core.classifier import BreedNet
from dogbreed_desktop.core.control import Control
from dogbreed_desktop.core.devices import resolve_device
from dogbreed_desktop.core.preprocess import (
    ImageError, Preprocessing, load_ahead, load_image, normalize, prepare, resize_and_crop, to_uint8_tensor,
)

from .callbacks import Callback, EarlyStopping
from .config import TrainConfig, with_lr
from .distributed import Dist, ReadOnlyCache, StopSync, reduce_eval, sharded_features
from .features import FeatureCache, Stopped, extract_features
from .preflight import Sample
from .split import Split

__all__ = ["fit", "train_one_epoch", "evaluate", "seed_everything", "FitResult", "FitState", "Stopped"]


def seed_everything(seed: int) -> None:
    """Python, NumPy and torch (all devices) from one seed."""
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:  # pragma: no cover - numpy is a dependency, but the loop does not need it
        pass
    torch.manual_seed(seed)


def preprocessing_for(config: TrainConfig) -> Preprocessing:
    """The backbone's own eval transform, scaled to `config.image_size` when given (small inputs for tests).
    It is stored in the model artifact, so the app rebuilds exactly this transform."""
    prep = backbone_spec(config.backbone).preprocessing
    if config.image_size is None or config.image_size == prep.crop:
        return prep
    size = int(config.image_size)
    return Preprocessing(round(size * prep.resize / prep.crop), size, prep.mean, prep.std, prep.interpolation)


def imagenet_rows(classes: Sequence[str]) -> list[int] | None:
    """ImageNet class indices for `classes` when every class is one of the 120 ImageNet dog breeds."""
    rows = []
    for c in classes:
        b = find_breed(c)
        if b is None:
            return None
        rows.append(b.imagenet_index)
    return rows


def head_start(classes: Sequence[str], how: str = "auto") -> str:
    """Where the head starts: "imagenet" (the backbone's own rows for these breeds) or "random"."""
    rows = imagenet_rows(classes) if how in ("auto", "imagenet") else None
    if how == "imagenet" and rows is None:
        raise ValueError("head_init='imagenet' needs every class to be one of the 120 ImageNet dog breeds")
    return "imagenet" if rows is not None else "random"


def initial_head(backbone: nn.Module, classes: Sequence[str], how: str = "auto") -> tuple[nn.Linear, str]:
    """A linear head over the backbone's features, and how it was initialised ("imagenet" or "random").

    When the classes are ImageNet dog breeds, the head starts from the backbone's own ImageNet rows for them:
    on held-out photos those rows alone beat a head trained from scratch on 12,000 photos.
    """
    fc = backbone.imagenet_fc
    head = nn.Linear(fc.in_features, len(classes))
    if head_start(classes, how) == "random":
        return head, "random"
    rows = imagenet_rows(classes)
    with torch.no_grad():
        head.weight.copy_(fc.weight[rows])
        head.bias.copy_(fc.bias[rows])
    return head, "imagenet"


class FeatureHead(nn.Module):
    """The fast mode's model: a linear head on cached backbone features."""

    def __init__(self, head: nn.Linear):
        super().__init__()
        self.head = head

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)


# ---------------------------------------------------------------------------------------------- batches


def _epoch_order(n: int, seed: int, epoch: int, shuffle: bool) -> list[int]:
    if not shuffle:
        return list(range(n))
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)  # the same order whether resumed or not
    return torch.randperm(n, generator=g).tolist()


def _sharded(batches, order) -> list[int]:
    return batches.shard(list(order)) if batches.shard is not None else list(order)


class TensorBatches:
    """(features, targets) batches from tensors in memory."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, *, shuffle: bool = False, seed: int = 0):
        self.x, self.y, self.batch_size, self.shuffle, self.seed, self.epoch = x, y, batch_size, shuffle, seed, 0
        self.errors: dict[str, str] = {}
        self.shard = None  # distributed: this rank's part of each epoch's order (Dist.shard)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(_sharded(self, range(len(self.y)))) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = _epoch_order(len(self.y), self.seed, self.epoch, self.shuffle)
        order = torch.tensor(_sharded(self, order), dtype=torch.long)
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            yield self.x[idx], self.y[idx]


class ImageBatches:
    """(normalised float images, targets) batches, decoded in threads a batch or two ahead.

    `transform` (PIL -> PIL of the crop size) augments training images; without it the eval transform of
    `prep` is used (core.preprocess.prepare: the same one the app uses). Unreadable files are skipped and
    listed in `errors`.
    """

    def __init__(self, samples: Sequence[Sample], targets: Sequence[int], prep: Preprocessing, batch_size: int, *,
                 transform=None, shuffle: bool = False, seed: int = 0, threads: int = 4):
        self.samples, self.targets, self.prep = list(samples), list(targets), prep
        self.batch_size, self.transform, self.shuffle, self.seed, self.epoch = batch_size, transform, shuffle, seed, 0
        self.threads = max(1, min(threads, os.cpu_count() or 1))
        self.errors: dict[str, str] = {}
        self.shard = None  # distributed: this rank's part of each epoch's order (Dist.shard)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(_sharded(self, range(len(self.samples)))) / self.batch_size)

    def _load(self, i: int) -> torch.Tensor:
        path = self.samples[i].path
        if self.transform is None:
            return prepare(path, self.prep)
        out = self.transform(load_image(path, draft=self.prep.resize))
        if out.size != (self.prep.crop, self.prep.crop):  # pragma: no cover - the transforms crop already
            out = resize_and_crop(out, self.prep)
        return to_uint8_tensor(out)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = _sharded(self, _epoch_order(len(self.samples), self.seed, self.epoch, self.shuffle))
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
        return normalize(torch.stack(images), self.prep), torch.tensor(targets, dtype=torch.long)


# ------------------------------------------------------------------------------------------ one epoch


@dataclass(frozen=True)
class Precision:
    """How tensors go to the device and which autocast dtype (None = full precision). Resolved once."""

    device: torch.device
    amp_dtype: torch.dtype | None = None
    channels_last: bool = False

    @classmethod
    def resolve(cls, device: torch.device, amp: bool, images: bool) -> "Precision":
        dtype = None
        if amp and device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return cls(device, dtype, channels_last=images and device.type in ("cuda", "cpu"))

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cuda" and x.device.type == "cpu":
            x = x.pin_memory()  # page-locked, so the copy below can overlap with compute
        x = x.to(self.device, non_blocking=True)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)

    def grad_scaler(self):
        """Loss scaling for float16 on CUDA (bfloat16 does not need it)."""
        if self.amp_dtype == torch.float16:
            return torch.amp.GradScaler("cuda")
        return None


def train_one_epoch(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    precision: Precision,
    scaler=None,
    control: Control | None = None,
    on_batch: Callable[[dict], None] | None = None,
    report_every: int = 10,
) -> dict:
    """One pass over `batches`; stops at the next batch when `control.should_stop()`.

    Returns {"train_loss", "samples", "batches", "seconds", "stopped"}. Every `report_every` batches `on_batch`
    gets the epoch's running mean loss and the mean over those last batches (`recent_loss`); reading a loss
    synchronises a GPU, so not at every batch.
    """
    model.train()
    start = time.perf_counter()
    total = torch.zeros((), device=precision.device)
    recent = torch.zeros((), device=precision.device)
    seen = done = recent_seen = 0
    stopped = False
    n_batches = len(batches) if hasattr(batches, "__len__") else 0
    for x, y in batches:
        if control is not None and control.should_stop():
            stopped = True
            break
        x, y = precision.to_device(x), y.to(precision.device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with precision.autocast():
            loss = loss_fn(model(x), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        batch_loss = loss.detach().float() * len(y)
        total += batch_loss
        recent += batch_loss
        seen += len(y)
        recent_seen += len(y)
        done += 1
        if on_batch is not None and (done % report_every == 0 or done == n_batches):
            on_batch({"batch": done, "batches": n_batches, "train_loss": total.item() / seen,
                      "recent_loss": recent.item() / recent_seen, "samples": seen})
            recent.zero_()
            recent_seen = 0
    mean = total.item() / seen if seen else math.nan
    return {"train_loss": mean, "samples": seen, "batches": done, "seconds": time.perf_counter() - start,
            "stopped": stopped}


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    precision: Precision,
    control: Control | None = None,
    on_batch: Callable[[], None] | None = None,
) -> dict:
    """Validation loss (plain cross-entropy), top-1 and top-5 accuracy; `outputs` holds the logits and targets
    (for the best epoch's temperature). `stopped` is True when `control` asked to stop part-way."""
    model.eval()
    logits, targets = [], []
    for x, y in batches:
        if control is not None and control.should_stop():
            return {"stopped": True}
        with precision.autocast():
            out = model(precision.to_device(x))
        logits.append(out.float().cpu())
        targets.append(y)
        if on_batch is not None:
            on_batch()
    if not logits:
        return {"val_loss": math.nan, "val_top1": math.nan, "val_top5": math.nan, "stopped": False, "outputs": None}
    z, t = torch.cat(logits), torch.cat(targets)
    k = min(5, z.shape[1])
    top = z.topk(k, dim=1).indices
    return {
        "val_loss": F.cross_entropy(z, t).item(),
        "val_top1": (top[:, 0] == t).float().mean().item(),
        "val_top5": (top == t[:, None]).any(dim=1).float().mean().item(),
        "stopped": False,
        "outputs": {"logits": z, "targets": t},
    }


# ----------------------------------------------------------------------------------------------- fit


@dataclass
class FitState:
    """What callbacks see, and what a checkpoint holds."""

    config: TrainConfig
    classes: list[str]
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: object | None
    callbacks: list[Callback]
    epoch: int = 0  # the last epoch completed (0: only the starting point measured)
    history: list[dict] = field(default_factory=list)
    val_outputs: dict | None = None
    stop_reason: str = ""
    head_init: str = "random"

    def request_stop(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or reason

    def checkpoint(self) -> dict:
        """The training checkpoint: plain containers and tensors only (loads with weights_only=True)."""
        return {
            "kind": "dogbreed-training-checkpoint",
            "config": self.config.to_dict(),
            "classes": list(self.classes),
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "callbacks": {type(c).__name__: c.state_dict() for c in self.callbacks},
            "history": [dict(r) for r in self.history],
            "head_init": self.head_init,
            "torch_rng": torch.get_rng_state(),
        }


@dataclass
class FitResult:
    status: str  # "finished" | "stopped_early" | "stopped"
    reason: str
    classes: list[str]
    preprocessing: Preprocessing
    head: nn.Linear  # holding the best epoch's weights
    backbone: nn.Module
    backbone_trained: bool
    history: list[dict]
    best_epoch: int | None
    best_outputs: dict | None  # validation logits and targets of the best epoch
    head_init: str
    skipped: dict[str, str]  # unreadable files: path -> reason
    device: torch.device


def _feature_batches(config, split, classes, backbone, prep, precision, control, d: Dist):
    folder = Path(config.cache_dir) if config.cache_dir else _default_cache()
    cache = FeatureCache(folder, config.backbone, prep)
    samples = split.train + split.val

    def extract(part):  # under torchrun each rank extracts its share; rank 0 alone writes the cache
        return extract_features(part, backbone, prep, device=precision.device,
                                cache=cache if d.main else ReadOnlyCache(cache),
                                batch_size=64 if precision.device.type != "cpu" else 32,
                                decode_threads=config.decode_threads, control=control)

    fs = sharded_features(samples, extract, d, precision.device)
    if d.enabled and d.main:
        for s, f in zip(fs.samples, fs.features):
            if s.digest and s.digest not in cache:
                cache.put(s.digest, f)
        cache.save()
    index = {c: i for i, c in enumerate(classes)}
    parts = {}
    for subset in ("train", "val"):
        keep = [i for i, s in enumerate(fs.samples) if s.subset == subset]
        x = fs.features[keep] if keep else torch.zeros((0, fs.features.shape[1]))
        y = torch.tensor([index[fs.samples[i].label] for i in keep], dtype=torch.long)
        parts[subset] = (x, y)
    train = TensorBatches(*parts["train"], config.batch_size, shuffle=True, seed=config.seed)
    val = TensorBatches(*parts["val"], 1024)
    return train, val, {str(p): e for p, e in fs.errors}


def _default_cache() -> Path:
    from dogbreed_desktop.paths import cache_dir

    return cache_dir() / "features"


def _image_batches(config, split, classes, prep, d: Dist):
    """Under torchrun each rank takes its shard of every epoch's order, `batch_size / world_size` at a time,
    so one optimizer step still sees `batch_size` images (the same global batch as one process)."""
    from .augment import train_transform

    index = {c: i for i, c in enumerate(classes)}
    transform = train_transform(prep)
    per_rank = math.ceil(config.batch_size / d.world_size)
    train = ImageBatches(split.train, [index[s.label] for s in split.train], prep, per_rank,
                         transform=transform, shuffle=True, seed=config.seed, threads=config.decode_threads)
    val = ImageBatches(split.val, [index[s.label] for s in split.val], prep, per_rank,
                       threads=config.decode_threads)
    if d.enabled:
        train.shard = lambda order: d.shard(order, pad=True)  # the same step count on every rank
        val.shard = lambda order: d.shard(order, pad=False)  # each image scored once; reduce_eval gathers
    return train, val


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    if isinstance(model, BreedNet):
        skip = {id(p) for p in model.backbone.imagenet_fc.parameters()}  # unused once the new head exists
        body = [p for p in model.backbone.parameters() if id(p) not in skip]
        groups = [
            {"params": body, "lr": config.lr * config.backbone_lr_scale, "name": "backbone"},
            {"params": list(model.head.parameters()), "lr": config.lr, "name": "head"},
        ]
    else:
        groups = [{"params": list(model.parameters()), "lr": config.lr, "name": "head"}]
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)


def fit(
    config: TrainConfig,
    data: Split,
    *,
    callbacks: Sequence[Callback] = (),
    control: Control | None = None,
    device: torch.device | None = None,
    resume: dict | None = None,
    dist: Dist | None = None,
) -> FitResult:
    """Train a head (fast) or the whole network (finetune) on `data.train`, validating on `data.val` after
    every epoch. `resume` is a training checkpoint (callbacks.load_checkpoint) to continue from. Under
    torchrun (`dist`, see distributed.py) fine-tuning runs DistributedDataParallel; fast mode shares the
    feature extraction across ranks and rank 0 trains the head.

    Raises `Stopped` when stopped before the first validation (during feature extraction).
    """
    control = control or Control()
    d = dist or Dist()
    device = device or resolve_device(config.device)
    seed_everything(config.seed)
    classes = list(resume["classes"]) if resume else list(data.classes)
    prep = preprocessing_for(config)
    backbone = build_backbone(config.backbone, pretrained=True)
    head, head_init = initial_head(backbone, classes, config.head_init)
    config = with_lr(config, head_init)
    fast = config.mode == "fast"
    precision = Precision.resolve(device, config.amp, images=not fast)
    if fast:
        backbone = backbone.to(device)
        if device.type in ("cpu", "cuda"):
            backbone = backbone.to(memory_format=torch.channels_last)
        train_batches, val_batches, skipped = _feature_batches(config, data, classes, backbone, prep, precision,
                                                               control, d)
        model: nn.Module = FeatureHead(head)
        if not d.main:  # a linear head on cached features takes seconds: it trains once, on rank 0
            return FitResult("finished", "features extracted; rank 0 trains the head", classes, prep, head, backbone,
                             False, [], None, None, head_init, skipped, device)
        d = Dist()
    else:
        train_batches, val_batches = _image_batches(config, data, classes, prep, d)
        skipped = {}
        model = BreedNet(backbone, head)
        if d.enabled:
            model.backbone.imagenet_fc.requires_grad_(False)  # not in the forward pass: DDP would wait for it
        if precision.channels_last:
            model = model.to(memory_format=torch.channels_last)
    if d.enabled:
        seed_everything(d.seed(config.seed))  # each rank its own augmentation; the weights start equal
    model = model.to(device)
    train_model = d.wrap(model, device)
    optimizer = _optimizer(config, model)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs, eta_min=config.lr * 0.01)
    callbacks = sorted(callbacks, key=lambda c: c.order)
    state = FitState(config, classes, model, optimizer, scheduler, precision.grad_scaler(), list(callbacks),
                     head_init=head_init)
    if resume:
        _restore(state, resume)
    for cb in callbacks:
        cb.on_fit_start(state)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    per_epoch = len(train_batches) + len(val_batches)
    total_units = (config.epochs - state.epoch) * per_epoch + (0 if state.history else len(val_batches))
    units = 0

    def tick(n: int = 1) -> None:
        nonlocal units
        units += n
        control.progress(units, total_units, "training")

    status, reason = "finished", ""
    # under torchrun the loop reads a stop flag the ranks agree on at each step; evaluation is not interrupted
    sync = StopSync(_ticking(train_batches, tick), control, d, device) if d.enabled else None
    loop_control, eval_control = (sync.control, None) if sync else (control, control)
    threads = torch.get_num_threads()
    if fast and device.type == "cpu":
        # A linear head's ops are tiny: more threads only spin, and on a busy machine they make an epoch
        # 5-30x slower (measured: 0.25 s vs 1-7 s for 9,000 features on 2 shared cores).
        torch.set_num_threads(1)
    try:
        if not state.history:  # epoch 0: the starting point, before any training
            start = time.perf_counter()
            ev = evaluate(model, val_batches, precision=precision, control=eval_control, on_batch=tick)
            if ev["stopped"]:
                raise Stopped("stopped before training began")
            ev = reduce_eval(ev, d, device, len(classes))
            _end_epoch(state, 0, {"train_loss": math.nan, "seconds": time.perf_counter() - start}, ev)
        for epoch in range(state.epoch + 1, config.epochs + 1):
            train_batches.set_epoch(epoch)
            lr = optimizer.param_groups[-1]["lr"]

            def on_batch(b: dict, epoch=epoch) -> None:
                b["epoch"] = epoch - 1 + b["batch"] / max(1, b["batches"])
                for cb in callbacks:
                    cb.on_batch_end(state, b)

            tr = train_one_epoch(train_model, sync or _ticking(train_batches, tick), optimizer, loss_fn=loss_fn,
                                 precision=precision, scaler=state.scaler, control=loop_control, on_batch=on_batch,
                                 report_every=max(1, len(train_batches) // 20))
            if tr["stopped"]:
                status, reason = "stopped", f"stopped by request during epoch {epoch}"
                break
            tr["train_loss"] = d.mean(tr["train_loss"], device)
            ev = evaluate(model, val_batches, precision=precision, control=eval_control, on_batch=tick)
            if ev["stopped"]:
                status, reason = "stopped", f"stopped by request during epoch {epoch}"
                break
            ev = reduce_eval(ev, d, device, len(classes))
            scheduler.step()
            _end_epoch(state, epoch, {**tr, "lr": lr}, ev)
            if state.stop_reason:
                status, reason = "stopped_early", state.stop_reason
                break
    finally:
        torch.set_num_threads(threads)
        for cb in callbacks:
            cb.on_fit_end(state)
    if status == "finished":
        reason = f"all {config.epochs} epochs done"
    stopper = next((c for c in callbacks if isinstance(c, EarlyStopping)), None)
    skipped.update(getattr(train_batches, "errors", {}))
    skipped.update(getattr(val_batches, "errors", {}))
    best_epoch = stopper.best_epoch if stopper else state.epoch
    return FitResult(
        status=status, reason=reason, classes=classes, preprocessing=prep, head=model.head,
        backbone=model.backbone if isinstance(model, BreedNet) else backbone, backbone_trained=not fast,
        history=state.history, best_epoch=best_epoch,
        best_outputs=stopper.best_outputs if stopper else state.val_outputs,
        head_init=state.head_init, skipped=skipped, device=device,
    )


def _ticking(batches, tick):
    """`batches`, calling tick() after each batch is taken (keeps len() for the loop's reporting)."""

    class _Ticking:
        def __len__(self):
            return len(batches)

        def __iter__(self):
            for b in batches:
                yield b
                tick()

    return _Ticking()


def _end_epoch(state: FitState, epoch: int, tr: dict, ev: dict) -> None:
    row = {
        "epoch": epoch,
        "train_loss": tr.get("train_loss", math.nan),
        "val_loss": ev["val_loss"],
        "val_top1": ev["val_top1"],
        "val_top5": ev["val_top5"],
        "lr": tr.get("lr", state.optimizer.param_groups[-1]["lr"]),
        "seconds": tr.get("seconds", 0.0),
    }
    state.epoch = epoch
    state.history.append(row)
    state.val_outputs = ev.get("outputs")
    for cb in state.callbacks:
        cb.on_epoch_end(state, row)


def _restore(state: FitState, ckpt: dict) -> None:
    state.model.load_state_dict(ckpt["model"])
    state.optimizer.load_state_dict(ckpt["optimizer"])
    state.scheduler.load_state_dict(ckpt["scheduler"])
    state.scheduler.T_max = state.config.epochs  # more epochs may have been asked for
    if state.scaler is not None and ckpt.get("scaler"):
        state.scaler.load_state_dict(ckpt["scaler"])
    saved = ckpt.get("callbacks", {})
    for cb in state.callbacks:
        if type(cb).__name__ in saved:
            cb.load_state_dict(saved[type(cb).__name__])
    state.epoch = int(ckpt["epoch"])
    state.history = [dict(r) for r in ckpt.get("history", [])]
    state.head_init = ckpt.get("head_init", state.head_init)
    if ckpt.get("torch_rng") is not None:
        torch.set_rng_state(ckpt["torch_rng"])
