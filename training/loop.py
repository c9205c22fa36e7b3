"""`fit`: the transfer-learning loop: it sets up the model and batches for a mode and runs `epochs.run_epochs`.

- fast: the backbone is frozen; its features are computed once (cached on disk by `features.py`) and a linear
  head is trained on them, so an epoch takes a fraction of a second.
- top: the backbone's last stage(s) and the head on cached activations of the frozen stages below (top.py):
  the backbone adapts in minutes on a CPU.
- finetune: backbone and head end to end on augmented images, the backbone at a lower learning rate, with
  mixed precision and channels_last on CUDA.

Epoch 0 is the starting point measured on the validation split before any training; with `BestWeights` the
result is the best epoch (epoch 0 included), so it is never worse on validation than where it started.
"""

from __future__ import annotations

import contextlib
import math
import random
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from dogbreed_desktop.core.torch.backbones import build_backbone
from dogbreed_desktop.core.torch.network import BreedNet
from dogbreed_desktop.core.control import Control, Stopped
from dogbreed_desktop.core.devices import resolve_device
from dogbreed_desktop.core.torch.heads import FeatureHead, initial_head
from dogbreed_desktop.core.torch.precision import Precision
from dogbreed_desktop.core.threads import Threads
from dogbreed_desktop.core.threads import current as current_threads

from .batches import feature_batches, image_batches
from .callbacks import Callback
from .config import ConfigError, TrainConfig, preprocessing_for, with_lr
from .distributed import Dist, ReadOnlyCache, fill_cache, sharded_features
from .epochs import run_epochs
from .features import Embedder, FeatureCache, extract_features
from .runfolder import RunStatus
from .split import Split
from .state import FitResult, FitState
from .top import FinetuneNet, TopNet, top_setup


def seed_everything(seed: int) -> None:
    """Python, NumPy and torch (all devices) from one seed."""
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:  # pragma: no cover - numpy is a dependency, but the loop does not need it
        pass
    torch.manual_seed(seed)


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    if isinstance(model, TopNet):  # the frozen lower stages are not trained at all
        groups = [
            {"params": model.trainable_backbone(), "lr": config.lr * config.backbone_lr_scale, "name": "backbone"},
            {"params": list(model.head.parameters()), "lr": config.lr, "name": "head"},
        ]
    elif isinstance(model, BreedNet):
        skip = {id(p) for p in model.backbone.imagenet_fc.parameters()}  # unused once the new head exists
        body = [p for p in model.backbone.parameters() if id(p) not in skip]
        groups = [
            {"params": body, "lr": config.lr * config.backbone_lr_scale, "name": "backbone"},
            {"params": list(model.head.parameters()), "lr": config.lr, "name": "head"},
        ]
    else:
        groups = [{"params": list(model.parameters()), "lr": config.lr, "name": "head"}]
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)


def _feature_cache(config: TrainConfig, prep, engine: str) -> FeatureCache:
    if config.cache_dir:
        folder = Path(config.cache_dir)
    else:
        from dogbreed_desktop.paths import cache_dir

        folder = cache_dir() / "features"
    return FeatureCache(folder, config.backbone, prep, engine)


