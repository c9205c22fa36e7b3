"""The metric maths, in numpy, for every caller: training's validation and its model's metrics, the evaluation
report (`report/analysis.py` reads the per-photo records into these), the benchmarks and the built-in models'
script. Arrays in: score or probability rows, integer targets; CPU torch tensors work as they are."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ECE_BINS = 15
RELIABILITY_BINS = 10


@dataclass(frozen=True)
class Pair:
    true: int
    predicted: int
    count: int


@dataclass(frozen=True)
class ReliabilityBin:
    lo: float
    hi: float
    count: int
    confidence: float  # mean confidence in the bin (NaN when empty)
    accuracy: float


def topk_accuracy(scores, targets, k: int) -> float:
    """The share of rows whose target is among their k highest scores (logits rank as probabilities do)."""
    scores, targets = np.asarray(scores), np.asarray(targets)
    if len(targets) == 0:
        return math.nan
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float((top == targets[:, None]).any(axis=1).mean())


def mean_log_loss(p_true) -> float:
    """The mean negative log of the probability each photo gave its true class (clamped at 1e-12)."""
    p_true = np.asarray(p_true, dtype=np.float64)
    return float(np.mean(-np.log(np.maximum(p_true, 1e-12)))) if len(p_true) else math.nan


def log_loss(probs, targets) -> float:
    probs, targets = np.asarray(probs), np.asarray(targets)
    return mean_log_loss(probs[np.arange(len(targets)), targets])


def reliability(confidence, correct, bins: int = RELIABILITY_BINS) -> list[ReliabilityBin]:
    """Equal-width confidence bins (lo, hi]: how often the model was right at each confidence."""
    conf = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (conf > lo) & (conf <= hi)  # a top probability is never 0
        k = int(mask.sum())
        out.append(ReliabilityBin(float(lo), float(hi), k, float(conf[mask].mean()) if k else math.nan,
                                  float(right[mask].mean()) if k else math.nan))
    return out


def calibration_error(confidence, correct, bins: int = ECE_BINS) -> float:
    """Gap between confidence and accuracy, averaged over equal-width confidence bins (weighted by size)."""
    n = len(confidence)
    if not n:
        return math.nan
    return sum(b.count * abs(b.confidence - b.accuracy) for b in reliability(confidence, correct, bins) if b.count) / n


def expected_calibration_error(probs, targets, bins: int = ECE_BINS) -> float:
    probs, targets = np.asarray(probs), np.asarray(targets)
    return calibration_error(probs.max(axis=1), probs.argmax(axis=1) == targets, bins)


def confusion(true, predicted, n: int) -> np.ndarray:
    """counts[true, predicted] (int64, n x n)."""
    out = np.zeros((n, n), dtype=np.int64)
    np.add.at(out, (np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return out


def most_confused(counts: np.ndarray, n: int | None = 20) -> list[Pair]:
    """Off-diagonal cells, largest first."""
    off = counts.copy()
    np.fill_diagonal(off, 0)
    t, p = np.nonzero(off)
    pairs = sorted((Pair(int(a), int(b), int(off[a, b])) for a, b in zip(t, p)),
                   key=lambda x: (-x.count, x.true, x.predicted))
    return pairs if n is None else pairs[:n]


def report(probs, targets, classes: list[str], confused: int = 10) -> dict:
    """top-1, top-5, log loss, ECE, per-class accuracy and the most confused (true, predicted) pairs."""
    probs, targets = np.asarray(probs), np.asarray(targets)
    counts = confusion(targets, probs.argmax(axis=1), len(classes)) if len(targets) else None
    support = counts.sum(axis=1) if counts is not None else np.zeros(len(classes))
    return {
        "n": int(len(targets)),
        "top1": topk_accuracy(probs, targets, 1),
        "top5": topk_accuracy(probs, targets, 5),
        "log_loss": log_loss(probs, targets),
        "ece": expected_calibration_error(probs, targets),
        "per_class_accuracy": {name: float(counts[i, i] / support[i]) for i, name in enumerate(classes)
                               if support[i]},
        "most_confused": [{"true": classes[p.true], "predicted": classes[p.predicted], "count": p.count}
                          for p in (most_confused(counts, confused) if counts is not None else [])],
    }
