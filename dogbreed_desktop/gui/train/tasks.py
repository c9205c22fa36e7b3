"""The Train tab's tasks, run on its task runners (`gui/tasks.py`): the preflight check and a training run.

Both call the same Qt-free functions as the CLI (`training.preflight.preflight`, `training.run.start_run`,
`resume_run`), imported when the task runs, on the runner's thread, so building the tab does not import torch.
Stopping is the task's `Control.stop()`, read by the loop at every batch.
"""

from __future__ import annotations

from pathlib import Path

from ..tasks import Throttle


def check(folder: str, per_class: int | None = None, *, control):
    """The preflight report (training.preflight.PreflightReport) for a folder of labelled photos."""
    from training.preflight import preflight

    return preflight(folder, control=control, per_class=per_class)


def train(run_dir: str, settings: dict | None = None, report=None, epochs: int | None = None, *, control) -> dict:
    """Start a new run (`settings`: training.config.make_config keywords, `data` included) or resume one.

    Publishes ("batch", fractional epoch, recent train loss) ~10 times a second and ("epoch", metrics row,
    best epoch so far) after every epoch. The config is made here, where resolving "auto" may import torch."""
    from training.config import make_config
    from training.run import resume_run, start_run

    callbacks = [_relay(control)]
    if settings is not None:
        r = start_run(make_config(**settings), Path(run_dir), control=control, callbacks=callbacks, report=report)
    else:
        r = resume_run(Path(run_dir), control=control, callbacks=callbacks, epochs=epochs)
    return {"run_dir": str(r.run_dir), "status": r.status, "reason": r.reason, "best_epoch": r.best_epoch,
            "metrics": dict(r.metrics), "model_path": str(r.model_path) if r.model_path else None,
            "skipped": dict(r.skipped)}


def _relay(control):
    from training.callbacks import Callback

    class Relay(Callback):
        order = 50  # after the best epoch is known
        throttle = Throttle()

        def on_batch_end(self, state, b):
            if self.throttle.ready():
                control.publish(("batch", float(b["epoch"]), float(b["recent_loss"])))

        def on_epoch_end(self, state, row):
            control.publish(("epoch", dict(row), state.best_epoch))

    return Relay()
