"""`train --gpus N`: start torchrun for the user, one training process per GPU on this machine.

torchrun runs in this process (`torch.distributed.run`, as the `torchrun` command does), so it works in the
frozen app too, where the workers are the app itself (`--no-python`). Its workers inherit stdin and stdout:
with `--progress json` rank 0 writes the JSON lines and reads `stop` exactly as a single process does.
"""

from __future__ import annotations

import os
import sys


def strip_gpus(argv: list[str]) -> list[str]:
    """`argv` without `--gpus N` / `--gpus=N`."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--gpus":
            skip = True
        elif not a.startswith("--gpus="):
            out.append(a)
    return out


def train_argv() -> list[str]:
    """The options after `train` on this process's command line."""
    argv = sys.argv[1:]
    return argv[argv.index("train") + 1 :] if "train" in argv else argv


def torchrun_args(nprocs: int, train_options: list[str], *, frozen: bool | None = None) -> list[str]:
    """torchrun's arguments for `nprocs` local workers running `dogbreed-desktop train OPTIONS`."""
    frozen = getattr(sys, "frozen", False) if frozen is None else frozen
    head = ["--standalone", "--nnodes", "1", "--nproc-per-node", str(nprocs)]
    worker = ["--no-python", sys.executable, "train"] if frozen else ["--module", "dogbreed_desktop", "train"]
    return head + worker + strip_gpus(train_options)


def launch(nprocs: int, train_options: list[str]) -> int:
    """Run torchrun with `nprocs` workers; its exit code (0 when every rank finished)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    # each worker's torch threads: the machine's cores shared out (torchrun would say 1 and warn)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nprocs)))
    try:
        torchrun(torchrun_args(nprocs, train_options))
    except ChildFailedError as e:
        print(f"dogbreed-desktop train: error: a training process failed: {e}", file=sys.stderr)
        return 1
    return 0


def gpus_problem(gpus: int, device: str) -> str | None:
    """Why `--gpus N` cannot run here, or None. With --device cpu it runs N CPU processes (gloo)."""
    import torch

    if device == "cpu":
        return None
    if device not in ("auto", "cuda"):
        return f"--gpus needs CUDA GPUs (or --device cpu for CPU processes), not --device {device}"
    found = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if found < gpus:
        return (f"--gpus {gpus} needs {gpus} CUDA GPUs; this machine has {found} "
                f"(--device cpu runs {gpus} CPU processes instead)")
    return None

