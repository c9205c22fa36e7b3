"""What happens around the loop: the best weights, early stopping, checkpoints, the metrics file.

Each callback has hooks the loop calls (`on_fit_start`, `on_batch_end`, `on_epoch_end`, `on_fit_end`) and a
`state_dict()` / `load_state_dict()` pair stored in the training checkpoint, so a resumed run continues where
it was (Lightning's `EarlyStopping`, fastai's `TrackerCallback`). Callbacks run in `order` (lowest first);
the checkpointer runs last so it saves everyone's state after the epoch.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from dogbreed_desktop.core.files import atomic_write, payload_size, write_text

from .runfolder import CHECKPOINT_FILENAME, METRIC_FIELDS

if TYPE_CHECKING:  # pragma: no cover
    from .state import FitState


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


class Tracker(Callback):
    """Follows one metric: `best` value and `best_epoch` so far (fastai's `TrackerCallback`). A value counts
    as better when it beats `best` by more than `min_delta` in the direction of `mode` ("min" or "max")."""

    _saved = ("best", "best_epoch")

    def __init__(self, monitor: str = "val_loss", mode: str = "min", min_delta: float = 0.0):
        if mode not in ("min", "max"):
            raise ValueError("mode must be min or max")
        self.monitor, self.mode, self.min_delta = monitor, mode, min_delta
        self.best: float | None = None
        self.best_epoch: int | None = None

    def improved(self, metrics: dict) -> bool:
        """Whether this epoch is the best so far; if so it becomes `best`."""
        value = metrics.get(self.monitor)
        if value is None or math.isnan(value):
            return False
        if self.best is not None:
            better = value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
            if not better:
                return False
        self.best, self.best_epoch = float(value), int(metrics["epoch"])
        return True

    def state_dict(self) -> dict:
        return {"monitor": self.monitor, "mode": self.mode, "min_delta": self.min_delta,
                **{key: getattr(self, key) for key in self._saved}}

    def load_state_dict(self, state: dict) -> None:
        for key in self._saved:
            setattr(self, key, state.get(key))


class EarlyStopping(Tracker):
    """Ends the fit when `monitor` has not improved for `patience` epochs (0 = never). With `fresh_patience`,
    a resumed fit keeps the best value from the checkpoint but starts counting again."""

    order = 10
    _saved = Tracker._saved + ("wait", "stopped_epoch", "reason")

    def __init__(self, monitor: str = "val_loss", mode: str = "min", patience: int = 3, min_delta: float = 0.0,
                 fresh_patience: bool = False):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.fresh_patience = patience, fresh_patience
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.reason = ""

    def on_epoch_end(self, state: "FitState", metrics: dict) -> None:
        if self.improved(metrics):
            self.wait = 0
            return
        self.wait += 1
        # Patience running out on the last epoch stops nothing: that run finished, it did not stop early.
        if self.patience and self.wait >= self.patience and metrics["epoch"] < state.config.epochs:
            self.stopped_epoch = int(metrics["epoch"])
            self.reason = (f"no better {self.monitor} for {self.wait} epochs "
                           f"(best {self.best:.4f} at epoch {self.best_epoch})")
            state.request_stop(self.reason)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "patience": self.patience}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if self.fresh_patience:
            self.wait, self.stopped_epoch, self.reason = 0, None, ""
        self.wait, self.reason = self.wait or 0, self.reason or ""


class BestWeights(Tracker):
    """Keeps the weights and validation outputs of the best epoch by `monitor`, tells the fit state which
    epoch that is, and puts those weights back in the model at the end (fastai's `SaveModelCallback`)."""

    order = 5  # before anyone reads state.best_epoch
    _saved = Tracker._saved + ("best_state", "best_outputs")

    def __init__(self, monitor: str = "val_loss", mode: str = "min", min_delta: float = 0.0, restore: bool = True):
        super().__init__(monitor, mode, min_delta)
        self.restore = restore
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_outputs: dict[str, torch.Tensor] | None = None

    def on_fit_start(self, state: "FitState") -> None:
        self._publish(state)  # a resumed fit: the best so far came from the checkpoint

    def on_epoch_end(self, state: "FitState", metrics: dict) -> None:
        if self.improved(metrics):
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in state.model.state_dict().items()}
            if state.val_outputs is not None:
                self.best_outputs = {k: v.detach().cpu().clone() for k, v in state.val_outputs.items()}
        self._publish(state)

    def on_fit_end(self, state: "FitState") -> None:
        if self.restore and self.best_state is not None:
            state.model.load_state_dict(self.best_state)

    def _publish(self, state: "FitState") -> None:
        if self.best_epoch is not None:
            state.best_epoch, state.best_outputs = self.best_epoch, self.best_outputs


class Checkpointer(Callback):
    """After every epoch, the whole training state to `path`, atomically (tmp file + os.replace)."""

    order = 100
    FILENAME = CHECKPOINT_FILENAME

    def __init__(self, path: Path):
        self.path = Path(path)
        self.saved_epoch: int | None = None

    def on_epoch_end(self, state: "FitState", metrics: dict) -> None:
        checkpoint = state.checkpoint()
        atomic_write(self.path, lambda tmp: torch.save(checkpoint, tmp), size=payload_size(checkpoint))
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
    out = io.StringIO(newline="")
    w = csv.writer(out)
    w.writerow(METRIC_FIELDS)
    for row in history:
        w.writerow([_cell(row.get(k)) for k in METRIC_FIELDS])
    write_text(Path(path), out.getvalue())
