"""Training and preflight on a QThread: a QObject worker moved to its own thread, one per job.

The worker calls the same Qt-free functions as the CLI (`training.run.start_run`, `resume_run`,
`training.preflight.preflight`). Progress, batch and epoch updates leave as plain data through signals,
throttled to about ten a second; stopping is `Control.stop()` called directly from the GUI thread.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ...core.control import Control

MIN_INTERVAL_S = 0.1  # ~10 progress updates a second at most


class SignalControl(Control):
    """A Control whose progress goes out through `emit(done, total, message)`, throttled."""

    def __init__(self, emit):
        super().__init__()
        self._emit = emit
        self._last = 0.0
        self._message = None

    def progress(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        if message != self._message or done >= total or now - self._last >= MIN_INTERVAL_S:
            self._last, self._message = now, message
            self._emit(done, total, message)


class _Job(QObject):
    """Every signal carries the job's id first, so the tab ignores a superseded job's late signals.
    Connect them to bound methods of GUI-thread QObjects (queued), never to lambdas (those would run on the
    worker thread)."""

    progress = Signal(int, int, int, str)  # job id, done, total, phase
    failed = Signal(int, str)  # job id, message
    finished = Signal(int)  # job id; always last, after done or failed
    _ids = itertools.count(1)

    def __init__(self):
        super().__init__()
        self.id = next(self._ids)
        self.control = SignalControl(lambda done, total, message: self.progress.emit(self.id, done, total, message))

    def stop(self) -> None:
        """Thread-safe: the work reads the flag at every batch."""
        self.control.stop()


class PreflightJob(_Job):
    done = Signal(int, object)  # job id, training.preflight.PreflightReport

    def __init__(self, folder: str, per_class: int | None = None):
        super().__init__()
        self.folder, self.per_class = folder, per_class

    @Slot()
    def run(self) -> None:
        try:
            from training.preflight import preflight

            report = preflight(self.folder, control=self.control, per_class=self.per_class)
            if not self.control.should_stop():
                self.done.emit(self.id, report)
        except Exception as e:  # DatasetError and anything unexpected reach the user as a message
            self.failed.emit(self.id, str(e) or type(e).__name__)
        finally:
            self.finished.emit(self.id)


class TrainJob(_Job):
    """Start a new run (`settings` given: training.config.make_config keywords, `data` included) or resume one.

    The config is built in the worker thread, where resolving the "auto" device may import torch."""

    run_started = Signal(int, str)  # job id, run folder
    batch = Signal(int, float, float)  # job id, fractional epoch, train loss of the last few batches
    epoch = Signal(int, dict, object)  # job id, metrics row, best epoch so far (int or None)
    done = Signal(int, dict)  # job id, {"run_dir", "status", "reason", "best_epoch", "metrics", "model_path", "skipped"}

    def __init__(self, run_dir: str, settings: dict | None = None, report=None, epochs: int | None = None):
        super().__init__()
        self.run_dir, self.settings, self.report, self.epochs = run_dir, settings, report, epochs

    def _callback(self):
        from training.callbacks import Callback

        job = self

        class Relay(Callback):
            order = 50  # after the best epoch is known
            last = 0.0

            def on_batch_end(self, state, b):
                now = time.monotonic()
                if now - self.last >= MIN_INTERVAL_S:
                    self.last = now
                    job.batch.emit(job.id, float(b["epoch"]), float(b["recent_loss"]))

            def on_epoch_end(self, state, row):
                job.epoch.emit(job.id, dict(row), state.best_epoch)

        return Relay()

    @Slot()
    def run(self) -> None:
        try:
            from training.config import make_config
            from training.run import resume_run, start_run

            if self.settings is not None:
                config = make_config(**self.settings)
                self.run_started.emit(self.id, self.run_dir)
                r = start_run(config, Path(self.run_dir), control=self.control, callbacks=[self._callback()],
                              report=self.report)
            else:
                self.run_started.emit(self.id, self.run_dir)
                r = resume_run(Path(self.run_dir), control=self.control, callbacks=[self._callback()],
                               epochs=self.epochs)
            self.done.emit(self.id, {
                "run_dir": str(r.run_dir), "status": r.status, "reason": r.reason, "best_epoch": r.best_epoch,
                "metrics": dict(r.metrics), "model_path": str(r.model_path) if r.model_path else None,
                "skipped": dict(r.skipped),
            })
        except Exception as e:
            self.failed.emit(self.id, str(e) or type(e).__name__)
        finally:
            self.finished.emit(self.id)


def start_in_thread(job: _Job, parent: QObject | None = None) -> QThread:
    """Move `job` to a new QThread and start it: started -> run, finished -> quit, both deleteLater."""
    thread = QThread(parent)
    job.moveToThread(thread)
    thread.started.connect(job.run)
    job.finished.connect(thread.quit)
    job.finished.connect(job.deleteLater)
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread
