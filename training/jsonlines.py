"""`dogbreed-desktop train --progress json`: the run as JSON lines on stdout, so the Train tab (which runs
training as a child process) and any other tool can follow and steer it.

One JSON object per line, each with an "event" (schema 1; NaN and infinities are written as null):

    {"event": "start", "schema": 1, "run_dir": str, "resume": bool, "pid": int, "world_size": int}
    {"event": "config", "mode": str, "backbone": str, "device": str}
    {"event": "preflight", "summary": str, "images": int, "classes": int, "reused": int}   reused: files
                                      whose check came from --checks (not read again)
    {"event": "progress", "phase": str, "done": int, "total": int}   phase: "checking images",
                                      "training the head on frozen features first" (top, finetune: the
                                      probe, then its "extracting features"), "extracting features" (fast),
                                      "caching activations" (top), "training", "writing the ONNX graph" (top,
                                      finetune);
                                      at most 10 a second, and at each end
    {"event": "batch", "epoch": float, "loss": float}   train loss of the last few batches; x = 2.5 is half
                                                        way through epoch 3; at most 10 a second
    {"event": "epoch", "metrics": {epoch, train_loss, val_loss, val_top1, val_top5, lr, seconds},
     "best_epoch": int | null}                          after each validation (epoch 0 = the starting point)
    {"event": "status", "status": "stopping", "message": str}   a stop was asked for
    {"event": "result", "run_dir": str, "status": "finished" | "stopped_early" | "stopped", "reason": str,
     "best_epoch": int | null, "metrics": {...}, "model_path": str | null, "skipped": {path: reason},
     "peak_device_memory_mib": float | null}            (rank 0's GPU; null on CPU)
    {"event": "error", "message": str, "exit_code": int}

Human-readable lines go to stderr. Writing `stop` and a newline to the process's stdin asks it to stop at the
next batch and keep the best model (like SIGTERM or Ctrl-C, and portable to Windows). If stdout goes away (the
reader died), the run stops the same way.
"""

from __future__ import annotations

import sys
import threading

from dogbreed_desktop.core.control import Control, Throttle
from dogbreed_desktop.core.jsonsafe import dumps



class JsonLines:
    """Writes events to `stream`, one line each, from any thread. `on_broken` is called once when the stream
    fails (the reader is gone)."""

    def __init__(self, stream=None, on_broken=None):
        self.stream = stream or sys.stdout
        self.on_broken = on_broken
        self.broken = False
        self._lock = threading.Lock()

    def emit(self, event: str, **fields) -> None:
        line = dumps({"event": event, **fields})
        with self._lock:
            if self.broken:
                return
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # BrokenPipeError, or the stream closed
                self.broken = True
        if self.broken and self.on_broken is not None:
            self.on_broken()


class JsonControl(Control):
    """Progress as throttled "progress" events; `write` sends human-readable lines to stderr."""

    def __init__(self, out: JsonLines | None = None):
        super().__init__()
        self.out = out or JsonLines(on_broken=self.stop)
        if self.out.on_broken is None:
            self.out.on_broken = self.stop
        self._throttle, self._phase = Throttle(), None

    def progress(self, done: int, total: int, message: str = "") -> None:
        if self._throttle.ready(force=message != self._phase or done >= total):
            self._phase = message
            self.out.emit("progress", phase=message, done=int(done), total=int(total))

    def write(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        pass

    def stop_requested(self, message: str) -> None:
        """Stop at the next batch, once, and say so."""
        if not self.should_stop():
            self.stop()
            self.out.emit("status", status="stopping", message=message)


def json_events(control: JsonControl):
    """A callback sending "batch" (throttled) and "epoch" events."""
    from .callbacks import Callback

    class JsonEvents(Callback):
        order = 50  # after the best epoch is known
        throttle = Throttle()

        def on_batch_end(self, state, b):
            if self.throttle.ready():
                control.out.emit("batch", epoch=float(b["epoch"]), loss=float(b["recent_loss"]))

        def on_epoch_end(self, state, row):
            control.out.emit("epoch", metrics=dict(row), best_epoch=state.best_epoch)

    return JsonEvents()


def watch_stdin(control: JsonControl, stream=None) -> threading.Thread:
    """A daemon thread reading `stream` (stdin) for a `stop` line. End of input is not a stop request:
    scripts often run the command with stdin closed."""

    def read() -> None:
        try:
            for line in stream or sys.stdin:
                if line.strip().lower() == "stop":
                    control.stop_requested("stop requested on stdin")
        except (OSError, ValueError):
            return

    thread = threading.Thread(target=read, name="stdin-stop", daemon=True)
    thread.start()
    return thread
