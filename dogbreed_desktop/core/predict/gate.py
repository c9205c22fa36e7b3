"""Is there a dog at all, and one of ours? The gate and the four verdicts, from the backbone's own ImageNet head.

The ImageNet head already knows dogs: the softmax mass on its dog classes (151-268, 273-275) separates dogs
from everyday objects. A gate turns that mass into `dog_probability` with a small logistic fit (on the mass's
log-odds) and rejects photos below a threshold; both are fitted on tuning photos only and stored in the model
file as plain JSON numbers (`ModelArtifact.gate`, see `Gate.to_dict`).

The same head also knows dogs the model does not: ImageNet's dog rows include breeds outside the model's classes
(row 251, dalmatian, for the built-in 120). When the share of the dog mass on those rows reaches the gate's
`unknown_share`, the verdict is "unknown_breed" and `looks_like` names that dog, rather than forcing the
photo into the nearest known breed (a Dalmatian is not "Great Dane, 68%").

An ensemble may have gate members (`core.model.ensemble`): backbones run only for the photos whose dog-mass logit,
from the members alone, lies inside the gate's `band`; their ImageNet logits then join the members' before the
gate reads them. The band is fitted so that outside it the members alone already give the answer the whole
would: its lower edge at or below every fitted dog, its upper edge at or above every fitted non-dog, and the
threshold inside it.

A model whose classes are not the ImageNet dog breeds has no gate: its verdict is never "not_a_dog" or
"unknown_breed".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

BREED, UNSURE, NOT_A_DOG, UNKNOWN_BREED = "breed", "unsure", "not_a_dog", "unknown_breed"
UNSURE_BELOW = 0.5  # top breed probability under which the verdict is "unsure" (name two or three candidates)
DOG_ROWS = tuple(range(151, 269)) + (273, 274, 275)  # ImageNet-1k's dogs, dalmatian (251) included
GATE_METHODS = ("dog_mass",)
# Default for models made before the fourth verdict: a dog outside the classes must hold most of the dog mass.
UNKNOWN_SHARE = 0.5


@dataclass(frozen=True)
class Gate:
    """dog_probability = sigmoid(scale * logit(dog mass) + shift); "not a dog" below `threshold`; "unknown
    breed" when at least `unknown_share` of the dog mass lies on dog rows outside the model's classes."""

    threshold: float = 0.5
    scale: float = 1.0
    shift: float = 0.0
    method: str = "dog_mass"
    unknown_share: float = UNKNOWN_SHARE
    band: tuple[float, float] | None = None  # dog-mass logits for which an ensemble runs its gate members

    def to_dict(self) -> dict:
        return {"method": self.method, "threshold": self.threshold, "scale": self.scale, "shift": self.shift,
                "unknown_share": self.unknown_share, **({"band": list(self.band)} if self.band else {})}

    @classmethod
    def from_dict(cls, d: dict) -> "Gate":
        if d.get("method") not in GATE_METHODS:
            raise ValueError(f"unknown gate method {d.get('method')!r}")
        band = d.get("band")
        if band is not None:
            band = tuple(float(v) for v in band)
            if len(band) != 2 or not all(map(math.isfinite, band)) or band[0] > band[1]:
                raise ValueError("gate band must be two finite numbers, the lower first")
        gate = cls(float(d["threshold"]), float(d.get("scale", 1.0)), float(d.get("shift", 0.0)), d["method"],
                   float(d.get("unknown_share", UNKNOWN_SHARE)), band)
        if not (0.0 < gate.threshold < 1.0) or not all(map(math.isfinite, (gate.scale, gate.shift))):
            raise ValueError("gate threshold must lie in (0, 1) and its scale and shift be finite")
        if not 0.0 < gate.unknown_share <= 1.0:
            raise ValueError("gate unknown_share must lie in (0, 1]")
        if band is not None and gate.scale and not band[0] <= gate.threshold_logit <= band[1]:
            raise ValueError("gate band must hold the threshold (outside it the members alone decide)")
        return gate

    @property
    def threshold_logit(self) -> float:
        """The dog-mass logit at which `dog_probability` is the threshold."""
        return (math.log(self.threshold / (1.0 - self.threshold)) - self.shift) / self.scale

    def dog_probability(self, imagenet_logits) -> np.ndarray:
        """(N, 1000) ImageNet logits (numpy, or a torch tensor from training) -> (N,) probability of a dog."""
        z = self.scale * dog_mass_logit(imagenet_logits) + self.shift
        return 1.0 / (1.0 + np.exp(-z))

    def undecided(self, imagenet_logits) -> np.ndarray:
        """Indices of the rows whose dog-mass logit lies inside the band (all rows without a band): the photos an
        ensemble's gate members must look at too."""
        z = dog_mass_logit(imagenet_logits)
        return np.flatnonzero((z >= self.band[0]) & (z <= self.band[1])) if self.band else np.arange(len(z))


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


def outside_dogs(imagenet_logits, known_rows: Sequence[int]) -> tuple[np.ndarray, list[str | None]]:
    """For each row: the share of the dog mass on ImageNet dog rows outside `known_rows` (the model's own
    classes' rows), and the readable name of the likeliest of those dogs ("Dalmatian"; None when every dog
    row is known)."""
    z = _logits(imagenet_logits)
    outside = _DOG.copy()
    outside[list(known_rows)] = False
    if not outside.any():
        return np.zeros(len(z)), [None] * len(z)
    share = np.exp(_logsumexp(z[:, outside]) - _logsumexp(z[:, _DOG]))
    rows = np.flatnonzero(outside)
    names = imagenet_class_names()
    top = [names[rows[i]] for i in z[:, outside].argmax(axis=1).tolist()]
    return share, [n[:1].upper() + n[1:] for n in top]  # breeds read as names: "Dalmatian"


def decide(top_probability: float, dog_probability: float | None, gate: Gate | None,
           outside_share: float | None = None) -> str:
    """The verdict: "not_a_dog" (gate below its threshold), "unknown_breed" (a dog, most likely of a breed
    outside the classes: `outside_share` from `outside_dogs`), else "breed" or "unsure" by the top probability."""
    if gate is not None and dog_probability is not None and dog_probability < gate.threshold:
        return NOT_A_DOG
    if gate is not None and outside_share is not None and outside_share >= gate.unknown_share:
        return UNKNOWN_BREED
    return BREED if top_probability >= UNSURE_BELOW else UNSURE


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, readable (resources/imagenet_classes.txt, from WordNet lemmas)."""
    from ...paths import resource

    names = tuple(resource("imagenet_classes.txt").read_text(encoding="utf-8").splitlines())
    if len(names) != 1000:
        raise RuntimeError(f"imagenet_classes.txt holds {len(names)} names, not 1000")
    return names


def gate_applies(classes: Sequence[str]) -> bool:
    """Only a model of ImageNet dog breeds may say "not a dog": for other classes a dog is not the point."""
    from ..breeds import find_breed

    return bool(classes) and all(find_breed(c) is not None for c in classes)
