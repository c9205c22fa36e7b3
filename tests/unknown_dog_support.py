"""A dog we have no photo of: neither the Stanford set, nor not-dogs, nor wild-dev holds a Dalmatian (ImageNet
class 251, not among the 120 breeds). `FixedImagenetEngine` answers chosen ImageNet logits for every photo, so
the real Classifier (heads, gate, `decide`) meets that dog's evidence."""

from __future__ import annotations

import numpy as np

from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.core.engine.engine import Outputs
from dogbreed_desktop.core.model.models import load_model
from dogbreed_desktop.core.predict.gate import DOG_ROWS
from dogbreed_desktop.paths import builtin_model_path

DALMATIAN, GREAT_DANE = 251, 246


class FixedImagenetEngine:
    name, description = "fixed", "fixed ImageNet logits"

    def __init__(self, imagenet: np.ndarray):
        self.imagenet, self.observers = np.asarray(imagenet, dtype=np.float32), []

    def run(self, member, images, *, feature_map=False):
        n = len(images)
        return Outputs(np.zeros((n, 1280), np.float32), np.repeat(self.imagenet[None], n, axis=0), None)


def dog_logits(rows: dict[int, float]) -> np.ndarray:
    """ImageNet logits of a dog (every dog row ahead of the rest) with the given rows raised."""
    z = np.zeros(1000)
    z[list(DOG_ROWS)] = 1.0
    for row, value in rows.items():
        z[row] = value
    return z


def dalmatian_logits() -> np.ndarray:
    return dog_logits({DALMATIAN: 10.0, GREAT_DANE: 7.5})  # the dalmatian row well ahead of its neighbour


def builtin_on_logits(model: str, imagenet: np.ndarray) -> Classifier:
    return Classifier(load_model(builtin_model_path(model)), engine=FixedImagenetEngine(imagenet))
