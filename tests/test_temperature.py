"""Post-hoc temperature (core.torch.temperature.fit_temperature): the minimum of the validation NLL, found by a
search that cannot step into NaN. A perfectly separated validation split (easy classes, a well-trained head) once
gave a NaN temperature through LBFGS, which made the saved model unusable."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dogbreed_desktop.core.torch.temperature import fit_temperature, fit_temperature_on


def _nll(logits, targets, t):
    return F.cross_entropy(logits.double() / t, targets).item()


def test_the_fitted_temperature_is_the_minimum_of_the_validation_loss():
    g = torch.Generator().manual_seed(0)
    for scale in (0.5, 3.0, 12.0):  # under-, about right and over-confident logits
        z = torch.randn(400, 20, generator=g) * scale
        y = torch.randint(0, 20, (400,), generator=g)
        z[torch.arange(400), y] += 2.0
        t = fit_temperature(z, y)
        grid = np.exp(np.linspace(math.log(0.05), math.log(20), 4001))
        best = grid[int(np.argmin([_nll(z, y, s) for s in grid]))]
        assert abs(math.log(t / best)) < 2e-3, (scale, t, best)
        assert _nll(z, y, t) <= _nll(z, y, best) + 1e-9


def test_perfectly_separated_or_broken_logits_give_a_usable_temperature():
    y = torch.arange(30) % 3
    z = torch.zeros(30, 3)
    z[torch.arange(30), y] = 60.0  # every validation photo right, with a huge margin
    assert fit_temperature(z, y) == pytest.approx(0.05, rel=1e-6)
    z[0, 0] = float("nan")
    assert fit_temperature(z, y) == 1.0


def test_several_sets_count_equally_whatever_their_size():
    """The built-in models' temperature is fitted on Stanford calibration photos and photos from outside ImageNet,
    each half of the loss: a set repeated (a larger set of the same photos) must not pull it further."""
    g = torch.Generator().manual_seed(1)
    y1, y2 = torch.randint(0, 10, (300,), generator=g), torch.randint(0, 10, (100,), generator=g)
    z1, z2 = torch.randn(300, 10, generator=g) * 4, torch.randn(100, 10, generator=g)  # over- and under-confident
    z1[torch.arange(300), y1] += 3.0
    z2[torch.arange(100), y2] += 3.0
    t1, t2 = fit_temperature(z1, y1), fit_temperature(z2, y2)
    both = fit_temperature_on([(z1, y1), (z2, y2)])
    assert min(t1, t2) < both < max(t1, t2)
    assert fit_temperature_on([(z1, y1), (torch.cat([z2, z2]), torch.cat([y2, y2]))]) == pytest.approx(both, rel=1e-6)
    assert fit_temperature_on([(z1, y1)]) == fit_temperature(z1, y1)
    assert fit_temperature(torch.cat([z1, z2]), torch.cat([y1, y2])) != pytest.approx(both, rel=1e-3)  # pooled differs
