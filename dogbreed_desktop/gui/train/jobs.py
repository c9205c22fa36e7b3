"""Owns the Train tab's worker threads: at most one preflight and one training at a time.

Each job's signals carry its id; only the current job's reach the widgets (a newer preflight supersedes an
older one, whose late signals are dropped). `shutdown()` stops every job and waits with a timeout.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, Signal

from .worker import PreflightJob, TrainJob, start_in_thread

SHUTDOWN_WAIT_MS = 10_000


class TrainJobs(QObject):
    checking = Signal(int, int)  # done, total
    report = Signal(object)  # training.preflight.PreflightReport
    report_failed = Signal(str)
    started = Signal(str)  # run folder
    progress = Signal(int, int, str)  # done, total, phase
    batch = Signal(float, float)  # fractional epoch, running train loss
    epoch = Signal(dict, object)  # metrics row, best epoch so far
    done = Signal(dict)  # the run's result
    failed = Signal(str)
    training_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.preflight_job: PreflightJob | None = None
        self.train_job: TrainJob | None = None
        self._threads: list = []

    @property
    def training(self) -> bool:
        return self.train_job is not None

    def check(self, folder: str, per_class: int | None = None) -> None:
        if self.preflight_job is not None:
            self.preflight_job.stop()
        job = PreflightJob(folder, per_class)
        job.progress.connect(self._checking)
        job.done.connect(self._report)
        job.failed.connect(self._report_failed)
        job.finished.connect(self._finished)
        self.preflight_job = job
        self._start(job)

    def train(self, job: TrainJob) -> None:
        if self.train_job is not None:
            raise RuntimeError("a training is already running")
        for signal, slot in ((job.run_started, self._started), (job.progress, self._progress),
                             (job.batch, self._batch), (job.epoch, self._epoch), (job.done, self._done),
                             (job.failed, self._failed), (job.finished, self._finished)):
            signal.connect(slot)
        self.train_job = job
        self._start(job)
        self.training_changed.emit(True)

    def stop_training(self) -> None:
        """Direct and thread-safe: the loop reads the flag at the next batch."""
        if self.train_job is not None:
            self.train_job.stop()

    def shutdown(self) -> None:
        for job in (self.preflight_job, self.train_job):
            if job is not None:
                job.stop()
        for thread in list(self._threads):
            if shiboken6.isValid(thread):  # else finished and deleted (deleteLater) already
                thread.quit()
                thread.wait(SHUTDOWN_WAIT_MS)
        self._threads.clear()

    # -- job signals (queued to the GUI thread; each carries the job id) -----------------------------------
    def _is_preflight(self, job_id: int) -> bool:
        return self.preflight_job is not None and self.preflight_job.id == job_id

    def _is_training(self, job_id: int) -> bool:
        return self.train_job is not None and self.train_job.id == job_id

    def _checking(self, job_id: int, done: int, total: int, message: str) -> None:
        if self._is_preflight(job_id):
            self.checking.emit(done, total)

    def _report(self, job_id: int, report) -> None:
        if self._is_preflight(job_id):
            self.report.emit(report)

    def _report_failed(self, job_id: int, message: str) -> None:
        if self._is_preflight(job_id):
            self.report_failed.emit(message)

    def _started(self, job_id: int, run_dir: str) -> None:
        if self._is_training(job_id):
            self.started.emit(run_dir)

    def _progress(self, job_id: int, done: int, total: int, message: str) -> None:
        if self._is_training(job_id):
            self.progress.emit(done, total, message)

    def _batch(self, job_id: int, epoch: float, loss: float) -> None:
        if self._is_training(job_id):
            self.batch.emit(epoch, loss)

    def _epoch(self, job_id: int, row: dict, best_epoch) -> None:
        if self._is_training(job_id):
            self.epoch.emit(row, best_epoch)

    def _done(self, job_id: int, result: dict) -> None:
        if self._is_training(job_id):
            self.done.emit(result)

    def _failed(self, job_id: int, message: str) -> None:
        if self._is_training(job_id):
            self.failed.emit(message)

    def _finished(self, job_id: int) -> None:
        if self._is_preflight(job_id):
            self.preflight_job = None
        if self._is_training(job_id):
            self.train_job = None
            self.training_changed.emit(False)

    def _start(self, job) -> None:
        thread = start_in_thread(job)
        self._threads.append(thread)
        thread.finished.connect(self._thread_finished)

    def _thread_finished(self) -> None:
        thread = self.sender()
        if thread in self._threads:
            self._threads.remove(thread)
