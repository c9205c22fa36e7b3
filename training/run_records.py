"""What a run writes about itself as it goes: status.json (which `runfolder.py` reads back without torch) and
environment.json (versions, device, processes)."""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import torch

from dogbreed_desktop.core.devices import describe_device
from dogbreed_desktop.core.errors import describe
from dogbreed_desktop.core.files import DiskFull, write_text

from .distributed import Dist
from .runfolder import RunStatus


def write_json(path: Path, data: dict) -> None:
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_status(run_dir: Path, status: str, reason: str = "", **extra) -> None:
    data = {"status": status, "reason": reason, "updated": now(), "pid": os.getpid(), "host": socket.gethostname()}
    data.update(extra)
    path = Path(run_dir) / "status.json"
    try:
        write_json(path, data)
    except DiskFull as full:
        # Too full even for a tmp file beside it: rewrite it in place, in the blocks it already has, so the
        # run still says why it ended (a torn status.json reads as "interrupted", which it then is).
        if not path.is_file():
            raise
        try:
            with open(path, "r+", encoding="utf-8") as f:
                f.write(json.dumps(data, indent=2, default=str) + "\n")
                f.truncate()
        except OSError:
            raise full from None


def mark_interrupted(run_dir: Path, error: BaseException) -> None:
    """status.json says the run was interrupted and why (a full disk: that sentence, so --resume is the way
    on). Best effort: the error that ended the run is the one to report, not a second one about status.json."""
    try:
        write_status(run_dir, RunStatus.INTERRUPTED, describe(error))
    except OSError:
        pass


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def environment(device: torch.device, dist: Dist | None = None) -> dict:
    """Versions, device and GPU, and the processes the run ran on (`dist`: torchrun's ranks)."""
    from dogbreed_desktop import __version__

    d = dist or Dist()
    env = {
        "app_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torchvision": _version("torchvision"),  # not imported: fast mode works without it
        "pillow": _version("pillow"),
        "numpy": _version("numpy"),
        "device": str(device),
        "device_description": describe_device(device),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.version.cuda,
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "world_size": d.world_size,  # training processes in all
        "nodes": d.nodes,
        "local_world_size": d.local_world_size,  # processes on the node that wrote this file
        "distributed_backend": torch.distributed.get_backend() if d.enabled and _dist_initialized() else None,
    }
    return env


def _dist_initialized() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()
