"""Data-parallel training over several processes (DistributedDataParallel), started by torchrun.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK for each process; `init_distributed` joins them into one process
group (`nccl` on CUDA, `gloo` on CPU). One process alone (no torchrun) gets `Dist()` and every helper here
is then a no-op, so the loop has one code path.

What each rank does:
- training batches: a DistributedSampler-style shard of the epoch's seeded order (the same order on every rank,
  each taking every world_size-th item, padded to equal length so every rank runs the same number of steps);
- validation: each rank scores its share, and the logits and targets are gathered, so every rank computes the
  same metrics and takes the same early-stopping decision;
- a stop request (Early stop, Ctrl-C, SIGTERM, `stop` on stdin) reaches every rank: before each training batch
  the ranks all-reduce a stop flag;
- only rank 0 writes the run folder, the checkpoints and the model.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist_

TIMEOUT = datetime.timedelta(minutes=30)  # a slow rank (first-epoch decoding, a big checkpoint) is not a hang


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1  # processes on this node
    nodes: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """This rank's device: its own GPU on CUDA (LOCAL_RANK), else `device`."""
        if self.enabled and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def seed(self, seed: int) -> int:
        """A per-rank seed for augmentation and dropout (the epoch order itself is shared)."""
        return seed + 1_000_003 * self.rank

    # -- collectives (no-ops in one process) ---------------------------------------------------------------
    def barrier(self) -> None:
        if self.enabled:
            dist_.barrier()

    def broadcast(self, obj):
        """`obj` from rank 0, on every rank (pickled: only for small plain data)."""
        if not self.enabled:
            return obj
        box = [obj if self.main else None]
        dist_.broadcast_object_list(box, src=0)
        return box[0]

    def on_main(self, work):
        """`work()` on rank 0; its result, or the error it raised, on every rank (none waits for a failed one)."""
        result = None
        if self.main:
            try:
                result = work()
            except Exception as e:
                self.broadcast(e)
                raise
        result = self.broadcast(result)
        if isinstance(result, BaseException):
            raise result
        return result

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when `flag` is True on any rank."""
        if not self.enabled:
            return flag
        t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=_comm_device(device))
        dist_.all_reduce(t, op=dist_.ReduceOp.MAX)
        return bool(t.item())

    def mean(self, value: float, device: torch.device) -> float:
        """The mean of `value` over the ranks (each rank's training loss over its equal share)."""
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=_comm_device(device))
        dist_.all_reduce(t)
        return t.item() / self.world_size

    def gather_rows(self, x: torch.Tensor, device: torch.device) -> torch.Tensor:
        """Every rank's rows of `x` (on CPU), concatenated in rank order; ranks may hold different counts."""
        if not self.enabled:
            return x
        comm = _comm_device(device)
        n = torch.tensor([x.shape[0]], dtype=torch.int64, device=comm)
        sizes = [torch.zeros_like(n) for _ in range(self.world_size)]
        dist_.all_gather(sizes, n)
        sizes = [int(s.item()) for s in sizes]
        padded = torch.zeros((max(sizes), *x.shape[1:]), dtype=x.dtype, device=comm)
        padded[: x.shape[0]] = x.to(comm)
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist_.all_gather(parts, padded)
        return torch.cat([p[:s].cpu() for p, s in zip(parts, sizes)])

    def gather_objects(self, obj) -> list:
        """Every rank's `obj` (small, picklable), in rank order."""
        if not self.enabled:
            return [obj]
        out = [None] * self.world_size
        dist_.all_gather_object(out, obj)
        return out

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """`model` in DistributedDataParallel (gradients averaged across ranks each step); itself in one process."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def shard(self, order: list[int], pad: bool) -> list[int]:
        """This rank's share of `order` (every world_size-th item from its rank). `pad` repeats items from the
        start so every rank gets the same count (DistributedSampler's drop_last=False)."""
        if not self.enabled:
            return order
        if pad and order:
            per_rank = -(-len(order) // self.world_size)
            order = (order * (1 + per_rank * self.world_size // len(order)))[: per_rank * self.world_size]
        return order[self.rank :: self.world_size]


def reduce_eval(ev: dict, d: Dist, device: torch.device, classes: int) -> dict:
    """`evaluate`'s result over every rank's share of the validation split: logits and targets gathered, so
    the metrics (and the early-stopping decision) are the whole split's, the same on every rank."""
    if not d.enabled:
        return ev
    from dogbreed_desktop.core.evaluate.metrics import topk_accuracy

    out = ev.get("outputs") or {"logits": torch.zeros((0, classes)), "targets": torch.zeros(0, dtype=torch.long)}
    z, t = d.gather_rows(out["logits"].float(), device), d.gather_rows(out["targets"], device)
    if not len(t):
        return ev
    return {**ev, "val_loss": torch.nn.functional.cross_entropy(z, t).item(), "val_top1": topk_accuracy(z.cpu(), t.cpu(), 1),
            "val_top5": topk_accuracy(z.cpu(), t.cpu(), 5), "outputs": {"logits": z, "targets": t}}


def sharded_features(samples: list, extract, d: Dist, device: torch.device):
    """Fast mode: each rank runs `extract(its share of samples)` (a features.FeatureSet); the shares are
    gathered so every rank holds every sample's features, in `samples` order."""
    if not d.enabled:
        return extract(samples)
    from dogbreed_desktop.core.control import Stopped

    from .features import FeatureSet

    mine = d.shard(list(range(len(samples))), pad=False)
    try:
        fs, stopped = extract([samples[i] for i in mine]), False
    except Stopped:
        fs, stopped = None, True
    if d.any(stopped, device):  # every rank leaves together, none waits at the gather below
        raise Stopped("stopped during feature extraction")
    where = {str(samples[i].path): i for i in mine}
    index = torch.tensor([where[str(s.path)] for s in fs.samples], dtype=torch.int64)
    feats = d.gather_rows(fs.features.float(), device)
    index = d.gather_rows(index, device)
    errors = [e for part in d.gather_objects(fs.errors) for e in part]
    order = torch.argsort(index)
    return FeatureSet(feats[order], [samples[i] for i in index[order].tolist()], errors)


def fill_cache(cache, features) -> None:
    """Rank 0: the gathered features of every rank into the feature cache, saved once."""
    for s, f in zip(features.samples, features.features):
        if s.digest and s.digest not in cache:
            cache.put(s.digest, f)
    cache.save()


class ReadOnlyCache:
    """A feature cache other ranks read but never write: rank 0 alone saves the file (after gathering)."""

    def __init__(self, cache):
        self.cache = cache

    def get(self, digest):
        return self.cache.get(digest)

    def put(self, digest, feature) -> None:
        pass

    def save(self) -> None:
        pass


def _comm_device(device: torch.device) -> torch.device:
    """nccl talks CUDA tensors; gloo CPU ones."""
    return device if device.type == "cuda" else torch.device("cpu")


def from_env() -> Dist:
    """The ranks torchrun describes in the environment (one process when it is not set)."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return Dist()
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "0") or 0) or world
    # torchrun runs one agent per node: GROUP_WORLD_SIZE counts them (else equal nodes are assumed)
    nodes = int(os.environ.get("GROUP_WORLD_SIZE", "0") or 0) or -(-world // local)
    return Dist(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")), local, nodes)


def init_distributed(device: torch.device) -> Dist:
    """Join torchrun's process group when there is one: nccl for CUDA devices, gloo otherwise."""
    d = from_env()
    if not d.enabled or dist_.is_initialized():
        return d
    if not dist_.is_available():
        raise RuntimeError("this torch build has no torch.distributed: run one process, or install a full torch")
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(d.local_rank)
    dist_.init_process_group(backend=backend, timeout=TIMEOUT)
    return d


def shutdown_distributed() -> None:
    if dist_.is_available() and dist_.is_initialized():
        dist_.destroy_process_group()


class StopSync:
    """Wraps training batches: before each batch the ranks learn whether any of them was asked to stop
    (`requests`: the rank's own Control, set by signals or stdin) and set `control`, the one the loop reads,
    on every rank at the same step; a request arriving mid-step waits for the next one, so no rank leaves a
    step the others are in."""

    def __init__(self, batches, requests, d: Dist, device: torch.device):
        from dogbreed_desktop.core.control import Control

        self.batches, self.requests, self.d, self.device = batches, requests, d, device
        self.control = Control()

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        for batch in self.batches:
            if self.d.any(self.requests.should_stop(), self.device):
                self.control.stop()
            yield batch


def watch_parent(control, interval_s: float = 1.0) -> None:
    """Under torchrun: stop (at the next batch, keeping the best model) when the launcher that started this
    rank is gone, instead of training on as an orphan (its workers run in their own sessions)."""
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while not control.should_stop():
            if os.getppid() != parent:
                control.stop()
                return
            time.sleep(interval_s)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
