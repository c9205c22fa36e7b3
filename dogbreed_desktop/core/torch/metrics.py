"""Classification metrics from a probability matrix: shared by `evaluate` and the training loop."""

from __future__ import annotations

from collections import Counter

import torch


def topk_accuracy(probs: torch.Tensor, targets: torch.Tensor, k: int) -> float:
    if len(targets) == 0:
        return float("nan")
    k = min(k, probs.shape[1])
    hits = (probs.topk(k, dim=1).indices == targets[:, None]).any(dim=1)
    return hits.float().mean().item()


def log_loss(probs: torch.Tensor, targets: torch.Tensor) -> float:
    p = probs[torch.arange(len(targets)), targets].clamp_min(1e-12)
    return (-p.log()).mean().item()


def expected_calibration_error(probs: torch.Tensor, targets: torch.Tensor, bins: int = 15) -> float:
    """Gap between confidence and accuracy, averaged over equal-width confidence bins (weighted by size)."""
    conf, pred = probs.max(dim=1)
    correct = (pred == targets).float()
    edges = torch.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            ece += mask.float().mean().item() * abs(conf[mask].mean().item() - correct[mask].mean().item())
    return ece


def report(probs: torch.Tensor, targets: torch.Tensor, classes: list[str], most_confused: int = 10) -> dict:
    """top-1, top-5, log loss, ECE, per-class accuracy and the most confused (true, predicted) pairs."""
    pred = probs.argmax(dim=1)
    per_class = {}
    for i, name in enumerate(classes):
        mask = targets == i
        if mask.any():
            per_class[name] = (pred[mask] == i).float().mean().item()
    pairs = Counter((classes[t], classes[p]) for t, p in zip(targets.tolist(), pred.tolist()) if t != p)
    return {
        "n": int(len(targets)),
        "top1": topk_accuracy(probs, targets, 1),
        "top5": topk_accuracy(probs, targets, 5),
        "log_loss": log_loss(probs, targets) if len(targets) else float("nan"),
        "ece": expected_calibration_error(probs, targets) if len(targets) else float("nan"),
        "per_class_accuracy": per_class,
        "most_confused": [{"true": t, "predicted": p, "count": c} for (t, p), c in pairs.most_common(most_confused)],
    }


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, steps: int = 60) -> float:
    """The temperature T in [0.05, 20] minimising the NLL of softmax(logits / T): post-hoc calibration (Guo et al.
    2017). The NLL is convex in 1/T, so a golden-section search over 1/T finds the minimum and can never step to a
    NaN: LBFGS on log T did, when validation was perfectly separated (the loss falls forever as T -> 0)."""
    logits, targets = logits.detach().double(), targets.detach()  # float32 losses tie near the minimum
    if not bool(torch.isfinite(logits).all()):
        return 1.0  # a broken model's logits: nothing to calibrate

    def nll(beta: float) -> float:
        return torch.nn.functional.cross_entropy(logits * beta, targets).item()

    lo, hi = 1 / 20.0, 1 / 0.05
    g = (5 ** 0.5 - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(steps):  # the bracket shrinks by 0.618 a step: 60 steps leave about 1e-11
        if fa < fb:  # on a tie (a loss that has underflowed to 0 on both sides) the sharper side wins
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(b)
    return float(1 / ((lo + hi) / 2))
