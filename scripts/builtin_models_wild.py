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

import torch

from dogbreed_desktop.core.torch.temperature import fit_temperature_on


PRIOR_TAKEN_BACK = 0.5  # of wild-extra's prior shift, chosen by wild-dev balanced log loss among 0, 0.5 and 1
EXTRA_REPEATS = 3  # wild-extra's photos count this many times in a head's training set (1, 2, 3, 5 tried)


def crossfit(z_calib, y_calib, z_wild, y_wild, fold_a: torch.Tensor) -> torch.Tensor:
    """wild-dev probabilities, each fold under the temperature fitted on the calibration split and the other fold."""
    p = torch.zeros_like(z_wild, dtype=torch.float64)
    for fold in (fold_a, ~fold_a):
        t = fit_temperature_on([(z_calib, y_calib), (z_wild[~fold], y_wild[~fold])])
        p[fold] = torch.softmax(z_wild[fold].double() / t, 1)
    return p


def prior_shift(base: torch.Tensor, combined: torch.Tensor, classes: int) -> torch.Tensor:
    """log(class prior with the extra photos) - log(prior without): what training on them adds to each class's
    bias (logit adjustment, Menon et al. 2021); `base`/`combined`: the training targets without and with them."""
    def prior(y):
        n = torch.bincount(y, minlength=classes).double() + 1e-3
        return n / n.sum()

    return (prior(combined).log() - prior(base).log()).float()
