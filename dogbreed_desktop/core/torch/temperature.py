"""Post-hoc temperature scaling (Guo et al. 2017), fitted on validation logits with torch's cross-entropy: the
training run's last step and the built-in models' script."""

from __future__ import annotations

import torch


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, steps: int = 60) -> float:
    """The temperature T in [0.05, 20] minimising the NLL of softmax(logits / T): post-hoc calibration (Guo et al.
    2017). The NLL is convex in 1/T, so a golden-section search over 1/T finds the minimum and can never step to a
    NaN: LBFGS on log T did, when validation was perfectly separated (the loss falls forever as T -> 0)."""
    return fit_temperature_on([(logits, targets)], steps)


def fit_temperature_on(sets: list[tuple[torch.Tensor, torch.Tensor]], steps: int = 60) -> float:
    """As `fit_temperature`, for several (logits, targets) sets at once, each set's mean NLL counting equally
    whatever its size (the built-in models: Stanford calibration photos and photos from outside ImageNet)."""
    sets = [(z.detach().double(), y.detach()) for z, y in sets]  # float32 losses tie near the minimum
    if not all(bool(torch.isfinite(z).all()) for z, _ in sets):
        return 1.0  # a broken model's logits: nothing to calibrate

    def nll(beta: float) -> float:
        return sum(torch.nn.functional.cross_entropy(z * beta, y).item() for z, y in sets) / len(sets)

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
