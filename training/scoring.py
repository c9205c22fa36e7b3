"""Scores for a set of photos beyond top-1: each breed counted once (a set full of popular breeds cannot flatter a
model that leans toward them), and the ECE a perfectly calibrated model would read on the same photos (how much of
a small set's ECE is counting noise). Used by the built-in models' build script and `benchmarks/bench_wild.py`."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from dogbreed_desktop.core.evaluate.metrics import expected_calibration_error


def calibration_floor(p: torch.Tensor, draws: int = 300, seed: int = 0) -> float:
    """Mean ECE of a perfectly calibrated model at these confidences: each photo right with its own confidence
    (benchmarks/calibration_floor.py reads it from more draws, with percentiles)."""
    rng = np.random.default_rng(seed)
    conf, pred = p.max(1)
    wrong = (pred + 1) % p.shape[1]
    eces = [expected_calibration_error(p, torch.where(torch.from_numpy(rng.random(len(conf))) < conf, pred, wrong))
            for _ in range(draws)]
    return float(np.mean(eces))


def measure(p: torch.Tensor, y: torch.Tensor, floor: bool = True) -> dict:
    """Top-1/5, log loss, ECE (and its floor), and their per-breed means (each breed counts once)."""
    p = p.double().clamp_min(1e-12)
    right = (p.argmax(1) == y).double()
    nll = -p[torch.arange(len(y)), y].log()
    by_breed: dict[int, list[int]] = defaultdict(list)
    for i, t in enumerate(y.tolist()):
        by_breed[t].append(i)
    out = {"n": len(y), "top1": right.mean().item(),
           "top5": (p.topk(5, 1).indices == y[:, None]).any(1).double().mean().item(),
           "log_loss": nll.mean().item(), "ece": expected_calibration_error(p, y),
           "balanced_top1": float(np.mean([right[i].mean().item() for i in by_breed.values()])),
           "balanced_log_loss": float(np.mean([nll[i].mean().item() for i in by_breed.values()])),
           "confidence": p.max(1).values.mean().item()}
    if floor:
        out["ece_floor"] = calibration_floor(p)
    return out
