"""What a fit is made of while it runs (`FitState`: what callbacks see, what a checkpoint holds) and what it
leaves (`FitResult`).

The best epoch so far is part of the state: `best_epoch` and `best_outputs` are the last epoch's unless a
callback that tracks a metric (callbacks.BestWeights) says otherwise, so nobody looks callbacks up by type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from dogbreed_desktop.core.model.specs import Preprocessing

from .config import TrainConfig


@dataclass
class FitState:
    config: TrainConfig
    classes: list[str]
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: object | None
    callbacks: list  # [callbacks.Callback], in the order they run
    epoch: int = 0  # the last epoch completed (0: only the starting point measured)
    history: list[dict] = field(default_factory=list)
    val_outputs: dict | None = None  # the last epoch's validation logits and targets
    best_epoch: int | None = None
    best_outputs: dict | None = None  # the best epoch's validation logits and targets
    stop_reason: str = ""
    head_init: str = "random"

    def request_stop(self, reason: str) -> None:
        """Ask the loop to end after this epoch (early stopping); the first reason given is kept."""
        self.stop_reason = self.stop_reason or reason

    def end_epoch(self, row: dict, outputs: dict | None) -> None:
        """Record a finished epoch, then let every callback see it."""
        self.epoch = int(row["epoch"])
        self.history.append(row)
        self.val_outputs = self.best_outputs = outputs
        self.best_epoch = self.epoch
        for cb in self.callbacks:
            cb.on_epoch_end(self, row)

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

    def restore(self, ckpt: dict) -> None:
        """Continue from a training checkpoint (callbacks.load_checkpoint)."""
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.scheduler.T_max = self.config.epochs  # more epochs may have been asked for
        if self.scaler is not None and ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        saved = ckpt.get("callbacks", {})
        for cb in self.callbacks:
            if type(cb).__name__ in saved:
                cb.load_state_dict(saved[type(cb).__name__])
        self.epoch = int(ckpt["epoch"])
        self.history = [dict(r) for r in ckpt.get("history", [])]
        self.head_init = ckpt.get("head_init", self.head_init)
        if ckpt.get("torch_rng") is not None:
            torch.set_rng_state(ckpt["torch_rng"])


@dataclass
class FitResult:
    status: str  # a runfolder.RunStatus: FINISHED, STOPPED_EARLY or STOPPED
    reason: str
    classes: list[str]
    preprocessing: Preprocessing
    head: nn.Linear  # holding the best epoch's weights
    backbone: nn.Module
    backbone_trained: bool
    history: list[dict]
    best_epoch: int | None  # None when stopped before the first validation
    best_outputs: dict | None  # validation logits and targets of the best epoch
    head_init: str
    skipped: dict[str, str]  # unreadable files: path -> reason
    device: torch.device
