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


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, steps: int = 200) -> float:
    """The temperature T minimising the NLL of softmax(logits / T): post-hoc calibration (Guo et al. 2017)."""
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps)
    logits, targets = logits.detach().float(), targets.detach()

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), targets)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.exp().clamp(0.05, 20.0).item())
