"""Is there a dog at all? The "not a dog" gate and the three verdicts, from the backbone's own ImageNet head.

The ImageNet head already knows dogs: the softmax mass on its dog classes (151-268, 273-275) separates dogs
from everyday objects. A gate turns that mass into `dog_probability` with a small logistic fit (on the mass's
log-odds) and rejects photos below a threshold; both are fitted on tuning photos only and stored in the model
file as plain JSON numbers (`ModelArtifact.gate`, see `Gate.to_dict`).

A model whose classes are not the ImageNet dog breeds has no gate: its verdict is never "not_a_dog".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

BREED, UNSURE, NOT_A_DOG = "breed", "unsure", "not_a_dog"
UNSURE_BELOW = 0.5  # top breed probability under which the verdict is "unsure" (name two or three candidates)
DOG_ROWS = tuple(range(151, 269)) + (273, 274, 275)  # ImageNet-1k's dogs, dalmatian (251) included
GATE_METHODS = ("dog_mass",)


@dataclass(frozen=True)
class Gate:
    """dog_probability = sigmoid(scale * logit(dog mass) + shift); "not a dog" below `threshold`."""

    threshold: float = 0.5
    scale: float = 1.0
    shift: float = 0.0
    method: str = "dog_mass"

    def to_dict(self) -> dict:
        return {"method": self.method, "threshold": self.threshold, "scale": self.scale, "shift": self.shift}

    @classmethod
    def from_dict(cls, d: dict) -> "Gate":
        if d.get("method") not in GATE_METHODS:
            raise ValueError(f"unknown gate method {d.get('method')!r}")
        gate = cls(float(d["threshold"]), float(d.get("scale", 1.0)), float(d.get("shift", 0.0)), d["method"])
        if not (0.0 < gate.threshold < 1.0) or not all(map(math.isfinite, (gate.scale, gate.shift))):
            raise ValueError("gate threshold must lie in (0, 1) and its scale and shift be finite")
        return gate

    def dog_probability(self, imagenet_logits) -> np.ndarray:
        """(N, 1000) ImageNet logits (numpy, or a torch tensor from training) -> (N,) probability of a dog."""
        z = self.scale * dog_mass_logit(imagenet_logits) + self.shift
        return 1.0 / (1.0 + np.exp(-z))


def _logits(imagenet_logits) -> np.ndarray:
    if hasattr(imagenet_logits, "detach"):  # a torch tensor (training, scripts)
        imagenet_logits = imagenet_logits.detach().cpu().float().numpy()
    return np.asarray(imagenet_logits, dtype=np.float64)


def _logsumexp(z: np.ndarray) -> np.ndarray:
    top = z.max(axis=1, keepdims=True)
    return np.log(np.exp(z - top).sum(axis=1)) + top[:, 0]


_DOG = np.zeros(1000, dtype=bool)
_DOG[list(DOG_ROWS)] = True


def dog_mass_logit(imagenet_logits) -> np.ndarray:
    """log(mass on dog classes) - log(mass elsewhere), computed stably with logsumexp."""
    z = _logits(imagenet_logits)
    return _logsumexp(z[:, _DOG]) - _logsumexp(z[:, ~_DOG])


def looks_like(imagenet_logits) -> list[str]:
    """The readable name of each row's most likely non-dog ImageNet class ("tabby cat")."""
    z = _logits(imagenet_logits).copy()
    z[:, _DOG] = -math.inf
    names = imagenet_class_names()
    return [names[i] for i in z.argmax(axis=1).tolist()]


def decide(top_probability: float, dog_probability: float | None, gate: Gate | None) -> str:
    if gate is not None and dog_probability is not None and dog_probability < gate.threshold:
        return NOT_A_DOG
    return BREED if top_probability >= UNSURE_BELOW else UNSURE


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, readable (resources/imagenet_classes.txt, from WordNet lemmas)."""
    from ..paths import resource

    names = tuple(resource("imagenet_classes.txt").read_text(encoding="utf-8").splitlines())
    if len(names) != 1000:
        raise RuntimeError(f"imagenet_classes.txt holds {len(names)} names, not 1000")
    return names


def gate_applies(classes: Sequence[str]) -> bool:
    """Only a model of ImageNet dog breeds may say "not a dog": for other classes a dog is not the point."""
    from .breeds import find_breed

    return bool(classes) and all(find_breed(c) is not None for c in classes)
