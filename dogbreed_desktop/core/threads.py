"""How many threads the model (ONNX Runtime or torch) and the photo decoders use: decided once per process by its
entry point (the CLI's `main`, the window's `run`) and read from here by the code below it, so no two threads of
one process fight over torch's process-wide setting.

torch is imported only when the decision is applied, so the window can decide before torch loads.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Threads:
    # At most this many intra-op threads for the model in this process, ONNX Runtime's sessions (`compute`) and
    # torch's (`apply`) alike; None: the runtime's default.
    intra_op: int | None
    decode: int  # threads decoding photos beside the model (prediction)
    # Threads for tiny ops (a linear head on cached features), where more threads only spin: a busy machine makes
    # such an epoch 5-30x slower with them (measured: 0.25 s vs 1-7 s for 9,000 features on 2 shared cores).
    # None in a process that shares torch with other work (the window), where nobody may change the count.
    tiny_ops: int | None

    @property
    def compute(self) -> int:
        """Intra-op threads for the model (ONNX Runtime or torch): the decided count, else every core."""
        if self.intra_op is not None:
            return self.intra_op
        explicit = os.environ.get("OMP_NUM_THREADS", "")
        return int(explicit) if explicit.isdigit() and int(explicit) > 0 else (os.cpu_count() or 2)

    def apply(self) -> None:
        """Give torch its intra-op count (once per process; later calls do nothing). Call where torch is first used."""
        global _applied
        with _lock:
            if _applied or self.intra_op is None:
                _applied = True
                return
            import torch

            torch.set_num_threads(max(1, min(torch.get_num_threads(), self.intra_op)))
            _applied = True

    @contextmanager
    def for_tiny_ops(self):
        """Run the block with `tiny_ops` threads, then restore the process's count."""
        if self.tiny_ops is None:
            yield
            return
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(self.tiny_ops)
        try:
            yield
        finally:
            torch.set_num_threads(before)


_lock = threading.Lock()
_applied = False
_decided: Threads | None = None


def decide(role: str) -> Threads:
    """The process's thread counts. "cli": the runtime's default, tiny ops on one thread. "gui": one core left for the
    window's event loop (measured: 70-85 ms stalls on 2 cores with every core taken, under 50 ms with one left
    free), and nobody changes the count later. An explicit OMP_NUM_THREADS wins over both."""
    global _decided
    cores = os.cpu_count() or 2
    decode = max(1, min(4, cores // 2))  # half the cores at most: the model runs on the rest meanwhile
    explicit = "OMP_NUM_THREADS" in os.environ
    if role == "gui":
        _decided = Threads(intra_op=None if explicit else max(1, cores - 1), decode=decode, tiny_ops=None)
    elif role == "cli":
        _decided = Threads(intra_op=None, decode=decode, tiny_ops=None if explicit else 1)
    else:
        raise ValueError(f"unknown role {role!r}")
    return _decided


def current() -> Threads:
    """What this process decided; a library caller that decided nothing gets the CLI's choice."""
    return _decided or decide("cli")
