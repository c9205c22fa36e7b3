"""Epochs: one epoch's training and validation as free functions with explicit arguments that return metric
dicts (torchvision's `references/classification/train.py`), and the run of epochs a fit makes of them. All raise
or return `Stopped` at the next batch once `control` asks."""

from __future__ import annotations

import math
import time
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from dogbreed_desktop.core.control import Control, Stopped
from dogbreed_desktop.core.evaluate.metrics import topk_accuracy
from dogbreed_desktop.core.torch.precision import Precision

from .distributed import Dist, StopSync, reduce_eval
from .runfolder import RunStatus
from .state import FitState

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def train_one_epoch(
    model: nn.Module,
    batches: Batches,
    optimizer: torch.optim.Optimizer,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    precision: Precision,
    scaler=None,
    control: Control | None = None,
    on_batch: Callable[[dict], None] | None = None,
    report_every: int = 10,
) -> dict:
    """One pass over `batches`. Returns {"train_loss", "samples", "batches", "seconds"}.

    Every `report_every` batches `on_batch` gets the epoch's running mean loss and the mean over those last
    batches (`recent_loss`); reading a loss synchronises a GPU, so not at every batch.
    """
    model.train()
    start = time.perf_counter()
    total = torch.zeros((), device=precision.device)
    recent = torch.zeros((), device=precision.device)
    seen = done = recent_seen = 0
    n_batches = len(batches) if hasattr(batches, "__len__") else 0
    for x, y in batches:
        if control is not None:
            control.raise_if_stopped()
        x, y = precision.to_device(x), precision.to_device(y)
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
    return {"train_loss": mean, "samples": seen, "batches": done, "seconds": time.perf_counter() - start}


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    batches: Batches,
    *,
    precision: Precision,
    control: Control | None = None,
    on_batch: Callable[[], None] | None = None,
) -> dict:
    """Validation loss (plain cross-entropy), top-1 and top-5 accuracy; `outputs` holds the logits and targets
    (for the best epoch's temperature), None when there was nothing to validate on."""
    model.eval()
    logits, targets = [], []
    for x, y in batches:
        if control is not None:
            control.raise_if_stopped()
        with precision.autocast():
            out = model(precision.to_device(x))
        logits.append(out.float().cpu())
        targets.append(y)
        if on_batch is not None:
            on_batch()
    if not logits:
        return {"val_loss": math.nan, "val_top1": math.nan, "val_top5": math.nan, "outputs": None}
    z, t = torch.cat(logits), torch.cat(targets)
    return {
        "val_loss": F.cross_entropy(z, t).item(),
        "val_top1": topk_accuracy(z, t, 1),  # the ranking of logits is that of probabilities
        "val_top5": topk_accuracy(z, t, 5),
        "outputs": {"logits": z, "targets": t},
    }


def run_epochs(state: FitState, train_batches, val_batches, precision: Precision, control: Control, d: Dist,
            train_model: nn.Module) -> tuple[RunStatus, str]:
    """Epoch 0 (unless resumed), then epochs until the last, an early stop or a stop request: (status, reason).
    `train_model` is the model, or its DistributedDataParallel wrapper under torchrun."""
    config, model, optimizer = state.config, state.model, state.optimizer
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    per_epoch = len(train_batches) + len(val_batches)
    total_units = (config.epochs - state.epoch) * per_epoch + (0 if state.history else len(val_batches))
    units = 0

    def tick() -> None:
        nonlocal units
        units += 1
        control.progress(units, total_units, "training")

    # under torchrun the loop reads a stop flag the ranks agree on before each step; validation runs through
    sync = StopSync(_ticking(train_batches, tick), control, d, precision.device) if d.enabled else None
    loop_control, eval_control = (sync.control, None) if sync else (control, control)

    if not state.history:  # epoch 0: the starting point, before any training
        start = time.perf_counter()
        try:
            ev = reduce_eval(evaluate(model, val_batches, precision=precision, control=eval_control, on_batch=tick),
                             d, precision.device, len(state.classes))
        except Stopped:
            return RunStatus.STOPPED, "stopped before training began"
        state.end_epoch(_row(0, math.nan, ev, optimizer.param_groups[-1]["lr"], time.perf_counter() - start),
                        ev["outputs"])
    for epoch in range(state.epoch + 1, config.epochs + 1):
        train_batches.set_epoch(epoch)
        lr = optimizer.param_groups[-1]["lr"]

        def on_batch(b: dict, epoch=epoch) -> None:
            b["epoch"] = epoch - 1 + b["batch"] / max(1, b["batches"])
            for cb in state.callbacks:
                cb.on_batch_end(state, b)

        try:
            tr = train_one_epoch(train_model, sync or _ticking(train_batches, tick), optimizer, loss_fn=loss_fn,
                                 precision=precision, scaler=state.scaler, control=loop_control, on_batch=on_batch,
                                 report_every=max(1, len(train_batches) // 20))
            tr["train_loss"] = d.mean(tr["train_loss"], precision.device)  # every rank's share
            ev = reduce_eval(evaluate(model, val_batches, precision=precision, control=eval_control, on_batch=tick),
                             d, precision.device, len(state.classes))
        except Stopped:
            return RunStatus.STOPPED, f"stopped by request during epoch {epoch}"
        state.scheduler.step()
        state.end_epoch(_row(epoch, tr["train_loss"], ev, lr, tr["seconds"]), ev["outputs"])
        if state.stop_reason:
            return RunStatus.STOPPED_EARLY, state.stop_reason
    return RunStatus.FINISHED, f"all {config.epochs} epochs done"


def _row(epoch: int, train_loss: float, ev: dict, lr: float, seconds: float) -> dict:
    return {"epoch": epoch, "train_loss": train_loss, "val_loss": ev["val_loss"], "val_top1": ev["val_top1"],
            "val_top5": ev["val_top5"], "lr": lr, "seconds": seconds}


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
