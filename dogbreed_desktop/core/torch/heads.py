"""Linear heads over a backbone's features: from stored weights (a model artifact) or a starting point for
training (the backbone's own ImageNet rows when the classes are ImageNet dog breeds, else random)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..breeds import find_breed
from ..errors import UserError


class HeadInitError(UserError):
    """head_init "imagenet" asked for classes that are not ImageNet dog breeds."""


def linear_head(weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    """An nn.Linear holding copies of `weight` (classes x features) and `bias`."""
    head = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        head.weight.copy_(weight)
        head.bias.copy_(bias)
    return head


def imagenet_rows(classes: Sequence[str]) -> list[int] | None:
    """ImageNet class indices for `classes` when every class is one of the 120 ImageNet dog breeds."""
    rows = []
    for c in classes:
        b = find_breed(c)
        if b is None:
            return None
        rows.append(b.imagenet_index)
    return rows


def head_start(classes: Sequence[str], how: str = "auto") -> str:
    """Where the head starts: "imagenet" (the backbone's own rows for these breeds) or "random"."""
    rows = imagenet_rows(classes) if how in ("auto", "imagenet") else None
    if how == "imagenet" and rows is None:
        raise HeadInitError("--head-init imagenet needs every class to be one of the 120 ImageNet dog breeds; "
                            "these classes are not: use --head-init auto or random")
    return "imagenet" if rows is not None else "random"


def initial_head(backbone: nn.Module, classes: Sequence[str], how: str = "auto") -> tuple[nn.Linear, str]:
    """A linear head over the backbone's features, and how it was initialised ("imagenet" or "random").

    When the classes are ImageNet dog breeds, the head starts from the backbone's own ImageNet rows for them:
    on held-out photos those rows alone beat a head trained from scratch on 12,000 photos.
    """
    fc = backbone.imagenet_fc
    if head_start(classes, how) == "random":
        return nn.Linear(fc.in_features, len(classes)), "random"
    rows = imagenet_rows(classes)
    return linear_head(fc.weight[rows], fc.bias[rows]), "imagenet"


class FeatureHead(nn.Module):
    """The fast mode's model: a linear head on cached backbone features."""

    def __init__(self, head: nn.Linear):
        super().__init__()
        self.head = head

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)
