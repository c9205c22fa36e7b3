"""Training in a child process: the Train tab runs `dogbreed-desktop train --progress json` (the same entry
point as the CLI, also in the frozen app) with QProcess and turns its JSON lines into signals.

A separate process has its own GIL and its own torch thread count, so training runs as fast as the CLI, and a
crash in a native library (or CUDA running out of memory) ends the child, not the window. Early stop writes
`stop` to the child's stdin; the child reads it at the next batch and keeps the best model.
"""

from __future__ import annotations

import json
import sys
from collections import deque

from PySide6.QtCore import QObject, QProcess, Signal

STOP_WAIT_MS = 15_000  # how long shutdown() waits for a stopping child before killing it


def train_command(args: list[str]) -> tuple[str, list[str]]:
    """(program, arguments) running `dogbreed-desktop ARGS`: the frozen app runs itself; from source
    `python -m dogbreed_desktop`."""
    if getattr(sys, "frozen", False):
        return sys.executable, list(args)
    return sys.executable, ["-m", "dogbreed_desktop", *args]


def train_arguments(run_dir: str, settings: dict | None = None, epochs: int | None = None,
                    checks: str | None = None) -> list[str]:
    """`train` options for a new run (`settings`: make_config keywords, `data` included, and `gpus`) or a
    resume. The options come from the config's own table (training.options.options_for), torch-free. `checks`:
    the window's preflight checks (training.preflight.write_checks), so the child reads no file twice."""
    from training.options import options_for

    args = ["train", "--progress", "json"]
    if settings is None:
        args += ["--resume", run_dir]
        if epochs is not None:
            args += ["--epochs", str(epochs)]
        return args
    args += ["--out", run_dir, *options_for(settings)]
    if checks:
        args += ["--checks", checks]
    if int(settings.get("gpus") or 1) > 1:
        args += ["--gpus", str(int(settings["gpus"]))]
    return args


def exit_text(exit_code: int, crashed: bool) -> str:
    """How the child ended, in plain words."""
    if crashed:
        return "it was killed or crashed"
    if exit_code < 0 or exit_code > 128:
        return f"it was ended by signal {abs(exit_code) % 128}"
    return f"it exited with code {exit_code}"


class TrainChild(QObject):
    """One training child at a time. Signals carry plain data; `finished` is always last."""

    started = Signal(str)  # run folder
    progress = Signal(int, int, str)  # done, total, phase
    batch = Signal(float, float)  # fractional epoch, train loss of the last few batches
    epoch = Signal(dict, object)  # metrics row, best epoch so far
    done = Signal(dict)  # the "result" event: run_dir, status, reason, best_epoch, metrics, model_path, skipped
    failed = Signal(str)  # the run could not start or failed with a message
    died = Signal(str)  # the process ended without a result (killed, crashed): plain words
    training_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process: QProcess | None = None
        self.run_dir: str | None = None
        self._buffer = b""
        self._stderr: deque[str] = deque(maxlen=12)
        self._ended = False  # a result or an error event arrived

    @property
    def training(self) -> bool:
        return self.process is not None

    @property
    def pid(self) -> int | None:
        return int(self.process.processId()) if self.process is not None else None

    def start(self, run_dir: str, settings: dict | None = None, epochs: int | None = None,
              checks: str | None = None) -> None:
        if self.process is not None:
            raise RuntimeError("a training is already running")
        program, args = train_command(train_arguments(run_dir, settings, epochs, checks))
        self.run_dir, self._buffer, self._ended = run_dir, b"", False
        self._stderr.clear()
        p = QProcess(self)
        p.setProgram(program)
        p.setArguments(args)
        p.readyReadStandardOutput.connect(self._read_stdout)
        p.readyReadStandardError.connect(self._read_stderr)
        p.finished.connect(self._finished)
        p.errorOccurred.connect(self._error)
        self.process = p
        p.start()
        self.training_changed.emit(True)
        self.started.emit(run_dir)

    def stop(self) -> None:
        """Early stop: the child stops at the next batch and keeps the best model."""
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.write(b"stop\n")
            self.process.waitForBytesWritten(1_000)  # now, not when the event loop next runs (shutdown blocks it)

    def shutdown(self, wait_ms: int = STOP_WAIT_MS) -> bool:
        """Stop the child and wait for it (the window is closing); kill it if it does not end in time.
        True when it ended by itself."""
        p = self.process
        if p is None:
            return True
        self.stop()
        if p.waitForFinished(wait_ms):
            return True
        p.kill()
        p.waitForFinished(5_000)
        return False

    # -- the child's output --------------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        if self.process is None:
            return
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._handle(line)

    def _read_stderr(self) -> None:
        if self.process is None:
            return
        text = bytes(self.process.readAllStandardError()).decode("utf-8", "replace")
        self._stderr.extend(line for line in text.splitlines() if line.strip())

    def _handle(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return  # not ours (a library's warning on stdout)
        if not isinstance(event, dict):
            return
        kind = event.get("event")
        if kind == "progress":
            self.progress.emit(int(event["done"]), int(event["total"]), str(event["phase"]))
        elif kind == "batch" and event.get("loss") is not None:
            self.batch.emit(float(event["epoch"]), float(event["loss"]))
        elif kind == "epoch":
            row = {k: (float("nan") if v is None else v) for k, v in event["metrics"].items()}
            self.epoch.emit(row, event.get("best_epoch"))
        elif kind == "result":
            self._ended = True
            self.done.emit({k: event.get(k) for k in ("run_dir", "status", "reason", "best_epoch", "metrics",
                                                      "model_path", "skipped")})
        elif kind == "error":
            self._ended = True
            self.failed.emit(str(event.get("message") or "training failed"))

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.process is not None:
            self._ended = True
            self.failed.emit(f"the training process could not start: {self.process.errorString()}")
            self._cleanup()

    def _finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        if self._buffer.strip():
            self._handle(self._buffer)
        self._buffer = b""
        if not self._ended:
            crashed = status == QProcess.ExitStatus.CrashExit
            detail = f" Last output: {self._stderr[-1]}" if self._stderr else ""
            self.died.emit(f"The training process stopped unexpectedly: {exit_text(exit_code, crashed)}.{detail}")
        self._cleanup()

    def _cleanup(self) -> None:
        p, self.process = self.process, None
        if p is not None:
            p.deleteLater()
            self.training_changed.emit(False)
