"""One epoch: free functions with explicit arguments that return metric dicts (torchvision's
`references/classification/train.py`). Both raise `Stopped` at the next batch once `control` asks."""

from __future__ import annotations

import math
import time
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from dogbreed_desktop.core.control import Control
from dogbreed_desktop.core.torch.metrics import topk_accuracy
from dogbreed_desktop.core.torch.precision import Precision

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
