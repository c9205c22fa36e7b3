"""Reading training run folders without torch: the GUI lists runs and draws their curves from these files.

    RUN/config.json        the TrainConfig
    RUN/preflight.json     what the data check found
    RUN/split.csv          path,label,subset,digest
    RUN/environment.json   versions, device, GPU, processes and nodes (world_size, nodes, local_world_size)
    RUN/metrics.csv        epoch,train_loss,val_loss,val_top1,val_top5,lr,seconds (epoch 0 = starting point)
    RUN/checkpoint.pt      the training checkpoint (weights_only loadable), rewritten atomically each epoch
    RUN/model.safetensors  the model artifact (best epoch, temperature fitted on validation)
    RUN/status.json        running | finished | stopped_early | stopped | interrupted, and why
    RUN/skipped.json       files that could not be decoded (only when there were some)
"""

from __future__ import annotations

import csv
import json
import math
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path

from dogbreed_desktop.core.errors import UserError
from dogbreed_desktop.core.files import free_space, full_kind, human_size
from dogbreed_desktop.paths import MODEL_FILENAME

CHECKPOINT_FILENAME = "checkpoint.pt"
METRIC_FIELDS = ("epoch", "train_loss", "val_loss", "val_top1", "val_top5", "lr", "seconds")


class RunStatus(str, Enum):
    """What status.json says about a run. The values are what the file holds; `text` is how people read it."""

    RUNNING = "running"
    FINISHED = "finished"
    STOPPED_EARLY = "stopped_early"  # early stopping: no better validation loss for `patience` epochs
    STOPPED = "stopped"  # a stop request (button, Ctrl-C, SIGTERM)
    INTERRUPTED = "interrupted"  # the process ended without saying how (crash, kill, power)

    __str__ = str.__str__  # "finished", in f-strings and JSON alike

    @property
    def text(self) -> str:
        return _WORDING[self]

    @classmethod
    def describe(cls, value: str) -> str:
        """The wording for a status value, also one written by another version of the app."""
        try:
            return cls(value).text
        except ValueError:
            return str(value)


_WORDING = {
    RunStatus.RUNNING: "running",
    RunStatus.FINISHED: "finished",
    RunStatus.STOPPED_EARLY: "stopped early (no more improvement)",
    RunStatus.STOPPED: "stopped by request",
    RunStatus.INTERRUPTED: "interrupted",
}


# Everything a run folder may hold; `out_dir_problem` accepts an existing folder only if it holds nothing else.
RUN_ENTRIES = frozenset({
    "config.json", "preflight.json", "split.csv", "environment.json", "metrics.csv", CHECKPOINT_FILENAME,
    MODEL_FILENAME, "status.json", "skipped.json", "organised",
})


class RunError(UserError):
    """A run that cannot start or resume, with a message fit to show the user."""


def out_dir_problem(path: Path) -> str | None:
    """Why a new run must not be written to `path`, or None when it is missing, empty, or a run folder of
    ours that never got as far as its config (so nothing of the user's is ever overwritten)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return f"{path} is a file, not a folder; give --out a new or empty folder"
    if path.is_dir():
        try:
            names = {p.name for p in path.iterdir() if not (p.name.startswith(".") and p.name.endswith(".tmp"))}
        except OSError as e:
            return f"cannot read the folder {path} ({e.strerror or e})"
        if "config.json" in names:
            return f"{path} already holds a run; continue it with --resume {path}, or choose a new folder"
        foreign = sorted(names - RUN_ENTRIES)
        if names and not foreign and not _our_status(path):
            foreign = sorted(names)  # the names of our files, but not written by us (no status.json of ours)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            return (f"{path} is not empty and is not a run folder (it holds {shown}); "
                    "give --out a new or empty folder, so none of your files is overwritten")
        return writable_folder_problem(path)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot create {path}: {parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot create {path}: {parent} is not writable"
    return None


def _our_status(run_dir: Path) -> bool:
    try:
        data = json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("status") in {s.value for s in RunStatus} and "pid" in data


def writable_folder_problem(path: Path) -> str | None:
    """Why files cannot be written in folder `path` (created when missing), or None. Checked before long
    work starts, so a read-only disk is found before an hour of feature extraction, not after."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except FileExistsError:
        return f"cannot create the folder {path}: a file is in the way"
    except OSError as e:
        if full_kind(e, path):
            return (f"Not enough disk space in {path}: {human_size(free_space(path))} free. "
                    "Free some space and try again.")
        return f"cannot write to {path} ({e.strerror or e})"
    return None


def new_run_dir(root: Path, backbone: str) -> Path:
    """A fresh folder name under `root`: 20250101-120000-efficientnet_lite0."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{stamp}-{backbone}"
    n = 1
    while path.exists():
        n += 1
        path = Path(root) / f"{stamp}-{backbone}-{n}"
    return path


def read_metrics(path: Path) -> list[dict]:
    """The rows of a metrics.csv as floats (empty cells are NaN, epoch is an int)."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for raw in csv.DictReader(f):
            row = {k: (float(v) if v not in ("", None) else math.nan) for k, v in raw.items() if k in METRIC_FIELDS}
            row["epoch"] = int(row["epoch"])
            rows.append(row)
    return rows


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def read_status(run_dir: Path) -> dict:
    """status.json, with a "running" run whose process is gone (same host) reported as interrupted."""
    path = Path(run_dir) / "status.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"status": RunStatus.INTERRUPTED, "reason": "no status file"}
    if data.get("status") == RunStatus.RUNNING and data.get("host") == socket.gethostname():
        pid = data.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and not _pid_alive(pid):
            data = {**data, "status": RunStatus.INTERRUPTED,
                    "reason": "the training process ended without finishing"}
    return data


@dataclass
class RunInfo:
    path: Path
    status: str
    reason: str
    config: dict
    history: list[dict]
    has_model: bool
    metrics: dict
    modified: float

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def can_resume(self) -> bool:
        return (self.path / CHECKPOINT_FILENAME).exists() and self.status in (RunStatus.STOPPED, RunStatus.INTERRUPTED)

    def best_top1(self) -> float | None:
        v = self.metrics.get("val_top1")
        if v is None:
            vals = [r["val_top1"] for r in self.history if not math.isnan(r.get("val_top1", math.nan))]
            v = max(vals) if vals else None
        return v


def read_run(run_dir: Path) -> RunInfo | None:
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        return None
    try:
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    status = read_status(run_dir)
    history = []
    if (run_dir / "metrics.csv").is_file():
        try:
            history = read_metrics(run_dir / "metrics.csv")
        except (OSError, ValueError, KeyError):
            history = []
    return RunInfo(
        path=run_dir,
        status=status.get("status", RunStatus.INTERRUPTED),
        reason=status.get("reason", ""),
        config=config,
        history=history,
        has_model=(run_dir / MODEL_FILENAME).is_file(),
        metrics=status.get("metrics") or {},
        modified=(run_dir / "status.json").stat().st_mtime if (run_dir / "status.json").exists() else time.time(),
    )


def list_runs(root: Path) -> list[RunInfo]:
    """The runs under `root`, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [r for r in (read_run(d) for d in root.iterdir() if d.is_dir()) if r is not None]
    return sorted(runs, key=lambda r: r.modified, reverse=True)
