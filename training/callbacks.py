"""What happens around the loop: early stopping, the best weights, checkpoints, the metrics file.

Each callback has hooks the loop calls (`on_fit_start`, `on_batch_end`, `on_epoch_end`, `on_fit_end`) and a
`state_dict()` / `load_state_dict()` pair stored in the training checkpoint, so a resumed run continues where
it was (Lightning's `EarlyStopping`, fastai's `TrackerCallback`). Callbacks run in `order` (lowest first);
the checkpointer runs last so it saves everyone's state after the epoch.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from dogbreed_desktop.core.artifact import atomic_write

from .runfolder import CHECKPOINT_FILENAME, METRIC_FIELDS, read_metrics  # noqa: F401 (read_metrics re-exported)

if TYPE_CHECKING:  # pragma: no cover
    from .loop import FitState



class Callback:
    order = 0

    def on_fit_start(self, state: "FitState") -> None: ...

    def on_batch_end(self, state: "FitState", batch: dict) -> None:
        """`batch`: epoch (fractional), batch, batches, train_loss (running mean of the epoch so far),
        recent_loss (mean over the batches since the last call), samples."""

    def on_epoch_end(self, state: "FitState", metrics: dict) -> None:
        """`metrics`: one row of the history (epoch 0 is the starting point, measured before training)."""

    def on_fit_end(self, state: "FitState") -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


def _better(value: float, best: float | None, mode: str, min_delta: float) -> bool:
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs (0 = never stop early), and
    keep the best epoch's weights and validation outputs; at the end the model gets the best weights back."""

    order = 10

    def __init__(self, monitor: str = "val_loss", mode: str = "min", patience: int = 3, min_delta: float = 0.0,
                 restore_best: bool = True):
        self.monitor, self.mode, self.patience, self.min_delta = monitor, mode, patience, min_delta
        self.restore_best = restore_best
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.reason = ""
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_outputs: dict[str, torch.Tensor] | None = None  # validation logits/targets of the best epoch

    def on_epoch_end(self, state: "FitState", metrics: dict) -> None:
        value = metrics.get(self.monitor)
        if _better(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = float(value), int(metrics["epoch"]), 0
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in state.model.state_dict().items()}
            if state.val_outputs is not None:
                self.best_outputs = {k: v.detach().cpu().clone() for k, v in state.val_outputs.items()}
            return
        self.wait += 1
        if self.patience and self.wait >= self.patience:
            self.stopped_epoch = int(metrics["epoch"])
            self.reason = (f"no better {self.monitor} for {self.wait} epochs "
                           f"(best {self.best:.4f} at epoch {self.best_epoch})")
            state.request_stop(self.reason)

    def on_fit_end(self, state: "FitState") -> None:
        if self.restore_best and self.best_state is not None:
            state.model.load_state_dict(self.best_state)

    def reset_patience(self) -> None:
        """Give a resumed run that had stopped early its patience back (more epochs were asked for)."""
        self.wait, self.stopped_epoch, self.reason = 0, None, ""

    def state_dict(self) -> dict:
        return {
            "monitor": self.monitor, "mode": self.mode, "patience": self.patience, "min_delta": self.min_delta,
            "best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
            "stopped_epoch": self.stopped_epoch, "reason": self.reason,
            "best_state": self.best_state, "best_outputs": self.best_outputs,
        }

    def load_state_dict(self, state: dict) -> None:
        for key in ("best", "best_epoch", "wait", "stopped_epoch", "reason", "best_state", "best_outputs"):
            setattr(self, key, state.get(key))
        self.wait = self.wait or 0
        self.reason = self.reason or ""


class Checkpointer(Callback):
    """After every epoch, the whole training state to `path`, atomically (tmp file + os.replace)."""

    order = 100
    FILENAME = CHECKPOINT_FILENAME

    def __init__(self, path: Path):
        self.path = Path(path)
        self.saved_epoch: int | None = None

    def on_epoch_end(self, state: "FitState", metrics: dict) -> None:
        checkpoint = state.checkpoint()
        atomic_write(self.path, lambda tmp: torch.save(checkpoint, tmp))
        self.saved_epoch = int(metrics["epoch"])


def load_checkpoint(path: Path) -> dict:
    """A training checkpoint, read without unpickling arbitrary objects."""
    return torch.load(Path(path), map_location="cpu", weights_only=True)


class MetricsLogger(Callback):
    """`metrics.csv`: one row per epoch, rewritten whole (atomically) from the history after each epoch."""

    order = 20

    def __init__(self, path: Path):
        self.path = Path(path)

    def on_epoch_end(self, state: "FitState", metrics: dict) -> None:
        write_metrics(self.path, state.history)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def write_metrics(path: Path, history: list[dict]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(METRIC_FIELDS)
            for row in history:
                w.writerow([_cell(row.get(k)) for k in METRIC_FIELDS])

    atomic_write(Path(path), write)