def fit(
    config: TrainConfig,
    data: Split,
    *,
    callbacks: Sequence[Callback] = (),
    control: Control | None = None,
    device: torch.device | None = None,
    resume: dict | None = None,
    threads: Threads | None = None,
    dist: Dist | None = None,
) -> FitResult:
    """Train a head (fast), the backbone's top and a head (top) or the whole network (finetune) on `data.train`,
    validating on `data.val` after every epoch. `resume` is a training checkpoint (callbacks.load_checkpoint) to
    continue from. `threads`: the process's thread counts (core.threads; by default what its entry point decided).

    A stop request ends it at the next batch with status "stopped"; before the first validation (during
    feature extraction) there is no best epoch and no outputs.

    Under torchrun (`dist`, see distributed.py) fine-tuning runs DistributedDataParallel; in fast mode the
    ranks share the feature extraction and rank 0 alone trains the head.
    """
    control = control or Control()
    d = dist or Dist()
    device = device or resolve_device(config.device)
    seed_everything(config.seed)
    classes = list(resume["classes"]) if resume else list(data.classes)
    backbone = build_backbone(config.backbone, pretrained=True)  # an unknown name raises BackboneUnavailable
    prep = preprocessing_for(config)
    head, head_init = initial_head(backbone, classes, config.head_init)
    fast = config.mode == "fast"
    if config.mode == "top" and d.enabled:
        raise ConfigError("top mode trains in one process; drop --gpus (fine-tune on several GPUs instead)")
    if not fast and config.probe and resume is None:
        head = _probe(config, data, head_init, control, device, d)
        seed_everything(config.seed)
    config = with_lr(config, head_init)
    precision = Precision.resolve(device, config.amp, images=not fast)
    callbacks = sorted(callbacks, key=lambda c: c.order)
    state: FitState | None = None
    status, reason = RunStatus.STOPPED, ""
    threads = threads or current_threads()
    try:
        if fast:
            # the frozen backbone runs on images: channels_last where that is faster
            extractor = Precision.resolve(device, amp=False, images=True)
            backbone = extractor.place(backbone)
            embed = Embedder(config.backbone, backbone, prep, extractor)
            cache = _feature_cache(config, prep, embed.engine)

            def extract(samples):  # under torchrun, each rank its share; rank 0 alone writes the cache
                return extract_features(samples, embed,
                                        cache=cache if d.main else ReadOnlyCache(cache),
                                        batch_size=64 if device.type != "cpu" else 32,
                                        decode_threads=config.decode_threads, control=control)

            features = sharded_features(data.train + data.val, extract, d, device)
            if d.enabled and d.main:
                fill_cache(cache, features)
            train_batches, val_batches = feature_batches(features, classes, config.batch_size, config.seed)
            model: nn.Module = FeatureHead(head)
            if not d.main:  # a linear head on cached features takes seconds: it trains once, on rank 0
                return FitResult(RunStatus.FINISHED, "features extracted; rank 0 trains the head", classes, prep,
                                 head, backbone, False, [], None, None, head_init, {}, device)
            d = Dist()
        elif config.mode == "top":
            model, train_batches, val_batches = top_setup(config, data, classes, backbone, head, prep, precision,
                                                          control)
        else:
            # each rank takes batch_size / world_size of every step: the global batch stays `batch_size`
            per_rank = math.ceil(config.batch_size / d.world_size)
            train_batches, val_batches = image_batches(data, classes, prep, per_rank, config.seed,
                                                       config.decode_threads)
            if d.enabled:
                train_batches.shard = lambda order: d.shard(order, pad=True)  # equal step counts on every rank
                val_batches.shard = lambda order: d.shard(order, pad=False)  # each photo scored once, gathered
            model = (FinetuneNet if config.batchnorm == "frozen" else BreedNet)(backbone, head)
            if d.enabled:
                model.backbone.imagenet_fc.requires_grad_(False)  # not in the forward pass: DDP would wait for it
        if d.enabled:
            seed_everything(d.seed(config.seed))  # each rank its own augmentation; the weights start equal
        model = precision.place(model)
        train_model = d.wrap(model, device)
        optimizer = _optimizer(config, model)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs,
                                                               eta_min=config.lr * 0.01)
        state = FitState(config, classes, model, optimizer, scheduler, precision.grad_scaler(), list(callbacks),
                         head_init=head_init)
        if resume:
            state.restore(resume)
        for cb in callbacks:
            cb.on_fit_start(state)
        tiny = threads.for_tiny_ops() if fast and device.type == "cpu" else contextlib.nullcontext()
        with tiny:  # a linear head on features: more threads only spin
            status, reason = run_epochs(state, train_batches, val_batches, precision, control, d, train_model)
    except Stopped as e:
        reason = str(e)
    finally:
        if state is not None:
            for cb in callbacks:
                cb.on_fit_end(state)
    skipped = {**train_batches.errors, **val_batches.errors} if state is not None else {}
    return FitResult(
        status=status, reason=reason, classes=classes, preprocessing=prep, head=head,
        backbone=backbone, backbone_trained=not fast,
        history=state.history if state else [], best_epoch=state.best_epoch if state else None,
        best_outputs=state.best_outputs if state else None,
        head_init=state.head_init if state else head_init, skipped=skipped, device=device,
    )


PROBE_PHASE = "training the head on frozen features first"


class _ProbeControl:
    """The run's control for the probe: the same stop button; its "training" reads as the probe's phase, so the
    window does not show the head's seconds of training as the run's epochs."""

    def __init__(self, control: Control):
        self._control = control

    def __getattr__(self, name):
        return getattr(self._control, name)

    def progress(self, done: int, total: int, message: str = "") -> None:
        self._control.progress(done, total, PROBE_PHASE if message == "training" else message)


def _probe(config: TrainConfig, data: Split, head_init: str, control: Control, device, d: Dist) -> nn.Linear:
    """The linear probe of LP-FT: the head trained on the frozen backbone's features exactly as a fast-mode run
    trains it (the same feature cache, best epoch by validation loss). Fine-tuning from it starts where fast mode
    ends, so its epoch 0 is the fast mode's result and the best epoch is never worse; starting from an untrained
    head instead, the first steps' large gradients disturb the pretrained features. Under torchrun the ranks
    share the extraction as in fast mode and rank 0 trains the head; DistributedDataParallel then gives every
    rank rank 0's weights when it wraps the model, before epoch 0."""
    from .callbacks import BestWeights, EarlyStopping

    fast = {name: f.default for name, f in TrainConfig.__dataclass_fields__.items()  # fast mode's defaults
            if f.metadata.get("by_mode")}
    probe = config.replace(mode="fast", head_init=head_init, lr=None, probe=False, **fast)
    control.progress(0, 0, PROBE_PHASE)
    result = fit(probe, data, callbacks=[EarlyStopping(patience=max(config.patience, 3)), BestWeights()],
                 control=_ProbeControl(control), device=device, dist=d)
    if result.status == RunStatus.STOPPED:
        raise Stopped(result.reason or "stopped while training the head on frozen features")
    return result.head.float().cpu()
