"""What both stages of `make_builtin_models.py` share: the feature cache, its keys and views, and reading it back
(a module of its own, so stage 2, `builtin_models_fit.py`, never imports stage 1's script)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from dogbreed_desktop.core.model.specs import BACKBONES

CACHE = Path(os.environ.get("I20_FEATURES", "/tmp/i20-features"))
LITE0, LITE1, LITE2 = "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"
LITE2_HI = LITE2 + "@292"  # Lite2 tested at a larger resolution (same resize/crop ratio as its 260)
TEST_VIEWS = ("c", "m")  # what the classifier computes at test time: the centre crop and its mirror


def preprocessing(key: str):
    """The preprocessing of a cache key: a backbone name, optionally "@<crop>" for another test resolution."""
    name, _, crop = key.partition("@")
    prep = BACKBONES[name].preprocessing
    if crop:
        prep = dataclasses.replace(prep, crop=int(crop), resize=round(int(crop) * prep.resize / prep.crop))
    return prep


def load_part(key: str, part: str, v: str) -> dict[str, np.ndarray] | None:
    """All finished chunks of one backbone's part and view, concatenated (None when there are none)."""
    files = sorted((CACHE / key / part / v).glob("[0-9]*.npz"))
    if not files:
        return None
    chunks = [dict(np.load(f)) for f in files]
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
