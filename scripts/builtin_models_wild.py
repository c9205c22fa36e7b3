"""Fitting and measuring the built-in models for photos from outside ImageNet (stage 2's rules).

The Stanford photos come from ImageNet, which the backbones memorised, so a model tuned on them alone is chosen
for photos it has seen and overconfident on the user's own. Here:
- temperatures are fitted on the CALIBRATION split and wild-dev together, each set's log loss counting half;
- wild-dev figures are cross-fitted: each of its two folds by source (`training.holdout.wild_dev_folds`) is
  scored under a temperature fitted without it;
- variants are chosen by wild-dev's per-breed (balanced) log loss, so a head cannot win by leaning toward the
  popular breeds that both wild-dev and wild-extra are full of;
- heads that train on wild-extra have half of the class-prior shift it brings taken back out of their bias.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
import torch.nn.functional as F

from dogbreed_desktop.core.torch.metrics import expected_calibration_error

T_RANGE = (0.05, 20.0)  # as core.torch.metrics.fit_temperature
PRIOR_TAKEN_BACK = 0.5  # of wild-extra's prior shift, chosen by wild-dev balanced log loss among 0, 0.5 and 1
EXTRA_REPEATS = 3  # wild-extra's photos count this many times in a head's training set (1, 2, 3, 5 tried)


def fit_mixed_temperature(sets: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """The temperature minimising the mean of each (logits, targets) set's own mean NLL: every set counts
    equally, whatever its size. Golden-section search over 1/T, where the loss is convex."""
    sets = [(z.detach().double(), y) for z, y in sets]

    def loss(beta: float) -> float:
        return sum(F.cross_entropy(z * beta, y).item() for z, y in sets) / len(sets)

    lo, hi = 1 / T_RANGE[1], 1 / T_RANGE[0]
    g = (5 ** 0.5 - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = loss(b)
    return float(1 / ((lo + hi) / 2))


def crossfit(z_calib, y_calib, z_wild, y_wild, fold_a: torch.Tensor) -> torch.Tensor:
    """wild-dev probabilities, each fold under the temperature fitted on the calibration split and the other fold."""
    p = torch.zeros_like(z_wild, dtype=torch.float64)
    for fold in (fold_a, ~fold_a):
        t = fit_mixed_temperature([(z_calib, y_calib), (z_wild[~fold], y_wild[~fold])])
        p[fold] = torch.softmax(z_wild[fold].double() / t, 1)
    return p


def prior_shift(base: torch.Tensor, combined: torch.Tensor, classes: int) -> torch.Tensor:
    """log(class prior with the extra photos) - log(prior without): what training on them adds to each class's
    bias (logit adjustment, Menon et al. 2021); `base`/`combined`: the training targets without and with them."""
    def prior(y):
        n = torch.bincount(y, minlength=classes).double() + 1e-3
        return n / n.sum()

    return (prior(combined).log() - prior(base).log()).float()


def calibration_floor(p: torch.Tensor, draws: int = 300, seed: int = 0) -> float:
    """Mean ECE of a perfectly calibrated model at these confidences: each photo right with its own confidence
    (benchmarks/calibration_floor.py does this through the app; here for the variant table)."""
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
